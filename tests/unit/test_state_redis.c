/* gw_redis (async), the script registry and the blocking client, against a
 * real redis-server on a real uv loop. Every loop run is bounded by a
 * watchdog timer, and every test ends with uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <uv.h>
#include "gateway/core/err.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"
#include "tests/unit/support/uv_dog.h"

/* ---- fixture ------------------------------------------------------------- */

static struct gw_test_redis server; /* shared by the tests that need nothing special */

struct fx {
    uv_loop_t loop;
    struct gw_test_dog dog;
    gw_redis *r, *r2;
    struct gw_test_redis own; /* a test's private server, when it needs one */
};

#define RUN_UNTIL(f, cond, ms) GW_RUN_UNTIL(&(f)->loop, &(f)->dog, cond, ms)

static void run_for(struct fx *f, unsigned ms) { gw_test_run_for(&f->loop, &f->dog, ms); }

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    gw_test_dog_init(&f->loop, &f->dog);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    int rc;

    gw_redis_free(f->r);
    gw_redis_free(f->r2);
    uv_close((uv_handle_t *)&f->dog.timer, NULL);
    /* Bounded: the close callbacks need a loop turn or two. */
    for (int i = 0; i < 1000 && uv_loop_alive(&f->loop); i++) {
        struct timespec ts = {0, 2000000};
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (uv_loop_alive(&f->loop))
            nanosleep(&ts, NULL);
    }
    rc = uv_loop_close(&f->loop);
    if (rc != 0)
        print_error("uv_loop_close: %s\n", uv_strerror(rc));
    gw_test_redis_cleanup(&f->own);
    free(f);
    return rc == 0 ? 0 : -1;
}

static struct gw_redis_addr addr_of(const struct gw_test_redis *t, const char *query)
{
    struct gw_redis_addr a;
    char url[300], err[128];

    snprintf(url, sizeof url, "unix://%s%s", t->sock, query ? query : "");
    if (gw_redis_parse_url(url, &a, err, sizeof err) != GW_OK)
        fail_msg("parse %s: %s", url, err);
    return a;
}

static gw_redis *connect_to(struct fx *f, const struct gw_redis_addr *a, unsigned timeout_ms)
{
    gw_redis *r = gw_redis_new(&f->loop, a, timeout_ms);

    assert_non_null(r);
    RUN_UNTIL(f, gw_redis_connected(r), 3000);
    return r;
}

/* ---- reply recorder ------------------------------------------------------ */

struct rec {
    int calls;
    int status;
    int type;
    long long integer;
    size_t len, elements;
    char str[128], str2[128];
    gw_redis *free_me; /* gw_redis_free() this from inside the callback */
};

static void copy_str(char *dst, size_t cap, const char *s, size_t len, size_t *outlen)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    memcpy(dst, s, n);
    dst[n] = '\0';
    if (outlen)
        *outlen = len;
}

static void rec_cb(int status, redisReply *reply, void *data)
{
    struct rec *r = data;

    r->calls++;
    r->status = status;
    if (reply != NULL) {
        r->type = reply->type;
        r->integer = reply->integer;
        r->elements = reply->elements;
        if (reply->str)
            copy_str(r->str, sizeof r->str, reply->str, reply->len, &r->len);
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 && reply->element[0]->str &&
            reply->element[1]->str) {
            copy_str(r->str, sizeof r->str, reply->element[0]->str, reply->element[0]->len, &r->len);
            copy_str(r->str2, sizeof r->str2, reply->element[1]->str, reply->element[1]->len, NULL);
        }
    }
    if (r->free_me) {
        gw_redis *g = r->free_me;
        r->free_me = NULL;
        gw_redis_free(g);
    }
}

/* Sends a command (format) and runs the loop until its reply. */
#define CALL(f, r, rec, ...)                                                                       \
    do {                                                                                           \
        memset(&(rec), 0, sizeof(rec));                                                            \
        assert_int_equal(gw_redis_command((r), rec_cb, &(rec), __VA_ARGS__), GW_OK);               \
        RUN_UNTIL((f), (rec).calls > 0, 2000);                                                     \
        assert_int_equal((rec).calls, 1);                                                          \
    } while (0)

/* ---- scripts used by the tests ------------------------------------------ */

static const char echo_lua[] = "-- test: returns {KEYS[1], ARGV[1]}\n"
                               "return {KEYS[1], ARGV[1]}\n";
static const char count_lua[] = "return #KEYS + #ARGV\n";
static const char broken_lua[] = "return (\n";

static void register_scripts(int with_broken)
{
    assert_int_equal(gw_scripts_init(), GW_OK);
    assert_int_equal(gw_scripts_add("gw_test_echo", echo_lua), GW_OK);
    assert_int_equal(gw_scripts_add("gw_test_count", count_lua), GW_OK);
    if (with_broken)
        assert_int_equal(gw_scripts_add("gw_test_broken", broken_lua), GW_OK);
}

static int group_setup(void **state)
{
    static const char *const args[] = {"--enable-debug-command", "local", NULL};

    signal(SIGPIPE, SIG_IGN);
    register_scripts(1);
    return gw_test_redis_start(&server, args);
}

