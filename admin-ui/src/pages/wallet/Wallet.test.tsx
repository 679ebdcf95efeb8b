import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { ADMIN_USER, apiFail, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Wallet from './Wallet';

const me = { ...ADMIN_USER, role: 1, quota: 1_000_000, used_quota: 250_000, request_count: 42 };

describe('Wallet page', () => {
  beforeEach(() => {
    setSession(null);
    signIn();
  });

  it('sends the trimmed code, shows the server error in place and keeps the balance', async () => {
    const sent: unknown[] = [];
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': me,
      '/api/user/topup/info': { enable_online_topup: false, topup_link: '' },
      '/api/user/topup/self': { items: [], total: 0 },
      '/api/user/aff': 'AbCd',
      'POST /api/user/topup': (_u: URL, init: RequestInit) => {
        sent.push(JSON.parse(String(init.body)));
        return apiFail('this redemption code has already been used');
      },
    });
    await renderPage(<Wallet />, { path: '/wallet' });
    const user = userEvent.setup({ delay: null });
    expect(await screen.findByTestId('wallet-balance')).toHaveTextContent('$2.00');
    expect(screen.getByTestId('wallet-used')).toHaveTextContent('$0.50');
    expect(screen.getByTestId('wallet-requests')).toHaveTextContent('42');
    expect(await screen.findByTestId('wallet-no-online')).toBeInTheDocument();

    await user.click(screen.getByTestId('wallet-redeem-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('Enter a redemption code');
    expect(sent).toEqual([]);

    await user.type(screen.getByTestId('wallet-redeem-input'), '  0123456789abcdef0123456789abcdef ');
    await user.click(screen.getByTestId('wallet-redeem-submit'));
    await waitFor(() => expect(sent).toEqual([{ key: '0123456789abcdef0123456789abcdef' }]));
    expect(await screen.findByRole('alert')).toHaveTextContent('this redemption code has already been used');
    expect(screen.queryByTestId('wallet-redeem-result')).toBeNull();
    expect(screen.getByTestId('wallet-balance')).toHaveTextContent('$2.00');
  });

  it('shows the redeemed amount and reloads the balance', async () => {
    let quota = 1_000_000;
    mockApi({
      '/api/status': { ...STATUS, top_up_link: 'https://shop.example/codes' },
      '/api/user/self': () => ({ ...me, quota }),
      '/api/user/topup/info': apiFail('not found', 404),
      '/api/user/topup/self': {
        items: [{ id: 1, amount: 10, money: 73, trade_no: 'T1', payment_method: 'alipay', create_time: 1_700_000_000, status: 'success' }],
        total: 1,
      },
      '/api/user/aff': apiFail('not found', 404),
      'POST /api/user/topup': () => {
        quota += 2_500_000;
        return 2_500_000;
      },
    });
    await renderPage(<Wallet />, { path: '/wallet' });
    const user = userEvent.setup({ delay: null });
    expect(await screen.findByTestId('wallet-balance')).toHaveTextContent('$2.00');
    // the history's amount is in dollars (the reference's TopUp.Amount), shown in the display currency
    const history = await screen.findByTestId('wallet-history');
    expect(history).toHaveTextContent('$10.00');
    expect(history).toHaveTextContent('Paid');
    expect(await screen.findByTestId('wallet-topup-link')).toHaveAttribute('href', 'https://shop.example/codes');
    await user.type(screen.getByTestId('wallet-redeem-input'), 'goodcode');
    await user.click(screen.getByTestId('wallet-redeem-submit'));
    expect(await screen.findByTestId('wallet-redeem-result')).toHaveTextContent('$5.00 added');
    await waitFor(() => expect(screen.getByTestId('wallet-balance')).toHaveTextContent('$7.00'));
    expect(screen.getByTestId('wallet-redeem-input')).toHaveValue('');
  });
});
