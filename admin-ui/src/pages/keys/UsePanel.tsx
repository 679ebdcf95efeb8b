// "Use this key": ready-to-run samples with the site's address and the full key.
import { useMemo, useState } from 'react';
import { Code, Group, Modal, ScrollArea, Select, Stack, Tabs, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../../auth/AuthProvider';
import { ErrorAlert } from '../../components/common';
import { CopyIcon } from '../../components/CopyIcon';
import { baseUrl, buildSnippets } from './snippets';
import type { Token } from './keyForm';

/** A revealed key with its copy button. */
export function FullKeyText({ value }: { value: string }) {
  const { t } = useTranslation(['keys']);
  return (
    <Group gap="xs" wrap="nowrap" align="center">
      <Code style={{ overflowWrap: 'anywhere' }} data-testid="full-key">
        {value}
      </Code>
      <CopyIcon value={value} label={t('keys:copyKey')} />
    </Group>
  );
}

export function UsePanel({
  token,
  fullKey,
  keyError,
  models,
  onClose,
}: {
  token: Token | null;
  /** the full key with "sk-", once revealed */
  fullKey: string | null;
  keyError: unknown;
  models: string[];
  onClose: () => void;
}) {
  const { t } = useTranslation(['keys', 'common']);
  const { status } = useAuth();
  const base = baseUrl(status?.server_address, window.location.origin);
  const limited = token?.model_limits_enabled ? token.model_limits.split(',').filter(Boolean) : [];
  const choices = limited.length ? limited : models;
  const [picked, setPicked] = useState<string | null>(null);
  const model = picked && choices.includes(picked) ? picked : choices[0] || 'gpt-4o-mini';
  const snippets = useMemo(() => buildSnippets(base, fullKey ?? 'sk-…', model), [base, fullKey, model]);

  return (
    <Modal opened={!!token} onClose={onClose} title={t('keys:use.title', { name: token?.name ?? '' })} size="xl">
      <Stack gap="sm" data-testid="key-use-panel">
        <ErrorAlert error={keyError} />
        <Text size="sm" c="dimmed">
          {t('keys:use.intro')}
        </Text>
        <Group gap="xs" wrap="nowrap" align="center">
          <Text size="sm" fw={500}>
            {t('keys:use.baseUrl')}
          </Text>
          <Code style={{ overflowWrap: 'anywhere' }}>{base}</Code>
          <CopyIcon value={base} label={t('keys:use.copyBase')} />
        </Group>
        {fullKey && <FullKeyText value={fullKey} />}
        <Select
          label={t('keys:use.model')}
          data={choices.length ? choices : [model]}
          value={model}
          onChange={setPicked}
          searchable
          allowDeselect={false}
          maw={360}
        />
        <Tabs defaultValue="curl" keepMounted={false}>
          <ScrollArea type="auto" offsetScrollbars>
            <Tabs.List style={{ flexWrap: 'nowrap' }}>
              {snippets.map((s) => (
                <Tabs.Tab key={s.id} value={s.id}>
                  {s.label}
                </Tabs.Tab>
              ))}
            </Tabs.List>
          </ScrollArea>
          {snippets.map((s) => (
            <Tabs.Panel key={s.id} value={s.id} pt="xs">
              <div style={{ position: 'relative' }}>
                <Code block data-testid={`snippet-${s.id}`} style={{ overflowX: 'auto', paddingRight: 40, whiteSpace: 'pre' }}>
                  {s.code}
                </Code>
                <div style={{ position: 'absolute', top: 6, right: 6 }}>
                  <CopyIcon value={s.code} label={t('keys:use.copySnippet')} testId={`snippet-copy-${s.id}`} />
                </div>
              </div>
            </Tabs.Panel>
          ))}
        </Tabs>
      </Stack>
    </Modal>
  );
}
