// The management API client: the {success, message, data} envelope, the JWT
// access token with silent refresh through the HttpOnly refresh cookie, and
// errors thrown as ApiError carrying the server's own message.

export class ApiError extends Error {
  status: number;
  code?: string;
  constructor(message: string, status: number, code?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export interface Session {
  token: string;
  userId: number;
  expiresAt: number; // unix seconds
}

const STORE_KEY = 'tf_session';
/** Set while this browser holds a refresh cookie (which scripts cannot see), so
 * a visitor who never signed in is not sent to a refresh that can only fail. */
const MARK_KEY = 'tf_signed_in';
let session: Session | null = loadSession();
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(s: Session | null) => void>();

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  return session;
}

export function setSession(s: Session | null): void {
  session = s;
  try {
    if (s) {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(s));
      localStorage.setItem(MARK_KEY, '1');
    } else {
      sessionStorage.removeItem(STORE_KEY);
      localStorage.removeItem(MARK_KEY);
    }
  } catch {
    /* storage unavailable: memory only */
  }
  listeners.forEach((l) => l(s));
}

export function onSessionChange(l: (s: Session | null) => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

interface LoginData {
  access_token: string;
  access_expires_at: number;
  user: { id: number };
}

export function sessionFromLogin(d: LoginData): Session {
  return { token: d.access_token, userId: d.user.id, expiresAt: d.access_expires_at };
}

/** Whether a refresh cookie may exist (this browser signed in and never out). */
export function mayHaveRefreshCookie(): boolean {
  try {
    return localStorage.getItem(MARK_KEY) === '1';
  } catch {
    return true;
  }
}

/** One refresh at a time; resolves true when a fresh access token was stored. */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch('/api/user/auth/refresh', {
          method: 'POST',
          credentials: 'same-origin',
        });
        const body = await res.json().catch(() => null);
        if (res.ok && body?.success && body.data?.access_token) {
          setSession(sessionFromLogin(body.data));
          return true;
        }
        setSession(null);
        return false;
      } catch {
        return false;
      } finally {
        refreshing = null; // callers already waiting hold the promise
      }
    })();
  }
  return refreshing;
}

function authHeaders(): Record<string, string> {
  if (!session) return {};
  return { Authorization: `Bearer ${session.token}`, 'New-Api-User': String(session.userId) };
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Return the whole envelope (for endpoints with extra top-level fields). */
  raw?: boolean;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** fetch with the session's headers; refreshes once on 401 or a near expiry. */
export async function authFetch(path: string, init: RequestInit = {}): Promise<Response> {
  if (session && session.expiresAt - Date.now() / 1000 < 30) await refreshSession();
  const go = () =>
    fetch(path, {
      ...init,
      credentials: 'same-origin',
      headers: { ...(init.headers as Record<string, string>), ...authHeaders() },
    });
  let res = await go();
  if (res.status === 401 && session) {
    if (await refreshSession()) res = await go();
  }
  return res;
}

export async function request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await authFetch(buildUrl(path, opts.query), {
    method: opts.method || 'GET',
    headers,
    body,
    signal: opts.signal,
  });
  const text = await res.text();
  let env: { success?: boolean; message?: string; data?: unknown; code?: string } | null = null;
  try {
    env = text ? JSON.parse(text) : null;
  } catch {
    env = null;
  }
  if (!env || typeof env !== 'object') {
    throw new ApiError(res.ok ? 'invalid response from the server' : `HTTP ${res.status}`, res.status);
  }
  if (!res.ok || env.success === false) {
    throw new ApiError(env.message || `HTTP ${res.status}`, res.status, env.code);
  }
  return (opts.raw ? env : env.data) as T;
}

export const api = {
  get: <T = unknown>(path: string, query?: RequestOptions['query'], raw = false) =>
    request<T>(path, { query, raw }),
  post: <T = unknown>(path: string, body?: unknown, query?: RequestOptions['query']) =>
    request<T>(path, { method: 'POST', body: body ?? {}, query }),
  put: <T = unknown>(path: string, body?: unknown) => request<T>(path, { method: 'PUT', body: body ?? {} }),
  del: <T = unknown>(path: string, query?: RequestOptions['query']) =>
    request<T>(path, { method: 'DELETE', query }),
};

/** The reference's paged list shape: {items, total, page, page_size}. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}
