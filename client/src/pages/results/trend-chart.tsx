// The trend chart (Mantine's LineChart on Recharts) with the usual range as a shaded band. Points
// show their value on hover and on keyboard focus (Recharts' accessibility layer).
import { LineChart } from '@mantine/charts';
import '@mantine/charts/styles.css';
import { ReferenceArea } from 'recharts';

export interface TrendPoint {
  date: string;
  value: number;
}

export default function TrendChart({ points, low, high, unit }: { points: TrendPoint[]; low?: number; high?: number; unit: string }) {
  const values = points.map((p) => p.value).concat(low ?? [], high ?? []);
  const pad = (Math.max(...values) - Math.min(...values)) * 0.1 || 1;
  return (
    <LineChart
      h={280}
      data={points}
      dataKey="date"
      series={[{ name: 'value', label: unit ? `Result (${unit})` : 'Result', color: 'teal.8' }]}
      curveType="linear"
      withDots
      yAxisProps={{ domain: [Math.floor(Math.min(...values) - pad), Math.ceil(Math.max(...values) + pad)] }}
      lineChartProps={{ accessibilityLayer: true }}
      valueFormatter={(v) => `${v}${unit ? ` ${unit}` : ''}`}
    >
      {(low !== undefined || high !== undefined) && (
        <ReferenceArea y1={low} y2={high} fill="var(--mantine-color-green-2)" fillOpacity={0.5} ifOverflow="extendDomain" label={{ value: 'usual range', position: 'insideTopLeft', fontSize: 11 }} />
      )}
    </LineChart>
  );
}
