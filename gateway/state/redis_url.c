/* REDIS_CONN_STRING parsing: see gw_redis_parse_url() in redis.h.
 * The accepted forms follow go-redis ParseURL (the reference system's parser)
 * where hiredis 0.14 can honour them: the last '@' ends the user info, an
 * empty host means localhost, a missing port means 6379, unknown query
 * options are an error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "gateway/core/err.h"
#include "gateway/state/redis.h"

/* sun_path of struct sockaddr_un on Linux. */
#define UNIX_PATH_MAX 108

struct span {
    const char *p;
    size_t n;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s into out[outlen]; -1 on a bad escape, an embedded NUL or
 * when it does not fit. */
static int decode(struct span s, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= s.n)
                return -1;
            hi = hexval(s.p[i + 1]);
            lo = hexval(s.p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* Decimal in [min, max]; -1 when s is empty, not all digits or out of range. */
static long number(struct span s, long min, long max)
{
    long v = 0;

    if (s.n == 0 || s.n > 10)
        return -1;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    return v >= min && v <= max ? v : -1;
}

static int copy(struct span s, char *out, size_t outlen)
{
    if (s.n >= outlen)
        return -1;
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return 0;
}

static int host_char_ok(char c)
{
    return (unsigned char)c > 0x20 && c != 0x7f && !strchr("/?#@[]%\\", c);
}

static int parse_host(struct span hp, struct gw_redis_addr *out, char *err, size_t errlen)
{
    struct span host = hp, port = {NULL, 0};
    const char *colon;
    int has_port = 0;

    if (hp.n > 0 && hp.p[0] == '[') {
        const char *end = memchr(hp.p, ']', hp.n);
        if (end == NULL)
            return fail(err, errlen, GW_EINVAL, "unterminated '[' in host");
        host = (struct span){hp.p + 1, (size_t)(end - hp.p - 1)};
        size_t rest = hp.n - (size_t)(end + 1 - hp.p);
        if (rest > 0) {
            if (end[1] != ':')
                return fail(err, errlen, GW_EINVAL, "junk after ']' in host");
            port = (struct span){end + 2, rest - 1};
            has_port = 1;
        }
        if (host.n == 0)
            return fail(err, errlen, GW_EINVAL, "empty IPv6 address");
        for (size_t i = 0; i < host.n; i++)
            if (hexval(host.p[i]) < 0 && host.p[i] != ':' && host.p[i] != '.')
                return fail(err, errlen, GW_EINVAL, "bad IPv6 address");
    } else if ((colon = memchr(hp.p, ':', hp.n)) != NULL) {
        host = (struct span){hp.p, (size_t)(colon - hp.p)};
        port = (struct span){colon + 1, hp.n - host.n - 1};
        has_port = 1;
        if (memchr(port.p, ':', port.n) != NULL)
            return fail(err, errlen, GW_EINVAL, "IPv6 hosts need brackets: redis://[::1]:6379");
    }
    for (size_t i = 0; hp.p[0] != '[' && i < host.n; i++)
        if (!host_char_ok(host.p[i]))
            return fail(err, errlen, GW_EINVAL, "bad character in host");

    if (host.n == 0)
        host = (struct span){"localhost", 9};
    if (copy(host, out->host, sizeof out->host) != 0)
        return fail(err, errlen, GW_EINVAL, "host too long");
    out->port = 6379;
    if (has_port) {
        long v = number(port, 1, 65535);
        if (v < 0)
            return fail(err, errlen, GW_EINVAL, "bad port '%.*s'", (int)port.n, port.p);
        out->port = (int)v;
    }
    return GW_OK;
}

/* "db=N&password=P"; db_seen tells whether the path already set a db. */
static int parse_query(struct span q, int db_seen, struct gw_redis_addr *out, char *err,
                       size_t errlen)
{
    while (q.n > 0) {
        const char *amp = memchr(q.p, '&', q.n);
        struct span kv = {q.p, amp ? (size_t)(amp - q.p) : q.n};
        const char *eq = memchr(kv.p, '=', kv.n);
        struct span k = {kv.p, eq ? (size_t)(eq - kv.p) : kv.n};
        struct span v = {eq ? eq + 1 : kv.p + kv.n, eq ? kv.n - k.n - 1 : 0};

        q = amp ? (struct span){amp + 1, q.n - kv.n - 1} : (struct span){NULL, 0};
        if (kv.n == 0)
            continue;
        if (k.n == 2 && memcmp(k.p, "db", 2) == 0) {
            long db = number(v, 0, 1000000);
            if (db < 0)
                return fail(err, errlen, GW_EINVAL, "bad db '%.*s'", (int)v.n, v.p);
            if (db_seen)
                return fail(err, errlen, GW_EINVAL, "db given twice");
            out->db = (int)db;
            db_seen = 1;
        } else if (k.n == 8 && memcmp(k.p, "password", 8) == 0) {
            if (decode(v, out->password, sizeof out->password) != 0)
                return fail(err, errlen, GW_EINVAL, "bad or too long password");
        } else {
            return fail(err, errlen, GW_EINVAL, "unknown option '%.*s'", (int)k.n, k.p);
        }
    }
    return GW_OK;
}

static int parse_unix(struct span rest, struct span q, struct gw_redis_addr *out, char *err,
                      size_t errlen)
{
    if (rest.n == 0 || rest.p[0] != '/')
        return fail(err, errlen, GW_EINVAL, "unix socket path must be absolute: unix:///path");
    if (rest.n >= UNIX_PATH_MAX || copy(rest, out->unix_path, sizeof out->unix_path) != 0)
        return fail(err, errlen, GW_EINVAL, "unix socket path longer than %d bytes",
                    UNIX_PATH_MAX - 1);
    return parse_query(q, 0, out, err, errlen);
}

static int parse_redis(struct span rest, struct span q, struct gw_redis_addr *out, char *err,
                       size_t errlen)
{
    const char *slash = memchr(rest.p, '/', rest.n);
    struct span auth = {rest.p, slash ? (size_t)(slash - rest.p) : rest.n};
    struct span path = {slash ? slash + 1 : rest.p + rest.n, slash ? rest.n - auth.n - 1 : 0};
    struct span hostport = auth;
    int rc, db_seen = 0;

    /* The last '@' ends the user info, so an unescaped '@' in a password
     * still works (as in Go's url.Parse). */
    for (size_t i = auth.n; i > 0; i--) {
        if (auth.p[i - 1] != '@')
            continue;
        struct span ui = {auth.p, i - 1};
        const char *colon = memchr(ui.p, ':', ui.n);
        struct span user = {ui.p, colon ? (size_t)(colon - ui.p) : ui.n};
        char ubuf[256];

        hostport = (struct span){auth.p + i, auth.n - i};
        if (decode(user, ubuf, sizeof ubuf) != 0)
            return fail(err, errlen, GW_EINVAL, "bad or too long user name");
        if (colon && decode((struct span){colon + 1, ui.n - user.n - 1}, out->password,
                            sizeof out->password) != 0)
            return fail(err, errlen, GW_EINVAL, "bad or too long password");
        if (ubuf[0] != '\0' && strcmp(ubuf, "default") != 0)
            fail(err, errlen, GW_OK,
                 "user '%.64s' ignored: hiredis 0.14 sends AUTH <password> only", ubuf);
        break;
    }
    if ((rc = parse_host(hostport, out, err, errlen)) != GW_OK)
        return rc;
    if (path.n > 0) {
        long db = number(path, 0, 1000000);
        if (db < 0)
            return fail(err, errlen, GW_EINVAL, "bad db '%.*s'", (int)path.n, path.p);
        out->db = (int)db;
        db_seen = 1;
    }
    return parse_query(q, db_seen, out, err, errlen);
}

int gw_redis_parse_url(const char *url, struct gw_redis_addr *out, char *err, size_t errlen)
{
    static const char redis[] = "redis://", rediss[] = "rediss://", unx[] = "unix://";
    struct span rest, q = {NULL, 0};
    const char *qm;

    memset(out, 0, sizeof *out);
    if (errlen > 0)
        err[0] = '\0';
    if (url == NULL || url[0] == '\0')
        return fail(err, errlen, GW_EINVAL, "empty Redis URL");
    if (strpbrk(url, "# \t\r\n") != NULL)
        return fail(err, errlen, GW_EINVAL, "Redis URL contains '#' or whitespace");

    if (strncasecmp(url, rediss, sizeof rediss - 1) == 0)
        return fail(err, errlen, GW_ENOTSUP, "rediss:// (TLS) is not supported by hiredis 0.14");
    int is_unix = strncasecmp(url, unx, sizeof unx - 1) == 0;
    if (!is_unix && strncasecmp(url, redis, sizeof redis - 1) != 0)
        return fail(err, errlen, GW_EINVAL, "Redis URL must start with redis:// or unix://");
    rest.p = url + (is_unix ? sizeof unx - 1 : sizeof redis - 1);
    rest.n = strlen(rest.p);
    if ((qm = memchr(rest.p, '?', rest.n)) != NULL) {
        q = (struct span){qm + 1, rest.n - (size_t)(qm + 1 - rest.p)};
        rest.n = (size_t)(qm - rest.p);
    }

    int rc = is_unix ? parse_unix(rest, q, out, err, errlen) : parse_redis(rest, q, out, err, errlen);
    if (rc != GW_OK)
        memset(out, 0, sizeof *out); /* no half-parsed secrets left behind */
    return rc;
}
