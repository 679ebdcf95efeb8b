import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderPage, signIn } from '../../test/render';
import Channels from './Channels';
import { channel, mockChannelsApi } from './testdata';

const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200, headers: { 'Content-Type': 'application/json' } });

describe('channels list', { timeout: 60_000 }, () => {
  beforeEach(() => signIn());

  it('lists channels with status, type, groups and marks a type the gateway cannot relay', async () => {
    mockChannelsApi([channel(), channel({ id: 6, name: 'baidu', type: 15, status: 3, group: 'default' })]);
    await renderPage(<Channels />, { path: '/channels' });
    const table = await screen.findByTestId('channels-table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(within(rows[1]).getByText('openai-main')).toBeInTheDocument();
    expect(within(rows[1]).getByText('Enabled')).toBeInTheDocument();
    expect(within(rows[1]).getByText('vip')).toBeInTheDocument();
    expect(within(rows[1]).queryByText('not relayed yet')).toBeNull();
    expect(within(rows[2]).getByText('Auto-disabled')).toBeInTheDocument();
    expect(within(rows[2]).getByText('not relayed yet')).toBeInTheDocument();
  });

  it('tests one channel through /api/channel/test/:id and shows the time, or the error', async () => {
    let answer: unknown = { success: true, message: '', time: 1.25 };
    const api = mockChannelsApi([channel()], { 'GET /api/channel/test/5': () => json(answer) });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByTestId('channel-test-5'));
    await waitFor(() => expect(screen.getByTestId('channel-test-result-5')).toHaveTextContent('1.3 s'));
    expect(api.calls.filter((c) => c.path === '/api/channel/test/5')).toHaveLength(1);

    answer = { success: false, message: 'upstream answered 401: invalid key', time: 0.2 };
    await user.click(screen.getByTestId('channel-test-5'));
    expect(await screen.findByText('upstream answered 401: invalid key')).toBeInTheDocument();
    expect(screen.getByTestId('channel-test-result-5')).toHaveTextContent('Failed');
  });

  it('tests with a chosen model', async () => {
    const api = mockChannelsApi([channel()], { 'GET /api/channel/test/5': () => json({ success: true, message: '', time: 0.5 }) });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('button', { name: 'More actions for openai-main' }));
    await user.click(await screen.findByRole('menuitem', { name: 'Test a model…' }));
    const dialog = await screen.findByRole('dialog');
    const input = within(dialog).getByLabelText('Test model');
    await user.clear(input);
    await user.click(input);
    await user.paste('gpt-4o-mini');
    await user.click(within(dialog).getByRole('button', { name: 'Test' }));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/channel/test/5')).toBe(true));
    const call = api.calls.find((c) => c.path === '/api/channel/test/5')!;
    expect(call.url.searchParams.get('model')).toBe('gpt-4o-mini');
  });

  it('deletes the selected channels in one batch call', async () => {
    const api = mockChannelsApi([channel(), channel({ id: 6, name: 'second' }), channel({ id: 9, name: 'third' })], {
      'POST /api/channel/batch': 2,
    });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByLabelText('Select openai-main'));
    await user.click(screen.getByLabelText('Select third'));
    await user.click(screen.getByTestId('channels-batch-delete'));
    await user.click(await screen.findByRole('button', { name: 'Confirm' }));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/channel/batch')).toBe(true));
    const call = api.calls.find((c) => c.path === '/api/channel/batch')!;
    expect(call.method).toBe('POST');
    expect((call.body as { ids: number[] }).ids.sort()).toEqual([5, 9]);
  });

  it('saves priority in place, disables a channel and enables a tag; untagged channels get no tag actions', async () => {
    const api = mockChannelsApi([channel({ tag: 'team-a' }), channel({ id: 8, name: 'loose', tag: '' })], {
      'PUT /api/channel/': channel(),
      'POST /api/channel/tag/enabled': null,
    });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    const prio = await screen.findByLabelText('Priority of openai-main');
    await user.clear(prio);
    await user.type(prio, '42{enter}');
    await waitFor(() => expect(api.calls.some((c) => c.method === 'PUT')).toBe(true));
    expect(api.calls.find((c) => c.method === 'PUT')!.body).toEqual({ id: 5, priority: 42 });

    await user.click(screen.getByRole('button', { name: 'More actions for openai-main' }));
    await user.click(await screen.findByRole('menuitem', { name: 'Disable' }));
    await waitFor(() => expect(api.calls.filter((c) => c.method === 'PUT')).toHaveLength(2));
    expect(api.calls.filter((c) => c.method === 'PUT')[1].body).toEqual({ id: 5, status: 2 });

    await user.click(screen.getByRole('switch', { name: 'Group by tag' }));
    await waitFor(() => expect(api.calls.some((c) => c.url.searchParams.get('tag_mode') === 'true')).toBe(true));
    expect(await screen.findByText('Without a tag (1)')).toBeInTheDocument();
    // one tag, one set of tag actions: the untagged group has none (the server needs a tag)
    await user.click(await screen.findByRole('button', { name: 'Enable all' }));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/channel/tag/enabled')).toBe(true));
    expect(api.calls.find((c) => c.path === '/api/channel/tag/enabled')!.body).toEqual({ tag: 'team-a' });
  });

  it('searches with the keyword and model, and shows the empty state', async () => {
    const api = mockChannelsApi([]);
    await renderPage(<Channels />, { path: '/channels' });
    expect(await screen.findByText('No channels yet. Create one to start relaying requests.')).toBeInTheDocument();
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText('Search'));
    await user.paste('main');
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/channel/search')).toBe(true));
    expect(api.calls.find((c) => c.path === '/api/channel/search')!.url.searchParams.get('keyword')).toBe('main');
  });

  it('edits a tag: sends only the filled fields to PUT /api/channel/tag, refuses a bad mapping', async () => {
    const api = mockChannelsApi([channel({ tag: 'team-a' })], { 'PUT /api/channel/tag': null });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByRole('switch', { name: 'Group by tag' }));
    await user.click(await screen.findByRole('button', { name: 'Edit tag' }));
    const dialog = await screen.findByRole('dialog');
    const tagName = within(dialog).getByLabelText('Tag name');
    await user.clear(tagName);
    await user.click(tagName);
    await user.paste('team-b');
    await user.click(within(dialog).getByLabelText('Priority'));
    await user.paste('7');
    await user.click(within(dialog).getByLabelText('Model mapping'));
    await user.paste('{"a": 1}');
    await user.click(within(dialog).getByTestId('tag-edit-submit'));
    expect(await within(dialog).findByText('Every value must be a string')).toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/api/channel/tag')).toBe(false);

    await user.clear(within(dialog).getByLabelText('Model mapping'));
    await user.click(within(dialog).getByTestId('tag-edit-submit'));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/api/channel/tag')).toBe(true));
    expect(api.calls.find((c) => c.path === '/api/channel/tag')!.body).toEqual({ tag: 'team-a', new_tag: 'team-b', priority: 7 });
  });

  it('disables and tags the selected channels, one PUT each', async () => {
    const api = mockChannelsApi([channel(), channel({ id: 6, name: 'second' }), channel({ id: 9, name: 'third' })], {
      'PUT /api/channel/': channel(),
    });
    await renderPage(<Channels />, { path: '/channels' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByLabelText('Select second'));
    await user.click(screen.getByLabelText('Select third'));
    await user.click(screen.getByRole('button', { name: 'Disable selected' }));
    await waitFor(() => expect(api.calls.filter((c) => c.method === 'PUT')).toHaveLength(2));
    expect(api.calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([
      { id: 6, status: 2 },
      { id: 9, status: 2 },
    ]);
    // the selection is cleared after a batch action
    expect(screen.queryByRole('button', { name: 'Disable selected' })).toBeNull();

    await user.click(screen.getByLabelText('Select openai-main'));
    await user.click(screen.getByRole('button', { name: 'Set tag' }));
    const tagInput = await screen.findByLabelText('Tag');
    await user.click(tagInput);
    await user.paste('team-z');
    await user.type(tagInput, '{enter}');
    await waitFor(() => expect(api.calls.filter((c) => c.method === 'PUT')).toHaveLength(3));
    expect(api.calls.filter((c) => c.method === 'PUT')[2].body).toEqual({ id: 5, tag: 'team-z' });
  });
});
