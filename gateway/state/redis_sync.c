/* Blocking Redis client for the supervisor: see redis.h. Never call these on a
 * worker's loop. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static struct timeval tv_ms(unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* A retryable error reply: the server is starting or busy, not refusing us. */
static int transient(const redisReply *reply)
{
    return strncmp(reply->str, "LOADING", 7) == 0 || strncmp(reply->str, "BUSY", 4) == 0;
}

/* Runs one command: GW_OK unless there is no reply (GW_EIO, an I/O error),
 * or an error reply (GW_EAGAIN when transient, else GW_EINVAL: refused).
 * what names it in the message. */
static int run(redisContext *c, char *err, size_t errlen, const char *what, const char *fmt,
               ...)
{
    redisReply *reply;
    va_list ap;
    int rc = GW_OK;

    va_start(ap, fmt);
    reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (reply == NULL) {
        say(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
        return GW_EIO;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        say(err, errlen, "%s: %s", what, reply->str);
        rc = transient(reply) ? GW_EAGAIN : GW_EINVAL;
    }
    freeReplyObject(reply);
    return rc;
}

/* gw_redis_sync_connect(), also telling why it failed: GW_EIO (connect or
 * I/O), GW_EAGAIN (server loading), GW_EINVAL (AUTH or SELECT refused). */
static redisContext *open_ctx(const struct gw_redis_addr *a, unsigned timeout_ms, char *err,
                              size_t errlen, int *why)
{
    struct timeval tv = tv_ms(timeout_ms ? timeout_ms : 1000);
    char target[300];
    redisContext *c;

    if (errlen > 0)
        err[0] = '\0';
    *why = GW_EIO;
    if (a->unix_path[0])
        snprintf(target, sizeof target, "%s", a->unix_path);
    else
        snprintf(target, sizeof target, "%s:%d", a->host, a->port);
    c = a->unix_path[0] ? redisConnectUnixWithTimeout(a->unix_path, tv)
                        : redisConnectWithTimeout(a->host, a->port, tv);
    if (c == NULL) {
        say(err, errlen, "redis connect %s: out of memory", target);
        return NULL;
    }
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        say(err, errlen, "redis connect %s: %s", target, c->errstr);
        redisFree(c);
        return NULL;
    }
    if ((a->password[0] && (*why = run(c, err, errlen, "redis AUTH", "AUTH %s", a->password)) != GW_OK) ||
        (a->db && (*why = run(c, err, errlen, "redis SELECT", "SELECT %d", a->db)) != GW_OK)) {
        redisFree(c);
        return NULL;
    }
    *why = GW_OK;
    return c;
}

redisContext *gw_redis_sync_connect(const struct gw_redis_addr *a, unsigned timeout_ms,
                                    char *err, size_t errlen)
{
    int why;

    return open_ctx(a, timeout_ms, err, errlen, &why);
}

int gw_redis_sync_load_scripts(redisContext *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < gw_scripts_count(); i++) {
        const struct gw_script *s = gw_script_at(i);
        redisReply *reply = redisCommand(c, "SCRIPT LOAD %b", s->text, s->len);
        int ok;

        if (reply == NULL) {
            say(err, errlen, "SCRIPT LOAD %s: %s", s->name, c->errstr);
            return GW_EIO;
        }
        ok = reply->type == REDIS_REPLY_STRING && reply->len == 40 &&
             strncasecmp(reply->str, s->sha, 40) == 0;
        if (!ok)
            say(err, errlen, "SCRIPT LOAD %s: %s", s->name,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "SHA1 differs from ours");
        freeReplyObject(reply);
        if (!ok)
            return GW_EIO;
    }
    return GW_OK;
}

/* One attempt: GW_OK (PONG), GW_EAGAIN (not up yet, or still loading),
 * GW_EIO (it answers but refuses us: configuration, not timing). */
static int probe(const struct gw_redis_addr *a, unsigned ms)
{
    char err[256];
    redisReply *reply;
    int rc, why;
    redisContext *c = open_ctx(a, ms, err, sizeof err, &why);

    if (c == NULL)
        return why == GW_EINVAL ? GW_EIO : GW_EAGAIN;
    reply = redisCommand(c, "PING");
    if (reply == NULL)
        rc = GW_EAGAIN;
    else if (reply->type == REDIS_REPLY_STATUS && strcasecmp(reply->str, "PONG") == 0)
        rc = GW_OK;
    else if (reply->type == REDIS_REPLY_ERROR && transient(reply))
        rc = GW_EAGAIN;
    else
        rc = GW_EIO; /* NOAUTH and the like */
    if (reply != NULL)
        freeReplyObject(reply);
    redisFree(c);
    return rc;
}

int gw_redis_sync_wait_ready(const struct gw_redis_addr *a, unsigned total_ms)
{
    unsigned long long end = gw_clock_mono_ms() + total_ms;

    for (;;) {
        unsigned long long now = gw_clock_mono_ms();
        unsigned left = now < end ? (unsigned)(end - now) : 0;
        int rc = probe(a, left < 500 ? (left ? left : 1) : 500);

        if (rc != GW_EAGAIN)
            return rc;
        now = gw_clock_mono_ms();
        if (now >= end)
            return GW_ETIMEDOUT;
        struct timespec ts = {0, (long)(end - now < 50 ? end - now : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
