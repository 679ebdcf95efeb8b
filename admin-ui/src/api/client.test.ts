import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, getSession, mayHaveRefreshCookie, setSession } from './client';

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
const now = () => Math.floor(Date.now() / 1000);

describe('api client', () => {
  beforeEach(() => {
    setSession(null);
    localStorage.clear();
  });
  afterEach(() => vi.unstubAllGlobals());

  it('sends the JWT and New-Api-User, and unwraps the envelope', async () => {
    setSession({ token: 'jwt-1', userId: 7, expiresAt: now() + 3600 });
    const fetchMock = vi.fn(async () => json({ success: true, message: '', data: { id: 7 } }));
    vi.stubGlobal('fetch', fetchMock);
    await expect(api.get('/api/user/self')).resolves.toEqual({ id: 7 });
    const init = (fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.headers).toMatchObject({ Authorization: 'Bearer jwt-1', 'New-Api-User': '7' });
  });

  it("throws the server's message for success:false and for HTTP errors", async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ success: false, message: 'name too long' })));
    await expect(api.post('/api/token/', {})).rejects.toThrow('name too long');
    vi.stubGlobal('fetch', vi.fn(async () => json({ success: false, message: 'forbidden here' }, 403)));
    const err = (await api.get('/api/channel/').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(403);
  });

  it('refreshes once on a 401 and retries with the new token', async () => {
    setSession({ token: 'old', userId: 3, expiresAt: now() + 3600 });
    const seen: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        if (url === '/api/user/auth/refresh')
          return json({ success: true, data: { access_token: 'new', access_expires_at: now() + 900, user: { id: 3 } } });
        const auth = (init.headers as Record<string, string>).Authorization;
        seen.push(auth);
        return auth === 'Bearer new' ? json({ success: true, data: 'ok' }) : json({ success: false, message: 'expired' }, 401);
      }),
    );
    await expect(api.get('/api/user/self')).resolves.toBe('ok');
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
    expect(getSession()?.token).toBe('new');
  });

  it('signs out locally when the refresh is refused', async () => {
    setSession({ token: 'old', userId: 3, expiresAt: now() + 3600 });
    expect(mayHaveRefreshCookie()).toBe(true);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) =>
        url === '/api/user/auth/refresh' ? json({ success: false }, 401) : json({ success: false, message: 'expired' }, 401),
      ),
    );
    await expect(api.get('/api/user/self')).rejects.toThrow('expired');
    expect(getSession()).toBeNull();
    expect(mayHaveRefreshCookie()).toBe(false);
  });
});
