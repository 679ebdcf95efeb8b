// Password change checks as the server has them (gateway/api/users.c and
// users_common.c: 8..20 characters, the original password required).
import type { TFunction } from 'i18next';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 20;
export const NAME_MAX = 20;

export interface PasswordValues {
  original: string;
  password: string;
  confirm: string;
}

const len = (s: string) => Array.from(s).length;

export function validatePassword(t: TFunction, v: PasswordValues) {
  const e: Partial<Record<keyof PasswordValues, string>> = {};
  if (!v.original) e.original = t('profile:validate.originalRequired');
  if (len(v.password) < PASSWORD_MIN) e.password = t('profile:validate.passwordMin', { min: PASSWORD_MIN });
  else if (len(v.password) > PASSWORD_MAX) e.password = t('profile:validate.passwordMax', { max: PASSWORD_MAX });
  if (v.confirm !== v.password) e.confirm = t('profile:validate.mismatch');
  return e;
}

export function passwordBody(v: PasswordValues) {
  return { original_password: v.original, password: v.password };
}
