/* KEY: the token key from the request, then its fields (worker cache, else
 * one GET of the index and two pipelined HMGETs), then c->after_key
 * (authorize, or the models listing). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/groups.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

/* ---- KEY ---------------------------------------------------------------------------- */

static void key_found(struct rcall *c)
{
    if (--c->pending_lookups)
        return;
    if (!c->key.bad && !c->key.lists)
        c->key.bad = GW_KEY_BAD_LOOKUP;
    if (!c->key.bad && gw_key_settings_version(c->key.ver, sizeof c->key.ver, c->tsv,
                                               strlen(c->tsv), c->usv, strlen(c->usv)) != GW_OK)
        c->key.bad = GW_KEY_BAD_DATA;
    if (!c->key.bad) /* a refused key is read again next time: nothing stale stays */
        gw__relay_key_put(c->w, c->keyhash, &c->key);
    c->after_key(c);
}

int gw__key_model_allowed(const struct gw_key_info *k, const char *model)
{
    if (!k->model_limits_enabled)
        return 1;
    gw_str rest = gw_str_c(k->lists ? k->lists->model_limits : ""), tok;
    while (gw_str_split(&rest, ',', &tok)) {
        tok = gw_str_trim(tok);
        if (tok.len == strlen(model) && memcmp(tok.base, model, tok.len) == 0)
            return 1;
    }
    return 0;
}

int gw__relay_key_refused(struct rcall *c)
{
    if (c->key.bad == GW_KEY_BAD_LOOKUP)
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
    else if (c->key.bad)
        gw__relay_fail(c, 403, "invalid_request_error", "token_settings_invalid",
                       "this token's stored settings cannot be used; save the token again");
    else if (!gw__key_ip_allowed(&c->key, c->ip))
        gw__relay_fail(c, 403, "invalid_request_error", "ip_not_allowed",
                       "this token may not be used from your IP address");
    else
        return 0;
    return 1;
}

/* A Redis string copied whole, or the key marked bad: security data is never
 * cut to fit (a cut group or version would name something else). */
static void copy_field(struct rcall *c, char *dst, size_t cap, const redisReply *v,
                       const char *what)
{
    if (v->type != REDIS_REPLY_STRING)
        return; /* absent: "" */
    if (v->len >= cap || memchr(v->str, '\0', v->len)) {
        GW_ERROR("token %lld of user %lld: stored %s (%zu bytes) is unusable; its calls are "
                 "refused until it is saved again", c->key.tid, c->key.uid, what, v->len);
        c->key.bad = GW_KEY_BAD_DATA;
        return;
    }
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
}

/* The lists, parsed once per read: allow_ips into networks, model_limits
 * whole. An allow-list that no longer parses (an old row, a hand edit)
 * denies every address and is logged: it never opens access. */
static struct gw_key_lists *read_lists(struct rcall *c, const redisReply *ips,
                                       const redisReply *ml)
{
    struct gw_key_lists *l = gw_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->refs = 1;
    int s = ips->type == REDIS_REPLY_STRING;
    char err[200];
    int rc = gw_cidr_list_parse(s ? ips->str : "", s ? ips->len : 0, &l->ips, err, sizeof err);
    if (rc == GW_EINVAL) {
        GW_ERROR("token %lld of user %lld: stored allow_ips does not parse (%s); every IP is "
                 "refused until it is saved again", c->key.tid, c->key.uid, err);
        l->ips_bad = 1;
    }
    s = ml->type == REDIS_REPLY_STRING;
    l->model_limits = s ? gw_strndup(ml->str, ml->len) : gw_strdup("");
    if ((rc != GW_OK && rc != GW_EINVAL) || !l->model_limits) {
        gw_cidr_list_free(l->ips);
        gw_free(l->model_limits);
        gw_free(l);
        return NULL;
    }
    return l;
}

static void token_fields(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5) {
        long long v = 0;
        copy_field(c, c->key.token_group, sizeof c->key.token_group, reply->element[0], "group");
        if (reply->element[2]->type == REDIS_REPLY_STRING &&
            gw_str_to_ll(gw_str_c(reply->element[2]->str), 0, 1, &v) == GW_OK)
            c->key.model_limits_enabled = (int)v;
        copy_field(c, c->tsv, sizeof c->tsv, reply->element[4], "sv");
        c->key.lists = read_lists(c, reply->element[1], reply->element[3]);
    }
    key_found(c);
}

static void user_fields(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
        long long v = 0;
        copy_field(c, c->key.user_group, sizeof c->key.user_group, reply->element[0], "user group");
        if (reply->element[1]->type == REDIS_REPLY_STRING &&
            gw_str_to_ll(gw_str_c(reply->element[1]->str), 0, 1000, &v) == GW_OK)
            c->key.role = (int)v;
        copy_field(c, c->usv, sizeof c->usv, reply->element[2], "user sv");
    } else if (!c->key.bad) {
        c->key.bad = GW_KEY_BAD_LOOKUP;
    }
    key_found(c);
}

/* First use of a key in this worker: the index, then (pipelined) the token's
 * and the user's fields the relay needs before authorize. Cached afterwards
 * until the next configuration change. */
static void key_index(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    long long uid = 0, tid = 0;
    if (status != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        sscanf(reply->str, "%lld:%lld", &uid, &tid) != 2 || uid <= 0 || tid <= 0) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    char uk[64], tk[64];
    c->key.uid = uid;
    c->key.tid = tid;
    gw_key_user(uk, sizeof uk, uid);
    gw_key_token(tk, sizeof tk, uid, tid);
    c->tsv[0] = c->usv[0] = '\0';
    c->pending_lookups = 3; /* the two replies, and this function */
    if (gw_redis_command(c->w->redis, token_fields, c,
                         "HMGET %s group allow_ips model_limits_enabled model_limits sv", tk) != GW_OK)
        c->pending_lookups--;
    if (gw_redis_command(c->w->redis, user_fields, c, "HMGET %s group role sv", uk) != GW_OK) {
        c->pending_lookups--;
        c->key.bad = GW_KEY_BAD_LOOKUP;
    }
    key_found(c);
}

