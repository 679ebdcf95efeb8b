// GroupRatio: what each user group pays, as a multiplier of the model price
// (1 = list price). Rows of name and ratio, validated in place, saved whole
// as the option's JSON text.
import { useEffect, useState } from 'react';
import { ActionIcon, Alert, Button, Card, Group, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../../components/common';
import { parseAmount, parseTable, tableText, type NumError } from './ratios';

interface Row {
  id: number;
  name: string;
  ratio: string;
}

let seq = 0;
const rowsOf = (text: string | undefined): Row[] =>
  Object.entries(parseTable(text).table).map(([name, r]) => ({ id: ++seq, name, ratio: String(r) }));

export function GroupRatios({ text, onSave }: { text: string | undefined; onSave: (value: string) => Promise<void> }) {
  const { t } = useTranslation(['models', 'common']);
  const [rows, setRows] = useState<Row[]>(() => rowsOf(text));
  const [errors, setErrors] = useState<Record<number, { name?: string; ratio?: string }>>({});
  const [saveError, setSaveError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const parseError = parseTable(text).error;

  useEffect(() => setRows(rowsOf(text)), [text]);

  const set = (id: number, k: 'name' | 'ratio', v: string) => {
    setRows((rs) => rs.map((r) => (r.id === id ? { ...r, [k]: v } : r)));
    setErrors((e) => ({ ...e, [id]: { ...e[id], [k]: undefined } }));
  };

  const save = async () => {
    const errs: Record<number, { name?: string; ratio?: string }> = {};
    const seen = new Set<string>();
    const out: Record<string, number> = {};
    for (const r of rows) {
      const e: { name?: string; ratio?: string } = {};
      const name = r.name.trim();
      if (!name) e.name = t('validate.required');
      else if (seen.has(name)) e.name = t('validate.duplicateGroup');
      seen.add(name);
      const p = parseAmount(r.ratio, true);
      if (p.error) e.ratio = t(`validate.${p.error as NumError}`);
      if (e.name || e.ratio) errs[r.id] = e;
      else out[name] = p.value!;
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setSaveError(null);
    try {
      await onSave(tableText(out));
      notifications.show({ color: 'green', message: t('common:notify.saved') });
    } catch (e) {
      setSaveError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card withBorder padding="md" component="section" aria-labelledby="group-ratio-title">
      <Stack gap="sm">
        <div>
          <Text fw={600} id="group-ratio-title">
            {t('groups.title')}
          </Text>
          <Text size="sm" c="dimmed">
            {t('groups.help')}
          </Text>
        </div>
        {parseError && <Alert color="orange">{t('tableUnreadable', { key: 'GroupRatio', error: parseError })}</Alert>}
        {rows.length === 0 && <Text c="dimmed">{t('groups.empty')}</Text>}
        {rows.map((r, i) => (
          <Group key={r.id} align="flex-start" gap="xs" wrap="nowrap">
            <TextInput
              style={{ flex: 2, minWidth: 0 }}
              label={t('groups.name', { n: i + 1 })}
              value={r.name}
              onChange={(e) => set(r.id, 'name', e.currentTarget.value)}
              error={errors[r.id]?.name}
            />
            <TextInput
              style={{ flex: 1, minWidth: 0 }}
              label={t('groups.ratio', { n: i + 1 })}
              inputMode="decimal"
              value={r.ratio}
              onChange={(e) => set(r.id, 'ratio', e.currentTarget.value)}
              error={errors[r.id]?.ratio}
            />
            <ActionIcon
              mt={26}
              variant="subtle"
              color="red"
              aria-label={t('groups.remove', { name: r.name || i + 1 })}
              onClick={() => setRows((rs) => rs.filter((x) => x.id !== r.id))}
            >
              <IconTrash size={18} />
            </ActionIcon>
          </Group>
        ))}
        {saveError != null && (
          <Alert color="red" role="alert">
            {errorMessage(saveError)}
          </Alert>
        )}
        <Group justify="space-between">
          <Button
            variant="default"
            leftSection={<IconPlus size={16} />}
            onClick={() => setRows((rs) => [...rs, { id: ++seq, name: '', ratio: '1' }])}
          >
            {t('groups.add')}
          </Button>
          <Button onClick={save} loading={busy} data-testid="group-ratio-save">
            {t('groups.save')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
