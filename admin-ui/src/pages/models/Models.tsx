// Models and prices (admin): every priced or channel-named model with its
// ratios and fixed price, edited per model; group ratios; the raw tables.
// The price options are read and written through /api/option/, which is
// root-only: an admin sees the prices the relay charges (/api/pricing), read
// only. Reference: web/src/features/system-settings/models (ratio editors).
import { useMemo, useState } from 'react';
import { Alert, Button, Center, Loader, Stack, Tabs } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { isRoot, useAuth } from '../../auth/AuthProvider';
import { ErrorAlert, PageHeader, errorMessage } from '../../components/common';
import type { PricingAnswer } from '../pricing/price';
import { json, type SectionDef } from '../settings/fieldtypes';
import { OPTIONS_QUERY, saveOption, useOptions, type OptionMap } from '../settings/options';
import { SettingsSection } from '../settings/SettingsSection';
import { GroupRatios } from './GroupRatios';
import { ModelEditor, type SaveError } from './ModelEditor';
import { ModelTable } from './ModelTable';
import {
  applyEdit,
  buildRows,
  changedKeys,
  parseTables,
  PRICE_KEYS,
  removeModel,
  tableText,
  type ModelEdit,
  type ModelRow,
  type Tables,
} from './ratios';

const RAW_SECTION: SectionDef = {
  id: 'rawTables',
  help: true,
  fields: [...PRICE_KEYS.map((k) => json(k, 'ratios')), json('GroupRatio', 'ratios')],
};

export default function Models() {
  const { user } = useAuth();
  return isRoot(user) ? <RootModels /> : <ReadOnlyModels />;
}

function useChannelModels() {
  return useQuery({
    queryKey: ['channel-models'],
    queryFn: () => api.get<Array<{ id: string }>>('/api/channel/models'),
    retry: false,
  });
}

function RootModels() {
  const { t } = useTranslation(['models', 'common']);
  const qc = useQueryClient();
  const opts = useOptions();
  const ch = useChannelModels();
  // What the relay charges now, to show where a built-in rule wins over a table.
  const charged = useQuery({
    queryKey: ['pricing'],
    queryFn: () => api.get<PricingAnswer>('/api/pricing', undefined, true),
    retry: false,
  });
  const [editing, setEditing] = useState<{ row?: ModelRow } | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);

  const { tables, errors } = useMemo(() => parseTables(opts.data ?? {}), [opts.data]);
  const channelModels = useMemo(() => (ch.data ?? []).map((m) => m.id), [ch.data]);
  const chargedMap = useMemo(
    () => Object.fromEntries((charged.data?.data ?? []).map((m) => [m.model_name, m])),
    [charged.data],
  );
  const rows = useMemo(() => buildRows(tables, channelModels, chargedMap), [tables, channelModels, chargedMap]);

  /** Writes each changed table; the first refusal stops and names its option. */
  const saveTables = async (next: Tables) => {
    for (const k of changedKeys(tables, next)) {
      const text = tableText(next[k]);
      try {
        await saveOption(k, text);
      } catch (e) {
        throw { key: k, message: errorMessage(e) } satisfies SaveError;
      }
      qc.setQueryData<OptionMap>(OPTIONS_QUERY, (old) => (old ? { ...old, [k]: text } : old));
    }
    qc.invalidateQueries({ queryKey: ['pricing'] });
  };

  const onSave = async (e: ModelEdit) => {
    await saveTables(applyEdit(tables, e));
    notifications.show({ color: 'green', message: t('common:notify.saved') });
  };

  const onRemove = (r: ModelRow) =>
    modals.openConfirmModal({
      title: t('common:confirm.title'),
      children: t('removeConfirm', { name: r.name }),
      labels: { confirm: t('common:actions.delete'), cancel: t('common:actions.cancel') },
      confirmProps: { color: 'red' },
      onConfirm: async () => {
        setRemoveError(null);
        try {
          await saveTables(removeModel(tables, r.name));
          notifications.show({ color: 'green', message: t('common:notify.deleted') });
        } catch (e) {
          const se = e as SaveError;
          setRemoveError(new Error(`${se.key}: ${se.message}`));
        }
      },
    });

  const saveGroups = async (value: string) => {
    await saveOption('GroupRatio', value);
    qc.setQueryData<OptionMap>(OPTIONS_QUERY, (old) => (old ? { ...old, GroupRatio: value } : old));
    qc.invalidateQueries({ queryKey: ['pricing'] });
  };

  return (
    <>
      <PageHeader
        title={t('title')}
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={() => setEditing({})} disabled={!opts.data}>
            {t('add')}
          </Button>
        }
      />
      <ErrorAlert error={opts.error} />
      <ErrorAlert error={removeError} />
      {opts.isPending ? (
        <Center py="xl" aria-busy="true">
          <Loader />
        </Center>
      ) : opts.data ? (
        // Only the shown tab is in the page (its labels are unique); the group
        // editor stays mounted so its unsaved rows survive switching.
        <Tabs defaultValue="models" keepMounted={false}>
          <Tabs.List mb="md" style={{ flexWrap: 'wrap' }}>
            <Tabs.Tab value="models">{t('tabs.models')}</Tabs.Tab>
            <Tabs.Tab value="groups">{t('tabs.groups')}</Tabs.Tab>
            <Tabs.Tab value="json">{t('tabs.json')}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="models">
            <Stack gap="sm">
              {Object.entries(errors).map(([k, err]) => (
                <Alert key={k} color="orange">
                  {t('tableUnreadable', { key: k, error: err })}
                </Alert>
              ))}
              {ch.error != null && (
                <Alert color="gray">{t('channelModelsError', { error: errorMessage(ch.error) })}</Alert>
              )}
              <ModelTable rows={rows} onEdit={(row) => setEditing({ row })} onRemove={onRemove} />
            </Stack>
          </Tabs.Panel>
          <Tabs.Panel value="groups" keepMounted>
            <GroupRatios text={opts.data.GroupRatio} onSave={saveGroups} />
          </Tabs.Panel>
          <Tabs.Panel value="json">
            <SettingsSection section={RAW_SECTION} options={opts.data} />
          </Tabs.Panel>
        </Tabs>
      ) : null}
      <ModelEditor
        opened={editing !== null}
        row={editing?.row}
        existing={rows.filter((r) => r.ratio !== undefined || r.price !== undefined).map((r) => r.name)}
        onClose={() => setEditing(null)}
        onSave={onSave}
      />
    </>
  );
}

/** An admin who is not root: the prices the relay charges, read only. */
function ReadOnlyModels() {
  const { t } = useTranslation('models');
  const q = useQuery({
    queryKey: ['pricing'],
    queryFn: () => api.get<PricingAnswer>('/api/pricing', undefined, true),
  });
  const rows: ModelRow[] = useMemo(
    () =>
      (q.data?.data ?? []).map((m) => ({
        name: m.model_name,
        ratio: m.quota_type === 1 ? undefined : m.model_ratio,
        completion: m.quota_type === 1 ? undefined : m.completion_ratio,
        price: m.quota_type === 1 ? m.model_price : undefined,
        inChannels: true,
      })),
    [q.data],
  );
  return (
    <>
      <PageHeader title={t('title')} />
      <Alert color="blue" mb="md" data-testid="models-readonly">
        {t('rootOnly')}
      </Alert>
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Center py="xl" aria-busy="true">
          <Loader />
        </Center>
      ) : (
        <ModelTable rows={rows} readOnly />
      )}
    </>
  );
}
