/* Typed asynchronous calls to the money and limit scripts (scripts/NAME.lua),
 * and the one place that knows the Redis key schema (scripts/README.md).
 *
 * Every call builds KEYS and ARGV from a request struct, runs the script with
 * gw_redis_script() (EVALSHA, NOSCRIPT reload, the client's deadline) and
 * delivers a typed result to a callback. The relay and the admin API use
 * these; nothing else should format a tf:* key.
 *
 * Result status (the first two fields of every result):
 *   GW_OK        the script ran; look at ok/reason (refusals are GW_OK too)
 *   GW_EINVAL    the script refused the arguments ("ERR_BAD_ARG <what>" in
 *                error): NOTHING was changed in Redis
 *   GW_EIO       any other Redis error reply (WRONGTYPE, OOM, a corrupt
 *                record...) or a reply of an unexpected shape; error says which
 *   GW_ETIMEDOUT the client's deadline passed. The script may still have run:
 *                callers must treat money calls as "unknown" (a settle is safe
 *                to repeat; an authorize that timed out is refunded by the
 *                reaper at its deadline)
 *   GW_ECLOSED   the connection dropped or the client was freed
 * Fields other than status/error are meaningful only when status is GW_OK.
 *
 * Calling convention (libuv's rule): a call returns GW_OK and later calls cb
 * exactly once, on the client's loop; or returns an error (GW_EINVAL for a
 * NULL argument or an id that cannot name a key, GW_ENOTFOUND when the script
 * is not registered, anything gw_redis_script returns) and never calls cb.
 * Request strings are copied before the call returns. The result passed to cb
 * lives on the stack: copy what you need. */
#ifndef GW_STATE_LEDGER_H
#define GW_STATE_LEDGER_H
#include <stddef.h>
#include "gateway/state/redis.h"

/* ---- Key schema ----------------------------------------------------------- */

#define GW_LEDGER_SHARDS 16 /* shard = uid % 16; every key of a user has tag {sN} */
#define GW_KEY_MAX 160      /* enough for every key built below */

/* Each writes a NUL-terminated key into out and returns GW_OK, GW_EINVAL for
 * an id < 1 (a shard outside 0..15, an empty or NULL name), or GW_ETOOBIG when
 * cap is too small. */
int gw_key_shard_of(long long uid); /* uid % 16, or -1 when uid < 1 */
int gw_key_user(char *out, size_t cap, long long uid);                  /* tf:{sN}:u:<uid> */
int gw_key_token(char *out, size_t cap, long long uid, long long tid); /* tf:{sN}:t:<tid> */
/* tf:{sN}:<what>, what = "res" | "resdl" | "resseq" | "ledger" ("idem:<op_id>" too) */
int gw_key_shard(char *out, size_t cap, int shard, const char *what);
int gw_key_rl_user(char *out, size_t cap, long long uid);                 /* tf:{sN}:rl:u:<uid> */
int gw_key_rl_token(char *out, size_t cap, long long uid, long long tid); /* tf:{sN}:rl:t:<tid> */
int gw_key_cc_user(char *out, size_t cap, long long uid);                 /* tf:{sN}:cc:u:<uid> */
int gw_key_cc_token(char *out, size_t cap, long long uid, long long tid); /* tf:{sN}:cc:t:<tid> */
int gw_key_channel(char *out, size_t cap, long long cid);                 /* tf:ch:<cid> */
/* tf:tk:<hex>, hex = lower-case sha256 of the token key (64 chars) */
int gw_key_token_lookup(char *out, size_t cap, const char *sha256hex);
/* tf:rl:<scope>:<id>, e.g. scope "ip:GA" and id "1.2.3.4" */
int gw_key_ratelimit(char *out, size_t cap, const char *scope, const char *id);

/* Settings version of a token key: the token hash's "sv" field, "|", the
 * user hash's "sv" field (each "" when absent). Every write of either
 * mirror (persist/redis_rows.c) stores a fresh sv, so a worker's cached
 * groups, IP list, model limits and role are known current when equal.
 * GW_ETOOBIG when it does not fit GW_KEY_VER_MAX. */
#define GW_KEY_VER_MAX 100
int gw_key_settings_version(char *out, size_t cap, const char *token_sv, size_t tlen,
                            const char *user_sv, size_t ulen);

/* ---- Refusals ------------------------------------------------------------- */

