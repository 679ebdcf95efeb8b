import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiFail, renderPage, signIn } from '../../test/render';
import Channels from './Channels';
import { channel, mockChannelsApi } from './testdata';

async function openCreate() {
  await renderPage(<Channels />, { path: '/channels' });
  const user = userEvent.setup({ delay: null });
  await user.click(await screen.findByTestId('channels-create'));
  const dialog = await screen.findByRole('dialog');
  return { user, dialog };
}

/** Types by pasting: one change event instead of one per character (the form is large). */
async function fill(user: ReturnType<typeof userEvent.setup>, el: HTMLElement, text: string) {
  await user.click(el);
  await user.paste(text);
}

const posts = (api: ReturnType<typeof mockChannelsApi>, path: string, method = 'POST') =>
  api.calls.filter((c) => c.method === method && c.path === path);

describe('channel form', { timeout: 60_000 }, () => {
  beforeEach(() => signIn());

  it('requires a name and a key, JSON objects and whole numbers, and sends nothing until they are right', async () => {
    const api = mockChannelsApi([]);
    const { user, dialog } = await openCreate();
    await user.click(within(dialog).getByTestId('channel-form-submit'));
    expect(await within(dialog).findByText('Name is required')).toBeInTheDocument();
    expect(within(dialog).getByText('Key is required')).toBeInTheDocument();
    expect(within(dialog).getByText('Add at least one model')).toBeInTheDocument();

    await fill(user, within(dialog).getByLabelText(/^Name/), 'main');
    await fill(user, within(dialog).getByLabelText(/^Key/), 'sk-1');
    await user.type(within(dialog).getByLabelText(/^Models/), 'gpt-4o{enter}');
    await user.click(within(dialog).getByLabelText(/^Model mapping/));
    await user.paste('{"a": ');
    await user.clear(within(dialog).getByLabelText(/^Header override/));
    await user.click(within(dialog).getByLabelText(/^Header override/));
    await user.paste('["x"]');
    await user.clear(within(dialog).getByLabelText(/^Priority/));
    await fill(user, within(dialog).getByLabelText(/^Priority/), '1.5');
    await user.clear(within(dialog).getByLabelText(/^Weight/));
    await fill(user, within(dialog).getByLabelText(/^Weight/), '-2');
    await user.click(within(dialog).getByTestId('channel-form-submit'));

    expect(await within(dialog).findByText('Must be valid JSON')).toBeInTheDocument();
    expect(within(dialog).getByText('Must be a JSON object, e.g. {"a": "b"}')).toBeInTheDocument();
    expect(within(dialog).getByText('Must be a whole number')).toBeInTheDocument();
    expect(within(dialog).getByText('Must be a whole number, zero or more')).toBeInTheDocument();
    expect(within(dialog).queryByText('Name is required')).toBeNull();
    expect(within(dialog).queryByText('Key is required')).toBeNull();
    expect(posts(api, '/api/channel/')).toHaveLength(0);
  });

  it('creates a batch of channels: keys one per line, models and groups joined by commas, the mapping as JSON text', async () => {
    const api = mockChannelsApi([], { 'POST /api/channel/': { ids: [7, 8] } });
    const { user, dialog } = await openCreate();
    await fill(user, within(dialog).getByLabelText(/^Name/), 'bulk');
    await fill(user, within(dialog).getByLabelText(/^Base URL/), 'https://up.example.com/');
    await user.click(within(dialog).getByRole('radio', { name: 'Batch: one channel per key' }));
    await fill(user, within(dialog).getByLabelText(/^Key/), ' sk-a \n\nsk-b');
    await user.type(within(dialog).getByLabelText(/^Models/), 'gpt-4o-mini{enter}o3-mini{enter}');
    const groups = within(dialog).getByLabelText(/^Groups/);
    await user.click(groups);
    const vip = (await screen.findAllByRole('option', { name: 'vip', hidden: true })).find(
      (o) => o.closest('[role=listbox]')?.id === groups.getAttribute('aria-controls'),
    );
    await user.click(vip!);
    await user.click(within(dialog).getByLabelText(/^Model mapping/));
    await user.paste('{"gpt-4o-mini": "gpt-4o-mini-2024"}');
    await user.clear(within(dialog).getByLabelText(/^Priority/));
    await fill(user, within(dialog).getByLabelText(/^Priority/), '-3');
    await fill(user, within(dialog).getByLabelText(/^Proxy/), 'socks5://10.0.0.1:1080');
    await user.click(within(dialog).getByTestId('channel-form-submit'));

    await waitFor(() => expect(posts(api, '/api/channel/')).toHaveLength(1));
    const body = posts(api, '/api/channel/')[0].body as { mode: string; channel: Record<string, unknown> };
    expect(body.mode).toBe('batch');
    expect(body).toHaveProperty('batch_add_set_key_prefix_2_name', false);
    expect(body.channel).toMatchObject({
      type: 1,
      name: 'bulk',
      base_url: 'https://up.example.com',
      key: 'sk-a\nsk-b',
      models: 'gpt-4o-mini,o3-mini',
      group: 'default,vip',
      model_mapping: '{"gpt-4o-mini":"gpt-4o-mini-2024"}',
      priority: -3,
      weight: 0,
      auto_ban: 1,
      status: 1,
    });
    expect(JSON.parse(String(body.channel.setting))).toMatchObject({ proxy: 'socks5://10.0.0.1:1080' });
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('edits a channel: sends its id and every field, leaves the key out when none was typed, keeps unknown setting keys', async () => {
    const api = mockChannelsApi([channel()], { 'PUT /api/channel/': channel({ name: 'renamed' }) });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'Edit openai-main' }));
    const dialog = await screen.findByRole('dialog');
    const name = within(dialog).getByLabelText(/^Name/);
    expect(name).toHaveValue('openai-main');
    expect(within(dialog).getByLabelText(/^Key/)).toHaveValue('');
    await user.clear(name);
    await fill(user, name, 'renamed');
    await user.click(within(dialog).getByTestId('channel-form-submit'));

    await waitFor(() => expect(posts(api, '/api/channel/', 'PUT')).toHaveLength(1));
    const body = posts(api, '/api/channel/', 'PUT')[0].body as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 5,
      name: 'renamed',
      models: 'gpt-4o,gpt-4o-mini',
      group: 'default,vip',
      priority: 10,
      weight: 3,
      model_mapping: '{"gpt-4o":"gpt-4o-2024-11-20"}',
    });
    expect(body).not.toHaveProperty('key');
    expect(JSON.parse(String(body.setting))).toMatchObject({ proxy: 'socks5://127.0.0.1:1080', http_protocol: 'http1' });
  });

  it('sends a newly typed key on edit', async () => {
    const api = mockChannelsApi([channel()], { 'PUT /api/channel/': channel() });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'Edit openai-main' }));
    const dialog = await screen.findByRole('dialog');
    await fill(user, within(dialog).getByLabelText(/^Key/), 'sk-new');
    await user.click(within(dialog).getByTestId('channel-form-submit'));
    await waitFor(() => expect(posts(api, '/api/channel/', 'PUT')).toHaveLength(1));
    expect(posts(api, '/api/channel/', 'PUT')[0].body).toMatchObject({ id: 5, key: 'sk-new' });
  });

  it('fetches the models from the upstream with the typed key and base URL, and fills the list', async () => {
    const api = mockChannelsApi([], {
      'POST /api/channel/fetch_models': ['up-model-1', 'up-model-2'],
      'POST /api/channel/': { ids: [9] },
    });
    const { user, dialog } = await openCreate();
    await fill(user, within(dialog).getByLabelText(/^Name/), 'fetched');
    await fill(user, within(dialog).getByLabelText(/^Base URL/), 'https://up.example.com');
    await fill(user, within(dialog).getByLabelText(/^Key/), 'sk-fetch');
    await user.click(within(dialog).getByTestId('channel-fetch-models'));
    expect(await within(dialog).findByText('2 models fetched, 2 added.')).toBeInTheDocument();
    expect(posts(api, '/api/channel/fetch_models')[0].body).toEqual({
      base_url: 'https://up.example.com',
      type: 1,
      key: 'sk-fetch',
    });
    await user.click(within(dialog).getByTestId('channel-form-submit'));
    await waitFor(() => expect(posts(api, '/api/channel/')).toHaveLength(1));
    expect((posts(api, '/api/channel/')[0].body as { channel: { models: string } }).channel.models).toBe('up-model-1,up-model-2');
  });

  it("fetches a stored channel's models by id when no key is typed, and shows the server's error in place", async () => {
    const api = mockChannelsApi([channel()], {
      'GET /api/channel/fetch_models/5': () => apiFail('upstream answered 401'),
    });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'Edit openai-main' }));
    const dialog = await screen.findByRole('dialog');
    await user.click(within(dialog).getByTestId('channel-fetch-models'));
    expect(await within(dialog).findByText('upstream answered 401')).toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/channel/fetch_models/5' && c.method === 'GET')).toBe(true);
  });

  it('shows the server refusal in the form', async () => {
    mockChannelsApi([], { 'POST /api/channel/': () => apiFail('base_url refused: private address') });
    const { user, dialog } = await openCreate();
    await fill(user, within(dialog).getByLabelText(/^Name/), 'x');
    await fill(user, within(dialog).getByLabelText(/^Key/), 'sk');
    await user.type(within(dialog).getByLabelText(/^Models/), 'm{enter}');
    await user.click(within(dialog).getByTestId('channel-form-submit'));
    expect(await within(dialog).findByText('base_url refused: private address')).toBeInTheDocument();
    expect(screen.getByRole('dialog')).toBeInTheDocument();
  });

  it('takes a model left in the field without Enter, without the separator typed after it (as a browser fill leaves it)', async () => {
    const api = mockChannelsApi([], { 'POST /api/channel/': { ids: [3] } });
    const { user, dialog } = await openCreate();
    await fill(user, within(dialog).getByLabelText(/^Name/), 'filled');
    await fill(user, within(dialog).getByLabelText(/^Key/), 'sk');
    const models = within(dialog).getByLabelText(/^Models/);
    await user.click(models);
    fireEvent.change(models, { target: { value: 'gpt-x,' } });
    await user.click(within(dialog).getByTestId('channel-form-submit'));
    await waitFor(() => expect(posts(api, '/api/channel/')).toHaveLength(1));
    expect((posts(api, '/api/channel/')[0].body as { channel: { models: string } }).channel.models).toBe('gpt-x');
  });
});
