// The channel form's values, their validation and the request bodies built
// from them: POST /api/channel/ {mode, multi_key_mode,
// batch_add_set_key_prefix_2_name, channel} and PUT /api/channel/ {id, ...}
// (gateway/api/channel_ops.c). Proxy and the reference's switches live in the
// `setting` JSON column, as the reference stores them.
import type { TFunction } from 'i18next';
import { BASE_URL_REQUIRED, OTHER_REQUIRED, splitList, type Channel } from './types';

export type AddMode = 'single' | 'batch' | 'multi_to_single';

export interface ChannelFormValues {
  type: string;
  name: string;
  base_url: string;
  key: string;
  mode: AddMode;
  multi_key_mode: 'random' | 'polling';
  batch_prefix: boolean;
  key_mode: 'append' | 'replace';
  openai_organization: string;
  models: string[];
  groups: string[];
  tag: string;
  remark: string;
  priority: string;
  weight: string;
  auto_ban: boolean;
  test_model: string;
  status: string;
  model_mapping: string;
  status_code_mapping: string;
  param_override: string;
  header_override: string;
  other: string;
  settings: string;
  proxy: string;
  force_format: boolean;
  thinking_to_content: boolean;
  pass_through_body_enabled: boolean;
  system_prompt: string;
  system_prompt_override: boolean;
  /** the stored `setting` object, so keys this form does not edit survive */
  setting_rest: Record<string, unknown>;
}

export function emptyValues(): ChannelFormValues {
  return {
    type: '1',
    name: '',
    base_url: '',
    key: '',
    mode: 'single',
    multi_key_mode: 'random',
    batch_prefix: false,
    key_mode: 'append',
    openai_organization: '',
    models: [],
    groups: ['default'],
    tag: '',
    remark: '',
    priority: '0',
    weight: '0',
    auto_ban: true,
    test_model: '',
    status: '1',
    model_mapping: '',
    status_code_mapping: '',
    param_override: '',
    header_override: '',
    other: '',
    settings: '',
    proxy: '',
    force_format: false,
    thinking_to_content: false,
    pass_through_body_enabled: false,
    system_prompt: '',
    system_prompt_override: false,
    setting_rest: {},
  };
}

