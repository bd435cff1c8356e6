// A test over time: the chart (loaded on demand: the charting library is the portal's largest
// part) with the usual range drawn as a band, and the same numbers as a table, which is also what
// screen readers get.
import { lazy, Suspense } from 'react';
import { Link, useParams } from 'react-router';
import { Anchor, Card, Skeleton, Stack, Text, Title } from '@mantine/core';
import type { Observation } from 'fhir/r4';
import { useLabResults } from '../../fhir/fhir-queries.ts';
import { formatDate, observationDate, rangeText, testKey, testName } from '../../fhir/observation-text.ts';
import { QueryState } from '../../components/query-state.tsx';
import { ResultTable } from './result-table.tsx';

const TrendChart = lazy(() => import('./trend-chart.tsx'));

function Trend({ results }: { results: Observation[] }) {
  const oldestFirst = [...results].sort((a, b) => (observationDate(a) ?? '').localeCompare(observationDate(b) ?? ''));
  const latest = results[0];
  const range = latest.referenceRange?.[0];
  const numeric = oldestFirst.filter((o) => o.valueQuantity?.value !== undefined);
  const unit = latest.valueQuantity?.unit ?? '';
  return (
    <Stack>
      <Title order={1} size="h2">
        {testName(latest)}
      </Title>
      <Text size="sm" c="dimmed">
        {results.length} {results.length === 1 ? 'result' : 'results'}
        {rangeText(range) ? ` · usual range ${rangeText(range)}` : ''}
      </Text>
      {numeric.length > 1 && (
        // Keyboard users focus the chart and move along the points with the arrow keys (Recharts'
        // accessibility layer); the table below has the same numbers for screen readers.
        <Card withBorder radius="md" component="figure" m={0} aria-label={`Chart of ${testName(latest)} over time; the usual range is shaded`}>
          <Suspense fallback={<Skeleton height={280} />}>
            <TrendChart
              points={numeric.map((o) => ({ date: formatDate(observationDate(o)), value: o.valueQuantity!.value! }))}
              low={range?.low?.value}
              high={range?.high?.value}
              unit={unit}
            />
          </Suspense>
        </Card>
      )}
      <ResultTable results={results} first="Date" label={(o) => formatDate(observationDate(o))} caption="Every result of this test, newest first" />
    </Stack>
  );
}

export function TestTrendPage() {
  const { key = '' } = useParams();
  const results = useLabResults();
  const filtered = { ...results, data: results.data?.filter((o) => testKey(o) === key) } as typeof results;
  return (
    <Stack>
      <Anchor component={Link} to="/results" size="sm">
        ← All results
      </Anchor>
      <QueryState query={filtered} what="this test's results" empty="No released results of this test.">
        {(list: Observation[]) => <Trend results={list} />}
      </QueryState>
    </Stack>
  );
}
