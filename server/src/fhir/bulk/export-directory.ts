// Patient- and Group-level exports carry the directory resources their records point to
// (Practitioner, PractitionerRole, Organization, Location, HealthcareService, Medication): each
// page's references to them are resolved as the page's _include (the search code's includes, with
// the client's access rules), and each directory resource is written once per export. The ids
// written are kept per type (a directory is small next to the records); a resumed job reads them
// back from the files it wrote.
import type { BundleEntry, FhirResource } from 'fhir/r4';
import type { IncludeSpec } from '../search/query/search-request.ts';
import type { ExportFileStore } from './export-file-store.ts';
import type { ExportOutput } from './export-job.ts';
import type { PagePart } from './export-writer.ts';

export class DirectoryIncludes {
  private readonly written = new Map<string, Set<string>>();

  constructor(
    readonly types: string[],
    private readonly until: Date,
  ) {}

  /** The _include specs that resolve a page's references to the directory types. */
  get include(): IncludeSpec[] {
    return this.types.map((targetType) => ({ sourceType: '*', param: '*', targetType, iterate: false }));
  }

  /** Reads back the ids a previous run of the job wrote. */
  async resume(files: ExportFileStore, outputsOf: (type: string) => ExportOutput[]): Promise<void> {
    for (const type of this.types) {
      const ids = this.idsOf(type);
      for (const output of outputsOf(type)) {
        for (const segment of output.segments) {
          let text = '';
          for await (const chunk of files.read(segment.id, 0, segment.bytes)) text += (chunk as Buffer).toString('utf8');
          for (const line of text.split('\n')) if (line) ids.add((JSON.parse(line) as { id: string }).id);
        }
      }
    }
  }

  private idsOf(type: string): Set<string> {
    let ids = this.written.get(type);
    if (!ids) this.written.set(type, (ids = new Set()));
    return ids;
  }

  /**
   * The page's included directory resources not written yet, as parts of the page. One changed
   * after the export's transactionTime is left out, like every other resource.
   */
  partsOf(entries: BundleEntry[]): PagePart[] {
    const lines = new Map<string, string[]>();
    for (const e of entries) {
      if (e.search?.mode !== 'include' || !e.resource) continue;
      const r = e.resource as FhirResource & { id: string };
      if (!this.types.includes(r.resourceType)) continue;
      if (r.meta?.lastUpdated && Date.parse(r.meta.lastUpdated) > this.until.getTime()) continue;
      const ids = this.idsOf(r.resourceType);
      if (ids.has(r.id)) continue;
      ids.add(r.id);
      lines.set(r.resourceType, [...(lines.get(r.resourceType) ?? []), JSON.stringify(r)]);
    }
    return [...lines].map(([type, l]) => ({ type, kind: 'resources' as const, lines: l }));
  }
}
