// The dashboard's charts (recharts through @mantine/charts, ~140 kB gzipped),
// in their own chunk: the page's cards and tables render first, the charts
// follow, so the dashboard's first screen stays within the console's budget.
import '@mantine/charts/styles.css';
import { BarChart, DonutChart } from '@mantine/charts';
import type { ComponentProps } from 'react';

export function UsageBarChart(props: ComponentProps<typeof BarChart>) {
  return <BarChart {...props} />;
}

export function UsageDonutChart(props: ComponentProps<typeof DonutChart>) {
  return <DonutChart {...props} />;
}
