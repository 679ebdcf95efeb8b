// Client-side checks that mirror the server's (gateway/api/setup.c, users.c),
// so a person sees the problem next to the field before sending.
import type { TFunction } from 'i18next';

export const USERNAME_MAX = 12;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 72;

export function usernameError(t: TFunction, v: string): string | null {
  if (!v.trim()) return t('auth:validate.usernameRequired');
  if (v.length > USERNAME_MAX) return t('auth:validate.usernameMax', { max: USERNAME_MAX });
  return null;
}

export function passwordError(t: TFunction, v: string): string | null {
  if (v.length < PASSWORD_MIN) return t('auth:validate.passwordMin', { min: PASSWORD_MIN });
  if (v.length > PASSWORD_MAX) return t('auth:validate.passwordMax', { max: PASSWORD_MAX });
  return null;
}

export function confirmError(t: TFunction, v: string, password: string): string | null {
  return v === password ? null : t('auth:validate.passwordMismatch');
}
