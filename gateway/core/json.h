/* Helpers over jansson 2.14. Reference counting stays jansson's: whatever a
 * function here returns with a new reference, the caller json_decref()s.
 * Borrowed views (gw_str from gw_json_get_str) point into the json_t and are
 * valid only while that value is alive and unmodified.
 *
 * jansson's allocations are routed through gw_malloc/gw_free (installed
 * once by gw_json_init, which the parse/create helpers call for you), so
 * the allocation failure injection covers JSON too. */
#ifndef GW_CORE_JSON_H
#define GW_CORE_JSON_H
#include <stddef.h>

#include <jansson.h>

#include "gateway/core/buf.h"
#include "gateway/core/str.h"

/* Nesting limit used when gw_json_parse is given max_depth 0. */
#define GW_JSON_DEFAULT_DEPTH 64

/* Route jansson allocation through alloc.h. Idempotent and thread-safe;
 * call it early in main() so every json_t comes from gw_malloc. */
void gw_json_init(void);

/* Parse exactly buf[0..len) as one JSON object or array (bare scalars are
 * rejected; trailing garbage is rejected). Nesting deeper than max_depth
 * ([[1]] has depth 2) is rejected by a cheap pre-scan before jansson sees
 * the input; 0 means GW_JSON_DEFAULT_DEPTH. Returns a new reference, or
 * NULL with a human-readable message in err (always NUL-terminated when
 * errlen > 0, valid UTF-8 without control characters, so it can go into a
 * JSON reply as is; err may be NULL if errlen is 0). Strings containing \u0000
 * are rejected (jansson's default), so every string value is also a safe
 * C string. */
json_t *gw_json_parse(const char *buf, size_t len, size_t max_depth,
                      char *err, size_t errlen);

/* Member `key` of object obj as a borrowed string view (length-exact, may
 * contain NULs). GW_ENOTFOUND if absent (or obj is not an object),
 * GW_EINVAL if present but not a string; *out untouched on error. */
int gw_json_get_str(const json_t *obj, const char *key, gw_str *out);

/* Member `key` as an integer. JSON integers are accepted, and reals that
 * are whole numbers within long long range (3.0, 1e3). GW_ENOTFOUND if
 * absent, GW_EINVAL for any other type or a fractional real. */
int gw_json_get_int(const json_t *obj, const char *key, long long *out);

/* Member `key` as a boolean (true/false only; *out is 1 or 0).
 * GW_ENOTFOUND if absent, GW_EINVAL if not a JSON boolean. */
int gw_json_get_bool(const json_t *obj, const char *key, int *out);

/* Append the compact serialisation of json to out. flags are extra
 * jansson JSON_* dump flags (JSON_COMPACT is always added). Returns
 * GW_ETOOBIG / GW_ENOMEM from the buffer or GW_EINVAL if jansson refuses
 * (e.g. a scalar without JSON_ENCODE_ANY); on error out is restored to its
 * previous length. */
int gw_json_dump_buf(const json_t *json, gw_buf *out, size_t flags);

/* New JSON string for text meant for people (error messages, log text): s
 * itself when it is valid UTF-8, else a copy made valid by gw_str_utf8_fix
 * (a character cut at the end dropped, other bad bytes '?'). NULL only on
 * OOM; s NULL is "". For "s:o" in json_pack. */
json_t *gw_json_text(const char *s);

/* New JSON string holding exactly s (json_stringn). NULL on OOM or if s is
 * not valid UTF-8. */
json_t *gw_json_strn(gw_str s);

#endif
