// The search benchmark's sets of searches, each with the data it runs on and who searches:
//   portal   the portal's everyday searches of one patient's records (portal-data.ts), each with
//            that patient's own token;
//   lookups  staff looking patients up by name, birth date, MRN, phone (lookup-patients.ts), with
//            a backend-services token that reads Patients (search-callers.ts says why not staff).
// Each set has a database of its own, so that both can be kept (--data-dir) and reused.
import type { Collection, Db } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import type { KeyDocument } from '../../server/src/fhir/search/key-hints.ts';
import { portalData, portalPerson, PORTAL_TYPES } from './portal-data.ts';
import type { CallerKind } from './search-callers.ts';
import { lookupPatients } from './lookup-patients.ts';
import { searchScenarios, type SearchScenario } from './search-scenarios.ts';
import { lookupKeyPrefixes, lookupScenarios } from './lookup-scenarios.ts';

export interface ScenarioSet {
  database: string;
  /** The collections the data goes into (emptied before loading). */
  types: string[];
  data(patients: number): Iterable<Resource>;
  /** Changes when the data's shape changes: a kept database (--reuse) of another version is loaded again. */
  dataVersion: number;
  /** Who searches (the token each request carries). */
  caller: CallerKind;
  /** keys: the lookup keys, on databases where the server keeps them (key-hints.ts). */
  scenarios(db: Db, today: string, keys?: Collection<KeyDocument>): SearchScenario[];
  /** Prefixes of the lookup keys the searches read most, to wait for their merging before measuring. */
  keyPrefixes?(): string[];
}

export const SCENARIO_SETS: Record<string, ScenarioSet> = {
  portal: {
    database: 'search_bench',
    types: PORTAL_TYPES,
    data: portalData,
    // 2: MRNs of the clinic's MRN system (registration needs them), release times of results.
    dataVersion: 2,
    caller: {
      kind: 'patient',
      scopes: ['patient/Patient.rs', 'patient/Observation.rs', 'patient/Appointment.rs', 'patient/Communication.rs', 'patient/Invoice.rs'],
      person: portalPerson,
    },
    scenarios: searchScenarios,
  },
  lookups: {
    database: 'lookup_bench',
    types: ['Patient'],
    data: lookupPatients,
    dataVersion: 1,
    caller: { kind: 'system', scope: 'system/Patient.rs' },
    scenarios: (db, _today, keys) => lookupScenarios(db, keys),
    keyPrefixes: lookupKeyPrefixes,
  },
};

export function scenarioSet(name: string): ScenarioSet {
  const set = SCENARIO_SETS[name];
  if (!set) throw new Error(`unknown --set ${name} (one of ${Object.keys(SCENARIO_SETS).join(', ')})`);
  return set;
}
