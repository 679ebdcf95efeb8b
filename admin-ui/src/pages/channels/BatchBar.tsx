// Actions on the selected channels: enable, disable, set a tag (one
// PUT /api/channel/ per channel, as the reference's console does), delete
// (one POST /api/channel/batch).
import { useState } from 'react';
import { Button, Group, Popover, Stack, Text, TextInput } from '@mantine/core';
import { IconPlayerPause, IconPlayerPlay, IconTag, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { STATUS_DISABLED, STATUS_ENABLED } from './types';

interface Props {
  ids: number[];
  /** runs an action, shows its error in place, refreshes the list */
  run: (fn: () => Promise<unknown>, ok?: string) => Promise<unknown>;
  onDelete: () => void;
  onClear: () => void;
}

export function BatchBar({ ids, run, onDelete, onClear }: Props) {
  const { t } = useTranslation(['channels', 'common']);
  const [busy, setBusy] = useState(false);
  const [tagOpen, setTagOpen] = useState(false);
  const [tag, setTag] = useState('');

  const each = async (body: (id: number) => Record<string, unknown>) => {
    setBusy(true);
    try {
      await run(async () => {
        for (const id of ids) await api.put('/api/channel/', body(id));
        onClear();
      }, t('common:notify.saved'));
    } catch {
      /* shown in place by run */
    } finally {
      setBusy(false);
    }
  };

  return (
    <Group gap="xs" mb="sm" wrap="wrap">
      <Text size="sm">{t('common:table.selected', { count: ids.length })}</Text>
      <Button size="xs" variant="light" color="green" leftSection={<IconPlayerPlay size={14} />} loading={busy} onClick={() => each((id) => ({ id, status: STATUS_ENABLED }))}>
        {t('actions.enableSelected')}
      </Button>
      <Button size="xs" variant="light" color="gray" leftSection={<IconPlayerPause size={14} />} loading={busy} onClick={() => each((id) => ({ id, status: STATUS_DISABLED }))}>
        {t('actions.disableSelected')}
      </Button>
      <Popover opened={tagOpen} onChange={setTagOpen} trapFocus withArrow position="bottom-start">
        <Popover.Target>
          <Button size="xs" variant="light" leftSection={<IconTag size={14} />} onClick={() => setTagOpen((o) => !o)}>
            {t('actions.setTag')}
          </Button>
        </Popover.Target>
        <Popover.Dropdown>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setTagOpen(false);
              void each((id) => ({ id, tag: tag.trim() }));
            }}
          >
            <Stack gap="xs" w={240}>
              <TextInput label={t('fields.tag')} description={t('actions.setTagHelp')} value={tag} onChange={(e) => setTag(e.currentTarget.value)} maxLength={191} />
              <Button type="submit" size="xs">
                {t('common:actions.save')}
              </Button>
            </Stack>
          </form>
        </Popover.Dropdown>
      </Popover>
      <Button size="xs" color="red" variant="light" leftSection={<IconTrash size={14} />} onClick={onDelete} data-testid="channels-batch-delete">
        {t('actions.deleteSelected')}
      </Button>
      <Button size="xs" variant="subtle" onClick={onClear}>
        {t('actions.clearSelection')}
      </Button>
    </Group>
  );
}
