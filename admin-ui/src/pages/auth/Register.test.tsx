import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { apiFail, mockApi, renderPage, STATUS } from '../../test/render';
import Register from './Register';

const refreshRefused = () => new Response('{"success":false}', { status: 401 });

describe('Register', () => {
  beforeEach(() => setSession(null));

  it("applies the server's limits (username 20, password 8 to 20) before sending", async () => {
    const api = mockApi({ '/api/status': STATUS, 'POST /api/user/auth/refresh': refreshRefused });
    await renderPage(<Register />, { path: '/register' });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Username/), 'a'.repeat(21));
    await user.type(screen.getByLabelText(/^Password/), 'x'.repeat(21));
    await user.type(screen.getByLabelText(/^Confirm password/), 'x'.repeat(21));
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findAllByText('At most 20 characters')).toHaveLength(2);
    expect(api.calls.some((c) => c.path === '/api/user/register')).toBe(false);
  });

  it('registers, signs in, and shows a refusal in place', async () => {
    let sent: unknown = null;
    mockApi({
      '/api/status': STATUS,
      'POST /api/user/auth/refresh': refreshRefused,
      'POST /api/user/register': (_u: URL, init: RequestInit) => {
        sent = JSON.parse(String(init.body));
        return apiFail('username already taken');
      },
    });
    await renderPage(<Register />, { path: '/register' });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Username/), ' alice ');
    await user.type(screen.getByLabelText(/^Password/), 'password12');
    await user.type(screen.getByLabelText(/^Confirm password/), 'password12');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    await waitFor(() => expect(sent).toEqual({ username: 'alice', password: 'password12' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('username already taken');
  });

  it('says registration is closed when the site turned it off', async () => {
    mockApi({ '/api/status': { ...STATUS, register_enabled: false }, 'POST /api/user/auth/refresh': refreshRefused });
    await renderPage(<Register />, { path: '/register' });
    expect(await screen.findByText('Registration is closed on this site.')).toBeInTheDocument();
  });
});
