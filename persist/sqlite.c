/* SQLite backend. Several gateway processes may share one database file, so the file
 * runs in WAL mode (readers never block the writer) with a 30 s busy timeout, the
 * reference's _busy_timeout=30000.
 *
 * Prepared statements are cached per connection, keyed by the exact SQL text: parsing
 * dominated the ledger persister's CPU when every call re-prepared. The cache holds at
 * most STMT_CACHE statements and evicts the least recently used one, so SQL text that
 * varies (admin filters, DDL) cannot grow it. A statement is reset and its bindings
 * cleared right after each use, error or not, so none keeps a read snapshot open or
 * points at the caller's (SQLITE_STATIC) text. */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "persist/store.h"

#define BUSY_TIMEOUT_MS 30000
#define STMT_CACHE 32

struct cached {
    sqlite3_stmt *st;           /* NULL = free slot */
    char *sql;                  /* the key: a copy of the text it was prepared from */
    size_t len;
    unsigned long long used;    /* tick of the last use, for LRU eviction */
};

struct lite {
    sqlite3 *db;
    char errmsg[512];
    struct cached cache[STMT_CACHE];
    unsigned long long tick;
};

static int map_error(struct lite *c, int rc)
{
    snprintf(c->errmsg, sizeof c->errmsg, "%s", sqlite3_errmsg(c->db));
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: {
        int ext = sqlite3_extended_errcode(c->db);
        return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY
            ? GW_ECONFLICT : GW_EINVAL;
    }
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return GW_EAGAIN;
    case SQLITE_NOMEM: return GW_ENOMEM;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_NOTADB:
    case SQLITE_READONLY: return GW_EIO;
    default: return GW_EINVAL;
    }
}

