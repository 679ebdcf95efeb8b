// The console in a real browser (Debian chromium through playwright-core) against
// the real gateway and a mock upstream, both started by
// tests/integration/test_console.py, which passes their URLs in E2E_* variables.
// Each flow prints one line "E2E {json}"; the flows run in order and share the
// instance (the first one sets it up). Screenshots go to E2E_SHOTS when set.
import fs from 'node:fs';
import path from 'node:path';
import {
  ENV,
  LAUNCH,
  ROOT,
  assertNoHScroll,
  check,
  chromium,
  field,
  flow,
  go,
  open,
  openaiSdk,
  allowedSeen,
  pageErrors,
  poll,
  runFlows,
  shot,
  signIn,
  waitPath,
  where,
} from './lib.mjs';

const ROOT_USER = { username: 'root', password: 'Root-pass-e2e1' };
const COMMON_USER = { username: 'alice', password: 'alice-pass-1' };
const CHANNEL = 'mock upstream';
const KEY_NAME = 'e2e key';
const PLAY_PROMPT = 'Hello from the playground';
const SDK_PROMPT = 'Hello from the OpenAI SDK';
const WIDE = { width: 1280, height: 800 };
// The dashboard's chart drawn (recharts' svg), not its empty state.
const CHART_DRAWN = '[data-testid=dashboard-chart] svg.recharts-surface';

const catalogue = (lng, ns) => JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', lng, `${ns}.json`), 'utf8'));
const EN = catalogue('en', 'common');
const ZH = catalogue('zh', 'common');
const ZH_AUTH = catalogue('zh', 'auth');

// Every page of the console (src/routes.tsx) with the least role that may see it.
const ADMIN_PAGES = ['/channels', '/models', '/users', '/redemptions', '/settings'];
const USER_PAGES = ['/dashboard', '/keys', '/logs', '/playground', '/wallet', '/profile', '/pricing'];

const S = {};

/** The admin's tab (signed in by the second flow). */
function admin() {
  check(S.admin, 'the admin is not signed in (an earlier flow failed)');
  S.lastPage = S.admin;
  return S.admin;
}

/** A page settled: no request in flight for a moment (bounded), no loader left. */
async function settle(page) {
  await page.waitForLoadState('networkidle', { timeout: 8000 }).catch(() => {});
  await page
    .locator('[aria-busy="true"]')
    .first()
    .waitFor({ state: 'detached', timeout: 8000 })
    .catch(() => {});
}

// ---- 1. a fresh instance: every page goes to the setup wizard -----------------------
flow('fresh_instance_shows_setup_wizard', async () => {
  const ctx = await S.browser.newContext({ viewport: WIDE, colorScheme: 'light' });
  S.contexts.push(ctx);
  for (const p of ['/keys', '/channels?x=1']) {
    const page = await open(ctx, S, p);
    await waitPath(page, '/setup');
    await page.close();
  }
  const page = await open(ctx, S, '/setup');
  await field(page, 'Username').waitFor();
  await settle(page);
  await shot(page, 'setup-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'setup-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Validation stops the wizard on the first step.
  await field(page, 'Password').fill('short');
  await field(page, 'Confirm password').fill('other');
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await page.getByText('The two passwords do not match').waitFor();

  await field(page, 'Username').fill(ROOT_USER.username);
  await field(page, 'Password').fill(ROOT_USER.password);
  await field(page, 'Confirm password').fill(ROOT_USER.password);
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await page.getByRole('button', { name: 'Finish setup', exact: true }).click();
  await waitPath(page, '/login');
  await page.getByTestId('login-submit').waitFor();
  await page.getByText('Setup is complete. Sign in with the root account.').waitFor();
  await ctx.close();
  S.contexts = S.contexts.filter((c) => c !== ctx);
});

// ---- 2. sign in; the dashboard draws its chart -----------------------------------
flow('sign_in_and_dashboard_chart', async () => {
  S.adminCtx = await S.browser.newContext({ viewport: WIDE, colorScheme: 'light' });
  S.contexts.push(S.adminCtx);
  await S.adminCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ENV.base });
  const page = await open(S.adminCtx, S, null);
  // A page asked for before signing in comes back after it.
  await go(page, S, '/keys');
  await waitPath(page, '/login');
  await field(page, 'Username').fill(ROOT_USER.username);
  await field(page, 'Password').fill('wrong-password');
  await page.getByTestId('login-submit').click();
  await page.getByRole('alert').first().waitFor();
  check(where(page) === '/login', 'a wrong password left the sign-in page');
  await field(page, 'Password').fill(ROOT_USER.password);
  await page.getByTestId('login-submit').click();
  await waitPath(page, '/keys');
  // A reload keeps the session (the refresh cookie), and / leads to the dashboard.
  await go(page, S, '/');
  await waitPath(page, '/dashboard');
  await page.getByRole('link', { name: EN.nav.channels }).waitFor();
  S.admin = page;
  // Nothing was called yet: the chart's frame with its empty state.
  await page.getByTestId('dashboard-chart').waitFor();
});

