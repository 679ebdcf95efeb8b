import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import { setDisplaySettings } from '../../lib/format';
import Pricing from './Pricing';

const PRICING = {
  success: true,
  data: [
    { model_name: 'gpt-4o', quota_type: 0, model_ratio: 1.25, model_price: 0, owner_by: '', completion_ratio: 4, enable_groups: ['default', 'vip'], supported_endpoint_types: [] },
    { model_name: 'claude-3', quota_type: 0, model_ratio: 7.5, model_price: 0, owner_by: '', completion_ratio: 5, enable_groups: ['default'], supported_endpoint_types: [] },
    { model_name: 'dall-e-3', quota_type: 1, model_ratio: 0, model_price: 0.04, owner_by: '', completion_ratio: 0, enable_groups: ['default', 'vip'], supported_endpoint_types: [] },
  ],
  vendors: [],
  group_ratio: { default: 1, vip: 0.5 },
  usable_group: { default: 'Default group', vip: 'VIP group' },
  supported_endpoint: {},
  auto_groups: [],
};

const json = (b: unknown) => () => new Response(JSON.stringify(b), { headers: { 'Content-Type': 'application/json' } });
const cells = (row: HTMLElement) => ({
  input: row.querySelector('[data-col="input"]')!.textContent,
  output: row.querySelector('[data-col="output"]')!.textContent,
  call: row.querySelector('[data-col="call"]')!.textContent,
});
const rowOf = async (name: string) => within(await screen.findByTestId('pricing-table')).getByText(name).closest('tr') as HTMLElement;

describe('Pricing page', { timeout: 30000 }, () => {
  beforeEach(() => {
    setSession(null);
    setDisplaySettings({ quota_per_unit: 500000, display_in_currency: true, quota_display_type: 'USD' });
  });

  it('computes prices from the ratios as the reference does (ratio × 2 per 1M, × completion, per call)', async () => {
    mockApi({
      '/api/status': STATUS,
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    // "All groups": each model at its cheapest group (gpt-4o: vip 0.5).
    expect(cells(await rowOf('gpt-4o'))).toEqual({ input: '$1.25', output: '$5.00', call: '—' });
    expect(cells(await rowOf('claude-3'))).toEqual({ input: '$15.00', output: '$75.00', call: '—' });
    expect(cells(await rowOf('dall-e-3'))).toEqual({ input: '—', output: '—', call: '$0.02' });
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText('Group'), 'default');
    expect(cells(await rowOf('gpt-4o'))).toEqual({ input: '$2.50', output: '$10.00', call: '—' });
    expect(cells(await rowOf('dall-e-3')).call).toBe('$0.04');
    // per 1K tokens: a thousandth
    await user.click(screen.getByRole('radio', { name: '1K' }));
    expect(cells(await rowOf('gpt-4o'))).toEqual({ input: '$0.0025', output: '$0.01', call: '—' });
    expect(screen.getByTestId('pricing-table')).toHaveTextContent('Input / 1K tokens');
    await user.click(screen.getByRole('radio', { name: '1M' }));
    // vip: claude-3 is not in it
    await user.selectOptions(screen.getByLabelText('Group'), 'vip');
    expect(within(screen.getByTestId('pricing-table')).queryByText('claude-3')).not.toBeInTheDocument();
  });

  it('searches by model name and filters by billing type', async () => {
    mockApi({
      '/api/status': STATUS,
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    const table = await screen.findByTestId('pricing-table');
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText('Search models'), 'CLAUDE');
    expect(within(table).getByText('claude-3')).toBeInTheDocument();
    expect(within(table).queryByText('gpt-4o')).not.toBeInTheDocument();
    await user.clear(screen.getByLabelText('Search models'));
    await user.click(screen.getByRole('radio', { name: 'Per call' }));
    expect(within(screen.getByTestId('pricing-table')).getAllByRole('row')).toHaveLength(2);
    expect(within(screen.getByTestId('pricing-table')).getByText('dall-e-3')).toBeInTheDocument();
  });

  it('shows money in the display currency (CNY through the exchange rate)', async () => {
    mockApi({
      '/api/status': { ...STATUS, quota_display_type: 'CNY', usd_exchange_rate: 7 },
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    await waitFor(async () => expect(cells(await rowOf('claude-3')).input).toBe('CN¥105.00'));
    expect(cells(await rowOf('claude-3')).output).toBe('CN¥525.00');
  });

  it('prices for the signed-in user’s group, with their own ratio, and highlights it', async () => {
    signIn();
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': { ...ADMIN_USER, role: 1, group: 'vip' },
      '/api/pricing': json(PRICING),
      // GroupGroupRatio gives this user's group 0.25 on vip
      '/api/user/self/groups': { default: { ratio: 1, desc: 'Default group' }, vip: { ratio: 0.25, desc: 'VIP group' } },
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    await waitFor(() => expect(screen.getByLabelText('Group')).toHaveValue('vip'));
    await waitFor(async () => expect(cells(await rowOf('gpt-4o'))).toEqual({ input: '$0.625', output: '$2.50', call: '—' }));
    const vipRow = within(screen.getByTestId('pricing-groups')).getByText('vip').closest('tr')!;
    expect(vipRow).toHaveAttribute('aria-current', 'true');
    expect(vipRow).toHaveTextContent('your group');
    expect(vipRow).toHaveTextContent('×0.25');
  });

  it('says so when the operator turned the page off', async () => {
    const m = mockApi({
      '/api/status': { ...STATUS, HeaderNavModules: '{"pricing":{"enabled":false,"requireAuth":false}}' },
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    expect(await screen.findByText('The pricing page is turned off on this site.')).toBeInTheDocument();
    expect(m.calls.some((c) => c.path === '/api/pricing')).toBe(false);
  });

  it('reads every value form of the option: "0" turns the page off, requireAuth 1 asks visitors to sign in', async () => {
    const off = mockApi({
      '/api/status': { ...STATUS, HeaderNavModules: '{"home":true,"pricing":"0"}' },
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    const first = await renderPage(<Pricing />, { path: '/pricing' });
    expect(await screen.findByText('The pricing page is turned off on this site.')).toBeInTheDocument();
    expect(off.calls.some((c) => c.path === '/api/pricing')).toBe(false);
    first.unmount();
    const auth = mockApi({
      '/api/status': { ...STATUS, HeaderNavModules: '{"pricing":{"enabled":"true","requireAuth":1}}' },
      '/api/pricing': json(PRICING),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    expect(await screen.findByText('Sign in to see the prices.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login?next=%2Fpricing');
    expect(auth.calls.some((c) => c.path === '/api/pricing')).toBe(false);
  });

  it('shows the server error in place', async () => {
    mockApi({
      '/api/status': STATUS,
      '/api/pricing': () => new Response(JSON.stringify({ success: false, message: 'invalid ratio options' })),
      'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    });
    await renderPage(<Pricing />, { path: '/pricing' });
    expect(await screen.findByRole('alert')).toHaveTextContent('invalid ratio options');
  });
});
