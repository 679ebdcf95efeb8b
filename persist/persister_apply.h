/* Internal to the ledger persister (persister.c): one ledger stream entry, parsed
 * from its XRANGE field/value array and applied to SQL. The entry formats are in
 * scripts/README.md; persister.h has the exactly-once rule this serves. */
#ifndef GW_PERSIST_PERSISTER_APPLY_H
#define GW_PERSIST_PERSISTER_APPLY_H
#include <hiredis/hiredis.h>
#include "persist/quota_data.h"
#include "persist/store.h"

struct gw__ledger_entry {
    const redisReply *f;            /* field/value array */
    long long uid, tid, cid, ts, log;
    long long d[6];                 /* dq du drc dtr dtu dcu */
    long long pt, ct, quota, stream, ut;
    int consume;                    /* type is "consume" */
};

/* Reads the numeric fields of f (a field/value array) into e; e->f keeps f, which
 * must outlive e (text fields are read from it when applied). GW_EINVAL with *why
 * set (a static string) when the type is unknown or a field is missing or not a
 * signed 64-bit decimal. */
int gw__ledger_entry_parse(const redisReply *f, struct gw__ledger_entry *e, const char **why);

/* Deltas of one batch, summed per row: one UPDATE per distinct user, token and channel
 * at the end of the batch instead of up to three per entry. */
struct gw__ledger_delta {
    int table;                      /* 0 users, 1 tokens, 2 channels */
    long long id;
    long long d[3];                 /* users: dq du drc; tokens: dtr dtu; channels: dcu */
};
struct gw__ledger_acc {
    struct gw__ledger_delta *v;     /* owned; grows as needed */
    size_t n, cap;
    struct gw__qd_acc qd;           /* the batch's calls for quota_data (quota_data.h) */
};

/* An empty accumulator; it allocates on first use. */
void gw__ledger_acc_init(struct gw__ledger_acc *a);
/* Adds e's deltas, and a consume entry with a consume log row as one call of its
 * quota_data hour. Ids <= 0 are not rows and are left out. GW_OK or GW_ENOMEM (the
 * caller rolls the batch back). */
int gw__ledger_acc_add(struct gw__ledger_acc *a, const struct gw__ledger_entry *e);
/* Issues, inside the caller's transaction, one UPDATE table SET c = c + ? ... WHERE
 * id = ? per distinct row, in table then id order, over its non-zero summed deltas
 * only (a missing row matches nothing and is not an error). A sum that would overflow
 * 64 bits is split over several UPDATEs, so the outcome equals applying each entry on
 * its own. Then the batch's calls are added to quota_data (gw__qd_flush). Empties a
 * on success and on failure (the caller rolls back, and a retry adds the entries
 * again). GW_OK or the store's error. */
int gw__ledger_acc_flush(struct gw__ledger_acc *a, gw_store *db);
/* Forgets what was added (for a batch that is rolled back). */
void gw__ledger_acc_reset(struct gw__ledger_acc *a);
/* Frees the storage; a is empty and reusable after. */
void gw__ledger_acc_free(struct gw__ledger_acc *a);

/* Applies e inside the caller's transaction: the logs row when e->log is set; its
 * deltas on users, tokens and channels go to a, for gw__ledger_acc_flush() before the
 * transaction commits. Text is made valid UTF-8 without NUL and cut to its column size
 * first, so every dialect accepts it. GW_OK or the store's error (or GW_ENOMEM); the
 * caller rolls back. */
int gw__ledger_entry_apply(gw_store *db, struct gw__ledger_acc *a,
                           const struct gw__ledger_entry *e);

#endif
