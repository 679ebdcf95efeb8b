// The price tables as the relay reads them (gateway/relay/billing.c): JSON
// objects of model → number in the options ModelRatio, CompletionRatio,
// ModelPrice, CacheRatio and CreateCacheRatio, and GroupRatio of group →
// number. A fixed price (ModelPrice) wins over the ratios. Ratio 1 is $2 per
// 1M input tokens, as the reference shows it (quota per unit 500 000 per $1,
// a ratio is quota per 1K tokens).

export const PRICE_KEYS = ['ModelRatio', 'CompletionRatio', 'ModelPrice', 'CacheRatio', 'CreateCacheRatio'] as const;
export type PriceKey = (typeof PRICE_KEYS)[number];
export type Table = Record<string, number>;
export type Tables = Record<PriceKey, Table>;

/** The server's bound for every price value (billing.c RATIO_MAX). */
export const RATIO_MAX = 1e9;

export function parseTable(text: string | undefined): { table: Table; error?: string } {
  if (!text || !text.trim()) return { table: {} };
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { table: {}, error: 'not an object' };
    const table: Table = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) table[k] = x;
    return { table };
  } catch (e) {
    return { table: {}, error: (e as Error).message };
  }
}

export function parseTables(options: Record<string, string>): { tables: Tables; errors: Partial<Record<PriceKey, string>> } {
  const tables = {} as Tables;
  const errors: Partial<Record<PriceKey, string>> = {};
  for (const k of PRICE_KEYS) {
    const r = parseTable(options[k]);
    tables[k] = r.table;
    if (r.error) errors[k] = r.error;
  }
  return { tables, errors };
}

export interface ModelRow {
  name: string;
  ratio?: number;
  completion?: number;
  price?: number;
  cache?: number;
  createCache?: number;
  /** named by a channel */
  inChannels: boolean;
  /** what the relay charges now (/api/pricing), for models a channel serves */
  charged?: { completion: number; perCall: boolean };
}

export function buildRows(
  t: Tables,
  channelModels: string[],
  charged: Record<string, { completion_ratio: number; quota_type: number }> = {},
): ModelRow[] {
  const names = new Set<string>(channelModels);
  for (const k of PRICE_KEYS) for (const n of Object.keys(t[k])) names.add(n);
  const inCh = new Set(channelModels);
  return [...names]
    .sort((a, b) => a.localeCompare(b))
    .map((name) => ({
      name,
      ratio: t.ModelRatio[name],
      completion: t.CompletionRatio[name],
      price: t.ModelPrice[name],
      cache: t.CacheRatio[name],
      createCache: t.CreateCacheRatio[name],
      inChannels: inCh.has(name),
      charged: charged[name]
        ? { completion: charged[name].completion_ratio, perCall: charged[name].quota_type === 1 }
        : undefined,
    }));
}

export function isPriced(r: ModelRow): boolean {
  return r.price !== undefined || r.ratio !== undefined;
}

/** Ratio 1 = $2 per 1M input tokens (the reference's display). */
export const ratioToUsdPerM = (ratio: number) => round(ratio * 2);
export const usdPerMToRatio = (usd: number) => round(usd / 2);

function round(n: number): number {
  return Number(n.toPrecision(12));
}

export type NumError = 'required' | 'number' | 'negative' | 'max';

/** A price field's text: empty means unset (unless required). */
export function parseAmount(raw: string, required = false): { value?: number; error?: NumError } {
  const s = raw.trim();
  if (s === '') return required ? { error: 'required' } : {};
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return { error: 'number' };
  const n = Number(s);
  if (!Number.isFinite(n)) return { error: 'number' };
  if (n < 0) return { error: 'negative' };
  if (n > RATIO_MAX) return { error: 'max' };
  return { value: n };
}

export interface ModelEdit {
  name: string;
  mode: 'token' | 'call';
  ratio: string;
  completion: string;
  price: string;
  cache: string;
  createCache: string;
}

export function editOf(r?: ModelRow): ModelEdit {
  const s = (n?: number) => (n === undefined ? '' : String(n));
  return {
    name: r?.name ?? '',
    mode: r?.price !== undefined ? 'call' : 'token',
    ratio: s(r?.ratio),
    completion: s(r?.completion),
    price: s(r?.price),
    cache: s(r?.cache),
    createCache: s(r?.createCache),
  };
}

export type EditErrors = Partial<Record<keyof ModelEdit, NumError | 'duplicate'>>;

export function validateEdit(e: ModelEdit, existing: string[], isNew: boolean): EditErrors {
  const errs: EditErrors = {};
  const name = e.name.trim();
  if (!name) errs.name = 'required';
  else if (isNew && existing.includes(name)) errs.name = 'duplicate';
  const check = (k: 'ratio' | 'completion' | 'price' | 'cache' | 'createCache', required: boolean) => {
    const r = parseAmount(e[k], required);
    if (r.error) errs[k] = r.error;
  };
  if (e.mode === 'call') {
    check('price', true);
  } else {
    check('ratio', true);
    check('completion', false);
    check('cache', false);
    check('createCache', false);
  }
  return errs;
}

function cloneTables(t: Tables): Tables {
  const out = {} as Tables;
  for (const k of PRICE_KEYS) out[k] = { ...t[k] };
  return out;
}

function setOrDelete(t: Table, name: string, raw: string) {
  const v = parseAmount(raw).value;
  if (v === undefined) delete t[name];
  else t[name] = v;
}

/** The tables after saving one model: a fixed price clears its ratios and
 * the other way round, so the relay's choice is what the admin sees. */
export function applyEdit(t: Tables, e: ModelEdit): Tables {
  const out = cloneTables(t);
  const name = e.name.trim();
  if (e.mode === 'call') {
    out.ModelPrice[name] = parseAmount(e.price).value ?? 0;
    for (const k of ['ModelRatio', 'CompletionRatio', 'CacheRatio', 'CreateCacheRatio'] as const) delete out[k][name];
  } else {
    delete out.ModelPrice[name];
    out.ModelRatio[name] = parseAmount(e.ratio).value ?? 0;
    setOrDelete(out.CompletionRatio, name, e.completion);
    setOrDelete(out.CacheRatio, name, e.cache);
    setOrDelete(out.CreateCacheRatio, name, e.createCache);
  }
  return out;
}

export function removeModel(t: Tables, name: string): Tables {
  const out = cloneTables(t);
  for (const k of PRICE_KEYS) delete out[k][name];
  return out;
}

/** The options whose table differs (each is saved whole, as its JSON text). */
export function changedKeys(before: Tables, after: Tables): PriceKey[] {
  return PRICE_KEYS.filter((k) => JSON.stringify(sorted(before[k])) !== JSON.stringify(sorted(after[k])));
}

function sorted(t: Table): Array<[string, number]> {
  return Object.entries(t).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function tableText(t: Table): string {
  return JSON.stringify(t, null, 2);
}

/** The completion ratio the relay charges when it is not the table's (a
 * built-in rule, or the default for an unset entry); undefined when equal. */
export function chargedCompletion(r: ModelRow): number | undefined {
  const c = r.charged;
  if (!c || c.perCall || r.price !== undefined || r.ratio === undefined) return undefined;
  return r.completion !== undefined && Math.abs(c.completion - r.completion) < 1e-9 ? undefined : c.completion;
}
