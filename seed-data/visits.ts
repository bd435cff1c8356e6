// The schedule of past visits: well-child checks, annual physicals, chronic follow-ups,
// diagnosis visits and acute visits, merged so nobody is seen twice in the same month for
// routine care. Also proposes the upcoming routine visits that become booked appointments.
import type { StaffMember } from './clinic.ts';
import { type AcuteEpisode, activeAt } from './clinical-course.ts';
import { CONDITIONS, type ConditionKey } from './condition-catalog.ts';
import { addDays, addMonths, atClinicTime, DAY_MS, startOfDay, toWeekday, yearsBetween } from './dates.ts';
import type { PanelKey } from './lab-catalog.ts';
import type { RecordContext } from './record-context.ts';

export type VisitKind = 'well-child' | 'annual' | 'diagnosis' | 'follow-up' | 'acute';

export interface Visit {
  start: Date;
  kind: VisitKind;
  reasons: ConditionKey[];
  acute?: AcuteEpisode;
  clinician: StaffMember;
  panels: PanelKey[];
  /** Set for the visit on the day metformin was increased. */
  intensification?: boolean;
}

interface Candidate {
  day: Date;
  kind: VisitKind;
  reasons: ConditionKey[];
  acute?: AcuteEpisode;
  intensification?: boolean;
}

const KIND_PRIORITY: Record<VisitKind, number> = { acute: 5, diagnosis: 4, 'well-child': 3, annual: 2, 'follow-up': 1 };
const WELL_CHILD_MONTHS = [2, 4, 6, 9, 12, 15, 18, 24, 30];

export function clinicianFor(ctx: RecordContext, kind: VisitKind, reasons: ConditionKey[], index: number): StaffMember {
  // Specialists see their condition's follow-ups every other time; the PCP does the rest.
  if (kind === 'follow-up') {
    for (const r of reasons) {
      const s = ctx.specialists[r];
      if (s && index % 2 === 1) return s;
    }
  }
  return ctx.pcp;
}

function jitter(ctx: RecordContext, day: Date, days: number): Date {
  return toWeekday(startOfDay(addDays(day, ctx.rng.int(-days, days))));
}

export function scheduleVisits(ctx: RecordContext): Visit[] {
  const { course, now } = ctx;
  const today = startOfDay(now);
  const candidates: Candidate[] = [];
  const inWindow = (d: Date) => d >= course.historyStart && d < today;

  // Well-child checks in the first years, then an annual physical around the same time each year.
  for (const m of WELL_CHILD_MONTHS) {
    const d = toWeekday(startOfDay(addMonths(course.birthDate, m)));
    if (inWindow(d)) candidates.push({ day: d, kind: 'well-child', reasons: [] });
  }
  const firstAnnual = addDays(course.historyStart, ctx.rng.int(20, 360));
  for (let d = firstAnnual; d < today; d = addMonths(d, 12)) {
    const day = jitter(ctx, d, 10);
    if (!inWindow(day) || yearsBetween(course.birthDate, day) < 3) continue;
    candidates.push({ day, kind: yearsBetween(course.birthDate, day) < 18 ? 'well-child' : 'annual', reasons: [] });
  }

  for (const c of course.conditions) {
    const def = CONDITIONS[c.key];
    if (inWindow(c.onset)) candidates.push({ day: c.onset, kind: 'diagnosis', reasons: [c.key] });
    if (!def.followUpMonths) continue;
    const end = c.abatement && c.abatement < today ? c.abatement : today;
    for (let d = addMonths(c.onset, def.followUpMonths); d < end; d = addMonths(d, def.followUpMonths)) {
      const day = jitter(ctx, d, 7);
      if (inWindow(day) && day < end) candidates.push({ day, kind: 'follow-up', reasons: [c.key] });
    }
  }
  if (course.diabetesIntensified && inWindow(course.diabetesIntensified)) {
    candidates.push({ day: course.diabetesIntensified, kind: 'follow-up', reasons: ['diabetes'], intensification: true });
  }
  for (const a of course.acute) {
    if (inWindow(a.date)) candidates.push({ day: a.date, kind: 'acute', reasons: [], acute: a });
  }

  candidates.sort((a, b) => a.day.getTime() - b.day.getTime() || KIND_PRIORITY[b.kind] - KIND_PRIORITY[a.kind]);
  // Merge routine visits within 30 days into one (the higher-priority kind wins); acute visits,
  // diagnosis visits and the dose-change visit keep their own date.
  const merged: Candidate[] = [];
  for (const c of candidates) {
    const prev = merged[merged.length - 1];
    const fixedDate = (x: Candidate) => x.kind === 'acute' || x.kind === 'diagnosis' || x.intensification === true;
    const close = prev && (c.day.getTime() - prev.day.getTime()) / DAY_MS < 30;
    if (prev && close && prev.kind !== 'acute' && c.kind !== 'acute' && !(fixedDate(prev) && fixedDate(c) && prev.day.getTime() !== c.day.getTime())) {
      if (KIND_PRIORITY[c.kind] > KIND_PRIORITY[prev.kind]) {
        if (fixedDate(c)) prev.day = c.day;
        prev.kind = c.kind;
      }
      for (const r of c.reasons) if (!prev.reasons.includes(r)) prev.reasons.push(r);
      if (c.intensification) {
        prev.intensification = true;
        prev.day = c.day;
      }
      continue;
    }
    merged.push({ ...c, reasons: [...c.reasons] });
  }

  return merged.map((c, i) => {
    const visit: Visit = {
      start: atClinicTime(c.day, ctx.rng.int(0, 23)),
      kind: c.kind,
      reasons: c.reasons,
      clinician: clinicianFor(ctx, c.kind, c.reasons, i),
      panels: panelsFor(ctx, c),
    };
    if (c.acute) visit.acute = c.acute;
    if (c.intensification) visit.intensification = true;
    return visit;
  });
}

