// The advanced part of the channel form: status code mapping, parameter and
// header overrides, the proxy and the reference's switches (kept in the
// `setting` JSON), type-specific `settings` JSON and the remark.
import { Fieldset, JsonInput, SimpleGrid, Stack, Switch, Textarea, TextInput } from '@mantine/core';
import type { UseFormReturnType } from '@mantine/form';
import { useTranslation } from 'react-i18next';
import type { ChannelFormValues } from './form';

export function JsonField({
  form,
  field,
  label,
  description,
  placeholder,
}: {
  form: UseFormReturnType<ChannelFormValues>;
  field: 'model_mapping' | 'status_code_mapping' | 'param_override' | 'header_override' | 'settings';
  label: string;
  description?: string;
  placeholder?: string;
}) {
  const { t } = useTranslation('channels');
  return (
    <JsonInput
      label={label}
      description={description}
      placeholder={placeholder}
      rows={4}
      resize="vertical"
      formatOnBlur
      validationError={t('validation.json')}
      styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
      {...form.getInputProps(field)}
    />
  );
}

export function AdvancedSection({ form }: { form: UseFormReturnType<ChannelFormValues> }) {
  const { t } = useTranslation('channels');
  return (
    <Fieldset legend={t('form.sectionAdvanced')}>
      <Stack gap="sm">
        <JsonField
          form={form}
          field="status_code_mapping"
          label={t('fields.statusCodeMapping')}
          description={t('form.statusCodeMappingHelp')}
          placeholder='{"400": "500"}'
        />
        <JsonField
          form={form}
          field="param_override"
          label={t('fields.paramOverride')}
          description={t('form.paramOverrideHelp')}
          placeholder='{"temperature": 0}'
        />
        <JsonField
          form={form}
          field="header_override"
          label={t('fields.headerOverride')}
          description={t('form.headerOverrideHelp')}
          placeholder='{"User-Agent": "token-factory"}'
        />
        <TextInput
          label={t('fields.proxy')}
          description={t('form.proxyHelp')}
          placeholder="socks5://127.0.0.1:1080"
          {...form.getInputProps('proxy')}
        />
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          <Switch label={t('fields.forceFormat')} description={t('form.forceFormatHelp')} {...form.getInputProps('force_format', { type: 'checkbox' })} />
          <Switch
            label={t('fields.thinkingToContent')}
            description={t('form.thinkingToContentHelp')}
            {...form.getInputProps('thinking_to_content', { type: 'checkbox' })}
          />
          <Switch
            label={t('fields.passThroughBody')}
            description={t('form.passThroughBodyHelp')}
            {...form.getInputProps('pass_through_body_enabled', { type: 'checkbox' })}
          />
          <Switch
            label={t('fields.systemPromptOverride')}
            description={t('form.systemPromptOverrideHelp')}
            {...form.getInputProps('system_prompt_override', { type: 'checkbox' })}
          />
        </SimpleGrid>
        <Textarea label={t('fields.systemPrompt')} description={t('form.systemPromptHelp')} rows={3} resize="vertical" {...form.getInputProps('system_prompt')} />
        <JsonField form={form} field="settings" label={t('fields.settings')} description={t('form.settingsHelp')} placeholder="{}" />
        <TextInput label={t('fields.remark')} maxLength={255} {...form.getInputProps('remark')} />
      </Stack>
    </Fieldset>
  );
}
