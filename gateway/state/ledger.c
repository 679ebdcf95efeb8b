/* Typed calls to the ledger scripts: see ledger.h and scripts/README.md. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/state/ledger.h"

/* ---- keys ------------------------------------------------------------------ */

static int fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    if (out == NULL || cap == 0)
        return GW_EINVAL;
    va_start(ap, f);
    n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    if (n < 0)
        return GW_EINVAL;
    if ((size_t)n >= cap) {
        out[0] = '\0';
        return GW_ETOOBIG;
    }
    return GW_OK;
}

int gw_key_shard_of(long long uid)
{
    return uid < 1 ? -1 : (int)(uid % GW_LEDGER_SHARDS);
}

/* tf:{sN}:<kind><id> for a key of user uid. */
static int user_key(char *out, size_t cap, long long uid, const char *kind, long long id)
{
    if (uid < 1 || id < 1)
        return GW_EINVAL;
    return fmt(out, cap, "tf:{s%d}:%s%lld", gw_key_shard_of(uid), kind, id);
}

int gw_key_user(char *out, size_t cap, long long uid)
{
    return user_key(out, cap, uid, "u:", uid);
}

int gw_key_token(char *out, size_t cap, long long uid, long long tid)
{
    return user_key(out, cap, uid, "t:", tid);
}

int gw_key_rl_user(char *out, size_t cap, long long uid)
{
    return user_key(out, cap, uid, "rl:u:", uid);
}

int gw_key_rl_token(char *out, size_t cap, long long uid, long long tid)
{
    return user_key(out, cap, uid, "rl:t:", tid);
}

int gw_key_cc_user(char *out, size_t cap, long long uid)
{
    return user_key(out, cap, uid, "cc:u:", uid);
}

int gw_key_cc_token(char *out, size_t cap, long long uid, long long tid)
{
    return user_key(out, cap, uid, "cc:t:", tid);
}

int gw_key_shard(char *out, size_t cap, int shard, const char *what)
{
    if (shard < 0 || shard >= GW_LEDGER_SHARDS || what == NULL || what[0] == '\0')
        return GW_EINVAL;
    return fmt(out, cap, "tf:{s%d}:%s", shard, what);
}

int gw_key_channel(char *out, size_t cap, long long cid)
{
    if (cid < 1)
        return GW_EINVAL;
    return fmt(out, cap, "tf:ch:%lld", cid);
}

int gw_key_token_lookup(char *out, size_t cap, const char *sha256hex)
{
    if (sha256hex == NULL || strlen(sha256hex) != 64)
        return GW_EINVAL;
    return fmt(out, cap, "tf:tk:%s", sha256hex);
}

int gw_key_settings_version(char *out, size_t cap, const char *token_sv, size_t tlen,
                            const char *user_sv, size_t ulen)
{
    if (tlen + 1 + ulen >= cap || cap > GW_KEY_VER_MAX)
        return GW_ETOOBIG;
    memcpy(out, token_sv, tlen);
    out[tlen] = '|';
    memcpy(out + tlen + 1, user_sv, ulen);
    out[tlen + 1 + ulen] = '\0';
    return GW_OK;
}

int gw_key_ratelimit(char *out, size_t cap, const char *scope, const char *id)
{
    if (scope == NULL || id == NULL || scope[0] == '\0' || id[0] == '\0')
        return GW_EINVAL;
    return fmt(out, cap, "tf:rl:%s:%s", scope, id);
}

/* ---- reasons --------------------------------------------------------------- */

