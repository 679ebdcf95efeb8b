// System settings (root): every runtime option of the management API
// (gateway/state/option_registry.c), grouped as the reference's console
// groups them. One file per group; each section saves its changed fields with
// PUT /api/option/ {key, value}.
import { useState } from 'react';
import { Center, Loader, Tabs } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { ErrorAlert, PageHeader } from '../../components/common';
import AuthSettings from './AuthSettings';
import BillingSettings from './BillingSettings';
import ModelSettings from './ModelSettings';
import OperationsSettings from './OperationsSettings';
import RateLimitSettings from './RateLimitSettings';
import SecuritySettings from './SecuritySettings';
import SiteSettings from './SiteSettings';
import { useOptions, type OptionMap } from './options';

export const SETTINGS_TABS: Array<{ id: string; Panel: (p: { options: OptionMap }) => React.ReactNode }> = [
  { id: 'site', Panel: SiteSettings },
  { id: 'auth', Panel: AuthSettings },
  { id: 'billing', Panel: BillingSettings },
  { id: 'models', Panel: ModelSettings },
  { id: 'operations', Panel: OperationsSettings },
  { id: 'security', Panel: SecuritySettings },
  { id: 'rateLimits', Panel: RateLimitSettings },
];

export default function Settings() {
  const { t } = useTranslation('settings');
  const [params, setParams] = useSearchParams();
  const q = useOptions();
  const tab = SETTINGS_TABS.some((x) => x.id === params.get('tab')) ? params.get('tab')! : 'site';
  // A tab mounts when first opened and stays, so unsaved edits survive switching.
  const [visited, setVisited] = useState(() => new Set([tab]));
  if (!visited.has(tab)) setVisited(new Set(visited).add(tab));

  return (
    <>
      <PageHeader title={t('title')} />
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Center py="xl" aria-busy="true">
          <Loader />
        </Center>
      ) : q.data ? (
        <Tabs
          value={tab}
          onChange={(v) => v && setParams({ tab: v }, { replace: true })}
          data-testid="settings-tabs"
        >
          <Tabs.List mb="md" style={{ flexWrap: 'wrap' }}>
            {SETTINGS_TABS.map((x) => (
              <Tabs.Tab key={x.id} value={x.id}>
                {t(`tabs.${x.id}`)}
              </Tabs.Tab>
            ))}
          </Tabs.List>
          {SETTINGS_TABS.map((x) => (
            <Tabs.Panel key={x.id} value={x.id}>
              {visited.has(x.id) && <x.Panel options={q.data} />}
            </Tabs.Panel>
          ))}
        </Tabs>
      ) : null}
    </>
  );
}
