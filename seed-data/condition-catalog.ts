// Chronic conditions a synthetic patient can have, coded in SNOMED CT and ICD-10-CM, with the
// medication that treats each and how often it is followed up.
import type { MedicationKey } from './medication-catalog.ts';

export type ConditionKey =
  | 'diabetes'
  | 'prediabetes'
  | 'hyperlipidemia'
  | 'hypertension'
  | 'hypothyroidism'
  | 'asthma'
  | 'ckd'
  | 'atrial-fibrillation'
  | 'osteoarthritis'
  | 'depression'
  | 'anemia'
  | 'allergic-rhinitis'
  | 'eczema'
  | 'obesity';

export interface ConditionDefinition {
  key: ConditionKey;
  snomed: string;
  snomedDisplay: string;
  icd10: string;
  icd10Display: string;
  text: string;
  /** First-line medication(s), started at diagnosis; the second entry (if any) is an escalation. */
  medications: MedicationKey[];
  /** Months between follow-up visits while the condition is active; undefined = annual only. */
  followUpMonths?: number;
  /** Resolves (abatement) this many months after onset; undefined = chronic. */
  resolvesAfterMonths?: number;
}

export const CONDITIONS: Record<ConditionKey, ConditionDefinition> = {
  diabetes: { key: 'diabetes', snomed: '44054006', snomedDisplay: 'Diabetes mellitus type 2', icd10: 'E11.9', icd10Display: 'Type 2 diabetes mellitus without complications', text: 'Type 2 diabetes', medications: ['metformin-500', 'metformin-1000'], followUpMonths: 3 },
  prediabetes: { key: 'prediabetes', snomed: '714628002', snomedDisplay: 'Prediabetes', icd10: 'R73.03', icd10Display: 'Prediabetes', text: 'Prediabetes', medications: [], followUpMonths: 6 },
  hyperlipidemia: { key: 'hyperlipidemia', snomed: '55822004', snomedDisplay: 'Hyperlipidemia', icd10: 'E78.5', icd10Display: 'Hyperlipidemia, unspecified', text: 'High cholesterol', medications: ['simvastatin-20'] },
  hypertension: { key: 'hypertension', snomed: '38341003', snomedDisplay: 'Hypertensive disorder, systemic arterial', icd10: 'I10', icd10Display: 'Essential (primary) hypertension', text: 'High blood pressure', medications: ['lisinopril-10', 'amlodipine-5'], followUpMonths: 6 },
  hypothyroidism: { key: 'hypothyroidism', snomed: '40930008', snomedDisplay: 'Hypothyroidism', icd10: 'E03.9', icd10Display: 'Hypothyroidism, unspecified', text: 'Underactive thyroid', medications: ['levothyroxine-50'], followUpMonths: 6 },
  asthma: { key: 'asthma', snomed: '195967001', snomedDisplay: 'Asthma', icd10: 'J45.909', icd10Display: 'Unspecified asthma, uncomplicated', text: 'Asthma', medications: ['albuterol-inhaler', 'fluticasone-inhaler'], followUpMonths: 6 },
  ckd: { key: 'ckd', snomed: '433144002', snomedDisplay: 'Chronic kidney disease stage 3', icd10: 'N18.30', icd10Display: 'Chronic kidney disease, stage 3 unspecified', text: 'Chronic kidney disease, stage 3', medications: [], followUpMonths: 6 },
  'atrial-fibrillation': { key: 'atrial-fibrillation', snomed: '49436004', snomedDisplay: 'Atrial fibrillation', icd10: 'I48.91', icd10Display: 'Unspecified atrial fibrillation', text: 'Atrial fibrillation', medications: ['apixaban-5'], followUpMonths: 6 },
  osteoarthritis: { key: 'osteoarthritis', snomed: '239873007', snomedDisplay: 'Osteoarthritis of knee', icd10: 'M17.9', icd10Display: 'Osteoarthritis of knee, unspecified', text: 'Knee osteoarthritis', medications: ['acetaminophen-325'] },
  depression: { key: 'depression', snomed: '35489007', snomedDisplay: 'Depressive disorder', icd10: 'F32.9', icd10Display: 'Major depressive disorder, single episode, unspecified', text: 'Depression', medications: ['sertraline-50'], followUpMonths: 6, resolvesAfterMonths: 18 },
  anemia: { key: 'anemia', snomed: '87522002', snomedDisplay: 'Iron deficiency anemia', icd10: 'D50.9', icd10Display: 'Iron deficiency anemia, unspecified', text: 'Iron deficiency anemia', medications: ['ferrous-sulfate-325'], followUpMonths: 3, resolvesAfterMonths: 9 },
  'allergic-rhinitis': { key: 'allergic-rhinitis', snomed: '367498001', snomedDisplay: 'Seasonal allergic rhinitis', icd10: 'J30.2', icd10Display: 'Other seasonal allergic rhinitis', text: 'Hay fever', medications: [] },
  eczema: { key: 'eczema', snomed: '43116000', snomedDisplay: 'Eczema', icd10: 'L30.9', icd10Display: 'Dermatitis, unspecified', text: 'Eczema', medications: [] },
  obesity: { key: 'obesity', snomed: '414916001', snomedDisplay: 'Obesity', icd10: 'E66.9', icd10Display: 'Obesity, unspecified', text: 'Obesity', medications: [] },
};