static int group_teardown(void **state)
{
    gw_test_redis_cleanup(&server);
    gw_scripts_free();
    return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_set_get(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct rec rec;
    struct gw_redis_stats st;

    f->r = connect_to(f, &a, 1000);
    CALL(f, f->r, rec, "SET %s %s", "gw:k1", "hello");
    assert_int_equal(rec.status, GW_OK);
    assert_int_equal(rec.type, REDIS_REPLY_STATUS);
    assert_string_equal(rec.str, "OK");
    CALL(f, f->r, rec, "GET gw:k1");
    assert_int_equal(rec.type, REDIS_REPLY_STRING);
    assert_string_equal(rec.str, "hello");
    /* An error reply is GW_OK with a REDIS_REPLY_ERROR: callers check. */
    CALL(f, f->r, rec, "INCR gw:k1");
    assert_int_equal(rec.status, GW_OK);
    assert_int_equal(rec.type, REDIS_REPLY_ERROR);

    gw_redis_get_stats(f->r, &st);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.replies, 3);
    assert_int_equal(st.timeouts + st.late_replies + st.reconnects, 0);
    assert_int_equal(st.connected, 1);
    assert_string_equal(gw_redis_last_error(f->r), "");
}

static void test_binary_args(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    static const char key[] = "gw:bin key\r\n";
    static const char val[] = {'a', '\0', 'b', '\r', '\n', '$', '*', (char)0xff};
    const char *argv[] = {"SET", key, val};
    const size_t lens[] = {3, sizeof key - 1, sizeof val};
    struct rec rec;

    f->r = connect_to(f, &a, 1000);
    memset(&rec, 0, sizeof rec);
    assert_int_equal(gw_redis_command_argv(f->r, rec_cb, &rec, 3, argv, lens), GW_OK);
    RUN_UNTIL(f, rec.calls == 1, 2000);
    assert_string_equal(rec.str, "OK");

    const char *get[] = {"GET", key};
    const size_t glens[] = {3, sizeof key - 1};
    memset(&rec, 0, sizeof rec);
    assert_int_equal(gw_redis_command_argv(f->r, rec_cb, &rec, 2, get, glens), GW_OK);
    RUN_UNTIL(f, rec.calls == 1, 2000);
    assert_int_equal(rec.type, REDIS_REPLY_STRING);
    assert_int_equal(rec.len, sizeof val);
    assert_memory_equal(rec.str, val, sizeof val);

    /* %b in the format form is binary-safe too. */
    CALL(f, f->r, rec, "STRLEN %b", key, sizeof key - 1);
    assert_int_equal(rec.integer, sizeof val);
}

static void test_rejected_commands(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct rec rec = {0};
    const char *sub[] = {"subscribe", "ch"};

    f->r = connect_to(f, &a, 1000);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "SUBSCRIBE ch"), GW_ENOTSUP);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "PSUBSCRIBE ch*"), GW_ENOTSUP);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "monitor"), GW_ENOTSUP);
    assert_int_equal(gw_redis_command_argv(f->r, rec_cb, &rec, 2, sub, NULL), GW_ENOTSUP);
    assert_int_equal(gw_redis_command_argv(f->r, rec_cb, &rec, 0, sub, NULL), GW_EINVAL);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, ""), GW_EINVAL);
    assert_int_equal(gw_redis_script(f->r, "no_such_script", 0, 0, NULL, NULL, rec_cb, &rec),
                     GW_ENOTFOUND);
    assert_int_equal(gw_redis_script(f->r, "gw_test_echo", 2, 1, sub, NULL, rec_cb, &rec),
                     GW_EINVAL);
    /* PING is not mistaken for a p-variant. */
    CALL(f, f->r, rec, "PING");
    assert_string_equal(rec.str, "PONG");
}

static void call_script(struct fx *f, const char *name, int nkeys, int argc, const char **argv,
                        struct rec *rec)
{
    memset(rec, 0, sizeof *rec);
    assert_int_equal(gw_redis_script(f->r, name, nkeys, argc, argv, NULL, rec_cb, rec), GW_OK);
    RUN_UNTIL(f, rec->calls > 0, 2000);
    run_for(f, 20); /* nothing else may arrive for it */
    assert_int_equal(rec->calls, 1);
}

