import { beforeEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { displayFromQuota, formatQuota, formatQuotaShort, quotaFromDisplay, setDisplaySettings } from './format';

describe('quota display', () => {
  beforeEach(async () => {
    await i18n.changeLanguage('en');
  });

  it('shows quota in dollars at 500000 per unit and converts back exactly', () => {
    setDisplaySettings({ quota_per_unit: 500000, display_in_currency: true, quota_display_type: 'USD' });
    expect(formatQuota(1250000)).toBe('$2.50');
    expect(quotaFromDisplay(2.5)).toBe(1250000);
    expect(displayFromQuota(1250000)).toBe(2.5);
  });

  it('converts to CNY and to raw tokens as the site chooses', () => {
    setDisplaySettings({ quota_per_unit: 500000, display_in_currency: true, quota_display_type: 'CNY', usd_exchange_rate: 7 });
    expect(formatQuota(500000)).toBe('CN¥7.00');
    expect(quotaFromDisplay(7)).toBe(500000);
    setDisplaySettings({ quota_per_unit: 500000, display_in_currency: false, quota_display_type: 'TOKENS' });
    expect(formatQuota(1234567)).toBe('1,234,567');
  });

  it('keeps small amounts readable on chart axes', () => {
    setDisplaySettings({ quota_per_unit: 500000, display_in_currency: true, quota_display_type: 'USD' });
    expect(formatQuotaShort(60)).toBe('$0.00012');
    expect(formatQuotaShort(600000000)).toBe('$1.2K');
  });
});
