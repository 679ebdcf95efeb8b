// Rate limits: the model request limit (reference setting/rate_limit.go).
// Per-IP limits are the gateway's environment settings, not runtime options:
// the page says so rather than showing fields the API does not have.
import { Alert, Code, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { bool, int, json, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const RATE_LIMIT_SECTIONS: SectionDef[] = [
  {
    id: 'modelRateLimit',
    help: true,
    fields: [
      bool('ModelRequestRateLimitEnabled'),
      int('ModelRequestRateLimitDurationMinutes', 1, 1440),
      int('ModelRequestRateLimitCount', 0, 100000000, { help: true }),
      int('ModelRequestRateLimitSuccessCount', 1, 100000000, { help: true }),
      json('ModelRequestRateLimitGroup', 'object', { help: true }),
    ],
  },
];

export default function RateLimitSettings({ options }: { options: OptionMap }) {
  const { t } = useTranslation('settings');
  return (
    <SectionList sections={RATE_LIMIT_SECTIONS} options={options}>
      <Alert color="gray" title={t('ipLimits.title')}>
        <Text size="sm">{t('ipLimits.body')}</Text>
        <Text size="sm" mt={4}>
          <Code>GLOBAL_API_RATE_LIMIT</Code> <Code>GLOBAL_WEB_RATE_LIMIT</Code> <Code>CRITICAL_RATE_LIMIT</Code>
        </Text>
      </Alert>
    </SectionList>
  );
}