static const char *const reasons[] = {
    [GW_LEDGER_OK] = "ok",
    [GW_REFUSE_TOKEN_NOT_FOUND] = "token_not_found",
    [GW_REFUSE_TOKEN_DISABLED] = "token_disabled",
    [GW_REFUSE_TOKEN_EXPIRED] = "token_expired",
    [GW_REFUSE_TOKEN_EXHAUSTED] = "token_exhausted",
    [GW_REFUSE_USER_NOT_FOUND] = "user_not_found",
    [GW_REFUSE_USER_DISABLED] = "user_disabled",
    [GW_REFUSE_USER_QUOTA] = "user_quota_insufficient",
    [GW_REFUSE_TOKEN_QUOTA] = "token_quota_insufficient",
    [GW_REFUSE_MODEL_NOT_ALLOWED] = "model_not_allowed",
    [GW_REFUSE_RATE_LIMITED] = "rate_limited",
    [GW_REFUSE_CONCURRENCY] = "concurrency_limited",
    [GW_REFUSE_RES_NOT_FOUND] = "reservation_not_found",
    [GW_REFUSE_QUOTA_RANGE] = "quota_out_of_range",
    [GW_REFUSE_SETTINGS_CHANGED] = "settings_changed",
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

const char *gw_ledger_reason_name(enum gw_ledger_reason reason)
{
    return (size_t)reason < NREASONS ? reasons[reason] : "unknown";
}

/* ---- arguments -------------------------------------------------------------- */

#define MAX_ARGS 32

struct args {
    int n;
    const char *v[MAX_ARGS];
    char keys[10][GW_KEY_MAX];
    int nkeys;
    char nums[24][24];
    int nnums;
};

static void push(struct args *a, const char *s)
{
    a->v[a->n++] = s != NULL ? s : "";
}

static void push_num(struct args *a, long long x)
{
    char *s = a->nums[a->nnums++];

    snprintf(s, sizeof a->nums[0], "%lld", x);
    push(a, s);
}

/* Next key slot; the caller fills it with a gw_key_* builder. */
static char *key_slot(struct args *a)
{
    return a->keys[a->nkeys++];
}

/* A token's key of kind ("t:", "rl:t:", "cc:t:"); tid 0 names the
 * never-written key of a call without a token (the scripts touch none of
 * them then), kept so the KEYS lists have one shape. */
static int token_key(char *out, size_t cap, long long uid, const char *kind, long long tid)
{
    if (tid == 0 && uid >= 1)
        return fmt(out, cap, "tf:{s%d}:%s0", gw_key_shard_of(uid), kind);
    return user_key(out, cap, uid, kind, tid);
}

/* The nine keys authorize and settle share; the middle five differ. */
static int push_keys9(struct args *a, long long uid, long long tid, const char *k3,
                      const char *k4, const char *k5)
{
    int shard = gw_key_shard_of(uid);
    char *k[9];
    int rc;

    for (int i = 0; i < 9; i++)
        k[i] = key_slot(a);
    rc = gw_key_user(k[0], GW_KEY_MAX, uid);
    if (rc == GW_OK)
        rc = token_key(k[1], GW_KEY_MAX, uid, "t:", tid);
    if (rc == GW_OK)
        rc = gw_key_shard(k[2], GW_KEY_MAX, shard, k3);
    if (rc == GW_OK)
        rc = gw_key_shard(k[3], GW_KEY_MAX, shard, k4);
    if (rc == GW_OK)
        rc = gw_key_shard(k[4], GW_KEY_MAX, shard, k5);
    if (rc == GW_OK)
        rc = gw_key_rl_user(k[5], GW_KEY_MAX, uid);
    if (rc == GW_OK)
        rc = token_key(k[6], GW_KEY_MAX, uid, "rl:t:", tid);
    if (rc == GW_OK)
        rc = gw_key_cc_user(k[7], GW_KEY_MAX, uid);
    if (rc == GW_OK)
        rc = token_key(k[8], GW_KEY_MAX, uid, "cc:t:", tid);
    for (int i = 0; i < 9; i++)
        push(a, k[i]);
    return rc;
}

/* ---- calls and replies ------------------------------------------------------- */

enum kind { K_AUTH, K_SETTLE, K_EXTEND, K_ADJUST, K_RATELIMIT, K_HEALTH, K_REAP };

union any_cb {
    gw_auth_cb auth;
    gw_settle_cb settle;
    gw_extend_cb extend;
    gw_adjust_cb adjust;
    gw_ratelimit_cb ratelimit;
    gw_health_cb health;
    gw_reap_cb reap;
};

struct call {
    enum kind kind;
    union any_cb cb;
    void *data;
};

static void on_reply(int status, redisReply *reply, void *data);

static int run(gw_redis *r, const char *script, int nkeys, struct args *a, enum kind kind,
               union any_cb cb, void *data)
{
    struct call *c = gw_xmalloc(sizeof *c);
    int rc;

    c->kind = kind;
    c->cb = cb;
    c->data = data;
    rc = gw_redis_script(r, script, nkeys, a->n, a->v, NULL, on_reply, c);
    if (rc != GW_OK)
        gw_free(c);
    return rc;
}

static void set_error(int *status, char *error, int st, const char *fmt_, ...)
    __attribute__((format(printf, 4, 5)));

static void set_error(int *status, char *error, int st, const char *fmt_, ...)
{
    va_list ap;

    *status = st;
    va_start(ap, fmt_);
    vsnprintf(error, 128, fmt_, ap);
    va_end(ap);
}

/* Maps transport failures and error replies; 1 when reply is to be parsed. */
static int prelude(int status, const redisReply *reply, int *st, char *error)
{
    if (status != GW_OK || reply == NULL) {
        set_error(st, error, status != GW_OK ? status : GW_EIO, "%s",
                  gw_strerror(status != GW_OK ? status : GW_EIO));
        return 0;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        int badarg = reply->str != NULL && strncmp(reply->str, "ERR_BAD_ARG", 11) == 0;
        set_error(st, error, badarg ? GW_EINVAL : GW_EIO, "%.*s", (int)(reply->len < 120 ? reply->len : 120),
                  reply->str ? reply->str : "");
        return 0;
    }
    *st = GW_OK;
    error[0] = '\0';
    return 1;
}

static int el_int(const redisReply *r, size_t i, long long *out)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements || r->element[i] == NULL ||
        r->element[i]->type != REDIS_REPLY_INTEGER)
        return -1;
    *out = r->element[i]->integer;
    return 0;
}

