// Shared pieces of the console's browser tests: playwright-core and the OpenAI SDK
// resolved from the project's own node_modules (no browser download: Debian's
// chromium), page-error collection, bounded waits and the per-flow report.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const uiRequire = createRequire(path.join(ROOT, 'admin-ui', 'package.json'));
const compatRequire = createRequire(path.join(ROOT, 'tests', 'compat', 'package.json'));

export const { chromium } = uiRequire('playwright-core');
export function openaiSdk() {
  const m = compatRequire('openai');
  return m.default ?? m.OpenAI ?? m;
}

export const ENV = {
  base: need('E2E_BASE'), // the gateway, http://127.0.0.1:PORT
  mock: need('E2E_MOCK'), // the mock upstream, http://127.0.0.1:PORT
  mockKey: need('E2E_MOCK_KEY'),
  model: process.env.E2E_MODEL || 'gpt-4o-mini',
  shots: process.env.E2E_SHOTS || '', // where screenshots go ('' = none)
  artifacts: process.env.E2E_ARTIFACTS || '', // failure screenshots
  only: (process.env.E2E_ONLY || '').split(',').filter(Boolean),
  chromium: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
};

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// Chromium as root, headless, making no connection of its own (NOTES.md).
export const LAUNCH = {
  executablePath: ENV.chromium,
  headless: true,
  timeout: 30_000,
  // headless: true adds --headless itself.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    '--disable-dev-shm-usage',
  ],
};

// ---- page errors ---------------------------------------------------------------
// Every pageerror and every console error of every page is kept, with the URL the
// page was on. The only messages allowed are named here, with why.
export const pageErrors = [];

// Each entry: a precise predicate on {type, text, resource, url} and why it is
// harmless. None today: the console asks /api/user/auth/refresh only when it has
// signed in before, so no flow here logs a 401 (a signed-out visitor's refresh
// was allowed here until the client stopped making it).
const ALLOWED = [];

export function watch(page) {
  page.on('pageerror', (e) => record(page, { type: 'pageerror', text: String(e && (e.stack || e.message || e)) }));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location() || {};
    record(page, { type: 'console', text: msg.text(), resource: loc.url || '' });
  });
  return page;
}

/** Allowed messages seen, counted by kind (reported, never hidden). */
export const allowedSeen = [];

function record(page, m) {
  m.url = page.url();
  const i = ALLOWED.findIndex((ok) => ok(m));
  if (i >= 0) {
    const tag = `#${i} ${m.text.slice(0, 80)}`;
    if (!allowedSeen.includes(tag)) allowedSeen.push(tag);
    return;
  }
  pageErrors.push(m);
}

// ---- flows -----------------------------------------------------------------------
const flows = [];
export function flow(name, fn, { timeout = 90_000 } = {}) {
  flows.push({ name, fn, timeout });
}

export async function runFlows(state) {
  let failed = 0;
  for (const f of flows) {
    if (ENV.only.length && !ENV.only.includes(f.name)) continue;
    const t0 = Date.now();
    let timer;
    try {
      const note = await Promise.race([
        f.fn(state),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error(`flow timed out after ${f.timeout / 1000}s`)), f.timeout);
        }),
      ]);
      report({ flow: f.name, ok: true, ms: Date.now() - t0, note: typeof note === 'string' ? note : '' });
    } catch (e) {
      failed++;
      await failureShot(state, f.name);
      report({ flow: f.name, ok: false, ms: Date.now() - t0, error: String((e && e.message) || e).slice(0, 2000) });
    } finally {
      clearTimeout(timer);
    }
  }
  return failed;
}

function report(o) {
  process.stdout.write('E2E ' + JSON.stringify(o) + '\n');
}

async function failureShot(state, name) {
  if (!ENV.artifacts || !state.lastPage) return;
  try {
    fs.mkdirSync(ENV.artifacts, { recursive: true });
    await state.lastPage.screenshot({ path: path.join(ENV.artifacts, `${name}.png`), timeout: 5000 });
  } catch {
    /* the page may be gone; the error is reported anyway */
  }
}

// ---- helpers ------------------------------------------------------------------------
export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export async function open(ctx, state, urlPath) {
  const page = watch(await ctx.newPage());
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(20_000);
  state.lastPage = page;
  if (urlPath) await page.goto(ENV.base + urlPath, { waitUntil: 'domcontentloaded' });
  return page;
}

export async function go(page, state, urlPath) {
  state.lastPage = page;
  await page.goto(ENV.base + urlPath, { waitUntil: 'domcontentloaded' });
}

/** The path part of the page's URL. */
export function where(page) {
  return new URL(page.url()).pathname;
}

export async function waitPath(page, p, timeout = 15_000) {
  await page.waitForURL((u) => u.pathname === p, { timeout });
}

/** The input labelled exactly `label` (Mantine adds " *" to required ones). */
export function field(scope, label) {
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return scope.getByLabel(new RegExp(`^${esc}( \\*)?$`));
}

export async function signIn(page, state, username, password) {
  await go(page, state, '/login');
  await field(page, 'Username').fill(username);
  await field(page, 'Password').fill(password);
  await page.getByTestId('login-submit').click();
  await waitPath(page, '/dashboard');
}

/** Resolves to the value fn returns first that is truthy, polling; bounded. */
export async function poll(fn, { timeout = 15_000, every = 250, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** No horizontal scrolling at the page's width. */
export async function assertNoHScroll(page, width) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  check(sw <= width, `${where(page)}: scrollWidth ${sw} > ${width} (horizontal scroll)`);
}

export async function shot(page, name) {
  if (!ENV.shots) return;
  fs.mkdirSync(ENV.shots, { recursive: true });
  await page.screenshot({ path: path.join(ENV.shots, `${name}.png`), timeout: 10_000 });
}
