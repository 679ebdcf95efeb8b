// Create, edit or copy one channel (reference: the channel drawer), in a
// modal that takes the whole screen on small ones. Sections: basics and key,
// models, routing, advanced. Bodies are built in form.ts.
import { useState } from 'react';
import {
  Alert,
  Button,
  Code,
  Fieldset,
  Group,
  Modal,
  MultiSelect,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Autocomplete,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { isRoot, useAuth } from '../../auth/AuthProvider';
import { ErrorAlert } from '../../components/common';
import { AdvancedSection, JsonField } from './AdvancedSection';
import { createBody, emptyValues, keyCount, updateBody, validators, valuesFromChannel, type ChannelFormValues } from './form';
import { ModelsField } from './ModelsField';
import { CHANNEL_TYPES, channelType, OTHER_REQUIRED, type Channel } from './types';

export interface ChannelFormProps {
  opened: boolean;
  onClose: () => void;
  onSaved: () => void;
  /** the channel being edited */
  channel?: Channel | null;
  /** a channel to copy (a new channel with its settings, without its key) */
  copyOf?: Channel | null;
}

function initial(channel?: Channel | null, copyOf?: Channel | null): ChannelFormValues {
  if (channel) return valuesFromChannel(channel);
  if (copyOf) {
    const v = valuesFromChannel(copyOf);
    return { ...v, name: `${v.name} (copy)`.slice(0, 191) };
  }
  return emptyValues();
}

const OTHER_HINT: Record<number, string> = {
  3: 'form.otherAzure',
  18: 'form.otherXunfei',
  21: 'form.otherKnowledge',
  39: 'form.otherCloudflare',
  41: 'form.otherVertex',
  49: 'form.otherCoze',
};

export function ChannelForm({ opened, onClose, onSaved, channel, copyOf }: ChannelFormProps) {
  const { t } = useTranslation(['channels', 'common']);
  const small = useMediaQuery('(max-width: 48em)');
  const { user } = useAuth();
  const editing = !!channel;
  const multiKey = !!channel?.channel_info?.is_multi_key;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [storedKey, setStoredKey] = useState<string | null>(null);
  const [keyError, setKeyError] = useState<unknown>(null);
  const form = useForm<ChannelFormValues>({
    mode: 'controlled',
    initialValues: initial(channel, copyOf),
    validate: validators(t, editing),
  });
  const groups = useQuery({
    queryKey: ['groups-admin'],
    queryFn: () => api.get<string[]>('/api/group/'),
    staleTime: 60_000,
  });

  const v = form.values;
  const type = Number(v.type);
  const ct = channelType(type);
  const groupData = Array.from(new Set([...(groups.data ?? []), ...v.groups, 'default']));
  const typeData = [
    {
      group: t('form.typesRelayed'),
      items: CHANNEL_TYPES.filter((c) => c.relayed).map((c) => ({ value: String(c.id), label: c.name })),
    },
    {
      group: t('form.typesNotRelayed'),
      items: CHANNEL_TYPES.filter((c) => !c.relayed).map((c) => ({
        value: String(c.id),
        label: `${c.name} (${t('form.notRelayedShort')})`,
      })),
    },
  ];

  const submit = async (values: ChannelFormValues) => {
    setBusy(true);
    setError(null);
    try {
      if (channel) await api.put('/api/channel/', updateBody(channel.id, values, multiKey));
      else await api.post('/api/channel/', createBody(values));
      notifications.show({ color: 'green', message: editing ? t('common:notify.saved') : t('common:notify.created') });
      onSaved();
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const showKey = async () => {
    if (!channel) return;
    setKeyError(null);
    try {
      const d = await api.post<{ key: string }>(`/api/channel/${channel.id}/key`);
      setStoredKey(d?.key ?? '');
    } catch (e) {
      setKeyError(e);
    }
  };

  const keyDesc = editing
    ? multiKey
      ? t('form.keyEditMulti')
      : t('form.keyEdit')
    : v.mode === 'single'
      ? t('form.keySingle')
      : v.mode === 'batch'
        ? t('form.keyBatch', { count: keyCount(v.key) })
        : t('form.keyMulti', { count: keyCount(v.key) });
  const title = editing ? t('form.editTitle', { name: channel?.name }) : copyOf ? t('form.copyTitle') : t('form.createTitle');

  return (
    <Modal opened={opened} onClose={onClose} title={title} size="xl" fullScreen={!!small} closeOnClickOutside={false}>
      <form onSubmit={form.onSubmit(submit)} noValidate>
        <Stack gap="md">
          <Fieldset legend={t('form.sectionBasic')}>
            <Stack gap="sm">
              <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
                <Select
                  label={t('fields.type')}
                  data={typeData}
                  searchable
                  allowDeselect={false}
                  required
                  withAsterisk={false}
                  {...form.getInputProps('type')}
                />
                <TextInput label={t('fields.name')} required withAsterisk={false} maxLength={191} {...form.getInputProps('name')} />
              </SimpleGrid>
              {!ct.relayed && (
                <Alert color="yellow" icon={<IconAlertTriangle size={16} />} role="note">
                  {t('form.notRelayed', { type: ct.name })}
                </Alert>
              )}
              <TextInput
                label={t('fields.baseUrl')}
                description={ct.baseUrl ? t('form.baseUrlDefault', { url: ct.baseUrl }) : t('form.baseUrlNone')}
                placeholder={ct.baseUrl || 'https://'}
                {...form.getInputProps('base_url')}
              />
              {!editing && (
                <Stack gap={4}>
                  <Text size="sm" fw={500} id="channel-add-mode">
                    {t('fields.addMode')}
                  </Text>
                  <SegmentedControl
                    aria-labelledby="channel-add-mode"
                    fullWidth
                    orientation={small ? 'vertical' : 'horizontal'}
                    data={[
                      { value: 'single', label: t('form.modeSingle') },
                      { value: 'batch', label: t('form.modeBatch') },
                      { value: 'multi_to_single', label: t('form.modeMulti') },
                    ]}
                    {...form.getInputProps('mode')}
                  />
                </Stack>
              )}
              {editing && multiKey && (
                <Stack gap={4}>
                  <Text size="sm" fw={500} id="channel-key-mode">
                    {t('fields.keyMode')}
                  </Text>
                  <SegmentedControl
                    aria-labelledby="channel-key-mode"
                    data={[
                      { value: 'append', label: t('form.keyAppend') },
                      { value: 'replace', label: t('form.keyReplace') },
                    ]}
                    {...form.getInputProps('key_mode')}
                  />
                </Stack>
              )}
              <Textarea
                label={t('fields.key')}
                description={keyDesc}
                placeholder={editing ? t('form.keyKeep') : v.mode === 'single' ? 'sk-...' : 'sk-...\nsk-...'}
                required={!editing}
                withAsterisk={false}
                rows={v.mode === 'single' && !multiKey ? 2 : 5}
                resize="vertical"
                autoComplete="off"
                spellCheck={false}
                styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                {...form.getInputProps('key')}
              />
              {(v.mode === 'multi_to_single' || multiKey) && (
                <Select
                  label={t('fields.multiKeyMode')}
                  allowDeselect={false}
                  data={[
                    { value: 'random', label: t('form.multiRandom') },
                    { value: 'polling', label: t('form.multiPolling') },
                  ]}
                  {...form.getInputProps('multi_key_mode')}
                />
              )}
              {!editing && v.mode === 'batch' && (
                <Switch label={t('fields.batchPrefix')} {...form.getInputProps('batch_prefix', { type: 'checkbox' })} />
              )}
              {editing && isRoot(user) && (
                <Stack gap={4}>
                  <Group gap="xs">
                    <Button size="xs" variant="default" onClick={showKey}>
                      {t('form.showKey')}
                    </Button>
                    <Text size="xs" c="dimmed">
                      {t('form.showKeyHelp')}
                    </Text>
                  </Group>
                  {storedKey !== null && (
                    <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }} data-testid="channel-stored-key">
                      {storedKey || '—'}
                    </Code>
                  )}
                  <ErrorAlert error={keyError} />
                </Stack>
              )}
              {type === 1 && (
                <TextInput label={t('fields.organization')} placeholder="org-..." {...form.getInputProps('openai_organization')} />
              )}
              {(OTHER_REQUIRED.has(type) || v.other) && (
                <Textarea
                  label={t('fields.other')}
                  description={t(OTHER_HINT[type] ?? 'form.otherGeneric')}
                  required={OTHER_REQUIRED.has(type)}
                  rows={2}
                  resize="vertical"
                  {...form.getInputProps('other')}
                />
              )}
            </Stack>
          </Fieldset>

          <Fieldset legend={t('form.sectionModels')}>
            <Stack gap="sm">
              <ModelsField
                value={v.models}
                onChange={(m) => form.setFieldValue('models', m)}
                error={form.errors.models as string | undefined}
                type={type}
                baseUrl={v.base_url}
                apiKey={v.key}
                channelId={channel?.id}
              />
              <JsonField
                form={form}
                field="model_mapping"
                label={t('fields.modelMapping')}
                description={t('form.modelMappingHelp')}
                placeholder='{"gpt-4o": "gpt-4o-2024-11-20"}'
              />
              <Autocomplete
                label={t('fields.testModel')}
                description={t('form.testModelHelp')}
                data={v.models}
                {...form.getInputProps('test_model')}
              />
            </Stack>
          </Fieldset>

          <Fieldset legend={t('form.sectionRouting')}>
            <Stack gap="sm">
              <MultiSelect
                label={t('fields.groups')}
                description={t('form.groupsHelp')}
                data={groupData}
                searchable
                required
                withAsterisk={false}
                {...form.getInputProps('groups')}
              />
              <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
                <TextInput label={t('fields.tag')} maxLength={191} {...form.getInputProps('tag')} />
                <TextInput label={t('fields.priority')} inputMode="numeric" description={t('form.priorityHelp')} {...form.getInputProps('priority')} />
                <TextInput label={t('fields.weight')} inputMode="numeric" description={t('form.weightHelp')} {...form.getInputProps('weight')} />
              </SimpleGrid>
              <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
                <Select
                  label={t('fields.status')}
                  allowDeselect={false}
                  data={[
                    { value: '1', label: t('common:status.enabled') },
                    { value: '2', label: t('common:status.disabled') },
                    { value: '3', label: t('common:status.autoDisabled') },
                  ]}
                  {...form.getInputProps('status')}
                />
                <Switch
                  mt={{ base: 0, sm: 'xl' }}
                  label={t('fields.autoBan')}
                  description={t('form.autoBanHelp')}
                  {...form.getInputProps('auto_ban', { type: 'checkbox' })}
                />
              </SimpleGrid>
              <Text size="xs" c="dimmed">
                {t('form.destinationHelp')}
              </Text>
            </Stack>
          </Fieldset>

          <AdvancedSection form={form} />

          <ErrorAlert error={error} />
          {Object.keys(form.errors).length > 0 && (
            <Text size="sm" c="red" role="status">
              {t('form.fixErrors')}
            </Text>
          )}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={busy} data-testid="channel-form-submit">
              {editing ? t('common:actions.save') : t('common:actions.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
