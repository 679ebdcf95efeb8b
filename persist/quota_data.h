/* Internal to the ledger persister: the hourly usage aggregates of new-api's
 * `quota_data` table (reference model/usedata.go), which the console's dashboard
 * reads through /api/data.
 *
 * One row per (user_id, username, model_name, created_at, use_group, token_id,
 * channel_id, node_name), created_at being the unix hour (seconds rounded down to a
 * multiple of 3600), holding count (calls), quota (charged) and token_used (prompt +
 * completion tokens), as the reference's LogQuotaData keys it. Only `consume`
 * entries that write a consume log row (log type 2) count, one call each, so the
 * table always sums to the consume rows of `logs`. node_name is left '': an entry
 * does not say which replica served the call.
 *
 * Exactly once: the sums of a batch are added inside the batch's own transaction,
 * the one that inserts its log rows and moves the stream's cursor (persister.h), so
 * an entry the cursor has passed is never added again, and a batch rolled back adds
 * nothing. Each key is added to the oldest row holding it (SELECT ... LIMIT 1, then
 * UPDATE by id, or INSERT). A user's entries are all in one shard, whose batches are
 * serialized by the cursor row lock, so a key gets one row; should a database (one
 * new-api wrote) hold several, one of them is added to and the readers' SUM ...
 * GROUP BY counts each call once.
 *
 * The option DataExportEnabled ("true" unless saved otherwise) is read in the same
 * transaction: entries applied while it is off are not aggregated, as the reference
 * stops recording then. */
#ifndef GW_PERSIST_QUOTA_DATA_H
#define GW_PERSIST_QUOTA_DATA_H
#include "persist/store.h"

struct gw__qd_row {
    long long uid, tid, cid, hour;
    char *uname, *model, *group;    /* owned; cleaned and cut to 64 bytes */
    long long count, quota, tokens;
};
struct gw__qd_acc {
    struct gw__qd_row *v;           /* owned; grows as needed */
    size_t n, cap;
};

/* Adds one call. Text pointers are copied (invalid UTF-8 becomes '?'). GW_OK or
 * GW_ENOMEM (then nothing was added). */
int gw__qd_add(struct gw__qd_acc *a, long long uid, long long tid, long long cid, long long ts,
               const char *uname, size_t unlen, const char *model, size_t mlen,
               const char *group, size_t glen, long long quota, long long tokens);
/* Adds the summed rows to quota_data inside the caller's transaction (nothing when
 * DataExportEnabled is off), in key order. Empties a in every case. GW_OK or the
 * store's error (the caller rolls back). */
int gw__qd_flush(struct gw__qd_acc *a, gw_store *db);
/* Empties a (a rolled-back batch). */
void gw__qd_reset(struct gw__qd_acc *a);
/* Frees the storage; a is empty and reusable after. */
void gw__qd_free(struct gw__qd_acc *a);

#endif
