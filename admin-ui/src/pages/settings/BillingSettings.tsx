// Billing: quota grants, currency and display, payment, check-in and groups
// (reference system-settings/billing). Model and group prices have their own
// page, /models.
import { Anchor, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { bool, float, I64, int, json, secret, select, str, url, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const BILLING_SECTIONS: SectionDef[] = [
  {
    id: 'quota',
    help: true,
    fields: [
      int('QuotaForNewUser', 0, I64, { quota: true }),
      int('QuotaForInviter', 0, I64, { quota: true }),
      int('QuotaForInvitee', 0, I64, { quota: true }),
      int('PreConsumedQuota', 0, I64, { quota: true, help: true }),
      int('QuotaRemindThreshold', 0, I64, { quota: true }),
      url('TopUpLink', { help: true }),
      bool('quota_setting.enable_free_model_pre_consume', { help: true }),
    ],
  },
  {
    id: 'currency',
    fields: [
      bool('DisplayInCurrencyEnabled'),
      bool('DisplayTokenStatEnabled'),
      float('QuotaPerUnit', 1e-9, 1e12, { gtMin: true, help: true }),
      select('general_setting.quota_display_type', ['USD', 'CNY', 'TOKENS', 'CUSTOM']),
      float('USDExchangeRate', 0, 1e9, { help: true }),
      str('general_setting.custom_currency_symbol'),
      float('general_setting.custom_currency_exchange_rate', 0, 1e12, { help: true }),
    ],
  },
  {
    id: 'payment',
    help: true,
    fields: [
      url('PayAddress'),
      url('CustomCallbackAddress'),
      str('EpayId'),
      secret('EpayKey'),
      float('Price', 0, 1e9, { help: true }),
      int('MinTopUp', 0, I64),
      json('TopupGroupRatio', 'ratios', { help: true }),
      json('PayMethods', 'array'),
    ],
  },
  {
    id: 'stripe',
    fields: [
      bool('StripePromotionCodesEnabled'),
      secret('StripeApiSecret'),
      secret('StripeWebhookSecret'),
      str('StripePriceId'),
      float('StripeUnitPrice', 0, 1e9),
      int('StripeMinTopUp', 0, I64),
    ],
  },
  {
    id: 'checkin',
    fields: [
      bool('checkin_setting.enabled', { statusKey: 'checkin_enabled' }),
      int('checkin_setting.min_quota', 0, I64, { quota: true }),
      int('checkin_setting.max_quota', 0, I64, { quota: true }),
    ],
  },
  {
    id: 'groups',
    fields: [
      bool('DefaultUseAutoGroup'),
      json('UserUsableGroups', 'strings', { help: true }),
      json('GroupGroupRatio', 'ratios2', { help: true }),
      json('AutoGroups', 'array', { help: true }),
      json('group_ratio_setting.group_special_usable_group', 'objects', { help: true }),
    ],
  },
];

export function PricesLink() {
  const { t } = useTranslation('settings');
  return (
    <Text size="sm">
      {t('pricesLinkText')}{' '}
      <Anchor component={Link} to="/models">
        {t('pricesLink')}
      </Anchor>
    </Text>
  );
}

export default function BillingSettings({ options }: { options: OptionMap }) {
  return <SectionList sections={BILLING_SECTIONS} options={options} extras={{ groups: <PricesLink /> }} />;
}
