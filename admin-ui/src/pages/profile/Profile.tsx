// Profile: the account (display name, role, group, quota), password change,
// the access token for the management API (shown once), the language, and
// the sign-in sessions with revoke.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  PasswordInput,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconKey } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { CopyIcon } from '../../components/CopyIcon';
import { api, setSession } from '../../api/client';
import { ROLE_ADMIN, ROLE_ROOT, useAuth } from '../../auth/AuthProvider';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { LANGUAGES, currentLang } from '../../i18n';
import { formatDateTime, formatQuota } from '../../lib/format';
import { NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, passwordBody, validatePassword, type PasswordValues } from './passwordForm';

interface LoginSession {
  sid: string;
  login_method?: string;
  ip?: string;
  user_agent?: string;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  current: boolean;
}

export default function Profile() {
  const { t } = useTranslation(['profile', 'common']);
  const { user } = useAuth();
  return (
    <>
      <PageHeader title={t('profile:title')} />
      {!user ? (
        <Skeleton h={200} />
      ) : (
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
          <AccountCard />
          <PasswordCard />
          <TokenCard />
          <LanguageCard />
        </SimpleGrid>
      )}
      {user && <SessionsCard />}
    </>
  );
}

function AccountCard() {
  const { t } = useTranslation(['profile', 'common']);
  const { user, reloadUser } = useAuth();
  const [name, setName] = useState(user?.display_name ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!user) return null;
  const tooLong = Array.from(name).length > NAME_MAX;
  const role = user.role >= ROLE_ROOT ? 'roles.root' : user.role >= ROLE_ADMIN ? 'roles.admin' : 'roles.user';

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (tooLong || !name.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await api.put('/api/user/self', { display_name: name.trim() });
      await reloadUser();
      notifications.show({ color: 'green', message: t('common:notify.saved') });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card withBorder padding="lg">
      <Title order={4} mb="sm">
        {t('profile:account.title')}
      </Title>
      <Stack gap={6} mb="md">
        <Row label={t('profile:account.username')} value={user.username} />
        <Row label={t('profile:account.role')} value={t(`common:${role}`)} />
        <Row label={t('profile:account.group')} value={user.group} />
        <Row label={t('profile:account.balance')} value={formatQuota(user.quota)} testid="profile-balance" />
        <Row label={t('profile:account.used')} value={formatQuota(user.used_quota)} />
      </Stack>
      <form onSubmit={save} noValidate>
        <Stack gap="sm">
          <TextInput
            label={t('profile:account.displayName')}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={tooLong ? t('profile:validate.nameMax', { max: NAME_MAX }) : !name.trim() ? t('profile:validate.nameRequired') : null}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button type="submit" loading={busy} disabled={tooLong || !name.trim() || name === user.display_name}>
              {t('common:actions.save')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function Row({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Group justify="space-between" gap="xs" wrap="nowrap">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={500} data-testid={testid} style={{ overflowWrap: 'anywhere', textAlign: 'right' }}>
        {value}
      </Text>
    </Group>
  );
}

function PasswordCard() {
  const { t } = useTranslation(['profile', 'common']);
  const { user } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const form = useForm<PasswordValues>({
    mode: 'controlled',
    initialValues: { original: '', password: '', confirm: '' },
    validate: (v) => validatePassword(t, v),
  });

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      const d = await api.put<{ access_token?: string; access_expires_at?: number }>('/api/user/self', passwordBody(v));
      // The password moved the account's auth version on: keep this session with the new token.
      if (d?.access_token && user) setSession({ token: d.access_token, userId: user.id, expiresAt: d.access_expires_at ?? 0 });
      form.reset();
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  });

  return (
    <Card withBorder padding="lg">
      <Title order={4} mb="xs">
        {t('profile:password.title')}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {t('profile:password.help', { min: PASSWORD_MIN, max: PASSWORD_MAX })}
      </Text>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <PasswordInput label={t('profile:password.original')} autoComplete="current-password" {...form.getInputProps('original')} />
          <PasswordInput label={t('profile:password.new')} autoComplete="new-password" {...form.getInputProps('password')} />
          <PasswordInput label={t('profile:password.confirm')} autoComplete="new-password" {...form.getInputProps('confirm')} />
          <ErrorAlert error={error} />
          {done && (
            <Alert color="green" icon={<IconCheck size={18} />} role="status">
              {t('profile:password.done')}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button type="submit" loading={busy} data-testid="profile-password-submit">
              {t('profile:password.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function TokenCard() {
  const { t } = useTranslation(['profile', 'common']);
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const generate = async () => {
    setBusy(true);
    setError(null);
    try {
      setToken(await api.get<string>('/api/user/token'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card withBorder padding="lg">
      <Title order={4} mb="xs">
        {t('profile:token.title')}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {t('profile:token.help')}
      </Text>
      <ErrorAlert error={error} />
      {token && (
        <Stack gap={6} mb="sm">
          <Alert color="yellow" role="note">{t('profile:token.once')}</Alert>
          <Group gap="xs" wrap="nowrap">
            <Code style={{ flex: 1, minWidth: 0, overflowWrap: 'anywhere' }} data-testid="profile-token">
              {token}
            </Code>
            <CopyIcon value={token} label={t('profile:token.copy')} variant="default" />
          </Group>
        </Stack>
      )}
      <Group justify="flex-end">
        <Button variant="light" leftSection={<IconKey size={16} />} onClick={generate} loading={busy} data-testid="profile-token-generate">
          {token ? t('profile:token.regenerate') : t('profile:token.generate')}
        </Button>
      </Group>
    </Card>
  );
}

function LanguageCard() {
  const { t, i18n } = useTranslation(['profile', 'common']);
  const [error, setError] = useState<unknown>(null);
  const [lang, setLang] = useState<string>(currentLang());
  const change = async (v: string | null) => {
    if (!v) return;
    setLang(v);
    setError(null);
    await i18n.changeLanguage(v);
    try {
      await api.put('/api/user/self', { language: v });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card withBorder padding="lg">
      <Title order={4} mb="xs">
        {t('profile:language.title')}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {t('profile:language.help')}
      </Text>
      <Select
        label={t('profile:language.label')}
        data={LANGUAGES.map((l) => ({ value: l.code, label: l.label }))}
        value={lang}
        onChange={change}
        allowDeselect={false}
        data-testid="profile-language"
      />
      <ErrorAlert error={error} />
    </Card>
  );
}

function SessionsCard() {
  const { t } = useTranslation(['profile', 'common']);
  const qc = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => api.get<LoginSession[]>('/api/user/sessions'),
  });
  const run = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      notifications.show({ color: 'green', message: t('profile:sessions.revoked') });
      await qc.invalidateQueries({ queryKey: ['sessions'] });
    } catch (err) {
      setError(err);
    }
  };
  const list = sessions.data ?? [];
  const others = list.filter((s) => !s.current).length;
  return (
    <Card withBorder padding="lg" mt="md">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title order={4}>{t('profile:sessions.title')}</Title>
        <Button
          variant="light"
          color="red"
          size="xs"
          disabled={others === 0}
          onClick={() => run(() => api.post('/api/user/sessions/revoke-others'))}
        >
          {t('profile:sessions.revokeOthers')}
        </Button>
      </Group>
      <ErrorAlert error={sessions.error ?? error} />
      {sessions.isPending && <Skeleton h={60} />}
      {sessions.isSuccess && list.length === 0 && <EmptyState />}
      <Stack gap="xs">
        {list.map((s) => (
          <Card key={s.sid} withBorder padding="sm" radius="sm">
            <Group justify="space-between" wrap="wrap" gap="xs">
              <Stack gap={2} style={{ minWidth: 0, flex: 1 }}>
                <Group gap="xs" wrap="wrap">
                  <Text size="sm" fw={500} style={{ overflowWrap: 'anywhere' }}>
                    {s.user_agent || t('profile:sessions.unknownDevice')}
                  </Text>
                  {s.current && (
                    <Badge size="sm" color="green">
                      {t('profile:sessions.current')}
                    </Badge>
                  )}
                </Group>
                <Text size="xs" c="dimmed">
                  {t('profile:sessions.detail', {
                    ip: s.ip || '—',
                    method: s.login_method || '—',
                    active: formatDateTime(s.last_active_at),
                    expires: formatDateTime(s.expires_at),
                  })}
                </Text>
              </Stack>
              {!s.current && (
                <Button
                  size="xs"
                  variant="default"
                  onClick={() => run(() => api.del(`/api/user/sessions/${encodeURIComponent(s.sid)}`))}
                  aria-label={t('profile:sessions.revokeOne', { device: s.user_agent || s.sid })}
                >
                  {t('profile:sessions.revoke')}
                </Button>
              )}
            </Group>
          </Card>
        ))}
      </Stack>
    </Card>
  );
}
