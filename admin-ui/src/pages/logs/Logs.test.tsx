import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { formatQuota } from '../../lib/format';
import { ADMIN_USER, apiFail, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Logs from './Logs';

const NOW = Math.floor(Date.now() / 1000);

function row(id: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    user_id: 3,
    created_at: NOW - id * 60,
    type: 2,
    content: '',
    username: 'alice',
    token_name: 'key-a',
    model_name: 'gpt-4.1',
    quota: 1000 * id,
    prompt_tokens: 100,
    completion_tokens: 50,
    use_time: 2,
    is_stream: true,
    channel: 4,
    channel_name: 'openai-main',
    token_id: 9,
    group: 'default',
    ip: '203.0.113.7',
    request_id: `req-${id}`,
    other: JSON.stringify({
      model_ratio: 2.5,
      completion_ratio: 4,
      group_ratio: 0.8,
      model_price: -1,
      frt: 350,
      cache_tokens: 120,
      cache_ratio: 0.1,
      cache_creation_tokens: 64,
      cache_creation_ratio: 1.25,
    }),
    ...extra,
  };
}

function paged(url: URL, total: number) {
  const p = Number(url.searchParams.get('p') || 1);
  const size = Number(url.searchParams.get('page_size') || 10);
  const n = Math.max(0, Math.min(size, total - (p - 1) * size));
  return { page: p, page_size: size, total, items: Array.from({ length: n }, (_, i) => row((p - 1) * size + i + 1)) };
}

/** One change event per field (typing key by key re-renders the page per key). */
async function fill(user: ReturnType<typeof userEvent.setup>, label: string, value: string) {
  await user.click(screen.getByLabelText(label));
  await user.paste(value);
}

const lastCall = (calls: Array<{ path: string; url: URL }>, path: string) =>
  calls.filter((c) => c.path === path).at(-1)!.url.searchParams;