static void test_script_noscript_reload(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    const char *args[] = {"gw:key", "the-arg"};
    struct gw_redis_stats st0, st1;
    struct rec rec;

    f->r = connect_to(f, &a, 1000);
    CALL(f, f->r, rec, "SCRIPT FLUSH");
    assert_string_equal(rec.str, "OK");

    /* Never loaded: NOSCRIPT, SCRIPT LOAD + EVALSHA, the caller sees only the result. */
    gw_redis_get_stats(f->r, &st0);
    call_script(f, "gw_test_echo", 1, 2, args, &rec);
    assert_int_equal(rec.status, GW_OK);
    assert_int_equal(rec.type, REDIS_REPLY_ARRAY);
    assert_string_equal(rec.str, "gw:key");
    assert_string_equal(rec.str2, "the-arg");
    gw_redis_get_stats(f->r, &st1);
    assert_int_equal(st1.sent - st0.sent, 3);
    assert_int_equal(st1.replies - st0.replies, 1);

    /* Loaded now: one EVALSHA. */
    call_script(f, "gw_test_echo", 1, 2, args, &rec);
    assert_string_equal(rec.str2, "the-arg");
    gw_redis_get_stats(f->r, &st0);
    assert_int_equal(st0.sent - st1.sent, 1);

    /* After SCRIPT FLUSH it reloads again. */
    CALL(f, f->r, rec, "SCRIPT FLUSH");
    call_script(f, "gw_test_echo", 1, 2, args, &rec);
    assert_string_equal(rec.str, "gw:key");
    gw_redis_get_stats(f->r, &st1);
    assert_int_equal(st1.sent - st0.sent, 4);

    /* Many arguments (past the on-stack argv). */
    const char *many[40];
    for (int i = 0; i < 40; i++)
        many[i] = "x";
    call_script(f, "gw_test_count", 10, 40, many, &rec);
    assert_int_equal(rec.type, REDIS_REPLY_INTEGER);
    assert_int_equal(rec.integer, 40);

    /* A script that does not compile: retried once, then the NOSCRIPT error
     * is delivered (once), not looped on. */
    gw_redis_get_stats(f->r, &st0);
    call_script(f, "gw_test_broken", 0, 0, NULL, &rec);
    assert_int_equal(rec.status, GW_OK);
    assert_int_equal(rec.type, REDIS_REPLY_ERROR);
    assert_memory_equal(rec.str, "NOSCRIPT", 8);
    gw_redis_get_stats(f->r, &st1);
    assert_int_equal(st1.sent - st0.sent, 3);
}

/* Pauses every client of t for ms, from a second (blocking) connection. */
static void pause_clients(const struct gw_test_redis *t, unsigned ms)
{
    struct gw_redis_addr a = addr_of(t, NULL);
    char err[128];
    redisContext *c = gw_redis_sync_connect(&a, 1000, err, sizeof err);
    redisReply *reply;

    if (c == NULL)
        fail_msg("sync connect: %s", err);
    reply = redisCommand(c, "CLIENT PAUSE %u", ms);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_STATUS);
    freeReplyObject(reply);
    redisFree(c);
}

static void test_timeout_late_reply(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct gw_redis_stats st;
    struct rec rec = {0}, rec2 = {0};
    uint64_t t0;

    f->r = connect_to(f, &a, 100);
    pause_clients(&server, 500);
    uv_update_time(&f->loop);
    t0 = uv_now(&f->loop);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "GET gw:k1"), GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec2, "PING"), GW_OK);
    RUN_UNTIL(f, rec.calls > 0 && rec2.calls > 0, 1000);
    assert_int_equal(rec.status, GW_ETIMEDOUT);
    assert_int_equal(rec2.status, GW_ETIMEDOUT);
    assert_in_range(uv_now(&f->loop) - t0, 90, 400);

    /* The late replies arrive after the pause and are dropped, counted. */
    gw_redis_get_stats(f->r, &st);
    RUN_UNTIL(f, (gw_redis_get_stats(f->r, &st), st.late_replies == 2), 2000);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec2.calls, 1);
    assert_int_equal(st.timeouts, 2);
    assert_int_equal(st.reconnects, 0);

    /* The connection is still good. */
    CALL(f, f->r, rec, "PING");
    assert_int_equal(rec.status, GW_OK);
    assert_string_equal(rec.str, "PONG");
}

static void test_timeout_then_free(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct rec rec = {0};

    /* A timed-out command is still held by hiredis when the client is
     * freed: its memory must go with the connection, no callback again. */
    f->r = connect_to(f, &a, 50);
    pause_clients(&server, 300);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "PING"), GW_OK);
    RUN_UNTIL(f, rec.calls > 0, 1000);
    assert_int_equal(rec.status, GW_ETIMEDOUT);
    gw_redis_free(f->r);
    f->r = NULL;
    assert_int_equal(rec.calls, 1);
    run_for(f, 350); /* let the pause pass before the next test */

    /* Freed from inside a timeout callback, with another command pending. */
    struct rec recs[2];
    memset(recs, 0, sizeof recs);
    f->r = connect_to(f, &a, 50);
    pause_clients(&server, 300);
    recs[0].free_me = f->r;
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "PING"), GW_OK);
    run_for(f, 10);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[1], "PING"), GW_OK);
    f->r = NULL;
    RUN_UNTIL(f, recs[0].calls > 0, 1000);
    assert_int_equal(recs[0].status, GW_ETIMEDOUT);
    assert_int_equal(recs[1].calls, 1);
    assert_int_equal(recs[1].status, GW_ECLOSED);
    run_for(f, 350);
    assert_int_equal(recs[0].calls + recs[1].calls, 2);
}

static void test_free_with_pending(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct rec recs[6];

    f->r = connect_to(f, &a, 5000);
    memset(recs, 0, sizeof recs);
    /* Two are written and blocked in Redis, the rest only queued. */
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "BLPOP gw:none1 5"), GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[1], "BLPOP gw:none2 5"), GW_OK);
    run_for(f, 30);
    for (int i = 2; i < 6; i++)
        assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[i], "PING"), GW_OK);
    gw_redis_free(f->r);
    f->r = NULL;
    /* Synchronously, exactly once each. */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(recs[i].calls, 1);
        assert_int_equal(recs[i].status, GW_ECLOSED);
    }
    run_for(f, 20);
    for (int i = 0; i < 6; i++)
        assert_int_equal(recs[i].calls, 1);
}

