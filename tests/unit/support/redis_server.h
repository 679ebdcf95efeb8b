/* Test helper: a real redis-server child on a unix socket in a private
 * temporary directory, started with --port 0 --save "" --appendonly no.
 *
 * Linked into every unit test binary, so it depends on libc and hiredis only.
 * The child gets PR_SET_PDEATHSIG SIGKILL, so a crashed test leaves no
 * server behind. Set GW_REDIS_SERVER to use another redis-server binary. */
#ifndef GW_TEST_REDIS_SERVER_H
#define GW_TEST_REDIS_SERVER_H
#include <sys/types.h>

#define GW_TEST_REDIS_MAX_ARGS 8

struct gw_test_redis {
    char dir[64];   /* mkdtemp directory */
    char sock[128]; /* dir + "/redis.sock" */
    pid_t pid;      /* 0 when not running */
    int nargs;
    char args[GW_TEST_REDIS_MAX_ARGS][64]; /* extra arguments, kept for restart */
};

/* Starts a server. extra is a NULL-terminated list of additional arguments
 * (e.g. {"--requirepass", "secret", NULL}) or NULL. Waits, at most 5 s, until
 * the socket answers PING (any reply, NOAUTH included). Returns 0, or -1 with
 * a message on stderr (nothing left running, the directory removed). */
int gw_test_redis_start(struct gw_test_redis *t, const char *const *extra);

/* Stops the server by PID: SIGTERM, wait up to 5 s, then SIGKILL. Keeps the
 * directory, so gw_test_redis_restart() comes back on the same socket.
 * Returns 0, or -1 if it had to be killed. No-op when not running. */
int gw_test_redis_stop(struct gw_test_redis *t);

/* Starts again with the same socket and arguments (an empty data set).
 * Returns 0 or -1 like gw_test_redis_start(). */
int gw_test_redis_restart(struct gw_test_redis *t);

/* Stops the server and removes the directory. Safe to call twice. */
void gw_test_redis_cleanup(struct gw_test_redis *t);

#endif
