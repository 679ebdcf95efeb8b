import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../../api/client';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Redemptions from './Redemptions';

const code = {
  id: 3,
  user_id: 1,
  key: '0123456789abcdef0123456789abcdef',
  status: 1,
  name: 'launch',
  quota: 500000,
  created_time: 1_700_000_000,
  redeemed_time: 0,
  used_user_id: 0,
  expired_time: 0,
};
const page = (items: unknown[]) => ({ items, total: items.length, page: 1, page_size: 20 });
const KEYS = ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2', 'ccccccccccccccccccccccccccccccc3'];

describe('Redemption codes page', () => {
  const created: Blob[] = [];
  beforeEach(() => {
    setSession(null);
    signIn();
    created.length = 0;
    URL.createObjectURL = vi.fn((b: Blob | MediaSource) => {
      created.push(b as Blob);
      return 'blob:test';
    });
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => vi.restoreAllMocks());

  it('checks the form, sends name, quota (from the display currency), count and expiry, and downloads the returned keys', async () => {
    let sent: Record<string, unknown> | null = null;
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      'GET /api/redemption/': page([code]),
      'POST /api/redemption/': (_u: URL, init: RequestInit) => {
        sent = JSON.parse(String(init.body));
        return KEYS;
      },
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    await renderPage(<Redemptions />, { path: '/redemptions' });
    const user = userEvent.setup({ delay: null });
    expect(await screen.findByText('launch')).toBeInTheDocument();
    await user.click(screen.getByTestId('redemptions-create'));
    const dialog = await screen.findByRole('dialog');
    const count = within(dialog).getByLabelText(/^Number of codes/);
    await user.clear(count);
    await user.type(count, '101');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('1 to 20 characters')).toBeInTheDocument();
    expect(within(dialog).getByText('A whole number from 1 to 100')).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === 'POST')).toBe(false);

    await user.type(within(dialog).getByLabelText(/^Name/), 'promo');
    await user.clear(count);
    await user.type(count, '3');
    const value = within(dialog).getByLabelText(/^Value/);
    await user.clear(value);
    await user.type(value, '2.5');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).toEqual({ name: 'promo', quota: 1_250_000, count: 3, expired_time: 0 });

    const shown = await screen.findByTestId('redemptions-created-keys');
    expect(shown).toHaveTextContent(KEYS[0]);
    await user.click(screen.getByTestId('redemptions-download'));
    expect(created).toHaveLength(1);
    expect(await created[0].text()).toBe(KEYS.join('\n') + '\n');
    expect(click).toHaveBeenCalledTimes(1);
    const link = click.mock.contexts[0] as HTMLAnchorElement;
    expect(link.download).toBe('redemptions-promo-3.txt');
    expect(link.href).toBe('blob:test');
  });

  it('refuses an expiry in the past and shows a server refusal in place', async () => {
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      'GET /api/redemption/': page([]),
      'POST /api/redemption/': () =>
        new Response(JSON.stringify({ success: false, message: 'quota is required and must be greater than 0' })),
    });
    await renderPage(<Redemptions />, { path: '/redemptions' });
    const user = userEvent.setup({ delay: null });
    expect(await screen.findByText('No data yet')).toBeInTheDocument();
    await user.click(screen.getByTestId('redemptions-create'));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText(/^Name/), 'old');
    const exp = within(dialog).getByLabelText(/^Expires at/);
    await user.type(exp, '2001-01-01T10:00');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByText('The expiry must be in the future')).toBeInTheDocument();
    await user.clear(exp);
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('quota is required and must be greater than 0');
  });
});