// ---- 3. a channel to the mock upstream, made in the Channels page ----------------------
flow('create_channel_in_console', async () => {
  const page = admin();
  await go(page, S, '/channels');
  await page.getByTestId('channels-create').click();
  const dialog = page.getByRole('dialog');
  await field(dialog, 'Name').fill(CHANNEL);
  await field(dialog, 'Base URL').fill(ENV.mock);
  await field(dialog, 'Key').fill(ENV.mockKey);
  const models = field(dialog, 'Models');
  await models.fill(ENV.model + ',');
  await dialog.getByTestId('channel-form-submit').click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByTestId('channels-table').getByText(CHANNEL).first().waitFor();
  S.channelMade = true;
});

/** When the Channels page failed (its flow says so), the channel is made through
 * the management API so that the flows after it still test their own pages. */
async function ensureChannel() {
  if (S.channelMade) return;
  const login = await (
    await fetch(ENV.base + '/api/user/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ROOT_USER),
    })
  ).json();
  check(login.success, `API sign-in: ${login.message}`);
  const r = await (
    await fetch(ENV.base + '/api/channel/', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.data.access_token}` },
      body: JSON.stringify({
        mode: 'single',
        channel: { type: 1, name: CHANNEL, key: ENV.mockKey, base_url: ENV.mock, models: ENV.model, group: 'default' },
      }),
    })
  ).json();
  check(r.success, `channel through the API: ${r.message}`);
  S.channelMade = true;
}

// ---- 4. a key made and copied in the API keys page, called with the OpenAI SDK ----------
flow('create_key_copy_and_call_with_openai_sdk', async () => {
  const page = admin();
  await go(page, S, '/keys');
  await page.getByTestId('keys-create').click();
  const dialog = page.getByRole('dialog');
  await field(dialog, 'Name').fill(KEY_NAME);
  await dialog.getByTestId('key-form-submit').click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator('[data-testid^="key-row-"]', { hasText: KEY_NAME }).first();
  await row.waitFor();
  const id = (await row.getAttribute('data-testid')).replace('key-row-', '');
  await page.getByTestId(`key-copy-${id}`).click();
  const copied = await poll(() => page.evaluate(() => navigator.clipboard.readText()), { what: 'the copied key' });
  check(/^sk-[A-Za-z0-9]{16,}$/.test(copied), `the clipboard holds ${JSON.stringify(copied)}, not a key`);
  await page.getByTestId(`key-reveal-${id}`).click();
  await page.getByTestId(`key-value-${id}`).filter({ hasText: copied.replace(/^sk-/, '') }).waitFor();
  S.key = copied;
  await ensureChannel();

  const OpenAI = openaiSdk();
  const client = new OpenAI({ apiKey: copied, baseURL: ENV.base + '/v1', maxRetries: 0, timeout: 20_000 });
  // The workers learn about the new channel and key within a config poll (250 ms).
  const answer = await poll(
    async () => {
      const r = await client.chat.completions.create({
        model: ENV.model,
        messages: [{ role: 'user', content: SDK_PROMPT }],
      });
      return r;
    },
    { timeout: 15_000, every: 500, what: 'the SDK call through the new key' },
  );
  check(
    answer.choices[0].message.content === `Mock reply to: ${SDK_PROMPT}`,
    `the SDK got ${JSON.stringify(answer.choices[0].message)}`,
  );
  const seen = await (await fetch(ENV.mock + '/__mock/requests')).json();
  const last = seen.filter((r) => r.method === 'POST').at(-1);
  const auth = Object.fromEntries(last.headers.map(([k, v]) => [k.toLowerCase(), v])).authorization;
  check(auth === `Bearer ${ENV.mockKey}`, `the upstream got authorization ${auth}`);
});

// ---- 5. the playground streams a reply ----------------------------------------------------
flow('playground_streams_a_reply', async () => {
  const page = admin();
  await go(page, S, '/playground');
  const picker = page.getByTestId('playground-model');
  await picker.waitFor();
  if ((await picker.inputValue().catch(() => '')) !== ENV.model) {
    await picker.click();
    await page.getByRole('option', { name: ENV.model, exact: true }).click();
  }
  await page.getByTestId('playground-input').fill(PLAY_PROMPT);
  await page.getByTestId('playground-send').click();
  await page.getByTestId('playground-answer').filter({ hasText: `Mock reply to: ${PLAY_PROMPT}` }).waitFor();
  const seen = await (await fetch(ENV.mock + '/__mock/requests')).json();
  const last = seen.filter((r) => r.method === 'POST').at(-1);
  check(last.json && last.json.stream === true, 'the playground call did not stream upstream');
  check(
    JSON.stringify(last.json.messages).includes(PLAY_PROMPT),
    `the upstream got ${JSON.stringify(last.json.messages)}`,
  );
  S.playgroundCalled = true;
});

// ---- 6. the calls (SDK, playground) show in the usage logs and on the dashboard ------------
flow('calls_appear_in_usage_logs', async () => {
  const page = admin();
  check(S.key, 'no call was made (the key flow failed)');
  const calls = S.playgroundCalled ? 2 : 1;
  await go(page, S, '/logs');
  const table = page.getByTestId('logs-table');
  await table.getByText(ENV.model).first().waitFor();
  await poll(async () => (await table.getByText(ENV.model).count()) >= calls, { what: `${calls} log rows` });
  await page.getByTestId('logs-totals').waitFor();
});

flow('calls_appear_on_dashboard', async () => {
  const page = admin();
  check(S.key, 'no call was made (the key flow failed)');
  const calls = S.playgroundCalled ? 2 : 1;

  // The dashboard counts them (the aggregates may take a flush to appear).
  await poll(
    async () => {
      await go(page, S, '/dashboard');
      await page.getByTestId('dashboard-chart').waitFor();
      await settle(page);
      return (
        (await page.locator(CHART_DRAWN).count()) > 0 && (await page.getByTestId(`model-row-${ENV.model}`).count()) > 0
      );
    },
    { timeout: 40_000, every: 3000, what: `${ENV.model} on the dashboard` },
  );
  const counted = Number((await page.getByTestId('stat-calls').innerText()).replace(/\D/g, ''));
  check(counted >= calls, `the dashboard counts ${counted} calls, made ${calls}`);
}, { timeout: 100_000 });

// ---- 7. a common user sees no admin page -----------------------------------------------
flow('common_user_cannot_see_admin_pages', async () => {
  const ctx = await S.browser.newContext({ viewport: WIDE });
  S.contexts.push(ctx);
  const page = await open(ctx, S, '/register');
  await field(page, 'Username').fill(COMMON_USER.username);
  await field(page, 'Password').fill(COMMON_USER.password);
  await field(page, 'Confirm password').fill(COMMON_USER.password);
  await page.getByTestId('register-submit').click();
  await waitPath(page, '/dashboard').catch(async () => {
    // Registration that does not sign in leads to the sign-in page.
    await signIn(page, S, COMMON_USER.username, COMMON_USER.password);
  });
  await page.getByRole('link', { name: EN.nav.keys }).waitFor();
  for (const label of ['channels', 'users', 'redemptions', 'settings', 'models']) {
    const n = await page.getByRole('link', { name: EN.nav[label] }).count();
    check(n === 0, `a common user sees the "${EN.nav[label]}" entry`);
  }
  for (const p of ADMIN_PAGES) {
    await go(page, S, p);
    await page.getByRole('heading', { name: '403' }).waitFor();
  }
  S.userCtx = ctx;
  S.userPage = page;
});

// ---- 7b. a redemption code made by the admin, redeemed in the user's wallet ------------------
flow('redemption_code_redeemed_in_wallet', async () => {
  const page = admin();
  check(S.userCtx, 'no common user (the previous flow failed)');
  await go(page, S, '/redemptions');
  await page.getByTestId('redemptions-create').click();
  const dialog = page.getByRole('dialog');
  await field(dialog, 'Name').fill('e2e gift');
  await field(dialog, 'Value').fill('5');
  await dialog.getByTestId('redemption-form-submit').click();
  const code = (await page.getByTestId('redemptions-created-keys').innerText()).trim();
  check(/^[A-Za-z0-9-]{16,}$/.test(code), `the created code is ${JSON.stringify(code)}`);

  const user = S.userPage;
  S.lastPage = user;
  await go(user, S, '/wallet');
  const balance = async () => Number((await user.getByTestId('wallet-balance').innerText()).replace(/[^0-9.]/g, ''));
  await user.getByTestId('wallet-balance').waitFor();
  const before = await balance();
  await user.getByTestId('wallet-redeem-input').fill(code);
  await user.getByTestId('wallet-redeem-submit').click();
  await user.getByTestId('wallet-redeem-result').waitFor();
  await poll(async () => Math.abs((await balance()) - before - 5) < 0.005, {
    what: `the balance to grow by 5 from ${before}`,
  });
  // A code is good once.
  await user.getByTestId('wallet-redeem-input').fill(code);
  await user.getByTestId('wallet-redeem-submit').click();
  await user.getByRole('alert').first().waitFor();
  check(Math.abs((await balance()) - before - 5) < 0.005, 'a used code was redeemed again');
});

// ---- 8. languages: the header's switch, and a Chinese browser -----------------------------
flow('language_switch_and_zh_browser', async () => {
  const page = admin();
  await go(page, S, '/dashboard');
  await page.getByRole('link', { name: EN.nav.channels }).waitFor();
  await page.getByTestId('lang-switch').click();
  await page.locator('[data-lang="zh"]').click();
  await page.getByRole('link', { name: ZH.nav.channels }).waitFor();
  await page.getByRole('link', { name: ZH.nav.keys }).waitFor();
  check((await page.getByRole('link', { name: EN.nav.channels, exact: true }).count()) === 0, 'English nav left');
  // Remembered across a reload.
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.getByRole('link', { name: ZH.nav.channels }).waitFor();
  await page.getByTestId('lang-switch').click();
  await page.locator('[data-lang="en"]').click();
  await page.getByRole('link', { name: EN.nav.channels }).waitFor();

  const ctx = await S.browser.newContext({ viewport: WIDE, locale: 'zh-CN' });
  S.contexts.push(ctx);
  const zh = await open(ctx, S, '/login');
  await zh.getByTestId('login-submit').filter({ hasText: ZH_AUTH.login.submit }).waitFor();
  await field(zh, ZH_AUTH.fields.username).waitFor();
  await ctx.close();
  S.contexts = S.contexts.filter((c) => c !== ctx);
});

// ---- 9. 390 px wide: no page scrolls sideways --------------------------------------------
flow('layout_390px_no_horizontal_scroll', async () => {
  const ctx = await S.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  S.contexts.push(ctx);
  const page = await open(ctx, S, '/login');
  await settle(page);
  await assertNoHScroll(page, 390);
  await go(page, S, '/register');
  await settle(page);
  await assertNoHScroll(page, 390);
  await signIn(page, S, ROOT_USER.username, ROOT_USER.password);
  const bad = [];
  let widest = 0;
  for (const p of [...USER_PAGES, ...ADMIN_PAGES]) {
    await go(page, S, p);
    await page.locator('main').first().waitFor();
    await settle(page);
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    widest = Math.max(widest, sw);
    if (sw > 390) bad.push(`${p}: ${sw}px`);
  }
  // The navigation opens behind the burger and fits too.
  await page.getByRole('button', { name: EN.header.menu }).click();
  await page.getByRole('link', { name: EN.nav.keys }).waitFor();
  await assertNoHScroll(page, 390);
  check(!bad.length, `pages wider than 390 px: ${bad.join(', ')}`);
  await ctx.close();
  S.contexts = S.contexts.filter((c) => c !== ctx);
  return `${USER_PAGES.length + ADMIN_PAGES.length} pages, widest ${widest}px`;
}, { timeout: 150_000 });

// ---- 10. dark mode switch and the screenshots for the README ---------------------------------
flow('color_scheme_and_screenshots', async () => {
  const page = admin();
  await go(page, S, '/dashboard');
  await page.getByTestId('dashboard-chart').waitFor();
  const scheme = () => page.evaluate(() => document.documentElement.getAttribute('data-mantine-color-scheme'));
  const before = await scheme();
  await page.getByTestId('color-scheme').click();
  await poll(async () => (await scheme()) !== before, { what: 'the colour scheme to change' });
  await page.getByTestId('color-scheme').click();
  await poll(async () => (await scheme()) === before, { what: 'the colour scheme to change back' });
  if (!ENV.shots) return;
  // The choice above is stored; 'auto' again so that emulateMedia decides.
  await page.evaluate(() => localStorage.setItem('mantine-color-scheme-value', 'auto'));
  const pages = [
    ['dashboard', '/dashboard', CHART_DRAWN],
    ['keys', '/keys', '[data-testid=keys-table]'],
    ['channels', '/channels', '[data-testid=channels-table]'],
    ['playground', '/playground', '[data-testid=playground-input]'],
  ];
  const missing = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, p, ready] of pages) {
      await go(page, S, p);
      try {
        await page.locator(ready).first().waitFor({ timeout: 10_000 });
      } catch {
        missing.push(`${name}-${scheme} (${ready} never showed)`);
        continue;
      }
      if (name === 'playground') {
        // A conversation on screen: one streamed answer with Markdown.
        await page.getByTestId('playground-input').fill('Say hello in **bold**');
        await page.getByTestId('playground-send').click();
        await page.getByTestId('playground-answer').filter({ hasText: 'Mock reply to' }).waitFor();
      }
      await settle(page);
      await shot(page, `${name}-${scheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  check(!missing.length, `screenshots not taken: ${missing.join(', ')}`);
}, { timeout: 120_000 });

