// Observations in plain words: the test's name, its value with unit, the reference range, and what
// the lab's interpretation flag means.
// See: https://hl7.org/fhir/R4/valueset-observation-interpretation.html
import type { CodeableConcept, Observation, ObservationReferenceRange, Quantity } from 'fhir/r4';

export const conceptText = (concept: CodeableConcept | undefined): string =>
  concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.[0]?.code ?? 'Unnamed';

export const testName = (o: Observation): string => conceptText(o.code);

/** A key for "the same test" across results: its first coding (system|code), else its name. */
export function testKey(o: Observation): string {
  const coding = o.code.coding?.find((c) => c.system && c.code);
  return coding ? `${coding.system}|${coding.code}` : `text|${testName(o)}`;
}

export const observationDate = (o: Observation): string | undefined => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued;

const quantityText = (q: Quantity | undefined): string | undefined => (q?.value === undefined ? undefined : `${q.comparator ?? ''}${q.value}${q.unit ? ` ${q.unit}` : ''}`);

export function valueText(o: Observation): string {
  if (o.valueQuantity) return quantityText(o.valueQuantity) ?? '—';
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueBoolean !== undefined) return o.valueBoolean ? 'Yes' : 'No';
  if (o.valueInteger !== undefined) return String(o.valueInteger);
  if (o.component?.length) return o.component.map((c) => `${conceptText(c.code)} ${c.valueQuantity ? quantityText(c.valueQuantity) : ''}`.trim()).join(', ');
  if (o.dataAbsentReason) return `Not available (${conceptText(o.dataAbsentReason)})`;
  return '—';
}

export function rangeText(range: ObservationReferenceRange | undefined): string | undefined {
  if (!range) return undefined;
  if (range.text) return range.text;
  const unit = range.low?.unit ?? range.high?.unit ?? '';
  const suffix = unit ? ` ${unit}` : '';
  if (range.low?.value !== undefined && range.high?.value !== undefined) return `${range.low.value}–${range.high.value}${suffix}`;
  if (range.low?.value !== undefined) return `${range.low.value}${suffix} or more`;
  if (range.high?.value !== undefined) return `up to ${range.high.value}${suffix}`;
  return undefined;
}

export type Flag = 'normal' | 'high' | 'low' | 'critical-high' | 'critical-low' | 'abnormal' | 'none';

const FLAG_CODES: Record<string, Flag> = { N: 'normal', H: 'high', L: 'low', HH: 'critical-high', LL: 'critical-low', HU: 'critical-high', LU: 'critical-low', A: 'abnormal', AA: 'abnormal' };

/** The lab's flag; without one, the value against the reference range. */
export function flagOf(o: Observation): Flag {
  for (const concept of o.interpretation ?? []) {
    for (const coding of concept.coding ?? []) {
      const flag = coding.code ? FLAG_CODES[coding.code] : undefined;
      if (flag) return flag;
    }
  }
  const value = o.valueQuantity?.value;
  const range = o.referenceRange?.[0];
  if (value === undefined || !range) return 'none';
  if (range.low?.value !== undefined && value < range.low.value) return 'low';
  if (range.high?.value !== undefined && value > range.high.value) return 'high';
  return range.low || range.high ? 'normal' : 'none';
}

export const FLAG_LABEL: Record<Flag, string> = {
  normal: 'Normal',
  high: 'High',
  low: 'Low',
  'critical-high': 'Very high',
  'critical-low': 'Very low',
  abnormal: 'Abnormal',
  none: 'No range',
};

/** What the flag means, in the words a clinic would use with a patient. */
export function flagExplanation(flag: Flag, range: string | undefined): string {
  const within = range ? ` (${range})` : '';
  switch (flag) {
    case 'normal':
      return `Within the usual range for this test${within}.`;
    case 'high':
      return `Above the usual range${within}. Your care team will tell you if anything needs to be done.`;
    case 'low':
      return `Below the usual range${within}. Your care team will tell you if anything needs to be done.`;
    case 'critical-high':
      return `Well above the usual range${within}. If you have not heard from your care team, please call the clinic.`;
    case 'critical-low':
      return `Well below the usual range${within}. If you have not heard from your care team, please call the clinic.`;
    case 'abnormal':
      return 'The lab marked this result as outside what is usual. Your care team will explain what it means for you.';
    case 'none':
      return 'This test has no usual range to compare with; your care team reads it with your other results.';
  }
}

export const formatDate = (iso: string | undefined): string =>
  iso ? new Date(iso.length === 10 ? `${iso}T00:00:00` : iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) : 'Date unknown';
