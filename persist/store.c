/* Store dispatch: DSN kinds, the result-set type, upsert and transactions.
 * Migrations are in migrate.c, the pool in pool.c; dialect specifics live in
 * sqlite.c, mysql.c and postgres.c behind struct gw_store_ops. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "gateway/core/alloc.h"
#include "persist/store.h"

struct gw_store {
    const struct gw_store_ops *ops;
    void *be;
    int in_tx;
    int broken;     /* last call failed with GW_EIO: ping before reuse */
};

struct gw_rows {
    size_t ncols, nrows, cap;   /* cap in rows */
    char **names;
    char **cells;               /* nrows * ncols, NULL = SQL NULL */
    size_t *lens;
};

void gw__store_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

gw_db_kind gw_store_dsn_kind(const char *dsn)
{
    if (dsn == NULL || dsn[0] == '\0' || strncmp(dsn, "local", 5) == 0)
        return GW_DB_SQLITE;
    if (strncmp(dsn, "postgres://", 11) == 0 || strncmp(dsn, "postgresql://", 13) == 0)
        return GW_DB_POSTGRES;
    return GW_DB_MYSQL;
}

const char *gw_db_kind_name(gw_db_kind kind)
{
    switch (kind) {
    case GW_DB_MYSQL: return "mysql";
    case GW_DB_POSTGRES: return "postgres";
    default: return "sqlite";
    }
}

/* ---- Go MySQL DSN ---- */

static int copy_part(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return GW_ETOOBIG;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return GW_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* url.QueryUnescape (plus = 1: '+' is a space) or url.PathUnescape (plus = 0). */
static int unescape_part(char *dst, size_t cap, const char *src, size_t len, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0)
                return GW_EINVAL;
            c = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return GW_ETOOBIG;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return GW_OK;
}

/* Go time.ParseDuration subset: one or more <number><unit>, unit ns|us|ms|s|m|h.
 * Rounded up to whole seconds, as the C client takes seconds. */
static int parse_duration_s(const char *v, unsigned *out)
{
    double ms = 0;
    const char *p = v;
    if (*p == '\0')
        return GW_EINVAL;
    while (*p) {
        char *end;
        errno = 0;
        double n = strtod(p, &end);
        if (end == p || errno != 0 || n < 0)
            return GW_EINVAL;
        p = end;
        if (strncmp(p, "ns", 2) == 0) { n /= 1e6; p += 2; }
        else if (strncmp(p, "us", 2) == 0) { n /= 1e3; p += 2; }
        else if (strncmp(p, "ms", 2) == 0) { p += 2; }
        else if (*p == 's') { n *= 1e3; p++; }
        else if (*p == 'm') { n *= 60e3; p++; }
        else if (*p == 'h') { n *= 3600e3; p++; }
        else return GW_EINVAL;
        ms += n;
    }
    if (ms > 86400e3)
        return GW_EINVAL;
    *out = (unsigned)((ms + 999) / 1000);
    return GW_OK;
}

static int dsn_param(struct gw_mysql_dsn *d, const char *k, size_t klen, const char *v)
{
#define KEY_IS(lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)
    if (KEY_IS("charset")) {
        size_t n = strcspn(v, ",");
        return n == 0 ? GW_EINVAL : copy_part(d->charset, sizeof d->charset, v, n);
    }
    if (KEY_IS("timeout"))
        return parse_duration_s(v, &d->connect_timeout_s);
    if (KEY_IS("readTimeout"))
        return parse_duration_s(v, &d->read_timeout_s);
    if (KEY_IS("writeTimeout"))
        return parse_duration_s(v, &d->write_timeout_s);
    if (KEY_IS("tls")) {
        if (strcasecmp(v, "true") == 0) d->tls = 1;
        else if (strcmp(v, "skip-verify") == 0 || strcmp(v, "preferred") == 0) d->tls = 2;
        else if (strcasecmp(v, "false") == 0) d->tls = 0;
        else return GW_ENOTSUP;     /* a named custom TLS config only exists in Go */
    }
    return GW_OK;
#undef KEY_IS
}

static int dsn_params(struct gw_mysql_dsn *d, const char *p)
{
    char val[256];
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        if (eq == NULL)
            return GW_EINVAL;       /* Go: "invalid DSN: missing the '=' in a parameter" */
        int rc = unescape_part(val, sizeof val, eq + 1, n - (size_t)(eq + 1 - p), 1);
        if (rc == GW_OK)
            rc = dsn_param(d, p, (size_t)(eq - p), val);
        if (rc != GW_OK)
            return rc;
        p += n;
        if (*p == '&')
            p++;
    }
    return GW_OK;
}

