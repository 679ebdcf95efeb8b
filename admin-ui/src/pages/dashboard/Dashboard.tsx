// The dashboard (reference web/src/features/dashboard): the account's balance,
// use and requests; the selected range's calls, tokens and spend from the
// hourly quota_data rows (/api/data/ for admins: the whole site, optionally
// one user; /api/data/self for users), summed per time bucket and per model
// here (usage.ts); the live RPM/TPM of /api/log/stat or /api/log/self/stat.
import { lazy, Suspense, useMemo, useState, type ReactNode } from 'react';
import {
  ActionIcon,
  Badge,
  Box,
  Chip,
  Group,
  Paper,
  SegmentedControl,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { DatePickerInput } from '@mantine/dates';
import { useDebouncedValue } from '@mantine/hooks';
import { IconRefresh } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { isAdmin, useAuth } from '../../auth/AuthProvider';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { intlLocale } from '../../i18n';
import { formatCompact, formatNumber, formatQuota, formatQuotaShort } from '../../lib/format';
import {
  aggregate,
  chartRows,
  customRange,
  perMinute,
  presetRange,
  type BucketSize,
  type Metric,
  type Preset,
  type QuotaRow,
  type Range,
} from './usage';

interface LogStat {
  quota: number;
  rpm: number;
  tpm: number;
}

const COLORS = ['blue.6', 'teal.6', 'orange.6', 'grape.6', 'red.6', 'cyan.6', 'lime.7', 'pink.6', 'gray.6'];
const SELF_MAX_DAYS = 30;

const BarChart = lazy(() => import('./Charts').then((m) => ({ default: m.UsageBarChart })));
const DonutChart = lazy(() => import('./Charts').then((m) => ({ default: m.UsageDonutChart })));

function bucketLabel(ts: number, size: BucketSize): string {
  const opts: Intl.DateTimeFormatOptions =
    size === 'hour' ? { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat(intlLocale(), opts).format(new Date(ts * 1000));
}

function metricFormat(metric: Metric): (v: number) => string {
  return metric === 'quota' ? (v) => formatQuota(v) : (v) => formatNumber(v, 0);
}

function StatCard({ id, title, value, hint, loading }: { id: string; title: string; value: ReactNode; hint?: string; loading?: boolean }) {
  return (
    <Paper withBorder p="md" radius="md" data-testid={`stat-${id}`} miw={0}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600} truncate>
        {title}
      </Text>
      {loading ? (
        <Skeleton h={28} mt={6} w="70%" />
      ) : (
        <Text fz="xl" fw={700} mt={4} truncate ff="monospace">
          {value}
        </Text>
      )}
      {hint && (
        <Text size="xs" c="dimmed" mt={2} truncate>
          {hint}
        </Text>
      )}
    </Paper>
  );
}

export default function Dashboard() {
  const { t } = useTranslation(['dashboard', 'common']);
  const { user, reloadUser } = useAuth();
  const admin = isAdmin(user);

  const [preset, setPreset] = useState<Preset>('24h');
  const [range, setRange] = useState<Range>(() => presetRange('24h'));
  const [days, setDays] = useState<[string | null, string | null]>([null, null]);
  const [username, setUsername] = useState('');
  const [who] = useDebouncedValue(username.trim(), 400);
  const [metric, setMetric] = useState<Metric>('quota');

  const pickPreset = (v: string) => {
    const p = v as Preset;
    setPreset(p);
    if (p !== 'custom') setRange(presetRange(p));
    else if (days[0] && days[1]) setRange(customRange(days[0], days[1]) ?? range);
  };
  const pickDays = (v: [string | null, string | null]) => {
    setDays(v);
    const r = v[0] && v[1] ? customRange(v[0], v[1]) : null;
    if (r) setRange(r);
  };
  const refresh = () => {
    void reloadUser();
    const next = preset !== 'custom' ? presetRange(preset) : range;
    if (next.end !== range.end) {
      setRange(next); // a new range: both queries run again under its key
      return;
    }
    void data.refetch();
    void stat.refetch();
  };

  const query = {
    start_timestamp: range.start,
    end_timestamp: range.end,
    username: admin ? who : undefined,
  };
  const data = useQuery({
    queryKey: ['dashboard', 'data', admin, range.start, range.end, admin ? who : ''],
    queryFn: () => api.get<QuotaRow[] | null>(admin ? '/api/data/' : '/api/data/self', query),
    enabled: !!user,
  });
  const stat = useQuery({
    queryKey: ['dashboard', 'stat', admin, range.start, range.end, admin ? who : ''],
    queryFn: () => api.get<LogStat>(admin ? '/api/log/stat' : '/api/log/self/stat', query),
    enabled: !!user,
  });

  const agg = useMemo(() => aggregate(data.data ?? [], range), [data.data, range]);
  const chart = useMemo(() => chartRows(agg, metric), [agg, metric]);
  const fmt = metricFormat(metric);
  const modelName = (m: string | null) => (m === null ? t('chart.other') : m || t('chart.noModel'));
  const series = chart.series.map((s, i) => ({ name: s.key, label: modelName(s.model), color: COLORS[i % COLORS.length] }));
  const rows = chart.rows.map((r) => ({ ...r, label: bucketLabel(r.ts, agg.bucket) }));
  const donut = agg.models
    .slice(0, 8)
    .map((m, i) => ({ name: modelName(m.model), value: m[metric], color: COLORS[i % COLORS.length] }))
    .concat(
      agg.models.length > 8
        ? [{ name: t('chart.other'), value: agg.models.slice(8).reduce((s, m) => s + m[metric], 0), color: COLORS[8] }]
        : [],
    )
    .filter((c) => c.value > 0);
  const totalOf = agg.totals[metric];
  const loading = data.isPending;
  const tooLong = !admin && range.end - range.start > SELF_MAX_DAYS * 86400;

  return (
    <>
      <PageHeader
        title={t('title')}
        actions={
          <Tooltip label={t('common:actions.refresh')}>
            <ActionIcon variant="default" size="lg" aria-label={t('common:actions.refresh')} onClick={refresh}>
              <IconRefresh size={18} />
            </ActionIcon>
          </Tooltip>
        }
      >
        <Group gap="sm" wrap="wrap" align="flex-end">
          <Chip.Group multiple={false} value={preset} onChange={pickPreset}>
            <Group gap={6} wrap="wrap" role="radiogroup" aria-label={t('range.label')} pb={4}>
              {(['24h', '7d', '30d', 'custom'] as const).map((p) => (
                <Chip key={p} value={p} variant="outline" radius="sm">
                  {t(`range.${p}`)}
                </Chip>
              ))}
            </Group>
          </Chip.Group>
          {preset === 'custom' && (
            <DatePickerInput
              type="range"
              label={t('range.dates')}
              placeholder={t('range.datesPlaceholder')}
              value={days}
              onChange={pickDays}
              allowSingleDateInRange
              maxDate={new Date()}
              clearable
              miw={220}
            />
          )}
          {admin && (
            <TextInput
              label={t('username.label')}
              placeholder={t('username.placeholder')}
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
              w={200}
              maw="100%"
            />
          )}
          <Badge variant="light" color={admin && !who ? 'grape' : 'blue'}>
            {admin ? (who ? t('scope.user', { name: who }) : t('scope.site')) : t('scope.self')}
          </Badge>
        </Group>
      </PageHeader>

      <Stack gap="lg">
        <section aria-labelledby="dash-account">
          <Title order={3} size="h5" id="dash-account" mb="xs">
            {t('account.title')}
          </Title>
          <SimpleGrid cols={{ base: 1, xs: 3 }} spacing="sm">
            <StatCard id="balance" title={t('account.balance')} value={formatQuota(user?.quota ?? 0)} loading={!user} />
            <StatCard id="used" title={t('account.used')} value={formatQuota(user?.used_quota ?? 0)} loading={!user} />
            <StatCard
              id="requests"
              title={t('account.requests')}
              value={formatNumber(user?.request_count ?? 0, 0)}
              loading={!user}
            />
          </SimpleGrid>
        </section>

        <section aria-labelledby="dash-range">
          <Title order={3} size="h5" id="dash-range" mb="xs">
            {t('rangeTitle')}
          </Title>
          {tooLong && (
            <Text size="sm" c="orange" mb="xs">
              {t('range.selfLimit', { days: SELF_MAX_DAYS })}
            </Text>
          )}
          <ErrorAlert error={data.error} />
          <SimpleGrid cols={{ base: 2, sm: 3, lg: 4 }} spacing="sm">
            <StatCard id="calls" title={t('cards.calls')} value={formatNumber(agg.totals.count, 0)} loading={loading} />
            <StatCard id="spend" title={t('cards.spend')} value={formatQuota(agg.totals.quota)} loading={loading} />
            <StatCard id="tokens" title={t('cards.tokens')} value={formatCompact(agg.totals.tokens)} hint={formatNumber(agg.totals.tokens, 0)} loading={loading} />
            <StatCard
              id="avgRpm"
              title={t('cards.avgRpm')}
              value={formatNumber(perMinute(agg.totals.count, range), 3)}
              hint={t('cards.avgHint')}
              loading={loading}
            />
            <StatCard
              id="avgTpm"
              title={t('cards.avgTpm')}
              value={formatNumber(perMinute(agg.totals.tokens, range), 3)}
              hint={t('cards.avgHint')}
              loading={loading}
            />
            <StatCard
              id="rpm"
              title={t('cards.rpm')}
              value={stat.data ? formatNumber(stat.data.rpm, 0) : '—'}
              hint={t('cards.lastMinute')}
              loading={stat.isPending}
            />
            <StatCard
              id="tpm"
              title={t('cards.tpm')}
              value={stat.data ? formatNumber(stat.data.tpm, 0) : '—'}
              hint={t('cards.lastMinute')}
              loading={stat.isPending}
            />
            <StatCard
              id="logspend"
              title={t('cards.logSpend')}
              value={stat.data ? formatQuota(stat.data.quota) : '—'}
              hint={t('cards.logSpendHint')}
              loading={stat.isPending}
            />
          </SimpleGrid>
          <ErrorAlert error={stat.error} />
        </section>

        <Paper withBorder p="md" radius="md" data-testid="dashboard-chart">
          <Group justify="space-between" wrap="wrap" gap="sm" mb="sm">
            <Title order={3} size="h5">
              {t('chart.time')}
            </Title>
            <SegmentedControl
              aria-label={t('chart.metric')}
              size="xs"
              value={metric}
              onChange={(v) => setMetric(v as Metric)}
              data={[
                { value: 'quota', label: t('metric.quota') },
                { value: 'count', label: t('metric.count') },
                { value: 'tokens', label: t('metric.tokens') },
              ]}
            />
          </Group>
          {loading ? (
            <Skeleton h={280} />
          ) : agg.models.length === 0 ? (
            <EmptyState>{t('chart.empty')}</EmptyState>
          ) : (
            <Suspense fallback={<Skeleton h={300} />}>
            <BarChart
              h={300}
              data={rows}
              dataKey="label"
              type="stacked"
              series={series}
              valueFormatter={fmt}
              withLegend
              legendProps={{ verticalAlign: 'bottom' }}
              yAxisProps={{ tickFormatter: (v: number) => (metric === 'quota' ? formatQuotaShort(v) : formatCompact(v)), width: 80 }}
              aria-label={t('chart.timeAria', { metric: t(`metric.${metric}`) })}
            />
            </Suspense>
          )}
        </Paper>

        <Paper withBorder p="md" radius="md" data-testid="dashboard-models">
          <Title order={3} size="h5" mb="sm">
            {t('chart.models')}
          </Title>
          {loading ? (
            <Skeleton h={200} />
          ) : agg.models.length === 0 ? (
            <EmptyState>{t('chart.empty')}</EmptyState>
          ) : (
            <Group align="flex-start" gap="lg" wrap="wrap">
              {donut.length > 0 && (
                <Suspense fallback={<Skeleton h={180} w={180} circle mx="auto" />}>
                <DonutChart
                  data={donut}
                  size={180}
                  thickness={26}
                  valueFormatter={fmt}
                  withTooltip
                  tooltipDataSource="segment"
                  chartLabel={t(`metric.${metric}`)}
                  aria-label={t('chart.modelsAria', { metric: t(`metric.${metric}`) })}
                  mx="auto"
                />
                </Suspense>
              )}
              <Box style={{ flex: '1 1 300px', minWidth: 0 }}>
                <Table.ScrollContainer minWidth={460}>
                  <Table striped highlightOnHover aria-label={t('chart.models')}>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>{t('table.model')}</Table.Th>
                        <Table.Th ta="right">{t('table.calls')}</Table.Th>
                        <Table.Th ta="right">{t('table.tokens')}</Table.Th>
                        <Table.Th ta="right">{t('table.spend')}</Table.Th>
                        <Table.Th ta="right">{t('table.share')}</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {agg.models.map((m) => (
                        <Table.Tr key={m.model} data-testid={`model-row-${m.model}`}>
                          <Table.Td style={{ wordBreak: 'break-all' }}>{modelName(m.model)}</Table.Td>
                          <Table.Td ta="right">{formatNumber(m.count, 0)}</Table.Td>
                          <Table.Td ta="right">{formatNumber(m.tokens, 0)}</Table.Td>
                          <Table.Td ta="right">{formatQuota(m.quota)}</Table.Td>
                          <Table.Td ta="right">
                            {totalOf > 0 ? `${formatNumber((m[metric] / totalOf) * 100, 1)}%` : '—'}
                          </Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              </Box>
            </Group>
          )}
        </Paper>
      </Stack>
    </>
  );
}