static void test_free_inside_callback(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct rec recs[4];

    f->r = connect_to(f, &a, 5000);
    memset(recs, 0, sizeof recs);
    recs[0].free_me = f->r; /* the first reply frees the client */
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "PING"), GW_OK);
    for (int i = 1; i < 4; i++)
        assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[i], "PING"), GW_OK);
    f->r = NULL;
    RUN_UNTIL(f, recs[0].calls > 0, 2000);
    assert_int_equal(recs[0].status, GW_OK);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(recs[i].calls, 1);
        assert_int_equal(recs[i].status, GW_ECLOSED);
    }
    run_for(f, 20);
    for (int i = 0; i < 4; i++)
        assert_int_equal(recs[i].calls, 1);
}

static void test_held_while_connecting(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, "?db=1");
    struct rec recs[3];

    /* Issued before the connection is up: held, then sent in order. */
    f->r = gw_redis_new(&f->loop, &a, 2000);
    assert_false(gw_redis_connected(f->r));
    memset(recs, 0, sizeof recs);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "SET gw:held 1"), GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[1], "INCR gw:held"), GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[2], "GET gw:held"), GW_OK);
    RUN_UNTIL(f, recs[2].calls > 0, 2000);
    assert_string_equal(recs[0].str, "OK");
    assert_int_equal(recs[1].integer, 2);
    assert_string_equal(recs[2].str, "2");

    /* The hold queue is bounded. */
    static struct rec many[GW_REDIS_MAX_HELD];
    gw_redis *r3 = gw_redis_new(&f->loop, &a, 2000);
    memset(many, 0, sizeof many);
    for (int i = 0; i < GW_REDIS_MAX_HELD; i++)
        assert_int_equal(gw_redis_command(r3, rec_cb, &many[i], "INCR gw:held"), GW_OK);
    assert_int_equal(gw_redis_command(r3, rec_cb, &recs[0], "PING"), GW_EAGAIN);
    RUN_UNTIL(f, many[GW_REDIS_MAX_HELD - 1].calls > 0, 3000);
    assert_int_equal(many[GW_REDIS_MAX_HELD - 1].integer, 2 + GW_REDIS_MAX_HELD);
    gw_redis_free(r3);

    /* Freed while still connecting: the held command fails at once. */
    f->r2 = gw_redis_new(&f->loop, &a, 2000);
    memset(recs, 0, sizeof recs);
    assert_int_equal(gw_redis_command(f->r2, rec_cb, &recs[0], "PING"), GW_OK);
    gw_redis_free(f->r2);
    f->r2 = NULL;
    assert_int_equal(recs[0].calls, 1);
    assert_int_equal(recs[0].status, GW_ECLOSED);
}

static void test_reconnect(void **state)
{
    struct fx *f = *state;
    struct gw_redis_stats st;
    struct rec rec = {0}, blocked = {0};

    assert_int_equal(gw_test_redis_start(&f->own, NULL), 0);
    struct gw_redis_addr a = addr_of(&f->own, NULL);
    f->r = connect_to(f, &a, 3000);
    CALL(f, f->r, rec, "SET gw:r 1");

    /* In flight when the server goes away: GW_ECLOSED, once. */
    assert_int_equal(gw_redis_command(f->r, rec_cb, &blocked, "BLPOP gw:none 10"), GW_OK);
    run_for(f, 30);
    assert_int_equal(gw_test_redis_stop(&f->own), 0);
    RUN_UNTIL(f, blocked.calls > 0, 2000);
    assert_int_equal(blocked.status, GW_ECLOSED);
    assert_false(gw_redis_connected(f->r));
    assert_string_not_equal(gw_redis_last_error(f->r), "");

    /* During the outage commands fail fast, and the callback never runs. */
    run_for(f, 200); /* a few reconnect attempts */
    memset(&rec, 0, sizeof rec);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "PING"), GW_ECLOSED);
    assert_int_equal(gw_redis_script(f->r, "gw_test_echo", 0, 0, NULL, NULL, rec_cb, &rec),
                     GW_ECLOSED);
    run_for(f, 20);
    assert_int_equal(rec.calls, 0);

    /* Back on the same socket: it reconnects by itself. */
    assert_int_equal(gw_test_redis_restart(&f->own), 0);
    RUN_UNTIL(f, gw_redis_connected(f->r), 4000);
    CALL(f, f->r, rec, "SET gw:r 2");
    assert_string_equal(rec.str, "OK");
    CALL(f, f->r, rec, "GET gw:r");
    assert_string_equal(rec.str, "2");
    gw_redis_get_stats(f->r, &st);
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.connected, 1);
    assert_string_equal(gw_redis_last_error(f->r), "");
    run_for(f, 20);
    assert_int_equal(blocked.calls, 1);

    /* Again with nothing in flight: only onDisconnect tells us. */
    unsigned long long before = st.reconnects;
    assert_int_equal(gw_test_redis_stop(&f->own), 0);
    RUN_UNTIL(f, !gw_redis_connected(f->r), 2000);
    assert_int_equal(gw_test_redis_restart(&f->own), 0);
    RUN_UNTIL(f, gw_redis_connected(f->r), 4000);
    CALL(f, f->r, rec, "PING");
    assert_string_equal(rec.str, "PONG");
    gw_redis_get_stats(f->r, &st);
    assert_true(st.reconnects > before);
}

