import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { mockApi, renderPage, STATUS } from '../../test/render';
import Setup from './Setup';

describe('Setup wizard', () => {
  beforeEach(() => setSession(null));

  it('refuses a short password and mismatched confirmation before sending anything', async () => {
    const api = mockApi({
      '/api/status': { ...STATUS, setup: false },
      '/api/setup': { status: false, root_init: false, database_type: 'sqlite' },
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Setup />, { path: '/setup' });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Password/), 'short');
    await user.type(screen.getByLabelText(/^Confirm password/), 'other');
    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('At least 8 characters')).toBeInTheDocument();
    expect(screen.getByText('The two passwords do not match')).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/setup')).toBe(false);
  });

  it('sends the account and the chosen mode, and shows the server error in place', async () => {
    let sent: unknown = null;
    mockApi({
      '/api/status': { ...STATUS, setup: false },
      'GET /api/setup': { status: false, root_init: false, database_type: 'sqlite' },
      'POST /api/setup': (_u: URL, init: RequestInit) => {
        sent = JSON.parse(String(init.body));
        return new Response(JSON.stringify({ success: false, message: 'the system is already initialized' }));
      },
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Setup />, { path: '/setup' });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Password/), 'longenough1');
    await user.type(screen.getByLabelText(/^Confirm password/), 'longenough1');
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await user.click(await screen.findByLabelText('Self-use mode'));
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await user.click(screen.getByRole('button', { name: 'Finish setup' }));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).toMatchObject({
      username: 'root',
      password: 'longenough1',
      confirmPassword: 'longenough1',
      SelfUseModeEnabled: true,
      DemoSiteEnabled: false,
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('the system is already initialized');
  });
});