/** Which lab panels are drawn at a visit. Children get none: adult reference ranges would not apply. */
function panelsFor(ctx: RecordContext, c: Candidate): PanelKey[] {
  const age = yearsBetween(ctx.course.birthDate, c.day);
  if (age < 18 || c.kind === 'acute') return [];
  const panels = new Set<PanelKey>();
  const active = (k: ConditionKey) => ctx.course.conditions.some((x) => x.key === k && activeAt(x, c.day));
  const onsetToday = (k: ConditionKey) => ctx.course.conditions.some((x) => x.key === k && x.onset.getTime() === c.day.getTime());
  for (const k of c.reasons) {
    if (k === 'diabetes') {
      panels.add('hba1c');
      if (onsetToday(k)) panels.add('bmp');
    }
    if (k === 'prediabetes') panels.add('hba1c');
    if (k === 'hyperlipidemia' && onsetToday(k)) panels.add('lipid');
    if (k === 'hypothyroidism') panels.add('tsh');
    if (k === 'ckd') panels.add('bmp');
    if (k === 'anemia') panels.add('cbc');
  }
  if (c.kind === 'annual') {
    // Screening as a primary-care clinic orders it: rarely for healthy young adults, most years
    // from middle age, every year for the conditions that need monitoring.
    const chronic = active('diabetes') || active('hypertension') || active('ckd') || active('hyperlipidemia');
    if (chronic || ctx.rng.chance(age >= 50 ? 0.6 : age >= 40 ? 0.4 : 0.2)) panels.add('bmp');
    if (chronic ? ctx.rng.chance(0.5) : ctx.rng.chance(age >= 50 ? 0.4 : 0.2)) panels.add('cbc');
    if (active('hyperlipidemia') || active('diabetes') || ctx.rng.chance(age >= 40 ? 0.35 : 0.15)) panels.add('lipid');
    if (active('diabetes') || active('prediabetes') || (age >= 35 && ctx.rng.chance(0.25))) panels.add('hba1c');
    if (active('hypothyroidism')) panels.add('tsh');
  }
  const order: PanelKey[] = ['hba1c', 'cbc', 'bmp', 'lipid', 'tsh'];
  return order.filter((p) => panels.has(p));
}

export interface PlannedVisit {
  start: Date;
  kind: VisitKind;
  reasons: ConditionKey[];
  clinician: StaffMember;
}

/** Routine visits due after the reference date: the next follow-up of each condition, the next physical. */
export function upcomingRoutineVisits(ctx: RecordContext, past: Visit[]): PlannedVisit[] {
  const { now } = ctx;
  const today = startOfDay(now);
  const out: PlannedVisit[] = [];
  const lastOf = (pred: (v: Visit) => boolean) => [...past].reverse().find(pred);
  const due = (last: Date | undefined, months: number) => {
    let d = last ? addMonths(startOfDay(last), months) : addDays(today, ctx.rng.int(14, 60));
    if (d <= addDays(today, 2)) d = addDays(today, ctx.rng.int(5, 40));
    return toWeekday(d);
  };
  const followUps = ctx.course.conditions.filter((c) => CONDITIONS[c.key].followUpMonths && activeAt(c, today));
  if (followUps.length > 0) {
    const months = Math.min(...followUps.map((c) => CONDITIONS[c.key].followUpMonths!));
    const last = lastOf((v) => v.kind !== 'acute');
    const day = due(last?.start, months);
    const reasons = followUps.map((c) => c.key);
    out.push({ start: atClinicTime(day, ctx.rng.int(0, 23)), kind: 'follow-up', reasons, clinician: clinicianFor(ctx, 'follow-up', reasons, past.length) });
  }
  const lastAnnual = lastOf((v) => v.kind === 'annual' || v.kind === 'well-child');
  const annualDay = due(lastAnnual?.start, 12);
  if (annualDay < addMonths(today, 6) && !out.some((v) => Math.abs(v.start.getTime() - annualDay.getTime()) < 30 * DAY_MS)) {
    const kind: VisitKind = yearsBetween(ctx.course.birthDate, annualDay) < 18 ? 'well-child' : 'annual';
    out.push({ start: atClinicTime(annualDay, ctx.rng.int(0, 23)), kind, reasons: [], clinician: ctx.pcp });
  }
  return out;
}
