/* PostgreSQL backend (libpq). SQL arrives MySQL-style, so each statement is rewritten
 * first: '?' -> $n and `ident` -> "ident", outside string literals and comments. Values
 * travel as text parameters of PQexecParams, never spliced into the SQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "persist/store.h"

#define CONNECT_TIMEOUT_S "10"
/* pg_advisory_lock key for migrations: "tokenfac" as a big-endian int64. */
#define MIGRATE_LOCK_KEY "8390042714202595683"

struct pg {
    PGconn *db;
    char *dsn;
    char errmsg[512];
};

/* Returns a malloc'd rewritten copy of sql, or NULL on allocation failure. Each '?'
 * becomes at most 6 bytes ("$65535"); extra is room for a suffix. */
static char *rewrite(const char *sql, const char *suffix, unsigned *nparams)
{
    size_t len = strlen(sql), cap = len * 6 + strlen(suffix) + 1, o = 0;
    char *out = gw_malloc(cap);
    unsigned n = 0;
    if (out == NULL)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'' || *p == '"') {          /* copy a literal or quoted identifier */
            char q = *p;
            out[o++] = *p;
            while (p[1] && p[1] != q)
                out[o++] = *++p;
            if (p[1])
                out[o++] = *++p;
        } else if (p[0] == '-' && p[1] == '-') {    /* comment to end of line */
            while (*p && *p != '\n')
                out[o++] = *p++;
            if (*p == '\0')
                break;
            out[o++] = *p;
        } else if (*p == '?') {
            o += (size_t)snprintf(out + o, cap - o, "$%u", ++n);
        } else if (*p == '`') {
            out[o++] = '"';
        } else {
            out[o++] = *p;
        }
    }
    memcpy(out + o, suffix, strlen(suffix) + 1);
    *nparams = n;
    return out;
}

static int map_result(struct pg *c, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->errmsg, sizeof c->errmsg, "%s", PQerrorMessage(c->db));
    c->errmsg[strcspn(c->errmsg, "\n")] = '\0';
    if (PQstatus(c->db) != CONNECTION_OK || res == NULL)
        return GW_EIO;
    if (state == NULL)
        return GW_EINVAL;
    if (strcmp(state, "23505") == 0)                    /* unique_violation */
        return GW_ECONFLICT;
    if ((strncmp(state, "08", 2) == 0 && strcmp(state, "08P01") != 0) ||
        strncmp(state, "57P", 3) == 0)
        return GW_EIO;                                  /* connection, admin shutdown */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)                    /* serialization, deadlock, lock */
        return GW_EAGAIN;
    if (strcmp(state, "53200") == 0)
        return GW_ENOMEM;
    return GW_EINVAL;
}

static void quiet(void *arg, const char *message) { }

static int connect_db(struct pg *c)
{
    /* The URI (expand_dbname) overrides the keywords before it, so a connect_timeout
     * given in the DSN wins over ours. */
    const char *keys[] = { "connect_timeout", "client_encoding", "dbname", NULL };
    const char *vals[] = { CONNECT_TIMEOUT_S, "UTF8", c->dsn, NULL };
    c->db = PQconnectdbParams(keys, vals, 1);
    if (c->db == NULL) {
        snprintf(c->errmsg, sizeof c->errmsg, "out of memory");
        return GW_ENOMEM;
    }
    if (PQstatus(c->db) != CONNECTION_OK) {
        snprintf(c->errmsg, sizeof c->errmsg, "%s", PQerrorMessage(c->db));
        c->errmsg[strcspn(c->errmsg, "\n")] = '\0';
        PQfinish(c->db);
        c->db = NULL;
        return GW_EIO;
    }
    /* NOTICEs ("relation already exists, skipping") would go to stderr otherwise. */
    PQsetNoticeProcessor(c->db, quiet, NULL);
    return GW_OK;
}

