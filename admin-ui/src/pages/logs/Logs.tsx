// Usage logs (reference web/src/features/usage-logs): the filtered, paged rows
// of /api/log/ (admins: every user, with username and channel filters) or
// /api/log/self, the range's totals from /api/log/stat or /api/log/self/stat
// with the same filters, and each row in full in a drawer.
import { memo, useState, type FormEvent } from 'react';
import {
  ActionIcon,
  Badge,
  Box,
  Button,
  Drawer,
  Group,
  Loader,
  Pagination,
  Paper,
  Select,
  SimpleGrid,
  Skeleton,
  Table,
  Text,
  TextInput,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { DateTimePicker } from '@mantine/dates';
import { IconEye, IconRefresh, IconSearch } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, type Page } from '../../api/client';
import { isAdmin, useAuth } from '../../auth/AuthProvider';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { formatDateTime, formatDuration, formatNumber, formatQuota } from '../../lib/format';
import { LogDetail } from './LogDetail';
import {
  EMPTY_FILTERS,
  LOG_TYPES,
  filterQuery,
  logType,
  parseOther,
  pickerToUnix,
  quickRange,
  unixToPicker,
  type Filters,
  type LogRow,
  type LogStat,
  type QuickRange,
} from './logs';

const PAGE_SIZES = ['10', '20', '50', '100'];
const NOWRAP = { whiteSpace: 'nowrap' } as const;

