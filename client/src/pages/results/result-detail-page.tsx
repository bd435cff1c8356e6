// One result: its value, unit, the usual range, the flag and what it means in plain words, who
// performed it, the report (panel) it belongs to, and the way to its trend.
import { Link, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Anchor, Card, Group, List, Stack, Text, Title } from '@mantine/core';
import type { DiagnosticReport, Observation } from 'fhir/r4';
import { useLabResults, useReports } from '../../fhir/fhir-queries.ts';
import { conceptText, flagExplanation, flagOf, formatDate, observationDate, rangeText, testKey, testName, valueText } from '../../fhir/observation-text.ts';
import { ErrorNotice } from '../../components/query-state.tsx';
import { useSession } from '../../session/session-context.tsx';
import { FlagBadge } from './flag-badge.tsx';

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Group gap="xs" align="baseline" wrap="nowrap">
      <Text size="sm" c="dimmed" w={150} style={{ flexShrink: 0 }}>
        {label}
      </Text>
      <Text size="sm">{children}</Text>
    </Group>
  );
}

export function ResultDetailPage() {
  const { id = '' } = useParams();
  const { client } = useSession();
  const result = useQuery({ queryKey: ['observation', id], queryFn: () => client.request<Observation>(`Observation/${encodeURIComponent(id)}`) });
  const all = useLabResults();
  const reports = useReports();
  if (result.isPending) return <Text>Loading the result…</Text>;
  if (result.isError) return <ErrorNotice error={result.error} what="this result" retry={() => void result.refetch()} />;
  const o = result.data;
  const flag = flagOf(o);
  const range = rangeText(o.referenceRange?.[0]);
  const report: DiagnosticReport | undefined = reports.data?.find((r) => r.result?.some((ref) => ref.reference === `Observation/${o.id}`));
  const sameTest = all.data?.filter((x) => testKey(x) === testKey(o)).length ?? 0;
  return (
    <Stack>
      <Anchor component={Link} to="/results" size="sm">
        ← All results
      </Anchor>
      <Title order={1} size="h2">
        {testName(o)}
      </Title>
      <Card withBorder radius="md">
        <Stack gap="xs">
          <Group gap="sm">
            <Text size="xl" fw={700}>
              {valueText(o)}
            </Text>
            <FlagBadge flag={flag} />
          </Group>
          <Text>{flagExplanation(flag, range)}</Text>
          <Field label="Usual range">{range ?? 'None given by the lab'}</Field>
          <Field label="Taken">{formatDate(observationDate(o))}</Field>
          {o.issued && <Field label="Reported">{formatDate(o.issued)}</Field>}
          <Field label="Performed by">{o.performer?.map((p) => p.display).filter(Boolean).join(', ') || 'Not recorded'}</Field>
          {report && (
            <Field label="Part of">
              {conceptText(report.code)}
              {report.performer?.[0]?.display ? ` (${report.performer[0].display})` : ''}
            </Field>
          )}
          {o.note?.length ? (
            <Field label="Notes">
              <List size="sm">{o.note.map((n, i) => <List.Item key={i}>{n.text}</List.Item>)}</List>
            </Field>
          ) : null}
        </Stack>
      </Card>
      {sameTest > 1 && (
        <Anchor component={Link} to={`/results/test/${encodeURIComponent(testKey(o))}`}>
          See all {sameTest} results of this test over time
        </Anchor>
      )}
    </Stack>
  );
}