static void test_stalled_server(void **state)
{
    struct fx *f = *state;
    struct gw_redis_stats st;
    struct rec rec = {0};

    /* A stopped (SIGSTOP) server accepts nothing and answers nothing, like a
     * black-holed peer. Commands time out; after the dead-connection window
     * (2 s at this timeout) the connection is replaced, and connect
     * attempts time out until the server runs again. */
    assert_int_equal(gw_test_redis_start(&f->own, NULL), 0);
    struct gw_redis_addr a = addr_of(&f->own, NULL);
    f->r = connect_to(f, &a, 100);
    kill(f->own.pid, SIGSTOP);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &rec, "PING"), GW_OK);
    RUN_UNTIL(f, rec.calls > 0, 1000);
    assert_int_equal(rec.status, GW_ETIMEDOUT);
    RUN_UNTIL(f, !gw_redis_connected(f->r), 4000);
    assert_non_null(strstr(gw_redis_last_error(f->r), "stalled"));

    /* A command issued while a connect attempt hangs is held, then times
     * out without ever being sent. */
    int rc = GW_ECLOSED;
    for (int i = 0; i < 100 && rc != GW_OK; i++) {
        memset(&rec, 0, sizeof rec);
        rc = gw_redis_command(f->r, rec_cb, &rec, "SET gw:never sent");
        if (rc != GW_OK) {
            assert_int_equal(rc, GW_ECLOSED);
            run_for(f, 20);
        }
    }
    assert_int_equal(rc, GW_OK);
    RUN_UNTIL(f, rec.calls > 0, 1000);
    assert_int_equal(rec.status, GW_ETIMEDOUT);
    kill(f->own.pid, SIGCONT);
    RUN_UNTIL(f, gw_redis_connected(f->r), 5000);
    CALL(f, f->r, rec, "PING");
    assert_string_equal(rec.str, "PONG");
    gw_redis_get_stats(f->r, &st);
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.late_replies, 0); /* that connection died with it */
    CALL(f, f->r, rec, "EXISTS gw:never");
    assert_int_equal(rec.integer, 0);
}

static void test_auth(void **state)
{
    static const char *const args[] = {"--requirepass", "s3cret pass", NULL};
    struct fx *f = *state;
    struct rec rec = {0};
    struct gw_redis_stats st;

    assert_int_equal(gw_test_redis_start(&f->own, args), 0);

    /* The password has a space: percent-encoded in the URL, one AUTH arg. */
    struct gw_redis_addr a = addr_of(&f->own, "?password=s3cret%20pass&db=2");
    f->r = connect_to(f, &a, 1000);
    CALL(f, f->r, rec, "SET gw:auth yes");
    assert_string_equal(rec.str, "OK");

    /* Wrong password: never ready, held commands fail with GW_EIO, the
     * reason is kept. */
    struct gw_redis_addr bad = addr_of(&f->own, "?password=wrong");
    f->r2 = gw_redis_new(&f->loop, &bad, 1000);
    memset(&rec, 0, sizeof rec);
    assert_int_equal(gw_redis_command(f->r2, rec_cb, &rec, "PING"), GW_OK);
    RUN_UNTIL(f, rec.calls > 0, 2000);
    assert_int_equal(rec.status, GW_EIO);
    assert_false(gw_redis_connected(f->r2));
    assert_non_null(strstr(gw_redis_last_error(f->r2), "WRONGPASS"));
    gw_redis_free(f->r2);

    /* No password at all: the handshake PING gets NOAUTH. */
    struct gw_redis_addr none = addr_of(&f->own, NULL);
    f->r2 = gw_redis_new(&f->loop, &none, 1000);
    run_for(f, 100);
    assert_false(gw_redis_connected(f->r2));
    assert_non_null(strstr(gw_redis_last_error(f->r2), "NOAUTH"));
    gw_redis_get_stats(f->r2, &st);
    assert_int_equal(st.connected, 0);
    gw_redis_free(f->r2);
    f->r2 = NULL;
}

static void test_select_db(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a3 = addr_of(&server, "?db=3"), a0 = addr_of(&server, NULL);
    struct rec rec;

    f->r = connect_to(f, &a3, 1000);
    f->r2 = connect_to(f, &a0, 1000);
    CALL(f, f->r, rec, "SET gw:db %s", "three");
    CALL(f, f->r2, rec, "DEL gw:db");
    CALL(f, f->r, rec, "GET gw:db");
    assert_string_equal(rec.str, "three");
    CALL(f, f->r2, rec, "GET gw:db");
    assert_int_equal(rec.type, REDIS_REPLY_NIL);
    CALL(f, f->r2, rec, "SELECT 3"); /* the same connection, by hand */
    CALL(f, f->r2, rec, "GET gw:db");
    assert_string_equal(rec.str, "three");
}

