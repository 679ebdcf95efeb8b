/* Redis client: connection URL, async client on a libuv loop, blocking client
 * for the supervisor.
 *
 * hiredis 0.14.1 has no async timeouts, no connect timeout and no TLS
 * (c-core-notes §7). This module adds a deadline to every command, a connect
 * deadline, reconnection with backoff, and transparent NOSCRIPT reloads.
 *
 * Threading: a gw_redis belongs to the loop it was created on; call it only
 * from that loop's thread. The blocking client is for the supervisor (or a
 * thread of its own), never for a worker's loop. */
#ifndef GW_STATE_REDIS_H
#define GW_STATE_REDIS_H
#include <stddef.h>
#include <uv.h>
#include <hiredis/hiredis.h>

/* ---- Connection target --------------------------------------------------- */

/* Parsed REDIS_CONN_STRING. Exactly one of host/unix_path is non-empty. */
struct gw_redis_addr {
    char host[256];      /* "" for a unix socket; IPv6 without brackets */
    int port;            /* 6379 when the URL gives none; 0 for a unix socket */
    char unix_path[256]; /* absolute path, shorter than sun_path (108) */
    char password[256];  /* "" = no AUTH; percent-decoded */
    int db;              /* 0 = no SELECT */
};

/* Parses a connection string into *out (always fully written, zeroed first):
 *   redis://[[user]:password@]host[:port][/db][?db=N&password=P]
 *   unix:///abs/path/to/socket[?db=N&password=P]
 * The host may be an IPv6 literal in brackets: redis://[::1]:6379. The
 * password and user are percent-decoded. hiredis 0.14 sends "AUTH password"
 * only, so a user name other than "default" is ignored.
 * On success returns GW_OK and writes "" to err, or a note for the caller to
 * log (e.g. that a user name was ignored). On failure returns GW_EINVAL (or
 * GW_ENOTSUP for rediss://, which hiredis 0.14 cannot speak) with a message
 * in err. err may be NULL when errlen is 0. */
int gw_redis_parse_url(const char *url, struct gw_redis_addr *out, char *err, size_t errlen);

/* ---- Async client -------------------------------------------------------- */

typedef struct gw_redis gw_redis;

/* Completion of one command. status is
 *   GW_OK        with a reply, which may be a REDIS_REPLY_ERROR: callers check;
 *   GW_ETIMEDOUT the deadline passed (a late reply is dropped and counted);
 *   GW_ECLOSED   the connection dropped or the client is being freed;
 *   GW_EIO       the connection could not be set up (AUTH or SELECT refused).
 * reply is NULL unless status is GW_OK. It is owned by the client and valid
 * only during the callback: copy what you need. The callback is called exactly
 * once per accepted command, and may issue new commands or call
 * gw_redis_free(). */
typedef void (*gw_redis_cb)(int status, redisReply *reply, void *data);

/* Creates a client on loop and starts connecting at once (for a TCP host the
 * name is resolved with a blocking getaddrinfo on each connect: configure an
 * IP or a unix socket). After connecting it sends AUTH and SELECT when
 * configured. It RECONNECTS whenever the connection drops, after a backoff of
 * 50 ms doubling to 2 s, reset once a connection is ready. A connect attempt
 * (socket plus handshake) that takes longer than max(2 * timeout_ms, 1 s) is
 * abandoned and retried the same way.
 *
 * Every command has a deadline of timeout_ms (0 means 1000), driven by one
 * uv_timer: when it passes the callback gets GW_ETIMEDOUT exactly once and a
 * late reply is ignored safely. A connection that has had a timed-out command
 * outstanding and received nothing for max(10 * timeout_ms, 2 s) is taken as
 * dead (a black-holed TCP peer) and replaced.
 *
 * Commands issued while disconnected fail at once with GW_ECLOSED. While a
 * connection attempt is in progress up to GW_REDIS_MAX_HELD commands are held
 * and sent once it is ready (keeping their deadlines); beyond that
 * GW_EAGAIN.
 *
 * Returns NULL only when loop or addr is NULL. Free with gw_redis_free(). */
gw_redis *gw_redis_new(uv_loop_t *loop, const struct gw_redis_addr *addr, unsigned timeout_ms);

