// Renders a page the way the app does (Mantine, TanStack Query, router, i18n
// in English) and mocks the management API per path.
import type { ReactElement, ReactNode } from 'react';
import { MantineProvider } from '@mantine/core';
import { ModalsProvider } from '@mantine/modals';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import i18n from '../i18n';
import { AuthProvider } from '../auth/AuthProvider';
import { setSession } from '../api/client';

export type ApiHandler = (url: URL, init: RequestInit) => unknown | Promise<unknown>;

/** Mocks fetch: each key is "METHOD /path" (or "/path" for any method); the value
 * returns the envelope's data (or a Response for full control). Records calls. */
export function mockApi(routes: Record<string, ApiHandler | unknown>) {
  const calls: Array<{ method: string; path: string; body: unknown; url: URL }> = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.toString(), 'http://localhost');
    const method = (init.method || 'GET').toUpperCase();
    let body: unknown = undefined;
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    calls.push({ method, path: url.pathname, body, url });
    const h = routes[`${method} ${url.pathname}`] ?? routes[url.pathname];
    if (h === undefined) {
      return new Response(JSON.stringify({ success: false, message: `no mock for ${method} ${url.pathname}` }), {
        status: 404,
      });
    }
    const out = typeof h === 'function' ? await (h as ApiHandler)(url, init) : h;
    if (out instanceof Response) return out;
    return new Response(JSON.stringify({ success: true, message: '', data: out }), {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

/** An API failure in the envelope, as the gateway answers it. */
export function apiFail(message: string, status = 200): Response {
  return new Response(JSON.stringify({ success: false, message }), { status });
}

export const ADMIN_USER = {
  id: 1,
  username: 'root',
  display_name: 'Root User',
  role: 100,
  status: 1,
  group: 'default',
  quota: 500000,
  used_quota: 0,
  request_count: 0,
};

export const STATUS = { setup: true, system_name: 'Token Factory', quota_per_unit: 500000, display_in_currency: true, quota_display_type: 'USD' };

/** Signs in a fake session, so pages behind RequireRole render. */
export function signIn(userId = 1) {
  setSession({ token: 'test.jwt.token', userId, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
}

export async function renderPage(ui: ReactElement, { path = '/', withAuth = true } = {}) {
  await i18n.changeLanguage('en');
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const wrap = (children: ReactNode) => (
    <MantineProvider>
      <QueryClientProvider client={qc}>
        <ModalsProvider>
          <MemoryRouter initialEntries={[path]}>{withAuth ? <AuthProvider>{children}</AuthProvider> : children}</MemoryRouter>
        </ModalsProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
  return { ...render(wrap(ui)), queryClient: qc };
}