static int el_str(const redisReply *r, size_t i, char *out, size_t cap)
{
    const redisReply *e;

    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements || r->element[i] == NULL)
        return -1;
    e = r->element[i];
    if ((e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS) || e->len >= cap)
        return -1;
    memcpy(out, e->str, e->len);
    out[e->len] = '\0';
    return 0;
}

/* Element 0: 1 = success, 0 = refusal {0, reason[, retry_after_ms, limit]}.
 * Returns 1 success, 0 refusal (parsed), -1 malformed. */
static int decision(const redisReply *r, enum gw_ledger_reason *reason, long long *retry,
                    char *limit, size_t limcap)
{
    long long ok;
    char name[40];

    if (el_int(r, 0, &ok) != 0 || (ok != 0 && ok != 1))
        return -1;
    if (ok == 1)
        return 1;
    if (el_str(r, 1, name, sizeof name) != 0)
        return -1;
    for (size_t i = 1; i < NREASONS; i++) {
        if (strcmp(name, reasons[i]) == 0) {
            long long ra = 0;
            *reason = (enum gw_ledger_reason)i;
            if (r->elements >= 4) {
                if (el_int(r, 2, &ra) != 0 || limit == NULL || el_str(r, 3, limit, limcap) != 0)
                    return -1;
            }
            if (retry != NULL)
                *retry = ra;
            return 0;
        }
    }
    return -1;
}

static int parse_auth(const redisReply *r, struct gw_auth_result *res)
{
    int d = decision(r, &res->reason, &res->retry_after_ms, res->limit, sizeof res->limit);

    if (d < 0)
        return -1;
    res->ok = d;
    if (d == 1 && (el_int(r, 1, &res->res_id) || el_int(r, 2, &res->deadline_ms) ||
                   el_int(r, 3, &res->user_left) || el_int(r, 4, &res->token_left) ||
                   el_str(r, 5, res->group, sizeof res->group)))
        return -1;
    return 0;
}

static int parse_settle(const redisReply *r, struct gw_settle_result *res)
{
    int d = decision(r, &res->reason, NULL, NULL, 0);

    if (d < 0)
        return -1;
    res->ok = d;
    if (d == 1 && (el_int(r, 1, &res->charged) || el_int(r, 2, &res->shortfall) ||
                   el_int(r, 3, &res->user_left) || el_int(r, 4, &res->token_left) ||
                   el_str(r, 5, res->ledger_id, sizeof res->ledger_id)))
        return -1;
    return 0;
}

