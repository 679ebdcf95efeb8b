// Redemption codes (admin): list, search and status filter, bulk create with
// the new keys offered as a .txt download, edit, enable/disable, delete, delete
// every invalid code, copy a code.
import { useState } from 'react';
import {
  ActionIcon,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Menu,
  Modal,
  NumberInput,
  Pagination,
  ScrollArea,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconCopy, IconDots, IconDownload, IconPlus, IconSearch, IconTrash } from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { CopyIcon } from '../../components/CopyIcon';
import { api, request, type Page } from '../../api/client';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { displayFromQuota, formatDateTime, formatQuota } from '../../lib/format';
import {
  COUNT_MAX,
  keysFile,
  redemptionBody,
  unixToExpiry,
  validateRedemption,
  type RedemptionFormValues,
} from './redemptionForm';

interface Redemption {
  id: number;
  user_id: number;
  key: string;
  status: number;
  name: string;
  quota: number;
  created_time: number;
  redeemed_time: number;
  used_user_id: number;
  expired_time: number;
}

const PAGE_SIZE = 20;

type Shown = 'unused' | 'disabled' | 'used' | 'expired';

function shownStatus(r: Redemption): Shown {
  if (r.status === 3) return 'used';
  if (r.status === 2) return 'disabled';
  if (r.expired_time && r.expired_time * 1000 < Date.now()) return 'expired';
  return 'unused';
}

const STATUS_COLOR: Record<Shown, string> = { unused: 'green', disabled: 'red', used: 'gray', expired: 'orange' };

