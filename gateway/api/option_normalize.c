/* Validation of option values written through PUT /api/option/ (the
 * registry itself, with defaults and the snapshot reader, is in
 * gateway/state/option_registry.c): each type's range and text form, JSON
 * shapes, and billing's own rules for the price tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/api/options.h"
#include "adapters/responses_policy.h"
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/billing.h"

static int fail(char *err, size_t errlen, const char *key, const char *why)
{
    snprintf(err, errlen, "invalid value for %s: %s", key, why);
    return GW_EINVAL;
}

/* A number from a JSON number or a numeric string ("12", " 1.5" is refused). */
static int as_number(const json_t *v, double *out)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return GW_OK;
    }
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return isfinite(*out) ? GW_OK : GW_EINVAL;
    }
    if (!json_is_string(v))
        return GW_EINVAL;
    const char *s = json_string_value(v);
    char *end;
    if (!*s || strlen(s) > 64 || (*s != '-' && *s != '+' && (*s < '0' || *s > '9') && *s != '.'))
        return GW_EINVAL;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out) ? GW_OK : GW_EINVAL;
}

static char *fmt_double(double d)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, sizeof buf, "%.17g", d);
    return gw_strdup(buf);
}

static int is_ratio(const json_t *v)
{
    return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
}

static const char *shape_error(const json_t *j, enum gw_opt_shape shape)
{
    const char *k;
    json_t *v, *v2;
    switch (shape) {
    case GW_SHAPE_ANY:
        return NULL;
    case GW_SHAPE_ARRAY:
        return json_is_array(j) ? NULL : "must be a JSON array";
    case GW_SHAPE_OBJECT:
    case GW_SHAPE_OBJECT_OR_EMPTY: /* empty text never gets here (norm_json) */
        return json_is_object(j) ? NULL : "must be a JSON object";
    case GW_SHAPE_PORTS: {
        static _Thread_local char why[160]; /* returned: shape_error answers static text */
        struct gw_dest_policy p;
        char *txt = json_dumps(j, JSON_COMPACT);
        int rc = txt ? gw_dest_parse_ports(txt, &p, why, sizeof why) : GW_ENOMEM;
        gw_free(txt);
        return rc == GW_OK ? NULL : rc == GW_ENOMEM ? "out of memory" : why;
    }
    case GW_SHAPE_RESP_POLICY: {
        static _Thread_local char why[1200]; /* returned: as the ports' */
        struct gw_resp_policy *p = NULL;
        char *txt = json_dumps(j, JSON_COMPACT);
        int rc = txt ? gw_resp_policy_parse(txt, &p, why, sizeof why) : GW_ENOMEM;
        gw_free(txt);
        gw_resp_policy_free(p);
        return rc == GW_OK ? NULL : rc == GW_ENOMEM ? "out of memory" : why;
    }
    default:
        break;
    }
    if (!json_is_object(j))
        return "must be a JSON object";
    json_object_foreach((json_t *)j, k, v) {
        if (shape == GW_SHAPE_RATIOS && !is_ratio(v))
            return "every value must be a number >= 0";
        if (shape == GW_SHAPE_STRINGS && !json_is_string(v))
            return "every value must be a string";
        if ((shape == GW_SHAPE_OBJECTS || shape == GW_SHAPE_RATIOS2) && !json_is_object(v))
            return "every value must be a JSON object";
        if (shape == GW_SHAPE_RATIOS2) {
            const char *k2;
            json_object_foreach(v, k2, v2) {
                if (!is_ratio(v2))
                    return "every inner value must be a number >= 0";
            }
        }
    }
    return NULL;
}

