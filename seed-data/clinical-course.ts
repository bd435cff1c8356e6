// Turns a plan into dated facts: when each condition began (and ended), when each medication was
// started, changed and stopped, and when acute infections happened. Everything else (visits,
// lab values, prescriptions) is derived from these dates, which keeps the story consistent.
import { CONDITIONS, type ConditionKey } from './condition-catalog.ts';
import { addDays, addMonths, DAY_MS, startOfDay, toWeekday } from './dates.ts';
import type { MedicationKey } from './medication-catalog.ts';
import type { PatientPlan } from './patient-plan.ts';
import type { Random } from './random.ts';

export interface ConditionCourse {
  key: ConditionKey;
  onset: Date;
  /** When it resolved, if it did before the reference date. */
  abatement?: Date;
}

export interface MedicationCourse {
  key: MedicationKey;
  condition?: ConditionKey;
  start: Date;
  /** When it was stopped (dose change, condition resolved, course finished); undefined = ongoing. */
  end?: Date;
  /** Why it ended: shown as MedicationRequest.statusReason when stopped early. */
  endReason?: 'dose-changed' | 'condition-resolved' | 'course-finished';
}

export type AcuteKey = 'strep-throat' | 'sinusitis' | 'otitis-media' | 'bronchitis';

export interface AcuteEpisode {
  key: AcuteKey;
  date: Date;
  medication: MedicationKey;
}

export interface ClinicalCourse {
  now: Date;
  birthDate: Date;
  /** Start of the generated history: the earlier data is assumed to live in an older system. */
  historyStart: Date;
  conditions: ConditionCourse[];
  medications: MedicationCourse[];
  acute: AcuteEpisode[];
  /** Diabetes: the date metformin was increased, if it was. */
  diabetesIntensified?: Date;
}

export function buildClinicalCourse(rng: Random, plan: PatientPlan, now: Date, historyYears: number): ClinicalCourse {
  // Birthday somewhere in the year before the age is reached, so age(now) = plan.age.
  const birthDate = startOfDay(addDays(addMonths(now, -12 * plan.age), -rng.int(1, 364)));
  const windowStart = addMonths(now, -12 * historyYears);
  const historyStart = birthDate > windowStart ? birthDate : windowStart;

  const conditions: ConditionCourse[] = [];
  const medications: MedicationCourse[] = [];
  let diabetesIntensified: Date | undefined;

  for (const planned of plan.conditions) {
    const def = CONDITIONS[planned.key];
    // Dates that are also visits (diagnosis, dose change, infections) fall on clinic days.
    // A few days' jitter so that diagnoses (and yearly renewals) do not all fall on today's date.
    let onset = toWeekday(startOfDay(addDays(addMonths(now, -planned.onsetMonthsAgo), rng.int(-12, 12))));
    if (onset < birthDate) onset = toWeekday(startOfDay(addMonths(birthDate, 6)));
    const course: ConditionCourse = { key: planned.key, onset };
    if (def.resolvesAfterMonths !== undefined) {
      const end = addMonths(onset, def.resolvesAfterMonths);
      if (end < now) course.abatement = end;
    }
    conditions.push(course);

    const [first, second] = def.medications;
    if (!first) continue;
    if (planned.key === 'diabetes') {
      // Metformin is increased when HbA1c drifts up again, typically 1.5–3.5 years in.
      // Everyone diagnosed two or more years ago has had the increase by now.
      const monthsIn = planned.onsetMonthsAgo;
      const intensifyAt = Math.min(rng.int(18, 42), monthsIn - 6);
      if (second && monthsIn >= 24) {
        diabetesIntensified = toWeekday(addMonths(onset, intensifyAt));
        medications.push({ key: first, condition: planned.key, start: onset, end: diabetesIntensified, endReason: 'dose-changed' });
        medications.push({ key: second, condition: planned.key, start: diabetesIntensified });
      } else {
        medications.push({ key: first, condition: planned.key, start: onset });
      }
      continue;
    }
    const med: MedicationCourse = { key: first, condition: planned.key, start: onset };
    if (course.abatement) {
      med.end = course.abatement;
      med.endReason = 'condition-resolved';
    }
    medications.push(med);
    // Second-line drugs are added (not substituted): amlodipine for older hypertensive patients,
    // a controller inhaler for persistent asthma.
    if (second && planned.key === 'hypertension' && plan.age >= 65 && planned.onsetMonthsAgo > 14) {
      medications.push({ key: second, condition: planned.key, start: addMonths(onset, 12) });
    }
    if (second && planned.key === 'asthma' && rng.chance(0.6) && planned.onsetMonthsAgo > 3) {
      medications.push({ key: second, condition: planned.key, start: addMonths(onset, 2) });
    }
  }

  const acute: AcuteEpisode[] = [];
  const penicillinAllergy = plan.allergies.includes('penicillin');
  const spanDays = Math.floor((now.getTime() - historyStart.getTime()) / DAY_MS);
  for (let i = 0; i < plan.acuteInfections && spanDays > 60; i++) {
    const date = toWeekday(startOfDay(addDays(historyStart, rng.int(30, spanDays - 20))));
    const key: AcuteKey = plan.age < 12 ? rng.pick<AcuteKey>(['otitis-media', 'strep-throat']) : rng.pick<AcuteKey>(['strep-throat', 'sinusitis', 'bronchitis']);
    const medication: MedicationKey = penicillinAllergy ? 'azithromycin-250' : plan.age < 12 ? 'amoxicillin-250' : 'amoxicillin-500';
    acute.push({ key, date, medication });
  }
  acute.sort((a, b) => a.date.getTime() - b.date.getTime());
  for (const episode of acute) {
    medications.push({ key: episode.medication, start: episode.date, end: addDays(episode.date, 10), endReason: 'course-finished' });
  }

  const result: ClinicalCourse = { now, birthDate, historyStart, conditions, medications, acute };
  if (diabetesIntensified) result.diabetesIntensified = diabetesIntensified;
  return result;
}

export function activeAt(course: ConditionCourse, date: Date): boolean {
  return course.onset <= date && (!course.abatement || date < course.abatement);
}

export function conditionActive(clinical: ClinicalCourse, key: ConditionKey, date: Date): boolean {
  return clinical.conditions.some((c) => c.key === key && activeAt(c, date));
}

export function conditionCourse(clinical: ClinicalCourse, key: ConditionKey): ConditionCourse | undefined {
  return clinical.conditions.find((c) => c.key === key);
}

export function onMedication(clinical: ClinicalCourse, key: MedicationKey, date: Date): MedicationCourse | undefined {
  return clinical.medications.find((m) => m.key === key && m.start <= date && (!m.end || date < m.end));
}
