/* Exactness: no interleaving of concurrent requests spends past a budget.
 *
 * Two forked processes, each with its own uv loop and gw_redis client, run
 * 250 authorize+settle cycles each, up to IN_FLIGHT at once, against one user
 * whose budget covers exactly 100 cycles at a fixed price. Exactly 100 must
 * succeed in total; the user ends at quota 0, reserved 0, with no overspend;
 * and the ledger holds exactly 100 consume entries whose dq sum to -budget. */
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
#include <sys/wait.h>
#include <cmocka.h>
#include <uv.h>
#include "gateway/core/err.h"
#include "gateway/state/ledger.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"

#define PROCS 2
#define CYCLES 250   /* per process */
#define IN_FLIGHT 50 /* per process */
#define PRICE 37
#define WINNERS 100
#define BUDGET (PRICE * WINNERS)
#define UID 23
#define TID 105

static struct gw_test_redis server;

static struct gw_redis_addr server_addr(void)
{
    struct gw_redis_addr a;
    char url[200], err[128];

    snprintf(url, sizeof url, "unix://%s", server.sock);
    if (gw_redis_parse_url(url, &a, err, sizeof err) != GW_OK)
        abort();
    return a;
}

/* ---- the child: 250 cycles, many in flight --------------------------------------- */

struct worker {
    uv_loop_t loop;
    uv_timer_t dog;
    gw_redis *r;
    int started, done, in_flight;
    int ok, refused, errors, settle_errors;
    long long now_ms;
};

static void start_more(struct worker *w);

static void on_settled(const struct gw_settle_result *res, void *data)
{
    struct worker *w = data;

    if (res->status != GW_OK || res->ok != 1 || res->charged != PRICE || res->shortfall != 0)
        w->settle_errors++;
    w->in_flight--;
    w->done++;
    start_more(w);
}

static void on_authorized(const struct gw_auth_result *res, void *data)
{
    struct worker *w = data;

    if (res->status != GW_OK) {
        w->errors++;
    } else if (res->ok) {
        struct gw_settle_req s = {.uid = UID, .tid = TID, .res_id = res->res_id,
                                  .actual = PRICE, .actual_tokens = 10, .now_ms = w->now_ms,
                                  .cid = 1, .model = "m", .other = ""};
        w->ok++;
        if (gw_ledger_settle(w->r, &s, on_settled, w) == GW_OK)
            return; /* the cycle ends in on_settled */
        w->settle_errors++;
    } else if (res->reason == GW_REFUSE_USER_QUOTA) {
        w->refused++;
    } else {
        w->errors++;
    }
    w->in_flight--;
    w->done++;
    start_more(w);
}

static void start_more(struct worker *w)
{
    while (w->started < CYCLES && w->in_flight < IN_FLIGHT) {
        struct gw_auth_req q = {.uid = UID, .tid = TID, .model = "m", .amount = PRICE,
                                .est_tokens = 10, .ttl_ms = 60000, .now_ms = w->now_ms};
        w->started++;
        if (gw_ledger_authorize(w->r, &q, on_authorized, w) != GW_OK) {
            w->errors++;
            w->done++;
            continue;
        }
        w->in_flight++;
    }
    if (w->done == CYCLES)
        uv_stop(&w->loop);
}

static void on_dog(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs in the child; writes "ok refused errors settle_errors maxflight" to fd. */
static void child(int go_fd, int out_fd)
{
    static struct worker w;
    struct gw_redis_addr a = server_addr();
    char buf[128];
    int n;

    w.now_ms = 1700000000000LL;
    if (uv_loop_init(&w.loop) != 0)
        _exit(10);
    uv_timer_init(&w.loop, &w.dog);
    w.r = gw_redis_new(&w.loop, &a, 5000);
    if (w.r == NULL)
        _exit(11);
    uv_timer_start(&w.dog, on_dog, 5000, 0);
    while (!gw_redis_connected(w.r) && uv_is_active((uv_handle_t *)&w.dog))
        uv_run(&w.loop, UV_RUN_ONCE);
    if (!gw_redis_connected(w.r))
        _exit(12);
    /* Wait for the parent's go, so both processes run at the same time. */
    if (read(go_fd, buf, 1) != 1)
        _exit(13);
    uv_timer_start(&w.dog, on_dog, 30000, 0);
    start_more(&w);
    int max_flight = w.in_flight;
    while (w.done < CYCLES && uv_is_active((uv_handle_t *)&w.dog))
        uv_run(&w.loop, UV_RUN_ONCE);
    n = snprintf(buf, sizeof buf, "%d %d %d %d %d %d\n", w.ok, w.refused, w.errors,
                 w.settle_errors, max_flight, w.done);
    if (write(out_fd, buf, (size_t)n) != n)
        _exit(14);
    gw_redis_free(w.r);
    uv_close((uv_handle_t *)&w.dog, NULL);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    _exit(w.done == CYCLES ? 0 : 15);
}

/* ---- the parent ------------------------------------------------------------------- */

static long long hnum(redisContext *c, const char *key, const char *field)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -999999;

    if (r)
        freeReplyObject(r);
    return v;
}

