// The committed demo set: which stories, with which seed and reference date. Regenerate with
// `npm run seed -- --write-demo`; the output is byte-identical on every machine, and a test
// checks that the committed files match.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeBundle, transactionBundle, type TransactionBundle } from './bundle.ts';
import type { ConditionKey } from './condition-catalog.ts';
import { DEFAULT_NOW, SeedGenerator } from './generator.ts';
import type { Scenario } from './patient-plan.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Only transaction Bundles live here, so a loader may take every *.json in it. */
export const DEMO_DIR = path.join(HERE, 'demo');
/** Who is who in the demo set (ids, MRNs, names, stories), beside the folder, not in it. */
export const DEMO_MANIFEST = path.join(HERE, 'demo-manifest.json');

export const DEMO_OPTIONS = {
  seed: 'health-records-demo',
  now: DEFAULT_NOW,
  historyYears: 4,
  practitioners: 16,
} as const;

const m = (key: ConditionKey, onsetMonthsAgo: number) => ({ key, onsetMonthsAgo });

/** The demo patients in file order. Each fixes what its story needs; the rest is random. */
export const DEMO_SCENARIOS: Scenario[] = [
  {
    story: 'Portal showcase: type 2 diabetes, blood pressure and cholesterol on active prescriptions with refills, booked and requested appointments, an unread reply, an unpaid bill',
    sex: 'female', age: 63,
    conditions: [m('diabetes', 30), m('hypertension', 48), m('hyperlipidemia', 48)],
    allergies: ['sulfonamide'],
    extraUpcomingAppointments: 1, proposedAppointment: true, cancelledUpcomingAppointment: false,
    messageThreads: 4, unpaidInvoices: 1, cancelledInvoice: false, acuteInfections: 1,
  },
  {
    story: 'Type 2 diabetes over 3.5 years: HbA1c falls on metformin, drifts above 7.5 %, metformin increased to 1000 mg, falls again; lipid panels on a statin',
    sex: 'male', age: 58,
    conditions: [m('diabetes', 44), m('hyperlipidemia', 46), m('obesity', 60)],
    allergies: [], extraUpcomingAppointments: 1, messageThreads: 2, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Newly diagnosed type 2 diabetes: prediabetic HbA1c for years, diagnosis 14 months ago, falling since metformin',
    sex: 'female', age: 47,
    conditions: [m('diabetes', 14)],
    allergies: [], messageThreads: 2, unpaidInvoices: 1, acuteInfections: 0,
  },
  {
    story: 'Child with asthma and a peanut allergy; the mother is proxy (reads the record, messages the nurse)',
    sex: 'male', age: 7, proxy: 'parent',
    conditions: [m('asthma', 36)], allergies: ['peanut'],
    messageThreads: 2, unpaidInvoices: 0, acuteInfections: 1,
  },
  {
    story: 'Toddler with eczema: well-child visits; a parent is proxy; upcoming check-up',
    sex: 'female', age: 2, proxy: 'parent',
    conditions: [m('eczema', 10)], allergies: [],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Child allergic to penicillin: ear infections treated with azithromycin; parent proxy receives the unpaid bill',
    sex: 'male', age: 5, proxy: 'parent',
    conditions: [], allergies: ['penicillin'],
    messageThreads: 1, unpaidInvoices: 1, acuteInfections: 2,
  },
  {
    story: 'Elderly patient with atrial fibrillation, stage 3 kidney disease and hypertension (eGFR flagged low); an adult child is proxy',
    sex: 'female', age: 84, proxy: 'adult-child',
    conditions: [m('atrial-fibrillation', 50), m('ckd', 40), m('hypertension', 120)], allergies: [],
    messageThreads: 2, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Elderly patient with hypothyroidism (TSH normalising on levothyroxine) and knee osteoarthritis; an adult child is proxy; several upcoming appointments',
    sex: 'male', age: 79, proxy: 'adult-child',
    conditions: [m('hypothyroidism', 30), m('osteoarthritis', 70)], allergies: ['latex'],
    extraUpcomingAppointments: 2, messageThreads: 1, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Appointments of every kind: booked, requested in the portal (proposed), cancelled by the patient, fulfilled',
    sex: 'female', age: 36,
    conditions: [m('allergic-rhinitis', 100)], allergies: ['cat-dander'],
    extraUpcomingAppointments: 2, proposedAppointment: true, cancelledUpcomingAppointment: true,
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 1,
  },
  {
    story: 'Unpaid bills: two open statements and one cancelled as billed in error',
    sex: 'male', age: 52,
    conditions: [m('hypertension', 30)], allergies: [],
    messageThreads: 1, unpaidInvoices: 2, cancelledInvoice: true, acuteInfections: 1,
  },
  {
    story: 'Active maintenance prescriptions with refills remaining (blood pressure, cholesterol), earlier ones completed',
    sex: 'male', age: 61,
    conditions: [m('hypertension', 70), m('hyperlipidemia', 55)], allergies: [],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Long message history with the care team (refill, result question, appointment, billing)',
    sex: 'female', age: 44,
    conditions: [m('hypothyroidism', 20)], allergies: [],
    extraUpcomingAppointments: 1, messageThreads: 4, unpaidInvoices: 1, acuteInfections: 0,
  },
  {
    story: 'Healthy young adult: annual physicals, normal results, no medicines',
    sex: 'male', age: 26,
    conditions: [], allergies: [],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 0, proposedAppointment: false,
  },
  {
    story: 'Prediabetes: HbA1c creeping up through 5.7–6.4 % without medication',
    sex: 'female', age: 55,
    conditions: [m('prediabetes', 40), m('obesity', 60)], allergies: [],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'High cholesterol: LDL flagged high, then falling into range after simvastatin',
    sex: 'male', age: 49,
    conditions: [m('hyperlipidemia', 20)], allergies: ['grass-pollen'],
    messageThreads: 2, unpaidInvoices: 0, acuteInfections: 0,
  },
  {
    story: 'Depression treated and resolved: sertraline prescriptions completed, condition resolved',
    sex: 'female', age: 31,
    conditions: [m('depression', 30)], allergies: [],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 1,
  },
  {
    story: 'Iron deficiency anaemia: low haemoglobin and MCV (L flags) recovering on iron tablets',
    sex: 'female', age: 29,
    conditions: [m('anemia', 8)], allergies: [],
    messageThreads: 2, unpaidInvoices: 1, acuteInfections: 0,
  },
  {
    story: 'Drug allergies (penicillin, sulfa) and completed antibiotic courses',
    sex: 'male', age: 42,
    conditions: [], allergies: ['penicillin', 'sulfonamide'],
    messageThreads: 0, unpaidInvoices: 0, acuteInfections: 2,
  },
  {
    story: 'Teenager with hay fever and bee-sting allergy; a parent is proxy until the 18th birthday',
    sex: 'female', age: 15, proxy: 'parent',
    conditions: [m('allergic-rhinitis', 48)], allergies: ['bee-venom'],
    messageThreads: 1, unpaidInvoices: 0, acuteInfections: 1,
  },
  {
    story: 'Elderly man with diabetes, hypertension and kidney disease: long result history; an adult child is proxy; an unpaid bill',
    sex: 'male', age: 76, proxy: 'adult-child',
    conditions: [m('diabetes', 70), m('hypertension', 100), m('ckd', 30)], allergies: [],
    messageThreads: 1, unpaidInvoices: 1, acuteInfections: 0,
  },
];

