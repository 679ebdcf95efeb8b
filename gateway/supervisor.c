/* The supervisor: prepares storage and Redis, forks the workers, restarts any
 * that die, forwards SIGTERM/SIGINT and drains them, then stops the embedded
 * Redis it started. It holds no lws, curl or hiredis-async state, so workers
 * fork clean (DESIGN §2). */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/static.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "gateway/supervisor.h"
#include "gateway/worker.h"
#include "gateway/ledger_proc.h"
#include "persist/store.h"
#include "persist/warm.h"

#define MAX_WORKERS 256
#define CRASH_WINDOW_S 2
#define CRASH_LIMIT 10

static volatile sig_atomic_t got_stop, got_child;

struct child {
    pid_t pid;
    time_t started;
    int crashes; /* consecutive quick deaths */
};

struct sup {
    struct gw_config *cfg;
    struct gw_static *statics;
    struct child workers[MAX_WORKERS];
    int nworkers;
    pid_t redis_pid;          /* 0 unless we started it */
    char redis_sock[256];
    uint64_t start_time;
    int failed;               /* a worker ended badly during shutdown */
    struct gw_redis_addr redis;
    pid_t ledger_pid;         /* persister + reaper process */
    time_t ledger_started;
    char node[128];           /* this replica's name (ledger consumer, tf:nodes) */
};

static void on_sig(int sig)
{
    if (sig == SIGCHLD)
        got_child = 1;
    else
        got_stop = 1;
}

/* Children start with default dispositions and nothing blocked (the
 * supervisor's loop blocks SIGCHLD/SIGTERM/SIGINT, and masks survive exec),
 * except that a worker keeps SIGTERM/SIGINT blocked until its loop has
 * handlers for them: a Ctrl-C during start-up must drain, not kill. */
