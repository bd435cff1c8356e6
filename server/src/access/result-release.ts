// Result release: patients (and their proxies) see a lab result or report only once the clinic
// releases it. A result is released when its status is final, amended or corrected, and either a
// clinician released it (the release extension, set through $release) or its category's automatic
// delay has passed since it was issued (configuration: routine labs at once, pathology and imaging
// after 3 days, genetics only when released). The release time is computed when the result is
// written and stored beside it (`rel`), so "released" is a query condition like any other.
import type { Document } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import { RESULT_TYPES } from './data-classes.ts';

export const RELEASED_EXTENSION = 'https://health-records.dev/fhir/StructureDefinition/result-released';

/** Hours after issue per category code (Observation category or DiagnosticReport v2-0074); null: only on release. */
export type ReleaseDelays = Map<string, number | null>;

/** RESULT_RELEASE_DELAYS: "laboratory=0,imaging=72h,GE=never,*=0". */
export function parseReleaseDelays(text: string): ReleaseDelays {
  const delays: ReleaseDelays = new Map();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9*._-]+)\s*=\s*(never|\d+(?:\.\d+)?\s*h?)$/.exec(part);
    if (!m) throw new Error(`Configuration: RESULT_RELEASE_DELAYS entry "${part}" must look like laboratory=0, imaging=72h or GE=never`);
    delays.set(m[1], m[2] === 'never' ? null : Number(m[2].replace(/h$/, '')));
  }
  if (!delays.has('*')) delays.set('*', 0);
  return delays;
}

export const DEFAULT_RELEASE_DELAYS =
  'laboratory=0,LAB=0,HM=0,CH=0,vital-signs=0,exam=0,survey=0,social-history=0,activity=0,procedure=0,' +
  'imaging=72h,RAD=72h,pathology=72h,PAT=72h,SP=72h,CP=72h,genetics=never,GE=never,*=0';

const FINAL_STATUSES = ['final', 'amended', 'corrected'];

interface ResultLike {
  resourceType: string;
  status?: string;
  issued?: string;
  effectiveDateTime?: string;
  effectivePeriod?: { start?: string };
  category?: Array<{ coding?: Array<{ code?: string }> }>;
  extension?: Array<{ url?: string; valueDateTime?: string }>;
}

/** When a result becomes visible to its patient, or undefined for never (until released by hand). */
export function releaseTime(resource: Resource, delays: ReleaseDelays): Date | undefined {
  if (!RESULT_TYPES.has(resource.resourceType)) return undefined;
  const r = resource as unknown as ResultLike;
  const explicit = r.extension?.find((e) => e.url === RELEASED_EXTENSION)?.valueDateTime;
  if (explicit && !Number.isNaN(Date.parse(explicit))) return new Date(explicit);
  const base = r.issued ?? r.effectiveDateTime ?? r.effectivePeriod?.start;
  if (!base || Number.isNaN(Date.parse(base))) return undefined;
  const codes = (r.category ?? []).flatMap((c) => c.coding ?? []).map((c) => c.code).filter((c): c is string => Boolean(c));
  // The most cautious of the result's categories decides; a result without a known one takes "*".
  let hours: number | null = 0;
  const known = codes.filter((c) => delays.has(c));
  for (const code of known.length > 0 ? known : ['*']) {
    // null is "only on release" (never by itself): it must not turn into 0 (`?? 0` did).
    const delay = delays.get(code);
    if (delay === undefined) continue;
    if (delay === null) hours = null;
    else if (hours !== null) hours = Math.max(hours, delay);
  }
  if (hours === null) return undefined;
  return new Date(Date.parse(base) + hours * 3600_000);
}

/** The condition "released to the patient by now" on a result type's documents. */
export function releasedCondition(now: Date): Document {
  return { rel: { $lte: now }, 'sp.status.c': { $in: FINAL_STATUSES } };
}
