// Results as a table: a first column that links each result to its detail (the test's name in a
// day's list, the date in a test's list), then its value and flag.
import { Link } from 'react-router';
import { Anchor, Table } from '@mantine/core';
import type { Observation } from 'fhir/r4';
import { flagOf, valueText } from '../../fhir/observation-text.ts';
import { FlagBadge } from './flag-badge.tsx';

export function ResultTable(props: { results: Observation[]; first: string; label: (o: Observation) => string; caption?: string }) {
  return (
    <Table.ScrollContainer minWidth={320}>
      <Table striped verticalSpacing={6}>
        {props.caption && <Table.Caption>{props.caption}</Table.Caption>}
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{props.first}</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Flag</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {props.results.map((o) => (
            <Table.Tr key={o.id}>
              <Table.Td>
                <Anchor component={Link} to={`/results/${o.id}`}>
                  {props.label(o)}
                </Anchor>
              </Table.Td>
              <Table.Td>{valueText(o)}</Table.Td>
              <Table.Td>
                <FlagBadge flag={flagOf(o)} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
