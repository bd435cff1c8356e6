// Laboratory tests: LOINC code, UCUM unit, reference range and panel membership. Ranges are
// typical adult values from common US reference labs; they decide the H/L/N flags.
import type { Sex } from './pools.ts';

export interface ReferenceLimits {
  /** Absent for "less than" ranges such as LDL < 100. */
  low?: number;
  /** Absent for "greater than" ranges such as HDL >= 40. */
  high?: number;
}

export interface Analyte {
  key: AnalyteKey;
  loinc: string;
  display: string;
  /** Short name the portal can show. */
  text: string;
  /** UCUM code; `unit` is the human-readable form. */
  ucum: string;
  unit: string;
  decimals: number;
  range: ReferenceLimits | Record<Sex, ReferenceLimits>;
}

export type AnalyteKey =
  | 'hba1c'
  | 'glucose'
  | 'bun'
  | 'creatinine'
  | 'egfr'
  | 'sodium'
  | 'potassium'
  | 'chloride'
  | 'co2'
  | 'calcium'
  | 'cholesterol'
  | 'triglycerides'
  | 'hdl'
  | 'ldl'
  | 'wbc'
  | 'rbc'
  | 'hemoglobin'
  | 'hematocrit'
  | 'mcv'
  | 'platelets'
  | 'tsh';

