// Server-sent events for the playground: a parser that takes the body in
// chunks split anywhere (inside a line, between \r and \n, inside a UTF-8
// character when fed bytes), and the reading of OpenAI chat stream events.

export interface SseEvent {
  event: string;
  data: string;
}

/** Incremental SSE parser (the WHATWG event-stream rules, minus id/retry). */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private decoder = new TextDecoder();

  /** Feeds bytes (decoded across chunk boundaries) or text. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    this.buf += text;
    return this.drain(false);
  }

  /** The end of the body: a last event without its blank line still counts. */
  end(): SseEvent[] {
    this.buf += this.decoder.decode();
    const out = this.drain(true);
    if (this.buf) {
      this.line(this.buf, out);
      this.buf = '';
    }
    this.dispatch(out);
    return out;
  }

  private drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === this.buf.length && !final) break; // \n may follow in the next chunk
      this.line(this.buf.slice(start, i), out);
      if (c === '\r' && this.buf[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]) {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(':')) return; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }

  private dispatch(out: SseEvent[]) {
    if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n') });
    this.data = [];
    this.event = '';
  }
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export type ChatUpdate =
  | { kind: 'done' }
  | { kind: 'error'; message: string; code?: string }
  | { kind: 'delta'; content: string; reasoning: string; usage?: Usage; finish?: string };

/** The message of an OpenAI-shaped error body ({error:{message}}), the
 * gateway's envelope ({message}) or the raw text. */
export function errorText(body: string, fallback: string): string {
  const s = body.trim();
  if (!s) return fallback;
  try {
    const j = JSON.parse(s);
    if (j && typeof j === 'object') {
      const e = (j as { error?: unknown }).error;
      if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string')
        return (e as { message: string }).message || fallback;
      if (typeof e === 'string' && e) return e;
      if (typeof (j as { message?: unknown }).message === 'string' && (j as { message: string }).message)
        return (j as { message: string }).message;
    }
  } catch {
    /* not JSON: the text itself */
  }
  return s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
}

/** One stream event as a chat update; null for events that carry nothing. */
export function readChatEvent(ev: SseEvent): ChatUpdate | null {
  const data = ev.data.trim();
  if (data === '[DONE]') return { kind: 'done' };
  let j: unknown;
  try {
    j = JSON.parse(data);
  } catch {
    return ev.event === 'error' ? { kind: 'error', message: data || 'stream error' } : null;
  }
  if (!j || typeof j !== 'object') return null;
  const o = j as {
    error?: { message?: string; code?: string | number } | string;
    choices?: Array<{ delta?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null }; message?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }>;
    usage?: Usage | null;
  };
  if (o.error || ev.event === 'error') {
    const e = o.error;
    const message = typeof e === 'string' ? e : (e?.message ?? errorText(data, 'stream error'));
    const code = typeof e === 'object' && e?.code != null ? String(e.code) : undefined;
    return { kind: 'error', message, code };
  }
  const c = o.choices?.[0];
  const d = c?.delta ?? c?.message;
  const content = typeof d?.content === 'string' ? d.content : '';
  const dr = d as { reasoning_content?: string | null; reasoning?: string | null } | undefined;
  const reasoning = typeof dr?.reasoning_content === 'string' ? dr.reasoning_content : typeof dr?.reasoning === 'string' ? dr.reasoning : '';
  const usage = o.usage ?? undefined;
  const finish = c?.finish_reason ?? undefined;
  if (!content && !reasoning && !usage && !finish) return null;
  return { kind: 'delta', content, reasoning, usage, finish };
}

/** Reads a chat answer: an SSE stream, or one JSON body when the server did
 * not stream. Calls onUpdate for each update; returns when the body ends. */
export async function readChatResponse(res: Response, onUpdate: (u: ChatUpdate) => void): Promise<void> {
  const type = res.headers.get('content-type') || '';
  if (!type.includes('text/event-stream') || !res.body) {
    const text = await res.text();
    let u: ChatUpdate | null = null;
    try {
      u = readChatEvent({ event: 'message', data: text });
    } catch {
      u = null;
    }
    onUpdate(u ?? { kind: 'error', message: errorText(text, `HTTP ${res.status}`) });
    onUpdate({ kind: 'done' });
    return;
  }
  const reader = res.body.getReader();
  const parser = new SseParser();
  const emit = (evs: SseEvent[]) => {
    for (const ev of evs) {
      const u = readChatEvent(ev);
      if (u) onUpdate(u);
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    emit(parser.push(value));
  }
  emit(parser.end());
}
