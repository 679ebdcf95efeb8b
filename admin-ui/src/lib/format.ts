// Numbers, dates and money in the user's locale, and quota in the site's
// display currency as the reference shows it (quota / QuotaPerUnit dollars,
// converted to CNY or a custom currency, or raw tokens).
import { intlLocale } from '../i18n';

export interface DisplaySettings {
  quota_per_unit: number;
  display_in_currency: boolean;
  quota_display_type: string; // USD | CNY | TOKENS | CUSTOM
  usd_exchange_rate: number;
  custom_currency_symbol: string;
  custom_currency_exchange_rate: number;
}

export const DEFAULT_DISPLAY: DisplaySettings = {
  quota_per_unit: 500000,
  display_in_currency: true,
  quota_display_type: 'USD',
  usd_exchange_rate: 7.3,
  custom_currency_symbol: '¤',
  custom_currency_exchange_rate: 1,
};

let display: DisplaySettings = DEFAULT_DISPLAY;

export function setDisplaySettings(d: Partial<DisplaySettings>): void {
  const num = (v: unknown, def: number) => {
    const n = typeof v === 'string' ? parseFloat(v) : typeof v === 'number' ? v : NaN;
    return Number.isFinite(n) && n > 0 ? n : def;
  };
  display = {
    quota_per_unit: num(d.quota_per_unit, DEFAULT_DISPLAY.quota_per_unit),
    display_in_currency: d.display_in_currency ?? true,
    quota_display_type: (d.quota_display_type || (d.display_in_currency === false ? 'TOKENS' : 'USD')).toUpperCase(),
    usd_exchange_rate: num(d.usd_exchange_rate, DEFAULT_DISPLAY.usd_exchange_rate),
    custom_currency_symbol: d.custom_currency_symbol || DEFAULT_DISPLAY.custom_currency_symbol,
    custom_currency_exchange_rate: num(d.custom_currency_exchange_rate, 1),
  };
}

export function getDisplaySettings(): DisplaySettings {
  return display;
}

export function formatNumber(n: number, maxFractionDigits = 2): string {
  return new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: maxFractionDigits }).format(n);
}

/** Compact form for chart axes and cards: 12.3K, 4.5M. */
export function formatCompact(n: number): string {
  return new Intl.NumberFormat(intlLocale(), { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** Quota units as the site displays them (currency or raw tokens). */
export function formatQuota(quota: number, digits = 4): string {
  const d = display;
  if (!d.display_in_currency || d.quota_display_type === 'TOKENS') return formatNumber(quota, 0);
  const usd = quota / d.quota_per_unit;
  let amount = usd;
  let currency = 'USD';
  if (d.quota_display_type === 'CNY') {
    amount = usd * d.usd_exchange_rate;
    currency = 'CNY';
  } else if (d.quota_display_type === 'CUSTOM') {
    amount = usd * d.custom_currency_exchange_rate;
    return `${d.custom_currency_symbol}${formatNumber(amount, digits)}`;
  }
  const min = Math.abs(amount) >= 1 || amount === 0 ? 2 : Math.min(digits, 6);
  return new Intl.NumberFormat(intlLocale(), {
    style: 'currency',
    currency,
    minimumFractionDigits: Math.min(min, digits),
    maximumFractionDigits: Math.max(min, digits),
  }).format(amount);
}

/** Quota for chart axes: three significant digits, so small amounts stay
 * readable ($0.00012, not $0.0000) and large ones short ($1.2K). */
export function formatQuotaShort(quota: number): string {
  const d = display;
  if (!d.display_in_currency || d.quota_display_type === 'TOKENS') return formatCompact(quota);
  const amount = displayFromQuota(quota);
  if (d.quota_display_type === 'CUSTOM')
    return `${d.custom_currency_symbol}${new Intl.NumberFormat(intlLocale(), { notation: 'compact', maximumSignificantDigits: 3 }).format(amount)}`;
  return new Intl.NumberFormat(intlLocale(), {
    style: 'currency',
    currency: d.quota_display_type === 'CNY' ? 'CNY' : 'USD',
    notation: 'compact',
    maximumSignificantDigits: 3,
  }).format(amount);
}

/** Converts an amount in the display currency back to quota units (for forms). */
export function quotaFromDisplay(amount: number): number {
  const d = display;
  if (!d.display_in_currency || d.quota_display_type === 'TOKENS') return Math.round(amount);
  let usd = amount;
  if (d.quota_display_type === 'CNY') usd = amount / d.usd_exchange_rate;
  else if (d.quota_display_type === 'CUSTOM') usd = amount / d.custom_currency_exchange_rate;
  return Math.round(usd * d.quota_per_unit);
}

/** Converts quota units to the display currency amount (for forms). */
export function displayFromQuota(quota: number): number {
  const d = display;
  if (!d.display_in_currency || d.quota_display_type === 'TOKENS') return quota;
  const usd = quota / d.quota_per_unit;
  if (d.quota_display_type === 'CNY') return usd * d.usd_exchange_rate;
  if (d.quota_display_type === 'CUSTOM') return usd * d.custom_currency_exchange_rate;
  return usd;
}

/** Unix seconds (or ms when > 1e12) to a locale date-time string. */
export function formatDateTime(ts: number): string {
  if (!ts) return '—';
  const ms = ts > 1e12 ? ts : ts * 1000;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(ms));
}

export function formatDate(ts: number): string {
  if (!ts) return '—';
  const ms = ts > 1e12 ? ts : ts * 1000;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium' }).format(new Date(ms));
}

/** Milliseconds as "850 ms" / "1.2 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${formatNumber(ms, 0)} ms`;
  return `${formatNumber(ms / 1000, 1)} s`;
}
