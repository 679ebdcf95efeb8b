// Channel operations that are not plain envelope calls.
import { ApiError, authFetch, buildUrl } from '../../api/client';

export interface TestResult {
  ok: boolean;
  message: string;
  /** seconds */
  time: number;
}

/** GET /api/channel/test/:id[?model=] answers {success, message, time} at the top level
 * (gateway/api/channel_test.c), so it is read here rather than through request(). */
export async function testChannel(id: number, model?: string): Promise<TestResult> {
  const res = await authFetch(buildUrl(`/api/channel/test/${id}`, { model }));
  const text = await res.text();
  let body: { success?: boolean; message?: string; time?: number } | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!body || typeof body !== 'object') throw new ApiError(`HTTP ${res.status}`, res.status);
  return { ok: body.success === true, message: body.message ?? '', time: Number(body.time) || 0 };
}
