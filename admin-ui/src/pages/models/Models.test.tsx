import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_USER, apiFail, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Models from './Models';

const OPTIONS = [
  { key: 'ModelRatio', value: '{"gpt-4o":1.25,"claude-3":1.5}' },
  { key: 'CompletionRatio', value: '{"gpt-4o":4}' },
  { key: 'ModelPrice', value: '{"dall-e-3":0.04}' },
  { key: 'CacheRatio', value: '{}' },
  { key: 'CreateCacheRatio', value: '{}' },
  { key: 'GroupRatio', value: '{"default":1,"vip":1}' },
  { key: 'SystemName', value: 'Token Factory' },
];

type Call = { method: string; path: string; body: unknown };
const puts = (calls: Call[]) => calls.filter((c) => c.method === 'PUT' && c.path === '/api/option/') as Array<{ body: { key: string; value: string } }>;

function rootApi(extra: Record<string, unknown> = {}) {
  return mockApi({
    '/api/status': STATUS,
    '/api/user/self': ADMIN_USER,
    'GET /api/option/': OPTIONS,
    '/api/channel/models': [{ id: 'gpt-4o' }, { id: 'new-model' }],
    'PUT /api/option/': () => null,
    ...extra,
  });
}

async function openEditor(name: string) {
  const user = userEvent.setup({ delay: null });
  await user.click(await screen.findByRole('button', { name: `Edit ${name}` }));
  const dialog = await screen.findByRole('dialog');
  return { user, dialog };
}

