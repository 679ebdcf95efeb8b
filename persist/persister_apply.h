/* Internal to the ledger persister (persister.c): one ledger stream entry, parsed
 * from its XRANGE field/value array and applied to SQL. The entry formats are in
 * scripts/README.md; persister.h has the exactly-once rule this serves. */
#ifndef GW_PERSIST_PERSISTER_APPLY_H
#define GW_PERSIST_PERSISTER_APPLY_H
#include <hiredis/hiredis.h>
#include "persist/store.h"

struct gw__ledger_entry {
    const redisReply *f;            /* field/value array */
    long long uid, tid, cid, ts, log;
    long long d[6];                 /* dq du drc dtr dtu dcu */
    long long pt, ct, quota, stream, ut;
};

/* Reads the numeric fields of f (a field/value array) into e; e->f keeps f, which
 * must outlive e (text fields are read from it when applied). GW_EINVAL with *why
 * set (a static string) when the type is unknown or a field is missing or not a
 * signed 64-bit decimal. */
int gw__ledger_entry_parse(const redisReply *f, struct gw__ledger_entry *e, const char **why);

/* Applies e inside the caller's transaction: the logs row when e->log is set, then
 * the non-zero deltas on users, tokens and channels (a missing row matches nothing
 * and is not an error). Text is made valid UTF-8 without NUL and cut to its column
 * size first, so every dialect accepts it. GW_OK or the store's error; the caller
 * rolls back. */
int gw__ledger_entry_apply(gw_store *db, const struct gw__ledger_entry *e);

#endif
