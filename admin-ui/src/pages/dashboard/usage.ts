// The dashboard's arithmetic, kept apart from the page so it is testable:
// the range presets, and the hourly quota_data rows of /api/data (reference
// model/usedata.go: {model_name, created_at = the hour, token_used, count,
// quota}) summed per time bucket and per model on the client.

export interface QuotaRow {
  model_name: string;
  created_at: number; // unix seconds, the start of the hour
  token_used: number;
  count: number;
  quota: number;
  username?: string;
}

export type Preset = '24h' | '7d' | '30d' | 'custom';
export type BucketSize = 'hour' | 'day';
export type Metric = 'count' | 'tokens' | 'quota';

export interface Range {
  start: number; // unix seconds, inclusive
  end: number; // unix seconds, inclusive
}

export interface Sums {
  count: number;
  tokens: number;
  quota: number;
}

export interface ModelSums extends Sums {
  model: string;
}

export interface Bucket extends Sums {
  /** unix seconds: the bucket's first second (local midnight for days) */
  ts: number;
  models: Record<string, Sums>;
}

export interface Aggregate {
  totals: Sums;
  /** per model, the highest spend first (then calls, then name) */
  models: ModelSums[];
  /** every bucket of the range in time order, empty ones included */
  buckets: Bucket[];
  bucket: BucketSize;
}

const HOUR = 3600;
const DAY = 86400;
const PRESET_SECONDS: Record<Exclude<Preset, 'custom'>, number> = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };
/** A range longer than this would draw too many empty buckets: only the filled ones are drawn. */
const MAX_FILLED_BUCKETS = 800;

export function presetRange(preset: Exclude<Preset, 'custom'>, nowMs = Date.now()): Range {
  const end = Math.floor(nowMs / 1000);
  return { start: end - PRESET_SECONDS[preset], end };
}

/** "YYYY-MM-DD" pair (the date picker's values) to local midnight .. the day's last second, never past now. */
export function customRange(from: string, to: string, nowMs = Date.now()): Range | null {
  const a = parseDay(from);
  const b = parseDay(to);
  if (a === null || b === null) return null;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const end = Math.min(Math.floor(nowMs / 1000), dayAfter(hi) - 1);
  return { start: lo, end: Math.max(lo, end) };
}

function parseDay(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : Math.floor(d.getTime() / 1000);
}

function startOfDay(ts: number): number {
  const d = new Date(ts * 1000);
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

/** Local midnight of the next day (DST-safe: never a fixed 86400). */
function dayAfter(ts: number): number {
  const d = new Date(ts * 1000);
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() + 1);
  return Math.floor(d.getTime() / 1000);
}

/** Hours up to two days, days beyond. */
export function bucketSizeFor(r: Range): BucketSize {
  return r.end - r.start <= 2 * DAY ? 'hour' : 'day';
}

export function bucketStart(ts: number, size: BucketSize): number {
  return size === 'hour' ? ts - (((ts % HOUR) + HOUR) % HOUR) : startOfDay(ts);
}

function nextBucket(ts: number, size: BucketSize): number {
  return size === 'hour' ? ts + HOUR : dayAfter(ts);
}

const zero = (): Sums => ({ count: 0, tokens: 0, quota: 0 });
const num = (v: unknown) => {
  const n = typeof v === 'string' ? Number(v) : (v as number);
  return Number.isFinite(n) ? n : 0;
};

function add(s: Sums, r: QuotaRow) {
  s.count += num(r.count);
  s.tokens += num(r.token_used);
  s.quota += num(r.quota);
}

export function aggregate(rows: QuotaRow[], range: Range, size: BucketSize = bucketSizeFor(range)): Aggregate {
  const totals = zero();
  const perModel = new Map<string, Sums>();
  const perBucket = new Map<number, Bucket>();

  const first = bucketStart(range.start, size);
  const last = bucketStart(range.end, size);
  let n = 0;
  for (let ts = first; ts <= last && n < MAX_FILLED_BUCKETS; ts = nextBucket(ts, size), n++) {
    perBucket.set(ts, { ts, ...zero(), models: {} });
  }

  for (const r of rows ?? []) {
    const model = r.model_name || '';
    add(totals, r);
    let m = perModel.get(model);
    if (!m) perModel.set(model, (m = zero()));
    add(m, r);
    const ts = bucketStart(num(r.created_at), size);
    let b = perBucket.get(ts);
    if (!b) perBucket.set(ts, (b = { ts, ...zero(), models: {} }));
    add(b, r);
    add((b.models[model] ??= zero()), r);
  }

  const models = [...perModel.entries()]
    .map(([model, s]) => ({ model, ...s }))
    .sort((a, b) => b.quota - a.quota || b.count - a.count || a.model.localeCompare(b.model));
  const buckets = [...perBucket.values()].sort((a, b) => a.ts - b.ts);
  return { totals, models, buckets, bucket: size };
}

/** Average per minute over the range (the reference's "Average RPM/TPM"). */
export function perMinute(total: number, r: Range): number {
  const minutes = Math.max(1, (r.end - r.start) / 60);
  return total / minutes;
}

/** Chart rows: one per bucket, with one key per series ("s0", "s1" ...: model names
 * may hold dots, which the chart would read as paths). The top `top` models by
 * spend are their own series; the rest are summed into one (model: null). */
export function chartRows(
  agg: Aggregate,
  metric: Metric,
  top = 8,
): { series: Array<{ key: string; model: string | null }>; rows: Array<Record<string, number>> } {
  const shown = agg.models.slice(0, top).map((m) => m.model);
  const series: Array<{ key: string; model: string | null }> = shown.map((model, i) => ({ key: `s${i}`, model }));
  if (agg.models.length > top) series.push({ key: `s${top}`, model: null });
  const keyOf = new Map(shown.map((m, i) => [m, `s${i}`]));
  const rows = agg.buckets.map((b) => {
    const row: Record<string, number> = { ts: b.ts };
    for (const s of series) row[s.key] = 0;
    for (const [model, s] of Object.entries(b.models)) row[keyOf.get(model) ?? `s${top}`] += s[metric];
    return row;
  });
  return { series, rows };
}
