/* Shared plumbing for /api handlers: the reference's envelope and paging,
 * JSON bodies, SQL jobs on the thread pool, and SQL rows to JSON.
 *
 * Envelope (reference common/gin.go): success answers HTTP 200
 * {"success":true,"message":"","data":...}; business errors answer HTTP 200
 * {"success":false,"message":"..."}. Only authentication failures use 401/403.
 *
 * SQL never runs on the loop: gw_api_sql() runs `work` on the uv thread pool
 * with a pooled connection, then `done` on the loop. The request is
 * referenced until `done` returns; `done` must check gw_req_alive(r) before
 * answering (the client may have left) — gw_api_* answer functions already
 * do, returning GW_ECLOSED. */
#ifndef GW_API_APICTX_H
#define GW_API_APICTX_H

#include <jansson.h>
#include "gateway/http/server.h"
#include "persist/store.h"

int gw_api_ok(gw_req *r, json_t *data /* stolen; NULL = no data field */);
int gw_api_ok_msg(gw_req *r, const char *msg, json_t *data /* stolen, may be NULL */);
int gw_api_fail(gw_req *r, const char *msg);
/* 401/403 with the Aug tree's machine-readable code (AUTH_UNAUTHORIZED ...). */
int gw_api_deny(gw_req *r, int http_status, const char *code, const char *msg);

/* Paging (reference common/page_info.go): p is 1-based (below 1 → 1); size
 * from page_size, else ps, else size, default 10, capped at 100. */
struct gw_page {
    long long p, size, offset;
};
void gw_api_page(gw_req *r, struct gw_page *pg);
/* data = {page, page_size, total, items}; extra (stolen, may be NULL) is
 * merged into data (e.g. type_counts). */
int gw_api_paged(gw_req *r, const struct gw_page *pg, long long total, json_t *items,
                 json_t *extra);

/* Thread pool: one page of `table`, newest id first. Counts the rows matching
 * `where` (SQL text with '?' for a[0..na)), then selects `cols` of the page;
 * a must have room for two more arguments (LIMIT, OFFSET). On success *out is
 * {page, page_size, total, items} as gw_api_paged answers, one row_json(rows,
 * i) per item. */
typedef json_t *(*gw_api_row_cb)(const gw_rows *rows, size_t row);
int gw_api_page_query(gw_store *st, const struct gw_page *pg, const char *table,
                      const char *cols, const char *where, gw_sql_arg *a, size_t na,
                      gw_api_row_cb row_json, json_t **out);

/* LIKE patterns, always used with ESCAPE '!' (no dialect treats '!' specially
 * in a literal, unlike backslash in MySQL).
 * like_literal: pre + in matched literally ('%', '_' and '!' escaped) + post,
 * cut short rather than overflow out (cap >= strlen(pre) + strlen(post) + 1).
 * like_sanitize: the reference's sanitizeLikePattern: '!' and '_' literal, '%'
 * a wildcard, at most two, never doubled, with at least 2 other characters;
 * *wildcard |= a '%' was seen. NULL on success, else why it is refused
 * ("search text too long" when out is short: 2 * strlen(in) + 2 always do). */
void gw_api_like_literal(const char *pre, const char *in, const char *post, char *out,
                         size_t cap);
const char *gw_api_like_sanitize(const char *in, char *out, size_t cap, int *wildcard);

/* The route's first parameter as an id (1 .. 2^53 - 1): 1, or 0 when it is
 * missing or not such a number. */
int gw_api_param_id(gw_req *r, long long *id);

/* Optional integer member k of body b, in lo..hi: 1 present (*out set), 0 absent
 * or null, -1 refused with the reason in err. */
int gw_api_opt_int(const json_t *b, const char *k, long long lo, long long hi, long long *out,
                   char *err, size_t errlen);

/* Parses r->body as a JSON object. On failure answers {"success":false} with
 * the reason and returns NULL. The caller owns the result. */
json_t *gw_api_body(gw_req *r);

typedef int (*gw_api_sql_cb)(gw_store *st, void *ctx);          /* thread pool */
typedef void (*gw_api_done_cb)(gw_req *r, int rc, void *ctx);    /* loop */
/* rc passed to done is work's return value, or GW_EIO when no connection
 * could be had. If this returns an error, neither callback runs. */
int gw_api_sql(gw_req *r, gw_api_sql_cb work, gw_api_done_cb done, void *ctx);

/* Column typing for rows → JSON objects. */
enum gw_col_type { GW_COL_STR, GW_COL_INT, GW_COL_BOOL, GW_COL_REAL, GW_COL_SKIP };
struct gw_col {
    const char *name;
    enum gw_col_type type;
};
/* One object per row; columns absent from spec are strings, SQL NULL → null
 * (or "" for STR, 0 for numbers, as GORM zero values read). */
json_t *gw_api_rows_json(const gw_rows *rows, const struct gw_col *spec, size_t nspec);
json_t *gw_api_row_json(const gw_rows *rows, size_t row, const struct gw_col *spec,
                        size_t nspec);

/* Write-through: sends every command of b (persist/redis_rows.h, built on
 * the thread pool after the SQL change committed) on the worker's Redis
 * connection, then frees b. Failures are logged with the request id; they
 * do not fail the request, whose SQL change is already durable. */
struct gw_rcmds;
void gw_api_redis_send(gw_req *r, struct gw_rcmds *b);
/* The same, then `then` on the loop once Redis has answered every command
 * (or failed it), so an answer sent from `then` is never ahead of the
 * write-through: e.g. a channel change's config-version bump has landed
 * before the admin hears "done" (relay_state.c reloads on a miss against that
 * version). Runs `then` at once when b is empty. r is referenced meanwhile. */
typedef void (*gw_api_then_cb)(gw_req *r, void *ctx);
void gw_api_redis_send_then(gw_req *r, struct gw_rcmds *b, gw_api_then_cb then, void *ctx);

/* Reads option `key` from the options table into out (thread pool only);
 * def when the row is absent. GW_ETOOBIG when it does not fit. */
int gw_option_get(gw_store *st, const char *key, const char *def, char *out, size_t cap);

/* Message for a store error code, for the envelope. */
const char *gw_api_store_msg(int rc);

#endif
