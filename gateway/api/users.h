/* Internal to the /api/user handlers (users.c: registration and the caller's
 * own account; users_admin.c: the admin endpoints; public.c: groups).
 *
 * One job struct (gw__ujob) carries a request's input to the thread pool
 * and its answer back; gw__ujob_run() queues `work` and answers from the
 * shared `done`: it sends the Redis mirror commands first (the SQL change is
 * committed, so the mirror follows even if the client left) and waits for
 * Redis to acknowledge them — a disabled user is refused by the relay once
 * the answer is out — then answers the failure, runs the ledger adjust of a
 * quota change, or answers {"success":true,data}.
 *
 * Money: users.quota is written in SQL only when a user is created; any
 * later change goes through adjust.lua (GW_ADJUST_USER_SET / USER_ADD) whose
 * ledger entry the persister applies to SQL. The adjust runs after the
 * mirror commands on the same Redis connection. */
#ifndef GW_API_USERS_H
#define GW_API_USERS_H

#include <jansson.h>
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/state/ledger.h"
#include "persist/redis_rows.h"

struct gw_worker;

/* Reference validation (model/user.go): lengths in characters (runes). */
#define GW_USER_NAME_MAX 20
#define GW_USER_PW_MIN 8
#define GW_USER_PW_MAX 20
#define GW_USER_EMAIL_MAX 50
#define GW_USER_REMARK_MAX 255
#define GW_USER_GROUP_MAX 64
#define GW_USER_QUOTA_MAX GW_LEDGER_QUOTA_MAX /* gateway/state/ledger.h: the one bound */
#define GW_USER_BCRYPT_COST 10

/* The columns every user answer is built from (never password or
 * access_token), in this order. */
#define GW_USER_COLS                                                                       \
    "id, username, display_name, role, status, email, github_id, discord_id, oidc_id, "  \
    "wechat_id, telegram_id, quota, used_quota, request_count, `group`, aff_code, "       \
    "aff_count, aff_quota, aff_history, inviter_id, deleted_at, linux_do_id, setting, "   \
    "remark, stripe_customer, created_at, last_login_at, auth_version"
enum { GW_UC_ID, GW_UC_USERNAME, GW_UC_DISPLAY, GW_UC_ROLE, GW_UC_STATUS, GW_UC_EMAIL,
       GW_UC_QUOTA = 11, GW_UC_GROUP = 14, GW_UC_AFF = 15, GW_UC_DELETED = 20,
       GW_UC_SETTING = 22, GW_UC_REMARK = 23, GW_UC_AUTHV = 27 };

/* Present-field bits of a body. */
enum { GW_UF_USERNAME = 1, GW_UF_DISPLAY = 2, GW_UF_PASSWORD = 4, GW_UF_GROUP = 8,
       GW_UF_REMARK = 16, GW_UF_QUOTA = 32, GW_UF_ROLE = 64, GW_UF_ORIGINAL = 128,
       GW_UF_EMAIL = 256, GW_UF_SIDEBAR = 512, GW_UF_LANGUAGE = 1024 };

struct gw__ujob {
    struct gw_caller who;   /* zero for registration */
    const struct gw_config *cfg;
    long long now, id;
    /* input */
    unsigned set;
    char username[96], display[96], group[GW_USER_GROUP_MAX + 1], email[208];
    char remark[1024], aff[40], action[16], mode[16];
    char password[96], original[96];
    char sidebar[4096], language[32];
    long long quota, role, value;
    long long quota_new, quota_invitee, quota_inviter; /* registration options */
    char keyword[256], sgroup[GW_USER_GROUP_MAX + 1];
    long long frole, fstatus;                          /* search filters, -1 = none */
    struct gw_page pg;
    /* output */
    const char *fail;
    char msg[200];
    json_t *data;
    struct gw_rcmds cmds;
    int adjust;             /* 1: run q after the mirror commands */
    enum gw_adjust_op op;
    long long adj_value;
    int adj_same_as_sql;    /* a set to the value SQL shows: a user Redis does not
                               hold has nothing to change then */
    char content[160];
    int rc;                 /* the SQL job's result */
    size_t pending;         /* mirror commands not yet acknowledged */
    gw_req *r;              /* held while the mirror and adjust run */
};

/* Allocates a job for r (answers "out of memory" itself and returns NULL). */
struct gw__ujob *gw__ujob_new(gw_req *r, const struct gw_caller *who);
void gw__ujob_free(struct gw__ujob *u);
/* Queues work; on failure answers and frees u. */
void gw__ujob_run(gw_req *r, struct gw__ujob *u, gw_api_sql_cb work);
/* Answers msg and frees u. */
void gw__ujob_refuse(gw_req *r, struct gw__ujob *u, const char *msg);
/* Business failure from work: copies msg, returns GW_OK. */
int gw__ujob_failf(struct gw__ujob *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Body readers: 1 present, 0 absent or null, -1 refused (message in u). */
int gw__user_str(struct gw__ujob *u, const json_t *b, const char *k, size_t max_runes,
                 char *out, size_t cap);
int gw__user_int(struct gw__ujob *u, const json_t *b, const char *k, long long lo,
                 long long hi, long long *out);
/* Checks password length 8..20 runes; NULL when fine. */
const char *gw__user_pw_check(const char *pw);

/* One user row (GW_USER_COLS) as the reference's model.User JSON. */
json_t *gw__user_json(const gw_rows *rows, size_t i);
/* SELECT GW_USER_COLS of a live (not deleted) user; *rows NULL when absent. */
int gw__user_load(gw_store *st, long long id, int with_deleted, gw_rows **rows);
/* Appends the Redis mirror of user id (with money only at creation). */
int gw__user_mirror(gw_store *st, struct gw__ujob *u, long long id, int with_money);
/* Appends removal of the user's hash and of its live tokens' mirrors. */
int gw__user_unmirror(gw_store *st, struct gw__ujob *u, long long id);
/* Inserts a user (bcrypt of u->password on this thread), retrying a taken
 * aff code; *id gets the new id. Username taken: u->fail set, GW_OK. */
int gw__user_insert(gw_store *st, struct gw__ujob *u, long long role, long long quota,
                    long long inviter, long long *id);

/* Groups (loop thread, from the worker's options snapshot):
 * the reference's service.GetUserUsableGroups(user_group) as {name: desc},
 * and the ratio a user of user_group pays in group g. */
json_t *gw__usable_groups(struct gw_worker *w, const char *user_group);
double gw__group_ratio(struct gw_worker *w, const char *user_group, const char *g);
/* {name: {ratio, desc}} for the groups a user of user_group may use. */
json_t *gw__groups_answer(struct gw_worker *w, const char *user_group);

#endif
