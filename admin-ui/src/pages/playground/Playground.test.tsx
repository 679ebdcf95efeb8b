import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../../api/client';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../../test/render';
import Playground, { buildChatRequest } from './Playground';

const enc = new TextEncoder();

function sse(parts: string[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      parts.forEach((p) => c.enqueue(enc.encode(p)));
      c.close();
    },
  });
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
}

function routes(pg: (u: URL, init: RequestInit) => unknown) {
  return {
    '/api/status': STATUS,
    '/api/user/self': ADMIN_USER,
    'POST /api/user/auth/refresh': () => new Response('{"success":false}', { status: 401 }),
    '/api/user/self/models': ['gpt-4o', 'gpt-4o-mini'],
    '/api/user/self/groups': { default: { ratio: 1, desc: 'Default' } },
    'POST /pg/chat/completions': pg,
  };
}

describe('Playground', () => {
  beforeEach(() => {
    localStorage.removeItem('tf_playground');
    setSession(null);
    signIn();
  });

  it('remembers the model and settings of the last visit, and drops a model no longer listed', async () => {
    localStorage.setItem('tf_playground', JSON.stringify({ model: 'gpt-4o-mini', system: 'Saved prompt', temperature: 0.3, stream: false }));
    let sent: Record<string, unknown> | null = null;
    mockApi(
      routes((_u, init) => {
        sent = JSON.parse(String(init.body));
        return new Response('{"choices":[{"message":{"role":"assistant","content":"fine"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}', {
          headers: { 'Content-Type': 'application/json' },
        });
      }),
    );
    const view = await renderPage(<Playground />, { path: '/playground' });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o-mini'));
    expect(screen.getByLabelText(/^System prompt/)).toHaveValue('Saved prompt');
    await user.type(screen.getByTestId('playground-input'), 'Hi{enter}');
    await waitFor(() => expect(screen.getByTestId('playground-answer')).toHaveTextContent('fine'));
    expect(sent).toMatchObject({ model: 'gpt-4o-mini', stream: false, temperature: 0.3, messages: [{ role: 'system', content: 'Saved prompt' }, { role: 'user', content: 'Hi' }] });
    view.unmount();

    localStorage.setItem('tf_playground', JSON.stringify({ model: 'retired-model' }));
    mockApi(routes(() => null));
    await renderPage(<Playground />, { path: '/playground' });
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o'));
  });

  it('streams the answer into Markdown, with the session headers and usage', async () => {
    let sent: Record<string, unknown> | null = null;
    let auth: string | null = null;
    const api = mockApi(
      routes((_u, init) => {
        sent = JSON.parse(String(init.body));
        auth = new Headers(init.headers).get('Authorization');
        return sse([
          'data: {"choices":[{"delta":{"role":"assistant","content":"Here is **bold** and"}}]}\n\n',
          'data: {"choices":[{"delta":{"content":" code:\\n\\n```js\\nlet x = 1;\\n```"}}]}\n',
          '\ndata: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}\n\ndata: [DONE]\n\n',
        ]);
      }),
    );
    await renderPage(<Playground />, { path: '/playground' });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o'));
    await user.type(screen.getByLabelText(/^System prompt/), 'Be brief.');
    const input = screen.getByTestId('playground-input');
    await user.type(input, 'Hi{shift>}{enter}{/shift}there');
    expect(input).toHaveValue('Hi\nthere'); // Shift+Enter is a new line, not a send
    expect(api.calls.some((c) => c.path === '/pg/chat/completions')).toBe(false);
    await user.keyboard('{enter}');
    const answer = await screen.findByTestId('playground-answer');
    await waitFor(() => expect(answer.querySelector('pre')?.textContent).toBe('let x = 1;'));
    expect(answer.querySelector('strong')).toHaveTextContent('bold');
    expect(await within(answer).findByTestId('playground-usage')).toHaveTextContent('12 in, 7 out, 19 in total');
    expect(sent).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi\nthere' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(auth).toBe('Bearer test.jwt.token');
    expect(input).toHaveValue('');
  });

  it('shows the upstream error text in the answer', async () => {
    mockApi(
      routes(
        () =>
          new Response(JSON.stringify({ error: { message: 'model gpt-4o is not available in group default', type: 'invalid_request_error', code: 'model_not_found' } }), {
            status: 503,
            headers: { 'Content-Type': 'application/json' },
          }),
      ),
    );
    await renderPage(<Playground />, { path: '/playground' });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o'));
    await user.type(screen.getByTestId('playground-input'), 'Hello');
    await user.click(screen.getByTestId('playground-send'));
    const answer = await screen.findByTestId('playground-answer');
    expect(await within(answer).findByRole('alert')).toHaveTextContent('model gpt-4o is not available in group default');
  });

  it('shows an error event that arrives mid-stream after the partial text', async () => {
    mockApi(
      routes(() =>
        sse([
          'data: {"choices":[{"delta":{"content":"partial"}}]}\n\n',
          'data: {"error":{"message":"upstream closed the stream","type":"upstream_error","code":null}}\n\n',
        ]),
      ),
    );
    await renderPage(<Playground />, { path: '/playground' });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o'));
    await user.type(screen.getByTestId('playground-input'), 'Hello{enter}');
    const answer = await screen.findByTestId('playground-answer');
    expect(await within(answer).findByRole('alert')).toHaveTextContent('upstream closed the stream');
    expect(answer).toHaveTextContent('partial');
  });

  it('stop aborts the request and keeps what arrived; a second turn sends the history', async () => {
    let calls = 0;
    let second: Record<string, unknown> | null = null;
    mockApi(
      routes((_u, init) => {
        calls++;
        if (calls === 2) {
          second = JSON.parse(String(init.body));
          return sse(['data: {"choices":[{"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n']);
        }
        const signal = init.signal!;
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(enc.encode('data: {"choices":[{"delta":{"content":"slow start"}}]}\n\n'));
            signal.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
      }),
    );
    await renderPage(<Playground />, { path: '/playground' });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('playground-model')).toHaveValue('gpt-4o'));
    await user.type(screen.getByTestId('playground-input'), 'First{enter}');
    const answer = await screen.findByTestId('playground-answer');
    await waitFor(() => expect(answer).toHaveTextContent('slow start'));
    await user.click(screen.getByTestId('playground-stop'));
    expect(await within(answer).findByText('Stopped')).toBeInTheDocument();
    await user.type(screen.getByTestId('playground-input'), 'Second{enter}');
    await waitFor(() => expect(second).not.toBeNull());
    expect((second as unknown as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'First' },
      { role: 'assistant', content: 'slow start' },
      { role: 'user', content: 'Second' },
    ]);
    await waitFor(() => expect(screen.getByTestId('playground-answer')).toHaveTextContent('ok'));
  });

  it('buildChatRequest sends only the parameters that are set, and no failed answers', () => {
    const body = buildChatRequest(
      { model: 'm', group: 'vip', system: '', temperature: 0.7, top_p: '', max_tokens: 256, stream: false },
      [
        { id: 1, role: 'user', content: 'a' },
        { id: 2, role: 'assistant', content: '', error: 'boom' },
        { id: 3, role: 'user', content: 'b' },
      ],
    );
    expect(body).toEqual({
      model: 'm',
      group: 'vip',
      stream: false,
      temperature: 0.7,
      max_tokens: 256,
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
    });
  });
});
