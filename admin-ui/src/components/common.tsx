// Small shared pieces every page uses: the page title bar, an API error shown
// in place, and the empty state.
import type { ReactNode } from 'react';
import { Alert, Center, Group, Stack, Text, Title } from '@mantine/core';
import { IconAlertCircle, IconInbox } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

export function PageHeader({ title, actions, children }: { title: string; actions?: ReactNode; children?: ReactNode }) {
  return (
    <Stack gap="xs" mb="md">
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={2}>{title}</Title>
        {actions && (
          <Group gap="xs" wrap="wrap">
            {actions}
          </Group>
        )}
      </Group>
      {children}
    </Stack>
  );
}

export function errorMessage(err: unknown, fallback = 'error'): string {
  if (err instanceof ApiError || err instanceof Error) return err.message || fallback;
  if (typeof err === 'string') return err;
  return fallback;
}

/** An API error shown in place (role=alert so screen readers and tests find it). */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <Alert color="red" icon={<IconAlertCircle size={18} />} title={title ?? t('errors.title')} role="alert" mb="sm">
      {errorMessage(error, t('errors.unknown'))}
    </Alert>
  );
}

export function EmptyState({ children }: { children?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <Center py="xl">
      <Stack align="center" gap={4} c="dimmed">
        <IconInbox size={32} stroke={1.4} />
        <Text size="sm">{children ?? t('empty')}</Text>
      </Stack>
    </Center>
  );
}
