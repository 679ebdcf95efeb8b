/* One error convention for the whole code base: functions return int, 0 is
 * success and a negative GW_E* is failure. Counts come back via out-params. */
#ifndef GW_CORE_ERR_H
#define GW_CORE_ERR_H

#define GW_OK         0
#define GW_ENOMEM    -1   /* allocation failed */
#define GW_EINVAL    -2   /* bad argument or malformed input */
#define GW_ETOOBIG   -3   /* a bounded buffer or limit was exceeded */
#define GW_EIO       -4   /* I/O or backend (SQL, Redis, socket) failure */
#define GW_ETIMEDOUT -5   /* a deadline passed */
#define GW_ENOTFOUND -6   /* no such row, key, route or file */
#define GW_ECONFLICT -7   /* unique constraint or concurrent change */
#define GW_EAGAIN    -8   /* try again later (busy, not ready) */
#define GW_ECLOSED   -9   /* the peer or the object has gone away */
#define GW_ENOTSUP   -10  /* not implemented / not supported */
#define GW_EPERM     -11  /* refused by a policy (e.g. a channel destination) */

/* Static description of a GW_E* code; never NULL. */
const char *gw_strerror(int err);

#endif
