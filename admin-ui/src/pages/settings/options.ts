// The runtime options (reference OptionMap) through the management API:
// GET /api/option/ lists [{key, value}] (root; secrets are left out) and
// PUT /api/option/ {key, value} validates by the key's type
// (gateway/api/option_normalize.c) and answers its error in the envelope.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';

export type OptionMap = Record<string, string>;

export const OPTIONS_QUERY = ['options'] as const;

export async function fetchOptions(): Promise<OptionMap> {
  const list = await api.get<Array<{ key: string; value: string }>>('/api/option/');
  const out: OptionMap = {};
  for (const o of list ?? []) out[o.key] = o.value ?? '';
  return out;
}

export function useOptions(enabled = true) {
  return useQuery({ queryKey: OPTIONS_QUERY, queryFn: fetchOptions, enabled, staleTime: 0 });
}

/** Saves one option; the value is sent as the text the server stores. */
export function saveOption(key: string, value: string): Promise<unknown> {
  return api.put('/api/option/', { key, value });
}

/** The server's rule for secrets (gw_option_is_secret): never listed by GET. */
export function isSecretKey(key: string): boolean {
  return ['Token', 'Secret', 'Key', 'secret', 'api_key'].some((s) => key.endsWith(s));
}

/** i18next uses "." as its key separator: option keys become ids. */
export function optionId(key: string): string {
  return key.replace(/\./g, '__');
}
