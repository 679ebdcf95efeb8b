// i18next over the shared catalogues in ../locales/<lng>/<namespace>.json.
// English is bundled (it is the fallback for every key); the other languages
// load per namespace on demand. The browser's language is the default and the
// header's switch is remembered in localStorage (key tf_lang).
import i18n, { type BackendModule, type ReadCallback } from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'zh', label: '中文' },
  { code: 'fr', label: 'Français' },
  { code: 'ru', label: 'Русский' },
  { code: 'ja', label: '日本語' },
  { code: 'vi', label: 'Tiếng Việt' },
] as const;

export type Lang = (typeof LANGUAGES)[number]['code'];

const english = import.meta.glob('../../locales/en/*.json', { eager: true, import: 'default' }) as Record<
  string,
  Record<string, unknown>
>;
const others = import.meta.glob(['../../locales/*/*.json', '!../../locales/en/*.json'], {
  import: 'default',
}) as Record<string, () => Promise<Record<string, unknown>>>;

const nsOf = (path: string) => path.replace(/^.*\/([^/]+)\.json$/, '$1');
export const NAMESPACES = Object.keys(english).map(nsOf);

const backend: BackendModule = {
  type: 'backend',
  init() {},
  read(lng: string, ns: string, cb: ReadCallback) {
    if (lng === 'en') {
      cb(null, english[`../../locales/en/${ns}.json`] ?? {});
      return;
    }
    const load = others[`../../locales/${lng}/${ns}.json`];
    if (!load) {
      cb(null, {});
      return;
    }
    load().then(
      (data) => cb(null, data),
      (err) => cb(err, false),
    );
  },
};

export const i18nReady = i18n
  .use(backend)
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    supportedLngs: LANGUAGES.map((l) => l.code),
    nonExplicitSupportedLngs: true,
    load: 'languageOnly',
    fallbackLng: 'en',
    ns: NAMESPACES,
    defaultNS: 'common',
    interpolation: { escapeValue: false },
    detection: {
      order: ['localStorage', 'navigator'],
      lookupLocalStorage: 'tf_lang',
      caches: ['localStorage'],
    },
    react: { useSuspense: true },
  });

i18n.on('languageChanged', (lng) => {
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
});

/** The current language as one of the six codes. */
export function currentLang(): Lang {
  const l = (i18n.resolvedLanguage || i18n.language || 'en').slice(0, 2);
  return (LANGUAGES.some((x) => x.code === l) ? l : 'en') as Lang;
}

/** BCP 47 tag for Intl formatting. */
export function intlLocale(): string {
  const map: Record<Lang, string> = { en: 'en-US', zh: 'zh-CN', fr: 'fr-FR', ru: 'ru-RU', ja: 'ja-JP', vi: 'vi-VN' };
  return map[currentLang()];
}

export default i18n;
