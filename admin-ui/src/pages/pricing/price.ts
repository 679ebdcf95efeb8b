// Prices from the ratios, as the reference's pricing page computes them
// (web/src/features/pricing/lib/price.ts): per 1M tokens, input is
// model_ratio × 2 × group ratio dollars, output is input × completion_ratio;
// a fixed-price model costs model_price × group ratio dollars per call.
// Money is shown in the site's display currency; prices are never shown as
// raw tokens (the reference's billing display), so TOKENS shows dollars.
import { intlLocale } from '../../i18n';
import { getDisplaySettings } from '../../lib/format';

export interface PricingModel {
  model_name: string;
  quota_type: number; // 0 per token, 1 per call
  model_ratio: number;
  model_price: number;
  completion_ratio: number;
  owner_by?: string;
  vendor_id?: number;
  enable_groups?: string[];
  supported_endpoint_types?: string[];
}

export interface PricingVendor {
  id: number;
  name: string;
}

export interface PricingAnswer {
  success: boolean;
  message?: string;
  data: PricingModel[];
  vendors?: PricingVendor[];
  group_ratio?: Record<string, number>;
  usable_group?: Record<string, string | { desc: string; ratio: number }>;
  auto_groups?: string[];
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** A configured group ratio; unknown groups cost 1 (reference GetGroupRatio). */
export function configuredRatio(groupRatio: Record<string, number>, group: string): number {
  const r = groupRatio[group];
  return finite(r) ? r : 1;
}

/** The group ratio a row is priced with: the chosen group when the model is in
 * it, else the cheapest group the model is enabled in (the reference's
 * getDisplayGroupRatio). */
export function displayGroupRatio(m: PricingModel, groupRatio: Record<string, number>, group?: string): number {
  const groups = m.enable_groups ?? [];
  if (group && groups.includes(group)) return configuredRatio(groupRatio, group);
  let min = Infinity;
  for (const g of groups) {
    const r = groupRatio[g];
    if (finite(r) && r < min) min = r;
  }
  return min === Infinity ? 1 : min;
}

/** Dollars per 1M input tokens, or NaN for a per-call model. */
export function inputPerM(m: PricingModel, groupRatio: number): number {
  return m.quota_type === 1 ? NaN : m.model_ratio * 2 * groupRatio;
}

export function outputPerM(m: PricingModel, groupRatio: number): number {
  return inputPerM(m, groupRatio) * m.completion_ratio;
}

/** Dollars per call, or NaN for a per-token model. */
export function perCall(m: PricingModel, groupRatio: number): number {
  return m.quota_type === 1 ? (m.model_price || 0) * groupRatio : NaN;
}

function money(amount: number, currency: string, maxDigits: number): string {
  const abs = Math.abs(amount);
  const digits = abs === 0 || abs >= 1 ? 2 : Math.min(maxDigits, 6);
  return new Intl.NumberFormat(intlLocale(), {
    style: 'currency',
    currency,
    minimumFractionDigits: Math.min(2, digits),
    maximumFractionDigits: Math.max(2, digits),
  }).format(amount);
}

/** Dollars as dollars (the admin's price editor, whose unit is USD). */
export function formatUsd(usd: number, maxDigits = 6): string {
  if (!Number.isFinite(usd)) return '—';
  return money(usd, 'USD', maxDigits);
}

/** Dollars in the site's display currency (CNY and custom through their rates). */
export function formatPrice(usd: number, maxDigits = 6): string {
  if (!Number.isFinite(usd)) return '—';
  const d = getDisplaySettings();
  if (d.display_in_currency && d.quota_display_type === 'CNY') return money(usd * d.usd_exchange_rate, 'CNY', maxDigits);
  if (d.display_in_currency && d.quota_display_type === 'CUSTOM') {
    const n = new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: maxDigits, minimumFractionDigits: 2 });
    return `${d.custom_currency_symbol}${n.format(usd * d.custom_currency_exchange_rate)}`;
  }
  return money(usd, 'USD', maxDigits);
}
