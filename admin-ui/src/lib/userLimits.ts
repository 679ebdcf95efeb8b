// The server's limits for user fields, in one place for every form
// (gateway/api/users.h and users_common.c; setup.c for the first-run wizard).
// Lengths are counted in characters (Unicode code points), as the server does.

export const NAME_MAX = 20; // username and display name
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 20;
export const SETUP_USERNAME_MAX = 12;
export const SETUP_PASSWORD_MAX = 72; // bcrypt's limit

export const chars = (s: string) => Array.from(s).length;