describe('Models and prices (root)', { timeout: 30000 }, () => {
  beforeEach(() => signIn());

  it('lists priced and channel models with the $ per 1M input equivalent', async () => {
    rootApi();
    await renderPage(<Models />, { path: '/models' });
    const table = await screen.findByTestId('models-table');
    const row = within(table).getByText('gpt-4o').closest('tr')!;
    // ratio 1.25 = $2.50 per 1M input tokens; completion 4
    expect(row).toHaveTextContent('$2.50');
    expect(row).toHaveTextContent('1.25');
    expect(row).toHaveTextContent('4');
    const call = within(table).getByText('dall-e-3').closest('tr')!;
    expect(call).toHaveTextContent('Per call');
    expect(call).toHaveTextContent('$0.04');
    const unpriced = within(table).getByText('new-model').closest('tr')!;
    expect(unpriced).toHaveTextContent('No price');
  });

  it('says where the relay charges another completion ratio than the table (a built-in rule)', async () => {
    rootApi({
      'GET /api/option/': OPTIONS.map((o) => (o.key === 'CompletionRatio' ? { ...o, value: '{"gpt-4o":4,"claude-3":2}' } : o)),
      '/api/pricing': () =>
        new Response(
          JSON.stringify({
            success: true,
            data: [
              { model_name: 'gpt-4o', quota_type: 0, model_ratio: 1.25, model_price: 0, completion_ratio: 4, enable_groups: ['default'] },
              { model_name: 'claude-3', quota_type: 0, model_ratio: 1.5, model_price: 0, completion_ratio: 5, enable_groups: ['default'] },
            ],
          }),
        ),
    });
    await renderPage(<Models />, { path: '/models' });
    const table = await screen.findByTestId('models-table');
    await waitFor(() => expect(within(table).getByText('claude-3').closest('tr')).toHaveTextContent('charged: 5'));
    expect(within(table).getByText('gpt-4o').closest('tr')).not.toHaveTextContent('charged');
    const { dialog } = await openEditor('claude-3');
    expect(within(dialog).getByText(/charges 5 for this model/)).toBeInTheDocument();
  });

  it('refuses negative and non-numeric ratios before sending anything', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const { user, dialog } = await openEditor('gpt-4o');
    const ratio = within(dialog).getByLabelText(/^Model ratio/);
    await user.clear(ratio);
    await user.type(ratio, '-1');
    const completion = within(dialog).getByLabelText(/^Completion ratio/);
    await user.clear(completion);
    await user.type(completion, 'abc');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await within(dialog).findByText('Must be zero or more')).toBeInTheDocument();
    expect(within(dialog).getByText('Enter a number')).toBeInTheDocument();
    expect(ratio).toHaveAttribute('aria-invalid', 'true');
    expect(puts(api.calls)).toHaveLength(0);
  });

  it('saves the edited tables as their whole JSON text, keeping the other models', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const { user, dialog } = await openEditor('gpt-4o');
    // Typing dollars per 1M input tokens sets the ratio (÷ 2).
    const usd = within(dialog).getByLabelText(/^Input price/);
    await user.clear(usd);
    await user.type(usd, '5');
    expect(within(dialog).getByLabelText(/^Model ratio/)).toHaveValue('2.5');
    const completion = within(dialog).getByLabelText(/^Completion ratio/);
    await user.clear(completion);
    await user.type(completion, '3');
    await user.type(within(dialog).getByLabelText(/^Cache read ratio/), '0.1');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(puts(api.calls)).toHaveLength(3));
    const sent = Object.fromEntries(puts(api.calls).map((c) => [c.body.key, JSON.parse(c.body.value)]));
    expect(sent.ModelRatio).toEqual({ 'gpt-4o': 2.5, 'claude-3': 1.5 });
    expect(sent.CompletionRatio).toEqual({ 'gpt-4o': 3 });
    expect(sent.CacheRatio).toEqual({ 'gpt-4o': 0.1 });
    // unchanged tables are not written
    expect(sent.ModelPrice).toBeUndefined();
    expect(typeof puts(api.calls)[0].body.value).toBe('string');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('a fixed price replaces the ratios of that model', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const { user, dialog } = await openEditor('gpt-4o');
    await user.click(within(dialog).getByText('Per call'));
    await user.type(within(dialog).getByLabelText(/^Price per call/), '0.5');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(puts(api.calls).length).toBeGreaterThanOrEqual(3));
    const sent = Object.fromEntries(puts(api.calls).map((c) => [c.body.key, JSON.parse(c.body.value)]));
    expect(sent.ModelPrice).toEqual({ 'dall-e-3': 0.04, 'gpt-4o': 0.5 });
    expect(sent.ModelRatio).toEqual({ 'claude-3': 1.5 });
    expect(sent.CompletionRatio).toEqual({});
  });

  it('shows the server refusal in the editor', async () => {
    rootApi({ 'PUT /api/option/': () => apiFail('invalid value for ModelRatio: ModelRatio: value of "gpt-4o" must be between 0 and 1e9') });
    await renderPage(<Models />, { path: '/models' });
    const { user, dialog } = await openEditor('gpt-4o');
    const ratio = within(dialog).getByLabelText(/^Model ratio/);
    await user.clear(ratio);
    await user.type(ratio, '3');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('The server refused ModelRatio');
    expect(alert).toHaveTextContent('must be between 0 and 1e9');
    expect(screen.getByRole('dialog')).toBeInTheDocument();
  });

  it('adds a model and refuses a name that already has a price', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const user = userEvent.setup({ delay: null });
    await screen.findByTestId('models-table');
    await user.click(screen.getByRole('button', { name: 'Add model' }));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText(/^Model name/), 'claude-3');
    await user.type(within(dialog).getByLabelText(/^Model ratio/), '1');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await within(dialog).findByText(/already has a price/)).toBeInTheDocument();
    expect(puts(api.calls)).toHaveLength(0);
    const name = within(dialog).getByLabelText(/^Model name/);
    await user.clear(name);
    await user.type(name, 'new-model');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(puts(api.calls)).toHaveLength(1));
    expect(puts(api.calls)[0].body.key).toBe('ModelRatio');
    expect(JSON.parse(puts(api.calls)[0].body.value)).toEqual({ 'gpt-4o': 1.25, 'claude-3': 1.5, 'new-model': 1 });
  });

  it('removes a model from every table after confirmation', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'Remove the price of gpt-4o' }));
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(puts(api.calls)).toHaveLength(2));
    const sent = Object.fromEntries(puts(api.calls).map((c) => [c.body.key, JSON.parse(c.body.value)]));
    expect(sent.ModelRatio).toEqual({ 'claude-3': 1.5 });
    expect(sent.CompletionRatio).toEqual({});
  });

  it('edits group ratios: rejects a negative ratio, then sends the GroupRatio JSON', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('tab', { name: 'Group ratios' }));
    const vip = await screen.findByLabelText('Group 2 ratio');
    await user.clear(vip);
    await user.type(vip, '-0.5');
    await user.click(screen.getByRole('button', { name: 'Save group ratios' }));
    expect(await screen.findByText('Must be zero or more')).toBeInTheDocument();
    expect(puts(api.calls)).toHaveLength(0);
    await user.clear(vip);
    await user.type(vip, '0.8');
    await user.click(screen.getByRole('button', { name: 'Add group' }));
    await user.type(screen.getByLabelText('Group 3 name'), 'svip');
    const svip = screen.getByLabelText('Group 3 ratio');
    await user.clear(svip);
    await user.type(svip, '0.5');
    await user.click(screen.getByRole('button', { name: 'Save group ratios' }));
    await waitFor(() => expect(puts(api.calls)).toHaveLength(1));
    expect(puts(api.calls)[0].body.key).toBe('GroupRatio');
    expect(JSON.parse(puts(api.calls)[0].body.value)).toEqual({ default: 1, vip: 0.8, svip: 0.5 });
  });

  it('the JSON tab refuses text that is not a ratio table', async () => {
    const api = rootApi();
    await renderPage(<Models />, { path: '/models' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('tab', { name: 'JSON' }));
    const area = await screen.findByLabelText('Cache read ratios');
    await user.clear(area);
    await user.type(area, '{{"a": -1}');
    await user.click(screen.getByRole('button', { name: /^Save Price tables as JSON/ }));
    expect(await screen.findByText('Every value must be a number from 0 to 1e9')).toBeInTheDocument();
    expect(puts(api.calls)).toHaveLength(0);
  });
});

describe('Models and prices (admin, not root)', { timeout: 30000 }, () => {
  beforeEach(() => signIn(2));

  it('shows the charged prices read only and says editing needs root', async () => {
    const api = mockApi({
      '/api/status': STATUS,
      '/api/user/self': { ...ADMIN_USER, id: 2, role: 10 },
      '/api/pricing': () =>
        new Response(
          JSON.stringify({
            success: true,
            data: [{ model_name: 'gpt-4o', quota_type: 0, model_ratio: 1.25, model_price: 0, completion_ratio: 4, enable_groups: ['default'] }],
            group_ratio: { default: 1 },
            usable_group: { default: 'Default' },
          }),
        ),
    });
    await renderPage(<Models />, { path: '/models' });
    expect(await screen.findByTestId('models-readonly')).toHaveTextContent('needs the root account');
    const table = await screen.findByTestId('models-table');
    expect(within(table).getByText('gpt-4o').closest('tr')).toHaveTextContent('$2.50');
    expect(screen.queryByRole('button', { name: /^Edit / })).not.toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/option/')).toBe(false);
  });
});