export type AllergyKey = 'penicillin' | 'sulfonamide' | 'peanut' | 'latex' | 'cat-dander' | 'grass-pollen' | 'bee-venom';

export interface AllergyDefinition {
  key: AllergyKey;
  category: 'medication' | 'food' | 'environment' | 'biologic';
  snomed: string;
  display: string;
  text: string;
  reaction: { snomed: string; display: string };
  severity: 'mild' | 'moderate' | 'severe';
  criticality: 'low' | 'high';
}

export const ALLERGIES: Record<AllergyKey, AllergyDefinition> = {
  penicillin: { key: 'penicillin', category: 'medication', snomed: '764146007', display: 'Penicillin (substance)', text: 'Penicillin', reaction: { snomed: '247472004', display: 'Wheal (finding)' }, severity: 'moderate', criticality: 'high' },
  sulfonamide: { key: 'sulfonamide', category: 'medication', snomed: '387406002', display: 'Sulfonamide (substance)', text: 'Sulfa drugs', reaction: { snomed: '271807003', display: 'Eruption of skin (disorder)' }, severity: 'mild', criticality: 'low' },
  peanut: { key: 'peanut', category: 'food', snomed: '762952008', display: 'Peanut (substance)', text: 'Peanuts', reaction: { snomed: '39579001', display: 'Anaphylaxis (disorder)' }, severity: 'severe', criticality: 'high' },
  latex: { key: 'latex', category: 'environment', snomed: '111088007', display: 'Latex (substance)', text: 'Latex', reaction: { snomed: '418290006', display: 'Itching (finding)' }, severity: 'mild', criticality: 'low' },
  'cat-dander': { key: 'cat-dander', category: 'environment', snomed: '260147004', display: 'Cat dander (substance)', text: 'Cat dander', reaction: { snomed: '76067001', display: 'Sneezing (finding)' }, severity: 'mild', criticality: 'low' },
  'grass-pollen': { key: 'grass-pollen', category: 'environment', snomed: '256277009', display: 'Grass pollen (substance)', text: 'Grass pollen', reaction: { snomed: '76067001', display: 'Sneezing (finding)' }, severity: 'mild', criticality: 'low' },
  'bee-venom': { key: 'bee-venom', category: 'environment', snomed: '288328004', display: 'Bee venom (substance)', text: 'Bee stings', reaction: { snomed: '39579001', display: 'Anaphylaxis (disorder)' }, severity: 'severe', criticality: 'high' },
};
