// Redemption code form checks and bodies, as the server has them
// (gateway/api/redemptions.c): name 1..20 characters, quota 1..2147483647 units
// (entered in the display currency), count 1..100, expiry 0 (never) or later
// than now.
import type { TFunction } from 'i18next';
import { quotaFromDisplay } from '../../lib/format';

export const NAME_MAX = 20;
export const COUNT_MAX = 100;
export const QUOTA_MAX = 2147483647;

export interface RedemptionFormValues {
  name: string;
  /** display currency */
  amount: number | string;
  count: number | string;
  /** datetime-local value, empty for never */
  expires: string;
}

const num = (v: number | string) => (typeof v === 'number' ? v : parseFloat(v));

/** A datetime-local value (local time) to unix seconds; 0 when empty. */
export function expiryToUnix(v: string): number {
  if (!v) return 0;
  const ms = new Date(v).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
}

/** Unix seconds to a datetime-local value in local time. */
export function unixToExpiry(ts: number): string {
  if (!ts) return '';
  const d = new Date(ts * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function validateRedemption(t: TFunction, v: RedemptionFormValues, creating: boolean) {
  const e: Partial<Record<keyof RedemptionFormValues, string>> = {};
  const n = Array.from(v.name.trim()).length;
  if (n < 1 || n > NAME_MAX) e.name = t('redemptions:validate.name', { max: NAME_MAX });
  const a = num(v.amount);
  if (!Number.isFinite(a) || a <= 0) e.amount = t('redemptions:validate.amount');
  else {
    const q = quotaFromDisplay(a);
    if (q < 1 || q > QUOTA_MAX) e.amount = t('redemptions:validate.amountRange');
  }
  if (creating) {
    const c = num(v.count);
    if (!Number.isInteger(c) || c < 1 || c > COUNT_MAX) e.count = t('redemptions:validate.count', { max: COUNT_MAX });
  }
  const exp = expiryToUnix(v.expires);
  if (!Number.isFinite(exp)) e.expires = t('redemptions:validate.expiry');
  else if (exp !== 0 && exp * 1000 < Date.now()) e.expires = t('redemptions:validate.expiryPast');
  return e;
}

export function redemptionBody(v: RedemptionFormValues, creating: boolean) {
  const body: Record<string, unknown> = {
    name: v.name.trim(),
    quota: quotaFromDisplay(num(v.amount)),
    expired_time: expiryToUnix(v.expires),
  };
  if (creating) body.count = num(v.count);
  return body;
}

/** The text file of created keys: one per line. */
export function keysFile(keys: string[]): string {
  return keys.join('\n') + '\n';
}