static int dsn_addr(struct gw_mysql_dsn *d, const char *net, size_t netlen, const char *addr,
                    size_t addrlen)
{
    if (netlen == 0 || (netlen == 3 && memcmp(net, "tcp", 3) == 0)) {
        const char *host = addr, *colon = NULL;
        size_t hostlen = addrlen;
        if (addrlen == 0) {
            host = "127.0.0.1";
            hostlen = 9;
        } else if (addr[0] == '[') {                    /* [v6]:port */
            const char *rb = memchr(addr, ']', addrlen);
            if (rb == NULL)
                return GW_EINVAL;
            host = addr + 1;
            hostlen = (size_t)(rb - host);
            if (rb + 1 < addr + addrlen) {
                if (rb[1] != ':')
                    return GW_EINVAL;
                colon = rb + 1;
            }
        } else if ((colon = memchr(addr, ':', addrlen)) != NULL) {
            hostlen = (size_t)(colon - addr);
        }
        d->port = 3306;
        if (colon != NULL) {
            unsigned long port = 0;
            const char *p = colon + 1, *end = addr + addrlen;
            if (p == end)
                return GW_EINVAL;
            for (; p < end; p++) {
                if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned)(*p - '0')) > 65535)
                    return GW_EINVAL;
            }
            d->port = (unsigned)port;
        }
        return copy_part(d->host, sizeof d->host, host, hostlen);
    }
    if (netlen == 4 && memcmp(net, "unix", 4) == 0) {
        if (addrlen == 0)
            return copy_part(d->socket, sizeof d->socket, "/tmp/mysql.sock", 15);
        return copy_part(d->socket, sizeof d->socket, addr, addrlen);
    }
    return GW_ENOTSUP;
}

int gw_mysql_dsn_parse(const char *dsn, struct gw_mysql_dsn *d)
{
    memset(d, 0, sizeof *d);
    if (dsn == NULL)
        return GW_EINVAL;
    const char *slash = strrchr(dsn, '/');
    if (slash == NULL)
        return GW_EINVAL;           /* Go: "invalid DSN: missing the slash ..." */
    size_t i = (size_t)(slash - dsn);
    const char *net = dsn, *addr = "";
    size_t netlen = 0, addrlen = 0;
    int rc;
    if (i > 0) {
        size_t j = i, start;
        while (j > 0 && dsn[j - 1] != '@')
            j--;
        if (j > 0) {                /* dsn[j-1] is the last '@' before the slash */
            const char *cred = dsn, *colon = memchr(cred, ':', j - 1);
            size_t ulen = colon ? (size_t)(colon - cred) : j - 1;
            if ((rc = copy_part(d->user, sizeof d->user, cred, ulen)) != GW_OK)
                return rc;
            if (colon != NULL &&
                (rc = copy_part(d->pass, sizeof d->pass, colon + 1,
                                (size_t)(dsn + j - 1 - colon - 1))) != GW_OK)
                return rc;
        }
        start = j;
        net = dsn + start;
        netlen = i - start;
        const char *lp = memchr(net, '(', netlen);
        if (lp != NULL) {
            if (dsn[i - 1] != ')')
                return GW_EINVAL;   /* address must end right before the slash */
            addr = lp + 1;
            addrlen = (size_t)(dsn + i - 1 - addr);
            netlen = (size_t)(lp - net);
        }
    }
    if ((rc = dsn_addr(d, net, netlen, addr, addrlen)) != GW_OK)
        return rc;
    const char *db = slash + 1, *q = strchr(db, '?');
    if ((rc = unescape_part(d->db, sizeof d->db, db, q ? (size_t)(q - db) : strlen(db), 0))
        != GW_OK)
        return rc;
    if ((rc = copy_part(d->charset, sizeof d->charset, "utf8mb4", 7)) != GW_OK)
        return rc;
    return q ? dsn_params(d, q + 1) : GW_OK;
}

/* ---- result sets ---- */

gw_rows *gw__rows_new(size_t ncols)
{
    gw_rows *r = gw_calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->ncols = ncols;
    if (ncols > 0 && (r->names = gw_calloc(ncols, sizeof *r->names)) == NULL) {
        gw_free(r);
        return NULL;
    }
    return r;
}

int gw__rows_set_name(gw_rows *r, size_t col, const char *name)
{
    if (col >= r->ncols)
        return GW_EINVAL;
    gw_free(r->names[col]);
    return (r->names[col] = gw_strdup(name ? name : "")) ? GW_OK : GW_ENOMEM;
}