/** The rows; memoized so typing in the filters does not re-render them. */
const LogTable = memo(function LogTable({
  items,
  admin,
  onOpen,
}: {
  items: LogRow[];
  admin: boolean;
  onOpen: (r: LogRow) => void;
}) {
  const { t } = useTranslation(['logs', 'common']);
  return (
    <Table.ScrollContainer minWidth={admin ? 1100 : 900}>
      <Table striped highlightOnHover verticalSpacing="xs" fz="sm" data-testid="logs-table" aria-label={t('title')}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('col.time')}</Table.Th>
            <Table.Th>{t('col.type')}</Table.Th>
            {admin && <Table.Th>{t('col.user')}</Table.Th>}
            <Table.Th>{t('col.key')}</Table.Th>
            {admin && <Table.Th>{t('col.channel')}</Table.Th>}
            <Table.Th>{t('col.model')}</Table.Th>
            <Table.Th>{t('col.timing')}</Table.Th>
            <Table.Th ta="right">{t('col.tokens')}</Table.Th>
            <Table.Th ta="right">{t('col.cost')}</Table.Th>
            <Table.Th>{t('col.content')}</Table.Th>
            <Table.Th>
              <VisuallyHidden>{t('common:table.actions')}</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((r) => {
            const ty = logType(r.type);
            const o = parseOther(r.other);
            return (
              <Table.Tr key={`${r.id}-${r.created_at}`} onClick={() => onOpen(r)} style={{ cursor: 'pointer' }}>
                <Table.Td style={NOWRAP}>{formatDateTime(r.created_at)}</Table.Td>
                <Table.Td style={NOWRAP}>
                  <Badge color={ty.color} variant="light" tt="none" style={{ minWidth: 'max-content' }}>
                    {t(`type.${ty.key}`)}
                  </Badge>
                </Table.Td>
                {admin && <Table.Td style={NOWRAP}>{r.username || '—'}</Table.Td>}
                <Table.Td style={NOWRAP}>{r.token_name || '—'}</Table.Td>
                {admin && (
                  <Table.Td style={NOWRAP}>{r.channel ? `#${r.channel}${r.channel_name ? ` ${r.channel_name}` : ''}` : '—'}</Table.Td>
                )}
                <Table.Td style={NOWRAP}>{r.model_name || '—'}</Table.Td>
                <Table.Td style={NOWRAP}>
                  {r.type === 2 ? (
                    <>
                      {t('seconds', { n: formatNumber(r.use_time || 0, 0) })}
                      {typeof o.frt === 'number' && o.frt >= 0 && (
                        <Text span size="xs" c="dimmed">
                          {' · '}
                          {t('col.frtShort')} {formatDuration(o.frt)}
                        </Text>
                      )}
                      {r.is_stream && (
                        <Badge size="xs" variant="outline" ml={4} tt="none">
                          {t('col.stream')}
                        </Badge>
                      )}
                    </>
                  ) : (
                    '—'
                  )}
                </Table.Td>
                <Table.Td ta="right" style={NOWRAP}>
                  {r.type === 2 ? `${formatNumber(r.prompt_tokens || 0, 0)} / ${formatNumber(r.completion_tokens || 0, 0)}` : '—'}
                </Table.Td>
                <Table.Td ta="right" style={NOWRAP}>
                  {r.quota ? formatQuota(r.quota) : '—'}
                </Table.Td>
                <Table.Td>
                  <Text size="sm" lineClamp={2} miw={160} maw={280}>
                    {r.content || ''}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <ActionIcon
                    variant="subtle"
                    aria-label={t('detail.open', { id: r.id })}
                    onClick={(e) => {
                      e.stopPropagation();
                      onOpen(r);
                    }}
                  >
                    <IconEye size={16} />
                  </ActionIcon>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
});

export default function Logs() {
  const { t } = useTranslation(['logs', 'common']);
  const { user } = useAuth();
  const admin = isAdmin(user);

  const [draft, setDraft] = useState<Filters>(EMPTY_FILTERS);
  const [applied, setApplied] = useState<Filters>(EMPTY_FILTERS);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [open, setOpen] = useState<LogRow | null>(null);

  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e?: FormEvent) => {
    e?.preventDefault();
    setApplied(draft);
    setPage(1);
  };
  const reset = () => {
    setDraft(EMPTY_FILTERS);
    setApplied(EMPTY_FILTERS);
    setPage(1);
  };
  const pickQuick = (v: string | null) => {
    if (!v) return;
    const r = quickRange(v as QuickRange);
    setDraft((d) => ({ ...d, start: r.start, end: r.end }));
  };

  const fq = filterQuery(applied, admin);
  const list = useQuery({
    queryKey: ['logs', 'list', admin, fq, page, pageSize],
    queryFn: () => api.get<Page<LogRow>>(admin ? '/api/log/' : '/api/log/self', { ...fq, p: page, page_size: pageSize }),
    enabled: !!user,
    placeholderData: keepPreviousData,
  });
  const stat = useQuery({
    queryKey: ['logs', 'stat', admin, fq],
    queryFn: () => api.get<LogStat>(admin ? '/api/log/stat' : '/api/log/self/stat', fq),
    enabled: !!user,
  });

  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const typeOptions = [
    { value: '0', label: t('type.all') },
    ...LOG_TYPES.map((x) => ({ value: String(x.value), label: t(`type.${x.key}`) })),
  ];

  return (
    <>
      <PageHeader
        title={t('title')}
        actions={
          <Tooltip label={t('common:actions.refresh')}>
            <ActionIcon
              variant="default"
              size="lg"
              aria-label={t('common:actions.refresh')}
              onClick={() => {
                void list.refetch();
                void stat.refetch();
              }}
            >
              <IconRefresh size={18} />
            </ActionIcon>
          </Tooltip>
        }
      />

      <Paper withBorder p="md" radius="md" mb="md" component="form" onSubmit={apply} aria-label={t('filters.title')}>
        <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
          <Select
            label={t('filters.quick')}
            placeholder={t('filters.quickPlaceholder')}
            data={[
              { value: 'hour', label: t('quick.hour') },
              { value: 'today', label: t('quick.today') },
              { value: '7d', label: t('quick.7d') },
              { value: '30d', label: t('quick.30d') },
            ]}
            value={null}
            onChange={pickQuick}
            allowDeselect={false}
          />
          <DateTimePicker
            label={t('filters.from')}
            placeholder={t('filters.any')}
            value={unixToPicker(draft.start)}
            onChange={(v) => set('start', pickerToUnix(v))}
            clearable
            withSeconds
            valueFormat="YYYY-MM-DD HH:mm:ss"
          />
          <DateTimePicker
            label={t('filters.to')}
            placeholder={t('filters.any')}
            value={unixToPicker(draft.end)}
            onChange={(v) => set('end', pickerToUnix(v))}
            clearable
            withSeconds
            valueFormat="YYYY-MM-DD HH:mm:ss"
          />
          <Select
            label={t('filters.type')}
            data={typeOptions}
            value={draft.type}
            onChange={(v) => set('type', v ?? '0')}
            allowDeselect={false}
          />
          <TextInput label={t('filters.model')} value={draft.model} onChange={(e) => set('model', e.currentTarget.value)} />
          <TextInput label={t('filters.token')} value={draft.token} onChange={(e) => set('token', e.currentTarget.value)} />
          <TextInput label={t('filters.group')} value={draft.group} onChange={(e) => set('group', e.currentTarget.value)} />
          <TextInput
            label={t('filters.requestId')}
            value={draft.requestId}
            onChange={(e) => set('requestId', e.currentTarget.value)}
          />
          {admin && (
            <TextInput
              label={t('filters.username')}
              value={draft.username}
              onChange={(e) => set('username', e.currentTarget.value)}
            />
          )}
          {admin && (
            <TextInput
              label={t('filters.channel')}
              inputMode="numeric"
              value={draft.channel}
              onChange={(e) => set('channel', e.currentTarget.value.replace(/\D/g, ''))}
            />
          )}
        </SimpleGrid>
        <Group mt="sm" gap="xs" justify="flex-end" wrap="wrap">
          <Button variant="default" onClick={reset}>
            {t('common:actions.reset')}
          </Button>
          <Button type="submit" leftSection={<IconSearch size={16} />}>
            {t('common:actions.search')}
          </Button>
        </Group>
      </Paper>

      <Group gap="xs" mb="sm" wrap="wrap" data-testid="logs-totals" aria-label={t('totals.title')} role="group">
        {stat.isPending ? (
          <Skeleton h={24} w={260} />
        ) : stat.data ? (
          <>
            <Badge variant="light" color="blue" size="lg" tt="none">
              {t('totals.quota')}: {formatQuota(stat.data.quota)}
            </Badge>
            <Badge variant="light" color="pink" size="lg" tt="none">
              {t('totals.rpm')}: {formatNumber(stat.data.rpm, 0)}
            </Badge>
            <Badge variant="light" color="gray" size="lg" tt="none">
              {t('totals.tpm')}: {formatNumber(stat.data.tpm, 0)}
            </Badge>
          </>
        ) : null}
        {list.isFetching && !list.isPending && <Loader size="xs" aria-label={t('common:loading')} />}
      </Group>
      <ErrorAlert error={stat.error} />
      <ErrorAlert error={list.error} />

      <Paper withBorder radius="md">
        {list.isPending ? (
          <Box p="md">
            <Skeleton h={24} mb={8} />
            <Skeleton h={24} mb={8} />
            <Skeleton h={24} />
          </Box>
        ) : items.length === 0 ? (
          <EmptyState>{list.error ? t('empty.error') : t('empty.none')}</EmptyState>
        ) : (
          <LogTable items={items} admin={admin} onOpen={setOpen} />
        )}
      </Paper>

      <Group justify="space-between" mt="md" gap="sm" wrap="wrap">
        <Text size="sm" c="dimmed">
          {t('common:table.total', { count: total })}
        </Text>
        <Group gap="sm" wrap="wrap">
          <Select
            label={t('common:table.pageSize')}
            data={PAGE_SIZES}
            value={String(pageSize)}
            onChange={(v) => {
              setPageSize(Number(v ?? 20));
              setPage(1);
            }}
            allowDeselect={false}
            w={100}
            size="xs"
          />
          <Pagination
            total={pages}
            value={page}
            onChange={setPage}
            size="sm"
            siblings={1}
            aria-label={t('paging.label')}
            getControlProps={(c) => ({ 'aria-label': t(`paging.${c}`) })}
            getItemProps={(p) => ({ 'aria-label': t('paging.page', { page: p }) })}
          />
        </Group>
      </Group>

      <Drawer
        opened={open !== null}
        onClose={() => setOpen(null)}
        position="right"
        size="md"
        title={open ? t('detail.title', { id: open.id }) : ''}
      >
        {open && <LogDetail log={open} admin={admin} />}
      </Drawer>
    </>
  );
}
