// The public face of the generator: options, the clinic bundle, and patient bundles one at a
// time (a generator function), so 100,000 patients never sit in memory together.
import { buildClinicDirectory, type ClinicDirectory } from './clinic.ts';
import { transactionBundle, type TransactionBundle } from './bundle.ts';
import { generatePatient, generatePatientRecord, type PatientRecord } from './patient-record.ts';
import type { Patient } from 'fhir/r4';
import type { Scenario } from './patient-plan.ts';

export interface GeneratorOptions {
  /** Any string; the same seed gives byte-identical output. */
  seed: string;
  /**
   * The reference date the record is generated around: history before it, upcoming
   * appointments after it. Fixed by default so output never depends on the clock.
   */
  now: Date;
  /** Years of history per patient (older problems and prescriptions are carried over). */
  historyYears: number;
  /** Staff in the clinic directory. */
  practitioners: number;
}

/** The default reference date: Monday 16 November 2026, 09:00 in Portland (17:00Z). */
export const DEFAULT_NOW = new Date('2026-11-16T17:00:00Z');

export const DEFAULT_OPTIONS: GeneratorOptions = {
  seed: 'health-records',
  now: DEFAULT_NOW,
  historyYears: 5,
  practitioners: 16,
};

export function resolveOptions(partial: Partial<GeneratorOptions> = {}): GeneratorOptions {
  const options = { ...DEFAULT_OPTIONS, ...partial };
  if (Number.isNaN(options.now.getTime())) throw new Error('generator: invalid reference date');
  if (!Number.isInteger(options.historyYears) || options.historyYears < 1 || options.historyYears > 30) {
    throw new Error('generator: historyYears must be an integer from 1 to 30');
  }
  if (!Number.isInteger(options.practitioners) || options.practitioners < 8) {
    throw new Error('generator: practitioners must be an integer of at least 8 (one per clinical department and nurses)');
  }
  return options;
}

export class SeedGenerator {
  readonly options: GeneratorOptions;
  readonly clinic: ClinicDirectory;

  constructor(options: Partial<GeneratorOptions> = {}) {
    this.options = resolveOptions(options);
    this.clinic = buildClinicDirectory(this.options.seed, this.options.practitioners);
  }

  /** Organization, departments, campuses, practitioners and their roles: load this first. */
  clinicBundle(): TransactionBundle {
    return transactionBundle(this.clinic.resources);
  }

  patientRecord(index: number, scenario?: Scenario): PatientRecord {
    return generatePatientRecord(this.options, this.clinic, index, scenario);
  }

  /** The Patient resource of patientRecord(index) alone, without generating the rest of the record. */
  patient(index: number, scenario?: Scenario): Patient & { id: string } {
    return generatePatient(this.options, this.clinic, index, scenario);
  }

  patientBundle(index: number, scenario?: Scenario): TransactionBundle {
    return transactionBundle(this.patientRecord(index, scenario).resources);
  }

  /** Patient bundles first..first+count-1, lazily. */
  *patientBundles(count: number, first = 0): Generator<{ index: number; bundle: TransactionBundle }> {
    for (let index = first; index < first + count; index++) {
      yield { index, bundle: this.patientBundle(index) };
    }
  }
}
