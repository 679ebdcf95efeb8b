// Picks the model a channel test asks for (GET /api/channel/test/:id?model=).
import { useState } from 'react';
import { Autocomplete, Button, Group, Modal, Stack } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { splitList, type Channel } from './types';

export function TestModelModal({ channel, onClose, onTest }: { channel: Channel; onClose: () => void; onTest: (model: string) => void }) {
  const { t } = useTranslation(['channels', 'common']);
  const models = splitList(channel.models);
  const [model, setModel] = useState(channel.test_model || models[0] || '');
  return (
    <Modal opened onClose={onClose} title={t('test.title', { name: channel.name })}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onTest(model.trim());
        }}
      >
        <Stack>
          <Autocomplete label={t('fields.testModel')} data={models} value={model} onChange={setModel} data-autofocus />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit">{t('common:actions.test')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
