// Patient statements (Invoice, patient-statement profile) for visits of the last two years:
// charges per visit and lab panel, the insurer's payment and adjustment as deductions, and what
// the patient owes as totalGross. Older statements are paid (balanced), the latest may be
// unpaid (issued), and one may have been cancelled as billed in error.
import type { Invoice, InvoiceLineItem, Money, Reference } from 'fhir/r4';
import { addDays, addMonths, fhirDate, fhirDateTime, startOfDay } from './dates.ts';
import type { RecordedVisit } from './encounters.ts';
import { CODESYSTEM, IDENTIFIER, PORTAL_CODESYSTEM, PROFILE } from './fhir-codes.ts';
import type { PanelKey } from './lab-catalog.ts';
import { addResource, nextNumber, type RecordContext } from './record-context.ts';
import type { VisitKind } from './visits.ts';

const VISIT_CHARGES: Record<VisitKind, { code: string; display: string; amount: number }> = {
  'well-child': { code: 'preventive-visit-child', display: 'Preventive visit, child', amount: 210 },
  annual: { code: 'preventive-visit-adult', display: 'Preventive visit, adult', amount: 265 },
  diagnosis: { code: 'office-visit-moderate', display: 'Office visit, moderate complexity', amount: 185 },
  'follow-up': { code: 'office-visit-established', display: 'Office visit, established patient', amount: 160 },
  acute: { code: 'office-visit-acute', display: 'Office visit, acute problem', amount: 150 },
};

const LAB_CHARGES: Record<PanelKey, { code: string; display: string; amount: number }> = {
  hba1c: { code: 'lab-hba1c', display: 'Hemoglobin A1c', amount: 42 },
  cbc: { code: 'lab-cbc', display: 'Complete blood count', amount: 28 },
  bmp: { code: 'lab-bmp', display: 'Basic metabolic panel', amount: 36 },
  lipid: { code: 'lab-lipid', display: 'Lipid panel', amount: 58 },
  tsh: { code: 'lab-tsh', display: 'TSH', amount: 47 },
};

const usd = (value: number): Money => ({ value: Math.round(value * 100) / 100, currency: 'USD' });

export function statements(ctx: RecordContext, visits: RecordedVisit[], guarantor: Reference): Array<Invoice & { id: string }> {
  const { rng, now, plan } = ctx;
  const today = startOfDay(now);
  const billing = ctx.clinic.departments.find((d) => d.key === 'billing')!;
  const recent = visits.filter((v) => v.visit.start >= addMonths(today, -24) && v.visit.start < addDays(today, -2));
  const out: Array<Invoice & { id: string }> = [];
  const copay = rng.pick([20, 25, 30, 40]);
  const coinsurance = rng.pick([0.1, 0.2]);

  const build = (v: RecordedVisit, status: Invoice['status'], cancelledReason?: string): Invoice & { id: string } => {
    const items: Array<{ code: string; display: string; amount: number }> = [VISIT_CHARGES[v.visit.kind]];
    for (const lab of v.labs) items.push(LAB_CHARGES[lab.panel]);
    if (v.labs.length > 0) items.push({ code: 'venipuncture', display: 'Blood draw', amount: 15 });
    const gross = items.reduce((s, i) => s + i.amount, 0);
    const visitCharge = items[0]!.amount;
    const labTotal = gross - visitCharge;
    // Preventive visits are covered in full; otherwise a copay plus coinsurance on labs.
    const patientShare = v.visit.kind === 'annual' || v.visit.kind === 'well-child' ? Math.round(labTotal * coinsurance * 100) / 100 : copay + Math.round(labTotal * coinsurance * 100) / 100;
    const adjustment = Math.round(gross * rng.real(0.12, 0.22) * 100) / 100;
    const insurance = Math.round((gross - adjustment - patientShare) * 100) / 100;
    const issuedOn = addDays(startOfDay(v.visit.start), 10) < today ? addDays(startOfDay(v.visit.start), 10) : addDays(today, -1);
    const lineItem: InvoiceLineItem[] = items.map((item, i) => ({
      sequence: i + 1,
      chargeItemCodeableConcept: { coding: [{ system: CODESYSTEM.charge, code: item.code, display: item.display }], text: item.display },
      priceComponent: [{ type: 'base', amount: usd(item.amount) }],
    }));
    const invoice: Invoice = {
      resourceType: 'Invoice',
      meta: { profile: [PROFILE.patientStatement] },
      identifier: [{ system: IDENTIFIER.invoice, value: `${ctx.mrn}-S${String(nextNumber(ctx, 'statement')).padStart(3, '0')}` }],
      status,
      type: { coding: [{ system: PORTAL_CODESYSTEM.invoiceType, code: 'patient-statement', display: 'Patient statement' }], text: 'Patient statement' },
      subject: ctx.patientRef,
      recipient: guarantor,
      date: fhirDateTime(issuedOn),
      issuer: billing.reference,
      lineItem,
      totalPriceComponent: [
        { type: 'base', amount: usd(gross) },
        { type: 'deduction', code: { text: 'Insurance payment' }, amount: usd(insurance) },
        { type: 'deduction', code: { text: 'Contractual adjustment' }, amount: usd(adjustment) },
      ],
      // No tax on medical services, so net and gross agree; totalGross is the amount due.
      totalNet: usd(patientShare),
      totalGross: usd(patientShare),
      paymentTerms: `Due within 30 days of the statement date. Pay in the patient portal or call ${billing.name} at (503) 555-0116.`,
      note: [{ text: `Services on ${fhirDate(v.visit.start)} with ${v.visit.clinician.display}.` }],
    };
    if (cancelledReason) invoice.cancelledReason = cancelledReason;
    if (status === 'balanced') {
      const paid = addDays(issuedOn, rng.int(3, 25));
      invoice.note!.push({ text: `Paid in full on ${fhirDate(paid < today ? paid : today)}.` });
    }
    return addResource(ctx, invoice);
  };

  recent.forEach((v, i) => {
    const unpaid = i >= recent.length - plan.unpaidInvoices;
    out.push(build(v, unpaid ? 'issued' : 'balanced'));
  });
  if (plan.cancelledInvoice && recent.length > 0) {
    out.push(build(recent[rng.int(0, recent.length - 1)]!, 'cancelled', 'Duplicate statement, billed in error; replaced by the corrected statement.'));
  }
  return out;
}
