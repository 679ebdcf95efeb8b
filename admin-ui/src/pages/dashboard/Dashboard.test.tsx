import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { formatQuota } from '../../lib/format';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Dashboard from './Dashboard';
import { aggregate, bucketStart, chartRows, customRange, type QuotaRow } from './usage';

const H = 3600;
// A fixed hour boundary well inside "now - 24h .. now".
const base = bucketStart(Math.floor(Date.now() / 1000) - 5 * H, 'hour');
const ROWS: QuotaRow[] = [
  { model_name: 'gpt-4.1', created_at: base, token_used: 1000, count: 3, quota: 1500 },
  { model_name: 'gpt-4.1', created_at: base + H, token_used: 500, count: 2, quota: 700 },
  { model_name: 'claude-3', created_at: base + H, token_used: 2000, count: 1, quota: 4000 },
  { model_name: 'claude-3', created_at: base + 2 * H, token_used: 40, count: 4, quota: 60 },
];

describe('dashboard aggregation', () => {
  it('sums the rows per model, per hour bucket and in total', () => {
    const now = Math.floor(Date.now() / 1000);
    const agg = aggregate(ROWS, { start: now - 86400, end: now });
    expect(agg.bucket).toBe('hour');
    expect(agg.totals).toEqual({ count: 10, tokens: 3540, quota: 6260 });
    expect(agg.models.map((m) => [m.model, m.count, m.tokens, m.quota])).toEqual([
      ['claude-3', 5, 2040, 4060],
      ['gpt-4.1', 5, 1500, 2200],
    ]);
    // every hour of the range is a bucket, in order, the empty ones zero
    expect(agg.buckets.length).toBeGreaterThanOrEqual(24);
    expect(agg.buckets.every((b, i) => i === 0 || b.ts - agg.buckets[i - 1].ts === H)).toBe(true);
    const at = (ts: number) => agg.buckets.find((b) => b.ts === ts)!;
    expect(at(base)).toMatchObject({ count: 3, tokens: 1000, quota: 1500 });
    expect(at(base + H)).toMatchObject({ count: 3, tokens: 2500, quota: 4700 });
    expect(at(base + H).models['claude-3']).toEqual({ count: 1, tokens: 2000, quota: 4000 });
    expect(at(base + 3 * H)).toMatchObject({ count: 0, tokens: 0, quota: 0 });
    const sum = agg.buckets.reduce((s, b) => s + b.quota, 0);
    expect(sum).toBe(6260);
  });

  it('uses day buckets beyond two days and folds the hours of one day together', () => {
    const day = new Date(2026, 2, 10).getTime() / 1000; // local midnight
    const rows: QuotaRow[] = [
      { model_name: 'a', created_at: day + H, token_used: 1, count: 1, quota: 10 },
      { model_name: 'a', created_at: day + 23 * H, token_used: 2, count: 1, quota: 20 },
      { model_name: 'b', created_at: day + 25 * H, token_used: 4, count: 1, quota: 40 },
    ];
    const agg = aggregate(rows, { start: day - 86400 * 3, end: day + 86400 * 3 });
    expect(agg.bucket).toBe('day');
    const d0 = agg.buckets.find((b) => b.ts === day)!;
    expect(d0).toMatchObject({ count: 2, quota: 30, tokens: 3 });
    const d1 = agg.buckets.find((b) => b.ts === bucketStart(day + 25 * H, 'day'))!;
    expect(d1).toMatchObject({ count: 1, quota: 40 });
    expect(agg.buckets).toHaveLength(7);
  });

  it('keeps the top models as chart series and sums the rest into one', () => {
    const now = Math.floor(Date.now() / 1000);
    const rows = Array.from({ length: 5 }, (_, i) => ({
      model_name: `m.${i}`,
      created_at: base,
      token_used: 1,
      count: 1,
      quota: 100 - i,
    }));
    const { series, rows: out } = chartRows(aggregate(rows, { start: now - 86400, end: now }), 'quota', 3);
    expect(series).toEqual([
      { key: 's0', model: 'm.0' },
      { key: 's1', model: 'm.1' },
      { key: 's2', model: 'm.2' },
      { key: 's3', model: null },
    ]);
    const r = out.find((x) => x.ts === base)!;
    expect([r.s0, r.s1, r.s2, r.s3]).toEqual([100, 99, 98, 97 + 96]);
  });

  it('turns a custom day range into local midnight .. the last second of the last day', () => {
    const r = customRange('2026-03-12', '2026-03-10', new Date(2027, 0, 1).getTime())!;
    expect(r.start).toBe(new Date(2026, 2, 10).getTime() / 1000);
    expect(r.end).toBe(new Date(2026, 2, 13).getTime() / 1000 - 1);
  });
});

