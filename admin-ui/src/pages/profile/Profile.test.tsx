import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { getSession, setSession } from '../../api/client';
import { ADMIN_USER, apiFail, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Profile from './Profile';

const sessions = [
  { sid: 'cur', login_method: 'password', ip: '127.0.0.1', user_agent: 'Firefox', created_at: 1, last_active_at: 2, expires_at: 3, current: true },
  { sid: 'old', login_method: 'password', ip: '10.0.0.2', user_agent: 'Old phone', created_at: 1, last_active_at: 2, expires_at: 3, current: false },
];

function passwordCard() {
  return screen.getByRole('heading', { name: 'Change password' }).closest('.mantine-Card-root') as HTMLElement;
}

describe('Profile page', () => {
  beforeEach(() => {
    setSession(null);
    signIn();
  });

  it('checks the new password (too short, mismatch, too long) before sending, then sends the body and keeps the session', async () => {
    const sent: unknown[] = [];
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': (_u: URL, init: RequestInit) => {
        if ((init.method || 'GET') === 'PUT') {
          sent.push(JSON.parse(String(init.body)));
          return { access_token: 'new.jwt', token_type: 'Bearer', access_expires_at: 4_000_000_000, session: {} };
        }
        return ADMIN_USER;
      },
      '/api/user/sessions': sessions,
    });
    await renderPage(<Profile />, { path: '/profile' });
    const user = userEvent.setup({ delay: null });
    await screen.findByRole('heading', { name: 'Change password' });
    const card = passwordCard();
    await user.type(within(card).getByLabelText(/^Current password/), 'oldpassword');
    await user.type(within(card).getByLabelText(/^New password/), 'short');
    await user.type(within(card).getByLabelText(/^Confirm new password/), 'shorter');
    await user.click(within(card).getByRole('button', { name: 'Change password' }));
    expect(await within(card).findByText('At least 8 characters')).toBeInTheDocument();
    expect(within(card).getByText('The two passwords do not match')).toBeInTheDocument();

    const pw = within(card).getByLabelText(/^New password/);
    await user.clear(pw);
    await user.type(pw, 'x'.repeat(21));
    await user.click(within(card).getByRole('button', { name: 'Change password' }));
    expect(await within(card).findByText('At most 20 characters')).toBeInTheDocument();
    expect(sent).toEqual([]);

    await user.clear(pw);
    await user.type(pw, 'newpassword1');
    const confirm = within(card).getByLabelText(/^Confirm new password/);
    await user.clear(confirm);
    await user.type(confirm, 'newpassword1');
    await user.click(within(card).getByRole('button', { name: 'Change password' }));
    await waitFor(() => expect(sent).toEqual([{ original_password: 'oldpassword', password: 'newpassword1' }]));
    expect(await within(card).findByText('Your password is changed.')).toBeInTheDocument();
    expect(getSession()?.token).toBe('new.jwt');
  });

  it('shows the server refusal of a password change in place', async () => {
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': (_u: URL, init: RequestInit) =>
        (init.method || 'GET') === 'PUT' ? apiFail('the original password is incorrect') : ADMIN_USER,
      '/api/user/sessions': sessions,
    });
    await renderPage(<Profile />, { path: '/profile' });
    const user = userEvent.setup({ delay: null });
    await screen.findByRole('heading', { name: 'Change password' });
    const card = passwordCard();
    await user.type(within(card).getByLabelText(/^Current password/), 'wrongpassword');
    await user.type(within(card).getByLabelText(/^New password/), 'newpassword1');
    await user.type(within(card).getByLabelText(/^Confirm new password/), 'newpassword1');
    await user.click(within(card).getByRole('button', { name: 'Change password' }));
    expect(await within(card).findByRole('alert')).toHaveTextContent('the original password is incorrect');
    expect(getSession()?.token).toBe('test.jwt.token');
  });

  it('shows a generated access token once, lists sessions and revokes another one', async () => {
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/user/sessions': sessions,
      '/api/user/token': 'pat0123456789',
      'DELETE /api/user/sessions/old': null,
    });
    await renderPage(<Profile />, { path: '/profile' });
    const user = userEvent.setup({ delay: null });
    expect(await screen.findByText('Old phone')).toBeInTheDocument();
    expect(screen.getByText('This device')).toBeInTheDocument();
    await user.click(screen.getByTestId('profile-token-generate'));
    expect(await screen.findByTestId('profile-token')).toHaveTextContent('pat0123456789');
    await user.click(screen.getByRole('button', { name: 'Sign out Old phone' }));
    await waitFor(() => expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/api/user/sessions/old')).toBe(true));
  });
});
