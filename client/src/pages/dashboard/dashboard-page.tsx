// The dashboard: what is new and what is next, each card linking to its page. Cards load on their
// own, so one slow or refused section never blanks the others.
import { useEffect, useMemo, type ReactNode } from 'react';
import { Link } from 'react-router';
import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import type { Appointment, Communication, Invoice, MedicationRequest, Observation } from 'fhir/r4';
import { useLabResults, useMedicationRequests, useMessages, useOpenStatements, useUpcomingAppointments } from '../../fhir/fhir-queries.ts';
import { conceptText, flagOf, formatDate, observationDate, testName, valueText } from '../../fhir/observation-text.ts';
import { QueryState } from '../../components/query-state.tsx';
import { FlagBadge } from '../results/flag-badge.tsx';
import { useSession } from '../../session/session-context.tsx';
import { lastVisitBefore, rememberVisit } from './last-visit.ts';

function Section({ title, link, linkLabel, children }: { title: string; link?: string; linkLabel?: string; children: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="md" component="section" aria-label={title}>
      <Group justify="space-between" mb="xs" wrap="nowrap">
        <Title order={2} size="h4">
          {title}
        </Title>
        {link && (
          <Anchor component={Link} to={link} size="sm">
            {linkLabel}
          </Anchor>
        )}
      </Group>
      {children}
    </Card>
  );
}

function NewestResults({ since }: { since: string | undefined }) {
  const results = useLabResults();
  return (
    <Section title="Newest results" link="/results" linkLabel="All results">
      <QueryState query={results} what="test results" empty="No test results have been released to you yet.">
        {(all: Observation[]) => (
          <Stack gap={6} component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
            {all.slice(0, 6).map((o) => {
              const isNew = since !== undefined && (observationDate(o) ?? '') > since;
              return (
                <Group key={o.id} component="li" justify="space-between" wrap="nowrap" gap="xs">
                  <Stack gap={0} style={{ minWidth: 0 }}>
                    <Anchor component={Link} to={`/results/${o.id}`} fw={500}>
                      {testName(o)}
                    </Anchor>
                    <Text size="xs" c="dimmed">
                      {formatDate(observationDate(o))}
                      {isNew && (
                        <Badge ml={6} size="xs" color="#1c5fa8" variant="filled">
                          New
                        </Badge>
                      )}
                    </Text>
                  </Stack>
                  <Group gap={6} wrap="nowrap" style={{ flexShrink: 0 }}>
                    <Text size="sm">{valueText(o)}</Text>
                    <FlagBadge flag={flagOf(o)} />
                  </Group>
                </Group>
              );
            })}
          </Stack>
        )}
      </QueryState>
    </Section>
  );
}

const appointmentWho = (a: Appointment): string | undefined => a.participant.find((p) => p.actor?.reference?.startsWith('Practitioner/'))?.actor?.display;

function UpcomingAppointments() {
  const appointments = useUpcomingAppointments();
  return (
    <Section title="Upcoming appointments">
      <QueryState query={appointments} what="appointments" empty="No upcoming appointments.">
        {(all: Appointment[]) => (
          <Stack gap={6}>
            {all
              .filter((a) => a.status === 'booked' || a.status === 'proposed' || a.status === 'pending')
              .slice(0, 4)
              .map((a) => (
                <div key={a.id}>
                  <Text fw={500}>{a.description ?? conceptText(a.appointmentType)}</Text>
                  <Text size="sm" c="dimmed">
                    {a.start ? new Date(a.start).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'Time to be confirmed'}
                    {appointmentWho(a) ? ` · ${appointmentWho(a)}` : ''}
                    {a.status === 'proposed' ? ' · requested' : ''}
                  </Text>
                </div>
              ))}
          </Stack>
        )}
      </QueryState>
    </Section>
  );
}

function UnreadMessages() {
  const messages = useMessages();
  const { patientId } = useSession();
  return (
    <Section title="Messages">
      <QueryState query={messages} what="messages" empty="No messages.">
        {(all: Communication[]) => {
          // Unread: sent to the patient by the care team and not yet received.
          const unread = all.filter((m) => !m.received && !m.sender?.reference?.endsWith(patientId) && !m.sender?.reference?.startsWith('Patient/'));
          return unread.length === 0 ? (
            <Text size="sm" c="dimmed">
              No unread messages.
            </Text>
          ) : (
            <Stack gap={6}>
              <Text fw={500}>
                {unread.length} unread {unread.length === 1 ? 'message' : 'messages'}
              </Text>
              {unread.slice(0, 3).map((m) => (
                <Text key={m.id} size="sm">
                  {m.topic?.text ?? conceptText(m.category?.[0])} — from {m.sender?.display ?? 'your care team'}, {formatDate(m.sent)}
                </Text>
              ))}
            </Stack>
          );
        }}
      </QueryState>
    </Section>
  );
}

const money = (amount: number, currency = 'USD'): string => new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);

function BalanceDue() {
  const statements = useOpenStatements();
  return (
    <Section title="Balance due">
      <QueryState query={statements} what="statements" empty="Nothing to pay. Thank you!">
        {(all: Invoice[]) => {
          const total = all.reduce((sum, i) => sum + (i.totalGross?.value ?? 0), 0);
          const currency = all.find((i) => i.totalGross?.currency)?.totalGross?.currency;
          return (
            <Stack gap={4}>
              <Text fw={700} size="xl">
                {money(total, currency)}
              </Text>
              <Text size="sm" c="dimmed">
                {all.length} open {all.length === 1 ? 'statement' : 'statements'}, latest {formatDate(all.map((i) => i.date ?? '').sort().at(-1))}
              </Text>
            </Stack>
          );
        }}
      </QueryState>
    </Section>
  );
}

function RefillsInProgress() {
  const requests = useMedicationRequests();
  return (
    <Section title="Refills in progress">
      <QueryState query={requests} what="prescriptions" empty="No prescriptions on file.">
        {(all: MedicationRequest[]) => {
          const pending = all.filter((r) => r.intent === 'proposal' && (r.status === 'active' || r.status === 'draft'));
          return pending.length === 0 ? (
            <Text size="sm" c="dimmed">
              No refill requests waiting.
            </Text>
          ) : (
            <Stack gap={4}>
              {pending.map((r) => (
                <Text key={r.id} size="sm">
                  {conceptText(r.medicationCodeableConcept)} — requested {formatDate(r.authoredOn)}
                </Text>
              ))}
            </Stack>
          );
        }}
      </QueryState>
    </Section>
  );
}

export function DashboardPage() {
  const { patientId } = useSession();
  // "New" means released since the previous visit to the dashboard (kept on this device).
  const since = useMemo(() => lastVisitBefore(patientId), [patientId]);
  useEffect(() => rememberVisit(patientId), [patientId]);
  return (
    <Stack>
      <Title order={1} size="h2">
        Dashboard
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
        <NewestResults since={since} />
        <UpcomingAppointments />
        <UnreadMessages />
        <BalanceDue />
        <RefillsInProgress />
      </SimpleGrid>
    </Stack>
  );
}
