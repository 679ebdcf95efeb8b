/* Cold start of Redis from SQL: see warm.h for the keys and the consistency rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gateway/core/clock.h"
#include "gateway/core/log.h"
#include "persist/persister.h"
#include "persist/redis_rows.h"
#include "persist/warm.h"

#define MARKER "tf:warm"
#define LOCK "tf:warm:lock"

/* Compare-and-act on the lock, so a loader whose lock expired never extends or frees
 * the next holder's. Constant text, loaded once per call by EVAL's script cache. */
static const char renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

struct warm {
    gw_store *db;
    redisContext *rc;
    struct gw_warm_opts o;
    char token[320];
    long long deadline;
    struct gw_warm_result *res;
};

static redisReply *run_cmd(redisContext *c, int argc, const char **argv)
{
    size_t len[16];

    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return redisCommandArgv(c, argc, argv, len);
}

/* Runs a command whose reply is checked by type: GW_OK, or GW_EIO. */
static int rexpect(redisContext *c, int argc, const char **argv, int type, long long *ival)
{
    redisReply *r = run_cmd(c, argc, argv);
    int rc = r && r->type == type ? GW_OK : GW_EIO;

    if (r && r->type == REDIS_REPLY_ERROR)
        GW_ERROR("warm: %s: %s", argv[0], r->str);
    if (rc == GW_OK && ival && type == REDIS_REPLY_INTEGER)
        *ival = r->integer;
    if (r)
        freeReplyObject(r);
    return rc;
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int renew(struct warm *w)
{
    char ttl[16];
    long long ok = 0;

    snprintf(ttl, sizeof ttl, "%u", w->o.lock_ttl_ms);
    const char *argv[] = { "EVAL", renew_lua, "1", LOCK, w->token, ttl };
    if (rexpect(w->rc, 6, argv, REDIS_REPLY_INTEGER, &ok) != GW_OK)
        return GW_EIO;
    if (!ok) {
        GW_ERROR("warm: lost %s while loading; another replica may be loading", LOCK);
        return GW_ECONFLICT;
    }
    return GW_OK;
}

/* ---- the ledger barrier ---------------------------------------------------------- */

/* *quiet = 1 when no stream has an entry after its SQL cursor; last[] gets each
 * stream's last-generated-id (0-0 when the stream does not exist). */
static int ledger_state(struct warm *w, struct gw_stream_id last[GW_LEDGER_SHARDS],
                        int *quiet)
{
    gw_rows *rows = NULL;
    int rc = gw_store_query(w->db, "SELECT `stream`, `last_id` FROM `ledger_cursors`", NULL,
                            0, &rows);

    if (rc != GW_OK) {
        GW_ERROR("warm: reading ledger_cursors: %s", gw_store_errmsg(w->db));
        return rc;
    }
    *quiet = 1;
    for (int s = 0; s < GW_LEDGER_SHARDS && rc == GW_OK; s++) {
        char key[32], from[56] = "-";
        struct gw_stream_id cur = {0, 0};
        redisReply *r;

        gw__ledger_key(s, key, sizeof key);
        for (size_t i = 0; i < gw_rows_count(rows); i++) {
            const char *k = gw_rows_get(rows, i, 0), *v = gw_rows_get(rows, i, 1);
            if (k && v && strcmp(k, key) == 0 && gw__stream_id_parse(v, strlen(v), &cur) == 0)
                snprintf(from, sizeof from, "(%s", v);
        }
        const char *xr[] = { "XRANGE", key, from, "+", "COUNT", "1" };
        if ((r = run_cmd(w->rc, 6, xr)) == NULL || r->type != REDIS_REPLY_ARRAY)
            rc = GW_EIO;
        else if (r->elements > 0)
            *quiet = 0;
        if (r)
            freeReplyObject(r);
        last[s] = (struct gw_stream_id){0, 0};
        const char *xi[] = { "XINFO", "STREAM", key };
        if (rc != GW_OK || (r = run_cmd(w->rc, 3, xi)) == NULL) {
            rc = GW_EIO;
            break;
        }
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
            if (strcmp(r->element[i]->str, "last-generated-id") == 0 &&
                r->element[i + 1]->type == REDIS_REPLY_STRING)
                gw__stream_id_parse(r->element[i + 1]->str, r->element[i + 1]->len, &last[s]);
        freeReplyObject(r);     /* an error reply = no such stream: 0-0 */
    }
    gw_rows_free(rows);
    return rc;
}

/* Waits, renewing the lock, until the ledger is quiet. */
static int wait_quiet(struct warm *w, struct gw_stream_id last[GW_LEDGER_SHARDS])
{
    long long t0 = gw_clock_wall_ms();
    int quiet = 0, rc;

    for (;;) {
        if ((rc = ledger_state(w, last, &quiet)) != GW_OK || quiet)
            break;
        if (gw_clock_wall_ms() >= w->deadline) {
            GW_ERROR("warm: the ledger still has unapplied entries; is the persister "
                     "running?");
            rc = GW_ETIMEDOUT;
            break;
        }
        if ((rc = renew(w)) != GW_OK)
            break;
        nap_ms(100);
    }
    w->res->waited_ms += gw_clock_wall_ms() - t0;
    return rc;
}

/* ---- loading ------------------------------------------------------------------- */

/* The replies of n pipelined commands; GW_EIO if any failed. */
static int drain(redisContext *c, size_t n)
{
    int rc = GW_OK;

    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        redisReply *r;
        if (redisGetReply(c, &v) != REDIS_OK)
            return GW_EIO;
        r = v;
        if (r->type == REDIS_REPLY_ERROR) {
            GW_ERROR("warm: pipelined command: %s", r->str);
            rc = GW_EIO;
        }
        freeReplyObject(r);
    }
    return rc;
}

