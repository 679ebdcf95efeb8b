// The catalogues in ../locales: every language has every namespace and every
// key that English has, with the same {{placeholders}}.
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from './i18n';

const files = import.meta.glob('../../locales/*/*.json', { eager: true, import: 'default' }) as Record<
  string,
  Record<string, unknown>
>;

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = String(v);
  }
  return out;
}

function load(lng: string, ns: string): Record<string, string> {
  const f = files[`../../locales/${lng}/${ns}.json`];
  if (!f) throw new Error(`missing ${lng}/${ns}.json`);
  return flatten(f);
}
const namespaces = Object.keys(files)
  .filter((p) => p.startsWith('../../locales/en/'))
  .map((p) => p.replace(/^.*\/([^/]+)\.json$/, '$1'));
const vars = (s: string) => (s.match(/\{\{\s*\w+\s*\}\}/g) ?? []).map((x) => x.replace(/\s/g, '')).sort();

describe('locales', () => {
  it('has the common and auth namespaces in English', () => {
    expect(namespaces).toContain('common');
    expect(namespaces).toContain('auth');
  });
  for (const { code } of LANGUAGES) {
    if (code === 'en') continue;
    it(`${code} has every namespace and key of en with the same placeholders`, () => {
      const missing: string[] = [];
      const badVars: string[] = [];
      for (const ns of namespaces) {
        const en = load('en', ns);
        let other: Record<string, string> = {};
        try {
          other = load(code, ns);
        } catch {
          missing.push(`${ns}.json`);
          continue;
        }
        for (const [k, v] of Object.entries(en)) {
          if (!(k in other) || other[k] === '') missing.push(`${ns}:${k}`);
          else if (vars(v).join() !== vars(other[k]).join()) badVars.push(`${ns}:${k}`);
        }
      }
      expect(missing).toEqual([]);
      expect(badVars).toEqual([]);
    });
  }
});
