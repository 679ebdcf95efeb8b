import { useState } from 'react';
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { ErrorAlert } from '../../components/common';
import { AuthFrame } from './AuthFrame';
import { confirmError, passwordError, USER_PASSWORD_MAX, USER_USERNAME_MAX, usernameError } from './validate';

export default function Register() {
  const { t } = useTranslation(['auth', 'common']);
  const { status, login } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { username: '', password: '', confirmPassword: '', aff_code: params.get('aff') ?? '' },
    validate: {
      username: (v) => usernameError(t, v, USER_USERNAME_MAX),
      password: (v) => passwordError(t, v, USER_PASSWORD_MAX),
      confirmPassword: (v, all) => confirmError(t, v, all.password),
    },
  });
  const closed = status && (status.register_enabled === false || status.password_register_enabled === false);

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/user/register', {
        username: v.username.trim(),
        password: v.password,
        aff_code: v.aff_code.trim() || undefined,
      });
      await login(v.username.trim(), v.password);
      navigate('/dashboard', { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });

  return (
    <AuthFrame title={t('register.title')}>
      {closed ? (
        <Alert color="yellow" role="alert">
          {t('register.closed')}
        </Alert>
      ) : (
        <>
          <ErrorAlert error={error} />
          <form onSubmit={submit} noValidate>
            <Stack gap="sm">
              <TextInput label={t('fields.username')} autoComplete="username" required {...form.getInputProps('username')} />
              <PasswordInput label={t('fields.password')} autoComplete="new-password" required {...form.getInputProps('password')} />
              <PasswordInput
                label={t('fields.confirmPassword')}
                autoComplete="new-password"
                required
                {...form.getInputProps('confirmPassword')}
              />
              <TextInput label={t('fields.affCode')} {...form.getInputProps('aff_code')} />
              <Button type="submit" loading={busy} fullWidth data-testid="register-submit">
                {t('register.submit')}
              </Button>
            </Stack>
          </form>
        </>
      )}
      <Text size="sm" ta="center" mt="md">
        {t('register.haveAccount')}{' '}
        <Anchor component={Link} to="/login">
          {t('login.title')}
        </Anchor>
      </Text>
    </AuthFrame>
  );
}
