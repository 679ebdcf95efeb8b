/* Internal to the /api/token handlers (tokens.c: input, the shared job,
 * create, list, search, get; tokens_update.c: update, delete, key reveal,
 * batch routes).
 *
 * One job struct (gw__tk) carries a request's input to the thread pool and
 * its answer back. gw__tk_run() queues `work` and answers from tokens.c's
 * done: it sends the Redis mirror commands in t->cmds first, then answers
 * t->fail, runs the ledger token_set of a remain_quota change, or answers
 * {"success":true,"data":t->data}; the job is freed there. Work callbacks
 * run on a pool thread and return a GW_E* code only for store failures;
 * refusals go through gw__tk_fail(). */
#ifndef GW_API_TOKENS_H
#define GW_API_TOKENS_H

#include <jansson.h>
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "persist/redis_rows.h"

#define NAME_MAX_BYTES 50           /* reference: len(name) > 50 is refused */
#define GROUP_MAX 64
#define BATCH_KEYS_MAX 100          /* reference MsgBatchTooMany */
#define BATCH_DELETE_MAX 1000       /* bounded SQL; one user holds at most that many */
#define SEARCH_MAX 256

/* The columns of a token answer, in the order of the C_* indexes. */
#define TK_COLS                                                                         \
    "id, user_id, `key`, status, name, created_time, accessed_time, expired_time, "   \
    "remain_quota, unlimited_quota, model_limits_enabled, model_limits, allow_ips, "  \
    "used_quota, `group`, cross_group_retry"
enum { C_ID, C_UID, C_KEY, C_STATUS, C_NAME, C_CREATED, C_ACCESSED, C_EXPIRED, C_REMAIN,
       C_UNLIMITED, C_MLE, C_ML, C_IPS, C_USED, C_GROUP, C_CGR };

/* Fields of a create or update body; `set` has a bit per field present. */
enum { F_NAME = 1, F_EXPIRED = 2, F_REMAIN = 4, F_UNLIMITED = 8, F_MLE = 16, F_ML = 32,
       F_IPS = 64, F_GROUP = 128, F_CGR = 256, F_STATUS = 512 };

struct gw__tk_in {
    unsigned set;
    char name[NAME_MAX_BYTES + 1];
    char group[GROUP_MAX + 1];
    long long expired, remain, status;
    int unlimited, mle, cgr;
    char *ml, *ips; /* gw_malloc'd, normalised */
};

struct gw__tk {
    struct gw_caller who;
    long long now, id;
    struct gw__tk_in in;
    int status_only;
    long long ids[BATCH_DELETE_MAX];
    size_t nids;
    char keyword[SEARCH_MAX + 1], token[SEARCH_MAX + 1];
    struct gw_page pg;
    /* output */
    const char *fail;
    char msg[200];
    json_t *data;
    long long total;
    struct gw_rcmds cmds;
    int set_remain;          /* update: remain_quota goes through adjust token_set */
    int remain_same_as_sql;  /* ...of the value SQL shows: a token Redis does not
                                hold has nothing to change then */
    long long uid, remain;
    gw_req *r;               /* held (gw_req_ref) while adjust runs */
};

/* A job for `who`, now = time(NULL), expired_time -1 (never). NULL after
 * answering "out of memory". */
struct gw__tk *gw__tk_new(gw_req *r, const struct gw_caller *who);
/* Queues `work`; on a queueing failure frees t and answers "internal error". */
void gw__tk_run(gw_req *r, struct gw__tk *t, gw_api_sql_cb work);
/* Answers msg and frees t. */
void gw__tk_refuse(gw_req *r, struct gw__tk *t, const char *msg);
/* Reads :id, makes a job and runs `work` ("invalid token id" when bad). */
void gw__tk_by_id(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work);

/* Records a refusal for the answer; returns GW_OK. */
int gw__tk_fail(struct gw__tk *t, const char *msg);
/* Reads the create/update fields present in b into in; nonzero with err set
 * when one is invalid. */
int gw__tk_read_fields(const json_t *b, struct gw__tk_in *in, char *err, size_t n);
int gw__tk_future_or_never(long long t, long long now);

/* Thread-pool helpers. */
json_t *gw__tk_json(const gw_rows *rows, size_t i); /* one row, key masked */
/* The caller's live token `id` in *rows, or *rows NULL when there is none. */
int gw__tk_select_own(gw_store *st, struct gw__tk *t, long long id, gw_rows **rows);
/* Appends the Redis mirror of token id to t->cmds (money fields with with_money). */
int gw__tk_mirror(gw_store *st, struct gw__tk *t, long long id, int with_money);
/* *ok when group g may be used by the caller (own group or UserUsableGroups). */
int gw__tk_group_allowed(gw_store *st, const struct gw__tk *t, const char *g, int *ok);

#endif
