import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import i18n from '../../i18n';
import { setSession } from '../../api/client';
import { formatQuota, setDisplaySettings } from '../../lib/format';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Keys from './Keys';
import { badIpEntries, emptyKeyForm, keyPayload, pickerValue, validateKeyForm, type Token } from './keyForm';
import { baseUrl, buildSnippets } from './snippets';

const TOKEN: Token = {
  id: 7,
  user_id: 1,
  key: 'abcd**********wxyz',
  status: 1,
  name: 'laptop',
  created_time: 1760000000,
  accessed_time: 1760000000,
  expired_time: -1,
  remain_quota: 250000,
  unlimited_quota: false,
  used_quota: 1000,
  model_limits_enabled: true,
  model_limits: 'gpt-4o,claude-3',
  allow_ips: '',
  group: 'default',
};
const TOKEN2: Token = { ...TOKEN, id: 9, name: 'server', unlimited_quota: true, model_limits_enabled: false, model_limits: '' };

function routes(extra: Record<string, unknown> = {}) {
  return {
    '/api/status': { ...STATUS, server_address: 'https://gw.example.com' },
    '/api/user/self': ADMIN_USER,
    'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    'GET /api/token/': { items: [TOKEN, TOKEN2], total: 2, page: 1, page_size: 20 },
    '/api/user/self/models': ['claude-3', 'gpt-4o', 'gpt-4o-mini'],
    '/api/user/self/groups': { default: { ratio: 1, desc: 'Default' }, vip: { ratio: 2, desc: 'VIP' } },
    ...extra,
  };
}

const t = i18n.getFixedT('en');

describe('key form rules', () => {
  beforeEach(() => setDisplaySettings(STATUS as never));

  it('refuses a past expiry, a long name, a negative quota and bad IP entries', () => {
    const now = 1_800_000_000;
    const v = {
      ...emptyKeyForm(),
      name: 'é'.repeat(26), // 52 bytes in UTF-8: the server counts bytes
      unlimited: false,
      quota: -1,
      never: false,
      expires: pickerValue(now - 60),
      allowIps: '10.0.0.1\n300.1.1.1',
    };
    const e = validateKeyForm(t, v, now);
    expect(e.name).toMatch(/too long/);
    expect(e.quota).toMatch(/negative/);
    expect(e.expires).toMatch(/future/);
    expect(e.allowIps).toMatch(/300\.1\.1\.1/);
    expect(validateKeyForm(t, { ...v, name: 'é'.repeat(25), quota: 0, expires: pickerValue(now + 60), allowIps: '10.0.0.1' }, now)).toEqual({});
  });

  it('lets an edit keep an unchanged past expiry (the server allows it) but not set a new past one', () => {
    const now = 1_800_000_000;
    const loaded = { ...emptyKeyForm(), name: 'old', never: false, expires: pickerValue(now - 3600) };
    expect(validateKeyForm(t, loaded, now, loaded)).toEqual({});
    expect(validateKeyForm(t, { ...loaded, expires: pickerValue(now - 60) }, now, loaded).expires).toMatch(/future/);
    expect(validateKeyForm(t, loaded, now).expires).toMatch(/future/);
  });

  it('accepts the address forms the gateway parses and nothing else', () => {
    expect(badIpEntries('10.0.0.0/8, 192.168.1.1\n::1\n2001:db8::/32\n::ffff:1.2.3.4\n  fe80::1  ')).toEqual([]);
    expect(badIpEntries('10.0.0.0/33\n01.2.3.4\n1.2.3\n2001:db8::/129\n10.0.0.0/08\nfe80::1%eth0\nhost.example\n1:2:3:4:5:6:7:8:9')).toEqual([
      '10.0.0.0/33',
      '01.2.3.4',
      '1.2.3',
      '2001:db8::/129',
      '10.0.0.0/08',
      'fe80::1%eth0',
      'host.example',
      '1:2:3:4:5:6:7:8:9',
    ]);
  });

  it('converts the display amount to quota and never to -1; an edit keeps an unchanged quota out', () => {
    const v = { ...emptyKeyForm(), name: ' k ', unlimited: false, quota: 2.5 };
    expect(keyPayload(v)).toMatchObject({ name: 'k', remain_quota: 1250000, expired_time: -1, unlimited_quota: false });
    expect(keyPayload(v, v)).not.toHaveProperty('remain_quota');
    expect(keyPayload({ ...v, quota: 3 }, v)).toMatchObject({ remain_quota: 1500000 });
    setDisplaySettings({ ...STATUS, quota_display_type: 'CNY', usd_exchange_rate: 5 } as never);
    expect(keyPayload({ ...v, quota: 10 })).toMatchObject({ remain_quota: 1000000 });
  });
});