export interface DemoFile {
  file: string;
  bundle: TransactionBundle;
}

export interface DemoManifestEntry {
  file: string;
  patientId: string;
  mrn: string;
  name: string;
  age: number;
  story: string;
  proxy?: string;
}

function slug(text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** The demo set in memory: the clinic bundle, one bundle per patient, and a manifest. */
export function buildDemoSet(): { files: DemoFile[]; manifest: DemoManifestEntry[] } {
  const generator = new SeedGenerator(DEMO_OPTIONS);
  const files: DemoFile[] = [{ file: '00-clinic.json', bundle: generator.clinicBundle() }];
  const manifest: DemoManifestEntry[] = [];
  DEMO_SCENARIOS.forEach((scenario, index) => {
    const record = generator.patientRecord(index, scenario);
    const file = `${String(index + 1).padStart(2, '0')}-${slug(record.name)}.json`;
    files.push({ file, bundle: transactionBundle(record.resources) });
    const related = record.resources.find((r) => r.resourceType === 'RelatedPerson');
    const entry: DemoManifestEntry = { file, patientId: record.patientId, mrn: record.mrn, name: record.name, age: record.plan.age, story: record.plan.story };
    if (related && related.resourceType === 'RelatedPerson') {
      entry.proxy = `${related.name?.[0]?.text} (${related.relationship?.[0]?.text}), RelatedPerson/${related.id}`;
    }
    manifest.push(entry);
  });
  return { files, manifest };
}

/** Serialized demo set exactly as committed: bundle files by name, and the manifest text. */
export function renderDemoSet(): { bundles: Map<string, string>; manifest: string } {
  const { files, manifest } = buildDemoSet();
  const bundles = new Map<string, string>();
  for (const f of files) bundles.set(f.file, serializeBundle(f.bundle));
  const header = { seed: DEMO_OPTIONS.seed, now: DEMO_OPTIONS.now.toISOString(), historyYears: DEMO_OPTIONS.historyYears };
  return { bundles, manifest: `${JSON.stringify({ ...header, patients: manifest }, null, 2)}\n` };
}

/** Rewrites seed-data/demo/ and the manifest from scratch. */
export async function writeDemoSet(dir = DEMO_DIR, manifestPath = DEMO_MANIFEST): Promise<string[]> {
  const { bundles, manifest } = renderDemoSet();
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) if (name.endsWith('.json')) await rm(path.join(dir, name));
  for (const [name, content] of bundles) await writeFile(path.join(dir, name), content);
  await writeFile(manifestPath, manifest);
  return [...bundles.keys()];
}
