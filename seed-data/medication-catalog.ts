// Medications by RxNorm clinical drug (SCD) code, with the sig and supply the clinic usually
// prescribes. Synthetic data: codes are real RxNorm concepts, doses are typical, not advice.

export type MedicationKey =
  | 'metformin-500'
  | 'metformin-1000'
  | 'simvastatin-20'
  | 'lisinopril-10'
  | 'amlodipine-5'
  | 'levothyroxine-50'
  | 'albuterol-inhaler'
  | 'fluticasone-inhaler'
  | 'apixaban-5'
  | 'acetaminophen-325'
  | 'sertraline-50'
  | 'ferrous-sulfate-325'
  | 'amoxicillin-500'
  | 'amoxicillin-250'
  | 'azithromycin-250';

export interface MedicationDefinition {
  key: MedicationKey;
  rxnorm: string;
  display: string;
  text: string;
  /** Patient-facing directions (dosageInstruction.text). */
  sig: string;
  /** Structured timing: times per day; 0 = as needed. */
  timesPerDay: number;
  dose: { value: number; unit: string; code: string };
  /** Units dispensed per fill and the days it lasts. */
  quantity: { value: number; unit: string; code: string };
  supplyDays: number;
  /** Refills allowed per prescription (dispenseRequest.numberOfRepeatsAllowed). */
  refills: number;
  /** A short course (antibiotics) rather than a maintenance drug. */
  course?: boolean;
}

const TAB = { unit: 'tablet', code: 'TAB' };
const CAP = { unit: 'capsule', code: 'CAP' };
const PUFF = { unit: 'puff', code: '{puff}' };

export const MEDICATIONS: Record<MedicationKey, MedicationDefinition> = {
  'metformin-500': { key: 'metformin-500', rxnorm: '861007', display: 'metformin hydrochloride 500 MG Oral Tablet', text: 'Metformin 500 mg tablet', sig: 'Take 1 tablet by mouth twice daily with meals', timesPerDay: 2, dose: { value: 1, ...TAB }, quantity: { value: 180, ...TAB }, supplyDays: 90, refills: 3 },
  'metformin-1000': { key: 'metformin-1000', rxnorm: '861004', display: 'metformin hydrochloride 1000 MG Oral Tablet', text: 'Metformin 1000 mg tablet', sig: 'Take 1 tablet by mouth twice daily with meals', timesPerDay: 2, dose: { value: 1, ...TAB }, quantity: { value: 180, ...TAB }, supplyDays: 90, refills: 3 },
  'simvastatin-20': { key: 'simvastatin-20', rxnorm: '312961', display: 'simvastatin 20 MG Oral Tablet', text: 'Simvastatin 20 mg tablet', sig: 'Take 1 tablet by mouth every evening', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 90, ...TAB }, supplyDays: 90, refills: 3 },
  'lisinopril-10': { key: 'lisinopril-10', rxnorm: '314076', display: 'lisinopril 10 MG Oral Tablet', text: 'Lisinopril 10 mg tablet', sig: 'Take 1 tablet by mouth once daily', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 90, ...TAB }, supplyDays: 90, refills: 3 },
  'amlodipine-5': { key: 'amlodipine-5', rxnorm: '197361', display: 'amlodipine 5 MG Oral Tablet', text: 'Amlodipine 5 mg tablet', sig: 'Take 1 tablet by mouth once daily', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 90, ...TAB }, supplyDays: 90, refills: 3 },
  'levothyroxine-50': { key: 'levothyroxine-50', rxnorm: '966222', display: 'levothyroxine sodium 0.05 MG Oral Tablet', text: 'Levothyroxine 50 mcg tablet', sig: 'Take 1 tablet by mouth every morning on an empty stomach', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 90, ...TAB }, supplyDays: 90, refills: 3 },
  'albuterol-inhaler': { key: 'albuterol-inhaler', rxnorm: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', text: 'Albuterol inhaler', sig: 'Inhale 2 puffs every 4 to 6 hours as needed for wheezing', timesPerDay: 0, dose: { value: 2, ...PUFF }, quantity: { value: 1, unit: 'inhaler', code: '{inhaler}' }, supplyDays: 30, refills: 5 },
  'fluticasone-inhaler': { key: 'fluticasone-inhaler', rxnorm: '895994', display: '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler', text: 'Fluticasone 44 mcg inhaler', sig: 'Inhale 2 puffs twice daily; rinse mouth after use', timesPerDay: 2, dose: { value: 2, ...PUFF }, quantity: { value: 1, unit: 'inhaler', code: '{inhaler}' }, supplyDays: 30, refills: 11 },
  'apixaban-5': { key: 'apixaban-5', rxnorm: '1364445', display: 'apixaban 5 MG Oral Tablet', text: 'Apixaban 5 mg tablet', sig: 'Take 1 tablet by mouth twice daily', timesPerDay: 2, dose: { value: 1, ...TAB }, quantity: { value: 60, ...TAB }, supplyDays: 30, refills: 11 },
  'acetaminophen-325': { key: 'acetaminophen-325', rxnorm: '313782', display: 'acetaminophen 325 MG Oral Tablet', text: 'Acetaminophen 325 mg tablet', sig: 'Take 2 tablets by mouth every 6 hours as needed for pain; no more than 8 tablets a day', timesPerDay: 0, dose: { value: 2, ...TAB }, quantity: { value: 100, ...TAB }, supplyDays: 30, refills: 2 },
  'sertraline-50': { key: 'sertraline-50', rxnorm: '312940', display: 'sertraline 50 MG Oral Tablet', text: 'Sertraline 50 mg tablet', sig: 'Take 1 tablet by mouth once daily', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 30, ...TAB }, supplyDays: 30, refills: 5 },
  'ferrous-sulfate-325': { key: 'ferrous-sulfate-325', rxnorm: '310325', display: 'ferrous sulfate 325 MG Oral Tablet', text: 'Iron (ferrous sulfate) 325 mg tablet', sig: 'Take 1 tablet by mouth once daily with orange juice', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 90, ...TAB }, supplyDays: 90, refills: 1 },
  'amoxicillin-500': { key: 'amoxicillin-500', rxnorm: '308191', display: 'amoxicillin 500 MG Oral Capsule', text: 'Amoxicillin 500 mg capsule', sig: 'Take 1 capsule by mouth three times daily for 10 days', timesPerDay: 3, dose: { value: 1, ...CAP }, quantity: { value: 30, ...CAP }, supplyDays: 10, refills: 0, course: true },
  'amoxicillin-250': { key: 'amoxicillin-250', rxnorm: '308182', display: 'amoxicillin 250 MG Oral Capsule', text: 'Amoxicillin 250 mg capsule', sig: 'Take 1 capsule by mouth three times daily for 10 days', timesPerDay: 3, dose: { value: 1, ...CAP }, quantity: { value: 30, ...CAP }, supplyDays: 10, refills: 0, course: true },
  // For patients allergic to penicillin, who must not get amoxicillin.
  'azithromycin-250': { key: 'azithromycin-250', rxnorm: '248656', display: 'azithromycin 250 MG Oral Tablet', text: 'Azithromycin 250 mg tablet', sig: 'Take 2 tablets by mouth on day 1, then 1 tablet daily on days 2 to 5', timesPerDay: 1, dose: { value: 1, ...TAB }, quantity: { value: 6, ...TAB }, supplyDays: 5, refills: 0, course: true },
};

/** Penicillin-class drugs (plausibility: never prescribed to a patient allergic to penicillin). */
export const PENICILLINS: ReadonlySet<MedicationKey> = new Set(['amoxicillin-500', 'amoxicillin-250']);
