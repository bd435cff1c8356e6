import { Badge } from '@mantine/core';
import { FLAG_LABEL, type Flag } from '../../fhir/observation-text.ts';

// Fills dark enough for white text at WCAG AA (4.5:1 or more): Mantine's green 9 and orange 9 are
// not (4.2:1 and 3.9:1), so these are darker shades of the same hues.
const COLOR: Record<Flag, string> = {
  normal: '#1e6b34',
  high: '#a33d00',
  low: '#a33d00',
  'critical-high': '#b02525',
  'critical-low': '#b02525',
  abnormal: '#a33d00',
  none: '#495057',
};

export function FlagBadge({ flag }: { flag: Flag }) {
  if (flag === 'none') return null;
  return (
    <Badge color={COLOR[flag]} variant="filled" size="sm" style={{ flexShrink: 0, overflow: 'visible' }}>
      {FLAG_LABEL[flag]}
    </Badge>
  );
}
