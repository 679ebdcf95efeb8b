import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import registry from '../../../../gateway/state/option_registry.c?raw';
import { ADMIN_USER, apiFail, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import { AUTH_SECTIONS } from './AuthSettings';
import { BILLING_SECTIONS } from './BillingSettings';
import type { FieldKind } from './fieldtypes';
import { MODEL_SECTIONS } from './ModelSettings';
import { isSecretKey } from './options';
import { OPERATIONS_SECTIONS } from './OperationsSettings';
import { RATE_LIMIT_SECTIONS } from './RateLimitSettings';
import { SECURITY_SECTIONS } from './SecuritySettings';
import Settings from './Settings';
import { SITE_SECTIONS } from './SiteSettings';

const OPTIONS = [
  { key: 'SystemName', value: 'Token Factory' },
  { key: 'ServerAddress', value: 'http://localhost:3000' },
  { key: 'general_setting.docs_link', value: '' },
  { key: 'QuotaPerUnit', value: '500000' },
  { key: 'QuotaForNewUser', value: '0' },
  { key: 'RetryTimes', value: '0' },
  { key: 'UserUsableGroups', value: '{"default":"Default"}' },
  { key: 'GitHubOAuthEnabled', value: 'true' },
  { key: 'RegisterEnabled', value: 'true' },
];

type Put = { body: { key: string; value: string } };
const puts = (calls: Array<{ method: string; path: string; body: unknown }>) =>
  calls.filter((c) => c.method === 'PUT' && c.path === '/api/option/') as unknown as Put[];

function api(put: (body: { key: string; value: string }) => unknown = () => null) {
  return mockApi({
    '/api/status': { ...STATUS, github_oauth: false, register_enabled: true },
    '/api/user/self': ADMIN_USER,
    'GET /api/option/': OPTIONS,
    'PUT /api/option/': (_u: URL, init: RequestInit) => put(JSON.parse(String(init.body))),
  });
}

async function openTab(name: string) {
  const user = userEvent.setup({ delay: null });
  await user.click(await screen.findByRole('tab', { name }));
  return user;
}

const section = (title: string) => screen.getByText(title, { selector: 'h3' }).closest('section') as HTMLElement;

describe('Settings', { timeout: 60000 }, () => {
  beforeEach(() => signIn());

  it('refuses a quota per unit of 0 and sends a valid one as {key, value}', async () => {
    const m = api();
    await renderPage(<Settings />, { path: '/settings' });
    expect(await screen.findByTestId('settings-tabs')).toBeInTheDocument();
    const user = await openTab('Billing');
    const qpu = await screen.findByLabelText(/^Quota per unit/);
    expect(qpu).toHaveValue('500000');
    await user.clear(qpu);
    await user.type(qpu, '0');
    const save = within(section('Currency and display')).getByTestId(/^save-/);
    await user.click(save);
    expect(await screen.findByText('Must be greater than 0')).toBeInTheDocument();
    await user.clear(qpu);
    await user.type(qpu, 'abc');
    await user.click(save);
    expect(await screen.findByText('Enter a number')).toBeInTheDocument();
    expect(puts(m.calls)).toHaveLength(0);
    await user.clear(qpu);
    await user.type(qpu, '1000000');
    await user.click(save);
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body).toEqual({ key: 'QuotaPerUnit', value: '1000000' });
  });

  it('checks URL fields and sends only the changed ones', async () => {
    const m = api();
    await renderPage(<Settings />, { path: '/settings' });
    const user = userEvent.setup({ delay: null });
    const addr = await screen.findByLabelText(/^Server address/);
    await user.clear(addr);
    await user.type(addr, 'localhost:3000');
    const docs = screen.getByLabelText(/^Documentation link/);
    await user.type(docs, 'ftp://docs.example.com');
    const save = within(section('System information')).getByTestId(/^save-/);
    await user.click(save);
    expect(await screen.findAllByText('Enter a full address starting with http:// or https://')).toHaveLength(2);
    expect(puts(m.calls)).toHaveLength(0);
    await user.clear(addr);
    await user.type(addr, 'https://gw.example.com');
    await user.clear(docs);
    await user.click(save);
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body).toEqual({ key: 'ServerAddress', value: 'https://gw.example.com' });
  });

  it('checks JSON fields (valid JSON of the right shape) and sends the text', async () => {
    const m = api();
    await renderPage(<Settings />, { path: '/settings' });
    const user = await openTab('Billing');
    const groups = await screen.findByLabelText(/^Groups users may choose/);
    const save = within(section('User groups')).getByTestId(/^save-/);
    await user.clear(groups);
    await user.type(groups, '{{"default": ');
    await user.click(save);
    expect(await screen.findByText(/^Not valid JSON/)).toBeInTheDocument();
    await user.clear(groups);
    await user.type(groups, '{{"vip": 1}');
    await user.click(save);
    expect(await screen.findByText('Every value must be a string')).toBeInTheDocument();
    expect(puts(m.calls)).toHaveLength(0);
    await user.clear(groups);
    await user.type(groups, '{{"default":"Default","vip":"VIP"}');
    await user.click(save);
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body).toEqual({ key: 'UserUsableGroups', value: '{"default":"Default","vip":"VIP"}' });
  });

  it('shows the server error next to the field it refused', async () => {
    api((b) => (b.key === 'RetryTimes' ? apiFail('invalid value for RetryTimes: must be between 0 and 100') : null));
    await renderPage(<Settings />, { path: '/settings' });
    const user = await openTab('Operations');
    const retry = await screen.findByLabelText(/^Retry times/);
    await user.clear(retry);
    await user.type(retry, '5');
    await user.click(within(section('Channel health and retries')).getByTestId(/^save-/));
    await waitFor(() => expect(retry).toHaveAttribute('aria-invalid', 'true'));
    const errId = retry.getAttribute('aria-describedby')!.split(' ').find((id) => id.endsWith('-error'))!;
    expect(document.getElementById(errId)).toHaveTextContent('invalid value for RetryTimes: must be between 0 and 100');
  });

  it('sends switches as "true"/"false" and integers as their text', async () => {
    const m = api();
    await renderPage(<Settings />, { path: '/settings' });
    const user = await openTab('Sign-in');
    await user.click(await screen.findByLabelText('Allow registration'));
    await user.click(within(section('Password sign-in and registration')).getByTestId(/^save-/));
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body).toEqual({ key: 'RegisterEnabled', value: 'false' });
  });

  it('keeps unsaved edits when switching tabs', async () => {
    api();
    await renderPage(<Settings />, { path: '/settings' });
    const user = userEvent.setup({ delay: null });
    const name = await screen.findByLabelText(/^System name/);
    await user.clear(name);
    await user.type(name, 'My Gate');
    await user.click(screen.getByRole('tab', { name: 'Billing' }));
    await screen.findByLabelText(/^Quota per unit/);
    await user.click(screen.getByRole('tab', { name: 'Site' }));
    expect(screen.getByLabelText(/^System name/)).toHaveValue('My Gate');
  });

  it('saves the pricing page switches into HeaderNavModules, keeping the other modules', async () => {
    const stored = '{"home":true,"docs":{"enabled":false,"requireAuth":true},"pricing":"1"}';
    const m = mockApi({
      '/api/status': STATUS,
      '/api/user/self': ADMIN_USER,
      'GET /api/option/': [...OPTIONS, { key: 'HeaderNavModules', value: stored }],
      'PUT /api/option/': () => null,
    });
    await renderPage(<Settings />, { path: '/settings' });
    const user = userEvent.setup({ delay: null });
    const show = await screen.findByLabelText(/^Show the pricing page/);
    const auth = screen.getByLabelText(/^Only for signed-in users/);
    expect(show).toBeChecked(); // "1": on
    expect(auth).not.toBeChecked();
    await user.click(auth);
    const save = within(section('Public pages')).getByTestId(/^save-/);
    await user.click(save);
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body.key).toBe('HeaderNavModules');
    expect(JSON.parse(puts(m.calls)[0].body.value)).toEqual({
      home: true,
      docs: { enabled: false, requireAuth: true },
      pricing: { enabled: true, requireAuth: true },
    });
    // Off: the sign-in switch no longer applies; the saved text is the baseline.
    await user.click(show);
    expect(auth).toBeDisabled();
    await user.click(save);
    await waitFor(() => expect(puts(m.calls)).toHaveLength(2));
    expect(JSON.parse(puts(m.calls)[1].body.value)).toEqual({
      home: true,
      docs: { enabled: false, requireAuth: true },
      pricing: { enabled: false, requireAuth: true },
    });
  });

  it('writes the pricing module alone when HeaderNavModules is empty', async () => {
    const m = api();
    await renderPage(<Settings />, { path: '/settings' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByLabelText(/^Show the pricing page/));
    await user.click(within(section('Public pages')).getByTestId(/^save-/));
    await waitFor(() => expect(puts(m.calls)).toHaveLength(1));
    expect(puts(m.calls)[0].body).toEqual({
      key: 'HeaderNavModules',
      value: '{"pricing":{"enabled":false,"requireAuth":false}}',
    });
  });

  it('says when the server does not run a sign-in method that is switched on', async () => {
    api();
    await renderPage(<Settings />, { path: '/settings' });
    await openTab('Sign-in');
    const oauth = section('Third-party sign-in');
    expect(await within(oauth).findByText(/server reports it as off/)).toBeInTheDocument();
  });
});

