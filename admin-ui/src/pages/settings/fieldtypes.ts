// Declarative settings fields: each one a registry key (gateway/state/
// option_registry.c) with its type, range and JSON shape, and the client-side
// check that mirrors the server's (gateway/api/option_normalize.c), so the
// problem shows next to the field before anything is sent.
import type { TFunction } from 'i18next';

/** navModule: one module of HeaderNavModules (src/lib/navModules.ts) as two
 * switches; the field's value is the option's whole text, the module merged in. */
export type FieldKind = 'bool' | 'int' | 'float' | 'string' | 'text' | 'url' | 'json' | 'select' | 'secret' | 'navModule';
export type JsonShape = 'any' | 'array' | 'object' | 'ratios' | 'ratios2' | 'strings' | 'objects' | 'ports';

export interface FieldDef {
  key: string;
  kind: FieldKind;
  min?: number;
  max?: number;
  /** strictly greater than min (QuotaPerUnit) */
  gtMin?: boolean;
  json?: JsonShape;
  options?: string[];
  /** the /api/status flag that says whether the server runs this feature */
  statusKey?: string;
  /** a help text exists in settings:help.<id> */
  help?: boolean;
  /** an amount of quota: its value in the display currency is shown */
  quota?: boolean;
  /** navModule: the module's name ("pricing") */
  module?: string;
}

export interface SectionDef {
  id: string;
  fields: FieldDef[];
  /** a help text exists in settings:sectionHelp.<id> */
  help?: boolean;
}

const isNum = (s: string) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s);

export function checkNumber(
  t: TFunction,
  raw: string,
  opts: { integer?: boolean; min?: number; max?: number; gtMin?: boolean },
): string | null {
  const s = raw.trim();
  if (s === '') return t('settings:validate.required');
  if (!isNum(s)) return opts.integer ? t('settings:validate.integer') : t('settings:validate.number');
  const n = Number(s);
  if (!Number.isFinite(n)) return t('settings:validate.number');
  if (opts.integer && !Number.isInteger(n)) return t('settings:validate.integer');
  const { min, max } = opts;
  if (opts.gtMin && min !== undefined && n <= 0) return t('settings:validate.positive');
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    if (max === undefined || max >= 9e15) return t('settings:validate.atLeast', { min });
    return t('settings:validate.range', { min, max });
  }
  return null;
}

export function checkUrl(t: TFunction, raw: string): string | null {
  const s = raw.trim();
  if (s === '') return null;
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return t('settings:validate.url');
    return null;
  } catch {
    return t('settings:validate.url');
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isRatio = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e9;

export function checkJson(t: TFunction, raw: string, shape: JsonShape = 'any'): string | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return t('settings:validate.json', { error: (e as Error).message });
  }
  switch (shape) {
    case 'array':
      return Array.isArray(v) ? null : t('settings:validate.jsonArray');
    case 'ports':
      if (!Array.isArray(v)) return t('settings:validate.jsonArray');
      return v.every((p) => typeof p === 'string' && /^\s*(\d{1,5}(\s*-\s*\d{1,5})?)?\s*$/.test(p))
        ? null
        : t('settings:validate.ports');
    case 'any':
      return null;
    default:
      break;
  }
  if (!isObj(v)) return t('settings:validate.jsonObject');
  const vals = Object.values(v);
  if (shape === 'ratios' && !vals.every(isRatio)) return t('settings:validate.jsonRatios');
  if (shape === 'strings' && !vals.every((x) => typeof x === 'string')) return t('settings:validate.jsonStrings');
  if (shape === 'objects' && !vals.every(isObj)) return t('settings:validate.jsonObjects');
  if (shape === 'ratios2' && !vals.every((x) => isObj(x) && Object.values(x).every(isRatio)))
    return t('settings:validate.jsonRatios2');
  return null;
}

/** null when the value may be sent. */
export function validateField(t: TFunction, def: FieldDef, raw: string): string | null {
  switch (def.kind) {
    case 'int':
      return checkNumber(t, raw, { integer: true, min: def.min, max: def.max });
    case 'float':
      return checkNumber(t, raw, { min: def.min, max: def.max, gtMin: def.gtMin });
    case 'url':
      return checkUrl(t, raw);
    case 'json':
      return checkJson(t, raw, def.json);
    case 'select':
      return def.options && !def.options.includes(raw) ? t('settings:validate.choice') : null;
    case 'string':
    case 'text':
      return raw.length > 1024 * 1024 ? t('settings:validate.tooLong') : null;
    default:
      return null;
  }
}

/** The text sent as the option's value (what the server stores). */
export function wireValue(def: FieldDef, raw: string): string {
  if (def.kind === 'int' || def.kind === 'float' || def.kind === 'url') return raw.trim();
  return raw;
}

/* Shorthands for the group files. I64: integers stay exact in a double. */
export const I64 = 9007199254740991;
type Extra = Partial<Omit<FieldDef, 'key' | 'kind'>>;
export const bool = (key: string, x: Extra = {}): FieldDef => ({ key, kind: 'bool', ...x });
export const int = (key: string, min: number, max: number, x: Extra = {}): FieldDef => ({ key, kind: 'int', min, max, ...x });
export const float = (key: string, min: number, max: number, x: Extra = {}): FieldDef => ({ key, kind: 'float', min, max, ...x });
export const str = (key: string, x: Extra = {}): FieldDef => ({ key, kind: 'string', ...x });
export const text = (key: string, x: Extra = {}): FieldDef => ({ key, kind: 'text', ...x });
export const url = (key: string, x: Extra = {}): FieldDef => ({ key, kind: 'url', ...x });
export const secret = (key: string, x: Extra = {}): FieldDef => ({ key, kind: 'secret', ...x });
export const json = (key: string, shape: JsonShape, x: Extra = {}): FieldDef => ({ key, kind: 'json', json: shape, ...x });
export const navModule = (key: string, module: string, x: Extra = {}): FieldDef => ({ key, kind: 'navModule', module, ...x });
export const select = (key: string, options: string[], x: Extra = {}): FieldDef => ({ key, kind: 'select', options, ...x });