describe('snippets', () => {
  it('carry the site address and the full key in every sample', () => {
    expect(baseUrl('', 'http://localhost:3000')).toBe('http://localhost:3000');
    expect(baseUrl('https://gw.example.com/', 'http://x')).toBe('https://gw.example.com');
    const s = buildSnippets('https://gw.example.com', 'sk-SECRET123', 'gpt-4o');
    expect(s.map((x) => x.id)).toEqual(['curl', 'openai-js', 'openai-py', 'anthropic', 'gemini']);
    for (const x of s) {
      expect(x.code).toContain('https://gw.example.com');
      expect(x.code).toContain('sk-SECRET123');
      expect(x.code).toContain('gpt-4o');
    }
    expect(s[0].code).toContain("'https://gw.example.com/v1/chat/completions'");
    expect(s[0].code).toContain("'Authorization: Bearer sk-SECRET123'");
    expect(s[4].code).toContain('@google/genai');
    expect(s[4].code).toContain('baseUrl: "https://gw.example.com"');
  });
});

describe('API keys page', () => {
  beforeEach(() => {
    setSession(null);
    setDisplaySettings(STATUS as never);
    signIn();
  });

  it('lists the keys with quota, group and model limits', async () => {
    mockApi(routes());
    await renderPage(<Keys />, { path: '/keys' });
    const table = await screen.findByTestId('keys-table');
    expect(within(table).getByText('laptop')).toBeInTheDocument();
    expect(within(table).getByText('sk-abcd**********wxyz', { selector: 'code[data-testid="key-value-7"]' })).toBeInTheDocument();
    expect(within(table).getByText(`Left: ${formatQuota(250000)}`)).toBeInTheDocument();
    expect(within(table).getByText('gpt-4o')).toBeInTheDocument();
    expect(within(table).getByText('All models')).toBeInTheDocument();
    expect(within(table).getAllByText('Never expires').length).toBe(2);
  });

  it('shows the validation messages and sends nothing while the form is wrong', async () => {
    const api = mockApi(routes());
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('keys-create'));
    const dialog = await screen.findByRole('dialog');
    await user.click(within(dialog).getByTestId('key-form-submit'));
    expect(await within(dialog).findByText('Enter a name')).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText(/^Name/));
    await user.paste('x'.repeat(51));
    await user.click(within(dialog).getByLabelText('Unlimited quota'));
    await user.clear(within(dialog).getByLabelText(/^Remaining quota/));
    await user.type(within(dialog).getByLabelText(/^Remaining quota/), '-5');
    await user.type(within(dialog).getByLabelText('IP allow-list'), '10.0.0.1{enter}10.0.0.0/40');
    await user.click(within(dialog).getByTestId('key-form-submit'));
    expect(await within(dialog).findByText('The name is too long (at most 50 bytes)')).toBeInTheDocument();
    expect(within(dialog).getByText('The quota cannot be negative')).toBeInTheDocument();
    expect(within(dialog).getByText('Not an IP address or CIDR network: 10.0.0.0/40')).toBeInTheDocument();
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/token/')).toBe(false);
  });

  it('creates a key with the converted quota, model limits, IPs and group', async () => {
    let sent: Record<string, unknown> | null = null;
    mockApi(
      routes({
        'POST /api/token/': (_u: URL, init: RequestInit) => {
          sent = JSON.parse(String(init.body));
          return null;
        },
      }),
    );
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('keys-create'));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText(/^Name/), 'ci runner');
    await user.click(within(dialog).getByLabelText('Unlimited quota'));
    const quota = within(dialog).getByLabelText(/^Remaining quota/);
    await user.clear(quota);
    await user.type(quota, '2.5');
    await user.click(within(dialog).getByLabelText(/^Limit the models/));
    await user.click(within(dialog).getByLabelText('Allowed models'));
    await user.click(await screen.findByRole('option', { name: 'gpt-4o-mini', hidden: true }));
    await user.type(within(dialog).getByLabelText('IP allow-list'), '10.0.0.0/8{enter}2001:db8::1');
    await user.click(within(dialog).getByRole('combobox', { name: 'Group' }));
    await user.click(await screen.findByRole('option', { name: /^vip/, hidden: true }));
    await user.click(within(dialog).getByTestId('key-form-submit'));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).toEqual({
      name: 'ci runner',
      remain_quota: 1250000,
      unlimited_quota: false,
      expired_time: -1,
      model_limits_enabled: true,
      model_limits: 'gpt-4o-mini',
      allow_ips: '10.0.0.0/8\n2001:db8::1',
      group: 'vip',
    });
  });

  it('edits a key by id and shows the server error in place', async () => {
    let sent: Record<string, unknown> | null = null;
    mockApi(
      routes({
        'PUT /api/token/': (_u: URL, init: RequestInit) => {
          sent = JSON.parse(String(init.body));
          return new Response(JSON.stringify({ success: false, message: 'group "vip" is not available to this user' }));
        },
      }),
    );
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('key-edit-7'));
    const dialog = await screen.findByRole('dialog');
    const name = within(dialog).getByLabelText(/^Name/);
    expect(name).toHaveValue('laptop');
    await user.clear(name);
    await user.type(name, 'laptop 2');
    await user.click(within(dialog).getByTestId('key-form-submit'));
    await waitFor(() => expect(sent).not.toBeNull());
    expect(sent).toMatchObject({ id: 7, name: 'laptop 2', model_limits: 'gpt-4o,claude-3', group: 'default', expired_time: -1 });
    expect(sent).not.toHaveProperty('remain_quota'); // unchanged: the spent part stays spent
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('group "vip" is not available to this user');
  });

  it('reveals the full key through POST /api/token/:id/key', async () => {
    const api = mockApi(routes({ 'POST /api/token/7/key': { key: 'FULLKEY0123456789' } }));
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('key-reveal-7'));
    await waitFor(() => expect(screen.getByTestId('key-value-7')).toHaveTextContent('sk-FULLKEY0123456789'));
    expect(api.calls.filter((c) => c.path === '/api/token/7/key' && c.method === 'POST')).toHaveLength(1);
    await user.click(screen.getByTestId('key-reveal-7'));
    expect(screen.getByTestId('key-value-7')).toHaveTextContent('sk-abcd**********wxyz');
  });

  it('copies the full key, fetching it first', async () => {
    const api = mockApi(routes({ 'POST /api/token/9/key': { key: 'SECONDKEY987' } }));
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup(); // installs a clipboard stub on navigator
    await user.click(await screen.findByTestId('key-copy-9'));
    await waitFor(async () => expect(await navigator.clipboard.readText()).toBe('sk-SECONDKEY987'));
    expect(api.calls.filter((c) => c.path === '/api/token/9/key')).toHaveLength(1);
  });

  it('batch-deletes the selected keys by id after confirmation', async () => {
    let sent: unknown = null;
    mockApi(
      routes({
        'POST /api/token/batch': (_u: URL, init: RequestInit) => {
          sent = JSON.parse(String(init.body));
          return 2;
        },
      }),
    );
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByLabelText('Select key laptop'));
    await user.click(screen.getByLabelText('Select key server'));
    await user.click(screen.getByTestId('keys-batch-delete'));
    expect(sent).toBeNull(); // not before the confirmation
    await user.click(await screen.findByTestId('confirm-delete'));
    await waitFor(() => expect(sent).toEqual({ ids: [7, 9] }));
  });

  it('toggles the status with status_only and deletes one key after confirmation', async () => {
    const api = mockApi(routes({ 'PUT /api/token/': { ...TOKEN, status: 2 }, 'DELETE /api/token/9': null }));
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('key-disable-7'));
    await waitFor(() => expect(api.calls.some((c) => c.method === 'PUT')).toBe(true));
    const put = api.calls.find((c) => c.method === 'PUT')!;
    expect(put.url.searchParams.get('status_only')).toBe('true');
    expect(put.body).toEqual({ id: 7, status: 2 });
    await user.click(screen.getByTestId('key-delete-9'));
    await user.click(await screen.findByTestId('confirm-delete'));
    await waitFor(() => expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/api/token/9')).toBe(true));
  });

  it('the use panel shows samples with the site address and the revealed key', async () => {
    mockApi(routes({ 'POST /api/token/7/key': { key: 'FULLKEY0123456789' } }));
    await renderPage(<Keys />, { path: '/keys' });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('key-use-7'));
    const curl = await screen.findByTestId('snippet-curl');
    await waitFor(() => expect(curl).toHaveTextContent('sk-FULLKEY0123456789'));
    expect(curl).toHaveTextContent('https://gw.example.com/v1/chat/completions');
    expect(curl).toHaveTextContent('gpt-4o'); // the key's first allowed model
    await user.click(screen.getByRole('tab', { name: 'Gemini (@google/genai)' }));
    expect(await screen.findByTestId('snippet-gemini')).toHaveTextContent('sk-FULLKEY0123456789');
  });
});