static int pg_open(const char *dsn, const char *sqlite_path, void **be, char *err,
                   size_t errlen)
{
    struct pg *c = gw_calloc(1, sizeof *c);
    int rc;
    if (c == NULL || (c->dsn = gw_strdup(dsn)) == NULL) {
        gw_free(c);
        gw__store_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    if ((rc = connect_db(c)) != GW_OK) {
        gw__store_err(err, errlen, "postgres: %s", c->errmsg);
        gw_free(c->dsn);
        gw_free(c);
        return rc;
    }
    *be = c;
    return GW_OK;
}

static void pg_close(void *be)
{
    struct pg *c = be;
    PQfinish(c->db);
    gw_free(c->dsn);
    gw_free(c);
}

/* Runs sql (rewritten, plus suffix) with args as text parameters. */
static int run(struct pg *c, const char *sql, const char *suffix, const gw_sql_arg *args,
               size_t n, PGresult **out)
{
    const char **vals = gw_calloc(n + 1, sizeof *vals);
    char **owned = gw_calloc(n + 1, sizeof *owned);
    unsigned nparams = 0;
    char *text = rewrite(sql, suffix, &nparams);
    int rc = vals && owned && text ? GW_OK : GW_ENOMEM;
    PGresult *res = NULL;

    *out = NULL;
    if (rc == GW_OK && nparams != n) {
        snprintf(c->errmsg, sizeof c->errmsg, "statement has %u placeholders, %zu arguments",
                 nparams, n);
        rc = GW_EINVAL;
    } else if (c->db == NULL) {
        snprintf(c->errmsg, sizeof c->errmsg, "not connected");
        rc = GW_EIO;
    }
    for (size_t i = 0; i < n && rc == GW_OK; i++) {
        char num[32];
        switch (args[i].type) {
        case GW_ARG_INT:
            snprintf(num, sizeof num, "%lld", args[i].i);
            owned[i] = gw_strdup(num);
            break;
        case GW_ARG_DOUBLE:
            snprintf(num, sizeof num, "%.17g", args[i].d);
            owned[i] = gw_strdup(num);
            break;
        case GW_ARG_TEXT:           /* text parameters must be NUL-terminated */
            owned[i] = gw_strndup(args[i].s ? args[i].s : "", args[i].len);
            break;
        default:
            continue;               /* NULL pointer = SQL NULL */
        }
        if ((vals[i] = owned[i]) == NULL)
            rc = GW_ENOMEM;
    }
    if (rc == GW_OK) {
        c->errmsg[0] = '\0';
        res = PQexecParams(c->db, text, (int)n, NULL, vals, NULL, NULL, 0);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            rc = map_result(c, res);
            PQclear(res);
            res = NULL;
        }
    }
    for (size_t i = 0; owned && i < n; i++)
        gw_free(owned[i]);
    gw_free(owned);
    gw_free(vals);
    gw_free(text);
    *out = res;
    return rc;
}

static int pg_exec(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                   long long *affected, long long *insert_id)
{
    PGresult *res;
    int rc = run(be, sql, "", args, n, &res);
    if (rc != GW_OK)
        return rc;
    if (affected)
        *affected = strtoll(PQcmdTuples(res), NULL, 10);
    if (insert_id)
        *insert_id = 0;     /* use pg_insert */
    PQclear(res);
    return GW_OK;
}

static int pg_insert(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                     long long *id)
{
    struct pg *c = be;
    PGresult *res;
    int rc = run(c, sql, " RETURNING id", args, n, &res);
    if (rc != GW_OK)
        return rc;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        snprintf(c->errmsg, sizeof c->errmsg, "INSERT returned no id");
        rc = GW_EINVAL;
    } else if (id) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return rc;
}

static int pg_query(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                    gw_rows **out)
{
    PGresult *res;
    gw_rows *r;
    int rc = run(be, sql, "", args, n, &res);
    if (rc != GW_OK)
        return rc;
    size_t ncols = (size_t)PQnfields(res), nrows = (size_t)PQntuples(res);
    if ((r = gw__rows_new(ncols)) == NULL) {
        PQclear(res);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < ncols && rc == GW_OK; i++)
        rc = gw__rows_set_name(r, i, PQfname(res, (int)i));
    for (size_t row = 0; row < nrows && rc == GW_OK; row++) {
        rc = gw__rows_add_row(r);
        for (size_t i = 0; i < ncols && rc == GW_OK; i++) {
            if (PQgetisnull(res, (int)row, (int)i))
                continue;
            rc = gw__rows_set(r, i, PQgetvalue(res, (int)row, (int)i),
                              (size_t)PQgetlength(res, (int)row, (int)i));
        }
    }
    PQclear(res);
    if (rc != GW_OK) {
        gw_rows_free(r);
        return rc;
    }
    *out = r;
    return GW_OK;
}

static int pg_ping(void *be)
{
    struct pg *c = be;
    PGresult *res;
    if (c->db != NULL) {
        res = PQexec(c->db, "SELECT 1");
        int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (ok)
            return GW_OK;
        if (PQstatus(c->db) == CONNECTION_OK)
            return map_result(c, NULL);
        PQfinish(c->db);
        c->db = NULL;
    }
    return connect_db(c);
}

static const char *pg_errmsg(const void *be) { return ((const struct pg *)be)->errmsg; }

/* Session-level advisory lock: released on unlock or when the connection drops. */
static int pg_lock(void *be, const char *name)
{
    return pg_exec(be, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", NULL, 0, NULL, NULL);
}

static int pg_unlock(void *be, const char *name)
{
    return pg_exec(be, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL, 0, NULL,
                   NULL);
}

const struct gw_store_ops gw__store_postgres = {
    .name = "postgres",
    .kind = GW_DB_POSTGRES,
    .begin_sql = "BEGIN",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .insert = pg_insert,
    .query = pg_query,
    .ping = pg_ping,
    .errmsg = pg_errmsg,
    .lock = pg_lock,
    .unlock = pg_unlock,
};
