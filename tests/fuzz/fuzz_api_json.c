/* The management API's JSON body helpers, pure functions of the body:
 * gw_json_parse as gw_api_body calls it (depth 32, an object), channel
 * field validation (gw__ch_take, POST/PUT /api/channel/), gw_api_opt_int,
 * and option values (gw_option_normalize, PUT /api/option/) cross-checked
 * with their consumers: a price table the API accepts must load in billing
 * (gw_ratios_build), else the workers silently keep the old prices.
 * Input: byte 0 picks the option; the rest is the body. For the option the
 * body's "value" member is the value (the whole body when absent). */
#include <math.h>
#include "tests/fuzz/fuzz.h"
#include "gateway/api/apictx.h"
#include "gateway/api/channels.h"
#include "gateway/api/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/billing.h"

#define FUZZ_MAX_INPUT (64u << 10)

static const char *const ratio_keys[] = {"ModelRatio", "ModelPrice", "CompletionRatio",
                                         "CacheRatio", "CreateCacheRatio", "ImageRatio",
                                         "AudioRatio", "AudioCompletionRatio", "GroupRatio",
                                         "GroupGroupRatio", NULL};

struct one_opt {
    const char *key, *text;
};

static const char *get_one(const char *key, void *data)
{
    const struct one_opt *o = data;
    return strcmp(key, o->key) == 0 ? o->text : NULL;
}

static void check_msg(const char *err, size_t cap)
{
    FUZZ_CHECK(memchr(err, '\0', cap) != NULL);
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(fuzz_utf8_ok(err, strlen(err)));
}

static void check_channel(const json_t *body)
{
    json_t *dst = json_object();
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = gw__ch_take(body, dst, err, sizeof err);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc != GW_OK) {
        check_msg(err, sizeof err);
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(dst, k, v) {
            FUZZ_CHECK(json_is_string(v) || json_is_integer(v));
            if (json_is_string(v))
                FUZZ_CHECK(json_string_length(v) <= 65535);
        }
        const char *bu = json_string_value(json_object_get(dst, "base_url"));
        if (bu && *bu)
            FUZZ_CHECK(strncmp(bu, "http://", 7) == 0 || strncmp(bu, "https://", 8) == 0);
        const char *mm = json_string_value(json_object_get(dst, "model_mapping"));
        if (mm && *mm) {
            /* what the router then loads (routing_load.c parse_obj) */
            gw_str t = gw_str_trim(gw_str_c(mm));
            json_t *j = gw_json_parse(t.base, t.len, 0, NULL, 0);
            FUZZ_CHECK(json_is_object(j));
            json_decref(j);
        }
    }
    json_decref(dst);
}

static void check_option(const struct gw_option_def *d, const json_t *value)
{
    char *out = NULL, err[256];
    memset(err, 'x', sizeof err);
    int rc = gw_option_normalize(d, value, &out, err, sizeof err);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc != GW_OK) {
        FUZZ_CHECK(out == NULL);
        check_msg(err, sizeof err);
        return;
    }
    FUZZ_CHECK(out != NULL);
    if (d->type == GW_OPT_BOOL)
        FUZZ_CHECK(strcmp(out, "true") == 0 || strcmp(out, "false") == 0);
    if (d->type == GW_OPT_INT || d->type == GW_OPT_FLOAT) {
        char *end;
        double x = strtod(out, &end);
        FUZZ_CHECK(*out && *end == '\0' && isfinite(x));
        FUZZ_CHECK(x >= d->min && x <= d->max);
    }
    if (d->type == GW_OPT_JSON && !(d->shape == GW_SHAPE_OBJECT_OR_EMPTY && !*out)) {
        /* (HeaderNavModules may be empty: every module on) */
        json_t *j = gw_json_parse(out, strlen(out), 64, NULL, 0);
        FUZZ_CHECK(j != NULL);
        json_decref(j);
    }
    for (size_t i = 0; ratio_keys[i]; i++) {
        if (strcmp(d->key, ratio_keys[i]) != 0)
            continue;
        struct one_opt o = {d->key, out};
        gw_ratios *r = NULL;
        char berr[256];
        int brc = gw_ratios_build(get_one, &o, &r, berr, sizeof berr);
        if (brc != GW_OK)
            fprintf(stderr, "accepted %s=%.200s, billing says: %s\n", d->key, out, berr);
        FUZZ_CHECK(brc == GW_OK);
        gw_ratios_free(r);
    }
    gw_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    gw_option_set_builtin(gw_ratios_default_json); /* the price tables' defaults */
    char err[160];
    memset(err, 'x', sizeof err);
    json_t *body = gw_json_parse((const char *)data + 1, size - 1, 32, err, sizeof err);
    if (!body) {
        check_msg(err, sizeof err);
        return 0;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    check_channel(body);

    long long x = 0;
    static const char *const ints[] = {"quota", "remain_quota", "priority", "weight", "id"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        memset(err, 'x', sizeof err);
        int r = gw_api_opt_int(body, ints[i], -1000000000000000LL, 1000000000000000LL, &x, err,
                               sizeof err);
        FUZZ_CHECK(r == 0 || r == 1 || r == -1);
        if (r == 1)
            FUZZ_CHECK(x >= -1000000000000000LL && x <= 1000000000000000LL);
        if (r == -1)
            check_msg(err, sizeof err);
    }

    size_t n = 0;
    const struct gw_option_def *tab = gw_option_table(&n);
    FUZZ_CHECK(n > 0);
    const json_t *value = json_object_get(body, "value");
    check_option(&tab[data[0] % n], value ? value : body);
    json_decref(body);
    return 0;
}