static int lite_open(const char *dsn, const char *sqlite_path, void **be, char *err,
                     size_t errlen)
{
    struct lite *c = gw_calloc(1, sizeof *c);
    char path[4096];
    const char *src = sqlite_path && *sqlite_path ? sqlite_path : "one-api.db";
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc;
    if (c == NULL) {
        gw__store_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    /* SQLITE_PATH may carry Go driver parameters ("one-api.db?_busy_timeout=30000");
     * they are the defaults here anyway. A "file:" URI keeps its query for SQLite. */
    if (strncmp(src, "file:", 5) == 0) {
        flags |= SQLITE_OPEN_URI;
        snprintf(path, sizeof path, "%s", src);
    } else {
        snprintf(path, sizeof path, "%.*s", (int)strcspn(src, "?"), src);
    }
    if ((rc = sqlite3_open_v2(path, &c->db, flags, NULL)) != SQLITE_OK) {
        gw__store_err(err, errlen, "sqlite %s: %s", path,
                      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        gw_free(c);
        return GW_EIO;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* Switching to WAL takes an exclusive lock; the busy timeout above covers other
     * processes opening the same file at the same moment. */
    rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        gw__store_err(err, errlen, "sqlite %s: journal_mode=WAL: %s", path,
                      sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        gw_free(c);
        return GW_EIO;
    }
    *be = c;
    return GW_OK;
}

static void drop_cached(struct cached *e)
{
    sqlite3_finalize(e->st);
    gw_free(e->sql);
    *e = (struct cached){ 0 };
}

static void lite_close(void *be)
{
    struct lite *c = be;
    /* Unfinalized statements would turn sqlite3_close_v2 into a zombie close. */
    for (size_t i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].st)
            drop_cached(&c->cache[i]);
    sqlite3_close_v2(c->db);
    gw_free(c);
}

static int bind_args(struct lite *c, sqlite3_stmt *st, const gw_sql_arg *args, size_t n)
{
    if ((size_t)sqlite3_bind_parameter_count(st) != n) {
        snprintf(c->errmsg, sizeof c->errmsg, "statement has %d placeholders, %zu arguments",
                 sqlite3_bind_parameter_count(st), n);
        return GW_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        int rc, at = (int)i + 1;
        switch (args[i].type) {
        case GW_ARG_INT: rc = sqlite3_bind_int64(st, at, args[i].i); break;
        case GW_ARG_DOUBLE: rc = sqlite3_bind_double(st, at, args[i].d); break;
        case GW_ARG_TEXT:
            rc = sqlite3_bind_text64(st, at, args[i].s ? args[i].s : "", args[i].len,
                                     SQLITE_STATIC, SQLITE_UTF8);
            break;
        default: rc = sqlite3_bind_null(st, at); break;
        }
        if (rc != SQLITE_OK)
            return map_error(c, rc);
    }
    return GW_OK;
}

/* Ends one use of a statement from prepare(): a cached one is reset for the next use
 * (its error, if any, was already mapped), an uncached one finalized. */
static void release(sqlite3_stmt *st, int cached)
{
    if (!cached) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Slot for a new statement: a free one, else the least recently used, finalized. */
static struct cached *cache_slot(struct lite *c)
{
    struct cached *victim = &c->cache[0];
    for (size_t i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].st == NULL)
            return &c->cache[i];
        if (c->cache[i].used < victim->used)
            victim = &c->cache[i];
    }
    drop_cached(victim);
    return victim;
}

/* The statement for sql with args bound, from the cache or freshly prepared (and then
 * cached). *cached tells release() what to do with it. */
static int prepare(struct lite *c, const char *sql, const gw_sql_arg *args, size_t n,
                   sqlite3_stmt **st, int *cached)
{
    size_t len = strlen(sql);
    struct cached *e = NULL;
    const char *tail = NULL;
    int rc;

    *st = NULL;
    *cached = 0;
    for (size_t i = 0; i < STMT_CACHE && e == NULL; i++)
        if (c->cache[i].st && c->cache[i].len == len && memcmp(c->cache[i].sql, sql, len) == 0)
            e = &c->cache[i];
    if (e == NULL) {
        rc = sqlite3_prepare_v3(c->db, sql, len < INT_MAX ? (int)len + 1 : -1,
                                SQLITE_PREPARE_PERSISTENT, st, &tail);
        if (rc != SQLITE_OK)
            return map_error(c, rc);
        if (*st == NULL) {
            snprintf(c->errmsg, sizeof c->errmsg, "empty statement");
            return GW_EINVAL;
        }
        /* SQLite would silently ignore a second statement; MySQL and PostgreSQL reject
         * it. Reject it here too, so a mistake shows on every dialect. */
        tail += strspn(tail, " \t\r\n;");
        if (*tail != '\0') {
            snprintf(c->errmsg, sizeof c->errmsg, "more than one statement");
            sqlite3_finalize(*st);
            *st = NULL;
            return GW_EINVAL;
        }
        e = cache_slot(c);
        if ((e->sql = gw_malloc(len + 1)) != NULL) {
            memcpy(e->sql, sql, len + 1);
            e->len = len;
            e->st = *st;
        } else {
            e = NULL;           /* used once and finalized */
        }
    }
    if (e) {
        *st = e->st;
        e->used = ++c->tick;
        *cached = 1;
    }
    if ((rc = bind_args(c, *st, args, n)) != GW_OK) {
        release(*st, *cached);
        *st = NULL;
    }
    return rc;
}

static int lite_exec(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                     long long *affected, long long *insert_id)
{
    struct lite *c = be;
    sqlite3_stmt *st;
    int cached, rc = prepare(c, sql, args, n, &st, &cached);
    if (rc != GW_OK)
        return rc;
    c->errmsg[0] = '\0';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    rc = rc == SQLITE_DONE ? GW_OK : map_error(c, rc);
    release(st, cached);
    if (rc == GW_OK && affected)
        *affected = sqlite3_changes64(c->db);
    if (rc == GW_OK && insert_id)
        *insert_id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static int lite_insert(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                       long long *id)
{
    return lite_exec(be, sql, args, n, NULL, id);
}

static int lite_query(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                      gw_rows **out)
{
    struct lite *c = be;
    sqlite3_stmt *st;
    gw_rows *r;
    int cached, rc = prepare(c, sql, args, n, &st, &cached);
    if (rc != GW_OK)
        return rc;
    c->errmsg[0] = '\0';
    size_t ncols = (size_t)sqlite3_column_count(st);
    if ((r = gw__rows_new(ncols)) == NULL) {
        release(st, cached);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < ncols && rc == GW_OK; i++)
        rc = gw__rows_set_name(r, i, sqlite3_column_name(st, (int)i));
    while (rc == GW_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = map_error(c, step);
            break;
        }
        rc = gw__rows_add_row(r);
        for (size_t i = 0; i < ncols && rc == GW_OK; i++) {
            const unsigned char *v = sqlite3_column_text(st, (int)i);
            size_t len = (size_t)sqlite3_column_bytes(st, (int)i);
            if (v == NULL && sqlite3_column_type(st, (int)i) != SQLITE_NULL)
                rc = GW_ENOMEM;
            else
                rc = gw__rows_set(r, i, (const char *)v, len);
        }
    }
    release(st, cached);
    if (rc != GW_OK) {
        gw_rows_free(r);
        return rc;
    }
    *out = r;
    return GW_OK;
}

static int lite_ping(void *be) { return GW_OK; }

static const char *lite_errmsg(const void *be)
{
    return ((const struct lite *)be)->errmsg;
}

const struct gw_store_ops gw__store_sqlite = {
    .name = "sqlite",
    .kind = GW_DB_SQLITE,
    .begin_sql = "BEGIN IMMEDIATE",
    .open = lite_open,
    .close = lite_close,
    .exec = lite_exec,
    .insert = lite_insert,
    .query = lite_query,
    .ping = lite_ping,
    .errmsg = lite_errmsg,
    .lock = NULL,           /* BEGIN IMMEDIATE per migration file is the lock */
    .unlock = NULL,
};
