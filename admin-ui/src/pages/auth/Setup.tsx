// The first-run wizard (reference: web setup page): the root account, then the
// usage mode, then a summary; POST /api/setup creates both in one transaction.
import { useState } from 'react';
import { Alert, Button, Group, PasswordInput, Radio, Stack, Stepper, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/common';
import { FullLoader } from '../../layout/guards';
import { AuthFrame } from './AuthFrame';
import { confirmError, passwordError, usernameError } from './validate';

interface SetupState {
  status: boolean;
  root_init: boolean;
  database_type: string;
}

export type UsageMode = 'external' | 'self' | 'demo';

export default function Setup() {
  const { t } = useTranslation(['auth', 'common']);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [step, setStep] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const state = useQuery({ queryKey: ['setup'], queryFn: () => api.get<SetupState>('/api/setup') });
  const form = useForm({
    mode: 'controlled',
    initialValues: { username: 'root', password: '', confirmPassword: '', mode: 'external' as UsageMode },
    validate: {
      username: (v) => usernameError(t, v),
      password: (v) => passwordError(t, v),
      confirmPassword: (v, all) => confirmError(t, v, all.password),
    },
  });

  if (state.isPending) return <FullLoader />;
  if (state.data?.status) return <Navigate to="/login" replace />;

  const next = () => {
    if (step === 0) {
      const r = form.validate();
      if (r.hasErrors) return;
    }
    setStep((s) => Math.min(s + 1, 2));
  };

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const v = form.getValues();
      await api.post('/api/setup', {
        username: v.username.trim(),
        password: v.password,
        confirmPassword: v.confirmPassword,
        SelfUseModeEnabled: v.mode === 'self',
        DemoSiteEnabled: v.mode === 'demo',
      });
      // The gate reads the cached status: mark it set up before leaving, so
      // /login is not sent back here; then refresh both from the server.
      qc.setQueryData(['status'], (old: object | undefined) => ({ ...old, setup: true }));
      navigate('/login?setup=1', { replace: true });
      qc.invalidateQueries({ queryKey: ['status'] });
      qc.removeQueries({ queryKey: ['setup'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const v = form.getValues();
  return (
    <AuthFrame title={t('setup.title')} width={640}>
      <Text c="dimmed" size="sm" mb="md">
        {t('setup.intro')}
      </Text>
      <ErrorAlert error={error ?? state.error} />
      <Stepper active={step} onStepClick={(s) => s < step && setStep(s)} size="sm" mb="lg">
        <Stepper.Step label={t('setup.stepAdmin')}>
          <Stack gap="sm" mt="md">
            {state.data?.root_init && <Alert color="blue">{t('setup.rootExists')}</Alert>}
            <TextInput label={t('fields.username')} autoComplete="username" required {...form.getInputProps('username')} />
            <PasswordInput label={t('fields.password')} autoComplete="new-password" required {...form.getInputProps('password')} />
            <PasswordInput
              label={t('fields.confirmPassword')}
              autoComplete="new-password"
              required
              {...form.getInputProps('confirmPassword')}
            />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('setup.stepMode')}>
          <Radio.Group mt="md" label={t('setup.modeLabel')} {...form.getInputProps('mode')}>
            <Stack gap="sm" mt="xs">
              <Radio value="external" label={t('setup.modeExternal')} description={t('setup.modeExternalDesc')} />
              <Radio value="self" label={t('setup.modeSelf')} description={t('setup.modeSelfDesc')} />
              <Radio value="demo" label={t('setup.modeDemo')} description={t('setup.modeDemoDesc')} />
            </Stack>
          </Radio.Group>
        </Stepper.Step>
        <Stepper.Step label={t('setup.stepConfirm')}>
          <Stack gap={4} mt="md">
            <Text>
              {t('fields.username')}: <b>{v.username}</b>
            </Text>
            <Text>
              {t('setup.modeLabel')}: <b>{t(`setup.mode${v.mode === 'external' ? 'External' : v.mode === 'self' ? 'Self' : 'Demo'}`)}</b>
            </Text>
            {state.data?.database_type && (
              <Text size="sm" c="dimmed">
                {t('setup.database')}: {state.data.database_type}
              </Text>
            )}
          </Stack>
        </Stepper.Step>
      </Stepper>
      <Group justify="space-between">
        <Button variant="default" onClick={() => setStep((s) => Math.max(0, s - 1))} disabled={step === 0}>
          {t('common:actions.back')}
        </Button>
        {step < 2 ? (
          <Button onClick={next}>{t('common:actions.next')}</Button>
        ) : (
          <Button onClick={submit} loading={busy} data-testid="setup-submit">
            {t('setup.finish')}
          </Button>
        )}
      </Group>
    </AuthFrame>
  );
}
