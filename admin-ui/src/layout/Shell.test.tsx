// The navigation hides the Pricing entry as HeaderNavModules says (lib/navModules.ts).
import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '../api/client';
import { ADMIN_USER, mockApi, renderPage, signIn, STATUS } from '../test/render';
import { Shell } from './Shell';

const refused = () => new Response('{"success":false}', { status: 401 });

async function navLinks(status: Record<string, unknown>, signedIn: boolean) {
  if (signedIn) signIn();
  else setSession(null);
  mockApi({
    '/api/status': { ...STATUS, system_name: 'Nav Test Site', ...status },
    '/api/user/self': { ...ADMIN_USER, role: 1 },
    'POST /api/user/auth/refresh': refused,
  });
  const r = await renderPage(<Shell />, { path: '/' });
  const nav = await screen.findByRole('navigation');
  // The status has arrived once the site name from it is shown, the user once
  // a signed-in page is listed.
  await screen.findAllByText('Nav Test Site');
  if (signedIn) await within(nav).findByRole('link', { name: 'Dashboard' });
  const names = within(nav)
    .queryAllByRole('link')
    .map((a) => a.textContent);
  r.unmount();
  return names;
}

describe('Shell navigation and HeaderNavModules', { timeout: 30000 }, () => {
  beforeEach(() => setSession(null));

  it('shows Pricing when the option is empty or the module on', async () => {
    expect(await navLinks({ HeaderNavModules: '' }, false)).toContain('Pricing');
    expect(await navLinks({ HeaderNavModules: '{"pricing":"1","home":false}' }, false)).toContain('Pricing');
  });

  it('hides Pricing when the module is off, for everyone', async () => {
    expect(await navLinks({ HeaderNavModules: '{"pricing":false}' }, false)).not.toContain('Pricing');
    expect(await navLinks({ HeaderNavModules: '{"pricing":{"enabled":0}}' }, true)).not.toContain('Pricing');
  });

  it('hides Pricing from visitors when it needs sign-in, and shows it to users', async () => {
    const raw = '{"pricing":{"enabled":true,"requireAuth":"true"}}';
    expect(await navLinks({ HeaderNavModules: raw }, false)).not.toContain('Pricing');
    expect(await navLinks({ HeaderNavModules: raw }, true)).toContain('Pricing');
  });
});