describe('Dashboard page', () => {
  beforeEach(() => setSession(null));

  it('shows the account and the range totals, per model, for an admin over the whole site', async () => {
    signIn();
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': { ...ADMIN_USER, quota: 1_000_000, used_quota: 250_000, request_count: 42 },
      '/api/data/': ROWS,
      '/api/log/stat': { quota: 6260, rpm: 7, tpm: 1234 },
    });
    await renderPage(<Dashboard />, { path: '/dashboard' });
    const calls = await screen.findByTestId('stat-calls');
    await waitFor(() => expect(calls).toHaveTextContent('10'));
    expect(screen.getByTestId('stat-spend')).toHaveTextContent(formatQuota(6260));
    expect(screen.getByTestId('stat-tokens')).toHaveTextContent('3,540');
    expect(screen.getByTestId('stat-balance')).toHaveTextContent(formatQuota(1_000_000));
    expect(screen.getByTestId('stat-used')).toHaveTextContent(formatQuota(250_000));
    expect(screen.getByTestId('stat-requests')).toHaveTextContent('42');
    await waitFor(() => expect(screen.getByTestId('stat-rpm')).toHaveTextContent('7'));
    expect(screen.getByTestId('stat-tpm')).toHaveTextContent('1,234');

    const claude = within(screen.getByTestId('model-row-claude-3'));
    expect(claude.getByText('2,040')).toBeInTheDocument();
    expect(claude.getByText(formatQuota(4060))).toBeInTheDocument();
    const gpt = within(screen.getByTestId('model-row-gpt-4.1'));
    expect(gpt.getByText('1,500')).toBeInTheDocument();
    expect(gpt.getByText(formatQuota(2200))).toBeInTheDocument();
    expect(screen.getByTestId('dashboard-chart')).toBeInTheDocument();

    const q = api.calls.find((c) => c.path === '/api/data/')!;
    const start = Number(q.url.searchParams.get('start_timestamp'));
    const end = Number(q.url.searchParams.get('end_timestamp'));
    expect(end - start).toBe(86400);
    expect(Math.abs(end - Date.now() / 1000)).toBeLessThan(120);
    expect(screen.getByLabelText('Username')).toBeInTheDocument();
  });

  it('asks again with the new timestamps when the range changes, and for one user', async () => {
    signIn();
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/data/': [],
      '/api/log/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Dashboard />, { path: '/dashboard' });
    expect(await screen.findAllByText('No usage in this range')).not.toHaveLength(0);
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText('Last 7 days'));
    await waitFor(() => {
      const spans = api.calls
        .filter((c) => c.path === '/api/data/')
        .map((c) => Number(c.url.searchParams.get('end_timestamp')) - Number(c.url.searchParams.get('start_timestamp')));
      expect(spans).toContain(7 * 86400);
    });
    const stat = api.calls.filter((c) => c.path === '/api/log/stat').at(-1)!;
    expect(Number(stat.url.searchParams.get('end_timestamp')) - Number(stat.url.searchParams.get('start_timestamp'))).toBe(
      7 * 86400,
    );
    await user.click(screen.getByLabelText('Last 30 days'));
    await waitFor(() => {
      const last = api.calls.filter((c) => c.path === '/api/data/').at(-1)!;
      expect(Number(last.url.searchParams.get('end_timestamp')) - Number(last.url.searchParams.get('start_timestamp'))).toBe(
        30 * 86400,
      );
    });
    await user.type(screen.getByLabelText('Username'), 'alice');
    await waitFor(() =>
      expect(api.calls.some((c) => c.path === '/api/data/' && c.url.searchParams.get('username') === 'alice')).toBe(true),
    );
  });

  it('asks for a custom range of days: local midnight of the first day to now', async () => {
    signIn();
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/data/': [],
      '/api/log/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Dashboard />, { path: '/dashboard' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByLabelText('Custom'));
    await user.click(await screen.findByLabelText('Dates'));
    const today = new Date();
    const first = new Date(today.getFullYear(), today.getMonth(), 1);
    const label = (d: Date) => `${d.getDate()} ${d.toLocaleString('en-US', { month: 'long' })} ${d.getFullYear()}`;
    await user.click(await screen.findByRole('button', { name: label(first), hidden: true }));
    await user.click(await screen.findByRole('button', { name: label(today), hidden: true }));
    await waitFor(() => {
      const q = api.calls.filter((c) => c.path === '/api/data/').at(-1)!.url.searchParams;
      expect(Number(q.get('start_timestamp'))).toBe(first.getTime() / 1000);
      expect(Math.abs(Number(q.get('end_timestamp')) - Date.now() / 1000)).toBeLessThan(120);
    });
  });

  it('shows a user their own usage only, and the API error in place', async () => {
    signIn(7);
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': { ...ADMIN_USER, id: 7, role: 1, username: 'bob' },
      '/api/data/self': () => new Response(JSON.stringify({ success: false, message: 'range too long' })),
      '/api/log/self/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Dashboard />, { path: '/dashboard' });
    expect(await screen.findByRole('alert')).toHaveTextContent('range too long');
    expect(screen.queryByLabelText('Username')).not.toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/data/')).toBe(false);
    expect(api.calls.some((c) => c.path === '/api/log/stat')).toBe(false);
    expect(api.calls.some((c) => c.path === '/api/log/self/stat')).toBe(true);
    expect(screen.getByText('Your usage')).toBeInTheDocument();
  });
});
