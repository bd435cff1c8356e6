// What a synthetic patient's record is about, decided before any resource is written: age, sex,
// conditions with their onset, proxies and how busy the portal side is. The plan is the story;
// the record builders only turn it into FHIR.
import { ALLERGIES, type AllergyKey, type ConditionKey } from './condition-catalog.ts';
import type { Sex } from './pools.ts';
import type { Random } from './random.ts';

export type ProxyKind = 'parent' | 'adult-child';

export interface PlannedCondition {
  key: ConditionKey;
  /** Onset, in months before the reference date ("now"). May predate the generated history. */
  onsetMonthsAgo: number;
}

export interface PatientPlan {
  /** One line on what this record illustrates (README, demo listing). */
  story: string;
  sex: Sex;
  /** Age in whole years at the reference date. */
  age: number;
  conditions: PlannedCondition[];
  allergies: AllergyKey[];
  proxy?: ProxyKind;
  /** Booked appointments in the coming months, beyond the next routine follow-up. */
  extraUpcomingAppointments: number;
  /** A patient-requested appointment the clinic has not scheduled yet (status proposed). */
  proposedAppointment: boolean;
  /** An upcoming appointment the patient cancelled. */
  cancelledUpcomingAppointment: boolean;
  /** Portal message threads. */
  messageThreads: number;
  /** How many of the most recent statements are still unpaid (status issued). */
  unpaidInvoices: number;
  /** One statement cancelled (billed in error). */
  cancelledInvoice: boolean;
  /** Short antibiotic courses in the past (completed MedicationRequests with acute visits). */
  acuteInfections: number;
}

/** A demo scenario: a story plus the parts of the plan it fixes; the rest is drawn at random. */
export type Scenario = Partial<PatientPlan> & { story: string };

function randomAge(rng: Random): number {
  const band = rng.weighted<[number, number]>([
    [[1, 17], 20],
    [[18, 39], 25],
    [[40, 64], 35],
    [[65, 94], 20],
  ]);
  return rng.int(band[0], band[1]);
}

function randomConditions(rng: Random, age: number, sex: Sex): PlannedCondition[] {
  const out: PlannedCondition[] = [];
  const add = (key: ConditionKey, probability: number, maxOnsetMonths: number) => {
    if (rng.chance(probability)) out.push({ key, onsetMonthsAgo: rng.int(3, Math.max(4, maxOnsetMonths)) });
  };
  const adultMonths = Math.max(6, (age - 18) * 12);
  if (age < 18) {
    add('asthma', 0.12, age * 12 - 12);
    add('eczema', 0.1, age * 12);
    add('allergic-rhinitis', 0.08, age * 12 - 24);
    return out;
  }
  const older = age >= 65;
  const middle = age >= 40;
  if (age >= 30) {
    const diabetesP = older ? 0.22 : middle ? 0.12 : 0.04;
    if (rng.chance(diabetesP)) out.push({ key: 'diabetes', onsetMonthsAgo: rng.int(6, Math.min(adultMonths, 15 * 12)) });
    else add('prediabetes', 0.1, Math.min(adultMonths, 60));
  }
  if (middle) add('hyperlipidemia', older ? 0.4 : 0.28, Math.min(adultMonths, 20 * 12));
  if (middle) add('hypertension', older ? 0.55 : 0.25, Math.min(adultMonths, 20 * 12));
  add('hypothyroidism', sex === 'female' ? 0.08 : 0.02, Math.min(adultMonths, 20 * 12));
  add('asthma', 0.07, adultMonths);
  if (older) add('ckd', 0.15, 8 * 12);
  if (older) add('atrial-fibrillation', 0.1, 8 * 12);
  if (age >= 55) add('osteoarthritis', 0.2, 10 * 12);
  add('depression', 0.07, 30);
  if (sex === 'female' && age < 55) add('anemia', 0.05, 14);
  add('allergic-rhinitis', 0.1, adultMonths);
  const hasDiabetes = out.some((c) => c.key === 'diabetes');
  add('obesity', hasDiabetes ? 0.5 : 0.15, adultMonths);
  return out;
}

function randomAllergies(rng: Random): AllergyKey[] {
  const keys = Object.keys(ALLERGIES) as AllergyKey[];
  const n = rng.weighted<number>([
    [0, 70],
    [1, 22],
    [2, 8],
  ]);
  return rng.sample(keys, n);
}

/** The plan for one patient: random draws, then whatever the scenario fixes. */
export function planPatient(rng: Random, scenario?: Scenario): PatientPlan {
  const sex: Sex = scenario?.sex ?? (rng.chance(0.52) ? 'female' : 'male');
  const age = scenario?.age ?? randomAge(rng);
  const conditions = scenario?.conditions ?? randomConditions(rng, age, sex);
  const allergies = scenario?.allergies ?? randomAllergies(rng);
  let proxy: ProxyKind | undefined;
  if (age < 13 && rng.chance(0.7)) proxy = 'parent';
  else if (age >= 80 && rng.chance(0.5)) proxy = 'adult-child';
  else if (age >= 70 && rng.chance(0.15)) proxy = 'adult-child';
  const plan: PatientPlan = {
    story: scenario?.story ?? 'Random patient',
    sex,
    age,
    conditions,
    allergies,
    extraUpcomingAppointments: rng.weighted<number>([
      [0, 70],
      [1, 25],
      [2, 5],
    ]),
    proposedAppointment: rng.chance(0.1),
    cancelledUpcomingAppointment: rng.chance(0.08),
    messageThreads: rng.weighted<number>([
      [0, 45],
      [1, 35],
      [2, 15],
      [3, 5],
    ]),
    unpaidInvoices: rng.weighted<number>([
      [0, 65],
      [1, 25],
      [2, 10],
    ]),
    cancelledInvoice: rng.chance(0.05),
    acuteInfections: rng.weighted<number>([
      [0, 55],
      [1, 35],
      [2, 10],
    ]),
  };
  if (proxy) plan.proxy = proxy;
  if (scenario) {
    const { story: _story, ...fixed } = scenario;
    Object.assign(plan, fixed);
    if ('proxy' in scenario && scenario.proxy === undefined) delete plan.proxy;
  }
  return plan;
}

export function hasCondition(plan: PatientPlan, key: ConditionKey): boolean {
  return plan.conditions.some((c) => c.key === key);
}
