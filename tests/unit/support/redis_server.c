/* See redis_server.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <hiredis/hiredis.h>
#include "tests/unit/support/redis_server.h"

#define WAIT_MS 5000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int answers(const char *sock)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectUnixWithTimeout(sock, tv);
    redisReply *reply = NULL;

    if (c != NULL && c->err == 0) {
        redisSetTimeout(c, tv);
        reply = redisCommand(c, "PING");
    }
    if (reply != NULL)
        freeReplyObject(reply);
    if (c != NULL)
        redisFree(c);
    return reply != NULL;
}

/* Waits up to ms for the child to exit; 1 when reaped. */
static int reap(pid_t pid, long ms)
{
    for (long waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (waited >= ms)
            return 0;
        sleep_ms(10);
    }
}

static int spawn(struct gw_test_redis *t)
{
    const char *bin = getenv("GW_REDIS_SERVER");
    char logfile[128];
    const char *argv[20 + GW_TEST_REDIS_MAX_ARGS];
    int n = 0;

    snprintf(logfile, sizeof logfile, "%s/redis.log", t->dir);
    argv[n++] = bin && bin[0] ? bin : "redis-server";
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--unixsocket";
    argv[n++] = t->sock;
    argv[n++] = "--unixsocketperm";
    argv[n++] = "700";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = t->dir;
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    for (int i = 0; i < t->nargs; i++)
        argv[n++] = t->args[i];
    argv[n] = NULL;

    fflush(NULL);
    t->pid = fork();
    if (t->pid < 0) {
        perror("redis_server: fork");
        t->pid = 0;
        return -1;
    }
    if (t->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "redis_server: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (long waited = 0; waited < WAIT_MS; waited += 10) {
        if (reap(t->pid, 0)) {
            fprintf(stderr, "redis_server: redis-server exited early (see %s)\n", logfile);
            t->pid = 0;
            return -1;
        }
        if (answers(t->sock))
            return 0;
        sleep_ms(10);
    }
    fprintf(stderr, "redis_server: no PING answer on %s within %d ms\n", t->sock, WAIT_MS);
    gw_test_redis_stop(t);
    return -1;
}

int gw_test_redis_start(struct gw_test_redis *t, const char *const *extra)
{
    memset(t, 0, sizeof *t);
    for (; extra && extra[t->nargs]; t->nargs++) {
        if (t->nargs == GW_TEST_REDIS_MAX_ARGS ||
            strlen(extra[t->nargs]) >= sizeof t->args[0]) {
            fprintf(stderr, "redis_server: too many or too long extra arguments\n");
            return -1;
        }
        strncpy(t->args[t->nargs], extra[t->nargs], sizeof t->args[0] - 1);
    }
    snprintf(t->dir, sizeof t->dir, "/tmp/gw-redis-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        perror("redis_server: mkdtemp");
        t->dir[0] = '\0';
        return -1;
    }
    snprintf(t->sock, sizeof t->sock, "%s/redis.sock", t->dir);
    if (spawn(t) != 0) {
        gw_test_redis_cleanup(t);
        return -1;
    }
    return 0;
}

int gw_test_redis_stop(struct gw_test_redis *t)
{
    int rc = 0;

    if (t->pid <= 0)
        return 0;
    kill(t->pid, SIGTERM);
    kill(t->pid, SIGCONT); /* a test may have stopped it */
    if (!reap(t->pid, WAIT_MS)) {
        kill(t->pid, SIGKILL);
        reap(t->pid, WAIT_MS);
        rc = -1;
    }
    t->pid = 0;
    unlink(t->sock); /* redis removes it on a clean exit; not after SIGKILL */
    return rc;
}

int gw_test_redis_restart(struct gw_test_redis *t)
{
    gw_test_redis_stop(t);
    return spawn(t);
}

void gw_test_redis_cleanup(struct gw_test_redis *t)
{
    static const char *const files[] = {"redis.sock", "redis.log", "dump.rdb"};
    char path[128];

    gw_test_redis_stop(t);
    if (t->dir[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", t->dir, files[i]);
        unlink(path);
    }
    rmdir(t->dir);
    t->dir[0] = '\0';
}
