// The price of one model: per token (model ratio, or the same as dollars per
// 1M input tokens; completion, cache read and cache write ratios) or a fixed
// price per call. Validated in place; saving writes each changed table.
import { useEffect, useState } from 'react';
import { Alert, Button, Group, Modal, SegmentedControl, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../../components/common';
import { formatUsd } from '../pricing/price';
import {
  chargedCompletion,
  editOf,
  parseAmount,
  ratioToUsdPerM,
  usdPerMToRatio,
  validateEdit,
  type EditErrors,
  type ModelEdit,
  type ModelRow,
} from './ratios';

export interface SaveError {
  key: string;
  message: string;
}

export function ModelEditor({
  opened,
  row,
  existing,
  onClose,
  onSave,
}: {
  opened: boolean;
  /** undefined: a new model */
  row?: ModelRow;
  existing: string[];
  onClose: () => void;
  onSave: (e: ModelEdit) => Promise<void>;
}) {
  const { t } = useTranslation(['models', 'common']);
  const [v, setV] = useState<ModelEdit>(editOf(row));
  const [usd, setUsd] = useState('');
  const [errors, setErrors] = useState<EditErrors>({});
  const [usdError, setUsdError] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const isNew = !row;

  useEffect(() => {
    if (!opened) return;
    const e = editOf(row);
    setV(e);
    const r = parseAmount(e.ratio).value;
    setUsd(r === undefined ? '' : String(ratioToUsdPerM(r)));
    setErrors({});
    setUsdError(null);
    setSaveError(null);
  }, [opened, row]);

  const msg = (k: keyof ModelEdit) => {
    const e = errors[k];
    return e ? t(`validate.${e}`) : undefined;
  };
  const set = (k: keyof ModelEdit, x: string) => {
    setV((s) => ({ ...s, [k]: x }));
    setErrors((s) => ({ ...s, [k]: undefined }));
  };

  // The ratio and the dollars per 1M input tokens are one value in two units.
  const onRatio = (x: string) => {
    set('ratio', x);
    const r = parseAmount(x);
    if (r.value !== undefined) setUsd(String(ratioToUsdPerM(r.value)));
    else if (!x.trim()) setUsd('');
    setUsdError(null);
  };
  const onUsd = (x: string) => {
    setUsd(x);
    const r = parseAmount(x);
    if (r.error && x.trim()) {
      setUsdError(t(`validate.${r.error}`));
      return;
    }
    setUsdError(null);
    set('ratio', r.value === undefined ? '' : String(usdPerMToRatio(r.value)));
  };

  const ratio = parseAmount(v.ratio).value;
  const base = ratio === undefined ? undefined : ratio * 2;
  const derived = (raw: string, dflt?: number) => {
    const x = parseAmount(raw).value ?? dflt;
    return base === undefined || x === undefined ? undefined : t('perMillion', { price: formatUsd(base * x) });
  };

  const submit = async () => {
    const errs = validateEdit(v, existing, isNew);
    setErrors(errs);
    if (Object.values(errs).some(Boolean) || usdError) return;
    setBusy(true);
    setSaveError(null);
    try {
      await onSave(v);
      onClose();
    } catch (e) {
      setSaveError(e);
    } finally {
      setBusy(false);
    }
  };

  const se = saveError as SaveError | null;
  return (
    <Modal opened={opened} onClose={onClose} title={isNew ? t('editor.addTitle') : t('editor.editTitle', { name: row?.name })} size="lg">
      <Stack gap="sm">
        {se && (
          <Alert color="red" role="alert" title={se.key ? t('editor.saveFailed', { key: se.key }) : undefined}>
            {se.message ?? errorMessage(saveError)}
          </Alert>
        )}
        <TextInput
          label={t('fields.name')}
          required
          disabled={!isNew}
          value={v.name}
          onChange={(e) => set('name', e.currentTarget.value)}
          error={msg('name')}
          data-autofocus
        />
        <Stack gap={4}>
          <Text size="sm" fw={500} id="billing-mode-label">
            {t('fields.mode')}
          </Text>
          <SegmentedControl
            aria-labelledby="billing-mode-label"
            value={v.mode}
            onChange={(x) => setV((s) => ({ ...s, mode: x as ModelEdit['mode'] }))}
            data={[
              { value: 'token', label: t('mode.token') },
              { value: 'call', label: t('mode.call') },
            ]}
          />
        </Stack>
        {v.mode === 'call' ? (
          <TextInput
            label={t('fields.price')}
            description={t('help.price')}
            required
            inputMode="decimal"
            value={v.price}
            onChange={(e) => set('price', e.currentTarget.value)}
            error={msg('price')}
          />
        ) : (
          <>
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
              <TextInput
                label={t('fields.ratio')}
                description={t('help.ratio')}
                required
                inputMode="decimal"
                value={v.ratio}
                onChange={(e) => onRatio(e.currentTarget.value)}
                error={msg('ratio')}
              />
              <TextInput
                label={t('fields.inputPrice')}
                description={t('help.inputPrice')}
                inputMode="decimal"
                leftSection="$"
                value={usd}
                onChange={(e) => onUsd(e.currentTarget.value)}
                error={usdError ?? undefined}
              />
            </SimpleGrid>
            <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
              <TextInput
                label={t('fields.completion')}
                description={
                  row && row.completion !== undefined && chargedCompletion(row) !== undefined ? (
                    <Text span size="xs" c="orange">
                      {t('help.lockedCompletion', { value: chargedCompletion(row) })}
                    </Text>
                  ) : (
                    (derived(v.completion) ?? t('help.optional'))
                  )
                }
                inputMode="decimal"
                value={v.completion}
                onChange={(e) => set('completion', e.currentTarget.value)}
                error={msg('completion')}
              />
              <TextInput
                label={t('fields.cache')}
                description={derived(v.cache) ?? t('help.optional')}
                inputMode="decimal"
                value={v.cache}
                onChange={(e) => set('cache', e.currentTarget.value)}
                error={msg('cache')}
              />
              <TextInput
                label={t('fields.createCache')}
                description={derived(v.createCache) ?? t('help.optional')}
                inputMode="decimal"
                value={v.createCache}
                onChange={(e) => set('createCache', e.currentTarget.value)}
                error={msg('createCache')}
              />
            </SimpleGrid>
            <Text size="xs" c="dimmed">
              {t('help.defaults')}
            </Text>
          </>
        )}
        <Group justify="flex-end" mt="xs">
          <Button variant="default" onClick={onClose}>
            {t('common:actions.cancel')}
          </Button>
          <Button onClick={submit} loading={busy} data-testid="model-save">
            {t('common:actions.save')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
