/* SQL rows → the Redis commands that mirror them (scripts/README.md key
 * schema). One definition of which columns live in Redis, shared by the cold
 * start (persist/warm.c, bulk) and the management API's write-through (after
 * each SQL change, on the thread pool; the commands are then sent from the
 * loop).
 *
 * Each builder reads one row of a result set SELECTed with the matching
 * column list below, in that order, and appends complete commands to a
 * gw_rcmds batch. Money columns (users.quota, tokens.remain_quota) are
 * written only by the cold start and at creation: afterwards they change
 * only through the ledger scripts (adjust.lua), never by overwrite. */
#ifndef GW_PERSIST_REDIS_ROWS_H
#define GW_PERSIST_REDIS_ROWS_H

#include <stddef.h>
#include "persist/store.h"

#define GW_RR_SHARDS 16

#define GW_RR_USER_COLS \
    "id, quota, used_quota, request_count, status, `group`, role, username"
#define GW_RR_TOKEN_COLS                                                              \
    "id, user_id, `key`, status, name, expired_time, remain_quota, unlimited_quota, " \
    "used_quota, model_limits_enabled, model_limits, `group`, allow_ips"
#define GW_RR_CHANNEL_COLS                                                              \
    "id, type, status, name, weight, priority, models, `group`, base_url, model_mapping, " \
    "tag, auto_ban"

/* A batch of Redis commands; strings are owned by the batch. */
struct gw_rcmd {
    int argc;
    char **argv;
    size_t *len;
};
struct gw_rcmds {
    struct gw_rcmd *cmd;
    size_t n, cap;
};

void gw_rcmds_init(struct gw_rcmds *b);
void gw_rcmds_free(struct gw_rcmds *b);
/* Appends one command from argv strings (copied). */
int gw_rcmds_add(struct gw_rcmds *b, int argc, const char *const *argv);

/* with_money: also write quota/remain_quota/used/request_count, and reserved 0
 * (cold start, creation: nothing is reserved yet); 0: only the non-money fields
 * (status, group, name, limits...). GW_EINVAL for a row that cannot be mirrored
 * (id <= 0; a token without owner or key), nothing appended then. */
int gw_rr_user(struct gw_rcmds *b, const gw_rows *rows, size_t r, int with_money);
/* HSET of the token plus SET tf:tk:<sha256(key)> "uid:tid". */
int gw_rr_token(struct gw_rcmds *b, const gw_rows *rows, size_t r, int with_money);
/* HSET tf:chcfg:<id> ... plus SADD tf:chcfg:ids <id>. */
int gw_rr_channel(struct gw_rcmds *b, const gw_rows *rows, size_t r);
/* Removal: the hash (and for tokens the key index) of a deleted row. */
int gw_rr_user_del(struct gw_rcmds *b, long long uid);
int gw_rr_token_del(struct gw_rcmds *b, long long uid, long long tid, const char *key);
int gw_rr_channel_del(struct gw_rcmds *b, long long cid);

#endif
