// Test results: every released lab result by date (newest first, grouped by day), or by test (one
// row per test with its latest value and how many there are, leading to its trend).
import { Link } from 'react-router';
import { Anchor, Group, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import type { Observation } from 'fhir/r4';
import { useLabResults } from '../../fhir/fhir-queries.ts';
import { flagOf, formatDate, observationDate, testKey, testName, valueText } from '../../fhir/observation-text.ts';
import { QueryState } from '../../components/query-state.tsx';
import { FlagBadge } from './flag-badge.tsx';
import { ResultTable } from './result-table.tsx';

function ByDate({ results }: { results: Observation[] }) {
  const days = new Map<string, Observation[]>();
  for (const o of results) {
    const day = (observationDate(o) ?? '').slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), o]);
  }
  return (
    <Stack gap="lg">
      {[...days].map(([day, list]) => (
        <section key={day} aria-label={formatDate(day)}>
          <Title order={2} size="h4" mb={4}>
            {formatDate(day || undefined)}
          </Title>
          <ResultTable results={list} first="Test" label={testName} />
        </section>
      ))}
    </Stack>
  );
}

function ByTest({ results }: { results: Observation[] }) {
  const tests = new Map<string, Observation[]>();
  for (const o of results) tests.set(testKey(o), [...(tests.get(testKey(o)) ?? []), o]);
  const rows = [...tests].sort(([, a], [, b]) => testName(a[0]).localeCompare(testName(b[0])));
  return (
    <Table.ScrollContainer minWidth={320}>
      <Table striped verticalSpacing={6}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Test</Table.Th>
            <Table.Th>Latest</Table.Th>
            <Table.Th>Results</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map(([key, list]) => (
            <Table.Tr key={key}>
              <Table.Td>
                <Anchor component={Link} to={`/results/test/${encodeURIComponent(key)}`}>
                  {testName(list[0])}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Group gap={6} wrap="nowrap">
                  <Text size="sm">{valueText(list[0])}</Text>
                  <FlagBadge flag={flagOf(list[0])} />
                </Group>
                <Text size="xs" c="dimmed">
                  {formatDate(observationDate(list[0]))}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{list.length}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function ResultsPage() {
  const results = useLabResults();
  return (
    <Stack>
      <Title order={1} size="h2">
        Test results
      </Title>
      <Text size="sm" c="dimmed">
        Results appear here once your care team has released them to you.
      </Text>
      <Tabs defaultValue="date" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="date">By date</Tabs.Tab>
          <Tabs.Tab value="test">By test</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="date" pt="md">
          <QueryState query={results} what="test results" empty="No test results have been released to you yet.">
            {(all: Observation[]) => <ByDate results={all} />}
          </QueryState>
        </Tabs.Panel>
        <Tabs.Panel value="test" pt="md">
          <QueryState query={results} what="test results" empty="No test results have been released to you yet.">
            {(all: Observation[]) => <ByTest results={all} />}
          </QueryState>
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
