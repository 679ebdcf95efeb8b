// The Channels page (reference: console channels): search and filters,
// paging, tag mode, batch delete, test one or all, enable/disable, delete the
// disabled ones; create, edit and copy in ChannelForm.
import { useState } from 'react';
import { Button, Center, Group, Loader, Pagination, Select, Switch, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconFlask, IconPlus, IconRefresh, IconSearch, IconTrash } from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { EmptyState, ErrorAlert, errorMessage, PageHeader } from '../../components/common';
import { BatchBar } from './BatchBar';
import { ChannelForm } from './ChannelForm';
import { ChannelTable } from './ChannelTable';
import { testChannel, type TestResult } from './ops';
import { TagEditModal } from './TagEditModal';
import { TestModelModal } from './TestModelModal';
import { CHANNEL_TYPES, STATUS_DISABLED, STATUS_ENABLED, type Channel, type ChannelPage } from './types';

type Editor = { mode: 'create' } | { mode: 'edit'; channel: Channel } | { mode: 'copy'; channel: Channel } | null;

export default function Channels() {
  const { t } = useTranslation(['channels', 'common']);
  const qc = useQueryClient();
  const [keyword, setKeyword] = useState('');
  const [model, setModel] = useState('');
  const [group, setGroup] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [type, setType] = useState<string | null>(null);
  const [tagMode, setTagMode] = useState(false);
  const [idSort, setIdSort] = useState(false);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState('20');
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [editor, setEditor] = useState<Editor>(null);
  const [testing, setTesting] = useState<Set<number>>(new Set());
  const [results, setResults] = useState<Record<number, TestResult>>({});
  const [testModelOf, setTestModelOf] = useState<Channel | null>(null);
  const [tagEdit, setTagEdit] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [kw] = useDebouncedValue(keyword.trim(), 300);
  const [md] = useDebouncedValue(model.trim(), 300);

  const search = !!(kw || md);
  const query = {
    p: page,
    page_size: pageSize,
    keyword: search ? kw : undefined,
    model: search ? md : undefined,
    group: group ?? undefined,
    status: status ?? undefined,
    type: type ?? undefined,
    tag_mode: tagMode ? 'true' : undefined,
    id_sort: idSort ? 'true' : undefined,
  };
  const list = useQuery({
    queryKey: ['channels', query],
    queryFn: () => api.get<ChannelPage>(search ? '/api/channel/search' : '/api/channel/', query),
    placeholderData: keepPreviousData,
  });
  const groups = useQuery({ queryKey: ['groups-admin'], queryFn: () => api.get<string[]>('/api/group/'), staleTime: 60_000 });

  const refresh = () => qc.invalidateQueries({ queryKey: ['channels'] });
  const run = async (fn: () => Promise<unknown>, ok?: string) => {
    setActionError(null);
    try {
      await fn();
      if (ok) notifications.show({ color: 'green', message: ok });
      await refresh();
    } catch (e) {
      setActionError(e);
      throw e;
    }
  };
  const quiet = (fn: () => Promise<unknown>, ok?: string) => run(fn, ok).catch(() => undefined);

  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / Number(pageSize)));
  const counts = list.data?.type_counts ?? {};
  const typeData = CHANNEL_TYPES.filter((c) => counts[String(c.id)] || String(c.id) === type).map((c) => ({
    value: String(c.id),
    label: `${c.name} (${counts[String(c.id)] ?? 0})`,
  }));

  const select = (ids: number[], on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      ids.forEach((id) => (on ? n.add(id) : n.delete(id)));
      return n;
    });

  const test = async (c: Channel, m?: string) => {
    setTesting((s) => new Set(s).add(c.id));
    try {
      const r = await testChannel(c.id, m);
      setResults((x) => ({ ...x, [c.id]: r }));
      notifications.show({
        color: r.ok ? 'green' : 'red',
        title: c.name,
        message: r.ok ? t('test.okIn', { time: r.time.toFixed(2) }) : r.message || t('test.failed'),
      });
    } catch (e) {
      setResults((x) => ({ ...x, [c.id]: { ok: false, message: errorMessage(e), time: 0 } }));
    } finally {
      setTesting((s) => {
        const n = new Set(s);
        n.delete(c.id);
        return n;
      });
      void refresh();
    }
  };

  const confirm = (message: string, onConfirm: () => void) =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{message}</Text>,
      labels: { confirm: t('common:actions.confirm'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red' },
      onConfirm,
    });

  const actions = {
    onEdit: (c: Channel) => setEditor({ mode: 'edit', channel: c }),
    onCopy: (c: Channel) => setEditor({ mode: 'copy', channel: c }),
    onDelete: (c: Channel) =>
      confirm(t('common:confirm.delete', { name: c.name }), () =>
        quiet(() => api.del(`/api/channel/${c.id}`), t('common:notify.deleted')),
      ),
    onToggle: (c: Channel) =>
      quiet(
        () => api.put('/api/channel/', { id: c.id, status: c.status === STATUS_ENABLED ? STATUS_DISABLED : STATUS_ENABLED }),
        t('common:notify.saved'),
      ),
    onTest: (c: Channel) => void test(c),
    onTestModel: (c: Channel) => setTestModelOf(c),
    onField: (c: Channel, field: 'priority' | 'weight', n: number) => run(() => api.put('/api/channel/', { id: c.id, [field]: n })),
    onTagField: (tag: string, field: 'priority' | 'weight', n: number) => run(() => api.put('/api/channel/tag', { tag, [field]: n })),
    onTagStatus: (tag: string, enable: boolean) =>
      quiet(() => api.post(`/api/channel/tag/${enable ? 'enabled' : 'disabled'}`, { tag }), t('common:notify.saved')),
    onTagEdit: (tag: string) => setTagEdit(tag),
  };

  const batchDelete = () => {
    const ids = Array.from(selected);
    confirm(t('common:confirm.deleteMany', { count: ids.length }), () =>
      quiet(async () => {
        const n = await api.post<number>('/api/channel/batch', { ids });
        setSelected(new Set());
        notifications.show({ color: 'green', message: t('actions.deletedCount', { count: Number(n) || 0 }) });
      }),
    );
  };
  const deleteDisabled = () =>
    confirm(t('actions.deleteDisabledConfirm'), () =>
      quiet(async () => {
        const n = await api.del<number>('/api/channel/disabled');
        notifications.show({ color: 'green', message: t('actions.deletedCount', { count: Number(n) || 0 }) });
      }),
    );
  const testAll = () =>
    confirm(t('actions.testAllConfirm'), () =>
      quiet(async () => {
        const d = await api.get<{ started?: number }>('/api/channel/test');
        notifications.show({ color: 'blue', message: t('actions.testAllStarted', { count: d?.started ?? 0 }) });
      }),
    );

  const resetPage = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };

  return (
    <>
      <PageHeader
        title={t('title')}
        actions={
          <>
            <Button leftSection={<IconPlus size={16} />} onClick={() => setEditor({ mode: 'create' })} data-testid="channels-create">
              {t('actions.create')}
            </Button>
            <Button variant="light" leftSection={<IconFlask size={16} />} onClick={testAll}>
              {t('actions.testAll')}
            </Button>
            <Button variant="light" color="red" leftSection={<IconTrash size={16} />} onClick={deleteDisabled}>
              {t('actions.deleteDisabled')}
            </Button>
            <Button variant="default" leftSection={<IconRefresh size={16} />} onClick={() => void refresh()}>
              {t('common:actions.refresh')}
            </Button>
          </>
        }
      >
        <Group gap="xs" wrap="wrap" align="flex-end">
          <TextInput
            label={t('filters.keyword')}
            placeholder={t('filters.keywordPlaceholder')}
            leftSection={<IconSearch size={14} />}
            value={keyword}
            onChange={(e) => resetPage(setKeyword)(e.currentTarget.value)}
            w={{ base: '100%', xs: 220 }}
          />
          <TextInput
            label={t('filters.model')}
            value={model}
            onChange={(e) => resetPage(setModel)(e.currentTarget.value)}
            w={{ base: '100%', xs: 180 }}
          />
          <Select
            label={t('filters.group')}
            placeholder={t('filters.all')}
            data={groups.data ?? []}
            value={group}
            onChange={resetPage(setGroup)}
            clearable
            w={{ base: '100%', xs: 150 }}
          />
          <Select
            label={t('filters.status')}
            placeholder={t('filters.all')}
            data={[
              { value: 'enabled', label: t('common:status.enabled') },
              { value: 'disabled', label: t('filters.disabledAny') },
            ]}
            value={status}
            onChange={resetPage(setStatus)}
            clearable
            w={{ base: '100%', xs: 170 }}
          />
          <Select
            label={t('filters.type')}
            placeholder={t('filters.all')}
            data={typeData}
            value={type}
            onChange={resetPage(setType)}
            clearable
            searchable
            w={{ base: '100%', xs: 190 }}
          />
          <Group gap="md" pb={6}>
            <Switch label={t('filters.tagMode')} checked={tagMode} onChange={(e) => resetPage(setTagMode)(e.currentTarget.checked)} />
            <Switch label={t('filters.idSort')} checked={idSort} onChange={(e) => setIdSort(e.currentTarget.checked)} />
          </Group>
        </Group>
      </PageHeader>

      <ErrorAlert error={list.error ?? actionError} />
      {selected.size > 0 && (
        <BatchBar ids={Array.from(selected)} run={run} onDelete={batchDelete} onClear={() => setSelected(new Set())} />
      )}

      {list.isPending ? (
        <Center py="xl" aria-busy="true">
          <Loader />
        </Center>
      ) : items.length === 0 ? (
        <EmptyState>{search || group || status || type || tagMode ? t('common:table.noResults') : t('empty')}</EmptyState>
      ) : (
        <ChannelTable items={items} tagMode={tagMode} selected={selected} onSelect={select} testing={testing} results={results} {...actions} />
      )}

      <Group justify="space-between" mt="md" wrap="wrap" gap="xs">
        <Text size="sm" c="dimmed">
          {tagMode ? t('table.totalTags', { count: total }) : t('common:table.total', { count: total })}
        </Text>
        <Group gap="xs" wrap="wrap">
          <Select
            aria-label={t('common:table.pageSize')}
            data={['10', '20', '50', '100']}
            value={pageSize}
            onChange={(v) => resetPage(setPageSize)(v || '20')}
            allowDeselect={false}
            w={80}
            size="xs"
          />
          <Pagination total={pages} value={page} onChange={setPage} size="sm" siblings={1} boundaries={1} />
        </Group>
      </Group>

      {editor && (
        <ChannelForm
          key={editor.mode === 'create' ? 'create' : `${editor.mode}-${editor.channel.id}`}
          opened
          onClose={() => setEditor(null)}
          onSaved={() => void refresh()}
          channel={editor.mode === 'edit' ? editor.channel : null}
          copyOf={editor.mode === 'copy' ? editor.channel : null}
        />
      )}
      {tagEdit !== null && <TagEditModal tag={tagEdit} onClose={() => setTagEdit(null)} onSaved={() => void refresh()} />}
      {testModelOf && (
        <TestModelModal
          channel={testModelOf}
          onClose={() => setTestModelOf(null)}
          onTest={(m) => {
            const c = testModelOf;
            setTestModelOf(null);
            void test(c, m);
          }}
        />
      )}
    </>
  );
}