int gw__rows_add_row(gw_rows *r)
{
    if (r->ncols == 0) {
        r->nrows++;
        return GW_OK;
    }
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(char *) / r->ncols)
            return GW_ENOMEM;
        char **cells = gw_realloc(r->cells, cap * r->ncols * sizeof *cells);
        if (cells == NULL)
            return GW_ENOMEM;
        r->cells = cells;
        size_t *lens = gw_realloc(r->lens, cap * r->ncols * sizeof *lens);
        if (lens == NULL)
            return GW_ENOMEM;
        r->lens = lens;
        r->cap = cap;
    }
    for (size_t c = 0; c < r->ncols; c++) {
        r->cells[r->nrows * r->ncols + c] = NULL;
        r->lens[r->nrows * r->ncols + c] = 0;
    }
    r->nrows++;
    return GW_OK;
}

int gw__rows_set(gw_rows *r, size_t col, const char *v, size_t len)
{
    if (r->nrows == 0 || col >= r->ncols)
        return GW_EINVAL;
    size_t at = (r->nrows - 1) * r->ncols + col;
    gw_free(r->cells[at]);
    r->cells[at] = NULL;
    r->lens[at] = 0;
    if (v == NULL)
        return GW_OK;
    char *copy = gw_malloc(len + 1);
    if (copy == NULL)
        return GW_ENOMEM;
    memcpy(copy, v, len);
    copy[len] = '\0';
    r->cells[at] = copy;
    r->lens[at] = len;
    return GW_OK;
}

size_t gw_rows_count(const gw_rows *r) { return r ? r->nrows : 0; }
size_t gw_rows_cols(const gw_rows *r) { return r ? r->ncols : 0; }

const char *gw_rows_name(const gw_rows *r, size_t col)
{
    return r && col < r->ncols ? r->names[col] : NULL;
}

const char *gw_rows_get(const gw_rows *r, size_t row, size_t col)
{
    if (r == NULL || row >= r->nrows || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

size_t gw_rows_len(const gw_rows *r, size_t row, size_t col)
{
    if (r == NULL || row >= r->nrows || col >= r->ncols)
        return 0;
    return r->lens[row * r->ncols + col];
}

int gw_rows_int(const gw_rows *r, size_t row, size_t col, long long *out)
{
    const char *v = gw_rows_get(r, row, col);
    char *end;
    if (v == NULL)
        return GW_ENOTFOUND;
    if (strcmp(v, "t") == 0 || strcmp(v, "true") == 0) { *out = 1; return GW_OK; }
    if (strcmp(v, "f") == 0 || strcmp(v, "false") == 0) { *out = 0; return GW_OK; }
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0)
        return GW_EINVAL;
    *out = n;
    return GW_OK;
}

int gw_rows_double(const gw_rows *r, size_t row, size_t col, double *out)
{
    const char *v = gw_rows_get(r, row, col);
    char *end;
    if (v == NULL)
        return GW_ENOTFOUND;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE)
        return GW_EINVAL;
    *out = d;
    return GW_OK;
}

void gw_rows_free(gw_rows *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        gw_free(r->cells[i]);
    for (size_t c = 0; c < r->ncols; c++)
        gw_free(r->names[c]);
    gw_free(r->cells);
    gw_free(r->lens);
    gw_free(r->names);
    gw_free(r);
}

/* ---- connections ---- */

static const struct gw_store_ops *ops_for(gw_db_kind kind)
{
    switch (kind) {
    case GW_DB_MYSQL: return &gw__store_mysql;
    case GW_DB_POSTGRES: return &gw__store_postgres;
    default: return &gw__store_sqlite;
    }
}

