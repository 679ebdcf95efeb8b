import { useState } from 'react';
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useAuth } from '../../auth/AuthProvider';
import { ErrorAlert } from '../../components/common';
import { AuthFrame } from './AuthFrame';

/** Only same-site paths are followed after sign-in. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/dashboard';
}

export default function Login() {
  const { t } = useTranslation(['auth', 'common']);
  const { login, session, user, status } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { username: '', password: '' },
    validate: {
      username: (v) => (v.trim() ? null : t('validate.usernameRequired')),
      password: (v) => (v ? null : t('validate.passwordRequired')),
    },
  });
  const next = safeNext(params.get('next'));
  if (session && user) return <Navigate to={next} replace />;

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const r = await login(v.username.trim(), v.password);
      if (r.require2fa) setError(new Error(t('login.twoFactorUnsupported')));
      else navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });

  return (
    <AuthFrame title={t('login.title')}>
      {params.get('setup') && (
        <Alert color="green" mb="md">
          {t('setup.done')}
        </Alert>
      )}
      <ErrorAlert error={error} />
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <TextInput label={t('fields.username')} autoComplete="username" required {...form.getInputProps('username')} />
          <PasswordInput
            label={t('fields.password')}
            autoComplete="current-password"
            required
            {...form.getInputProps('password')}
          />
          <Button type="submit" loading={busy} fullWidth data-testid="login-submit">
            {t('login.submit')}
          </Button>
        </Stack>
      </form>
      {status?.register_enabled !== false && status?.password_register_enabled !== false && (
        <Text size="sm" ta="center" mt="md">
          {t('login.noAccount')}{' '}
          <Anchor component={Link} to="/register">
            {t('register.title')}
          </Anchor>
        </Text>
      )}
    </AuthFrame>
  );
}