export const ANALYTES: Record<AnalyteKey, Analyte> = {
  hba1c: { key: 'hba1c', loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', text: 'Hemoglobin A1c', ucum: '%', unit: '%', decimals: 1, range: { low: 4.0, high: 5.6 } },
  glucose: { key: 'glucose', loinc: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', text: 'Glucose', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { low: 70, high: 99 } },
  bun: { key: 'bun', loinc: '3094-0', display: 'Urea nitrogen [Mass/volume] in Serum or Plasma', text: 'BUN', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { low: 7, high: 20 } },
  creatinine: { key: 'creatinine', loinc: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma', text: 'Creatinine', ucum: 'mg/dL', unit: 'mg/dL', decimals: 2, range: { male: { low: 0.74, high: 1.35 }, female: { low: 0.59, high: 1.04 } } },
  egfr: { key: 'egfr', loinc: '98979-8', display: 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)', text: 'eGFR', ucum: 'mL/min/{1.73_m2}', unit: 'mL/min/1.73m2', decimals: 0, range: { low: 60 } },
  sodium: { key: 'sodium', loinc: '2951-2', display: 'Sodium [Moles/volume] in Serum or Plasma', text: 'Sodium', ucum: 'mmol/L', unit: 'mmol/L', decimals: 0, range: { low: 135, high: 145 } },
  potassium: { key: 'potassium', loinc: '2823-3', display: 'Potassium [Moles/volume] in Serum or Plasma', text: 'Potassium', ucum: 'mmol/L', unit: 'mmol/L', decimals: 1, range: { low: 3.5, high: 5.1 } },
  chloride: { key: 'chloride', loinc: '2075-0', display: 'Chloride [Moles/volume] in Serum or Plasma', text: 'Chloride', ucum: 'mmol/L', unit: 'mmol/L', decimals: 0, range: { low: 98, high: 107 } },
  co2: { key: 'co2', loinc: '2028-9', display: 'Carbon dioxide, total [Moles/volume] in Serum or Plasma', text: 'CO2', ucum: 'mmol/L', unit: 'mmol/L', decimals: 0, range: { low: 22, high: 29 } },
  calcium: { key: 'calcium', loinc: '17861-6', display: 'Calcium [Mass/volume] in Serum or Plasma', text: 'Calcium', ucum: 'mg/dL', unit: 'mg/dL', decimals: 1, range: { low: 8.6, high: 10.3 } },
  cholesterol: { key: 'cholesterol', loinc: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', text: 'Total cholesterol', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { high: 199 } },
  triglycerides: { key: 'triglycerides', loinc: '2571-8', display: 'Triglyceride [Mass/volume] in Serum or Plasma', text: 'Triglycerides', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { high: 149 } },
  hdl: { key: 'hdl', loinc: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', text: 'HDL cholesterol', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { low: 40 } },
  ldl: { key: 'ldl', loinc: '13457-7', display: 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation', text: 'LDL cholesterol (calculated)', ucum: 'mg/dL', unit: 'mg/dL', decimals: 0, range: { high: 99 } },
  wbc: { key: 'wbc', loinc: '6690-2', display: 'Leukocytes [#/volume] in Blood by Automated count', text: 'White blood cells', ucum: '10*3/uL', unit: 'x10^3/uL', decimals: 1, range: { low: 4.5, high: 11.0 } },
  rbc: { key: 'rbc', loinc: '789-8', display: 'Erythrocytes [#/volume] in Blood by Automated count', text: 'Red blood cells', ucum: '10*6/uL', unit: 'x10^6/uL', decimals: 2, range: { male: { low: 4.5, high: 5.9 }, female: { low: 4.1, high: 5.1 } } },
  hemoglobin: { key: 'hemoglobin', loinc: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', text: 'Hemoglobin', ucum: 'g/dL', unit: 'g/dL', decimals: 1, range: { male: { low: 13.5, high: 17.5 }, female: { low: 12.0, high: 15.5 } } },
  hematocrit: { key: 'hematocrit', loinc: '4544-3', display: 'Hematocrit [Volume Fraction] of Blood by Automated count', text: 'Hematocrit', ucum: '%', unit: '%', decimals: 1, range: { male: { low: 41, high: 53 }, female: { low: 36, high: 46 } } },
  mcv: { key: 'mcv', loinc: '787-2', display: 'MCV [Entitic volume] by Automated count', text: 'MCV', ucum: 'fL', unit: 'fL', decimals: 0, range: { low: 80, high: 100 } },
  platelets: { key: 'platelets', loinc: '777-3', display: 'Platelets [#/volume] in Blood by Automated count', text: 'Platelets', ucum: '10*3/uL', unit: 'x10^3/uL', decimals: 0, range: { low: 150, high: 400 } },
  tsh: { key: 'tsh', loinc: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', text: 'TSH', ucum: 'm[IU]/L', unit: 'mIU/L', decimals: 2, range: { low: 0.4, high: 4.0 } },
};

export type PanelKey = 'hba1c' | 'bmp' | 'lipid' | 'cbc' | 'tsh';

export interface Panel {
  key: PanelKey;
  loinc: string;
  display: string;
  text: string;
  analytes: AnalyteKey[];
}

export const PANELS: Record<PanelKey, Panel> = {
  hba1c: { key: 'hba1c', loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', text: 'Hemoglobin A1c', analytes: ['hba1c'] },
  bmp: {
    key: 'bmp',
    loinc: '51990-0',
    display: 'Basic metabolic panel - Blood',
    text: 'Basic metabolic panel',
    analytes: ['glucose', 'bun', 'creatinine', 'egfr', 'sodium', 'potassium', 'chloride', 'co2', 'calcium'],
  },
  lipid: {
    key: 'lipid',
    // The 1996 panel carries the calculated (Friedewald) LDL, which the model computes from the
    // other three values so the panel is internally consistent.
    loinc: '24331-1',
    display: 'Lipid 1996 panel - Serum or Plasma',
    text: 'Lipid panel',
    analytes: ['cholesterol', 'triglycerides', 'hdl', 'ldl'],
  },
  cbc: {
    key: 'cbc',
    loinc: '58410-2',
    display: 'CBC panel - Blood by Automated count',
    text: 'Complete blood count',
    analytes: ['wbc', 'rbc', 'hemoglobin', 'hematocrit', 'mcv', 'platelets'],
  },
  tsh: { key: 'tsh', loinc: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', text: 'TSH', analytes: ['tsh'] },
};

export function limitsFor(analyte: Analyte, sex: Sex): ReferenceLimits {
  const r = analyte.range;
  return 'male' in r ? r[sex] : r;
}

export type InterpretationCode = 'H' | 'L' | 'N';

/**
 * H/L/N from a value and its reference range, as the lab would flag it. Ranges are inclusive:
 * a value equal to a limit is normal. Exported so tests can recompute every flag.
 */
export function interpret(value: number, limits: ReferenceLimits): InterpretationCode {
  if (limits.high !== undefined && value > limits.high) return 'H';
  if (limits.low !== undefined && value < limits.low) return 'L';
  return 'N';
}

export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