/** Starts a download of `text` as a file (Blob + a temporary link). */
export function downloadText(filename: string, text: string): void {
  const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function CopyCode({ value }: { value: string }) {
  const { t } = useTranslation(['redemptions', 'common']);
  return (
    <CopyIcon value={value} label={t('redemptions:copyCode')} />
  );
}

export default function Redemptions() {
  const { t } = useTranslation(['redemptions', 'common']);
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const [input, setInput] = useState('');
  const [keyword, setKeyword] = useState('');
  const [status, setStatus] = useState<string>('');
  const [editing, setEditing] = useState<Redemption | 'new' | null>(null);
  const [created, setCreated] = useState<{ name: string; keys: string[] } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const list = useQuery({
    queryKey: ['redemptions', keyword, status, page],
    queryFn: () =>
      keyword || status
        ? api.get<Page<Redemption>>('/api/redemption/search', { keyword, status, p: page, page_size: PAGE_SIZE })
        : api.get<Page<Redemption>>('/api/redemption/', { p: page, page_size: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['redemptions'] });

  const act = async (fn: () => Promise<unknown>, message: string) => {
    setActionError(null);
    try {
      await fn();
      notifications.show({ color: 'green', message });
      await refresh();
    } catch (e) {
      setActionError(e);
    }
  };

  const setStatusOf = (r: Redemption, s: number) =>
    act(() => request('/api/redemption/', { method: 'PUT', body: { id: r.id, status: s }, query: { status_only: true } }), t('common:notify.saved'));

  const confirmDelete = (r: Redemption) =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{t('common:confirm.delete', { name: r.name })}</Text>,
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red' },
      onConfirm: () => act(() => api.del(`/api/redemption/${r.id}`), t('common:notify.deleted')),
    });

  const confirmDeleteInvalid = () =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{t('redemptions:deleteInvalidConfirm')}</Text>,
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red' },
      onConfirm: async () => {
        setActionError(null);
        try {
          const n = await api.del<number>('/api/redemption/invalid');
          notifications.show({ color: 'green', message: t('redemptions:deletedInvalid', { count: n ?? 0 }) });
          await refresh();
        } catch (e) {
          setActionError(e);
        }
      },
    });

  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <PageHeader
        title={t('redemptions:title')}
        actions={
          <>
            <Button variant="default" color="red" leftSection={<IconTrash size={16} />} onClick={confirmDeleteInvalid}>
              {t('redemptions:deleteInvalid')}
            </Button>
            <Button leftSection={<IconPlus size={16} />} onClick={() => setEditing('new')} data-testid="redemptions-create">
              {t('redemptions:create')}
            </Button>
          </>
        }
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setPage(1);
            setKeyword(input.trim());
          }}
        >
          <Group gap="xs" wrap="wrap">
            <TextInput
              style={{ flex: '1 1 200px', maxWidth: 360 }}
              aria-label={t('redemptions:search')}
              placeholder={t('redemptions:searchPlaceholder')}
              value={input}
              onChange={(e) => setInput(e.currentTarget.value)}
            />
            <Select
              w={160}
              aria-label={t('redemptions:filterStatus')}
              value={status}
              onChange={(v) => {
                setPage(1);
                setStatus(v ?? '');
              }}
              allowDeselect={false}
              data={[
                { value: '', label: t('redemptions:statusAll') },
                { value: '1', label: t('redemptions:status.unused') },
                { value: '2', label: t('redemptions:status.disabled') },
                { value: '3', label: t('redemptions:status.used') },
                { value: 'expired', label: t('redemptions:status.expired') },
              ]}
            />
            <Button type="submit" variant="default" leftSection={<IconSearch size={16} />}>
              {t('common:actions.search')}
            </Button>
          </Group>
        </form>
      </PageHeader>

      <ErrorAlert error={list.error} />
      <ErrorAlert error={actionError} />

      <Table.ScrollContainer minWidth={960}>
        <Table striped highlightOnHover verticalSpacing="xs" data-testid="redemptions-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('redemptions:col.id')}</Table.Th>
              <Table.Th>{t('redemptions:col.name')}</Table.Th>
              <Table.Th>{t('redemptions:col.code')}</Table.Th>
              <Table.Th>{t('redemptions:col.status')}</Table.Th>
              <Table.Th>{t('redemptions:col.quota')}</Table.Th>
              <Table.Th>{t('redemptions:col.created')}</Table.Th>
              <Table.Th>{t('redemptions:col.expires')}</Table.Th>
              <Table.Th>{t('redemptions:col.redeemed')}</Table.Th>
              <Table.Th>{t('common:table.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((r) => {
              const s = shownStatus(r);
              return (
                <Table.Tr key={r.id}>
                  <Table.Td>{r.id}</Table.Td>
                  <Table.Td>{r.name}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Group gap={4} wrap="nowrap">
                      <Code style={{ whiteSpace: 'nowrap' }}>{r.key ? `${r.key.slice(0, 6)}…${r.key.slice(-4)}` : '—'}</Code>
                      {r.key && <CopyCode value={r.key} />}
                    </Group>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Badge color={STATUS_COLOR[s]} variant="light" miw="max-content">
                      {t(`redemptions:status.${s}`)}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{formatQuota(r.quota)}</Table.Td>
                  <Table.Td>{formatDateTime(r.created_time)}</Table.Td>
                  <Table.Td>{r.expired_time ? formatDateTime(r.expired_time) : t('common:status.never')}</Table.Td>
                  <Table.Td>
                    {r.status === 3 ? (
                      <>
                        <Text size="sm">{formatDateTime(r.redeemed_time)}</Text>
                        <Text size="xs" c="dimmed">
                          {t('redemptions:byUser', { id: r.used_user_id })}
                        </Text>
                      </>
                    ) : (
                      '—'
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Menu position="bottom-end" withinPortal>
                      <Menu.Target>
                        <ActionIcon variant="subtle" aria-label={t('redemptions:moreFor', { name: r.name })}>
                          <IconDots size={16} />
                        </ActionIcon>
                      </Menu.Target>
                      <Menu.Dropdown>
                        {r.status !== 3 && <Menu.Item onClick={() => setEditing(r)}>{t('common:actions.edit')}</Menu.Item>}
                        {r.status === 1 && <Menu.Item onClick={() => setStatusOf(r, 2)}>{t('common:actions.disable')}</Menu.Item>}
                        {r.status === 2 && <Menu.Item onClick={() => setStatusOf(r, 1)}>{t('common:actions.enable')}</Menu.Item>}
                        <Menu.Item color="red" onClick={() => confirmDelete(r)}>
                          {t('common:actions.delete')}
                        </Menu.Item>
                      </Menu.Dropdown>
                    </Menu>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.isPending && <Text c="dimmed" size="sm" ta="center" py="md">{t('common:loading')}</Text>}
      {list.isSuccess && items.length === 0 && (
        <EmptyState>{keyword || status ? t('common:table.noResults') : undefined}</EmptyState>
      )}
      <Group justify="space-between" mt="md" wrap="wrap">
        <Text size="sm" c="dimmed">
          {t('common:table.total', { count: total })}
        </Text>
        {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} size="sm" />}
      </Group>

      <Modal
        opened={editing !== null}
        onClose={() => setEditing(null)}
        title={editing === 'new' ? t('redemptions:createTitle') : t('redemptions:editTitle')}
      >
        {editing !== null && (
          <RedemptionForm
            key={editing === 'new' ? 'new' : editing.id}
            target={editing}
            onCancel={() => setEditing(null)}
            onSaved={(keys, name) => {
              setEditing(null);
              if (keys) setCreated({ name, keys });
              refresh();
            }}
          />
        )}
      </Modal>

      <Modal opened={created !== null} onClose={() => setCreated(null)} title={t('redemptions:createdTitle')}>
        {created && <CreatedKeys name={created.name} keys={created.keys} onClose={() => setCreated(null)} />}
      </Modal>
    </>
  );
}

function CreatedKeys({ name, keys, onClose }: { name: string; keys: string[]; onClose: () => void }) {
  const { t } = useTranslation(['redemptions', 'common']);
  const text = keysFile(keys);
  const filename = `redemptions-${name.replace(/[^\p{L}\p{N}_-]+/gu, '_')}-${keys.length}.txt`;
  return (
    <Stack gap="sm">
      <Text size="sm">{t('redemptions:createdHelp', { count: keys.length })}</Text>
      <ScrollArea.Autosize mah={240} type="auto">
        <Code block data-testid="redemptions-created-keys">
          {keys.join('\n')}
        </Code>
      </ScrollArea.Autosize>
      <Group justify="flex-end" wrap="wrap">
        <CopyButton value={text}>
          {({ copied, copy }) => (
            <Button variant="default" onClick={copy} leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}>
              {copied ? t('common:actions.copied') : t('redemptions:copyAll')}
            </Button>
          )}
        </CopyButton>
        <Button
          leftSection={<IconDownload size={16} />}
          onClick={() => downloadText(filename, text)}
          data-testid="redemptions-download"
        >
          {t('redemptions:downloadTxt')}
        </Button>
        <Button variant="subtle" onClick={onClose}>
          {t('common:actions.close')}
        </Button>
      </Group>
    </Stack>
  );
}

