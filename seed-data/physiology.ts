// Lab and vital-sign values over time. Each patient gets personal baselines once; a value on a
// date is baseline + the effect of their conditions and treatments at that date + noise, so a
// series trends the way a clinician would expect (HbA1c falls after metformin, LDL after a
// statin, TSH after levothyroxine, haemoglobin after iron).
import { type ClinicalCourse, conditionActive, conditionCourse, onMedication } from './clinical-course.ts';
import { DAY_MS, monthsBetween } from './dates.ts';
import { ANALYTES, type AnalyteKey, PANELS, type PanelKey, roundTo } from './lab-catalog.ts';
import type { PatientPlan } from './patient-plan.ts';
import type { Random } from './random.ts';

export interface VitalSigns {
  systolic: number;
  diastolic: number;
  heartRate: number;
  heightCm: number;
  weightKg: number;
  bmi: number;
  temperatureC?: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export class Physiology {
  private readonly base: {
    a1c: number;
    hdl: number;
    ldl: number;
    tg: number;
    creatinine: number;
    hemoglobin: number;
    platelets: number;
    wbc: number;
    tsh: number;
    systolic: number;
    diastolic: number;
    heartRate: number;
    adultHeightCm: number;
    bmi: number;
    // diabetes course
    a1cPeak: number;
    a1cTarget: number;
    tshPeak: number;
  };

  constructor(
    private readonly rng: Random,
    private readonly plan: PatientPlan,
    private readonly course: ClinicalCourse,
  ) {
    const female = plan.sex === 'female';
    const has = (k: string) => plan.conditions.some((c) => c.key === k);
    this.base = {
      a1c: rng.real(4.9, 5.5),
      hdl: female ? rng.real(50, 68) : rng.real(40, 55),
      ldl: has('hyperlipidemia') ? rng.real(165, 195) : rng.real(80, 125),
      tg: has('hyperlipidemia') ? rng.real(170, 240) : rng.real(75, 140),
      creatinine: female ? rng.real(0.65, 0.92) : rng.real(0.82, 1.12),
      hemoglobin: female ? rng.real(12.6, 14.4) : rng.real(14.0, 16.2),
      platelets: rng.real(190, 330),
      wbc: rng.real(5.0, 8.5),
      tsh: rng.real(0.9, 2.8),
      systolic: rng.real(108, 126),
      diastolic: rng.real(68, 80),
      heartRate: rng.real(62, 80),
      adultHeightCm: female ? rng.real(153, 173) : rng.real(166, 189),
      bmi: has('obesity') ? rng.real(31, 37) : has('diabetes') ? rng.real(28, 33) : rng.real(20.5, 27),
      a1cPeak: rng.real(7.9, 9.6),
      a1cTarget: rng.real(6.5, 7.1),
      tshPeak: rng.real(7, 12),
    };
  }

  private ageAt(date: Date): number {
    return (date.getTime() - this.course.birthDate.getTime()) / (365.25 * DAY_MS);
  }

  /** Months since a condition's onset (negative before it), or undefined if the patient never has it. */
  private monthsSince(key: string, date: Date): number | undefined {
    const c = this.course.conditions.find((x) => x.key === key);
    return c ? monthsBetween(c.onset, date) : undefined;
  }

  hba1c(date: Date): number {
    const m = this.monthsSince('diabetes', date);
    const pre = this.monthsSince('prediabetes', date);
    let v: number;
    if (m !== undefined && m >= 0) {
      const { a1cPeak: peak, a1cTarget: target } = this.base;
      const intensified = this.course.diabetesIntensified;
      const mi = intensified ? monthsBetween(conditionCourse(this.course, 'diabetes')!.onset, intensified) : undefined;
      // Falls from the diagnostic peak within months of starting metformin, then drifts up as the
      // disease progresses; after the dose increase it comes back down.
      let drift: number;
      if (mi !== undefined && m >= mi) drift = 0.95 * Math.exp(-(m - mi) / 3) + (0.12 * (m - mi)) / 12;
      else if (mi !== undefined) drift = (0.95 * m) / mi;
      else drift = (0.15 * m) / 12;
      v = target + (peak - target) * Math.exp(-m / 3) + drift;
    } else if (m !== undefined) {
      // The years before diagnosis: creeping up through the prediabetes range.
      v = 5.7 + 0.6 * clamp((36 + m) / 36, 0, 1);
    } else if (pre !== undefined && pre >= -24) {
      v = 5.7 + clamp((0.25 * (pre + 24)) / 12, 0, 0.6);
    } else {
      v = this.base.a1c;
    }
    return roundTo(v + this.rng.normal(0, 0.12), 1);
  }

  /** Values for every analyte of a panel, consistent with each other. */
  panel(key: PanelKey, date: Date): Map<AnalyteKey, number> {
    const values = new Map<AnalyteKey, number>();
    const r = (k: AnalyteKey, v: number) => values.set(k, roundTo(v, ANALYTES[k].decimals));
    const n = (sd: number) => this.rng.normal(0, sd);
    switch (key) {
      case 'hba1c':
        values.set('hba1c', this.hba1c(date));
        break;
      case 'tsh': {
        const m = this.monthsSince('hypothyroidism', date);
        let tsh = this.base.tsh;
        if (m !== undefined && m >= 0) tsh = 1.6 + (this.base.tshPeak - 1.6) * Math.exp(-m / 2.5);
        else if (m !== undefined && m > -18) tsh = 3.6 + (1.5 * (18 + m)) / 18;
        r('tsh', Math.max(0.1, tsh * Math.exp(n(0.12))));
        break;
      }
      case 'lipid': {
        const statin = onMedication(this.course, 'simvastatin-20', date);
        const diabetic = conditionActive(this.course, 'diabetes', date);
        let ldl = this.base.ldl;
        let tg = this.base.tg + (diabetic ? 30 : 0);
        if (statin) {
          const months = monthsBetween(statin.start, date);
          const effect = 1 - 0.38 * (1 - Math.exp(-months / 1.5));
          ldl *= effect;
          tg *= 1 - 0.15 * (1 - Math.exp(-months / 1.5));
        }
        const hdl = Math.max(25, this.base.hdl - (diabetic ? 4 : 0) + n(3));
        tg = Math.max(40, tg + n(18));
        ldl = Math.max(40, ldl + n(8));
        // Friedewald: the lab computes LDL from the other three, so total = LDL + HDL + TG/5.
        const hdlR = roundTo(hdl, 0);
        const tgR = roundTo(tg, 0);
        const ldlR = roundTo(ldl, 0);
        r('cholesterol', ldlR + hdlR + Math.round(tgR / 5));
        r('triglycerides', tgR);
        r('hdl', hdlR);
        r('ldl', ldlR);
        break;
      }
      case 'bmp': {
        const ckd = this.monthsSince('ckd', date);
        let creatinine = this.base.creatinine;
        if (ckd !== undefined && ckd >= 0) creatinine = 1.45 + 0.04 * (ckd / 12) + (this.plan.sex === 'female' ? -0.1 : 0);
        else if (ckd !== undefined && ckd > -24) creatinine = this.base.creatinine + (0.4 * (24 + ckd)) / 24;
        creatinine = Math.max(0.4, creatinine + n(0.06));
        const crR = roundTo(creatinine, 2);
        // Fasting glucose follows glycaemic control: the ADA estimated-average-glucose relation
        // (eAG = 28.7 × A1c − 46.7), scaled down because fasting values sit below the average.
        const glucose = (28.7 * this.hba1c(date) - 46.7) * 0.86 + n(7);
        r('glucose', glucose);
        r('bun', (ckd !== undefined && ckd >= 0 ? 26 : 13) + n(2.5));
        r('creatinine', crR);
        r('egfr', this.egfr(crR, date));
        r('sodium', 140 + n(1.6));
        r('potassium', 4.2 + (ckd !== undefined && ckd >= 0 ? 0.4 : 0) + n(0.25));
        r('chloride', 103 + n(1.8));
        r('co2', 25.5 + n(1.5));
        r('calcium', 9.4 + n(0.25));
        break;
      }
      case 'cbc': {
        let hgb = this.base.hemoglobin;
        let mcv = 89;
        const anemia = this.monthsSince('anemia', date);
        if (anemia !== undefined && anemia > -2) {
          const iron = onMedication(this.course, 'ferrous-sulfate-325', date) ?? this.course.medications.find((m) => m.key === 'ferrous-sulfate-325' && m.start <= date);
          const monthsOnIron = iron ? monthsBetween(iron.start, date) : 0;
          const recovery = 1 - Math.exp(-monthsOnIron / 2.5);
          hgb = 10.1 + (this.base.hemoglobin - 10.1) * recovery;
          mcv = 74 + 15 * recovery;
        }
        hgb += n(0.3);
        mcv += n(1.5);
        const hct = hgb * 2.98 + n(0.6);
        r('wbc', Math.max(2.5, this.base.wbc + n(0.7)));
        r('rbc', (hct / mcv) * 10);
        r('hemoglobin', hgb);
        r('hematocrit', hct);
        r('mcv', mcv);
        r('platelets', this.base.platelets + n(20));
        break;
      }
    }
    for (const analyte of PANELS[key].analytes) {
      if (!values.has(analyte)) throw new Error(`physiology: no value for ${analyte} in ${key}`);
    }
    return values;
  }

  /** CKD-EPI 2021 (race-free) creatinine equation. See: https://www.kidney.org/ckd-epi-creatinine-equation-2021 */
  private egfr(creatinine: number, date: Date): number {
    const female = this.plan.sex === 'female';
    const kappa = female ? 0.7 : 0.9;
    const alpha = female ? -0.241 : -0.302;
    const ratio = creatinine / kappa;
    const age = this.ageAt(date);
    return 142 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.2 * 0.9938 ** age * (female ? 1.012 : 1);
  }

  heightCm(date: Date): number {
    const age = this.ageAt(date);
    const adult = this.base.adultHeightCm;
    // A rough growth curve scaled to the adult height (50 cm at birth, 75 at 1, 87 at 2, ~6 cm/yr
    // through childhood, a growth spurt, adult height by 17).
    const scale = adult / (this.plan.sex === 'female' ? 163 : 177);
    let h: number;
    if (age < 1) h = (50 + 25 * age) * scale;
    else if (age < 2) h = (75 + 12 * (age - 1)) * scale;
    else if (age < 12) h = (87 + 6 * (age - 2)) * scale;
    else if (age < 17) h = 147 * scale + ((adult - 147 * scale) * (age - 12)) / 5;
    else h = adult;
    return roundTo(h, 1);
  }

  vitals(date: Date, febrile: boolean): VitalSigns {
    const n = (sd: number) => this.rng.normal(0, sd);
    const age = this.ageAt(date);
    const heightCm = this.heightCm(date);
    let bmi: number;
    if (age < 2) bmi = 16.8;
    else if (age < 12) bmi = 15.5 + 0.15 * (age - 2);
    else if (age < 18) bmi = 17 + ((this.base.bmi - 17) * (age - 12)) / 6;
    else bmi = this.base.bmi;
    // Weight loss after a diabetes diagnosis (diet advice, metformin).
    const dm = this.monthsSince('diabetes', date);
    if (dm !== undefined && dm >= 0) bmi -= 1.2 * (1 - Math.exp(-dm / 6));
    const weightKg = roundTo(Math.max(3, bmi * (heightCm / 100) ** 2 * (1 + n(0.012))), 1);
    const bmiR = roundTo(weightKg / (heightCm / 100) ** 2, 1);

    let systolic = this.base.systolic + Math.max(0, age - 50) * 0.3;
    let diastolic = this.base.diastolic;
    if (age < 12) {
      systolic = 96 + age * 1.2;
      diastolic = 58 + age * 0.8;
    }
    const htn = this.monthsSince('hypertension', date);
    if (htn !== undefined && htn > -12) {
      // Elevated in the year before diagnosis; controlled within a few months of treatment.
      const untreated = { s: 152, d: 94 };
      const treated = { s: 131, d: 81 };
      const f = htn < 0 ? 0 : 1 - Math.exp(-htn / 2);
      const amlodipine = onMedication(this.course, 'amlodipine-5', date) ? 4 : 0;
      systolic = untreated.s + (treated.s - untreated.s) * f - amlodipine;
      diastolic = untreated.d + (treated.d - untreated.d) * f - amlodipine / 2;
    }
    const af = conditionActive(this.course, 'atrial-fibrillation', date);
    let heartRate = age < 1 ? 125 : age < 6 ? 105 : age < 12 ? 90 : this.base.heartRate;
    if (af) heartRate += 10 + n(8);
    if (febrile) heartRate += 12;
    const vitals: VitalSigns = {
      systolic: Math.round(systolic + n(6)),
      diastolic: Math.round(diastolic + n(4)),
      heartRate: Math.round(heartRate + n(4)),
      heightCm,
      weightKg,
      bmi: bmiR,
    };
    if (febrile) vitals.temperatureC = roundTo(38.1 + Math.abs(n(0.4)), 1);
    return vitals;
  }
}