describe('Settings fields and the option registry', () => {
  const all = [SITE_SECTIONS, AUTH_SECTIONS, BILLING_SECTIONS, MODEL_SECTIONS, OPERATIONS_SECTIONS, SECURITY_SECTIONS, RATE_LIMIT_SECTIONS]
    .flat()
    .flatMap((s) => s.fields);
  // B(key), I(key), F(key), S(key), J(key), P(key) in gateway/state/option_registry.c
  const types = new Map<string, string>();
  for (const m of registry.matchAll(/\b([BIFSJP])\("([^"]+)"/g)) types.set(m[2], m[1]);
  const expected: Record<FieldKind, string[]> = {
    bool: ['B'],
    int: ['I'],
    float: ['F'],
    string: ['S'],
    text: ['S'],
    url: ['S'],
    select: ['S'],
    secret: ['S'],
    json: ['J', 'P'],
    navModule: ['J'],
  };

  it('reads the registry', () => expect(types.size).toBeGreaterThan(100));

  it('every field is a registry key of the matching type, once', () => {
    const bad = all.filter((f) => !expected[f.kind].includes(types.get(f.key) ?? '?')).map((f) => `${f.key}:${f.kind}`);
    expect(bad).toEqual([]);
    const keys = all.map((f) => f.key);
    expect(keys.length).toBe(new Set(keys).size);
  });

  it('secret fields are exactly the keys the server never lists', () => {
    const wrong = all.filter((f) => (f.kind === 'secret') !== isSecretKey(f.key)).map((f) => f.key);
    expect(wrong).toEqual([]);
  });

  it('every registry key has a field here or on the models page', () => {
    const shown = new Set([...all.map((f) => f.key), 'ModelRatio', 'CompletionRatio', 'ModelPrice', 'CacheRatio', 'CreateCacheRatio', 'GroupRatio']);
    expect([...types.keys()].filter((k) => !shown.has(k))).toEqual([]);
  });
});