/* A loopback port nobody uses right now. */
static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_tcp(void **state)
{
    struct fx *f = *state;
    char port[16], url[64], err[128];
    const char *args[] = {"--port", port, "--bind", "127.0.0.1", NULL};
    struct gw_redis_addr a;
    struct rec rec;

    snprintf(port, sizeof port, "%d", free_port());
    assert_int_equal(gw_test_redis_start(&f->own, args), 0);
    snprintf(url, sizeof url, "redis://127.0.0.1:%s/2", port);
    assert_int_equal(gw_redis_parse_url(url, &a, err, sizeof err), GW_OK);
    assert_int_equal(gw_redis_sync_wait_ready(&a, 2000), GW_OK);
    f->r = connect_to(f, &a, 1000);
    CALL(f, f->r, rec, "SET gw:tcp %d", 7);
    CALL(f, f->r, rec, "GET gw:tcp");
    assert_string_equal(rec.str, "7");

    /* Reconnects over TCP as well. */
    assert_int_equal(gw_test_redis_restart(&f->own), 0);
    struct gw_redis_stats st;
    RUN_UNTIL(f, (gw_redis_get_stats(f->r, &st), st.reconnects == 1 && st.connected), 4000);
    CALL(f, f->r, rec, "GET gw:tcp");
    assert_int_equal(rec.type, REDIS_REPLY_NIL); /* a fresh, empty server */
}

/* ---- write batching (own event adapter) --------------------------------- */

struct seq {
    int calls, bad;
    long long last;
    int status;
};

static void seq_cb(int status, redisReply *reply, void *data)
{
    struct seq *s = data;

    s->calls++;
    s->status = status;
    /* INCR replies must come back in the order the commands were issued. */
    if (status != GW_OK || reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
        reply->integer != s->last + 1)
        s->bad++;
    else
        s->last = reply->integer;
}

static void test_pipelined_one_write(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct gw_redis_stats st0, st1;
    struct seq seq = {0};
    struct rec rec;
    enum { N = 2000 };

    f->r = connect_to(f, &a, 2000);
    CALL(f, f->r, rec, "DEL gw:pipe");
    gw_redis_get_stats(f->r, &st0);
    /* Issued in one loop iteration: one write carries them all, and the
     * replies come back in order. */
    for (int i = 0; i < N; i++)
        assert_int_equal(gw_redis_command(f->r, seq_cb, &seq, "INCR gw:pipe"), GW_OK);
    RUN_UNTIL(f, seq.calls == N, 3000);
    assert_int_equal(seq.bad, 0);
    assert_int_equal(seq.last, N);
    gw_redis_get_stats(f->r, &st1);
    assert_int_equal(st1.sent - st0.sent, N);
    assert_int_equal(st1.replies - st0.replies, N);
    assert_int_equal(st1.flushes - st0.flushes, 1);

    /* Two rounds in two iterations: two writes, still in order. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(gw_redis_command(f->r, seq_cb, &seq, "INCR gw:pipe"), GW_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < 10; i++)
        assert_int_equal(gw_redis_command(f->r, seq_cb, &seq, "INCR gw:pipe"), GW_OK);
    RUN_UNTIL(f, seq.calls == N + 20, 2000);
    assert_int_equal(seq.bad, 0);
    gw_redis_get_stats(f->r, &st0);
    assert_int_equal(st0.flushes - st1.flushes, 2);
}

struct chain {
    gw_redis *r;
    int left, calls, failed;
};

static void chain_cb(int status, redisReply *reply, void *data)
{
    struct chain *c = data;

    c->calls++;
    if (status != GW_OK)
        c->failed++;
    /* Issued from inside a reply callback (the loop's I/O phase): the
     * uv_check flush sends it in the same iteration. */
    else if (--c->left > 0 && gw_redis_command(c->r, chain_cb, c, "PING") != GW_OK)
        c->failed++;
}

struct from_timer {
    gw_redis *r;
    struct rec rec;
    uint64_t issued;
};

static void issue_from_timer(uv_timer_t *t)
{
    struct from_timer *ft = t->data;

    ft->issued = uv_now(t->loop);
    assert_int_equal(gw_redis_command(ft->r, rec_cb, &ft->rec, "PING"), GW_OK);
}

static void test_command_from_callbacks(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct from_timer ft = {0};
    struct chain ch = {0};
    uv_timer_t t;

    /* A command issued from a timer callback, with nothing else going on in
     * the loop: the uv_prepare flush sends it before the loop blocks. Were
     * it left for an I/O event, the loop would sleep until the deadline
     * (1 s) and the command would time out. */
    f->r = connect_to(f, &a, 1000);
    ft.r = f->r;
    uv_timer_init(&f->loop, &t);
    t.data = &ft;
    for (int round = 0; round < 3; round++) {
        memset(&ft.rec, 0, sizeof ft.rec);
        uv_timer_start(&t, issue_from_timer, 20, 0);
        RUN_UNTIL(f, ft.rec.calls > 0, 2000);
        assert_int_equal(ft.rec.status, GW_OK);
        assert_string_equal(ft.rec.str, "PONG");
        uv_update_time(&f->loop);
        assert_true(uv_now(&f->loop) - ft.issued < 300);
    }
    uv_close((uv_handle_t *)&t, NULL);

    /* A chain of commands, each issued from the previous reply. */
    ch.r = f->r;
    ch.left = 200;
    assert_int_equal(gw_redis_command(f->r, chain_cb, &ch, "PING"), GW_OK);
    RUN_UNTIL(f, ch.left == 0 || ch.failed, 3000);
    assert_int_equal(ch.failed, 0);
    assert_int_equal(ch.calls, 200);
}