#define GW_REDIS_MAX_HELD 1024

/* 1 when a connection is up and its AUTH/SELECT handshake has completed. */
int gw_redis_connected(const gw_redis *r);

/* Last connection-level error ("connection refused", the AUTH error, ...),
 * "" if none. Valid until the next call into the client. For logging. */
const char *gw_redis_last_error(const gw_redis *r);

/* Sends one binary-safe command, argv/argvlen as in redisAsyncCommandArgv
 * (argvlen NULL means strlen of each argument). The arguments are copied
 * before this returns.
 * Returns GW_OK, or GW_ECLOSED (not connected / being freed), GW_EAGAIN
 * (too many commands held while connecting), GW_EINVAL (argc < 1),
 * GW_ENOTSUP ((P|S)SUBSCRIBE, (P)UNSUBSCRIBE and MONITOR: they break the
 * one-reply-per-command rule), GW_ENOMEM. If this returns an error the
 * callback is never called. */
int gw_redis_command_argv(gw_redis *r, gw_redis_cb cb, void *data, int argc,
                          const char **argv, const size_t *argvlen);

/* Same, with a hiredis format string ("SET %s %b", key, val, len).
 * GW_EINVAL for a bad format. */
int gw_redis_command(gw_redis *r, gw_redis_cb cb, void *data, const char *fmt, ...);

/* Calls the registered script name (scripts.h) with EVALSHA sha nkeys argv...
 * On a NOSCRIPT error reply it sends SCRIPT LOAD and the EVALSHA again, once,
 * pipelined on the same connection and within the original deadline; the
 * caller sees only the final reply. GW_ENOTFOUND for an unknown script,
 * GW_EINVAL when nkeys is not within 0..argc; otherwise as
 * gw_redis_command_argv. */
int gw_redis_script(gw_redis *r, const char *name, int nkeys, int argc, const char **argv,
                    const size_t *argvlen, gw_redis_cb cb, void *data);

/* Closes the connection and releases the client. Every pending callback has
 * been called exactly once with GW_ECLOSED by the time this returns
 * (synchronously; gw_redis_free() again from one of them is a no-op). The uv
 * handles are closed, so the memory is released on the loop's next turn: run
 * the loop (uv_run) after this for the loop to finish and uv_loop_close() to
 * succeed. NULL is a no-op. May be called from inside a callback. */
void gw_redis_free(gw_redis *r);

/* Counters for tests and the status page. */
struct gw_redis_stats {
    unsigned long long sent;         /* commands written, NOSCRIPT retries included */
    unsigned long long replies;      /* replies delivered to callers */
    unsigned long long timeouts;     /* callbacks given GW_ETIMEDOUT */
    unsigned long long late_replies; /* replies that arrived after their timeout */
    unsigned long long reconnects;   /* connections made ready after the first */
    unsigned long long flushes;      /* batched writes: commands issued in one loop
                                        iteration leave together (a write that fills
                                        the socket finishes on UV_WRITABLE, uncounted) */
    int connected;
};
void gw_redis_get_stats(const gw_redis *r, struct gw_redis_stats *out);

/* ---- Blocking client (redis_sync.c), for the supervisor ------------------ */

/* Connects with a connect timeout, sets timeout_ms as the read/write timeout
 * (redisSetTimeout), then AUTH and SELECT when configured. Returns a context
 * to release with redisFree(), or NULL with a message in err. */
redisContext *gw_redis_sync_connect(const struct gw_redis_addr *addr, unsigned timeout_ms,
                                    char *err, size_t errlen);

/* SCRIPT LOAD of every registered script (scripts.h), checking that Redis
 * returns the SHA1 we computed. GW_OK, or GW_EIO with a message in err. */
int gw_redis_sync_load_scripts(redisContext *c, char *err, size_t errlen);

/* Polls (connect + PING) until Redis answers PONG, for at most total_ms.
 * A server still loading its dataset (-LOADING) or not yet listening is
 * retried every 50 ms. Returns GW_OK, GW_ETIMEDOUT, or GW_EIO when the server
 * answers but refuses us (wrong password, bad db): retrying cannot help. */
int gw_redis_sync_wait_ready(const struct gw_redis_addr *addr, unsigned total_ms);

#endif
