/* Parsing and matching of the chat ↔ Responses policies (responses_policy.h). */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "adapters/responses_policy.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define MAX_LIST 1024     /* ids, types or patterns */
#define MAX_PATTERN 1024  /* bytes of one pattern */

struct gw_resp_policy {
    int enabled, all_channels;
    long long *ids;
    int *types;
    regex_t *re;
    size_t nids, ntypes, nre;
};

void gw_resp_policy_free(struct gw_resp_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nre; i++)
        regfree(&p->re[i]);
    gw_free(p->re);
    gw_free(p->ids);
    gw_free(p->types);
    gw_free(p);
}

static int bad(char *err, size_t errlen, const char *what)
{
    if (errlen)
        snprintf(err, errlen, "%s", what);
    return GW_EINVAL;
}

static int read_bool(const json_t *o, const char *k, int *out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return GW_OK;
    if (!json_is_boolean(v)) {
        char m[96];
        snprintf(m, sizeof m, "'%s' must be true or false", k);
        return bad(err, errlen, m);
    }
    *out = json_is_true(v);
    return GW_OK;
}

/* A list of integers (ids or types): absent or null is empty. */
static int read_ints(const json_t *o, const char *k, long long **out, size_t *n, char *err,
                     size_t errlen)
{
    const json_t *v = json_object_get(o, k), *e;
    size_t i;
    char m[96];
    if (!v || json_is_null(v))
        return GW_OK;
    snprintf(m, sizeof m, "'%s' must be a list of integers (at most %d)", k, MAX_LIST);
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(err, errlen, m);
    *out = gw_calloc(json_array_size(v) + 1, sizeof **out);
    if (!*out)
        return GW_ENOMEM;
    json_array_foreach(v, i, e) {
        if (!json_is_integer(e))
            return bad(err, errlen, m);
        (*out)[(*n)++] = (long long)json_integer_value(e);
    }
    return GW_OK;
}

static int read_patterns(struct gw_resp_policy *p, const json_t *o, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, "model_patterns"), *e;
    size_t i;
    if (!v || json_is_null(v))
        return GW_OK;
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(err, errlen, "'model_patterns' must be a list of regular expressions");
    p->re = gw_calloc(json_array_size(v) + 1, sizeof *p->re);
    if (!p->re)
        return GW_ENOMEM;
    json_array_foreach(v, i, e) {
        char m[MAX_PATTERN + 64];
        if (!json_is_string(e) || json_string_length(e) > MAX_PATTERN)
            return bad(err, errlen, "'model_patterns' must hold strings (at most 1024 bytes)");
        if (json_string_length(e) == 0)
            continue; /* the reference skips empty patterns */
        if (regcomp(&p->re[p->nre], json_string_value(e), REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(m, sizeof m, "model pattern '%s' is not a valid regular expression",
                     json_string_value(e));
            return bad(err, errlen, m);
        }
        p->nre++;
    }
    return GW_OK;
}

int gw_resp_policy_parse(const char *text, struct gw_resp_policy **out, char *err,
                         size_t errlen)
{
    char why[160];
    long long *types = NULL;
    size_t ntypes = 0;
    int rc;

    *out = NULL;
    json_t *o = gw_json_parse(text ? text : "", text ? strlen(text) : 0, 8, why, sizeof why);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(err, errlen, "the policy must be a JSON object");
    }
    struct gw_resp_policy *p = gw_calloc(1, sizeof *p);
    if (!p) {
        json_decref(o);
        return GW_ENOMEM;
    }
    if ((rc = read_bool(o, "enabled", &p->enabled, err, errlen)) == GW_OK &&
        (rc = read_bool(o, "all_channels", &p->all_channels, err, errlen)) == GW_OK &&
        (rc = read_ints(o, "channel_ids", &p->ids, &p->nids, err, errlen)) == GW_OK &&
        (rc = read_ints(o, "channel_types", &types, &ntypes, err, errlen)) == GW_OK)
        rc = read_patterns(p, o, err, errlen);
    if (rc == GW_OK && ntypes) {
        p->types = gw_calloc(ntypes, sizeof *p->types);
        if (!p->types)
            rc = GW_ENOMEM;
        for (size_t i = 0; p->types && i < ntypes; i++)
            p->types[p->ntypes++] = types[i] > 0 && types[i] < 1000000 ? (int)types[i] : -1;
    }
    gw_free(types);
    json_decref(o);
    if (rc != GW_OK) {
        gw_resp_policy_free(p);
        return rc;
    }
    *out = p;
    return GW_OK;
}

int gw_resp_policy_match(const struct gw_resp_policy *p, long long channel_id, int channel_type,
                         const char *model)
{
    int named;
    size_t i;
    if (!p || !p->enabled || !model || !*model)
        return 0;
    named = p->all_channels;
    for (i = 0; !named && channel_id > 0 && i < p->nids; i++)
        named = p->ids[i] == channel_id;
    for (i = 0; !named && channel_type > 0 && i < p->ntypes; i++)
        named = p->types[i] == channel_type;
    for (i = 0; named && i < p->nre; i++)
        if (regexec(&p->re[i], model, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

/* A few parsed texts, most recent first. */
#define CACHE 4
static struct {
    char *text;
    struct gw_resp_policy *p; /* NULL: the text did not parse */
} cache[CACHE];

int gw_resp_policy_applies(const char *text, long long channel_id, int channel_type,
                           const char *model)
{
    size_t i;
    if (!text || !*text)
        return 0;
    for (i = 0; i < CACHE; i++)
        if (cache[i].text && strcmp(cache[i].text, text) == 0)
            return gw_resp_policy_match(cache[i].p, channel_id, channel_type, model);
    char err[8];
    struct gw_resp_policy *p = NULL;
    char *copy = gw_strdup(text);
    if (!copy)
        return 0;
    if (gw_resp_policy_parse(text, &p, err, sizeof err) != GW_OK)
        p = NULL;
    gw_free(cache[CACHE - 1].text);
    gw_resp_policy_free(cache[CACHE - 1].p);
    memmove(&cache[1], &cache[0], sizeof cache[0] * (CACHE - 1));
    cache[0].text = copy;
    cache[0].p = p;
    return gw_resp_policy_match(p, channel_id, channel_type, model);
}