enum gw_ledger_reason {
    GW_LEDGER_OK = 0,
    GW_REFUSE_TOKEN_NOT_FOUND,   /* "token_not_found" (also: token of another user) */
    GW_REFUSE_TOKEN_DISABLED,    /* "token_disabled" */
    GW_REFUSE_TOKEN_EXPIRED,     /* "token_expired" */
    GW_REFUSE_TOKEN_EXHAUSTED,   /* "token_exhausted" */
    GW_REFUSE_USER_NOT_FOUND,    /* "user_not_found" */
    GW_REFUSE_USER_DISABLED,     /* "user_disabled" */
    GW_REFUSE_USER_QUOTA,        /* "user_quota_insufficient" */
    GW_REFUSE_TOKEN_QUOTA,       /* "token_quota_insufficient" */
    GW_REFUSE_MODEL_NOT_ALLOWED, /* "model_not_allowed" */
    GW_REFUSE_RATE_LIMITED,      /* "rate_limited" (+ retry_after_ms, limit) */
    GW_REFUSE_CONCURRENCY,       /* "concurrency_limited" (+ limit) */
    GW_REFUSE_RES_NOT_FOUND,     /* "reservation_not_found" */
    GW_REFUSE_QUOTA_RANGE,       /* "quota_out_of_range": an adjust would move a balance
                                    past GW_LEDGER_QUOTA_MAX (nothing written) */
    GW_REFUSE_SETTINGS_CHANGED,  /* "settings_changed": the caller's copy of the token's
                                    and user's settings is stale (nothing reserved) */
};

/* The script's string for a reason ("token_expired"); "ok" for GW_LEDGER_OK. */
const char *gw_ledger_reason_name(enum gw_ledger_reason reason);

/* The one quota bound, inclusive, everywhere: the scripts' bound on every
 * quota or token count they take (MAXQ in the Lua scripts), on a balance an
 * adjust leaves (adjust.lua: within +-GW_LEDGER_QUOTA_MAX), and the API's
 * (users.h GW_USER_QUOTA_MAX). gw_ledger_authorize and gw_ledger_extend
 * refuse a value outside [0, GW_LEDGER_QUOTA_MAX] with GW_EINVAL before
 * sending anything (authorize also a ttl_ms outside 1..86400000, and a model
 * longer than 256 bytes or holding a ','), so a refusal by the script is
 * never the caller's input mistaken for an outage. */
#define GW_LEDGER_QUOTA_MAX 1000000000000000LL

/* ---- authorize ------------------------------------------------------------ */

struct gw_auth_req {
    long long uid, tid;   /* from tf:tk:<sha256> (cached by the gateway); tid 0: a
                             call without a token (the console's playground): only
                             the user's checks, limits and quota apply, and group
                             and settings_ver ("|" user sv) are required */
    const char *model;    /* NULL = "" */
    long long amount;     /* quota to reserve */
    long long est_tokens; /* counted in the tpm windows */
    long long ttl_ms;     /* reservation lifetime; the reaper refunds after it */
    long long now_ms;
    /* The settings version the caller's cached token/user fields were read
     * with (gw_key_settings_version); NULL or "" = don't check. Another live
     * version refuses with GW_REFUSE_SETTINGS_CHANGED. */
    const char *settings_ver;
    const char *group;    /* tid 0 only: the group the call uses (1..64 bytes) */
};

struct gw_auth_result {
    int status;
    char error[128];
    int ok;                       /* 1 reserved; 0 refused (reason) */
    enum gw_ledger_reason reason;
    char limit[16];               /* rate_limited: user_rpm|user_tpm|token_rpm|token_tpm;
                                     concurrency_limited: user|token; else "" */
    long long retry_after_ms;     /* rate_limited: ms to the next window */
    long long res_id, deadline_ms;
    long long user_left;          /* spendable user quota after the reservation */
    long long token_left;         /* token remain_quota after it, -1 unlimited */
    char group[65];               /* effective group: token's, else user's, else "default" */
};
typedef void (*gw_auth_cb)(const struct gw_auth_result *res, void *data);
int gw_ledger_authorize(gw_redis *r, const struct gw_auth_req *req, gw_auth_cb cb, void *data);

/* ---- settle --------------------------------------------------------------- */

struct gw_settle_req {
    long long uid, tid, res_id;
    long long actual;        /* real cost in quota */
    long long actual_tokens; /* corrects the tpm windows */
    long long now_ms;
    long long cid;           /* channel, 0 = none */
    /* log fields for the ledger entry; NULL strings are "" */
    const char *model, *group, *ip, *request_id, *content;
    const char *other;       /* "" or a JSON object; a shortfall is added to it */
    long long prompt_tokens, completion_tokens, use_time_s;
    int stream;              /* 0/1 */
    const char *token_name;  /* tid 0 only, then required: the log's token name
                                (there is no token hash to read it from) */
};

struct gw_settle_result {
    int status;
    char error[128];
    int ok;                       /* 0: reason is GW_REFUSE_RES_NOT_FOUND, nothing changed */
    enum gw_ledger_reason reason;
    long long charged;            /* what was charged (the ledger's quota) */
    long long shortfall;          /* actual - charged: the budget could not cover it */
    long long user_left, token_left; /* token_left -1 for an unlimited token */
    char ledger_id[48];           /* stream id of the consume entry */
};
typedef void (*gw_settle_cb)(const struct gw_settle_result *res, void *data);
int gw_ledger_settle(gw_redis *r, const struct gw_settle_req *req, gw_settle_cb cb, void *data);