/* The token key from the places the reference reads it (§3 TokenAuth). */
static const char *client_key(gw_req *r)
{
    const char *h = gw_req_header(r, "authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        h += 7;
    if (!h || !*h)
        h = gw_req_header(r, "x-api-key");
    if (!h || !*h)
        h = gw_req_header(r, "x-goog-api-key");
    if (!h || !*h)
        h = gw_req_query(r, "key");
    while (h && *h == ' ')
        h++;
    return h && *h ? h : NULL;
}

/* Parses the key: "sk-KEY" or "sk-KEY-CHANNELID" (pinning a channel, for
 * admins only: checked once the owner's role is known). */
int gw__relay_resolve_key(struct rcall *c)
{
    const char *k = client_key(c->r);
    char key[160];
    if (!k) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key",
                       "no API key provided: send Authorization: Bearer sk-...");
        return GW_EINVAL;
    }
    if (strncmp(k, "sk-", 3) == 0)
        k += 3;
    if (strlen(k) >= sizeof key) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
        return GW_EINVAL;
    }
    snprintf(key, sizeof key, "%s", k);
    char *dash = strchr(key, '-');
    if (dash) {
        *dash = '\0';
        if (gw_str_to_ll(gw_str_c(dash + 1), 1, (long long)1 << 53, &c->pinned) != GW_OK) {
            gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
            return GW_EINVAL;
        }
    }
    unsigned char sha[32];
    gw_sha256(key, strlen(key), sha);
    gw_hex_encode(sha, sizeof sha, c->keyhash);
    return GW_OK;
}

/* ---- KEY of the playground (no token) ------------------------------------------------ */

/* The lists of a call without a token: any address, no model limits. */
static struct gw_key_lists *open_lists(void)
{
    struct gw_key_lists *l = gw_calloc(1, sizeof *l);
    char err[64];
    if (!l)
        return NULL;
    l->refs = 1;
    l->model_limits = gw_strdup("");
    if (!l->model_limits || gw_cidr_list_parse("", 0, &l->ips, err, sizeof err) != GW_OK) {
        gw_free(l->model_limits);
        gw_free(l);
        return NULL;
    }
    return l;
}

/* The user's fields came (read fresh for every call: the console's calls are
 * few, and nothing is cached that could outlive a change). The group the
 * body names is checked as the reference's Distribute does for /pg: the
 * user's own, one of the groups the user may use, or for admins any group
 * of GroupRatio. The settings version read with them goes to authorize,
 * so a change meanwhile starts the call over. */
static void pg_user_fields(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    long long v = 0;
    if (status != GW_OK || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    copy_field(c, c->key.user_group, sizeof c->key.user_group, reply->element[0], "user group");
    if (reply->element[1]->type == REDIS_REPLY_STRING &&
        gw_str_to_ll(gw_str_c(reply->element[1]->str), 0, 1000, &v) == GW_OK)
        c->key.role = (int)v;
    copy_field(c, c->usv, sizeof c->usv, reply->element[2], "user sv");
    if (!c->key.bad && gw_key_settings_version(c->key.ver, sizeof c->key.ver, "", 0, c->usv,
                                               strlen(c->usv)) != GW_OK)
        c->key.bad = GW_KEY_BAD_DATA;
    if (c->key.bad) {
        gw__relay_fail(c, 403, "invalid_request_error", "user_settings_invalid",
                       "this user's stored settings cannot be used; save the user again");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    const char *own = c->key.user_group[0] ? c->key.user_group : "default";
    if (c->pg_group[0] && strcmp(c->pg_group, own) != 0 &&
        !gw_groups_role_may_use(c->w->cfgwatch, c->key.user_group, c->key.role, c->pg_group)) {
        gw__relay_fail(c, 403, "invalid_request_error", "group_access_denied",
                       "you may not use this group (无权访问该分组)");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    /* The chosen group takes the token group's place: AUTH reads it there. */
    snprintf(c->key.token_group, sizeof c->key.token_group, "%s", c->pg_group);
    c->key.tid = 0;
    c->key.lists = open_lists();
    if (!c->key.lists) {
        gw__relay_fail(c, 500, "new_api_error", "new_api_error", "out of memory");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    c->after_key(c);
}

static void pg_key(struct rcall *c)
{
    char uk[64];
    gw__key_info_release(&c->key);
    long long uid = c->key.uid;
    memset(&c->key, 0, sizeof c->key);
    c->key.uid = uid;
    c->usv[0] = '\0';
    if (gw_key_user(uk, sizeof uk, uid) != GW_OK ||
        gw_redis_command(c->w->redis, pg_user_fields, c, "HMGET %s group role sv", uk) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
    }
}

void gw__relay_begin(struct rcall *c)
{
    if (c->pg) {
        pg_key(c);
        return;
    }
    if (!c->key_fresh && gw__relay_key_get(c->w, c->keyhash, &c->key) == GW_OK) {
        c->key_cached = 1;
        c->after_key(c);
        return;
    }
    char ik[80];
    gw_key_token_lookup(ik, sizeof ik, c->keyhash);
    if (gw_redis_command(c->w->redis, key_index, c, "GET %s", ik) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
    }
}
