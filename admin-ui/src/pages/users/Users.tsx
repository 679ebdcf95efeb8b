// Users (admin): list and search, create, edit (display name, password reset,
// group, quota in the display currency), enable/disable, promote/demote (root
// only), delete, and a link to the user's logs. The server refuses acting on a
// user of the same or a higher role; those actions are hidden here and any
// refusal is shown in place.
import { useState } from 'react';
import {
  ActionIcon,
  Badge,
  Button,
  Group,
  Menu,
  Modal,
  NumberInput,
  Pagination,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconDots, IconPlus, IconSearch } from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, type Page } from '../../api/client';
import { useAuth, type User } from '../../auth/AuthProvider';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { displayFromQuota, formatDateTime, formatNumber, formatQuota } from '../../lib/format';
import {
  canManage,
  createBody,
  ROLE_ADMIN,
  ROLE_ROOT,
  ROLE_USER,
  updateBody,
  validateUser,
  type UserFormValues,
} from './userForm';

interface AdminUser extends User {
  remark?: string;
  DeletedAt?: string | null;
  created_at?: number;
  last_login_at?: number;
}

const PAGE_SIZE = 20;

export function roleKey(role: number): string {
  return role >= ROLE_ROOT ? 'roles.root' : role >= ROLE_ADMIN ? 'roles.admin' : 'roles.user';
}

function StatusBadge({ u }: { u: AdminUser }) {
  const { t } = useTranslation(['users', 'common']);
  if (u.DeletedAt) return <Badge color="gray" miw="max-content">{t('users:status.deleted')}</Badge>;
  return u.status === 1 ? (
    <Badge color="green" miw="max-content">{t('common:status.enabled')}</Badge>
  ) : (
    <Badge color="red" miw="max-content">{t('common:status.disabled')}</Badge>
  );
}

export default function Users() {
  const { t } = useTranslation(['users', 'common']);
  const qc = useQueryClient();
  const { user: me } = useAuth();
  const [page, setPage] = useState(1);
  const [input, setInput] = useState('');
  const [keyword, setKeyword] = useState('');
  const [editing, setEditing] = useState<AdminUser | 'new' | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const list = useQuery({
    queryKey: ['users', keyword, page],
    queryFn: () =>
      keyword
        ? api.get<Page<AdminUser>>('/api/user/search', { keyword, p: page, page_size: PAGE_SIZE })
        : api.get<Page<AdminUser>>('/api/user/', { p: page, page_size: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });

  const refresh = () => qc.invalidateQueries({ queryKey: ['users'] });
  const myRole = me?.role ?? ROLE_USER;
  const isRoot = myRole >= ROLE_ROOT;

  const manage = async (u: AdminUser, action: string) => {
    setActionError(null);
    try {
      await api.post('/api/user/manage', { id: u.id, action });
      notifications.show({ color: 'green', message: t(`users:done.${action}`, { name: u.username }) });
      await refresh();
    } catch (e) {
      setActionError(e);
    }
  };

  const confirmDelete = (u: AdminUser) =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: <Text size="sm">{t('common:confirm.delete', { name: u.username })}</Text>,
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red', 'data-testid': 'users-delete-confirm' } as never,
      onConfirm: () => manage(u, 'delete'),
    });

  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <PageHeader
        title={t('users:title')}
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={() => setEditing('new')} data-testid="users-create">
            {t('users:create')}
          </Button>
        }
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setPage(1);
            setKeyword(input.trim());
          }}
        >
          <Group gap="xs" wrap="nowrap">
            <TextInput
              style={{ flex: 1, maxWidth: 420 }}
              aria-label={t('users:search')}
              placeholder={t('users:searchPlaceholder')}
              value={input}
              onChange={(e) => setInput(e.currentTarget.value)}
              data-testid="users-search"
            />
            <Button type="submit" variant="default" leftSection={<IconSearch size={16} />}>
              {t('common:actions.search')}
            </Button>
          </Group>
        </form>
      </PageHeader>

      <ErrorAlert error={list.error} />
      <ErrorAlert error={actionError} />

      <Table.ScrollContainer minWidth={820}>
        <Table striped highlightOnHover verticalSpacing="xs" data-testid="users-table" aria-busy={list.isFetching}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('users:col.id')}</Table.Th>
              <Table.Th>{t('users:col.user')}</Table.Th>
              <Table.Th>{t('users:col.role')}</Table.Th>
              <Table.Th>{t('users:col.status')}</Table.Th>
              <Table.Th>{t('users:col.group')}</Table.Th>
              <Table.Th>{t('users:col.quota')}</Table.Th>
              <Table.Th>{t('users:col.requests')}</Table.Th>
              <Table.Th>{t('common:table.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((u) => {
              const manageable = canManage(myRole, u.role) && !u.DeletedAt;
              return (
                <Table.Tr key={u.id} data-testid={`user-row-${u.username}`}>
                  <Table.Td>{u.id}</Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {u.username}
                    </Text>
                    {u.display_name && u.display_name !== u.username && (
                      <Text size="xs" c="dimmed">
                        {u.display_name}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Badge variant="light" miw="max-content" color={u.role >= ROLE_ROOT ? 'grape' : u.role >= ROLE_ADMIN ? 'blue' : 'gray'}>
                      {t(`common:${roleKey(u.role)}`)}
                    </Badge>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <StatusBadge u={u} />
                  </Table.Td>
                  <Table.Td>{u.group}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatQuota(u.quota)}</Text>
                    <Text size="xs" c="dimmed">
                      {t('users:usedShort', { amount: formatQuota(u.used_quota) })}
                    </Text>
                  </Table.Td>
                  <Table.Td>{formatNumber(u.request_count ?? 0, 0)}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      {manageable && (
                        <Button size="compact-sm" variant="light" onClick={() => setEditing(u)}>
                          {t('common:actions.edit')}
                        </Button>
                      )}
                      <Menu position="bottom-end" withinPortal>
                        <Menu.Target>
                          <ActionIcon variant="subtle" aria-label={t('users:moreFor', { name: u.username })}>
                            <IconDots size={16} />
                          </ActionIcon>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item component={Link} to={`/logs?username=${encodeURIComponent(u.username)}`}>
                            {t('users:viewLogs')}
                          </Menu.Item>
                          {manageable && u.role < ROLE_ROOT && (
                            <>
                              {u.status === 1 ? (
                                <Menu.Item onClick={() => manage(u, 'disable')}>{t('common:actions.disable')}</Menu.Item>
                              ) : (
                                <Menu.Item onClick={() => manage(u, 'enable')}>{t('common:actions.enable')}</Menu.Item>
                              )}
                              {isRoot && u.role < ROLE_ADMIN && (
                                <Menu.Item onClick={() => manage(u, 'promote')}>{t('users:promote')}</Menu.Item>
                              )}
                              {isRoot && u.role >= ROLE_ADMIN && (
                                <Menu.Item onClick={() => manage(u, 'demote')}>{t('users:demote')}</Menu.Item>
                              )}
                              <Menu.Divider />
                              <Menu.Item color="red" onClick={() => confirmDelete(u)}>
                                {t('common:actions.delete')}
                              </Menu.Item>
                            </>
                          )}
                        </Menu.Dropdown>
                      </Menu>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.isPending && <Text c="dimmed" size="sm" ta="center" py="md">{t('common:loading')}</Text>}
      {list.isSuccess && items.length === 0 && <EmptyState>{keyword ? t('common:table.noResults') : undefined}</EmptyState>}

      <Group justify="space-between" mt="md" wrap="wrap">
        <Text size="sm" c="dimmed">
          {t('common:table.total', { count: total })}
        </Text>
        {pages > 1 && <Pagination total={pages} value={page} onChange={setPage} size="sm" />}
      </Group>

      <UserModal
        target={editing}
        onClose={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          refresh();
        }}
      />
    </>
  );
}