/* ---- extend --------------------------------------------------------------- */

struct gw_extend_req {
    long long uid, tid, res_id;
    long long extra;  /* quota to add to the reservation */
    long long ttl_ms; /* deadline becomes max(old, now_ms + ttl_ms) */
    long long now_ms;
};

struct gw_extend_result {
    int status;
    char error[128];
    int ok;                       /* 0: RES_NOT_FOUND, USER_QUOTA or TOKEN_QUOTA */
    enum gw_ledger_reason reason;
    long long amount;             /* the reservation's new total */
    long long deadline_ms, user_left, token_left;
};
typedef void (*gw_extend_cb)(const struct gw_extend_result *res, void *data);
int gw_ledger_extend(gw_redis *r, const struct gw_extend_req *req, gw_extend_cb cb, void *data);

/* ---- adjust (admin API) --------------------------------------------------- */

enum gw_adjust_op {
    GW_ADJUST_USER_SET,  /* SQL-visible user quota (quota + reserved) becomes value */
    GW_ADJUST_USER_ADD,  /* user quota += value (may be negative) */
    GW_ADJUST_TOPUP,     /* += value > 0, ledger type topup */
    GW_ADJUST_REDEEM,    /* += value > 0, ledger type redeem, code required */
    GW_ADJUST_TOKEN_SET, /* SQL-visible remain_quota (remain + reserved) becomes value */
    GW_ADJUST_TOKEN_ADD, /* token remain_quota += value */
};

struct gw_adjust_req {
    enum gw_adjust_op op;
    long long uid;
    long long tid;       /* token ops only; 0 otherwise */
    long long value;
    long long now_ms;
    const char *op_id;   /* idempotency key, 1..128 bytes: a replay within an hour
                            (adjust.lua IDEM_TTL_MS) returns the first result and
                            writes nothing */
    const char *content; /* log text; NULL = "" */
    const char *code;    /* redeem: the code; NULL = "" */
};

struct gw_adjust_result {
    int status;
    char error[128];
    int ok;                       /* 0: USER_NOT_FOUND, TOKEN_NOT_FOUND or QUOTA_RANGE */
    enum gw_ledger_reason reason;
    long long delta;              /* the ledger delta (dq, or dtr for token ops) */
    long long new_value;          /* spendable quota / remain_quota afterwards */
    int replay;                   /* 1 when op_id had already been applied */
};
typedef void (*gw_adjust_cb)(const struct gw_adjust_result *res, void *data);
int gw_ledger_adjust(gw_redis *r, const struct gw_adjust_req *req, gw_adjust_cb cb, void *data);

/* ---- ratelimit ------------------------------------------------------------ */

struct gw_ratelimit_req {
    const char *key; /* from gw_key_ratelimit() */
    long long limit, window_ms, now_ms;
    long long cost;  /* usually 1; 0 looks without counting */
};

struct gw_ratelimit_result {
    int status;
    char error[128];
    int allowed;
    long long remaining, retry_after_ms;
};
typedef void (*gw_ratelimit_cb)(const struct gw_ratelimit_result *res, void *data);
int gw_ledger_ratelimit(gw_redis *r, const struct gw_ratelimit_req *req, gw_ratelimit_cb cb,
                        void *data);

/* ---- channel health ------------------------------------------------------- */

enum gw_health_op { GW_HEALTH_SUCCESS, GW_HEALTH_FAILURE, GW_HEALTH_GET, GW_HEALTH_RESET };

struct gw_health_req {
    long long cid;
    enum gw_health_op op;
    long long now_ms;
    long long threshold;    /* consecutive failures that disable; 0 = never */
    long long half_life_ms; /* heat half-life */
    long long uses;         /* success only: successes recorded at once; 0 = 1 */
};

struct gw_health_result {
    int status;
    char error[128];
    int just_disabled; /* this failure crossed the threshold: disable the channel */
    int disabled;
    long long ok, fail, consec_fail;
    long long heat_milli; /* heat * 1000, decayed to now_ms */
};
typedef void (*gw_health_cb)(const struct gw_health_result *res, void *data);
int gw_ledger_channel_health(gw_redis *r, const struct gw_health_req *req, gw_health_cb cb,
                             void *data);

/* ---- reap ------------------------------------------------------------------ */

struct gw_reap_req {
    int shard; /* 0..GW_LEDGER_SHARDS-1 */
    long long now_ms, max_count;
};

struct gw_reap_result {
    int status;
    char error[128];
    long long reaped;
};
typedef void (*gw_reap_cb)(const struct gw_reap_result *res, void *data);
int gw_ledger_reap(gw_redis *r, const struct gw_reap_req *req, gw_reap_cb cb, void *data);

#endif