/* A row to Redis commands (redis_rows.h). GW_EINVAL: a row nothing can use (a token
 * without owner or key), skipped. */
typedef int (*row_cb)(struct gw_rcmds *b, const gw_rows *rows, size_t r);

/* Cold start: money fields too, with nothing reserved. */
static int user_row(struct gw_rcmds *b, const gw_rows *rows, size_t r)
{
    return gw_rr_user(b, rows, r, 1);
}

static int token_row(struct gw_rcmds *b, const gw_rows *rows, size_t r)
{
    return gw_rr_token(b, rows, r, 1);
}

/* Builds one page's commands and sends them as one pipeline; *count gets the rows
 * mirrored. */
static int send_page(struct warm *w, const gw_rows *rows, row_cb cb, long long *count)
{
    struct gw_rcmds b;
    int rc = GW_OK;

    gw_rcmds_init(&b);
    for (size_t r = 0; r < gw_rows_count(rows) && rc == GW_OK; r++) {
        rc = cb(&b, rows, r);
        if (rc == GW_OK)
            ++*count;
        else if (rc == GW_EINVAL)
            rc = GW_OK;
    }
    for (size_t i = 0; i < b.n && rc == GW_OK; i++)
        if (redisAppendCommandArgv(w->rc, b.cmd[i].argc, (const char **)b.cmd[i].argv,
                                   b.cmd[i].len) != REDIS_OK)
            rc = GW_ENOMEM;
    if (rc == GW_OK)
        rc = drain(w->rc, b.n);
    gw_rcmds_free(&b);
    return rc;
}

/* Pages through sql (which ends "WHERE ... `id` > ? ORDER BY `id` LIMIT ?"), one
 * pipeline per page, renewing the lock between pages. */
static int load_table(struct warm *w, const char *sql, row_cb cb, long long *count)
{
    long long after = 0;

    for (;;) {
        gw_sql_arg a[] = { GW_SQL_INT(after), GW_SQL_INT(w->o.chunk) };
        gw_rows *rows = NULL;
        size_t nrows;
        int rc = gw_store_query(w->db, sql, a, 2, &rows);

        if (rc != GW_OK) {
            GW_ERROR("warm: %s", gw_store_errmsg(w->db));
            return rc;
        }
        nrows = gw_rows_count(rows);
        if (nrows > 0)
            gw_rows_int(rows, nrows - 1, 0, &after);
        rc = send_page(w, rows, cb, count);
        gw_rows_free(rows);
        if (rc != GW_OK)
            return rc;
        if (nrows < w->o.chunk)
            return GW_OK;
        if ((rc = renew(w)) != GW_OK)
            return rc;
    }
}

