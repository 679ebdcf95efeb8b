// Edits every channel of a tag at once (PUT /api/channel/tag, reference
// EditChannelByTag): rename the tag, and set priority, weight, models,
// groups, model mapping, parameter and header overrides. Empty fields are
// left out, so they keep each channel's own value.
import { useState } from 'react';
import { Button, Group, JsonInput, Modal, MultiSelect, SimpleGrid, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMediaQuery } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/common';
import { jsonObjectError } from './form';

interface Values {
  new_tag: string;
  priority: string;
  weight: string;
  models: string[];
  groups: string[];
  model_mapping: string;
  param_override: string;
  header_override: string;
}

/** The PUT /api/channel/tag body: only what was filled in. */
export function tagBody(tag: string, v: Values): Record<string, unknown> {
  const body: Record<string, unknown> = { tag };
  if (v.new_tag.trim() && v.new_tag.trim() !== tag) body.new_tag = v.new_tag.trim();
  if (v.priority.trim()) body.priority = parseInt(v.priority.trim(), 10);
  if (v.weight.trim()) body.weight = parseInt(v.weight.trim(), 10);
  if (v.models.length) body.models = v.models.join(',');
  if (v.groups.length) body.groups = v.groups.join(',');
  for (const k of ['model_mapping', 'param_override', 'header_override'] as const)
    if (v[k].trim()) body[k] = JSON.stringify(JSON.parse(v[k]));
  return body;
}

export function TagEditModal({ tag, onClose, onSaved }: { tag: string; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation(['channels', 'common']);
  const small = useMediaQuery('(max-width: 48em)');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const groups = useQuery({ queryKey: ['groups-admin'], queryFn: () => api.get<string[]>('/api/group/'), staleTime: 60_000 });
  const json = (strings: boolean) => (v: string) => {
    const e = jsonObjectError(v, strings);
    return e ? t(e) : null;
  };
  const form = useForm<Values>({
    mode: 'controlled',
    initialValues: { new_tag: tag, priority: '', weight: '', models: [], groups: [], model_mapping: '', param_override: '', header_override: '' },
    validate: {
      new_tag: (v) => (v.trim() ? null : t('validation.tag')),
      priority: (v) => (!v.trim() || /^-?\d+$/.test(v.trim()) ? null : t('validation.integer')),
      weight: (v) => (!v.trim() || /^\d+$/.test(v.trim()) ? null : t('validation.weight')),
      model_mapping: json(true),
      param_override: json(false),
      header_override: json(false),
    },
  });
  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      await api.put('/api/channel/tag', tagBody(tag, v));
      onSaved();
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const jsonProps = { rows: 3, resize: 'vertical' as const, formatOnBlur: true, validationError: t('validation.json') };
  return (
    <Modal opened onClose={onClose} title={t('tagEdit.title', { tag })} size="lg" fullScreen={!!small}>
      <form onSubmit={form.onSubmit(submit)} noValidate>
        <Stack gap="sm">
          <Text size="sm" c="dimmed">
            {t('tagEdit.help')}
          </Text>
          <TextInput label={t('tagEdit.newTag')} {...form.getInputProps('new_tag')} />
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
            <TextInput label={t('fields.priority')} inputMode="numeric" {...form.getInputProps('priority')} />
            <TextInput label={t('fields.weight')} inputMode="numeric" {...form.getInputProps('weight')} />
          </SimpleGrid>
          <TagsInput label={t('fields.models')} splitChars={[',', ' ', '\n']} clearable {...form.getInputProps('models')} />
          <MultiSelect label={t('fields.groups')} data={Array.from(new Set([...(groups.data ?? []), ...form.values.groups]))} searchable {...form.getInputProps('groups')} />
          <JsonInput label={t('fields.modelMapping')} {...jsonProps} {...form.getInputProps('model_mapping')} />
          <JsonInput label={t('fields.paramOverride')} {...jsonProps} {...form.getInputProps('param_override')} />
          <JsonInput label={t('fields.headerOverride')} {...jsonProps} {...form.getInputProps('header_override')} />
          <ErrorAlert error={error} />
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={busy} data-testid="tag-edit-submit">
              {t('common:actions.save')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
