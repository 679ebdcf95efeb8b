/* Channel management internals shared by channels.c (reads, export),
 * channel_ops.c (create, update, import), channel_bulk.c (deletes, tags,
 * fix) and abilities.c (validation, row writes, abilities, Redis mirror).
 * Not an interface for other modules: the handlers are in api.h.
 *
 * Reference: controller/channel.go and model/channel.go, model/ability.go
 * (new-api-behaviour.md §2). Every write runs in one SQL transaction that
 * also rebuilds the channel's abilities; after the commit the same job
 * SELECTs GW_RR_CHANNEL_COLS and queues the Redis mirror (tf:chcfg:<id>,
 * tf:chcfg:ids) plus an INCR of the config version (tf:cfgver) that the
 * workers' routing tables watch; `done` sends them with gw_api_redis_send.
 *
 * Keys: the `key` column leaves the server only through
 * POST /api/channel/:id/key (root) and POST /api/channel/export with
 * include_keys (root). Every other answer SELECTs GW__CH_OUT_COLS, which
 * does not name it. */
#ifndef GW_API_CHANNELS_H
#define GW_API_CHANNELS_H

#include <jansson.h>
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/dest.h"
#include "persist/redis_rows.h"

#define GW__CH_MAX_BATCH 1000           /* keys per create, entries per import, ids per delete */
#define GW__CH_KEY_MAX (1024 * 1024)    /* bytes of one channel's key column */
#define GW__CH_TYPE_MAX 60              /* highest reference channel type (§7) */

/* Every column but `key`, in the reference's JSON order, named as in its JSON (GORM's
 * column for OpenAIOrganization is open_ai_organization, its JSON openai_organization). */
#define GW__CH_OUT_COLS                                                                    \
    "id, type, open_ai_organization AS openai_organization, test_model, status, name, "   \
    "weight, created_time, "                                                              \
    "test_time, response_time, base_url, other, balance, balance_updated_time, models, "  \
    "`group`, used_quota, model_mapping, status_code_mapping, priority, auto_ban, "       \
    "other_info, tag, setting, param_override, header_override, remark, channel_info, "   \
    "settings"

/* One request's job. Built on the loop, run on the thread pool, answered and
 * freed on the loop by gw__ch_done(). */
struct gw__chjob {
    struct gw_caller who;
    long long id;           /* path :id, or the id in a PUT body */
    json_t *in;             /* request input (owned) */
    json_t *rows;           /* creates/imports: array of column objects (owned) */
    json_t *vals;           /* update: column object (owned) */
    json_t *out;            /* answer data (owned until answered) */
    int append_keys;        /* PUT key_mode "append" on a multi-key channel */
    const char *mk_mode;    /* PUT multi_key_mode, NULL = keep */
    int with_keys;          /* export: include `key` */
    /* list/search */
    struct gw_page pg;
    int status_filter;      /* -1 all, 1 enabled, 0 not enabled */
    long long type_filter;  /* -1 all */
    int id_sort, tag_mode;
    char order[64];
    char *keyword, *group, *model, *tag;
    char fail[256];         /* non-empty: answer {"success":false,"message":fail} */
    struct gw_dest_policy dest; /* root's destination options, read on the loop */
    int dest_private_opt;   /* channel_destination_setting.allow_private_ip */
    struct gw_rcmds cmds;   /* Redis write-through, sent by done */
    int rc;                 /* the SQL job's result, kept while cmds are sent */
};

struct gw__chjob *gw__ch_job(gw_req *r, const struct gw_caller *who);
void gw__ch_job_free(struct gw__chjob *j);
/* Queues work with the generic done; on failure answers and frees j. */
void gw__ch_run(gw_req *r, struct gw__chjob *j, gw_api_sql_cb work);
/* :id path parameter (positive integer), or 0 after answering an error. */
long long gw__ch_path_id(gw_req *r);

/* Validation (loop). Limits follow the narrowest column of the three
 * schemas: name/tag/base_url 191 bytes, group 64 (each model 255), remark
 * 255, status_code_mapping 1024, text columns 65535; type 0..60, status
 * 1..3, weight 0..2^32-1, auto_ban 0/1; base_url http(s) or empty;
 * model_mapping and status_code_mapping JSON objects of strings; setting,
 * settings, param_override, header_override JSON objects or "".
 * Copies the writable fields present in src into dst as
 * normalised column values (strings, integers): models and group become
 * trimmed, de-duplicated comma lists; JSON text fields must parse.
 * GW_EINVAL with a message in err on the first bad field. */
int gw__ch_take(const json_t *src, json_t *dst, char *err, size_t errlen);
/* Defaults of a new channel for the columns dst does not set. */
void gw__ch_defaults(json_t *dst);
/* channel_info JSON text for a plain (n == 0) or multi-key channel. */
char *gw__ch_info_text(int multi, int nkeys, const char *mode);

/* Thread pool. Insert / update one channel from a column object, rebuild its
 * abilities, queue its mirror. Must run inside a transaction. */
int gw__ch_insert(gw_store *st, const json_t *cols, long long *id);
int gw__ch_update(gw_store *st, long long id, const json_t *cols);
/* Deletes the channel's abilities and inserts groups x models again. */
int gw__ab_rebuild(gw_store *st, long long id);
/* Queues HSET tf:chcfg:<id> (or its removal when the row is gone). */
int gw__ch_mirror(gw_store *st, long long id, struct gw_rcmds *b);
void gw__ch_mirror_del(long long id, struct gw_rcmds *b);
/* Adds INCR tf:cfgver, once per batch. */
void gw__ch_bump(struct gw_rcmds *b);
/* " FOR UPDATE" on servers that lock rows, "" on SQLite (BEGIN IMMEDIATE). */
const char *gw__ch_lock(gw_store *st);

/* Row i of a SELECT GW__CH_OUT_COLS [, `key`] as the reference's JSON:
 * channel_info as an object (multi-key disabled reasons/times cleared). */
json_t *gw__ch_row_json(const gw_rows *rows, size_t i);
json_t *gw__ch_rows_json(const gw_rows *rows);

/* Channel destinations (channel_dest.c). Loop: snapshots root's
 * channel_destination_setting options into j (gw__ch_job does it). Thread
 * pool, inside the write's transaction, before gw__ch_insert (id 0) or
 * gw__ch_update (id): works out channel_destinations.set_by_root from the
 * writer's role and whether the destination (effective base URL,
 * setting.proxy) changes, into *set_by_root (-1: leave it as it is), and
 * checks the destination statically (IP literals, "localhost"). GW_EINVAL
 * with j->fail set when the writer may not set it. After the write,
 * gw__ch_dest_store records *set_by_root for the channel's id. */
void gw__ch_dest_snapshot(gw_req *r, struct gw__chjob *j);
int gw__ch_dest_apply(gw_store *st, struct gw__chjob *j, long long id, const json_t *cols,
                      int *set_by_root);
int gw__ch_dest_store(gw_store *st, long long id, int set_by_root);

/* Splits a comma list: trimmed, empty items dropped, duplicates dropped.
 * *items is one gw_malloc block (free with gw_free). GW_EINVAL if an item
 * is longer than item_max. */
int gw__ch_split(const char *s, size_t item_max, char ***items, size_t *n);

#endif
