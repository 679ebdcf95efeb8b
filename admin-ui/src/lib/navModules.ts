// The site option HeaderNavModules (reference middleware/header_nav.go; the
// gateway's gw_nav_access_parse in gateway/state/option_registry.c): a JSON
// object of module name ("pricing", ...) to its access. A module's value is a
// boolean, "true"/"1"/"false"/"0" (any case, spaces trimmed), the number 1 or
// 0, or {"enabled": v, "requireAuth": v} with v in those forms. Anything
// else, a module that is not in the object, empty text or text that is not a
// JSON object: on, no sign-in needed. /api/status reports the stored text.

export interface NavAccess {
  enabled: boolean;
  requireAuth: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** One of the accepted boolean forms, else fallback. */
export function navBool(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : fallback;
  if (typeof v !== 'string') return fallback;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return fallback;
}

/** The option's text as an object of modules (empty when it is not one). */
export function parseNavModules(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string' || !raw.trim()) return {};
  try {
    const v: unknown = JSON.parse(raw);
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/** The access of module under the option's text raw. */
export function navModuleAccess(raw: unknown, module: string): NavAccess {
  const out: NavAccess = { enabled: true, requireAuth: false };
  const all = parseNavModules(raw);
  const v = Object.prototype.hasOwnProperty.call(all, module) ? all[module] : undefined;
  if (isObject(v)) {
    if ('enabled' in v) out.enabled = navBool(v.enabled, out.enabled);
    if ('requireAuth' in v) out.requireAuth = navBool(v.requireAuth, out.requireAuth);
  } else if (v !== undefined) {
    out.enabled = navBool(v, out.enabled);
  }
  return out;
}

/** Whether a visitor (signed in or not) may open module's page. */
export function navModuleVisible(raw: unknown, module: string, signedIn: boolean): boolean {
  const a = navModuleAccess(raw, module);
  return a.enabled && (!a.requireAuth || signedIn);
}

/** The option's new text with module set to access, every other key kept. */
export function withNavModule(raw: unknown, module: string, access: NavAccess): string {
  return JSON.stringify({
    ...parseNavModules(raw),
    [module]: { enabled: access.enabled, requireAuth: access.requireAuth },
  });
}
