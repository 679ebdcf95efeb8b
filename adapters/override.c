/* param_override, as new-api's relay/common/override.go applies it, over a
 * jansson tree instead of gjson/sjson on bytes. Paths are gjson's simple
 * dot form (no wildcards, queries or modifiers). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/adapter_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

struct path {
    char buf[GW_PATH_MAX_LEN + 1];
    const char *comp[GW_PATH_MAX_DEPTH];
    int n;
};

/* Splits on unescaped dots; "\x" stands for x. */
static int path_parse(const char *s, struct path *p)
{
    size_t len = s ? strlen(s) : 0, o = 0;

    if (len == 0 || len > GW_PATH_MAX_LEN)
        return GW_EINVAL;
    p->n = 0;
    p->comp[p->n++] = p->buf;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < len) {
            p->buf[o++] = s[++i];
        } else if (c == '.') {
            if (p->n == GW_PATH_MAX_DEPTH)
                return GW_EINVAL;
            p->buf[o++] = '\0';
            p->comp[p->n++] = p->buf + o;
        } else {
            p->buf[o++] = c;
        }
    }
    p->buf[o] = '\0';
    return GW_OK;
}

/* 1 and *out for "123"; 0 otherwise. */
static int comp_index(const char *c, size_t *out)
{
    size_t v = 0;

    if (*c == '\0')
        return 0;
    for (; *c; c++) {
        if (!isdigit((unsigned char)*c) || v > 100000000)
            return 0;
        v = v * 10 + (size_t)(*c - '0');
    }
    *out = v;
    return 1;
}

/* 1 and *out = N for "-N". */
static int comp_negative(const char *c, size_t *out)
{
    return c[0] == '-' && comp_index(c + 1, out) && *out > 0;
}

/* The child of v named by c, or NULL. */
static json_t *child(json_t *v, const char *c)
{
    size_t i;

    if (json_is_object(v))
        return json_object_get(v, c);
    if (!json_is_array(v))
        return NULL;
    if (comp_index(c, &i))
        return json_array_get(v, i);
    if (comp_negative(c, &i) && i <= json_array_size(v))
        return json_array_get(v, json_array_size(v) - i);
    return NULL;
}

json_t *gw__path_get(json_t *root, const char *path)
{
    struct path p;
    json_t *v = root;

    if (path_parse(path, &p) != GW_OK)
        return NULL;
    for (int i = 0; i < p.n && v; i++)
        v = child(v, p.comp[i]);
    return v;
}

/* A new empty container for the component after c. */
static json_t *container_for(const char *next)
{
    size_t i;
    return comp_index(next, &i) || strcmp(next, "-1") == 0 ? json_array() : json_object();
}

/* Stores value (stolen) as child c of parent. */
static int put(json_t *parent, const char *c, json_t *value)
{
    size_t i, n;

    if (json_is_object(parent))
        return json_object_set_new(parent, c, value) == 0 ? GW_OK : GW_ENOMEM;
    if (!json_is_array(parent)) {
        json_decref(value);
        return GW_EINVAL;
    }
    n = json_array_size(parent);
    if (comp_negative(c, &i)) {
        if (i <= n)
            return json_array_set_new(parent, n - i, value) == 0 ? GW_OK : GW_ENOMEM;
        if (i == 1)   /* sjson: -1 on an empty array appends */
            return json_array_append_new(parent, value) == 0 ? GW_OK : GW_ENOMEM;
        json_decref(value);
        return GW_EINVAL;
    }
    if (!comp_index(c, &i) || i > 100000) {
        json_decref(value);
        return GW_EINVAL;
    }
    while (n < i) {   /* sjson pads with null */
        if (json_array_append_new(parent, json_null()) != 0) {
            json_decref(value);
            return GW_ENOMEM;
        }
        n++;
    }
    if (i == n)
        return json_array_append_new(parent, value) == 0 ? GW_OK : GW_ENOMEM;
    return json_array_set_new(parent, i, value) == 0 ? GW_OK : GW_ENOMEM;
}

