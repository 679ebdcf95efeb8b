/* Registry of the Lua scripts run in Redis (DESIGN §4).
 *
 * The scripts are compiled into the binary (scripts/NAME.lua, see core/embed.h).
 * The helpers they share (argument checks, the reservation record, in-flight
 * counters) are written once, in scripts/lib/common.lua, and inserted into
 * each script's text when it is registered (gw_embedded_lua, core/embed.h:
 * right after its contract comment); the SHA1 is of the composed text.
 * Each is known by its file name without ".lua" and called by SHA1 with
 * EVALSHA; the SHA1 is computed here once, so script text is never built or
 * hashed per request.
 *
 * Threading: fill the registry (gw_scripts_init, gw_scripts_add) before any
 * other thread or forked worker uses it; lookups are read-only afterwards.
 * Entries never move or change once added, so a `const struct gw_script *`
 * stays valid until gw_scripts_free(). */
#ifndef GW_STATE_SCRIPTS_H
#define GW_STATE_SCRIPTS_H
#include <stddef.h>
#include "gateway/core/embed.h"

#define GW_SCRIPT_NAME_MAX 64
#define GW_SCRIPTS_LIB GW_EMBED_LUA_LIB /* embedded path of the shared helpers */

struct gw_script {
    const char *name;  /* "ratelimit" */
    char sha[41];      /* lower-case hex SHA1 of text, as Redis reports it */
    const char *text;  /* NUL-terminated; len bytes */
    size_t len;
};

/* Adds every embedded file whose path is "scripts/<name>.lua" (no
 * subdirectory), with the shared helpers inserted (see above; as-is when
 * GW_SCRIPTS_LIB is not embedded). Zero such files is fine. Calling it again adds nothing new.
 * Returns GW_OK, GW_ENOMEM, or GW_ECONFLICT when a script of that name was
 * already added with a different text. */
int gw_scripts_init(void);

/* Registers an extra script (tests, tools). name and text are copied.
 * Re-adding the same name with the same text is GW_OK; a different text is
 * GW_ECONFLICT (callers may hold the old entry). GW_EINVAL for an empty name,
 * a name of GW_SCRIPT_NAME_MAX bytes or more, or NULL text. */
int gw_scripts_add(const char *name, const char *text);

/* Like gw_scripts_add, with the shared helpers inserted as gw_scripts_init
 * does (tests of the helpers themselves). */
int gw_scripts_add_with_lib(const char *name, const char *text);

/* Lookup by name; NULL when absent. */
const struct gw_script *gw_script_find(const char *name);

/* Number of registered scripts, and the i-th (0 <= i < count) in the order
 * they were added; NULL when i is out of range. */
size_t gw_scripts_count(void);
const struct gw_script *gw_script_at(size_t i);

/* Releases every entry; the registry is empty afterwards. Only when no
 * gw_redis client still holds a script (tests, process exit). */
void gw_scripts_free(void);

#endif