// ---- 10b. sign-out: the session ends, a reload does not bring it back ---------------------------
flow('sign_out', async () => {
  check(S.userPage, 'no common user (an earlier flow failed)');
  const page = S.userPage;
  S.lastPage = page;
  await go(page, S, '/keys');
  await page.getByTestId('user-menu').click();
  await page.getByTestId('logout').click();
  await waitPath(page, '/login');
  await go(page, S, '/keys');
  await waitPath(page, '/login');
});

// ---- 11. no page errors anywhere ---------------------------------------------------------------
flow('no_page_errors', async () => {
  const allowed = allowedSeen.length ? `allowed: ${allowedSeen.join('; ')}` : '';
  check(
    !pageErrors.length,
    `${pageErrors.length} page error(s):\n` +
      pageErrors.map((e) => `  [${e.type}] ${e.url}: ${e.text}${e.resource ? ` (${e.resource})` : ''}`).join('\n'),
  );
  return allowed;
});

async function main() {
  S.contexts = [];
  S.browser = await chromium.launch(LAUNCH);
  let failed = 1;
  try {
    failed = await runFlows(S);
  } finally {
    for (const c of S.contexts) await c.close().catch(() => {});
    await S.browser.close().catch(() => {});
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  process.stdout.write('E2E ' + JSON.stringify({ flow: 'runner', ok: false, error: String(e && e.stack) }) + '\n');
  process.exitCode = 1;
});