static void reset_child_signals(int keep_stop_blocked)
{
    sigset_t none;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigemptyset(&none);
    if (keep_stop_blocked) {
        sigaddset(&none, SIGTERM);
        sigaddset(&none, SIGINT);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig; /* no SA_RESTART: waits must wake up (c-core-notes §5) */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return GW_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return GW_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return GW_EIO;
    return GW_OK;
}

/* ---- embedded Redis ----------------------------------------------------- */

static pid_t spawn_redis(struct sup *s, const char *dir)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Own process group: a terminal's Ctrl-C must not stop Redis before the
     * workers have drained; the supervisor stops it last. */
    setpgid(0, 0);
    reset_child_signals(0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char logfile[4200];
    snprintf(logfile, sizeof logfile, "%s/redis.log", dir);
    execlp(s->cfg->redis_server, s->cfg->redis_server, "--port", "0", "--unixsocket",
           s->redis_sock, "--unixsocketperm", "700", "--dir", dir, "--appendonly", "yes",
           "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile", logfile,
           (char *)NULL);
    fprintf(stderr, "cannot exec %s: %s\n", s->cfg->redis_server, strerror(errno));
    _exit(127);
}

static int start_embedded_redis(struct sup *s)
{
    char dir[4096], url[300];
    struct gw_redis_addr addr;
    char err[256];
    if (!realpath(s->cfg->data_dir, dir))
        return GW_EIO;
    if ((size_t)snprintf(s->redis_sock, sizeof s->redis_sock, "%s/redis.sock", dir) >= 108) {
        GW_ERROR("DATA_DIR path too long for a unix socket; set REDIS_CONN_STRING instead");
        return GW_EINVAL;
    }
    snprintf(url, sizeof url, "unix://%s", s->redis_sock);
    gw_redis_parse_url(url, &addr, err, sizeof err);
    /* Another gateway on the same DATA_DIR already runs it: share it. */
    if (gw_redis_sync_wait_ready(&addr, 200) == GW_OK) {
        GW_INFO("using the Redis already running at %s", s->redis_sock);
    } else {
        unlink(s->redis_sock);
        s->redis_pid = spawn_redis(s, dir);
        if (s->redis_pid < 0)
            return GW_EIO;
        if (gw_redis_sync_wait_ready(&addr, 15000) != GW_OK) {
            GW_ERROR("embedded redis-server did not come up; see %s/redis.log", dir);
            return GW_EIO;
        }
    }
    gw_free(s->cfg->redis_conn_string);
    s->cfg->redis_conn_string = gw_xstrdup(url);
    return GW_OK;
}

/* Signals pid, waits up to wait_s, then SIGKILLs it; returns its status. */
static int stop_pid(pid_t pid, int sig, int wait_s)
{
    int status = 0;
    kill(pid, sig);
    for (int i = 0; i < wait_s * 20; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

/* ---- storage and scripts -------------------------------------------------- */

static int prepare_sql(struct sup *s)
{
    gw_store *st;
    char err[512];
    int applied = 0;
    if (gw_store_open(s->cfg->sql_dsn, s->cfg->sqlite_path, &st, err, sizeof err) != GW_OK) {
        GW_ERROR("SQL: %s", err);
        return GW_EIO;
    }
    int rc = GW_OK;
    if (strcmp(s->cfg->node_type, "slave") != 0) {
        rc = gw_store_migrate(st, &applied, err, sizeof err);
        if (rc != GW_OK)
            GW_ERROR("migrations: %s", err);
        else if (applied)
            GW_INFO("applied %d migration(s) to %s", applied,
                    gw_db_kind_name(gw_store_kind(st)));
    }
    gw_store_close(st); /* never carry a SQL connection across fork */
    return rc;
}

static int prepare_redis(struct sup *s)
{
    struct gw_redis_addr addr;
    char err[256];
    if (!s->cfg->redis_conn_string[0] && start_embedded_redis(s) != GW_OK)
        return GW_EIO;
    if (gw_redis_parse_url(s->cfg->redis_conn_string, &addr, err, sizeof err) != GW_OK) {
        GW_ERROR("REDIS_CONN_STRING: %s", err);
        return GW_EINVAL;
    }
    s->redis = addr;
    if (gw_redis_sync_wait_ready(&addr, 15000) != GW_OK) {
        GW_ERROR("Redis at %s is not answering", s->cfg->redis_conn_string);
        return GW_EIO;
    }
    redisContext *c = gw_redis_sync_connect(&addr, 2000, err, sizeof err);
    if (!c) {
        GW_ERROR("Redis: %s", err);
        return GW_EIO;
    }
    int rc = gw_scripts_init();
    if (rc == GW_OK)
        rc = gw_redis_sync_load_scripts(c, err, sizeof err);
    if (rc != GW_OK)
        GW_ERROR("Redis scripts: %s", err);
    redisFree(c); /* no hiredis state across fork */
    return rc;
}

/* Cold start (DESIGN §2): when Redis has no warm marker, load users, tokens
 * and channels from SQL under a Redis lock. It waits for the ledger to
 * drain, so the ledger process must already be running. */
static int warm_redis(struct sup *s)
{
    struct gw_warm_result wr;
    char err[256];
    gw_store *db = NULL;
    redisContext *rc = NULL;
    int rv = gw_store_open(s->cfg->sql_dsn, s->cfg->sqlite_path, &db, err, sizeof err);
    if (rv == GW_OK && !(rc = gw_redis_sync_connect(&s->redis, 5000, err, sizeof err)))
        rv = GW_EIO;
    if (rv == GW_OK) {
        memset(&wr, 0, sizeof wr);
        rv = gw_warm_run(db, rc, NULL, &wr);
        if (rv != GW_OK)
            GW_ERROR("cold start of Redis from SQL failed: %s", gw_strerror(rv));
        else if (wr.loaded)
            GW_INFO("cold start: loaded %lld users, %lld tokens, %lld channels into Redis",
                    wr.users, wr.tokens, wr.channels);
    } else {
        GW_ERROR("cold start: %s", err);
    }
    if (rc)
        redisFree(rc); /* no hiredis state across fork */
    gw_store_close(db);
    return rv;
}

/* The ledger process: persister and reaper threads live in a child of their
 * own, so the supervisor stays single-threaded and every fork is clean. */
static pid_t spawn_ledger(struct sup *s)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        reset_child_signals(1);
        exit(gw_ledger_main(s->cfg, &s->redis, s->node));
    }
    s->ledger_pid = pid > 0 ? pid : 0;
    s->ledger_started = time(NULL);
    return pid;
}

/* Fail before forking when the port is taken by something that is not
 * sharing it with SO_REUSEPORT. */
static int check_port(const struct gw_config *cfg)
{
    struct sockaddr_in sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    inet_pton(AF_INET, cfg->bind_address, &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc != 0) {
        GW_ERROR("cannot bind %s:%d: %s", cfg->bind_address, cfg->port, strerror(e));
        return GW_EIO;
    }
    return GW_OK;
}

/* ---- workers ------------------------------------------------------------- */

static pid_t spawn_worker(struct sup *s, int id)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        reset_child_signals(1);
        /* exit(), not _exit(): LeakSanitizer checks the worker at exit. */
        exit(gw_worker_main(id, s->cfg, s->statics, s->start_time));
    }
    if (pid > 0) {
        s->workers[id].pid = pid;
        s->workers[id].started = time(NULL);
    }
    return pid;
}

static void describe_exit(int id, pid_t pid, int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "worker %d (pid %d) killed by signal %d", id, (int)pid,
                 WTERMSIG(status));
    else
        snprintf(out, cap, "worker %d (pid %d) exited with status %d", id, (int)pid,
                 WEXITSTATUS(status));
}

/* Reaps children; restarts workers (and the embedded Redis) unless stopping.
 * Returns GW_EIO when a worker crash-loops. */
