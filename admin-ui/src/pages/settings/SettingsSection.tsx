// One group of settings: its fields, validated in place, saved together with
// one PUT /api/option/ {key, value} per changed field; a field the server
// refuses shows the server's own message next to it.
import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  Badge,
  Button,
  Card,
  Group,
  NativeSelect,
  PasswordInput,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../../components/common';
import { formatQuota } from '../../lib/format';
import { navModuleAccess, withNavModule, type NavAccess } from '../../lib/navModules';
import { useAuth } from '../../auth/AuthProvider';
import { validateField, wireValue, type FieldDef, type SectionDef } from './fieldtypes';
import { OPTIONS_QUERY, optionId, saveOption, type OptionMap } from './options';

function initial(defs: FieldDef[], options: OptionMap): Record<string, string> {
  const v: Record<string, string> = {};
  for (const d of defs) v[d.key] = d.kind === 'secret' ? '' : (options[d.key] ?? '');
  return v;
}

export function SettingsSection({ section, options, extra }: { section: SectionDef; options: OptionMap; extra?: ReactNode }) {
  const { t } = useTranslation(['settings', 'common']);
  const qc = useQueryClient();
  const { status } = useAuth();
  const base = useMemo(() => initial(section.fields, options), [section.fields, options]);
  const [saved, setSaved] = useState(base);
  const [values, setValues] = useState(base);
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [busy, setBusy] = useState(false);

  // Options that changed on the server (a save here or a refetch) become the
  // baseline of their fields; other fields keep their unsaved edits.
  const prev = useRef(base);
  useEffect(() => {
    const patch: Record<string, string> = {};
    for (const k of Object.keys(base)) if (base[k] !== prev.current[k]) patch[k] = base[k];
    prev.current = base;
    if (!Object.keys(patch).length) return;
    setSaved((s) => ({ ...s, ...patch }));
    setValues((s) => ({ ...s, ...patch }));
  }, [base]);

  const dirty = section.fields.filter((d) => values[d.key] !== saved[d.key]);
  const set = useCallback((key: string, v: string) => {
    setValues((s) => ({ ...s, [key]: v }));
    setErrors((e) => ({ ...e, [key]: null }));
  }, []);

  const save = async () => {
    const errs: Record<string, string | null> = {};
    for (const d of dirty) errs[d.key] = validateField(t, d, values[d.key]);
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setBusy(true);
    const done: Record<string, string> = {};
    let failed = false;
    for (const d of dirty) {
      try {
        await saveOption(d.key, wireValue(d, values[d.key]));
        done[d.key] = d.kind === 'secret' ? '' : values[d.key];
      } catch (e) {
        failed = true;
        errs[d.key] = errorMessage(e, t('common:errors.unknown'));
      }
    }
    setErrors({ ...errs });
    setSaved((s) => ({ ...s, ...done }));
    setValues((s) => ({ ...s, ...done }));
    setBusy(false);
    if (Object.keys(done).length) {
      if (!failed) notifications.show({ color: 'green', message: t('common:notify.saved') });
      const shown = Object.fromEntries(
        Object.entries(done).filter(([k]) => section.fields.find((d) => d.key === k)?.kind !== 'secret'),
      );
      qc.setQueryData<OptionMap>(OPTIONS_QUERY, (old) => (old ? { ...old, ...shown } : old));
      // The site status (currency, names, sign-in switches) reads these.
      qc.invalidateQueries({ queryKey: ['status'] });
    }
  };

  const reset = () => {
    setValues(saved);
    setErrors({});
  };

  const id = optionId(section.id);
  return (
    <Card withBorder padding="md" component="section" aria-labelledby={`section-${id}`}>
      <Stack gap="sm">
        <div>
          <Title order={3} size="h4" id={`section-${id}`}>
            {t(`sections.${section.id}`)}
          </Title>
          {section.help && (
            <Text size="sm" c="dimmed">
              {t(`sectionHelp.${section.id}`)}
            </Text>
          )}
        </div>
        {extra}
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm" verticalSpacing="sm">
          {section.fields
            .filter((d) => d.kind === 'bool')
            .map((d) => (
              <Field key={d.key} def={d} value={values[d.key]} error={errors[d.key]} onChange={set} status={status} />
            ))}
        </SimpleGrid>
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm" verticalSpacing="sm">
          {section.fields
            .filter((d) => d.kind !== 'bool' && d.kind !== 'json' && d.kind !== 'text')
            .map((d) => (
              <Field key={d.key} def={d} value={values[d.key]} error={errors[d.key]} onChange={set} status={status} />
            ))}
        </SimpleGrid>
        {section.fields
          .filter((d) => d.kind === 'json' || d.kind === 'text')
          .map((d) => (
            <Field key={d.key} def={d} value={values[d.key]} error={errors[d.key]} onChange={set} status={status} />
          ))}
        <Group justify="flex-end" gap="xs">
          {dirty.length > 0 && (
            <Text size="sm" c="dimmed">
              {t('unsaved', { count: dirty.length })}
            </Text>
          )}
          <Button variant="default" onClick={reset} disabled={!dirty.length || busy}>
            {t('common:actions.reset')}
          </Button>
          <Button
            onClick={save}
            loading={busy}
            disabled={!dirty.length}
            aria-label={t('saveSection', { section: t(`sections.${section.id}`) })}
            data-testid={`save-${id}`}
          >
            {t('common:actions.save')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

const Field = memo(function Field({
  def,
  value,
  error,
  onChange,
  status,
}: {
  def: FieldDef;
  value: string;
  error?: string | null;
  onChange: (key: string, v: string) => void;
  status?: Record<string, unknown>;
}) {
  const { t } = useTranslation('settings');
  const id = optionId(def.key);
  const label = t(`fields.${id}`);
  let help: string | undefined = def.help ? t(`help.${id}`) : undefined;
  if (def.quota && /^\d+$/.test(value.trim())) {
    const eq = t('quotaEquals', { amount: formatQuota(Number(value.trim())) });
    help = help ? `${help} ${eq}` : eq;
  }
  const common = { label, error: error || undefined, description: help, 'data-option': def.key };
  switch (def.kind) {
    case 'bool': {
      const active = def.statusKey ? status?.[def.statusKey] === true : undefined;
      return (
        <Stack gap={2}>
          <Switch
            label={label}
            description={help}
            error={error || undefined}
            checked={value === 'true'}
            onChange={(e) => onChange(def.key, e.currentTarget.checked ? 'true' : 'false')}
            data-option={def.key}
          />
          {def.statusKey && (
            <Group gap={6} ml={54}>
              <Badge size="xs" variant="light" color={active ? 'green' : 'gray'}>
                {active ? t('serverActive') : t('serverInactive')}
              </Badge>
              {value === 'true' && !active && (
                <Text size="xs" c="orange">
                  {t('unsupported')}
                </Text>
              )}
            </Group>
          )}
        </Stack>
      );
    }
    case 'navModule': {
      const m = def.module ?? '';
      const a = navModuleAccess(value, m);
      const put = (next: NavAccess) => onChange(def.key, withNavModule(value, m, next));
      return (
        <Stack gap="xs" data-option={def.key}>
          <Switch
            label={t(`navModules.${m}.enabled`)}
            description={t(`navModules.${m}.enabledHelp`)}
            error={error || undefined}
            checked={a.enabled}
            onChange={(e) => put({ ...a, enabled: e.currentTarget.checked })}
          />
          <Switch
            label={t(`navModules.${m}.requireAuth`)}
            description={t(`navModules.${m}.requireAuthHelp`)}
            checked={a.requireAuth}
            disabled={!a.enabled}
            onChange={(e) => put({ ...a, requireAuth: e.currentTarget.checked })}
          />
        </Stack>
      );
    }
    case 'select':
      return (
        <NativeSelect
          {...common}
          value={value}
          data={(def.options ?? []).map((o) => ({ value: o, label: t(`choices.${o}`, { defaultValue: o }) }))}
          onChange={(e) => onChange(def.key, e.currentTarget.value)}
        />
      );
    case 'secret':
      return (
        <PasswordInput
          {...common}
          description={help ?? t('secretHelp')}
          placeholder={t('secretPlaceholder')}
          autoComplete="new-password"
          value={value}
          onChange={(e) => onChange(def.key, e.currentTarget.value)}
        />
      );
    case 'json':
    case 'text':
      return (
        <Textarea
          {...common}
          rows={def.kind === 'json' ? 5 : 3}
          resize="vertical"
          spellCheck={def.kind === 'json' ? false : undefined}
          styles={def.kind === 'json' ? { input: { fontFamily: 'var(--mantine-font-family-monospace)' } } : undefined}
          value={value}
          onChange={(e) => onChange(def.key, e.currentTarget.value)}
        />
      );
    default:
      return (
        <TextInput
          {...common}
          inputMode={def.kind === 'int' || def.kind === 'float' ? 'decimal' : def.kind === 'url' ? 'url' : undefined}
          placeholder={def.kind === 'url' ? 'https://' : undefined}
          value={value}
          onChange={(e) => onChange(def.key, e.currentTarget.value)}
        />
      );
  }
});
