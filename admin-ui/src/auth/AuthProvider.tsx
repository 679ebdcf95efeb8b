// The signed-in state: the site status (/api/status), the session (JWT access
// token + refresh cookie, see api/client.ts) and the user (/api/user/self).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  api,
  getSession,
  mayHaveRefreshCookie,
  onSessionChange,
  refreshSession,
  sessionFromLogin,
  setSession,
  type Session,
} from '../api/client';
import { setDisplaySettings } from '../lib/format';
import i18n, { LANGUAGES } from '../i18n';

export const ROLE_USER = 1;
export const ROLE_ADMIN = 10;
export const ROLE_ROOT = 100;

export interface SiteStatus {
  system_name?: string;
  logo?: string;
  footer_html?: string;
  server_address?: string;
  setup?: boolean;
  version?: string;
  register_enabled?: boolean;
  password_login_enabled?: boolean;
  password_register_enabled?: boolean;
  self_use_mode_enabled?: boolean;
  demo_site_enabled?: boolean;
  display_in_currency?: boolean;
  quota_per_unit?: number;
  quota_display_type?: string;
  usd_exchange_rate?: number;
  custom_currency_symbol?: string;
  custom_currency_exchange_rate?: number;
  docs_link?: string;
  top_up_link?: string;
  [k: string]: unknown;
}

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: number;
  status: number;
  group: string;
  quota: number;
  used_quota: number;
  request_count: number;
  email?: string;
  aff_code?: string;
  [k: string]: unknown;
}

interface AuthState {
  status: SiteStatus | undefined;
  statusError: unknown;
  session: Session | null;
  user: User | undefined;
  /** true until the first refresh attempt and user load have settled */
  loading: boolean;
  login: (username: string, password: string) => Promise<{ require2fa: boolean }>;
  login2fa: (code: string) => Promise<void>;
  logout: () => Promise<void>;
  reloadUser: () => Promise<unknown>;
}

const Ctx = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [session, setSess] = useState<Session | null>(getSession());
  const [booted, setBooted] = useState(getSession() !== null);

  useEffect(() => onSessionChange(setSess), []);
  useEffect(() => {
    // A reload without a stored access token: the refresh cookie may still hold a session.
    if (booted) return;
    if (mayHaveRefreshCookie()) refreshSession().finally(() => setBooted(true));
    else setBooted(true);
  }, [booted]);

  const statusQ = useQuery({
    queryKey: ['status'],
    queryFn: () => api.get<SiteStatus>('/api/status'),
    staleTime: 60_000,
  });
  useEffect(() => {
    if (statusQ.data) setDisplaySettings(statusQ.data as never);
  }, [statusQ.data]);

  const userQ = useQuery({
    queryKey: ['self', session?.userId],
    queryFn: () => api.get<User>('/api/user/self'),
    enabled: !!session,
    retry: false,
  });

  // The language saved on the account (profile page) applies once per sign-in;
  // after that the header's switch rules in this browser.
  useEffect(() => {
    const u = userQ.data;
    if (!u) return;
    const lang = accountLanguage(u);
    const mark = `tf_lang_applied_${u.id}`;
    try {
      if (!lang || sessionStorage.getItem(mark)) return;
      sessionStorage.setItem(mark, '1');
    } catch {
      return;
    }
    if (LANGUAGES.some((l) => l.code === lang) && i18n.resolvedLanguage !== lang) i18n.changeLanguage(lang);
  }, [userQ.data]);

  const login = useCallback(async (username: string, password: string) => {
    const d = await api.post<Record<string, unknown>>('/api/user/login', { username, password });
    if (d && (d.require_2fa || d.require2fa)) return { require2fa: true };
    setSession(sessionFromLogin(d as never));
    return { require2fa: false };
  }, []);

  const login2fa = useCallback(async (code: string) => {
    const d = await api.post<Record<string, unknown>>('/api/user/login/2fa', { code });
    setSession(sessionFromLogin(d as never));
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post('/api/user/auth/logout');
    } catch {
      /* the local session goes anyway */
    }
    setSession(null);
    qc.clear();
  }, [qc]);

  const value = useMemo<AuthState>(
    () => ({
      status: statusQ.data,
      statusError: statusQ.error,
      session,
      user: userQ.data,
      loading: !booted || statusQ.isPending || (!!session && userQ.isPending),
      login,
      login2fa,
      logout,
      reloadUser: () => userQ.refetch(),
    }),
    [statusQ.data, statusQ.error, statusQ.isPending, session, userQ, booted, login, login2fa, logout],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** The language stored in the user's `setting` JSON, if any. */
export function accountLanguage(u: User): string | null {
  const raw = u.setting;
  if (typeof raw !== 'string' || !raw) return null;
  try {
    const v = (JSON.parse(raw) as { language?: unknown }).language;
    return typeof v === 'string' && v ? v.slice(0, 2) : null;
  } catch {
    return null;
  }
}

export function isAdmin(u?: User): boolean {
  return !!u && u.role >= ROLE_ADMIN;
}

export function isRoot(u?: User): boolean {
  return !!u && u.role >= ROLE_ROOT;
}