function parseObject(s: string | null | undefined): Record<string, unknown> {
  if (!s || !s.trim()) return {};
  try {
    const v = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Pretty JSON for the editors ("" stays ""; text that does not parse is shown as is). */
function pretty(s: string | null | undefined): string {
  if (!s || !s.trim() || s.trim() === '{}') return '';
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

/** Form values of a stored channel (edit), or of a copy of it (key left empty). */
export function valuesFromChannel(c: Channel): ChannelFormValues {
  const setting = parseObject(c.setting);
  const {
    proxy,
    force_format,
    thinking_to_content,
    pass_through_body_enabled,
    system_prompt,
    system_prompt_override,
    ...rest
  } = setting;
  return {
    ...emptyValues(),
    type: String(c.type),
    name: c.name ?? '',
    base_url: c.base_url ?? '',
    key: '',
    openai_organization: c.openai_organization ?? '',
    models: splitList(c.models),
    groups: splitList(c.group),
    tag: c.tag ?? '',
    remark: c.remark ?? '',
    priority: String(c.priority ?? 0),
    weight: String(c.weight ?? 0),
    auto_ban: c.auto_ban !== 0,
    test_model: c.test_model ?? '',
    status: String(c.status || 1),
    model_mapping: pretty(c.model_mapping),
    status_code_mapping: pretty(c.status_code_mapping),
    param_override: pretty(c.param_override),
    header_override: pretty(c.header_override),
    other: c.other ?? '',
    settings: pretty(c.settings),
    proxy: typeof proxy === 'string' ? proxy : '',
    force_format: force_format === true,
    thinking_to_content: thinking_to_content === true,
    pass_through_body_enabled: pass_through_body_enabled === true,
    system_prompt: typeof system_prompt === 'string' ? system_prompt : '',
    system_prompt_override: system_prompt_override === true,
    setting_rest: rest,
    multi_key_mode: c.channel_info?.multi_key_mode === 'polling' ? 'polling' : 'random',
  };
}

/** null when s is empty or a JSON object (of strings when `strings`), else the message key. */
export function jsonObjectError(s: string, strings = false): string | null {
  if (!s.trim()) return null;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return 'validation.json';
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'validation.jsonObject';
  if (strings && Object.values(v as Record<string, unknown>).some((x) => typeof x !== 'string'))
    return 'validation.jsonStrings';
  return null;
}

const INT = /^-?\d+$/;

/** Validation rules for @mantine/form; `editing` relaxes the key. */
export function validators(t: TFunction, editing: boolean) {
  const json = (strings: boolean) => (v: string) => {
    const e = jsonObjectError(v, strings);
    return e ? t(e) : null;
  };
  return {
    type: (v: string) => (v ? null : t('validation.type')),
    name: (v: string) => (v.trim() ? (v.length > 191 ? t('validation.tooLong', { max: 191 }) : null) : t('validation.name')),
    key: (v: string) => (!editing && !v.trim() ? t('validation.key') : null),
    base_url: (v: string, all: ChannelFormValues) => {
      const s = v.trim();
      if (!s) return BASE_URL_REQUIRED.has(Number(all.type)) ? t('validation.baseUrlRequired') : null;
      return /^https?:\/\/[^\s/]+/.test(s) ? null : t('validation.baseUrl');
    },
    models: (v: string[]) => (v.length ? null : t('validation.models')),
    groups: (v: string[]) => (v.length ? null : t('validation.groups')),
    priority: (v: string) => (INT.test(v.trim()) ? null : t('validation.integer')),
    weight: (v: string) => (/^\d+$/.test(v.trim()) ? null : t('validation.weight')),
    model_mapping: json(true),
    status_code_mapping: json(true),
    param_override: json(false),
    header_override: json(false),
    settings: json(false),
    other: (v: string, all: ChannelFormValues) =>
      OTHER_REQUIRED.has(Number(all.type)) && !v.trim() ? t('validation.other') : null,
    proxy: (v: string) =>
      !v.trim() || /^(https?|socks5h?):\/\/[^\s/]+/.test(v.trim()) ? null : t('validation.proxy'),
  };
}

/** The `setting` column text: the stored object with this form's keys written over it. */
export function settingText(v: ChannelFormValues): string {
  return JSON.stringify({
    ...v.setting_rest,
    force_format: v.force_format,
    thinking_to_content: v.thinking_to_content,
    proxy: v.proxy.trim(),
    pass_through_body_enabled: v.pass_through_body_enabled,
    system_prompt: v.system_prompt,
    system_prompt_override: v.system_prompt_override,
  });
}

/** Compact JSON text of an editor ("" when empty). */
function compact(s: string): string {
  if (!s.trim()) return '';
  return JSON.stringify(JSON.parse(s));
}

function columns(v: ChannelFormValues): Record<string, unknown> {
  return {
    type: Number(v.type),
    name: v.name.trim(),
    base_url: v.base_url.trim().replace(/\/+$/, ''),
    openai_organization: v.openai_organization.trim(),
    models: v.models.map((m) => m.trim()).filter(Boolean).join(','),
    group: v.groups.join(','),
    tag: v.tag.trim(),
    remark: v.remark,
    priority: parseInt(v.priority.trim(), 10),
    weight: parseInt(v.weight.trim(), 10),
    auto_ban: v.auto_ban ? 1 : 0,
    test_model: v.test_model.trim(),
    status: Number(v.status),
    model_mapping: compact(v.model_mapping),
    status_code_mapping: compact(v.status_code_mapping),
    param_override: compact(v.param_override),
    header_override: compact(v.header_override),
    other: v.other,
    settings: compact(v.settings),
    setting: settingText(v),
  };
}

/** POST /api/channel/ body. Empty optional texts are left out (the server's defaults apply). */
export function createBody(v: ChannelFormValues) {
  const channel = columns(v);
  for (const k of Object.keys(channel)) if (channel[k] === '') delete channel[k];
  channel.key = v.mode === 'single' ? v.key.trim() : v.key.split('\n').map((k) => k.trim()).filter(Boolean).join('\n');
  const body: Record<string, unknown> = { mode: v.mode, channel };
  if (v.mode === 'multi_to_single') body.multi_key_mode = v.multi_key_mode;
  if (v.mode === 'batch') body.batch_add_set_key_prefix_2_name = v.batch_prefix;
  return body;
}

/** PUT /api/channel/ body: every field (empty texts clear them), the key only when a new one was typed. */
export function updateBody(id: number, v: ChannelFormValues, multiKey: boolean) {
  const body: Record<string, unknown> = { id, ...columns(v) };
  const key = v.key.trim();
  if (key) {
    body.key = key;
    if (multiKey) body.key_mode = v.key_mode;
  }
  if (multiKey) body.multi_key_mode = v.multi_key_mode;
  return body;
}

export function keyCount(key: string): number {
  return key.split('\n').filter((k) => k.trim()).length;
}