static int norm_json(const struct gw_option_def *d, const json_t *value, char **out, char *err,
                     size_t errlen)
{
    char why[160];
    json_t *j;
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        size_t n = json_string_length(value);
        if ((double)n > d->max)
            return fail(err, errlen, d->key, "too long");
        if (d->shape == GW_SHAPE_OBJECT_OR_EMPTY && strspn(s, " \t\r\n") == n) {
            *out = gw_strdup(""); /* empty: every module on (gw_nav_access_parse) */
            return *out ? GW_OK : GW_ENOMEM;
        }
        j = gw_json_parse(s, n, 64, why, sizeof why);
        if (!j) {
            snprintf(err, errlen, "invalid value for %s: not valid JSON (%s)", d->key, why);
            return GW_EINVAL;
        }
    } else if (json_is_object(value) || json_is_array(value)) {
        j = json_incref((json_t *)value);
    } else {
        return fail(err, errlen, d->key, "expected JSON text");
    }
    const char *bad = shape_error(j, d->shape);
    if (bad) {
        json_decref(j);
        return fail(err, errlen, d->key, bad);
    }
    /* Keep the admin's own text (the console shows it back as typed). */
    *out = json_is_string(value) ? gw_strdup(json_string_value(value))
                                 : json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j); /* json_dumps allocates through gw_alloc too (gw_json_init) */
    /* Price tables: billing's own rules (duplicate keys, values up to 1e9),
     * or the workers would refuse what the API saved and keep old prices. */
    if (*out && (d->shape == GW_SHAPE_RATIOS || d->shape == GW_SHAPE_RATIOS2) &&
        gw_ratios_check(d->key, *out, why, sizeof why) == GW_EINVAL) {
        gw_free(*out);
        *out = NULL;
        return fail(err, errlen, d->key, why);
    }
    return *out ? GW_OK : GW_ENOMEM;
}

int gw_option_normalize(const struct gw_option_def *d, const json_t *value, char **out,
                        char *err, size_t errlen)
{
    double n;
    *out = NULL;
    if (!d || !value || json_is_null(value))
        return fail(err, errlen, d ? d->key : "option", "value is required");
    switch (d->type) {
    case GW_OPT_BOOL:
        if (json_is_boolean(value))
            *out = gw_strdup(json_is_true(value) ? "true" : "false");
        else if (json_is_string(value) && (strcmp(json_string_value(value), "true") == 0 ||
                                           strcmp(json_string_value(value), "false") == 0))
            *out = gw_strdup(json_string_value(value));
        else
            return fail(err, errlen, d->key, "expected true or false");
        break;
    case GW_OPT_INT:
        if (as_number(value, &n) != GW_OK || n != floor(n))
            return fail(err, errlen, d->key, "expected an integer");
        if (n < d->min || n > d->max) {
            char why[96];
            snprintf(why, sizeof why, "must be between %.0f and %.0f", d->min, d->max);
            return fail(err, errlen, d->key, why);
        }
        *out = gw_malloc(32);
        if (*out)
            snprintf(*out, 32, "%lld", (long long)n);
        break;
    case GW_OPT_FLOAT:
        if (as_number(value, &n) != GW_OK)
            return fail(err, errlen, d->key, "expected a number");
        if (n < d->min || n > d->max) {
            char why[96];
            snprintf(why, sizeof why, "must be between %g and %g", d->min, d->max);
            return fail(err, errlen, d->key, why);
        }
        *out = fmt_double(n);
        break;
    case GW_OPT_STRING:
        if (json_is_string(value)) {
            if ((double)json_string_length(value) > d->max)
                return fail(err, errlen, d->key, "too long");
            if (strlen(json_string_value(value)) != json_string_length(value))
                return fail(err, errlen, d->key, "contains a NUL character");
            *out = gw_strdup(json_string_value(value));
        } else if (json_is_boolean(value)) {
            *out = gw_strdup(json_is_true(value) ? "true" : "false");
        } else if (json_is_integer(value)) {
            *out = gw_malloc(32);
            if (*out)
                snprintf(*out, 32, "%lld", (long long)json_integer_value(value));
        } else if (json_is_real(value)) {
            *out = fmt_double(json_real_value(value));
        } else {
            return fail(err, errlen, d->key, "expected a string");
        }
        break;
    case GW_OPT_JSON:
        return norm_json(d, value, out, err, errlen);
    }
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    return GW_OK;
}