struct busy {
    gw_redis *r;
    int from_idle, from_io, answered, failed;
    int active, mark; /* iterations that issued anything; issued at the last idle */
};

static int busy_issued(const struct busy *b)
{
    return b->from_idle + b->from_io;
}

static void busy_reply(int status, redisReply *reply, void *data)
{
    struct busy *b = data;

    b->answered++;
    if (status != GW_OK)
        b->failed++;
}

/* Every reply to an idle-issued command issues another from the I/O phase. */
static void busy_reply_more(int status, redisReply *reply, void *data)
{
    struct busy *b = data;

    busy_reply(status, reply, data);
    if (gw_redis_command(b->r, busy_reply, b, "PING") == GW_OK)
        b->from_io++;
}

static void busy_idle(uv_idle_t *h)
{
    struct busy *b = h->data;

    /* The idle phase opens an iteration: count the last one if it issued. */
    if (busy_issued(b) != b->mark)
        b->active++;
    b->mark = busy_issued(b);
    if (b->from_idle < 200 && gw_redis_command(b->r, busy_reply_more, b, "PING") == GW_OK)
        b->from_idle++;
}

static void test_one_write_per_busy_iteration(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    struct gw_redis_stats st0, st1;
    struct busy b = {0};
    uv_idle_t idle;

    /* An active idle handle (lws has one) means the loop does not block:
     * commands issued in the idle phase then wait for the uv_check and leave
     * with those issued by I/O callbacks, one write per iteration (a flush
     * in uv_prepare as well would make two). */
    f->r = connect_to(f, &a, 2000);
    b.r = f->r;
    uv_idle_init(&f->loop, &idle);
    idle.data = &b;
    gw_redis_get_stats(f->r, &st0);
    uv_idle_start(&idle, busy_idle);
    RUN_UNTIL(f, b.from_idle == 200 && b.answered == 400, 3000);
    run_for(f, 20);
    uv_idle_stop(&idle);
    uv_close((uv_handle_t *)&idle, NULL);
    gw_redis_get_stats(f->r, &st1);
    assert_int_equal(b.failed, 0);
    assert_int_equal(b.answered, 400);
    assert_int_equal(b.from_io, 200);
    assert_int_equal(busy_issued(&b), b.mark); /* the last iteration was counted */
    assert_true(st1.flushes - st0.flushes <= (unsigned long long)b.active);
}

static void test_large_command(void **state)
{
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, NULL);
    enum { BIG = 6 << 20 };
    char *val = malloc(BIG);
    struct rec recs[3];
    struct gw_redis_stats st;

    assert_non_null(val);
    for (size_t i = 0; i < BIG; i++)
        val[i] = (char)('a' + i % 23);
    /* Far more than a socket buffer: the flush writes part of it and the
     * connection waits for UV_WRITABLE until hiredis has drained it; the
     * commands behind it follow in order. */
    f->r = connect_to(f, &a, 10000);
    memset(recs, 0, sizeof recs);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "SET gw:big %b", val, (size_t)BIG),
                     GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[1], "STRLEN gw:big"), GW_OK);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[2], "PING"), GW_OK);
    RUN_UNTIL(f, recs[2].calls > 0, 10000);
    assert_int_equal(recs[0].status, GW_OK);
    assert_string_equal(recs[0].str, "OK");
    assert_int_equal(recs[1].integer, BIG);
    assert_string_equal(recs[2].str, "PONG");

    /* And a commands right after the big one drained goes out by check/
     * prepare again (the poll is back to UV_READABLE only). */
    CALL(f, f->r, recs[0], "GETRANGE gw:big %d %d", BIG - 3, BIG - 1);
    assert_int_equal(recs[0].len, 3);
    assert_memory_equal(recs[0].str, val + BIG - 3, 3);
    CALL(f, f->r, recs[0], "DEL gw:big");
    gw_redis_get_stats(f->r, &st);
    assert_int_equal(st.timeouts + st.late_replies + st.reconnects, 0);
    free(val);
}

static void test_free_while_socket_full(void **state)
{
    struct fx *f = *state;
    enum { BIG = 4 << 20 };
    char *val = calloc(1, BIG);
    struct rec recs[2];

    /* A stopped server reads nothing: the big command fills the socket and
     * the connection polls for UV_WRITABLE when it is freed. Everything is
     * released once (no double close, LeakSanitizer clean). */
    assert_non_null(val);
    assert_int_equal(gw_test_redis_start(&f->own, NULL), 0);
    struct gw_redis_addr a = addr_of(&f->own, NULL);
    f->r = connect_to(f, &a, 5000);
    kill(f->own.pid, SIGSTOP);
    memset(recs, 0, sizeof recs);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[0], "SET gw:big %b", val, (size_t)BIG),
                     GW_OK);
    run_for(f, 50);
    assert_int_equal(gw_redis_command(f->r, rec_cb, &recs[1], "PING"), GW_OK);
    run_for(f, 20);
    assert_int_equal(recs[0].calls + recs[1].calls, 0);
    gw_redis_free(f->r);
    f->r = NULL;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(recs[i].calls, 1);
        assert_int_equal(recs[i].status, GW_ECLOSED);
    }
    kill(f->own.pid, SIGCONT);
    free(val);
}

