// Client-side checks that mirror the server's (gateway/api/setup.c, users.c),
// so a person sees the problem next to the field before sending.
import type { TFunction } from 'i18next';
import {
  chars,
  NAME_MAX as USER_USERNAME_MAX,
  PASSWORD_MAX as USER_PASSWORD_MAX,
  PASSWORD_MIN,
  SETUP_PASSWORD_MAX as PASSWORD_MAX,
  SETUP_USERNAME_MAX as USERNAME_MAX,
} from '../../lib/userLimits';

/** Setup's limits are the defaults (username 12, password 72); sign-up passes the users' (20, 20). */
export { PASSWORD_MAX, PASSWORD_MIN, USER_PASSWORD_MAX, USER_USERNAME_MAX, USERNAME_MAX };

export function usernameError(t: TFunction, v: string, max = USERNAME_MAX): string | null {
  if (!v.trim()) return t('auth:validate.usernameRequired');
  if (chars(v) > max) return t('auth:validate.usernameMax', { max });
  return null;
}

export function passwordError(t: TFunction, v: string, max = PASSWORD_MAX): string | null {
  const n = chars(v);
  if (n < PASSWORD_MIN) return t('auth:validate.passwordMin', { min: PASSWORD_MIN });
  if (n > max) return t('auth:validate.passwordMax', { max });
  return null;
}

export function confirmError(t: TFunction, v: string, password: string): string | null {
  return v === password ? null : t('auth:validate.passwordMismatch');
}
