// Usage logs: the row of /api/log/ and /api/log/self (gateway/api/logs.c), the
// reference's log types, the filters as the API's query parameters, and the
// `other` JSON (gateway/relay/relay_settle.c other_json: ratios, cache tokens,
// time to first token ...).

export interface LogRow {
  id: number;
  user_id: number;
  created_at: number;
  type: number;
  content: string;
  username: string;
  token_name: string;
  model_name: string;
  quota: number;
  prompt_tokens: number;
  completion_tokens: number;
  use_time: number; // seconds
  is_stream: boolean;
  channel: number;
  channel_name?: string;
  token_id: number;
  group: string;
  ip: string;
  request_id?: string;
  other: string;
}

export interface LogStat {
  quota: number;
  rpm: number;
  tpm: number;
}

export interface LogOther {
  model_ratio?: number;
  completion_ratio?: number;
  group_ratio?: number;
  model_price?: number; // USD per call; -1 = priced by tokens
  upstream_model_name?: string;
  is_model_mapped?: boolean;
  frt?: number; // ms; -1 = none
  channels_tried?: number;
  local_count_tokens?: boolean;
  cache_tokens?: number;
  cache_ratio?: number;
  cache_creation_tokens?: number;
  cache_creation_ratio?: number;
  cache_creation_tokens_5m?: number;
  cache_creation_ratio_5m?: number;
  cache_creation_tokens_1h?: number;
  cache_creation_ratio_1h?: number;
  settle_error?: string;
  [k: string]: unknown;
}

/** The reference's log types (model/log.go LogType*); 0 = every type in the filter. */
export const LOG_TYPES = [
  { value: 1, key: 'topup', color: 'cyan' },
  { value: 2, key: 'consume', color: 'green' },
  { value: 3, key: 'manage', color: 'orange' },
  { value: 4, key: 'system', color: 'grape' },
  { value: 5, key: 'error', color: 'red' },
  { value: 6, key: 'refund', color: 'blue' },
] as const;

export function logType(v: number): { key: string; color: string } {
  return LOG_TYPES.find((x) => x.value === v) ?? { key: 'unknown', color: 'gray' };
}

export function parseOther(s: string | undefined | null): LogOther {
  if (!s) return {};
  try {
    const v = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as LogOther) : {};
  } catch {
    return {};
  }
}

export interface Filters {
  /** unix seconds or null */
  start: number | null;
  end: number | null;
  type: string; // '0' = all
  model: string;
  token: string;
  group: string;
  requestId: string;
  /** admins only */
  username: string;
  channel: string;
}

export const EMPTY_FILTERS: Filters = {
  start: null,
  end: null,
  type: '0',
  model: '',
  token: '',
  group: '',
  requestId: '',
  username: '',
  channel: '',
};

/** The filters as the API's query parameters; the admin-only ones only for admins. */
export function filterQuery(f: Filters, admin: boolean): Record<string, string | number | undefined> {
  const q: Record<string, string | number | undefined> = {
    type: f.type && f.type !== '0' ? f.type : undefined,
    start_timestamp: f.start ?? undefined,
    end_timestamp: f.end ?? undefined,
    model_name: f.model.trim() || undefined,
    token_name: f.token.trim() || undefined,
    group: f.group.trim() || undefined,
    request_id: f.requestId.trim() || undefined,
  };
  if (admin) {
    q.username = f.username.trim() || undefined;
    q.channel = f.channel.trim() || undefined;
  }
  return q;
}

/** "YYYY-MM-DD HH:mm:ss" (the picker's value, local time) to unix seconds. */
export function pickerToUnix(s: string | null): number | null {
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  return Number.isNaN(d.getTime()) ? null : Math.floor(d.getTime() / 1000);
}

/** Unix seconds to the picker's "YYYY-MM-DD HH:mm:ss" (local time). */
export function unixToPicker(ts: number | null): string | null {
  if (ts === null) return null;
  const d = new Date(ts * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export type QuickRange = 'hour' | 'today' | '7d' | '30d';

export function quickRange(r: QuickRange, nowMs = Date.now()): { start: number; end: number } {
  const end = Math.floor(nowMs / 1000);
  if (r === 'hour') return { start: end - 3600, end };
  if (r === 'today') {
    const d = new Date(nowMs);
    d.setHours(0, 0, 0, 0);
    return { start: Math.floor(d.getTime() / 1000), end };
  }
  return { start: end - (r === '7d' ? 7 : 30) * 86400, end };
}
