// Client-side checks that mirror the server's (gateway/api/setup.c, users.c),
// so a person sees the problem next to the field before sending.
import type { TFunction } from 'i18next';

/** Setup takes usernames up to 12 characters, registration up to 20 (users.h). */
export const USERNAME_MAX = 12;
export const USER_USERNAME_MAX = 20;
export const PASSWORD_MIN = 8;
/** Setup takes up to 72 (bcrypt's limit); registration and user passwords up to 20. */
export const PASSWORD_MAX = 72;
export const USER_PASSWORD_MAX = 20;

export function usernameError(t: TFunction, v: string, max = USERNAME_MAX): string | null {
  if (!v.trim()) return t('auth:validate.usernameRequired');
  if ([...v].length > max) return t('auth:validate.usernameMax', { max });
  return null;
}

export function passwordError(t: TFunction, v: string, max = PASSWORD_MAX): string | null {
  const n = [...v].length; // the server counts characters, not UTF-16 units
  if (n < PASSWORD_MIN) return t('auth:validate.passwordMin', { min: PASSWORD_MIN });
  if (n > max) return t('auth:validate.passwordMax', { max });
  return null;
}

export function confirmError(t: TFunction, v: string, password: string): string | null {
  return v === password ? null : t('auth:validate.passwordMismatch');
}