function RedemptionForm({
  target,
  onCancel,
  onSaved,
}: {
  target: Redemption | 'new';
  onCancel: () => void;
  onSaved: (keys: string[] | null, name: string) => void;
}) {
  const { t } = useTranslation(['redemptions', 'common']);
  const creating = target === 'new';
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<RedemptionFormValues>({
    mode: 'controlled',
    initialValues: creating
      ? { name: '', amount: 10, count: 1, expires: '' }
      : {
          name: target.name,
          amount: Math.round(displayFromQuota(target.quota) * 1e6) / 1e6,
          count: 1,
          expires: unixToExpiry(target.expired_time),
        },
    validate: (v) => validateRedemption(t, v, creating),
  });

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const body = redemptionBody(v, creating);
      if (creating) {
        const keys = await api.post<string[]>('/api/redemption/', body);
        notifications.show({ color: 'green', message: t('common:notify.created') });
        onSaved(Array.isArray(keys) ? keys : [], String(body.name));
      } else {
        await api.put('/api/redemption/', { id: target.id, ...body });
        notifications.show({ color: 'green', message: t('common:notify.saved') });
        onSaved(null, String(body.name));
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="sm">
        <ErrorAlert error={error} />
        <TextInput label={t('redemptions:field.name')} required {...form.getInputProps('name')} />
        <NumberInput
          label={t('redemptions:field.amount')}
          description={t('redemptions:amountHelp')}
          required
          min={0}
          decimalScale={6}
          {...form.getInputProps('amount')}
        />
        {creating && (
          <NumberInput
            label={t('redemptions:field.count')}
            description={t('redemptions:countHelp', { max: COUNT_MAX })}
            required
            min={1}
            max={COUNT_MAX}
            allowDecimal={false}
            clampBehavior="none"
            {...form.getInputProps('count')}
          />
        )}
        <TextInput
          type="datetime-local"
          label={t('redemptions:field.expires')}
          description={t('redemptions:expiresHelp')}
          {...form.getInputProps('expires')}
        />
        <Group justify="flex-end" mt="xs">
          <Button variant="default" onClick={onCancel}>
            {t('common:actions.cancel')}
          </Button>
          <Button type="submit" loading={busy} data-testid="redemption-form-submit">
            {creating ? t('common:actions.create') : t('common:actions.save')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
