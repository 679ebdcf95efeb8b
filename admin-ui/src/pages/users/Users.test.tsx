import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Users from './Users';

const alice = {
  id: 7,
  username: 'alice',
  display_name: 'Alice',
  role: 1,
  status: 1,
  group: 'default',
  quota: 1_000_000,
  used_quota: 250_000,
  request_count: 12,
  DeletedAt: null,
};
const bob = { ...alice, id: 8, username: 'bob', display_name: 'Bob', role: 10 };
/** Opens a row's menu and returns its dropdown (items are read even while it animates). */
async function openMenu(user: ReturnType<typeof userEvent.setup>, button: HTMLElement) {
  await user.click(button);
  await waitFor(() => expect(button.getAttribute('aria-controls')).toBeTruthy());
  const id = button.getAttribute('aria-controls')!;
  await waitFor(() => expect(document.getElementById(id)).not.toBeNull());
  return document.getElementById(id)!;
}
const itemNames = (menu: HTMLElement) =>
  within(menu)
    .queryAllByRole('menuitem', { hidden: true })
    .map((e) => e.textContent?.trim());
const page = (items: unknown[]) => ({ items, total: items.length, page: 1, page_size: 20 });

function routes(me = ADMIN_USER, extra: Record<string, unknown> = {}) {
  return {
    '/api/status': STATUS,
    '/api/user/self': me,
    'GET /api/user/': page([alice, bob]),
    'GET /api/group/': ['default', 'vip'],
    ...extra,
  };
}

describe('Users page', () => {
  beforeEach(() => {
    setSession(null);
    signIn();
  });

  it('refuses an empty username and a short password before sending, then sends the create body', async () => {
    const api = mockApi(routes(ADMIN_USER, { 'POST /api/user/': { id: 9 } }));
    await renderPage(<Users />, { path: '/users' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByTestId('users-create'));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText(/^Password/), 'short');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('Enter a username')).toBeInTheDocument();
    expect(within(dialog).getByText('At least 8 characters')).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/user/')).toBe(false);

    await user.type(within(dialog).getByLabelText(/^Username/), 'carol_with_a_very_long_name');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('At most 20 characters')).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/user/')).toBe(false);

    await user.clear(within(dialog).getByLabelText(/^Username/));
    await user.type(within(dialog).getByLabelText(/^Username/), '  carol ');
    await user.type(within(dialog).getByLabelText(/^Display name/), 'Carol C');
    await user.clear(within(dialog).getByLabelText(/^Password/));
    await user.type(within(dialog).getByLabelText(/^Password/), 'longenough1');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/user/')).toBe(true));
    const sent = api.calls.find((c) => c.method === 'POST' && c.path === '/api/user/')!.body;
    expect(sent).toEqual({ username: 'carol', display_name: 'Carol C', password: 'longenough1' });
  });

  it('sends the edited quota converted from the display currency, and the group', async () => {
    let sent: Record<string, unknown> | null = null;
    mockApi(
      routes(ADMIN_USER, {
        'PUT /api/user/': (_u: URL, init: RequestInit) => {
          sent = JSON.parse(String(init.body));
          return { ...alice };
        },
      }),
    );
    await renderPage(<Users />, { path: '/users' });
    const user = userEvent.setup({ delay: null });
    const row = await screen.findByTestId('user-row-alice');
    await user.click(within(row).getByRole('button', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog');
    const quota = within(dialog).getByLabelText(/^Balance/);
    // 1,000,000 units at 500,000 per dollar are $2
    expect(quota).toHaveValue('2');
    await user.clear(quota);
    await user.type(quota, '3.5');
    await user.click(within(dialog).getByLabelText(/^Group/));
    await user.click(await screen.findByRole('option', { name: 'vip', hidden: true }));
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).toMatchObject({ id: 7, username: 'alice', display_name: 'Alice', group: 'vip', quota: 1_750_000 });
    expect(sent).not.toHaveProperty('password');
  });

  it('does not send the quota when it was left unchanged, and shows a refusal in place', async () => {
    let sent: Record<string, unknown> | null = null;
    mockApi(
      routes(ADMIN_USER, {
        'PUT /api/user/': (_u: URL, init: RequestInit) => {
          sent = JSON.parse(String(init.body));
          return new Response(JSON.stringify({ success: false, message: 'group must not be empty' }));
        },
      }),
    );
    await renderPage(<Users />, { path: '/users' });
    const user = userEvent.setup({ delay: null });
    const row = await screen.findByTestId('user-row-alice');
    await user.click(within(row).getByRole('button', { name: 'Edit' }));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText(/^New password/), 'anotherpass');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).not.toHaveProperty('quota');
    expect(sent).toMatchObject({ password: 'anotherpass' });
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('group must not be empty');
  });

  it('hides promote/demote from an admin and the actions on an equal role', async () => {
    const admin = { ...ADMIN_USER, id: 2, username: 'adm', role: 10 };
    mockApi(routes(admin));
    await renderPage(<Users />, { path: '/users' });
    const user = userEvent.setup({ delay: null });
    const aliceRow = await screen.findByTestId('user-row-alice');
    expect(within(aliceRow).getByRole('button', { name: 'Edit' })).toBeInTheDocument();
    const aliceMenu = await openMenu(user, within(aliceRow).getByRole('button', { name: 'More actions for alice' }));
    expect(itemNames(aliceMenu)).toEqual(['View usage logs', 'Disable', 'Delete']);

    const bobRow = screen.getByTestId('user-row-bob');
    expect(within(bobRow).queryByRole('button', { name: 'Edit' })).toBeNull();
    const bobMenu = await openMenu(user, within(bobRow).getByRole('button', { name: 'More actions for bob' }));
    expect(itemNames(bobMenu)).toEqual(['View usage logs']);
    expect(within(bobMenu).getByRole('menuitem', { name: 'View usage logs', hidden: true })).toHaveAttribute(
      'href',
      '/logs?username=bob',
    );
  });

  it('offers promote/demote to root and sends the manage action', async () => {
    const api = mockApi(routes(ADMIN_USER, { 'POST /api/user/manage': { role: 10, status: 1 } }));
    await renderPage(<Users />, { path: '/users' });
    const user = userEvent.setup({ delay: null });
    const bobRow = await screen.findByTestId('user-row-bob');
    const bobMenu = await openMenu(user, within(bobRow).getByRole('button', { name: 'More actions for bob' }));
    expect(itemNames(bobMenu)).toEqual(['View usage logs', 'Disable', 'Make regular user', 'Delete']);
    const aliceMenu = await openMenu(
      user,
      within(screen.getByTestId('user-row-alice')).getByRole('button', { name: 'More actions for alice' }),
    );
    expect(itemNames(aliceMenu)).toEqual(['View usage logs', 'Disable', 'Make admin', 'Delete']);
    await user.click(within(aliceMenu).getByRole('menuitem', { name: 'Make admin', hidden: true }));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/user/manage')).toBe(true));
    expect(api.calls.find((c) => c.path === '/api/user/manage')!.body).toEqual({ id: 7, action: 'promote' });
  });
});
