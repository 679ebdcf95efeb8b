// The model list with their prices: search, a priced/unpriced filter, pages
// of 50, and per-row edit and remove for root.
import { useMemo, useState } from 'react';
import { ActionIcon, Badge, Group, NativeSelect, Pagination, Stack, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { IconEdit, IconSearch, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../components/common';
import { formatNumber } from '../../lib/format';
import { formatUsd } from '../pricing/price';
import { chargedCompletion, isPriced, ratioToUsdPerM, type ModelRow } from './ratios';

/** Badges in table cells keep their whole label. */
const NOCLIP = { label: { overflow: 'visible' } } as const;
const PAGE = 50;

export function ModelTable({
  rows,
  readOnly,
  onEdit,
  onRemove,
}: {
  rows: ModelRow[];
  readOnly?: boolean;
  onEdit?: (r: ModelRow) => void;
  onRemove?: (r: ModelRow) => void;
}) {
  const { t } = useTranslation(['models', 'common']);
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState('all');
  const [page, setPage] = useState(1);

  const shown = useMemo(() => {
    const s = q.trim().toLowerCase();
    return rows.filter(
      (r) =>
        (!s || r.name.toLowerCase().includes(s)) &&
        (filter === 'all' ||
          (filter === 'unpriced' && !isPriced(r)) ||
          (filter === 'channels' && r.inChannels) ||
          (filter === 'call' && r.price !== undefined)),
    );
  }, [rows, q, filter]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const cur = Math.min(page, pages);
  const slice = shown.slice((cur - 1) * PAGE, cur * PAGE);
  const num = (n?: number) => (n === undefined ? <Text c="dimmed" span>—</Text> : formatNumber(n, 6));

  return (
    <Stack gap="sm">
      <Group gap="sm" wrap="wrap" align="flex-end">
        <TextInput
          label={t('search')}
          placeholder={t('searchPlaceholder')}
          leftSection={<IconSearch size={16} />}
          value={q}
          onChange={(e) => {
            setQ(e.currentTarget.value);
            setPage(1);
          }}
          style={{ flex: '1 1 220px' }}
        />
        <NativeSelect
          label={t('filter.label')}
          value={filter}
          onChange={(e) => {
            setFilter(e.currentTarget.value);
            setPage(1);
          }}
          data={[
            { value: 'all', label: t('filter.all') },
            { value: 'channels', label: t('filter.channels') },
            { value: 'unpriced', label: t('filter.unpriced') },
            { value: 'call', label: t('filter.call') },
          ]}
          style={{ flex: '0 1 200px' }}
        />
      </Group>
      <Text size="sm" c="dimmed">
        {t('common:table.total', { count: shown.length })}
      </Text>
      {shown.length === 0 ? (
        <EmptyState>{rows.length ? t('common:table.noResults') : t('empty')}</EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={880}>
          <Table striped highlightOnHover verticalSpacing="xs" data-testid="models-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('col.model')}</Table.Th>
                <Table.Th>{t('col.billing')}</Table.Th>
                <Table.Th>{t('col.inputPrice')}</Table.Th>
                <Table.Th>{t('col.ratio')}</Table.Th>
                <Table.Th>{t('col.completion')}</Table.Th>
                <Table.Th>{t('col.price')}</Table.Th>
                <Table.Th>{t('col.cache')}</Table.Th>
                <Table.Th>{t('col.createCache')}</Table.Th>
                {!readOnly && <Table.Th>{t('common:table.actions')}</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {slice.map((r) => (
                <Table.Tr key={r.name} data-model={r.name}>
                  <Table.Td>
                    <Text size="sm" fw={500} style={{ wordBreak: 'break-all' }}>
                      {r.name}
                    </Text>
                    {r.inChannels && !readOnly && (
                      <Text size="xs" c="dimmed">
                        {t('inChannels')}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    {r.price !== undefined ? (
                      <Badge variant="light" color="grape" styles={NOCLIP}>
                        {t('mode.call')}
                      </Badge>
                    ) : r.ratio !== undefined ? (
                      <Badge variant="light" styles={NOCLIP}>{t('mode.token')}</Badge>
                    ) : (
                      <Tooltip label={t('unpricedHelp')}>
                        <Badge variant="light" color="orange" styles={NOCLIP}>
                          {t('unpriced')}
                        </Badge>
                      </Tooltip>
                    )}
                  </Table.Td>
                  <Table.Td>{r.price === undefined && r.ratio !== undefined ? formatUsd(ratioToUsdPerM(r.ratio)) : '—'}</Table.Td>
                  <Table.Td>{r.price === undefined ? num(r.ratio) : '—'}</Table.Td>
                  <Table.Td>
                    {r.price === undefined ? num(r.completion) : '—'}
                    {chargedCompletion(r) !== undefined && (
                      <Text size="xs" c={r.completion === undefined ? 'dimmed' : 'orange'}>
                        {t('charged', { value: formatNumber(chargedCompletion(r)!, 6) })}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{r.price !== undefined ? formatUsd(r.price) : '—'}</Table.Td>
                  <Table.Td>{r.price === undefined ? num(r.cache) : '—'}</Table.Td>
                  <Table.Td>{r.price === undefined ? num(r.createCache) : '—'}</Table.Td>
                  {!readOnly && (
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <ActionIcon variant="subtle" aria-label={t('editModel', { name: r.name })} onClick={() => onEdit?.(r)}>
                          <IconEdit size={18} />
                        </ActionIcon>
                        {isPriced(r) && (
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={t('removeModel', { name: r.name })}
                            onClick={() => onRemove?.(r)}
                          >
                            <IconTrash size={18} />
                          </ActionIcon>
                        )}
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pages > 1 && (
        <Group justify="center">
          <Pagination total={pages} value={cur} onChange={setPage} size="sm" />
        </Group>
      )}
    </Stack>
  );
}