static int parse_extend(const redisReply *r, struct gw_extend_result *res)
{
    int d = decision(r, &res->reason, NULL, NULL, 0);

    if (d < 0)
        return -1;
    res->ok = d;
    if (d == 1 && (el_int(r, 1, &res->amount) || el_int(r, 2, &res->deadline_ms) ||
                   el_int(r, 3, &res->user_left) || el_int(r, 4, &res->token_left)))
        return -1;
    return 0;
}

static int parse_adjust(const redisReply *r, struct gw_adjust_result *res)
{
    int d = decision(r, &res->reason, NULL, NULL, 0);
    long long replay = 0;

    if (d < 0)
        return -1;
    res->ok = d;
    if (d == 1 && (el_int(r, 1, &res->delta) || el_int(r, 2, &res->new_value) ||
                   el_int(r, 3, &replay) || (replay != 0 && replay != 1)))
        return -1;
    res->replay = (int)replay;
    return 0;
}

static int parse_ratelimit(const redisReply *r, struct gw_ratelimit_result *res)
{
    long long allowed;

    if (el_int(r, 0, &allowed) || (allowed != 0 && allowed != 1) ||
        el_int(r, 1, &res->remaining) || el_int(r, 2, &res->retry_after_ms))
        return -1;
    res->allowed = (int)allowed;
    return 0;
}

static int parse_health(const redisReply *r, struct gw_health_result *res)
{
    long long just, disabled;

    if (el_int(r, 0, &just) || el_int(r, 1, &res->ok) || el_int(r, 2, &res->fail) ||
        el_int(r, 3, &res->consec_fail) || el_int(r, 4, &res->heat_milli) ||
        el_int(r, 5, &disabled) || (just != 0 && just != 1) || (disabled != 0 && disabled != 1))
        return -1;
    res->just_disabled = (int)just;
    res->disabled = (int)disabled;
    return 0;
}

static int parse_reap(const redisReply *r, struct gw_reap_result *res)
{
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 0)
        return -1;
    res->reaped = r->integer;
    return 0;
}

/* One result type per kind; each is zeroed, run through prelude and its
 * parser, then handed to the caller. A reply of the wrong shape (a script of
 * another version, a proxy in the way) leaves every field zero but status. */
#define DELIVER(type, parse, cbf)                                                                  \
    do {                                                                                           \
        struct type res;                                                                           \
        memset(&res, 0, sizeof res);                                                               \
        if (prelude(status, reply, &res.status, res.error) && parse(reply, &res) != 0) {           \
            memset(&res, 0, sizeof res);                                                           \
            set_error(&res.status, res.error, GW_EIO, "malformed reply");                          \
        }                                                                                          \
        c.cb.cbf(&res, c.data);                                                                    \
    } while (0)

static void on_reply(int status, redisReply *reply, void *data)
{
    struct call c = *(struct call *)data;

    gw_free(data);
    switch (c.kind) {
    case K_AUTH: DELIVER(gw_auth_result, parse_auth, auth); break;
    case K_SETTLE: DELIVER(gw_settle_result, parse_settle, settle); break;
    case K_EXTEND: DELIVER(gw_extend_result, parse_extend, extend); break;
    case K_ADJUST: DELIVER(gw_adjust_result, parse_adjust, adjust); break;
    case K_RATELIMIT: DELIVER(gw_ratelimit_result, parse_ratelimit, ratelimit); break;
    case K_HEALTH: DELIVER(gw_health_result, parse_health, health); break;
    case K_REAP: DELIVER(gw_reap_result, parse_reap, reap); break;
    }
}

/* ---- the calls --------------------------------------------------------------- */

/* A quota argument the scripts accept: a refusal here reads as a caller's
 * bug (GW_EINVAL), never as Redis being unavailable. */
static int in_quota(long long v) { return v >= 0 && v <= GW_LEDGER_QUOTA_MAX; }

