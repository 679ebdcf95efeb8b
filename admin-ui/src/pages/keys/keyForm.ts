// The API key form's rules and the body it sends, kept apart from the page so
// they can be tested directly. The server's own limits (gateway/api/tokens.c):
// name 1..50 bytes, remain_quota 0..2^31-1, expired_time -1 or in the future,
// allow_ips entries as gateway/core/cidr.h parses them.
import type { TFunction } from 'i18next';
import { displayFromQuota, quotaFromDisplay } from '../../lib/format';

export const NAME_MAX_BYTES = 50;
export const QUOTA_MAX = 2147483647;
const CIDR_ENTRY_MAX = 49;

export const TOKEN_ENABLED = 1;
export const TOKEN_DISABLED = 2;
export const TOKEN_EXPIRED = 3;
export const TOKEN_EXHAUSTED = 4;

/** One row of GET /api/token/ (the key is masked). */
export interface Token {
  id: number;
  user_id: number;
  key: string;
  status: number;
  name: string;
  created_time: number;
  accessed_time: number;
  expired_time: number;
  remain_quota: number;
  unlimited_quota: boolean;
  used_quota: number;
  model_limits_enabled: boolean;
  model_limits: string;
  allow_ips: string;
  group: string;
  cross_group_retry?: boolean;
}

export interface KeyFormValues {
  name: string;
  unlimited: boolean;
  /** remaining quota in the display currency (or tokens) */
  quota: number | string;
  never: boolean;
  /** "YYYY-MM-DD HH:mm:ss" (local time) as @mantine/dates gives it, or null */
  expires: string | null;
  limitModels: boolean;
  models: string[];
  allowIps: string;
  /** '' = the account's own group */
  group: string;
}

export function emptyKeyForm(): KeyFormValues {
  return {
    name: '',
    unlimited: true,
    quota: 0,
    never: true,
    expires: null,
    limitModels: false,
    models: [],
    allowIps: '',
    group: '',
  };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Unix seconds to the picker's local "YYYY-MM-DD HH:mm:ss". */
export function pickerValue(unix: number): string {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The picker's local "YYYY-MM-DD HH:mm[:ss]" to unix seconds (NaN when unreadable). */
export function unixFromPicker(v: string | null): number {
  if (!v) return NaN;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v.trim());
  if (!m) return NaN;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return Math.floor(d.getTime() / 1000);
}

export function formFromToken(t: Token): KeyFormValues {
  const models = (t.model_limits || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    name: t.name,
    unlimited: !!t.unlimited_quota,
    quota: roundDisplay(displayFromQuota(t.remain_quota)),
    never: t.expired_time === -1,
    expires: t.expired_time > 0 ? pickerValue(t.expired_time) : null,
    limitModels: !!t.model_limits_enabled,
    models,
    allowIps: t.allow_ips || '',
    group: t.group || '',
  };
}

/** Display amounts keep 6 decimals: enough for one quota unit at the default rate. */
export function roundDisplay(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

// ---- IP allow-list (same syntax as gateway/core/cidr.h) ----------------------

export function ipEntries(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.replace(/^[ \t\r]+|[ \t\r]+$/g, ''))
    .filter((s) => s.length > 0);
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (s.includes('%')) return false; // zone ids are refused
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  let units = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    const last = i === all.length - 1;
    if (last && g.includes('.')) {
      if (!isIPv4(g)) return false;
      units += 2;
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      units += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? units <= 7 : units === 8;
}

/** null when the entry is an IPv4/IPv6 address or network the gateway accepts. */
export function ipEntryValid(entry: string): boolean {
  if (entry.length > CIDR_ENTRY_MAX) return false;
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const prefix = slash < 0 ? null : entry.slice(slash + 1);
  const v4 = isIPv4(addr);
  const v6 = !v4 && isIPv6(addr);
  if (!v4 && !v6) return false;
  if (prefix === null) return true;
  if (!/^(0|[1-9]\d*)$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

/** The entries that are not valid addresses or networks. */
export function badIpEntries(text: string): string[] {
  return ipEntries(text).filter((e) => !ipEntryValid(e));
}

// ---- validation --------------------------------------------------------------

export function validateKeyForm(
  t: TFunction,
  v: KeyFormValues,
  nowSec = Math.floor(Date.now() / 1000),
  /** on edit: the loaded values (an unchanged past expiry may stay, as the server allows) */
  initial?: KeyFormValues,
): Partial<Record<keyof KeyFormValues, string>> {
  const e: Partial<Record<keyof KeyFormValues, string>> = {};
  const name = v.name.trim();
  if (!name) e.name = t('keys:form.errors.nameRequired');
  else if (utf8Length(name) > NAME_MAX_BYTES) e.name = t('keys:form.errors.nameLong', { max: NAME_MAX_BYTES });
  if (!v.unlimited) {
    const q = typeof v.quota === 'number' ? v.quota : parseFloat(v.quota);
    if (v.quota === '' || !Number.isFinite(q)) e.quota = t('keys:form.errors.quotaNumber');
    else if (q < 0) e.quota = t('keys:form.errors.quotaNegative');
    else if (quotaFromDisplay(q) > QUOTA_MAX) e.quota = t('keys:form.errors.quotaLarge');
  }
  if (!v.never) {
    const at = unixFromPicker(v.expires);
    if (!Number.isFinite(at)) e.expires = t('keys:form.errors.expiryRequired');
    else if (at <= nowSec && !(initial && !initial.never && initial.expires === v.expires))
      e.expires = t('keys:form.errors.expiryPast');
  }
  if (v.limitModels && v.models.length === 0) e.models = t('keys:form.errors.modelsRequired');
  const bad = badIpEntries(v.allowIps);
  if (bad.length) e.allowIps = t('keys:form.errors.ipInvalid', { entry: bad[0] });
  return e;
}

/** The JSON body of POST/PUT /api/token/. On edit, remain_quota is sent only
 * when the amount was changed: the server's value moves with usage, and sending
 * back the loaded amount would undo what was spent since. */
export function keyPayload(v: KeyFormValues, initial?: KeyFormValues): Record<string, unknown> {
  const q = typeof v.quota === 'number' ? v.quota : parseFloat(v.quota) || 0;
  const body: Record<string, unknown> = {
    name: v.name.trim(),
    unlimited_quota: v.unlimited,
    expired_time: v.never ? -1 : unixFromPicker(v.expires),
    model_limits_enabled: v.limitModels,
    model_limits: v.limitModels ? v.models.join(',') : '',
    allow_ips: ipEntries(v.allowIps).join('\n'),
    group: v.group || '',
  };
  const initialQ = initial ? (typeof initial.quota === 'number' ? initial.quota : parseFloat(initial.quota) || 0) : NaN;
  if (!initial || (!v.unlimited && q !== initialQ)) body.remain_quota = v.unlimited ? 0 : quotaFromDisplay(q);
  return body;
}