describe('Usage logs page', () => {
  beforeEach(() => setSession(null));

  it('sends every filter as query parameters to the list and to the totals', async () => {
    signIn();
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/log/': (u: URL) => paged(u, 3),
      '/api/log/stat': { quota: 123456, rpm: 5, tpm: 777 },
    });
    await renderPage(<Logs />, { path: '/logs' });
    const table = await screen.findByTestId('logs-table');
    expect(within(table).getAllByText('openai-main', { exact: false })).toHaveLength(3);
    const totals = screen.getByTestId('logs-totals');
    await waitFor(() => expect(totals).toHaveTextContent(formatQuota(123456)));
    expect(totals).toHaveTextContent('RPM: 5');
    expect(totals).toHaveTextContent('TPM: 777');

    const user = userEvent.setup({ delay: null });
    await fill(user, 'Model', 'gpt-4%');
    await fill(user, 'Key name', 'key-a');
    await fill(user, 'Group', 'vip');
    await fill(user, 'Request ID', 'req-9');
    await fill(user, 'Username', 'alice');
    await fill(user, 'Channel ID', '4x2');
    await user.click(screen.getByRole('combobox', { name: 'Type' }));
    await user.click(await screen.findByRole('option', { name: 'Error', hidden: true }));
    await user.click(screen.getByRole('combobox', { name: 'Quick range' }));
    await user.click(await screen.findByRole('option', { name: 'Last 7 days', hidden: true }));
    const before = api.calls.length;
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() => expect(api.calls.slice(before).some((c) => c.path === '/api/log/')).toBe(true));
    await waitFor(() => expect(api.calls.slice(before).some((c) => c.path === '/api/log/stat')).toBe(true));

    const q = lastCall(api.calls, '/api/log/');
    expect(Object.fromEntries(q)).toMatchObject({
      model_name: 'gpt-4%',
      token_name: 'key-a',
      group: 'vip',
      request_id: 'req-9',
      username: 'alice',
      channel: '42',
      type: '5',
      p: '1',
      page_size: '20',
    });
    const span = Number(q.get('end_timestamp')) - Number(q.get('start_timestamp'));
    expect(span).toBe(7 * 86400);
    expect(Math.abs(Number(q.get('end_timestamp')) - Date.now() / 1000)).toBeLessThan(120);

    const s = lastCall(api.calls, '/api/log/stat');
    for (const k of ['model_name', 'token_name', 'group', 'request_id', 'username', 'channel', 'type', 'start_timestamp', 'end_timestamp'])
      expect(s.get(k)).toBe(q.get(k));
    expect(s.get('p')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Reset' }));
    await waitFor(() => {
      const r = lastCall(api.calls, '/api/log/');
      expect(r.get('model_name')).toBeNull();
      expect(r.get('type')).toBeNull();
    });
  });

  it('pages through the rows and changes the page size', async () => {
    signIn();
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/log/': (u: URL) => paged(u, 45),
      '/api/log/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Logs />, { path: '/logs' });
    const table = await screen.findByTestId('logs-table');
    expect(within(table).getAllByRole('row')).toHaveLength(21);
    expect(screen.getByText('45 in total')).toBeInTheDocument();
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Page 3' }));
    await waitFor(() => expect(lastCall(api.calls, '/api/log/').get('p')).toBe('3'));
    await waitFor(() => expect(within(screen.getByTestId('logs-table')).getAllByRole('row')).toHaveLength(6));
    expect(within(screen.getByTestId('logs-table')).getByText(formatQuota(41000))).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Previous page' }));
    await waitFor(() => expect(lastCall(api.calls, '/api/log/').get('p')).toBe('2'));

    await user.click(screen.getByRole('combobox', { name: 'Per page' }));
    await user.click(await screen.findByRole('option', { name: '50', hidden: true }));
    await waitFor(() => {
      const q = lastCall(api.calls, '/api/log/');
      expect(q.get('page_size')).toBe('50');
      expect(q.get('p')).toBe('1');
    });
    await waitFor(() => expect(within(screen.getByTestId('logs-table')).getAllByRole('row')).toHaveLength(46));
  });

  it('shows a row in full: tokens, cache, ratios, timing and the request id', async () => {
    signIn();
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/log/': (u: URL) => paged(u, 2),
      '/api/log/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Logs />, { path: '/logs' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'Show log entry #2' }));
    const dialog = await screen.findByRole('dialog', { name: 'Log entry #2' });
    const d = within(dialog);
    const value = (label: string) => d.getByRole('rowheader', { name: label }).closest('tr')!.querySelector('td')!.textContent;
    expect(value('Model ratio')).toBe('2.5');
    expect(value('Completion ratio')).toBe('4');
    expect(value('Group ratio')).toBe('0.8');
    expect(value('Cache read ratio')).toBe('0.1');
    expect(value('Cache write ratio')).toBe('1.25');
    expect(value('Request ID')).toBe('req-2');
    expect(value('Cache read tokens')).toBe('120');
    expect(value('Cache write tokens')).toBe('64');
    expect(value('Prompt tokens')).toBe('100');
    expect(value('Completion tokens')).toBe('50');
    expect(value('Time to first token')).toBe('350 ms');
    expect(value('Time taken')).toBe('2 s');
    expect(value('Stream')).toBe('Yes');
    expect(value('IP address')).toBe('203.0.113.7');
    expect(value('Channel')).toBe('#4 openai-main');
    expect(value('Input price per 1M tokens')).toBe(formatQuota(2.5 * 2 * 500000, 6));
    expect(value('Output price per 1M tokens')).toBe(formatQuota(2.5 * 4 * 2 * 500000, 6));
    expect(value('Cost')).toBe(formatQuota(2000, 6));
  });

  it('hides the admin-only filters and columns from a user and reads their own logs', async () => {
    signIn(7);
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': { ...ADMIN_USER, id: 7, role: 1, username: 'bob' },
      '/api/log/self': (u: URL) => paged(u, 1),
      '/api/log/self/stat': { quota: 9, rpm: 1, tpm: 2 },
    });
    await renderPage(<Logs />, { path: '/logs' });
    const table = await screen.findByTestId('logs-table');
    expect(screen.queryByLabelText('Username')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Channel ID')).not.toBeInTheDocument();
    expect(within(table).queryByRole('columnheader', { name: 'Channel' })).not.toBeInTheDocument();
    expect(within(table).queryByRole('columnheader', { name: 'User' })).not.toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/log/' || c.path === '/api/log/stat')).toBe(false);
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/log/self/stat')).toBe(true));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Show log entry #1' }));
    const d = within(await screen.findByRole('dialog'));
    expect(d.queryByRole('rowheader', { name: 'Channel' })).not.toBeInTheDocument();
    expect(d.getByRole('rowheader', { name: 'Model ratio' })).toBeInTheDocument();
  });

  it('shows the API error in place', async () => {
    signIn();
    mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      '/api/log/': () => apiFail('invalid model_name: too many wildcards'),
      '/api/log/stat': { quota: 0, rpm: 0, tpm: 0 },
    });
    await renderPage(<Logs />, { path: '/logs' });
    expect(await screen.findByRole('alert')).toHaveTextContent('invalid model_name: too many wildcards');
    expect(screen.getByText('The logs could not be loaded')).toBeInTheDocument();
  });
});
