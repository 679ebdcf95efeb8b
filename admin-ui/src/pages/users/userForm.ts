// The user form's checks and request bodies, mirroring the server
// (gateway/api/users_admin.c, users_common.c, users.h): username and display
// name at most 20 characters, password 8..20 characters, group not empty,
// quota a whole number of units in 0..1e15 (entered in the display currency).
import type { TFunction } from 'i18next';
import { quotaFromDisplay } from '../../lib/format';

import { chars, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../../lib/userLimits';

export { chars, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN };
export const REMARK_MAX = 255;
export const QUOTA_MAX = 1_000_000_000_000_000;

export const ROLE_USER = 1;
export const ROLE_ADMIN = 10;
export const ROLE_ROOT = 100;


export interface UserFormValues {
  username: string;
  display_name: string;
  password: string;
  group: string;
  remark: string;
  /** the quota in the display currency (edit only) */
  quota: number | string;
}

export function validateUser(t: TFunction, v: UserFormValues, creating: boolean) {
  const e: Partial<Record<keyof UserFormValues, string>> = {};
  const name = v.username.trim();
  if (creating && !name) e.username = t('users:validate.usernameRequired');
  else if (chars(name) > NAME_MAX) e.username = t('users:validate.max', { max: NAME_MAX });
  if (chars(v.display_name) > NAME_MAX) e.display_name = t('users:validate.max', { max: NAME_MAX });
  if (creating || v.password) {
    if (chars(v.password) < PASSWORD_MIN) e.password = t('users:validate.passwordMin', { min: PASSWORD_MIN });
    else if (chars(v.password) > PASSWORD_MAX) e.password = t('users:validate.max', { max: PASSWORD_MAX });
  }
  if (!creating) {
    if (!v.group.trim()) e.group = t('users:validate.groupRequired');
    if (chars(v.remark) > REMARK_MAX) e.remark = t('users:validate.max', { max: REMARK_MAX });
    const q = typeof v.quota === 'number' ? v.quota : parseFloat(v.quota);
    if (!Number.isFinite(q)) e.quota = t('users:validate.quotaNumber');
    else if (q < 0 || quotaFromDisplay(q) > QUOTA_MAX) e.quota = t('users:validate.quotaRange');
  }
  return e;
}

export function createBody(v: UserFormValues) {
  return {
    username: v.username.trim(),
    display_name: v.display_name.trim() || undefined,
    password: v.password,
  };
}

/** The update body. The quota goes only when the amount was changed: an absolute
 * value sent back unchanged would undo what the user spent since the form opened. */
export function updateBody(id: number, v: UserFormValues, initialQuotaAmount: number | string) {
  const body: Record<string, unknown> = {
    id,
    username: v.username.trim(),
    display_name: v.display_name.trim() || v.username.trim(),
    group: v.group.trim(),
    remark: v.remark,
  };
  if (v.password) body.password = v.password;
  const q = typeof v.quota === 'number' ? v.quota : parseFloat(v.quota);
  if (String(v.quota) !== String(initialQuotaAmount) && Number.isFinite(q)) body.quota = quotaFromDisplay(q);
  return body;
}

/** The server's canManageTargetRole: root manages everyone, others only lower roles. */
export function canManage(myRole: number, targetRole: number): boolean {
  return myRole >= ROLE_ROOT || myRole > targetRole;
}