int gw__path_set(json_t *root, const char *path, json_t *value)
{
    struct path p;
    json_t *v = root;
    int rc;

    if (value == NULL)
        return GW_ENOMEM;
    if (path_parse(path, &p) != GW_OK) {
        json_decref(value);
        return GW_EINVAL;
    }
    for (int i = 0; i < p.n - 1; i++) {
        json_t *next = child(v, p.comp[i]);
        if (next == NULL || !(json_is_object(next) || json_is_array(next))) {
            if (next != NULL && !json_is_null(next)) {
                json_decref(value);
                return GW_EINVAL;   /* a scalar in the way */
            }
            next = container_for(p.comp[i + 1]);
            if (next == NULL) {
                json_decref(value);
                return GW_ENOMEM;
            }
            json_incref(next);
            rc = put(v, p.comp[i], next);
            if (rc != GW_OK) {
                json_decref(next);
                json_decref(value);
                return rc;
            }
            json_decref(next);   /* the parent holds it now */
        }
        v = next;
    }
    return put(v, p.comp[p.n - 1], value);
}

int gw__path_del(json_t *root, const char *path)
{
    struct path p;
    json_t *v = root;
    const char *last;
    size_t i;

    if (path_parse(path, &p) != GW_OK)
        return GW_EINVAL;
    for (int k = 0; k < p.n - 1 && v; k++)
        v = child(v, p.comp[k]);
    if (v == NULL)
        return GW_OK;
    last = p.comp[p.n - 1];
    if (json_is_object(v)) {
        json_object_del(v, last);
    } else if (json_is_array(v)) {
        if (comp_index(last, &i) && i < json_array_size(v))
            json_array_remove(v, i);
        else if (comp_negative(last, &i) && i <= json_array_size(v))
            json_array_remove(v, json_array_size(v) - i);
    }
    return GW_OK;
}

/* ---- values as text (gjson's String() / Go's %v) ---- */

