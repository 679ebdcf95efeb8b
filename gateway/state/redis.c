/* Async Redis client on a libuv loop: see redis.h for the contract.
 *
 * Shape. Every accepted command is an `op` on one list in deadline order
 * (all ops get the same timeout, and uv_now() never goes back, so appending
 * keeps the order); one uv_timer is armed for the head. An op is "done" once
 * its callback has run; its memory lives on while hiredis still holds it as
 * privdata (op->inflight), so a late reply finds it and is dropped.
 *
 * Connection states: DOWN (waiting for the reconnect timer), CONNECTING
 * (socket and AUTH/SELECT/PING handshake in flight; ops are held, formatted,
 * on our list and sent when the handshake completes), READY.
 *
 * hiredis 0.14 rules this file lives by (async.c):
 * - redisAsyncFree() inside a reply callback only sets a flag; the context
 *   is freed after the callback returns, running the remaining callbacks
 *   with reply == NULL. Outside a callback it frees at once, running them
 *   synchronously. Either way a NULL reply means "this context is dying".
 * - onConnect and onDisconnect run outside that protection: freeing the
 *   context there is a use-after-free. So they only do bookkeeping and never
 *   call user code; users are told about a failed connect by the NULL reply
 *   of the handshake command that is always queued.
 * - The gw_redis itself is freed only in the close callback of its handles,
 *   i.e. in the loop's closing phase, never under a hiredis call stack.
 *
 * Events: our own hiredis adapter (redis_ev.c) reads on one uv_poll per
 * connection and sends the commands of one loop iteration in one write. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <hiredis/async.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/state/redis.h"
#include "gateway/state/redis_ev.h"
#include "gateway/state/scripts.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define CONNECT_MIN_MS 1000
#define DEAD_MIN_MS 2000

enum { ST_DOWN, ST_CONNECTING, ST_READY };

struct op {
    struct op *prev, *next; /* pending list, while !done */
    gw_redis *r;
    gw_redis_cb cb;
    void *data;
    uint64_t deadline;
    char *cmd; /* formatted; kept while held, and for a script's retry */
    size_t cmdlen;
    const struct gw_script *script;
    unsigned inflight; /* hiredis callbacks still to come with this op */
    unsigned done : 1, held : 1, retried : 1, orphan : 1;
    unsigned in_cb : 1; /* its callback is running: do not free it yet */
};

struct gw_redis {
    uv_loop_t *loop;
    struct gw_redis_addr addr;
    redisAsyncContext *ac; /* NULL when DOWN, or once we gave it up */
    int state;
    unsigned timeout_ms, connect_ms, dead_ms, backoff_ms;
    uv_timer_t op_timer;   /* deadlines and dead-connection check */
    uv_timer_t conn_timer; /* reconnect backoff, or connect deadline */
    uint64_t due;          /* when op_timer is set to fire */
    struct op *head, *tail;
    unsigned nheld;
    unsigned long outstanding; /* op commands written, not yet answered */
    unsigned long orphans;     /* timed-out ops still awaiting a reply */
    uint64_t last_progress;    /* last reply, or first send after idle */
    int was_ready, freeing, open_handles;
    struct gw__redis_flusher flusher; /* its check and prepare handles */
    struct gw_redis_stats st;
    char last_err[256]; /* a short "what" and hiredis' errstr[128] fit whole */
};

/* Handshake markers passed as privdata. */
static char hs_step, hs_last;

static void conn_start(gw_redis *r);
static void on_op_timer(uv_timer_t *t);
static void on_conn_timer(uv_timer_t *t);

