// API keys (reference: the keys feature): the caller's tokens, paged and
// searchable; create/edit in a modal, enable/disable, delete one or many,
// reveal and copy a full key, and a "use it" panel with code samples.
import { useState } from 'react';
import {
  ActionIcon,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Loader,
  Pagination,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import {
  IconCode,
  IconCopy,
  IconEdit,
  IconEye,
  IconEyeOff,
  IconPlayerPause,
  IconPlayerPlay,
  IconPlus,
  IconRefresh,
  IconSearch,
  IconTrash,
} from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, type Page } from '../../api/client';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { formatDateTime, formatQuota } from '../../lib/format';
import { KeyFormModal, useUserModels } from './KeyForm';
import { TOKEN_DISABLED, TOKEN_ENABLED, TOKEN_EXHAUSTED, TOKEN_EXPIRED, type Token } from './keyForm';
import { UsePanel } from './UsePanel';

const PAGE_SIZES = ['10', '20', '50', '100'];

/** Copies text; falls back to a hidden textarea where the Clipboard API is
 * missing (plain-http sites that are not localhost). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through */
  }
  try {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = typeof document.execCommand === 'function' && document.execCommand('copy');
    ta.remove();
    return !!ok;
  } catch {
    return false;
  }
}

export function StatusBadge({ status }: { status: number }) {
  const { t } = useTranslation();
  const map: Record<number, [string, string]> = {
    [TOKEN_ENABLED]: ['green', 'status.enabled'],
    [TOKEN_DISABLED]: ['gray', 'status.disabled'],
    [TOKEN_EXPIRED]: ['orange', 'status.expired'],
    [TOKEN_EXHAUSTED]: ['red', 'status.exhausted'],
  };
  const [color, key] = map[status] ?? ['gray', 'status.unknown'];
  return (
    <Badge color={color} variant="light" style={{ minWidth: 'max-content' }}>
      {t(key)}
    </Badge>
  );
}

function ModelLimits({ token }: { token: Token }) {
  const { t } = useTranslation(['keys']);
  if (!token.model_limits_enabled) return <Text size="sm" c="dimmed">{t('keys:allModels')}</Text>;
  const list = token.model_limits.split(',').filter(Boolean);
  if (!list.length) return <Text size="sm" c="dimmed">{t('keys:noModelsAllowed')}</Text>;
  const shown = list.slice(0, 2);
  return (
    <Tooltip label={list.join(', ')} multiline maw={360} withArrow>
      <Group gap={4} wrap="wrap">
        {shown.map((m) => (
          <Badge key={m} variant="outline" size="sm" tt="none">
            {m}
          </Badge>
        ))}
        {list.length > shown.length && (
          <Badge variant="light" size="sm">
            +{list.length - shown.length}
          </Badge>
        )}
      </Group>
    </Tooltip>
  );
}

