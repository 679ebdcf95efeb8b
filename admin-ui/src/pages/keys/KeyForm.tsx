// Create or edit one API key in a modal: name, remaining quota in the display
// currency (or unlimited), expiry (or never), model limits, IP allow-list and group.
import { useEffect, useMemo, useState } from 'react';
import {
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  Select,
  Stack,
  Switch,
  Textarea,
  TextInput,
} from '@mantine/core';
import { DateTimePicker } from '@mantine/dates';
import { useForm } from '@mantine/form';
import { useMediaQuery } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/common';
import { getDisplaySettings } from '../../lib/format';
import { emptyKeyForm, formFromToken, keyPayload, validateKeyForm, type KeyFormValues, type Token } from './keyForm';

export interface GroupInfo {
  ratio?: number | string;
  desc?: string;
}

export function useUserModels() {
  return useQuery({ queryKey: ['self-models'], queryFn: () => api.get<string[]>('/api/user/self/models'), staleTime: 60_000 });
}

export function useUserGroups() {
  return useQuery({
    queryKey: ['self-groups'],
    queryFn: () => api.get<Record<string, GroupInfo>>('/api/user/self/groups'),
    staleTime: 60_000,
  });
}

/** The unit the quota field is in: a currency code/symbol or "tokens". */
function quotaUnit(t: (k: string) => string): string {
  const d = getDisplaySettings();
  if (!d.display_in_currency || d.quota_display_type === 'TOKENS') return t('keys:form.tokensUnit');
  if (d.quota_display_type === 'CNY') return 'CNY';
  if (d.quota_display_type === 'CUSTOM') return d.custom_currency_symbol;
  return 'USD';
}

export function KeyFormModal({
  opened,
  token,
  onClose,
  onSaved,
}: {
  opened: boolean;
  /** null: create */
  token: Token | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation(['keys', 'common']);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const small = useMediaQuery('(max-width: 36em)');
  const models = useUserModels();
  const groups = useUserGroups();
  const initial = useMemo(() => (token ? formFromToken(token) : emptyKeyForm()), [token]);
  const form = useForm<KeyFormValues>({
    mode: 'controlled',
    initialValues: initial,
    validate: (v) => validateKeyForm(t, v, undefined, token ? initial : undefined),
  });

  useEffect(() => {
    if (opened) {
      form.setValues(initial);
      form.resetDirty(initial);
      form.clearErrors();
      setError(null);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened, initial]);

  const modelOptions = useMemo(() => {
    const set = new Set<string>(models.data ?? []);
    form.getValues().models.forEach((m) => set.add(m)); // keep limits on models no longer listed
    return [...set].sort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [models.data, opened]);

  const groupOptions = useMemo(() => {
    const entries = Object.entries(groups.data ?? {});
    const opts = entries.map(([name, g]) => ({
      value: name,
      label: g?.desc && g.desc !== name ? `${name} — ${g.desc}` : name,
    }));
    const cur = form.getValues().group;
    if (cur && !opts.some((o) => o.value === cur)) opts.push({ value: cur, label: cur });
    return opts;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [groups.data, opened]);

  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      const body = keyPayload(v, token ? initial : undefined);
      if (token) await api.put('/api/token/', { ...body, id: token.id });
      else await api.post('/api/token/', body);
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });

  const v = form.getValues();
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={token ? t('keys:form.editTitle') : t('keys:form.createTitle')}
      size="lg"
      fullScreen={!!small}
    >
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={error} />
          <TextInput
            label={t('keys:form.name')}
            placeholder={t('keys:form.namePlaceholder')}
            withAsterisk
            data-autofocus
            {...form.getInputProps('name')}
          />
          <Switch label={t('keys:form.unlimited')} {...form.getInputProps('unlimited', { type: 'checkbox' })} />
          {!v.unlimited && (
            <NumberInput
              label={t('keys:form.quota', { unit: quotaUnit(t) })}
              description={t('keys:form.quotaHelp')}
              decimalScale={6}
              allowNegative
              {...form.getInputProps('quota')}
            />
          )}
          <Switch label={t('keys:form.never')} {...form.getInputProps('never', { type: 'checkbox' })} />
          {!v.never && (
            <DateTimePicker
              label={t('keys:form.expires')}
              placeholder={t('keys:form.expiresPlaceholder')}
              valueFormat="YYYY-MM-DD HH:mm"
              clearable
              {...form.getInputProps('expires')}
            />
          )}
          <Switch
            label={t('keys:form.limitModels')}
            description={t('keys:form.limitModelsHelp')}
            {...form.getInputProps('limitModels', { type: 'checkbox' })}
          />
          {v.limitModels && (
            <MultiSelect
              label={t('keys:form.models')}
              placeholder={models.isPending ? t('common:loading') : t('keys:form.modelsPlaceholder')}
              data={modelOptions}
              searchable
              clearable
              nothingFoundMessage={t('keys:form.noModels')}
              error={form.errors.models ?? (models.error ? String((models.error as Error).message) : undefined)}
              value={v.models}
              onChange={(m) => form.setFieldValue('models', m)}
            />
          )}
          <Textarea
            label={t('keys:form.allowIps')}
            description={t('keys:form.allowIpsHelp')}
            placeholder={'203.0.113.7\n10.0.0.0/8\n2001:db8::/32'}
            rows={3}
            {...form.getInputProps('allowIps')}
          />
          <Select
            label={t('keys:form.group')}
            placeholder={groups.isPending ? t('common:loading') : t('keys:form.groupDefault')}
            description={t('keys:form.groupHelp')}
            data={groupOptions}
            clearable
            error={groups.error ? String((groups.error as Error).message) : undefined}
            value={v.group || null}
            onChange={(g) => form.setFieldValue('group', g ?? '')}
          />
          <Group justify="flex-end" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={busy} data-testid="key-form-submit">
              {token ? t('common:actions.save') : t('common:actions.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