static void test_scripts_registry(void **state)
{
    const struct gw_script *s = gw_script_find("gw_test_echo");

    assert_non_null(s);
    assert_string_equal(s->name, "gw_test_echo");
    assert_int_equal(s->len, strlen(echo_lua));
    assert_string_equal(s->text, echo_lua);
    assert_int_equal(strlen(s->sha), 40);
    /* sha1("return 1") is well known. */
    assert_int_equal(gw_scripts_add("gw_test_one", "return 1"), GW_OK);
    assert_string_equal(gw_script_find("gw_test_one")->sha,
                        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert_int_equal(gw_scripts_add("gw_test_one", "return 1"), GW_OK);
    assert_int_equal(gw_scripts_add("gw_test_one", "return 2"), GW_ECONFLICT);
    assert_int_equal(gw_scripts_add("", "return 1"), GW_EINVAL);
    assert_int_equal(gw_scripts_add("x", NULL), GW_EINVAL);
    assert_null(gw_script_find("nope"));
    size_t n = gw_scripts_count();
    assert_true(n >= 4);
    assert_ptr_equal(gw_script_at(n - 1), gw_script_find("gw_test_one"));
    assert_null(gw_script_at(n));
    /* init again adds nothing and keeps the entries where they are. */
    assert_int_equal(gw_scripts_init(), GW_OK);
    assert_int_equal(gw_scripts_count(), n);
    assert_ptr_equal(gw_script_find("gw_test_echo"), s);
}

static void test_sync_client(void **state)
{
    static const char *const args[] = {"--requirepass", "pw", NULL};
    struct fx *f = *state;
    struct gw_redis_addr a = addr_of(&server, "?db=5");
    char err[256];
    redisContext *c;
    redisReply *reply;

    assert_int_equal(gw_redis_sync_wait_ready(&a, 2000), GW_OK);

    /* Load the good scripts; Redis agrees on every SHA1. */
    gw_scripts_free();
    register_scripts(0);
    c = gw_redis_sync_connect(&a, 1000, err, sizeof err);
    if (c == NULL)
        fail_msg("sync connect: %s", err);
    reply = redisCommand(c, "SCRIPT FLUSH");
    freeReplyObject(reply);
    assert_int_equal(gw_redis_sync_load_scripts(c, err, sizeof err), GW_OK);
    reply = redisCommand(c, "SCRIPT EXISTS %s %s", gw_script_find("gw_test_echo")->sha,
                         gw_script_find("gw_test_count")->sha);
    assert_int_equal(reply->elements, 2);
    assert_int_equal(reply->element[0]->integer, 1);
    assert_int_equal(reply->element[1]->integer, 1);
    freeReplyObject(reply);
    /* It selected db 5. */
    reply = redisCommand(c, "CLIENT INFO");
    assert_non_null(strstr(reply->str, " db=5 "));
    freeReplyObject(reply);

    /* A script that does not compile is reported by name. */
    assert_int_equal(gw_scripts_add("gw_test_broken", broken_lua), GW_OK);
    assert_int_equal(gw_redis_sync_load_scripts(c, err, sizeof err), GW_EIO);
    assert_non_null(strstr(err, "gw_test_broken"));
    redisFree(c);

    /* Nobody listening: bounded wait. */
    struct gw_redis_addr gone = {.unix_path = "/nonexistent/gw-redis.sock"};
    uint64_t t0 = uv_hrtime();
    assert_int_equal(gw_redis_sync_wait_ready(&gone, 200), GW_ETIMEDOUT);
    assert_in_range((uv_hrtime() - t0) / 1000000, 150, 1000);
    assert_null(gw_redis_sync_connect(&gone, 100, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/gw-redis.sock"));

    /* A server that refuses us: final at once, not retried until the end. */
    assert_int_equal(gw_test_redis_start(&f->own, args), 0);
    struct gw_redis_addr wrong = addr_of(&f->own, "?password=nope");
    t0 = uv_hrtime();
    assert_int_equal(gw_redis_sync_wait_ready(&wrong, 3000), GW_EIO);
    assert_true((uv_hrtime() - t0) / 1000000 < 1000);
    assert_null(gw_redis_sync_connect(&wrong, 1000, err, sizeof err));
    assert_non_null(strstr(err, "AUTH"));
    struct gw_redis_addr noauth = addr_of(&f->own, NULL);
    assert_int_equal(gw_redis_sync_wait_ready(&noauth, 3000), GW_EIO);
    struct gw_redis_addr right = addr_of(&f->own, "?password=pw");
    assert_int_equal(gw_redis_sync_wait_ready(&right, 3000), GW_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_set_get),
        T(test_binary_args),
        T(test_rejected_commands),
        T(test_script_noscript_reload),
        T(test_timeout_late_reply),
        T(test_timeout_then_free),
        T(test_free_with_pending),
        T(test_free_inside_callback),
        T(test_held_while_connecting),
        T(test_reconnect),
        T(test_stalled_server),
        T(test_auth),
        T(test_select_db),
        T(test_tcp),
        T(test_pipelined_one_write),
        T(test_command_from_callbacks),
        T(test_one_write_per_busy_iteration),
        T(test_large_command),
        T(test_free_while_socket_full),
        T(test_scripts_registry),
        T(test_sync_client),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
