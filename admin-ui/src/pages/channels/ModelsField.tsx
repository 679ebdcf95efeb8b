// The models of a channel: free entry with suggestions, "fill the type's
// defaults", "fetch from the upstream" (POST /api/channel/fetch_models for a
// new channel, GET /api/channel/fetch_models/:id for a stored one), clear.
import { useState } from 'react';
import { Button, Group, Stack, TagsInput, Text } from '@mantine/core';
import { IconCloudDownload, IconListCheck, IconTrash } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/common';
import { DEFAULT_MODELS } from './types';

interface Props {
  value: string[];
  onChange: (v: string[]) => void;
  error?: string;
  type: number;
  baseUrl: string;
  apiKey: string;
  /** the stored channel's id when editing */
  channelId?: number;
}

function merge(a: string[], b: string[]): string[] {
  const out = [...a];
  for (const m of b) if (m && !out.includes(m)) out.push(m);
  return out;
}

/** Tags as typed: an entry may still hold separators (a value accepted on blur, a fill). */
function normalize(list: string[]): string[] {
  return merge([], list.flatMap((m) => m.split(/[,\s]+/)).map((m) => m.trim()).filter(Boolean));
}

export function ModelsField({ value, onChange, error, type, baseUrl, apiKey, channelId }: Props) {
  const { t } = useTranslation('channels');
  const [busy, setBusy] = useState(false);
  const [fetchError, setFetchError] = useState<unknown>(null);
  const [fetched, setFetched] = useState<string[]>([]);
  const [note, setNote] = useState('');
  // Every model the operator configured on any channel: suggestions only.
  const known = useQuery({
    queryKey: ['channel-models'],
    queryFn: () => api.get<Array<{ id: string }>>('/api/channel/models'),
    staleTime: 60_000,
  });
  const suggestions = merge(
    fetched,
    merge(DEFAULT_MODELS[type] ?? [], (known.data ?? []).map((m) => m.id)),
  ).filter((m) => !value.includes(m));

  const defaults = DEFAULT_MODELS[type] ?? [];

  const fetchModels = async () => {
    setBusy(true);
    setFetchError(null);
    setNote('');
    try {
      const firstKey = apiKey.split('\n').map((k) => k.trim()).find(Boolean) ?? '';
      const list =
        channelId && !firstKey
          ? await api.get<string[]>(`/api/channel/fetch_models/${channelId}`)
          : await api.post<string[]>('/api/channel/fetch_models', {
              base_url: baseUrl.trim(),
              type,
              key: firstKey,
            });
      const names = (Array.isArray(list) ? list : []).map(String).filter(Boolean);
      setFetched(names);
      const next = merge(value, names);
      setNote(t('form.fetchedModels', { count: names.length, added: next.length - value.length }));
      onChange(next);
    } catch (e) {
      setFetchError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack gap={6}>
      <TagsInput
        label={t('fields.models')}
        description={t('form.modelsHelp')}
        placeholder={value.length ? '' : t('form.modelsPlaceholder')}
        value={value}
        onChange={(v) => onChange(normalize(v))}
        data={suggestions}
        error={error}
        clearable
        splitChars={[',', ' ', '\n']}
        required
        withAsterisk={false}
        maxDropdownHeight={240}
      />
      <Group gap="xs" wrap="wrap">
        <Button
          size="xs"
          variant="light"
          leftSection={<IconListCheck size={14} />}
          disabled={!defaults.length}
          onClick={() => onChange(merge(value, defaults))}
        >
          {t('form.fillDefaults')}
        </Button>
        <Button
          size="xs"
          variant="light"
          leftSection={<IconCloudDownload size={14} />}
          loading={busy}
          onClick={fetchModels}
          data-testid="channel-fetch-models"
        >
          {t('form.fetchModels')}
        </Button>
        <Button
          size="xs"
          variant="subtle"
          color="red"
          leftSection={<IconTrash size={14} />}
          disabled={!value.length}
          onClick={() => onChange([])}
        >
          {t('form.clearModels')}
        </Button>
      </Group>
      {note && (
        <Text size="xs" c="dimmed" role="status">
          {note}
        </Text>
      )}
      <ErrorAlert error={fetchError} title={t('form.fetchFailed')} />
    </Stack>
  );
}