function UserModal({
  target,
  onClose,
  onSaved,
}: {
  target: AdminUser | 'new' | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation(['users', 'common']);
  return (
    <Modal
      opened={target !== null}
      onClose={onClose}
      title={target === 'new' ? t('users:createTitle') : t('users:editTitle', { name: target?.username ?? '' })}
      size="md"
    >
      {target !== null && (
        <UserForm key={target === 'new' ? 'new' : target.id} target={target} onCancel={onClose} onSaved={onSaved} />
      )}
    </Modal>
  );
}

/** Display amount of a quota, rounded so the field shows a readable number. */
function amountOf(quota: number): number {
  return Math.round(displayFromQuota(quota) * 1e6) / 1e6;
}

function UserForm({ target, onCancel, onSaved }: { target: AdminUser | 'new'; onCancel: () => void; onSaved: () => void }) {
  const { t } = useTranslation(['users', 'common']);
  const creating = target === 'new';
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const initialQuota = creating ? 0 : amountOf(target.quota);
  const groups = useQuery({
    queryKey: ['groups-admin'],
    queryFn: () => api.get<string[]>('/api/group/'),
    enabled: !creating,
  });
  const form = useForm<UserFormValues>({
    mode: 'controlled',
    initialValues: {
      username: creating ? '' : target.username,
      display_name: creating ? '' : target.display_name ?? '',
      password: '',
      group: creating ? 'default' : target.group || 'default',
      remark: creating ? '' : target.remark ?? '',
      quota: initialQuota,
    },
    validate: (v) => validateUser(t, v, creating),
  });

  const groupOptions = Array.from(new Set([...(groups.data ?? []), form.getValues().group].filter(Boolean)));

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      if (creating) await api.post('/api/user/', createBody(v));
      else await api.put('/api/user/', updateBody(target.id, v, initialQuota));
      notifications.show({ color: 'green', message: t(creating ? 'common:notify.created' : 'common:notify.saved') });
      onSaved();
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
        <TextInput
          label={t('users:field.username')}
          required={creating}
          autoComplete="off"
          data-testid="user-form-username"
          {...form.getInputProps('username')}
        />
        <TextInput label={t('users:field.displayName')} autoComplete="off" {...form.getInputProps('display_name')} />
        <PasswordInput
          label={creating ? t('users:field.password') : t('users:field.newPassword')}
          description={creating ? t('users:passwordRule') : t('users:passwordKeep')}
          required={creating}
          autoComplete="new-password"
          {...form.getInputProps('password')}
        />
        {!creating && (
          <>
            <Select
              label={t('users:field.group')}
              data={groupOptions}
              allowDeselect={false}
              searchable
              {...form.getInputProps('group')}
            />
            <NumberInput
              label={t('users:field.quota')}
              description={t('users:quotaHelp', { current: formatQuota(target.quota) })}
              min={0}
              decimalScale={6}
              {...form.getInputProps('quota')}
            />
            <Textarea label={t('users:field.remark')} rows={2} {...form.getInputProps('remark')} />
            {target.created_at ? (
              <Text size="xs" c="dimmed">
                {t('users:createdAt', { when: formatDateTime(target.created_at) })}
              </Text>
            ) : null}
          </>
        )}
        {groups.error ? <ErrorAlert error={groups.error} /> : null}
        <Group justify="flex-end" mt="xs">
          <Button variant="default" onClick={onCancel}>
            {t('common:actions.cancel')}
          </Button>
          <Button type="submit" loading={busy} data-testid="user-form-submit">
            {creating ? t('common:actions.create') : t('common:actions.save')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