int gw_store_open(const char *dsn, const char *sqlite_path, gw_store **out, char *err,
                  size_t errlen)
{
    const struct gw_store_ops *ops = ops_for(gw_store_dsn_kind(dsn));
    gw_store *s;
    int rc;
    *out = NULL;
    if ((s = gw_calloc(1, sizeof *s)) == NULL) {
        gw__store_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    s->ops = ops;
    if ((rc = ops->open(dsn, sqlite_path, &s->be, err, errlen)) != GW_OK) {
        gw_free(s);
        return rc;
    }
    *out = s;
    return GW_OK;
}

void gw_store_close(gw_store *s)
{
    if (s == NULL)
        return;
    if (s->in_tx)
        (void)s->ops->exec(s->be, "ROLLBACK", NULL, 0, NULL, NULL);
    s->ops->close(s->be);
    gw_free(s);
}

gw_db_kind gw_store_kind(const gw_store *s) { return s->ops->kind; }
const char *gw_store_errmsg(const gw_store *s) { return s->ops->errmsg(s->be); }
int gw_store_in_tx(const gw_store *s) { return s->in_tx; }

static int track(gw_store *s, int rc)
{
    if (rc == GW_EIO) {
        s->broken = 1;
        s->in_tx = 0;       /* the server rolled back when the session went away */
    }
    return rc;
}

int gw_store_exec(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                  long long *affected)
{
    return track(s, s->ops->exec(s->be, sql, args, nargs, affected, NULL));
}

int gw_store_insert(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                    long long *id)
{
    return track(s, s->ops->insert(s->be, sql, args, nargs, id));
}

int gw_store_query(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                   gw_rows **out)
{
    *out = NULL;
    return track(s, s->ops->query(s->be, sql, args, nargs, out));
}

static int ident_ok(const char *name)
{
    if (name == NULL || *name == '\0')
        return 0;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

/* Appends to a fixed buffer; sets *overflow instead of writing past the end. */
static void put(char *buf, size_t cap, size_t *len, int *overflow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void put(char *buf, size_t cap, size_t *len, int *overflow, const char *fmt, ...)
{
    va_list ap;
    if (*overflow)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        *overflow = 1;
    else
        *len += (size_t)n;
}

int gw_store_upsert(gw_store *s, const char *table, const char *const *cols, size_t ncols,
                    size_t nkeys, const gw_sql_arg *args)
{
    char sql[2048];
    size_t len = 0;
    int over = 0, mysql = s->ops->kind == GW_DB_MYSQL;
    if (nkeys == 0 || nkeys >= ncols || !ident_ok(table))
        return GW_EINVAL;
    for (size_t i = 0; i < ncols; i++)
        if (!ident_ok(cols[i]))
            return GW_EINVAL;
    put(sql, sizeof sql, &len, &over, "INSERT INTO `%s` (", table);
    for (size_t i = 0; i < ncols; i++)
        put(sql, sizeof sql, &len, &over, "%s`%s`", i ? ", " : "", cols[i]);
    put(sql, sizeof sql, &len, &over, ") VALUES (");
    for (size_t i = 0; i < ncols; i++)
        put(sql, sizeof sql, &len, &over, "%s?", i ? ", " : "");
    if (mysql) {
        put(sql, sizeof sql, &len, &over, ") ON DUPLICATE KEY UPDATE ");
    } else {
        put(sql, sizeof sql, &len, &over, ") ON CONFLICT (");
        for (size_t i = 0; i < nkeys; i++)
            put(sql, sizeof sql, &len, &over, "%s`%s`", i ? ", " : "", cols[i]);
        put(sql, sizeof sql, &len, &over, ") DO UPDATE SET ");
    }
    for (size_t i = nkeys; i < ncols; i++)
        put(sql, sizeof sql, &len, &over, mysql ? "%s`%s` = VALUES(`%s`)" :
            "%s`%s` = excluded.`%s`", i > nkeys ? ", " : "", cols[i], cols[i]);
    if (over)
        return GW_ETOOBIG;
    return gw_store_exec(s, sql, args, ncols, NULL);
}

int gw_store_begin(gw_store *s)
{
    int rc;
    if (s->in_tx)
        return GW_EINVAL;
    if ((rc = gw_store_exec(s, s->ops->begin_sql, NULL, 0, NULL)) == GW_OK)
        s->in_tx = 1;
    return rc;
}

int gw_store_commit(gw_store *s)
{
    int rc;
    if (!s->in_tx)
        return GW_EINVAL;
    rc = gw_store_exec(s, "COMMIT", NULL, 0, NULL);
    /* A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open: the caller
     * still owns it and should roll back. */
    if (rc == GW_OK)
        s->in_tx = 0;
    return rc;
}

int gw_store_rollback(gw_store *s)
{
    if (!s->in_tx)
        return GW_EINVAL;
    s->in_tx = 0;
    return gw_store_exec(s, "ROLLBACK", NULL, 0, NULL);
}

int gw_store_ping(gw_store *s)
{
    int rc = s->ops->ping(s->be);
    if (rc == GW_OK)
        s->broken = 0;
    else
        s->in_tx = 0;
    return rc;
}

/* ---- for migrate.c and pool.c ---- */

int gw__store_lock(gw_store *s, const char *name)
{
    return s->ops->lock ? track(s, s->ops->lock(s->be, name)) : GW_OK;
}

void gw__store_unlock(gw_store *s, const char *name)
{
    if (s->ops->unlock)
        (void)s->ops->unlock(s->be, name);
}

int gw__store_broken(const gw_store *s) { return s->broken; }