static int load_all(struct warm *w)
{
    struct gw_warm_result *res = w->res;
    int rc;

    res->users = res->tokens = res->channels = 0;
    if ((rc = load_table(w,
            "SELECT " GW_RR_USER_COLS " FROM users WHERE deleted_at IS NULL AND id > ? "
            "ORDER BY id LIMIT ?", user_row, &res->users)) != GW_OK)
        return rc;
    if ((rc = load_table(w,
            "SELECT " GW_RR_TOKEN_COLS " FROM tokens WHERE deleted_at IS NULL AND id > ? "
            "ORDER BY id LIMIT ?", token_row, &res->tokens)) != GW_OK)
        return rc;
    return load_table(w,
            "SELECT " GW_RR_CHANNEL_COLS " FROM channels WHERE id > ? ORDER BY id LIMIT ?",
            gw_rr_channel, &res->channels);
}

/* Holding the lock: barrier, load, barrier again; then the marker. */
static int load_locked(struct warm *w)
{
    struct gw_stream_id before[GW_LEDGER_SHARDS], after[GW_LEDGER_SHARDS];
    int rc, quiet;

    for (;;) {
        if ((rc = wait_quiet(w, before)) != GW_OK || (rc = load_all(w)) != GW_OK ||
            (rc = ledger_state(w, after, &quiet)) != GW_OK)
            return rc;
        if (memcmp(before, after, sizeof before) == 0)
            break;
        GW_WARN("warm: the ledger moved during the load; loading again once it is applied");
        if ((rc = renew(w)) != GW_OK)
            return rc;
    }
    if ((rc = renew(w)) != GW_OK)
        return rc;
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", gw_clock_wall_ms());
    const char *set[] = { "SET", MARKER, ts };
    if (rexpect(w->rc, 3, set, REDIS_REPLY_STATUS, NULL) != GW_OK)
        return GW_EIO;
    w->res->loaded = 1;
    GW_INFO("warm: loaded %lld users, %lld tokens, %lld channels into Redis",
            w->res->users, w->res->tokens, w->res->channels);
    return GW_OK;
}

/* 1 if the marker exists, 0 if not, <0 on error. */
static int marker(redisContext *c)
{
    const char *argv[] = { "EXISTS", MARKER };
    long long n = 0;
    return rexpect(c, 2, argv, REDIS_REPLY_INTEGER, &n) == GW_OK ? n > 0 : GW_EIO;
}

int gw_warm_run(gw_store *db, redisContext *rc, const struct gw_warm_opts *o,
                struct gw_warm_result *res)
{
    struct warm w = { .db = db, .rc = rc };
    struct gw_warm_result scratch;
    char host[256] = "localhost", ttl[16];
    long long t0 = gw_clock_wall_ms();
    int m, err;

    if (res == NULL)
        res = &scratch;
    memset(res, 0, sizeof *res);
    w.res = res;
    if (o)
        w.o = *o;
    w.o.wait_ms = w.o.wait_ms ? w.o.wait_ms : 120000;
    w.o.lock_ttl_ms = w.o.lock_ttl_ms ? w.o.lock_ttl_ms : 30000;
    w.o.chunk = w.o.chunk ? w.o.chunk : 500;
    w.deadline = t0 + w.o.wait_ms;
    gethostname(host, sizeof host - 1);
    snprintf(w.token, sizeof w.token, "%s:%ld:%lld", host, (long)getpid(), t0);
    snprintf(ttl, sizeof ttl, "%u", w.o.lock_ttl_ms);

    for (;;) {
        if ((m = marker(rc)) != 0)
            break;
        const char *argv[] = { "SET", LOCK, w.token, "NX", "PX", ttl };
        redisReply *r = run_cmd(rc, 6, argv);
        if (r == NULL)
            return GW_EIO;
        int got = r->type == REDIS_REPLY_STATUS;   /* nil: someone else holds it */
        freeReplyObject(r);
        if (got) {
            res->waited_ms = gw_clock_wall_ms() - t0;
            err = load_locked(&w);
            const char *rel[] = { "EVAL", release_lua, "1", LOCK, w.token };
            rexpect(rc, 5, rel, REDIS_REPLY_INTEGER, NULL);
            return err;
        }
        if (gw_clock_wall_ms() >= w.deadline) {
            res->waited_ms = gw_clock_wall_ms() - t0;
            return GW_ETIMEDOUT;
        }
        nap_ms(100);
    }
    res->waited_ms = gw_clock_wall_ms() - t0;
    return m < 0 ? GW_EIO : GW_OK;
}
