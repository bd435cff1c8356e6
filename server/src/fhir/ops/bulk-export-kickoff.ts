// $export kick-off at system, Patient and Group level (GET, or POST with Parameters): checks the
// request and what the client may export, queues a job as of now (its transactionTime), and
// answers 202 with the absolute status URL in Content-Location. The job runs in the background
// (fhir/bulk/export-worker.ts) with the access rules of the token that started it.
// See: https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request
import type { Group } from 'fhir/r4';
import { activePatientMembers } from '../../access/access-view.ts';
import { characteristicMembers, characteristicSearch } from '../bulk/group-characteristics.ts';
import { forbidden } from '../../access/access-policy-errors.ts';
import { DIRECTORY_TYPES } from '../../access/data-classes.ts';
import { assertKickOffHeaders, parseKickOff, type KickOffRequest } from '../bulk/export-parameters.ts';
import type { ExportLevel, ExportParameters } from '../bulk/export-job.ts';
import { badRequest, notFound, notSupported, OperationOutcomeError, issue } from '../outcome.ts';
import { assertValidId } from '../router/request-body.ts';
import type { FhirServices } from '../router/services.ts';
import { patientCompartmentTypes } from '../search/compartment.ts';
import { isResourceType } from '../search/registry.ts';
import type { AccessContext, FhirRequest, FhirResponse } from '../types.ts';

export const EXPORT_DEFINITION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export';
export const PATIENT_EXPORT_DEFINITION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export';
export const GROUP_EXPORT_DEFINITION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export';

const COMPARTMENT_TYPES = new Set(patientCompartmentTypes());

/** The status URL of a job (the kick-off's Content-Location). */
export const statusUrlOf = (fhirBase: string, jobId: string) => `${fhirBase}/bulk-status/${jobId}`;

/**
 * The types the job exports: those asked for (403 without a scope for one), or all the client may
 * read; at Patient and Group level, the record's types and, apart, the directory types whose
 * resources those records point to.
 */
