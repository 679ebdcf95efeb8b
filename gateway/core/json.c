#include "gateway/core/json.h"
#include "gateway/core/str.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void *json_alloc(size_t size)
{
    return gw_malloc(size);
}

static void install_alloc(void)
{
    /* Safe even after jansson has allocated: gw_malloc/gw_free are libc
     * malloc/free underneath, so old and new blocks are interchangeable. */
    json_set_alloc_funcs(json_alloc, gw_free);
}

void gw_json_init(void)
{
    pthread_once(&json_once, install_alloc);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message goes into the client's JSON error and into one log line:
 * jansson quotes the offending input ("near '...'"), which may hold raw
 * bytes, control characters or a character cut by its 160-byte limit or by
 * errlen. gw_str_utf8_fix makes it valid UTF-8; control characters become
 * spaces. (Found by tests/fuzz/fuzz_relay_request.c.) */
static void clean_text(char *s)
{
    gw_str_utf8_fix(s);
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    clean_text(err);
}

/* Maximum bracket depth of buf, counting only brackets outside strings.
 * Stops early once max is exceeded. Malformed input is jansson's business;
 * this only has to be right for input that jansson would accept. */
static size_t scan_depth(const char *buf, size_t len, size_t max)
{
    size_t i, depth = 0, deepest = 0;
    int in_str = 0;

    for (i = 0; i < len; i++) {
        char c = buf[i];

        if (in_str) {
            if (c == '\\')
                i++;                 /* skip the escaped byte */
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > max)
                    break;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

json_t *gw_json_parse(const char *buf, size_t len, size_t max_depth,
                      char *err, size_t errlen)
{
    json_error_t je;
    json_t *j;

    gw_json_init();
    if (max_depth == 0)
        max_depth = GW_JSON_DEFAULT_DEPTH;
    if (buf == NULL) {
        set_err(err, errlen, "no input");
        return NULL;
    }
    if (scan_depth(buf, len, max_depth) > max_depth) {
        set_err(err, errlen, "JSON nested deeper than %zu levels", max_depth);
        return NULL;
    }
    j = json_loadb(buf, len, 0, &je);
    if (j == NULL) {
        set_err(err, errlen, "invalid JSON at line %d column %d: %s",
                je.line, je.column, je.text);
        return NULL;
    }
    return j;
}

static int get_member(const json_t *obj, const char *key, json_t **val)
{
    /* jansson's getters take non-const pointers but do not modify. */
    *val = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return *val == NULL ? GW_ENOTFOUND : GW_OK;
}

int gw_json_get_str(const json_t *obj, const char *key, gw_str *out)
{
    json_t *v;

    if (get_member(obj, key, &v) != GW_OK)
        return GW_ENOTFOUND;
    if (!json_is_string(v))
        return GW_EINVAL;
    out->base = json_string_value(v);
    out->len = json_string_length(v);
    return GW_OK;
}

int gw_json_get_int(const json_t *obj, const char *key, long long *out)
{
    json_t *v;
    double d;

    if (get_member(obj, key, &v) != GW_OK)
        return GW_ENOTFOUND;
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return GW_OK;
    }
    if (!json_is_real(v))
        return GW_EINVAL;
    d = json_real_value(v);
    /* [-2^63, 2^63) converts to long long without UB; whole numbers only. */
    if (!(d >= -0x1p63 && d < 0x1p63) || d != floor(d))
        return GW_EINVAL;
    *out = (long long)d;
    return GW_OK;
}

int gw_json_get_bool(const json_t *obj, const char *key, int *out)
{
    json_t *v;

    if (get_member(obj, key, &v) != GW_OK)
        return GW_ENOTFOUND;
    if (!json_is_boolean(v))
        return GW_EINVAL;
    *out = json_is_true(v) ? 1 : 0;
    return GW_OK;
}

struct dump_ctx {
    gw_buf *out;
    int rc;
};

static int dump_cb(const char *data, size_t size, void *arg)
{
    struct dump_ctx *ctx = arg;

    ctx->rc = gw_buf_append(ctx->out, data, size);
    return ctx->rc == GW_OK ? 0 : -1;
}

int gw_json_dump_buf(const json_t *json, gw_buf *out, size_t flags)
{
    struct dump_ctx ctx = { out, GW_OK };
    size_t old_len = out->len;

    if (json_dump_callback(json, dump_cb, &ctx, flags | JSON_COMPACT) == 0)
        return GW_OK;
    /* Keep the buffer as it was: drop whatever part of this dump landed. */
    out->len = old_len;
    if (out->base != NULL)
        out->base[old_len] = '\0';
    return ctx.rc != GW_OK ? ctx.rc : GW_EINVAL;
}

json_t *gw_json_text(const char *s)
{
    gw_json_init();
    json_t *j = json_string(s ? s : "");
    if (j || !s)
        return j;
    char *fixed = gw_str_dup(gw_str_c(s)); /* invalid UTF-8 (or OOM) */
    if (!fixed)
        return NULL;
    j = json_string(gw_str_utf8_fix(fixed));
    gw_free(fixed);
    return j;
}

json_t *gw_json_strn(gw_str s)
{
    gw_json_init();
    /* json_stringn rejects a NULL pointer even for length 0. */
    return json_stringn(s.len ? s.base : "", s.len);
}
