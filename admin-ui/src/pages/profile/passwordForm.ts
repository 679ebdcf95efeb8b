// Password change checks as the server has them (gateway/api/users.c and
// users_common.c: 8..20 characters, the original password required).
import type { TFunction } from 'i18next';

import { chars as len, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../../lib/userLimits';

export { NAME_MAX, PASSWORD_MAX, PASSWORD_MIN };

export interface PasswordValues {
  original: string;
  password: string;
  confirm: string;
}


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
