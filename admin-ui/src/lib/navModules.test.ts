import { describe, expect, it } from 'vitest';
import { navBool, navModuleAccess, navModuleVisible, withNavModule } from './navModules';

// The same table as the gateway's (tests/unit/test_api_options.c test_nav_access).
const CASES: Array<[unknown, boolean, boolean]> = [
  [undefined, true, false],
  [null, true, false],
  ['', true, false],
  ['  ', true, false],
  ['not json', true, false],
  ['[false]', true, false],
  ['null', true, false],
  ['false', true, false],
  ['{}', true, false],
  ['{"home":false}', true, false],
  ['{"pricing":false}', false, false],
  ['{"pricing":true}', true, false],
  ['{"pricing":"false"}', false, false],
  ['{"pricing":" FALSE "}', false, false],
  ['{"pricing":"0"}', false, false],
  ['{"pricing":"1"}', true, false],
  ['{"pricing":"no"}', true, false],
  ['{"pricing":0}', false, false],
  ['{"pricing":0.0}', false, false],
  ['{"pricing":1}', true, false],
  ['{"pricing":2}', true, false],
  ['{"pricing":null}', true, false],
  ['{"pricing":[false]}', true, false],
  ['{"pricing":{}}', true, false],
  ['{"pricing":{"enabled":false}}', false, false],
  ['{"pricing":{"requireAuth":true}}', true, true],
  ['{"pricing":{"enabled":"0","requireAuth":1}}', false, true],
  ['{"pricing":{"enabled":"x","requireAuth":"TRUE"}}', true, true],
  ['{"pricing":{"enabled":1,"requireAuth":"false"}}', true, false],
  ['{"pricing":{"enabled":null,"requireAuth":2}}', true, false],
  [42, true, false], // not text at all
];

describe('navModuleAccess', () => {
  it.each(CASES)('%s → enabled %s, requireAuth %s', (raw, enabled, requireAuth) => {
    expect(navModuleAccess(raw, 'pricing')).toEqual({ enabled, requireAuth });
  });

  it('reads only the module asked for', () => {
    const raw = '{"pricing":false,"docs":{"enabled":true,"requireAuth":true}}';
    expect(navModuleAccess(raw, 'docs')).toEqual({ enabled: true, requireAuth: true });
    expect(navModuleAccess(raw, 'toString')).toEqual({ enabled: true, requireAuth: false });
  });

  it('navBool keeps the fallback for other forms', () => {
    expect(navBool('yes', true)).toBe(true);
    expect(navBool('yes', false)).toBe(false);
    expect(navBool({}, false)).toBe(false);
    expect(navBool(' True', false)).toBe(true);
  });
});

describe('navModuleVisible', () => {
  it('hides a module that is off, and one that needs sign-in from visitors', () => {
    expect(navModuleVisible('', 'pricing', false)).toBe(true);
    expect(navModuleVisible('{"pricing":false}', 'pricing', true)).toBe(false);
    expect(navModuleVisible('{"pricing":{"requireAuth":true}}', 'pricing', false)).toBe(false);
    expect(navModuleVisible('{"pricing":{"requireAuth":true}}', 'pricing', true)).toBe(true);
  });
});

describe('withNavModule', () => {
  it('sets the module and keeps every other key', () => {
    const raw = '{"home":true,"docs":{"enabled":false},"pricing":"0"}';
    expect(JSON.parse(withNavModule(raw, 'pricing', { enabled: true, requireAuth: true }))).toEqual({
      home: true,
      docs: { enabled: false },
      pricing: { enabled: true, requireAuth: true },
    });
  });

  it('starts from an empty object when the text is empty or not an object', () => {
    for (const raw of ['', '[1]', 'oops', undefined])
      expect(withNavModule(raw, 'pricing', { enabled: false, requireAuth: false })).toBe(
        '{"pricing":{"enabled":false,"requireAuth":false}}',
      );
  });
});