static void test_two_processes_never_overspend(void **state)
{
    struct gw_redis_addr a = server_addr();
    char err[128], ukey[GW_KEY_MAX], tkey[GW_KEY_MAX], led[GW_KEY_MAX], res[GW_KEY_MAX];
    redisContext *c = gw_redis_sync_connect(&a, 5000, err, sizeof err);
    int go[2], out[PROCS][2];
    pid_t pid[PROCS];

    assert_non_null(c);
    gw_key_user(ukey, sizeof ukey, UID);
    gw_key_token(tkey, sizeof tkey, UID, TID);
    gw_key_shard(led, sizeof led, gw_key_shard_of(UID), "ledger");
    gw_key_shard(res, sizeof res, gw_key_shard_of(UID), "res");
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    freeReplyObject(redisCommand(c, "HSET %s quota %d reserved 0 used_quota 0 request_count 0 "
                                    "status 1 username u",
                                 ukey, BUDGET));
    freeReplyObject(redisCommand(c, "HSET %s uid %d status 1 expired_time -1 remain_quota "
                                    "1000000 unlimited_quota 0 used_quota 0 reserved 0",
                                 tkey, UID));

    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < PROCS; i++) {
        assert_int_equal(pipe(out[i]), 0);
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            close(go[1]);
            close(out[i][0]);
            child(go[0], out[i][1]);
        }
        close(out[i][1]);
    }
    close(go[0]);
    assert_int_equal(write(go[1], "gg", PROCS), PROCS);
    close(go[1]);

    int ok = 0, refused = 0, errors = 0, settle_errors = 0;
    for (int i = 0; i < PROCS; i++) {
        char buf[128] = "";
        int st = -1, o, r, e, s, mf, d;
        ssize_t n = read(out[i][0], buf, sizeof buf - 1);
        close(out[i][0]);
        assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
        assert_true(n > 0);
        assert_int_equal(sscanf(buf, "%d %d %d %d %d %d", &o, &r, &e, &s, &mf, &d), 6);
        print_message("process %d: ok %d refused %d errors %d settle errors %d in flight %d\n",
                      i, o, r, e, s, mf);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(mf, IN_FLIGHT); /* really concurrent */
        assert_int_equal(d, CYCLES);
        ok += o;
        refused += r;
        errors += e;
        settle_errors += s;
    }
    assert_int_equal(errors, 0);
    assert_int_equal(settle_errors, 0);
    assert_int_equal(ok, WINNERS);
    assert_int_equal(refused, PROCS * CYCLES - WINNERS);

    assert_int_equal(hnum(c, ukey, "quota"), 0);
    assert_int_equal(hnum(c, ukey, "reserved"), 0);
    assert_int_equal(hnum(c, ukey, "used_quota"), BUDGET); /* overspend 0 */
    assert_int_equal(hnum(c, ukey, "request_count"), WINNERS);
    assert_int_equal(hnum(c, tkey, "remain_quota"), 1000000 - BUDGET);
    assert_int_equal(hnum(c, tkey, "reserved"), 0);
    assert_int_equal(hnum(c, tkey, "used_quota"), BUDGET);

    redisReply *hl = redisCommand(c, "HLEN %s", res);
    assert_int_equal(hl->integer, 0);
    freeReplyObject(hl);

    /* The ledger: exactly WINNERS consume entries, dq summing to -budget. */
    redisReply *x = redisCommand(c, "XRANGE %s - +", led);
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    assert_int_equal(x->elements, WINNERS);
    long long dq = 0, du = 0;
    for (size_t i = 0; i < x->elements; i++) {
        redisReply *f = x->element[i]->element[1];
        assert_string_equal(f->element[1]->str, "consume");
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (strcmp(f->element[j]->str, "dq") == 0)
                dq += strtoll(f->element[j + 1]->str, NULL, 10);
            if (strcmp(f->element[j]->str, "du") == 0)
                du += strtoll(f->element[j + 1]->str, NULL, 10);
        }
    }
    freeReplyObject(x);
    assert_int_equal(dq, -(long long)BUDGET);
    assert_int_equal(du, BUDGET);
    redisFree(c);
}

static int group_setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    if (gw_scripts_init() != GW_OK)
        return -1;
    return gw_test_redis_start(&server, NULL);
}

static int group_teardown(void **state)
{
    gw_test_redis_cleanup(&server);
    gw_scripts_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_never_overspend),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