int gw_ledger_authorize(gw_redis *r, const struct gw_auth_req *req, gw_auth_cb cb, void *data)
{
    struct args a = {0};
    union any_cb u = {.auth = cb};

    if (r == NULL || req == NULL || cb == NULL || !in_quota(req->amount) ||
        !in_quota(req->est_tokens) || req->ttl_ms < 1 || req->ttl_ms > 86400000 ||
        (req->model && (strlen(req->model) > 256 || strchr(req->model, ','))) ||
        (req->tid == 0 && (!req->group || !*req->group || strlen(req->group) > 64 ||
                           !req->settings_ver || !*req->settings_ver)) ||
        push_keys9(&a, req->uid, req->tid, "res", "resdl", "resseq") != GW_OK)
        return GW_EINVAL;
    push_num(&a, req->uid);
    push_num(&a, req->tid);
    push(&a, req->model);
    push_num(&a, req->amount);
    push_num(&a, req->est_tokens);
    push_num(&a, req->ttl_ms);
    push_num(&a, req->now_ms);
    if (req->settings_ver && *req->settings_ver)
        push(&a, req->settings_ver);
    if (req->tid == 0)
        push(&a, req->group);
    return run(r, "authorize", 9, &a, K_AUTH, u, data);
}

int gw_ledger_settle(gw_redis *r, const struct gw_settle_req *req, gw_settle_cb cb, void *data)
{
    struct args a = {0};
    union any_cb u = {.settle = cb};

    if (r == NULL || req == NULL || cb == NULL || (req->tid == 0 && !req->token_name) ||
        push_keys9(&a, req->uid, req->tid, "res", "resdl", "ledger") != GW_OK)
        return GW_EINVAL;
    push_num(&a, req->uid);
    push_num(&a, req->tid);
    push_num(&a, req->res_id);
    push_num(&a, req->actual);
    push_num(&a, req->actual_tokens);
    push_num(&a, req->now_ms);
    push_num(&a, req->cid);
    push(&a, req->model);
    push_num(&a, req->prompt_tokens);
    push_num(&a, req->completion_tokens);
    push_num(&a, req->stream);
    push_num(&a, req->use_time_s);
    push(&a, req->group);
    push(&a, req->ip);
    push(&a, req->request_id);
    push(&a, req->content);
    push(&a, req->other);
    if (req->tid == 0)
        push(&a, req->token_name);
    return run(r, "settle", 9, &a, K_SETTLE, u, data);
}

int gw_ledger_extend(gw_redis *r, const struct gw_extend_req *req, gw_extend_cb cb, void *data)
{
    struct args a = {0};
    union any_cb u = {.extend = cb};
    int shard;

    if (r == NULL || req == NULL || cb == NULL || !in_quota(req->extra) ||
        (shard = gw_key_shard_of(req->uid)) < 0)
        return GW_EINVAL;
    if (gw_key_user(key_slot(&a), GW_KEY_MAX, req->uid) != GW_OK ||
        token_key(key_slot(&a), GW_KEY_MAX, req->uid, "t:", req->tid) != GW_OK ||
        gw_key_shard(key_slot(&a), GW_KEY_MAX, shard, "res") != GW_OK ||
        gw_key_shard(key_slot(&a), GW_KEY_MAX, shard, "resdl") != GW_OK)
        return GW_EINVAL;
    for (int i = 0; i < 4; i++)
        push(&a, a.keys[i]);
    push_num(&a, req->uid);
    push_num(&a, req->tid);
    push_num(&a, req->res_id);
    push_num(&a, req->extra);
    push_num(&a, req->ttl_ms);
    push_num(&a, req->now_ms);
    return run(r, "extend", 4, &a, K_EXTEND, u, data);
}