static void num_text(const json_t *v, char *buf, size_t cap)
{
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return;
    }
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 1e21) {
        snprintf(buf, cap, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {   /* shortest that round-trips */
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Text of v into b: strings as they are, numbers and booleans as written,
 * null as nul_text, objects and arrays as compact JSON. */
static int value_text(const json_t *v, gw_buf *b, const char *nul_text)
{
    char num[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return gw_buf_append(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
    case JSON_REAL:
        num_text(v, num, sizeof num);
        return gw_buf_appends(b, num);
    case JSON_TRUE:
        return gw_buf_appends(b, "true");
    case JSON_FALSE:
        return gw_buf_appends(b, "false");
    case JSON_NULL:
        return gw_buf_appends(b, nul_text);
    default:
        return gw_json_dump_buf(v, b, JSON_ENCODE_ANY);
    }
}

#define TEXT_MAX (8u << 20)

/* ---- conditions ---- */

struct cond_ops {
    json_t *body, *ctx;
    char *err;
    size_t errlen;
};

static int cmp_equal(const json_t *a, const json_t *b, int *out, struct cond_ops *o)
{
    if (json_is_null(a) || json_is_null(b)) {
        *out = json_is_null(a) && json_is_null(b);
        return GW_OK;
    }
    if (json_is_boolean(a) && json_is_boolean(b)) {
        *out = json_is_true(a) == json_is_true(b);
        return GW_OK;
    }
    if (json_is_number(a) && json_is_number(b)) {
        *out = json_number_value(a) == json_number_value(b);
        return GW_OK;
    }
    if (json_typeof(a) != json_typeof(b))
        return gw__err(o->err, o->errlen, GW_EINVAL, "compare for different types");
    *out = json_equal(a, b);
    return GW_OK;
}

static int cmp_text(const json_t *a, const json_t *b, const char *mode, int *out)
{
    gw_buf x, y;
    int rc;

    gw_buf_init(&x, TEXT_MAX);
    gw_buf_init(&y, TEXT_MAX);
    rc = value_text(a, &x, "");
    if (rc == GW_OK)
        rc = value_text(b, &y, "");
    if (rc == GW_OK) {
        const char *xs = x.base ? x.base : "", *ys = y.base ? y.base : "";
        if (strcmp(mode, "prefix") == 0)
            *out = x.len >= y.len && memcmp(xs, ys, y.len) == 0;
        else if (strcmp(mode, "suffix") == 0)
            *out = x.len >= y.len && memcmp(xs + x.len - y.len, ys, y.len) == 0;
        else
            *out = y.len == 0 || (x.len >= y.len && memmem(xs, x.len, ys, y.len) != NULL);
    }
    gw_buf_free(&x);
    gw_buf_free(&y);
    return rc;
}

static int cond_one(const json_t *c, struct cond_ops *o, int *out)
{
    const char *path = json_string_value(json_object_get(c, "path"));
    const char *mode = json_string_value(json_object_get(c, "mode"));
    const json_t *want = json_object_get(c, "value");
    char lmode[16];
    json_t *have;
    int rc;

    have = path ? gw__path_get(o->body, path) : NULL;
    if (have == NULL && path && o->ctx)
        have = json_object_get(o->ctx, path);   /* context keys are flat */
    if (have == NULL) {
        *out = json_is_true(json_object_get(c, "pass_missing_key"));
        return GW_OK;
    }
    if (want == NULL)
        want = json_null();
    snprintf(lmode, sizeof lmode, "%s", mode ? mode : "");
    for (char *m = lmode; *m; m++)
        *m = (char)tolower((unsigned char)*m);
    if (strcmp(lmode, "full") == 0) {
        rc = cmp_equal(have, want, out, o);
    } else if (!strcmp(lmode, "prefix") || !strcmp(lmode, "suffix") || !strcmp(lmode, "contains")) {
        rc = cmp_text(have, want, lmode, out);
    } else if (!strcmp(lmode, "gt") || !strcmp(lmode, "gte") || !strcmp(lmode, "lt") ||
               !strcmp(lmode, "lte")) {
        if (!json_is_number(have) || !json_is_number(want))
            return gw__err(o->err, o->errlen, GW_EINVAL,
                           "comparison failed for path %s: numeric comparison requires numbers",
                           path);
        double a = json_number_value(have), b = json_number_value(want);
        *out = lmode[0] == 'g' ? (lmode[2] ? a >= b : a > b) : (lmode[2] ? a <= b : a < b);
        rc = GW_OK;
    } else {
        return gw__err(o->err, o->errlen, GW_EINVAL, "unsupported comparison mode: %s",
                       mode ? mode : "");
    }
    if (rc == GW_OK && json_is_true(json_object_get(c, "invert")))
        *out = !*out;
    return rc;
}

/* checkConditions: none → true; "AND" (any case) needs all, else any. */
static int conditions(const json_t *op, struct cond_ops *o, int *out)
{
    const json_t *list = json_object_get(op, "conditions");
    const char *logic = json_string_value(json_object_get(op, "logic"));
    int and = logic && strcasecmp(logic, "AND") == 0, any = 0, all = 1, n = 0;
    size_t i;
    json_t *c;

    if (!json_is_array(list) || json_array_size(list) == 0) {
        *out = 1;
        return GW_OK;
    }
    json_array_foreach(list, i, c) {
        int r = 0, rc; /* = 0: gcc -O2 cannot see cond_one() always sets it */
        if (!json_is_object(c))
            continue;   /* the reference skips non-object conditions */
        rc = cond_one(c, o, &r);
        if (rc != GW_OK)
            return rc;
        any |= r;
        all &= r;
        n++;
    }
    *out = n == 0 ? 1 : (and ? all : any);
    return GW_OK;
}

/* ---- operations ---- */

/* A string op's target: must exist and be a string. */
static int need_string(json_t *body, const char *path, const char **s, size_t *len, char *err,
                       size_t errlen)
{
    json_t *v = path ? gw__path_get(body, path) : NULL;
    if (!json_is_string(v))
        return gw__err(err, errlen, GW_EINVAL, "operation not supported for type");
    *s = json_string_value(v);
    *len = json_string_length(v);
    return GW_OK;
}

static int set_text(json_t *body, const char *path, const char *s, size_t len)
{
    return gw__path_set(body, path, json_stringn(s, len));
}

static int op_affix(json_t *body, const char *path, const json_t *val, const char *mode,
                    char *err, size_t errlen)
{
    const char *s = NULL; /* = NULL/0: set by need_string(), as gcc -O2 cannot see */
    size_t len = 0;
    gw_buf v, out;
    int rc, trim = mode[0] == 't', prefix = strstr(mode, "prefix") != NULL;

    rc = need_string(body, path, &s, &len, err, errlen);
    if (rc != GW_OK)
        return rc;
    if (val == NULL || json_is_null(val))
        return gw__err(err, errlen, GW_EINVAL, "%s value is required", trim ? "trim" : "ensure");
    gw_buf_init(&v, TEXT_MAX);
    gw_buf_init(&out, TEXT_MAX);
    rc = value_text(val, &v, "<nil>");
    if (rc == GW_OK && !trim && v.len == 0)
        rc = gw__err(err, errlen, GW_EINVAL, "ensure value is required");
    if (rc == GW_OK) {
        const char *vs = v.base ? v.base : "";
        int has = len >= v.len &&
                  memcmp(prefix ? s : s + len - v.len, vs, v.len) == 0;
        if (trim) {
            rc = has ? set_text(body, path, prefix ? s + v.len : s, len - v.len) : GW_OK;
        } else if (!has) {
            rc = gw_buf_append(&out, prefix ? vs : s, prefix ? v.len : len);
            if (rc == GW_OK)
                rc = gw_buf_append(&out, prefix ? s : vs, prefix ? len : v.len);
            if (rc == GW_OK)
                rc = set_text(body, path, out.base, out.len);
        }
    }
    gw_buf_free(&v);
    gw_buf_free(&out);
    return rc;
}

static int op_transform(json_t *body, const char *path, const char *mode, char *err, size_t errlen)
{
    const char *s = NULL; /* = NULL/0: set by need_string(), as gcc -O2 cannot see */
    size_t len = 0, a = 0;
    int rc = need_string(body, path, &s, &len, err, errlen);
    char *t;

    if (rc != GW_OK)
        return rc;
    if (strcmp(mode, "trim_space") == 0) {
        gw_str r = gw_str_trim((gw_str){s, len});
        return set_text(body, path, r.base, r.len);
    }
    t = gw_malloc(len + 1);
    if (t == NULL)
        return GW_ENOMEM;
    for (a = 0; a < len; a++)   /* ASCII only: Go's ToLower/ToUpper also fold non-ASCII */
        t[a] = (char)(mode[3] == 'l' ? tolower((unsigned char)s[a]) : toupper((unsigned char)s[a]));
    rc = set_text(body, path, t, len);
    gw_free(t);
    return rc;
}

static int op_replace(json_t *body, const char *path, const char *from, const char *to, char *err,
                      size_t errlen)
{
    const char *s = NULL, *p; /* = NULL/0: set by need_string(), as gcc -O2 cannot see */
    size_t len = 0, flen, tlen;
    gw_buf out;
    int rc = need_string(body, path, &s, &len, err, errlen);

    if (rc != GW_OK)
        return rc;
    if (from == NULL || *from == '\0')
        return gw__err(err, errlen, GW_EINVAL, "replace from is required");
    to = to ? to : "";
    flen = strlen(from);
    tlen = strlen(to);
    gw_buf_init(&out, TEXT_MAX);
    for (p = s; rc == GW_OK;) {
        const char *hit = memmem(p, len - (size_t)(p - s), from, flen);
        if (hit == NULL) {
            rc = gw_buf_append(&out, p, len - (size_t)(p - s));
            break;
        }
        rc = gw_buf_append(&out, p, (size_t)(hit - p));
        if (rc == GW_OK)
            rc = gw_buf_append(&out, to, tlen);
        p = hit + flen;
    }
    if (rc == GW_OK)
        rc = set_text(body, path, out.base ? out.base : "", out.len);
    gw_buf_free(&out);
    return rc;
}

/* prepend / append: arrays get the value (or its elements) spliced in,
 * strings get its text, objects get its members merged (keep_origin keeps
 * members that are present and not null). */
static int op_modify(json_t *body, const char *path, const json_t *val, int keep, int prepend,
                     char *err, size_t errlen)
{
    json_t *cur = path ? gw__path_get(body, path) : NULL, *nv;
    int rc;

    if (val == NULL)
        val = json_null();
    if (json_is_array(cur)) {
        nv = json_array();
        if (nv == NULL)
            return GW_ENOMEM;
        json_t *add = json_is_array(val) ? json_deep_copy(val) : json_pack("[O]", val);
        json_t *orig = json_deep_copy(cur);
        if (add == NULL || orig == NULL ||
            json_array_extend(nv, prepend ? add : orig) != 0 ||
            json_array_extend(nv, prepend ? orig : add) != 0) {
            json_decref(add);
            json_decref(orig);
            json_decref(nv);
            return GW_ENOMEM;
        }
        json_decref(add);
        json_decref(orig);
        return gw__path_set(body, path, nv);
    }
    if (json_is_string(cur)) {
        gw_buf b;
        gw_buf_init(&b, TEXT_MAX);
        rc = prepend ? value_text(val, &b, "<nil>") : gw_buf_append(&b, json_string_value(cur),
                                                                   json_string_length(cur));
        if (rc == GW_OK)
            rc = prepend ? gw_buf_append(&b, json_string_value(cur), json_string_length(cur))
                         : value_text(val, &b, "<nil>");
        if (rc == GW_OK)
            rc = set_text(body, path, b.base ? b.base : "", b.len);
        gw_buf_free(&b);
        return rc;
    }
    if (json_is_object(cur)) {
        const char *k;
        json_t *v;
        if (!json_is_object(val))
            return gw__err(err, errlen, GW_EINVAL, "merge value is not an object");
        json_object_foreach((json_t *)val, k, v) {
            json_t *old = json_object_get(cur, k);
            if (keep && old != NULL && !json_is_null(old))
                continue;
            if (json_object_set_new(cur, k, json_deep_copy(v)) != 0)
                return GW_ENOMEM;
        }
        return GW_OK;
    }
    return gw__err(err, errlen, GW_EINVAL, "operation not supported for type");
}

static int op_move_copy(json_t *body, const char *from, const char *to, int move, char *err,
                        size_t errlen)
{
    json_t *src;
    int rc;

    if (!move && (from == NULL || *from == '\0' || to == NULL || *to == '\0'))
        return gw__err(err, errlen, GW_EINVAL, "copy from/to is required");
    src = from ? gw__path_get(body, from) : NULL;
    if (src == NULL)
        return gw__err(err, errlen, GW_EINVAL, "source path does not exist: %s",
                       from ? from : "");
    rc = gw__path_set(body, to ? to : "", json_deep_copy(src));
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "cannot %s to path %s", move ? "move" : "copy",
                       to ? to : "");
    if (move && (rc = gw__path_del(body, from)) != GW_OK)
        return gw__err(err, errlen, rc, "cannot remove path %s", from);
    return GW_OK;
}

static int apply_op(json_t *body, const json_t *op, char *err, size_t errlen)
{
    const char *mode = json_string_value(json_object_get(op, "mode"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    const char *to = json_string_value(json_object_get(op, "to"));
    const json_t *val = json_object_get(op, "value");
    int keep = json_is_true(json_object_get(op, "keep_origin"));

    path = path ? path : "";
    if (strcmp(mode, "delete") == 0)
        return gw__path_del(body, path) == GW_OK ? GW_OK
                                                 : gw__err(err, errlen, GW_EINVAL, "bad path");
    if (strcmp(mode, "set") == 0) {
        if (keep && gw__path_get(body, path) != NULL)
            return GW_OK;
        return gw__path_set(body, path, val ? json_deep_copy(val) : json_null()) == GW_OK
                   ? GW_OK
                   : gw__err(err, errlen, GW_EINVAL, "cannot set path %s", path);
    }
    if (strcmp(mode, "move") == 0 || strcmp(mode, "copy") == 0)
        return op_move_copy(body, from, to, mode[0] == 'm', err, errlen);
    if (strcmp(mode, "prepend") == 0 || strcmp(mode, "append") == 0)
        return op_modify(body, path, val, keep, mode[0] == 'p', err, errlen);
    if (!strcmp(mode, "trim_prefix") || !strcmp(mode, "trim_suffix") ||
        !strcmp(mode, "ensure_prefix") || !strcmp(mode, "ensure_suffix"))
        return op_affix(body, path, val, mode, err, errlen);
    if (!strcmp(mode, "trim_space") || !strcmp(mode, "to_lower") || !strcmp(mode, "to_upper"))
        return op_transform(body, path, mode, err, errlen);
    if (strcmp(mode, "replace") == 0)
        return op_replace(body, path, from, to, err, errlen);
    if (strcmp(mode, "regex_replace") == 0)
        return gw__err(err, errlen, GW_ENOTSUP,
                       "param_override mode regex_replace is not supported by this gateway");
    return gw__err(err, errlen, GW_EINVAL, "unknown operation: %s", mode);
}

/* tryParseOperations: a list whose every element is an object with a mode. */
static int is_operations(const json_t *override)
{
    const json_t *ops = json_object_get(override, "operations");
    size_t i;
    json_t *op;

    if (!json_is_array(ops))
        return 0;
    json_array_foreach(ops, i, op) {
        if (!json_is_object(op) || !json_is_string(json_object_get(op, "mode")))
            return 0;
    }
    return 1;
}

static json_t *context_json(const struct gw_override_ctx *c)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (c->model && *c->model) {
        json_object_set_new(o, "model", json_string(c->model));
        json_object_set_new(o, "upstream_model", json_string(c->model));
    }
    if (c->original_model && *c->original_model) {
        json_object_set_new(o, "original_model", json_string(c->original_model));
        if (json_object_get(o, "model") == NULL)
            json_object_set_new(o, "model", json_string(c->original_model));
    }
    if (c->request_path && *c->request_path)
        json_object_set_new(o, "request_path", json_string(c->request_path));
    json_object_set_new(o, "is_channel_test", json_boolean(c->is_channel_test));
    return o;
}

int gw__param_override(json_t *body, const json_t *override, const struct gw_override_ctx *ctx,
                       char *err, size_t errlen)
{
    const char *k;
    json_t *v, *op;
    size_t i;
    int rc = GW_OK;

    /* Every failure below names its cause, and "operation X failed: %s" below
     * quotes err: never let it read what the caller's buffer held before
     * (tests/fuzz/fuzz_param_override.c found a path that set no message). */
    if (errlen)
        err[0] = '\0';
    if (!json_is_object(override) || json_object_size(override) == 0)
        return GW_OK;
    if (!json_is_object(body))
        return gw__err(err, errlen, GW_EINVAL, "param_override needs a JSON object body");
    if (!is_operations(override)) {
        json_object_foreach((json_t *)override, k, v) {
            if (json_object_set_new(body, k, json_deep_copy(v)) != 0)
                return GW_ENOMEM;
        }
        return GW_OK;
    }
    struct cond_ops co = {body, context_json(ctx), err, errlen};
    if (co.ctx == NULL)
        return GW_ENOMEM;
    json_array_foreach(json_object_get(override, "operations"), i, op) {
        int ok;
        rc = conditions(op, &co, &ok);
        if (rc != GW_OK)
            break;
        if (!ok)
            continue;
        rc = apply_op(body, op, err, errlen);
        if (rc != GW_OK) {
            /* Prefix the failing op as the reference does ("operation X failed: ..."). */
            char inner[256];
            snprintf(inner, sizeof inner, "%s", errlen ? err : "");
            gw__err(err, errlen, rc, "operation %s failed: %s",
                    json_string_value(json_object_get(op, "mode")), inner);
            break;
        }
    }
    json_decref(co.ctx);
    return rc;
}