static int reap(struct sup *s, int stopping)
{
    int status;
    pid_t pid;
    char msg[160];
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == s->ledger_pid) {
            s->ledger_pid = 0;
            if (!stopping) {
                GW_ERROR("ledger process died (status %d); restarting it", status);
                if (time(NULL) - s->ledger_started < CRASH_WINDOW_S)
                    usleep(500000);
                spawn_ledger(s);
            }
            continue;
        }
        if (pid == s->redis_pid) {
            s->redis_pid = 0;
            if (!stopping) {
                GW_ERROR("embedded redis-server died (status %d); restarting it", status);
                char dir[4096];
                if (realpath(s->cfg->data_dir, dir))
                    s->redis_pid = spawn_redis(s, dir);
            }
            continue;
        }
        for (int i = 0; i < s->nworkers; i++) {
            struct child *c = &s->workers[i];
            if (c->pid != pid)
                continue;
            c->pid = 0;
            describe_exit(i, pid, status, msg, sizeof msg);
            int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (stopping) {
                if (!clean) {
                    s->failed = 1;
                    GW_ERROR("%s", msg);
                }
                break;
            }
            GW_ERROR("%s; restarting it", msg);
            c->crashes = time(NULL) - c->started < CRASH_WINDOW_S ? c->crashes + 1 : 0;
            if (c->crashes >= CRASH_LIMIT) {
                GW_ERROR("worker %d keeps dying at start; giving up", i);
                return GW_EIO;
            }
            if (c->crashes)
                usleep(100000u * (unsigned)c->crashes);
            spawn_worker(s, i);
            break;
        }
    }
    return GW_OK;
}

static int live_workers(const struct sup *s)
{
    int n = 0;
    for (int i = 0; i < s->nworkers; i++)
        n += s->workers[i].pid > 0;
    return n;
}

static void stop_workers(struct sup *s)
{
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].pid > 0)
            kill(s->workers[i].pid, SIGTERM);
    /* Workers bound their own drain by SHUTDOWN_TIMEOUT; allow a margin. */
    time_t deadline = time(NULL) + s->cfg->shutdown_timeout + 10;
    while (live_workers(s) && time(NULL) < deadline) {
        reap(s, 1);
        if (live_workers(s))
            usleep(20000);
    }
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].pid > 0) {
            GW_ERROR("worker %d did not stop; killing it", i);
            kill(s->workers[i].pid, SIGKILL);
            waitpid(s->workers[i].pid, NULL, 0);
            s->workers[i].pid = 0;
            s->failed = 1;
        }
}

static const char *display_host(const char *bind)
{
    return strcmp(bind, "0.0.0.0") == 0 ? "localhost" : bind;
}

int gw_supervisor_run(struct gw_config *cfg)
{
    static struct sup sup;
    struct sup *s = &sup;
    sigset_t block, old;
    s->cfg = cfg;
    s->start_time = (uint64_t)time(NULL);
    gw_log_set_process("sup");
    install_signals();

    if (mkdir_p(cfg->data_dir) != GW_OK) {
        GW_ERROR("cannot create DATA_DIR %s: %s", cfg->data_dir, strerror(errno));
        return 1;
    }
    int rc = check_port(cfg);
    if (rc == GW_OK)
        rc = prepare_sql(s);
    if (rc == GW_OK)
        rc = prepare_redis(s);
    if (rc == GW_OK && gw_static_load(cfg->static_dir, &s->statics) != GW_OK) {
        GW_ERROR("cannot load STATIC_DIR %s", cfg->static_dir);
        rc = GW_EIO;
    }
    if (rc == GW_OK) {
        char host[64] = "";
        gethostname(host, sizeof host - 1);
        snprintf(s->node, sizeof s->node, "%s:%d", host, (int)getpid());
        if (spawn_ledger(s) < 0)
            rc = GW_EIO;
        else
            rc = warm_redis(s);
    }
    if (rc != GW_OK || got_stop)
        goto out;

    s->nworkers = cfg->workers > MAX_WORKERS ? MAX_WORKERS : cfg->workers;
    for (int i = 0; i < s->nworkers; i++)
        if (spawn_worker(s, i) < 0) {
            GW_ERROR("fork: %s", strerror(errno));
            rc = GW_EIO;
            goto stop;
        }
    fprintf(stderr, "Token Factory v%s listening on http://%s:%d (%d workers, %s, redis %s)\n",
            GW_VERSION, display_host(cfg->bind_address), cfg->port, s->nworkers,
            gw_db_kind_name(gw_store_dsn_kind(cfg->sql_dsn)), cfg->redis_conn_string);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!got_stop) {
        if (!got_child)
            sigsuspend(&old); /* atomically unblock and wait: no lost wake-ups */
        if (got_child) {
            got_child = 0;
            if (reap(s, 0) != GW_OK) {
                rc = GW_EIO;
                break;
            }
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    GW_INFO("stopping: draining workers (up to %ds)", cfg->shutdown_timeout);
stop:
    stop_workers(s);
out:
    if (s->ledger_pid > 0) { /* after the workers: their last settles get applied */
        int st = stop_pid(s->ledger_pid, SIGTERM, 30);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            GW_ERROR("ledger process ended with status %d", st);
            s->failed = 1;
        }
        s->ledger_pid = 0;
    }
    if (s->redis_pid > 0)
        stop_pid(s->redis_pid, SIGTERM, 10); /* Redis fsyncs its AOF on SIGTERM */
    gw_static_free(s->statics);
    if (rc == GW_OK && !s->failed)
        GW_INFO("stopped");
    return rc == GW_OK && !s->failed ? 0 : 1;
}