int gw_ledger_adjust(gw_redis *r, const struct gw_adjust_req *req, gw_adjust_cb cb, void *data)
{
    static const char *const ops[] = {
        [GW_ADJUST_USER_SET] = "user_set",   [GW_ADJUST_USER_ADD] = "user_add",
        [GW_ADJUST_TOPUP] = "topup",         [GW_ADJUST_REDEEM] = "redeem",
        [GW_ADJUST_TOKEN_SET] = "token_set", [GW_ADJUST_TOKEN_ADD] = "token_add",
    };
    struct args a = {0};
    union any_cb u = {.adjust = cb};
    int shard;
    char *tk;

    if (r == NULL || req == NULL || cb == NULL || (unsigned)req->op >= sizeof ops / sizeof ops[0] ||
        (shard = gw_key_shard_of(req->uid)) < 0 || req->op_id == NULL ||
        req->op_id[0] == '\0' || strlen(req->op_id) > 128)
        return GW_EINVAL;
    if (gw_key_user(key_slot(&a), GW_KEY_MAX, req->uid) != GW_OK)
        return GW_EINVAL;
    /* User ops take no token, but the script has a fixed KEYS layout: any
     * key of the shard will do, so name token 0 (never a real token). */
    tk = key_slot(&a);
    if (fmt(tk, GW_KEY_MAX, "tf:{s%d}:t:%lld", shard, req->tid > 0 ? req->tid : 0) != GW_OK ||
        fmt(key_slot(&a), GW_KEY_MAX, "tf:{s%d}:idem:%s", shard, req->op_id) != GW_OK ||
        gw_key_shard(key_slot(&a), GW_KEY_MAX, shard, "ledger") != GW_OK)
        return GW_EINVAL;
    for (int i = 0; i < 4; i++)
        push(&a, a.keys[i]);
    push(&a, ops[req->op]);
    push_num(&a, req->uid);
    push_num(&a, req->tid);
    push_num(&a, req->value);
    push(&a, req->op_id);
    push_num(&a, req->now_ms);
    push(&a, req->content);
    push(&a, req->code);
    return run(r, "adjust", 4, &a, K_ADJUST, u, data);
}

int gw_ledger_ratelimit(gw_redis *r, const struct gw_ratelimit_req *req, gw_ratelimit_cb cb,
                        void *data)
{
    struct args a = {0};
    union any_cb u = {.ratelimit = cb};

    if (r == NULL || req == NULL || cb == NULL || req->key == NULL || req->key[0] == '\0')
        return GW_EINVAL;
    push(&a, req->key);
    push_num(&a, req->limit);
    push_num(&a, req->window_ms);
    push_num(&a, req->now_ms);
    push_num(&a, req->cost);
    return run(r, "ratelimit", 1, &a, K_RATELIMIT, u, data);
}

int gw_ledger_channel_health(gw_redis *r, const struct gw_health_req *req, gw_health_cb cb,
                             void *data)
{
    static const char *const ops[] = {
        [GW_HEALTH_SUCCESS] = "success", [GW_HEALTH_FAILURE] = "failure",
        [GW_HEALTH_GET] = "get",         [GW_HEALTH_RESET] = "reset",
    };
    struct args a = {0};
    union any_cb u = {.health = cb};
    char *k = key_slot(&a);

    if (r == NULL || req == NULL || cb == NULL || (unsigned)req->op >= sizeof ops / sizeof ops[0] ||
        gw_key_channel(k, GW_KEY_MAX, req->cid) != GW_OK)
        return GW_EINVAL;
    push(&a, k);
    push(&a, ops[req->op]);
    push_num(&a, req->now_ms);
    push_num(&a, req->threshold);
    push_num(&a, req->half_life_ms);
    if (req->uses > 1)
        push_num(&a, req->uses);
    return run(r, "channel_health", 1, &a, K_HEALTH, u, data);
}

int gw_ledger_reap(gw_redis *r, const struct gw_reap_req *req, gw_reap_cb cb, void *data)
{
    struct args a = {0};
    union any_cb u = {.reap = cb};
    static const char *const what[] = {"res", "resdl", "ledger"};

    if (r == NULL || req == NULL || cb == NULL)
        return GW_EINVAL;
    for (int i = 0; i < 3; i++) {
        char *k = key_slot(&a);
        if (gw_key_shard(k, GW_KEY_MAX, req->shard, what[i]) != GW_OK)
            return GW_EINVAL;
        push(&a, k);
    }
    push_num(&a, req->shard);
    push_num(&a, req->now_ms);
    push_num(&a, req->max_count);
    return run(r, "reap", 3, &a, K_REAP, u, data);
}