export default function Keys() {
  const { t } = useTranslation(['keys', 'common']);
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState('20');
  const [search, setSearch] = useState('');
  const [keyword, setKeyword] = useState('');
  const [selected, setSelected] = useState<number[]>([]);
  const [editing, setEditing] = useState<Token | null | undefined>(undefined); // undefined: closed, null: create
  const [using, setUsing] = useState<Token | null>(null);
  const [useKeyError, setUseKeyError] = useState<unknown>(null);
  const [revealed, setRevealed] = useState<Record<number, string>>({});
  const [shown, setShown] = useState<Record<number, boolean>>({});
  const [busyId, setBusyId] = useState<number | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const models = useUserModels();

  const list = useQuery({
    queryKey: ['tokens', page, pageSize, keyword],
    queryFn: () =>
      keyword
        ? api.get<Page<Token>>('/api/token/search', { keyword, p: page, page_size: pageSize })
        : api.get<Page<Token>>('/api/token/', { p: page, page_size: pageSize }),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / Number(pageSize)));

  const reload = () => qc.invalidateQueries({ queryKey: ['tokens'] });

  /** The full key ("sk-" + key), fetched once per token. */
  const fullKey = async (id: number): Promise<string> => {
    if (revealed[id]) return revealed[id];
    const d = await api.post<{ key: string }>(`/api/token/${id}/key`);
    const k = `sk-${d.key}`;
    setRevealed((r) => ({ ...r, [id]: k }));
    return k;
  };

  const run = async (id: number | null, fn: () => Promise<void>) => {
    setBusyId(id);
    setActionError(null);
    try {
      await fn();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusyId(null);
    }
  };

  const toggleReveal = (tk: Token) =>
    run(tk.id, async () => {
      if (shown[tk.id]) {
        setShown((s) => ({ ...s, [tk.id]: false }));
        return;
      }
      await fullKey(tk.id);
      setShown((s) => ({ ...s, [tk.id]: true }));
    });

  const copyKey = (tk: Token) =>
    run(tk.id, async () => {
      const k = await fullKey(tk.id);
      if (await copyText(k)) notifications.show({ message: t('common:notify.copied'), color: 'teal' });
      else {
        setShown((s) => ({ ...s, [tk.id]: true })); // no clipboard here: show it to copy by hand
        notifications.show({ message: t('keys:copyFailed'), color: 'orange' });
      }
    });

  const openUse = (tk: Token) => {
    setUsing(tk);
    setUseKeyError(null);
    fullKey(tk.id).catch(setUseKeyError);
  };

  const setStatus = (tk: Token, status: number) =>
    run(tk.id, async () => {
      await api.put('/api/token/?status_only=true', { id: tk.id, status });
      await reload();
    });

  const confirmDelete = (tk: Token) =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{t('common:confirm.delete', { name: tk.name })}</Text>,
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red', 'data-testid': 'confirm-delete' } as never,
      onConfirm: () =>
        run(tk.id, async () => {
          await api.del(`/api/token/${tk.id}`);
          setSelected((s) => s.filter((x) => x !== tk.id));
          notifications.show({ message: t('common:notify.deleted') });
          await reload();
        }),
    });

  const confirmBatchDelete = () => {
    const ids = [...selected];
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{t('common:confirm.deleteMany', { count: ids.length })}</Text>,
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red', 'data-testid': 'confirm-delete' } as never,
      onConfirm: () =>
        run(null, async () => {
          const n = await api.post<number>('/api/token/batch', { ids });
          setSelected([]);
          notifications.show({ message: t('keys:batchDeleted', { count: typeof n === 'number' ? n : ids.length }) });
          await reload();
        }),
    });
  };

  const allOnPage = items.length > 0 && items.every((tk) => selected.includes(tk.id));
  const someOnPage = items.some((tk) => selected.includes(tk.id));
  const toggleAll = () =>
    setSelected((s) =>
      allOnPage ? s.filter((id) => !items.some((tk) => tk.id === id)) : [...new Set([...s, ...items.map((tk) => tk.id)])],
    );
  const toggleOne = (id: number) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  const submitSearch = () => {
    setPage(1);
    setKeyword(search.trim());
  };

  const rows = items.map((tk) => {
    const busy = busyId === tk.id;
    return (
      <Table.Tr key={tk.id} data-testid={`key-row-${tk.id}`}>
        <Table.Td>
          <Checkbox
            aria-label={t('keys:selectKey', { name: tk.name })}
            checked={selected.includes(tk.id)}
            onChange={() => toggleOne(tk.id)}
          />
        </Table.Td>
        <Table.Td>
          <Text fw={500} size="sm" style={{ overflowWrap: 'anywhere' }}>
            {tk.name}
          </Text>
          <Group gap={4} wrap="nowrap">
            <Code data-testid={`key-value-${tk.id}`} style={{ whiteSpace: 'nowrap' }}>
              {shown[tk.id] && revealed[tk.id] ? revealed[tk.id] : `sk-${tk.key}`}
            </Code>
            <Tooltip label={shown[tk.id] ? t('keys:hideKey') : t('keys:revealKey')}>
              <ActionIcon
                variant="subtle"
                size="sm"
                aria-label={shown[tk.id] ? t('keys:hideKey') : t('keys:revealKey')}
                data-testid={`key-reveal-${tk.id}`}
                onClick={() => toggleReveal(tk)}
                loading={busy}
              >
                {shown[tk.id] ? <IconEyeOff size={14} /> : <IconEye size={14} />}
              </ActionIcon>
            </Tooltip>
            <Tooltip label={t('keys:copyKey')}>
              <ActionIcon
                variant="subtle"
                size="sm"
                aria-label={t('keys:copyKey')}
                data-testid={`key-copy-${tk.id}`}
                onClick={() => copyKey(tk)}
              >
                <IconCopy size={14} />
              </ActionIcon>
            </Tooltip>
          </Group>
        </Table.Td>
        <Table.Td style={{ whiteSpace: 'nowrap' }}>
          <StatusBadge status={tk.status} />
        </Table.Td>
        <Table.Td>
          <Text size="sm">{t('keys:usedQuota', { amount: formatQuota(tk.used_quota) })}</Text>
          <Text size="sm" c="dimmed">
            {tk.unlimited_quota
              ? t('keys:remainUnlimited')
              : t('keys:remainQuota', { amount: formatQuota(tk.remain_quota) })}
          </Text>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{tk.group || t('keys:userGroup')}</Text>
        </Table.Td>
        <Table.Td>
          <ModelLimits token={tk} />
        </Table.Td>
        <Table.Td>
          <Text size="sm">{formatDateTime(tk.created_time)}</Text>
          <Text size="sm" c="dimmed">
            {tk.expired_time === -1
              ? t('keys:expiresNever')
              : t('keys:expiresAt', { date: formatDateTime(tk.expired_time) })}
          </Text>
        </Table.Td>
        <Table.Td>
          <Group gap={4} wrap="nowrap">
            <Tooltip label={t('keys:useKey')}>
              <ActionIcon variant="subtle" aria-label={t('keys:useKey')} data-testid={`key-use-${tk.id}`} onClick={() => openUse(tk)}>
                <IconCode size={16} />
              </ActionIcon>
            </Tooltip>
            {tk.status === TOKEN_ENABLED ? (
              <Tooltip label={t('common:actions.disable')}>
                <ActionIcon
                  variant="subtle"
                  color="orange"
                  aria-label={t('common:actions.disable')}
                  data-testid={`key-disable-${tk.id}`}
                  onClick={() => setStatus(tk, TOKEN_DISABLED)}
                >
                  <IconPlayerPause size={16} />
                </ActionIcon>
              </Tooltip>
            ) : (
              <Tooltip label={t('common:actions.enable')}>
                <ActionIcon
                  variant="subtle"
                  color="green"
                  aria-label={t('common:actions.enable')}
                  data-testid={`key-enable-${tk.id}`}
                  onClick={() => setStatus(tk, TOKEN_ENABLED)}
                >
                  <IconPlayerPlay size={16} />
                </ActionIcon>
              </Tooltip>
            )}
            <Tooltip label={t('common:actions.edit')}>
              <ActionIcon variant="subtle" aria-label={t('common:actions.edit')} data-testid={`key-edit-${tk.id}`} onClick={() => setEditing(tk)}>
                <IconEdit size={16} />
              </ActionIcon>
            </Tooltip>
            <Tooltip label={t('common:actions.delete')}>
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={t('common:actions.delete')}
                data-testid={`key-delete-${tk.id}`}
                onClick={() => confirmDelete(tk)}
              >
                <IconTrash size={16} />
              </ActionIcon>
            </Tooltip>
          </Group>
        </Table.Td>
      </Table.Tr>
    );
  });

  return (
    <>
      <PageHeader
        title={t('keys:title')}
        actions={
          <>
            <Button leftSection={<IconPlus size={16} />} onClick={() => setEditing(null)} data-testid="keys-create">
              {t('keys:create')}
            </Button>
            <Tooltip label={t('common:actions.refresh')}>
              <ActionIcon variant="default" size="lg" aria-label={t('common:actions.refresh')} onClick={() => list.refetch()}>
                <IconRefresh size={18} />
              </ActionIcon>
            </Tooltip>
          </>
        }
      >
        <Text c="dimmed" size="sm">
          {t('keys:intro')}
        </Text>
      </PageHeader>

      <Group gap="xs" mb="sm" wrap="wrap" align="flex-end">
        <TextInput
          label={t('keys:searchLabel')}
          placeholder={t('keys:searchPlaceholder')}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') submitSearch();
          }}
          leftSection={<IconSearch size={16} />}
          style={{ flex: '1 1 220px', maxWidth: 360 }}
        />
        <Button variant="default" onClick={submitSearch}>
          {t('common:actions.search')}
        </Button>
        {selected.length > 0 && (
          <Button color="red" variant="light" leftSection={<IconTrash size={16} />} onClick={confirmBatchDelete} data-testid="keys-batch-delete">
            {t('keys:deleteSelected', { count: selected.length })}
          </Button>
        )}
      </Group>

      <ErrorAlert error={actionError ?? list.error} />

      {list.isPending ? (
        <Group justify="center" py="xl">
          <Loader aria-label={t('common:loading')} />
        </Group>
      ) : items.length === 0 && !list.error ? (
        <EmptyState>{keyword ? t('common:table.noResults') : t('keys:empty')}</EmptyState>
      ) : (
        <Stack gap="sm">
          <Table.ScrollContainer minWidth={1000}>
            <Table verticalSpacing="xs" striped highlightOnHover data-testid="keys-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={40}>
                    <Checkbox
                      aria-label={t('keys:selectAll')}
                      checked={allOnPage}
                      indeterminate={someOnPage && !allOnPage}
                      onChange={toggleAll}
                    />
                  </Table.Th>
                  <Table.Th>{t('keys:col.name')}</Table.Th>
                  <Table.Th>{t('keys:col.status')}</Table.Th>
                  <Table.Th>{t('keys:col.quota')}</Table.Th>
                  <Table.Th>{t('keys:col.group')}</Table.Th>
                  <Table.Th>{t('keys:col.models')}</Table.Th>
                  <Table.Th>{t('keys:col.dates')}</Table.Th>
                  <Table.Th>{t('common:table.actions')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>{rows}</Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group justify="space-between" wrap="wrap" gap="xs">
            <Text size="sm" c="dimmed">
              {t('common:table.total', { count: total })}
              {selected.length > 0 && ` · ${t('common:table.selected', { count: selected.length })}`}
            </Text>
            <Group gap="xs" wrap="wrap">
              <Select
                aria-label={t('common:table.pageSize')}
                data={PAGE_SIZES}
                value={pageSize}
                onChange={(v) => {
                  setPageSize(v ?? '20');
                  setPage(1);
                }}
                allowDeselect={false}
                w={90}
              />
              <Pagination total={pages} value={page} onChange={setPage} size="sm" siblings={0} />
            </Group>
          </Group>
        </Stack>
      )}

      <KeyFormModal
        opened={editing !== undefined}
        token={editing ?? null}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          notifications.show({ message: editing ? t('common:notify.saved') : t('common:notify.created'), color: 'teal' });
          setEditing(undefined);
          reload();
        }}
      />
      <UsePanel
        token={using}
        fullKey={using ? (revealed[using.id] ?? null) : null}
        keyError={useKeyError}
        models={models.data ?? []}
        onClose={() => setUsing(null)}
      />
    </>
  );
}
