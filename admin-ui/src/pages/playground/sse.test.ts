import { describe, expect, it } from 'vitest';
import { errorText, readChatEvent, readChatResponse, SseParser, type ChatUpdate } from './sse';

const enc = new TextEncoder();

/** Feeds text cut at every given offset, as bytes. */
function feed(text: string, cuts: number[]) {
  const bytes = enc.encode(text);
  const p = new SseParser();
  const out = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.slice(prev, c)));
    prev = c;
  }
  out.push(...p.end());
  return out;
}

describe('SseParser', () => {
  const stream =
    'data: {"choices":[{"delta":{"content":"Héllo"}}]}\r\n\r\n' +
    ': keep-alive\n\n' +
    'event: error\ndata: {"error":{"message":"upstream said no","code":"bad"}}\n\n' +
    'data: line1\ndata: line2\n\n' +
    'data: [DONE]\n\n';
  const expected = [
    { event: 'message', data: '{"choices":[{"delta":{"content":"Héllo"}}]}' },
    { event: 'error', data: '{"error":{"message":"upstream said no","code":"bad"}}' },
    { event: 'message', data: 'line1\nline2' },
    { event: 'message', data: '[DONE]' },
  ];

  it('gives the same events however the body is split (mid-line, between CR and LF, inside a UTF-8 character)', () => {
    expect(feed(stream, [])).toEqual(expected);
    const n = enc.encode(stream).length;
    for (let cut = 1; cut < n; cut++) expect(feed(stream, [cut])).toEqual(expected);
    const all = Array.from({ length: n - 1 }, (_, i) => i + 1);
    expect(feed(stream, all)).toEqual(expected); // one byte at a time
  });

  it('reads CRLF as one line end even when CR and LF arrive in different chunks', () => {
    const text = 'data: a\r\ndata: b\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) expect(feed(text, [cut])).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('dispatches a last event that has no blank line after it', () => {
    expect(feed('data: {"x":1}', [])).toEqual([{ event: 'message', data: '{"x":1}' }]);
  });
});

describe('readChatEvent', () => {
  it('reads deltas, [DONE], usage and errors', () => {
    expect(readChatEvent({ event: 'message', data: '[DONE]' })).toEqual({ kind: 'done' });
    expect(readChatEvent({ event: 'message', data: '{"choices":[{"delta":{"content":"hi"}}]}' })).toMatchObject({
      kind: 'delta',
      content: 'hi',
    });
    expect(
      readChatEvent({ event: 'message', data: '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}' }),
    ).toMatchObject({ kind: 'delta', content: '', usage: { total_tokens: 8 } });
    expect(readChatEvent({ event: 'message', data: '{"error":{"message":"quota exhausted","type":"x","code":"insufficient_quota"}}' })).toEqual({
      kind: 'error',
      message: 'quota exhausted',
      code: 'insufficient_quota',
    });
    expect(readChatEvent({ event: 'error', data: 'plain failure' })).toEqual({ kind: 'error', message: 'plain failure' });
    expect(readChatEvent({ event: 'message', data: 'not json' })).toBeNull();
    expect(readChatEvent({ event: 'message', data: '{"choices":[{"delta":{"role":"assistant"}}]}' })).toBeNull();
  });

  it('errorText reads the OpenAI error, the envelope or the text', () => {
    expect(errorText('{"error":{"message":"model not found","type":"invalid_request_error","code":null}}', 'x')).toBe('model not found');
    expect(errorText('{"success":false,"message":"not signed in"}', 'x')).toBe('not signed in');
    expect(errorText('Bad Gateway', 'x')).toBe('Bad Gateway');
    expect(errorText('', 'HTTP 502')).toBe('HTTP 502');
  });
});

describe('readChatResponse', () => {
  it('reads a streamed body in pieces and a plain JSON answer', async () => {
    const parts = ['data: {"choices":[{"delta":{"content":"A"}}]}\n', '\ndata: {"choices":[{"del', 'ta":{"content":"B"}}]}\n\ndata: [DONE]\n\n'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        parts.forEach((p) => c.enqueue(enc.encode(p)));
        c.close();
      },
    });
    const got: ChatUpdate[] = [];
    await readChatResponse(new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }), (u) => got.push(u));
    expect(got.filter((u) => u.kind === 'delta').map((u) => (u as { content: string }).content).join('')).toBe('AB');
    expect(got.at(-1)).toEqual({ kind: 'done' });

    const json: ChatUpdate[] = [];
    await readChatResponse(
      new Response('{"choices":[{"message":{"role":"assistant","content":"whole"}}],"usage":{"total_tokens":4}}', {
        headers: { 'Content-Type': 'application/json' },
      }),
      (u) => json.push(u),
    );
    expect(json[0]).toMatchObject({ kind: 'delta', content: 'whole', usage: { total_tokens: 4 } });
  });
});