async function exportTypes(services: FhirServices, ctx: AccessContext, level: ExportLevel, asked: KickOffRequest): Promise<{ types: string[]; directoryTypes: string[] }> {
  const search = services.search!;
  const stored = new Set((await services.repo.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter(isResourceType));
  const directoryLevel = level !== 'system';
  let types: string[];
  let directoryTypes: string[] = [];
  if (asked.types.length > 0) {
    types = [];
    for (const t of asked.types) {
      const directory = directoryLevel && DIRECTORY_TYPES.has(t);
      if (directoryLevel && !directory && !COMPARTMENT_TYPES.has(t)) {
        if (!asked.lenient) throw badRequest(`_type: ${t} is not part of a patient's record`, ['_type']);
        continue;
      }
      services.access.restriction(ctx, t, 'search'); // 403 when the token has no scope for it
      (directory ? directoryTypes : types).push(t);
    }
    if (directoryTypes.length > 0 && types.length === 0) {
      throw badRequest('_type: at Patient and Group level, directory resources are exported with the records that point to them; name those types too', ['_type']);
    }
  } else {
    // The audit trail is about the records, not part of them: only when asked for by name.
    const candidates = level === 'system' ? [...stored] : [...COMPARTMENT_TYPES];
    types = candidates.filter((t) => t !== 'AuditEvent' && search.searchable(t, ctx));
    if (directoryLevel) directoryTypes = [...DIRECTORY_TYPES].filter((t) => search.searchable(t, ctx));
    if (types.length === 0) throw forbidden('The access token allows exporting no resource type');
  }
  // Types with no collection hold nothing yet.
  return { types: types.filter((t) => stored.has(t)).sort(), directoryTypes: directoryTypes.filter((t) => stored.has(t)).sort() };
}

/**
 * Group level: the Group's active Patient members, or for a Group defined by characteristics
 * (actual = false) the Patients they select (404 for a Group the client may not read).
 */
async function groupPatients(services: FhirServices, ctx: AccessContext, id: string): Promise<string[]> {
  assertValidId(id);
  const group = await services.repo.find('Group', id, services.access.condition(ctx, 'Group', 'read'));
  if (!group) throw notFound(`Group/${id} is not known`);
  const resource = group.resource as Group;
  const listed = activePatientMembers(resource as unknown as Record<string, unknown>);
  if (resource.actual !== false || !resource.characteristic?.length) return listed;
  const patientParams = new Set(services.search!.parametersOf('Patient').map((p) => p.name));
  const selected = await characteristicMembers(services, ctx, characteristicSearch(resource, patientParams));
  return [...new Set([...listed, ...selected])];
}

/** The patients named by `patient` must be ones the export reaches (else 400, naming them). */
async function checkedPatients(services: FhirServices, ctx: AccessContext, asked: string[], members: string[] | undefined): Promise<string[]> {
  const unknown: string[] = [];
  const reached = services.access.patients(ctx);
  for (const id of new Set(asked)) {
    const inGroup = members === undefined || members.includes(id);
    const visible = (reached === 'all' || reached.includes(id)) && Boolean(await services.repo.find('Patient', id));
    if (!inGroup || !visible) unknown.push(id);
  }
  if (unknown.length > 0) {
    const where = members ? 'members of the Group' : 'patients this client may export';
    throw badRequest(`patient: ${unknown.slice(0, 5).map((id) => `Patient/${id}`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not ${where}`, ['patient']);
  }
  return [...new Set(asked)];
}

export async function exportKickOff(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  target: { type?: string; id?: string },
): Promise<FhirResponse> {
  const bulk = services.bulk;
  if (!bulk || !services.search) throw notSupported('Bulk Data export is not enabled on this server');
  assertKickOffHeaders(req);
  // Bulk export is for backend services (SMART Backend Services, system/ scopes).
  if (ctx.principal.kind !== 'system') throw forbidden('Bulk Data export needs a backend-services token (client_credentials with system/ scopes)');
  const level: ExportLevel = target.id !== undefined ? 'group' : target.type === 'Patient' ? 'patient' : 'system';
  const asked = parseKickOff(req, level);
  const { types, directoryTypes } = await exportTypes(services, ctx, level, asked);

  const parameters: ExportParameters = { types };
  if (directoryTypes.length > 0) parameters.directoryTypes = directoryTypes;
  if (asked.since) parameters.since = asked.since;
  if (asked.until) parameters.until = asked.until;
  if (asked.elements) parameters.elements = asked.elements;
  if (asked.typeFilters.size > 0) {
    parameters.typeFilters = {};
    for (const [type, queries] of asked.typeFilters) {
      // Checked now, so that a query the search cannot run is the kick-off's 400, not a failed job.
      for (const q of queries) await services.search.compileConditions(type, q, ctx);
      parameters.typeFilters[type] = queries.map((q) => new URLSearchParams(q).toString());
    }
  }
  if (level === 'group') {
    const members = await groupPatients(services, ctx, target.id!);
    parameters.patients = asked.patients ? await checkedPatients(services, ctx, asked.patients, members) : members;
  } else if (level === 'patient') {
    parameters.patients = asked.patients ? await checkedPatients(services, ctx, asked.patients, undefined) : 'any';
  }

  const fhirBase = `${services.config.baseUrl}/fhir`;
  const query = new URLSearchParams(req.params).toString();
  const job = await bulk.jobs.create(
    {
      clientId: ctx.principal.clientId,
      scope: [...(ctx.grant?.resources ?? []).map((s) => s.text), ...(ctx.grant?.other ?? [])].join(' '),
      level,
      ...(level === 'group' ? { group: target.id } : {}),
      request: `${fhirBase}/${req.path}${query ? `?${query}` : ''}`,
      parameters,
      transactionTime: new Date(),
    },
    bulk.config.maxJobsPerClient,
  );
  if (!job) {
    const err = new OperationOutcomeError(429, [
      issue('error', 'throttled', `This client already has ${bulk.config.maxJobsPerClient} exports queued or running; wait for one to finish or cancel one`),
    ]);
    err.headers = { 'Retry-After': String(bulk.config.retryAfterSeconds * 5) };
    throw err;
  }
  bulk.wake();
  return { status: 202, headers: { 'Content-Location': statusUrlOf(fhirBase, job._id) } };
}