static void set_err(gw_redis *r, const char *what, const char *detail)
{
    snprintf(r->last_err, sizeof r->last_err, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

/* ---- ops ----------------------------------------------------------------- */

static void op_unlink(gw_redis *r, struct op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        r->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        r->tail = op->prev;
    op->prev = op->next = NULL;
}

static void op_release(struct op *op)
{
    if (op->cmd != NULL)
        redisFreeCommand(op->cmd);
    gw_free(op);
}

static void release_if_idle(gw_redis *r, struct op *op)
{
    if (op->inflight > 0 || op->in_cb)
        return;
    if (op->orphan)
        r->orphans--;
    op_release(op);
}

/* Delivers the one callback of op and takes it off the pending list. */
static void finish(struct op *op, int status, redisReply *reply)
{
    gw_redis *r = op->r;

    op_unlink(r, op);
    op->done = 1;
    if (op->held) {
        op->held = 0;
        r->nheld--;
    }
    if (status == GW_ETIMEDOUT) {
        r->st.timeouts++;
        if (op->inflight > 0) {
            op->orphan = 1;
            r->orphans++;
        }
    } else if (status == GW_OK) {
        r->st.replies++;
    }
    /* The callback may free the client, whose teardown runs this op's
     * pending hiredis callback (reply NULL) right now: in_cb keeps it alive
     * until we are done with it here. */
    op->in_cb = 1;
    op->cb(status, reply, op->data);
    op->in_cb = 0;
    release_if_idle(r, op);
}

static void fail_pending(gw_redis *r, int status)
{
    struct op *op;

    while ((op = r->head) != NULL)
        finish(op, status, NULL);
}

static void arm(gw_redis *r)
{
    uint64_t due = UINT64_MAX, now;

    if (r->freeing)
        return;
    if (r->head)
        due = r->head->deadline;
    if (r->orphans > 0 && r->state == ST_READY && r->last_progress + r->dead_ms < due)
        due = r->last_progress + r->dead_ms;
    if (due == UINT64_MAX)
        return; /* a stale firing later just finds nothing to do */
    if (uv_is_active((uv_handle_t *)&r->op_timer) && r->due <= due)
        return;
    now = uv_now(r->loop);
    r->due = due;
    /* At least 1 ms: libuv 1.44 runs a 0 ms timer restarted from its own
     * callback again in the same pass, forever. */
    uv_timer_start(&r->op_timer, on_op_timer, due > now ? due - now : 1, 0);
}

/* ---- connection ---------------------------------------------------------- */

/* Bookkeeping when a connection is gone or given up: no user code runs, so
 * this is safe in onConnect/onDisconnect. */
static void conn_lost(gw_redis *r)
{
    r->ac = NULL;
    r->state = ST_DOWN;
    r->outstanding = 0;
    if (r->freeing)
        return;
    uv_timer_start(&r->conn_timer, on_conn_timer, r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* Gives up the current connection and fails every pending op with status.
 * Not for onConnect/onDisconnect (see the top of the file). Inside a reply
 * callback hiredis defers the free until the callback returns. */
static void conn_abort(gw_redis *r, int status)
{
    redisAsyncContext *ac = r->ac;

    conn_lost(r);
    if (ac != NULL)
        redisAsyncFree(ac);
    fail_pending(r, status);
}


/* A NULL reply or onDisconnect for ac: if it is still our connection,
 * hiredis is tearing it down. Returns 1 then (bookkeeping done). */
static int lost(gw_redis *r, const redisAsyncContext *ac)
{
    const char *why = ac->errstr && ac->errstr[0] ? ac->errstr : ac->c.errstr;

    if (r->ac != ac)
        return 0;
    set_err(r, r->state == ST_READY ? "connection lost" : "connect failed",
            why[0] ? why : NULL);
    conn_lost(r);
    return 1;
}


static void on_reply(redisAsyncContext *ac, void *rep, void *priv);

static int send_op(gw_redis *r, struct op *op)
{
    if (redisAsyncFormattedCommand(r->ac, on_reply, op, op->cmd, op->cmdlen) != REDIS_OK)
        return GW_ECLOSED;
    op->inflight++;
    if (r->outstanding++ == 0)
        r->last_progress = uv_now(r->loop);
    r->st.sent++;
    if (op->script == NULL) {
        redisFreeCommand(op->cmd);
        op->cmd = NULL;
    }
    return GW_OK;
}

static void on_load(redisAsyncContext *ac, void *rep, void *priv)
{
    struct op *op = priv;
    gw_redis *r = ac->data;
    int dying;

    /* The SCRIPT LOAD reply itself is not interesting: if the load failed,
     * the EVALSHA right behind it fails with NOSCRIPT and that is what the
     * caller sees. */
    op->inflight--;
    if (r->outstanding > 0)
        r->outstanding--;
    if (rep != NULL)
        r->last_progress = uv_now(r->loop);
    dying = rep == NULL && lost(r, ac);
    release_if_idle(r, op);
    if (dying)
        fail_pending(r, GW_ECLOSED);
}

/* NOSCRIPT: load the script and send the EVALSHA again, pipelined, so the
 * retry costs one round trip. */
static int retry_script(gw_redis *r, struct op *op)
{
    const struct gw_script *s = op->script;

    if (redisAsyncCommand(r->ac, on_load, op, "SCRIPT LOAD %b", s->text, s->len) != REDIS_OK)
        return GW_ECLOSED;
    op->inflight++;
    r->outstanding++;
    r->st.sent++;
    op->retried = 1;
    return send_op(r, op);
}

static int is_noscript(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR && reply->len >= 8 &&
           memcmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(redisAsyncContext *ac, void *rep, void *priv)
{
    struct op *op = priv;
    gw_redis *r = ac->data;
    redisReply *reply = rep;

    op->inflight--;
    if (r->outstanding > 0)
        r->outstanding--;
    if (reply == NULL) {
        int dying = lost(r, ac);
        if (op->done)
            release_if_idle(r, op);
        else
            finish(op, GW_ECLOSED, NULL);
        if (dying)
            fail_pending(r, GW_ECLOSED);
        return;
    }
    r->last_progress = uv_now(r->loop);
    if (op->done) {
        r->st.late_replies++;
        release_if_idle(r, op);
        return;
    }
    if (op->script && !op->retried && is_noscript(reply) && r->ac == ac &&
        retry_script(r, op) == GW_OK)
        return;
    finish(op, GW_OK, reply);
}

/* ---- handshake ----------------------------------------------------------- */

static void ready(gw_redis *r)
{
    r->state = ST_READY;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->last_err[0] = '\0';
    uv_timer_stop(&r->conn_timer);
    if (r->was_ready)
        r->st.reconnects++;
    r->was_ready = 1;
    r->last_progress = uv_now(r->loop);
    /* Only held ops can be pending while connecting; send them in order.
     * No user code runs in this loop. */
    for (struct op *op = r->head; op != NULL; op = op->next) {
        if (!op->held)
            continue;
        op->held = 0;
        r->nheld--;
        if (send_op(r, op) != GW_OK) {
            conn_abort(r, GW_ECLOSED);
            return;
        }
    }
}

static void on_handshake(redisAsyncContext *ac, void *rep, void *priv)
{
    gw_redis *r = ac->data;
    redisReply *reply = rep;

    if (reply == NULL) {
        if (lost(r, ac))
            fail_pending(r, GW_ECLOSED);
        return;
    }
    if (r->ac != ac)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Wrong password, bad db: the held ops fail now, and we keep
         * retrying with backoff in case the server's config changes. */
        set_err(r, "handshake refused", reply->str);
        conn_abort(r, GW_EIO);
        return;
    }
    if (priv == &hs_last)
        ready(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    gw_redis *r = ac->data;

    /* Bookkeeping only: hiredis frees ac right after this returns, and the
     * NULL reply of the queued handshake command does the rest. */
    if (status != REDIS_OK && r->ac == ac)
        set_err(r, "connect failed", ac->c.errstr[0] ? ac->c.errstr : NULL);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    /* Reached with our connection still current only when no command was
     * outstanding (otherwise a NULL reply came first), so no op is pending
     * and no user code needs to run. */
    lost(ac->data, ac);
}

static void conn_start(gw_redis *r)
{
    const struct gw_redis_addr *a = &r->addr;
    redisAsyncContext *ac;
    int ok = 1;

    ac = a->unix_path[0] ? redisAsyncConnectUnix(a->unix_path) : redisAsyncConnect(a->host, a->port);
    if (ac == NULL || ac->err || gw__redis_ev_attach(r->loop, &r->flusher, ac) != GW_OK) {
        set_err(r, "connect failed",
                ac == NULL ? "out of memory" : ac->err ? ac->errstr : "cannot poll the socket");
        if (ac != NULL)
            redisAsyncFree(ac); /* no callbacks set: nothing runs */
        conn_lost(r);
        return;
    }
    ac->data = r;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->state = ST_CONNECTING;
    /* Queued before the socket is up; hiredis writes them once it is. */
    if (a->password[0])
        ok &= redisAsyncCommand(ac, on_handshake, a->db ? &hs_step : &hs_last, "AUTH %s",
                                a->password) == REDIS_OK;
    if (a->db)
        ok &= redisAsyncCommand(ac, on_handshake, &hs_last, "SELECT %d", a->db) == REDIS_OK;
    if (!a->password[0] && !a->db)
        ok &= redisAsyncCommand(ac, on_handshake, &hs_last, "PING") == REDIS_OK;
    if (!ok) {
        set_err(r, "connect failed", "out of memory");
        conn_abort(r, GW_ECLOSED);
        return;
    }
    uv_timer_start(&r->conn_timer, on_conn_timer, r->connect_ms, 0);
}

/* ---- timers -------------------------------------------------------------- */

static void on_conn_timer(uv_timer_t *t)
{
    gw_redis *r = t->data;

    if (r->state == ST_CONNECTING) {
        set_err(r, "connect failed", "timed out");
        conn_abort(r, GW_ECLOSED);
    } else if (r->state == ST_DOWN) {
        conn_start(r);
    }
}

static void on_op_timer(uv_timer_t *t)
{
    gw_redis *r = t->data;
    uint64_t now = uv_now(r->loop);
    struct op *op;

    while ((op = r->head) != NULL && op->deadline <= now) {
        finish(op, GW_ETIMEDOUT, NULL);
        if (r->freeing)
            return;
    }
    /* Commands timed out and nothing has come back for dead_ms: the peer is
     * gone without a FIN (or hung). Replace the connection. */
    if (r->orphans > 0 && r->state == ST_READY && now - r->last_progress >= r->dead_ms) {
        set_err(r, "connection stalled", NULL);
        conn_abort(r, GW_ECLOSED);
        if (r->freeing)
            return;
    }
    arm(r);
}

static void handle_closed(gw_redis *r)
{
    if (--r->open_handles == 0)
        gw_free(r);
}

static void on_handle_closed(uv_handle_t *h) { handle_closed(h->data); }

static void on_flusher_closed(uv_handle_t *h)
{
    handle_closed(((struct gw__redis_flusher *)h->data)->owner);
}

/* ---- public -------------------------------------------------------------- */

gw_redis *gw_redis_new(uv_loop_t *loop, const struct gw_redis_addr *addr, unsigned timeout_ms)
{
    gw_redis *r;
    uint64_t t;

    if (loop == NULL || addr == NULL)
        return NULL;
    r = gw_calloc(1, sizeof *r);
    if (r == NULL)
        abort(); /* small and fixed: nothing sensible to do without it */
    r->loop = loop;
    r->addr = *addr;
    t = timeout_ms ? timeout_ms : 1000;
    r->timeout_ms = (unsigned)t;
    r->connect_ms = (unsigned)(2 * t > CONNECT_MIN_MS ? (2 * t > UINT32_MAX ? UINT32_MAX : 2 * t)
                                                      : CONNECT_MIN_MS);
    r->dead_ms = (unsigned)(10 * t > DEAD_MIN_MS ? (10 * t > UINT32_MAX ? UINT32_MAX : 10 * t)
                                                 : DEAD_MIN_MS);
    r->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &r->op_timer);
    uv_timer_init(loop, &r->conn_timer);
    gw__redis_flusher_init(loop, &r->flusher, r);
    r->op_timer.data = r->conn_timer.data = r;
    r->open_handles = 4;
    conn_start(r);
    return r;
}

int gw_redis_connected(const gw_redis *r)
{
    return r != NULL && r->state == ST_READY;
}

const char *gw_redis_last_error(const gw_redis *r)
{
    return r != NULL ? r->last_err : "";
}

/* Pub/sub and MONITOR make hiredis route replies differently from one reply
 * per command, which the op bookkeeping relies on. Matches hiredis's own
 * test in __redisAsyncCommand, plus the Redis 7 sharded variants. */
static int check_cmd(const char *cmd, size_t len)
{
    static const char *const blocked[] = {"subscribe", "unsubscribe", "monitor",
                                          "ssubscribe", "sunsubscribe"};
    const char *p = memchr(cmd, '$', len), *end = cmd + len, *nl;
    char name[16];
    size_t n = 0;

    if (p == NULL || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return GW_EINVAL; /* "*0\r\n": no command at all */
    for (p++; p < nl && *p >= '0' && *p <= '9' && n < sizeof name; p++)
        n = n * 10 + (size_t)(*p - '0');
    if (n == 0 || n >= sizeof name || nl + 1 + n > end)
        return n == 0 ? GW_EINVAL : GW_OK;
    memcpy(name, nl + 1, n);
    name[n] = '\0';
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if (strcasecmp(name, blocked[i]) == 0 ||
            ((name[0] == 'p' || name[0] == 'P') && strcasecmp(name + 1, blocked[i]) == 0))
            return GW_ENOTSUP;
    return GW_OK;
}

/* Takes ownership of cmd (formatted by hiredis) in every case. */
static int submit(gw_redis *r, gw_redis_cb cb, void *data, char *cmd, size_t len,
                  const struct gw_script *script)
{
    struct op *op;
    int rc = check_cmd(cmd, len);

    if (rc == GW_OK && (r->freeing || r->state == ST_DOWN))
        rc = GW_ECLOSED;
    else if (rc == GW_OK && r->state == ST_CONNECTING && r->nheld >= GW_REDIS_MAX_HELD)
        rc = GW_EAGAIN;
    if (rc != GW_OK) {
        redisFreeCommand(cmd);
        return rc;
    }
    op = gw_calloc(1, sizeof *op);
    if (op == NULL)
        abort();
    op->r = r;
    op->cb = cb;
    op->data = data;
    op->cmd = cmd;
    op->cmdlen = len;
    op->script = script;
    if (r->state == ST_CONNECTING) {
        op->held = 1;
        r->nheld++;
    } else if ((rc = send_op(r, op)) != GW_OK) {
        op_release(op);
        return rc;
    }
    op->deadline = uv_now(r->loop) + r->timeout_ms;
    op->prev = r->tail;
    if (r->tail)
        r->tail->next = op;
    else
        r->head = op;
    r->tail = op;
    arm(r);
    return GW_OK;
}

int gw_redis_command_argv(gw_redis *r, gw_redis_cb cb, void *data, int argc,
                          const char **argv, const size_t *argvlen)
{
    char *cmd;
    int len;

    if (r == NULL || cb == NULL || argc < 1 || argv == NULL)
        return GW_EINVAL;
    len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        return GW_ENOMEM;
    return submit(r, cb, data, cmd, (size_t)len, NULL);
}

int gw_redis_command(gw_redis *r, gw_redis_cb cb, void *data, const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int len;

    if (r == NULL || cb == NULL || fmt == NULL)
        return GW_EINVAL;
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len == -1)
        return GW_ENOMEM;
    if (len < 0)
        return GW_EINVAL;
    return submit(r, cb, data, cmd, (size_t)len, NULL);
}

int gw_redis_script(gw_redis *r, const char *name, int nkeys, int argc, const char **argv,
                    const size_t *argvlen, gw_redis_cb cb, void *data)
{
    enum { SMALL = 16 };
    const char *sav[SMALL + 3], **av = sav;
    size_t slen[SMALL + 3], *avlen = slen;
    const struct gw_script *s;
    char nk[16];
    char *cmd;
    int len;

    if (r == NULL || name == NULL || cb == NULL || argc < 0 || (argc > 0 && argv == NULL))
        return GW_EINVAL;
    if ((s = gw_script_find(name)) == NULL)
        return GW_ENOTFOUND;
    if (nkeys < 0 || nkeys > argc)
        return GW_EINVAL;
    if (argc > SMALL) {
        av = gw_malloc((size_t)(argc + 3) * sizeof *av);
        avlen = gw_malloc((size_t)(argc + 3) * sizeof *avlen);
        if (av == NULL || avlen == NULL) {
            gw_free(av);
            gw_free(avlen);
            return GW_ENOMEM;
        }
    }
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA", avlen[0] = 7;
    av[1] = s->sha, avlen[1] = 40;
    av[2] = nk, avlen[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        avlen[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    len = redisFormatCommandArgv(&cmd, argc + 3, av, avlen);
    if (av != sav) {
        gw_free(av);
        gw_free(avlen);
    }
    if (len < 0)
        return GW_ENOMEM;
    return submit(r, cb, data, cmd, (size_t)len, s);
}

void gw_redis_free(gw_redis *r)
{
    if (r == NULL || r->freeing)
        return;
    r->freeing = 1;
    conn_abort(r, GW_ECLOSED);
    uv_close((uv_handle_t *)&r->op_timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->conn_timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->flusher.check, on_flusher_closed);
    uv_close((uv_handle_t *)&r->flusher.prepare, on_flusher_closed);
}

void gw_redis_get_stats(const gw_redis *r, struct gw_redis_stats *out)
{
    *out = r->st;
    out->flushes = r->flusher.flushes;
    out->connected = r->state == ST_READY;
}
