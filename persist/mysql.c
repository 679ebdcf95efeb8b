/* MySQL / MariaDB backend (mariadb-connector-c). Statements with arguments go through
 * the binary protocol (mysql_stmt_*), so values are never spliced into SQL text; result
 * columns are all fetched as strings, which the client library converts. */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "persist/store.h"

#define DEFAULT_CONNECT_TIMEOUT_S 10
#define MIGRATE_LOCK_WAIT_S 300
#define INLINE_CELL 64          /* first fetch buffer per column; longer cells refetched */

struct my {
    MYSQL *db;
    struct gw_mysql_dsn dsn;
    char errmsg[512];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* mysql_init() would call this lazily, but that first call is not thread-safe and the
 * pool opens connections from several threads. */
static void lib_init(void) { mysql_library_init(0, NULL, NULL); }

static int map_errno(unsigned e)
{
    switch (e) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME: return GW_ECONFLICT;
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK: return GW_EAGAIN;
    case CR_OUT_OF_MEMORY: return GW_ENOMEM;
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_UNKNOWN_HOST:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case CR_SERVER_LOST_EXTENDED: return GW_EIO;
    default: return GW_EINVAL;
    }
}

static int db_error(struct my *c)
{
    snprintf(c->errmsg, sizeof c->errmsg, "%s", mysql_error(c->db));
    return map_errno(mysql_errno(c->db));
}

static int stmt_error(struct my *c, MYSQL_STMT *st)
{
    snprintf(c->errmsg, sizeof c->errmsg, "%s", mysql_stmt_error(st));
    return map_errno(mysql_stmt_errno(st));
}

static int connect_db(struct my *c)
{
    const struct gw_mysql_dsn *d = &c->dsn;
    unsigned timeout = d->connect_timeout_s ? d->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S;
    my_bool on = 1, verify = d->tls == 1;
    unsigned int no_infile = 0;

    if ((c->db = mysql_init(NULL)) == NULL) {
        snprintf(c->errmsg, sizeof c->errmsg, "out of memory");
        return GW_ENOMEM;
    }
    mysql_optionsv(c->db, MYSQL_SET_CHARSET_NAME, d->charset);
    mysql_optionsv(c->db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(c->db, MYSQL_OPT_LOCAL_INFILE, &no_infile);
    if (d->read_timeout_s)
        mysql_optionsv(c->db, MYSQL_OPT_READ_TIMEOUT, &d->read_timeout_s);
    if (d->write_timeout_s)
        mysql_optionsv(c->db, MYSQL_OPT_WRITE_TIMEOUT, &d->write_timeout_s);
    if (d->tls) {
        mysql_optionsv(c->db, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_optionsv(c->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    /* CLIENT_FOUND_ROWS: "affected" means matched rows, as in SQLite and PostgreSQL. */
    if (mysql_real_connect(c->db, d->socket[0] ? NULL : d->host, d->user, d->pass,
                           d->db[0] ? d->db : NULL, d->socket[0] ? 0 : d->port,
                           d->socket[0] ? d->socket : NULL, CLIENT_FOUND_ROWS) == NULL) {
        int rc = db_error(c);
        mysql_close(c->db);
        c->db = NULL;
        return rc == GW_ENOMEM ? rc : GW_EIO;
    }
    return GW_OK;
}

static int my_open(const char *dsn, const char *sqlite_path, void **be, char *err,
                   size_t errlen)
{
    struct my *c = gw_calloc(1, sizeof *c);
    int rc;
    if (c == NULL) {
        gw__store_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    pthread_once(&lib_once, lib_init);
    if ((rc = gw_mysql_dsn_parse(dsn, &c->dsn)) != GW_OK) {
        gw__store_err(err, errlen, "invalid MySQL DSN (%s)", gw_strerror(rc));
        gw_free(c);
        return rc;
    }
    if ((rc = connect_db(c)) != GW_OK) {
        gw__store_err(err, errlen, "mysql %s: %s", c->dsn.socket[0] ? c->dsn.socket :
                      c->dsn.host, c->errmsg);
        gw_free(c);
        return rc;
    }
    *be = c;
    return GW_OK;
}

static void my_close(void *be)
{
    struct my *c = be;
    if (c->db)
        mysql_close(c->db);
    memset(c->dsn.pass, 0, sizeof c->dsn.pass);
    gw_free(c);
}

static int not_connected(struct my *c)
{
    snprintf(c->errmsg, sizeof c->errmsg, "not connected");
    return GW_EIO;
}

/* Text protocol for argument-less statements: DDL, BEGIN/COMMIT and the like are not
 * all preparable, and nothing needs escaping. */
static int exec_text(struct my *c, const char *sql, long long *affected, long long *insert_id)
{
    if (mysql_real_query(c->db, sql, strlen(sql)) != 0)
        return db_error(c);
    if (mysql_field_count(c->db) > 0) {     /* a statement that returned rows */
        MYSQL_RES *res = mysql_store_result(c->db);
        mysql_free_result(res);
    }
    if (affected)
        *affected = (long long)mysql_affected_rows(c->db);
    if (insert_id)
        *insert_id = (long long)mysql_insert_id(c->db);
    return GW_OK;
}

/* Prepares sql and binds args; binds[] must hold nargs entries for the call's length. */
static int prepare(struct my *c, const char *sql, const gw_sql_arg *args, size_t n,
                   MYSQL_BIND *binds, MYSQL_STMT **out)
{
    MYSQL_STMT *st = mysql_stmt_init(c->db);
    int rc;
    if (st == NULL)
        return db_error(c);
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        rc = stmt_error(c, st);
        mysql_stmt_close(st);
        return rc;
    }
    if (mysql_stmt_param_count(st) != n) {
        snprintf(c->errmsg, sizeof c->errmsg, "statement has %lu placeholders, %zu arguments",
                 mysql_stmt_param_count(st), n);
        mysql_stmt_close(st);
        return GW_EINVAL;
    }
    memset(binds, 0, n * sizeof *binds);
    for (size_t i = 0; i < n; i++) {
        /* The library only reads parameter buffers, despite the non-const type. */
        switch (args[i].type) {
        case GW_ARG_INT:
            binds[i].buffer_type = MYSQL_TYPE_LONGLONG;
            binds[i].buffer = (void *)&args[i].i;
            break;
        case GW_ARG_DOUBLE:
            binds[i].buffer_type = MYSQL_TYPE_DOUBLE;
            binds[i].buffer = (void *)&args[i].d;
            break;
        case GW_ARG_TEXT:
            binds[i].buffer_type = MYSQL_TYPE_STRING;
            binds[i].buffer = (void *)(args[i].s ? args[i].s : "");
            binds[i].buffer_length = args[i].len;
            break;
        default:
            binds[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        }
    }
    if (n > 0 && mysql_stmt_bind_param(st, binds) != 0) {
        rc = stmt_error(c, st);
        mysql_stmt_close(st);
        return rc;
    }
    if (mysql_stmt_execute(st) != 0) {
        rc = stmt_error(c, st);
        mysql_stmt_close(st);
        return rc;
    }
    *out = st;
    return GW_OK;
}

static int my_exec(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                   long long *affected, long long *insert_id)
{
    struct my *c = be;
    MYSQL_STMT *st = NULL;
    MYSQL_BIND *binds;
    int rc;
    if (c->db == NULL)
        return not_connected(c);
    c->errmsg[0] = '\0';
    if (n == 0)
        return exec_text(c, sql, affected, insert_id);
    if ((binds = gw_calloc(n, sizeof *binds)) == NULL)
        return GW_ENOMEM;
    rc = prepare(c, sql, args, n, binds, &st);
    gw_free(binds);
    if (rc != GW_OK)
        return rc;
    if (affected)
        *affected = (long long)mysql_stmt_affected_rows(st);
    if (insert_id)
        *insert_id = (long long)mysql_stmt_insert_id(st);
    mysql_stmt_close(st);
    return GW_OK;
}

static int my_insert(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                     long long *id)
{
    return my_exec(be, sql, args, n, NULL, id);
}

/* Copies the current row of st into r. Cells longer than INLINE_CELL were truncated by
 * the fetch and are read again whole with mysql_stmt_fetch_column(). */
static int take_row(struct my *c, MYSQL_STMT *st, gw_rows *r, size_t ncols, char *cells,
                    unsigned long *lens, my_bool *nulls)
{
    int rc = gw__rows_add_row(r);
    for (size_t i = 0; i < ncols && rc == GW_OK; i++) {
        if (nulls[i]) {
            rc = gw__rows_set(r, i, NULL, 0);
        } else if (lens[i] <= INLINE_CELL) {
            rc = gw__rows_set(r, i, cells + i * INLINE_CELL, lens[i]);
        } else {
            MYSQL_BIND b;
            unsigned long got = 0;
            char *buf = gw_malloc(lens[i]);
            if (buf == NULL)
                return GW_ENOMEM;
            memset(&b, 0, sizeof b);
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = buf;
            b.buffer_length = lens[i];
            b.length = &got;
            if (mysql_stmt_fetch_column(st, &b, (unsigned)i, 0) != 0)
                rc = stmt_error(c, st);
            else
                rc = gw__rows_set(r, i, buf, got < lens[i] ? got : lens[i]);
            gw_free(buf);
        }
    }
    return rc;
}

static int fetch_all(struct my *c, MYSQL_STMT *st, gw_rows **out)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    size_t ncols = meta ? mysql_num_fields(meta) : 0;
    MYSQL_FIELD *fields = meta ? mysql_fetch_fields(meta) : NULL;
    gw_rows *r = gw__rows_new(ncols);
    MYSQL_BIND *binds = gw_calloc(ncols + 1, sizeof *binds);
    char *cells = gw_calloc(ncols + 1, INLINE_CELL);
    unsigned long *lens = gw_calloc(ncols + 1, sizeof *lens);
    my_bool *nulls = gw_calloc(ncols + 1, sizeof *nulls);
    int rc = r && binds && cells && lens && nulls ? GW_OK : GW_ENOMEM;

    for (size_t i = 0; i < ncols && rc == GW_OK; i++) {
        rc = gw__rows_set_name(r, i, fields[i].name);
        binds[i].buffer_type = MYSQL_TYPE_STRING;
        binds[i].buffer = cells + i * INLINE_CELL;
        binds[i].buffer_length = INLINE_CELL;
        binds[i].length = &lens[i];
        binds[i].is_null = &nulls[i];
    }
    if (rc == GW_OK && ncols > 0 &&
        (mysql_stmt_bind_result(st, binds) != 0 || mysql_stmt_store_result(st) != 0))
        rc = stmt_error(c, st);
    while (rc == GW_OK && ncols > 0) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA)
            break;
        if (f == 1) {
            rc = stmt_error(c, st);
            break;
        }
        rc = take_row(c, st, r, ncols, cells, lens, nulls);
    }
    if (meta)
        mysql_free_result(meta);
    gw_free(binds);
    gw_free(cells);
    gw_free(lens);
    gw_free(nulls);
    if (rc != GW_OK) {
        gw_rows_free(r);
        return rc;
    }
    *out = r;
    return GW_OK;
}

static int my_query(void *be, const char *sql, const gw_sql_arg *args, size_t n,
                    gw_rows **out)
{
    struct my *c = be;
    MYSQL_STMT *st = NULL;
    MYSQL_BIND *binds = gw_calloc(n + 1, sizeof *binds);
    int rc;
    if (binds == NULL)
        return GW_ENOMEM;
    if (c->db == NULL) {
        gw_free(binds);
        return not_connected(c);
    }
    c->errmsg[0] = '\0';
    rc = prepare(c, sql, args, n, binds, &st);
    gw_free(binds);
    if (rc != GW_OK)
        return rc;
    rc = fetch_all(c, st, out);
    mysql_stmt_close(st);
    return rc;
}

static int my_ping(void *be)
{
    struct my *c = be;
    if (c->db != NULL && mysql_ping(c->db) == 0)
        return GW_OK;
    if (c->db != NULL) {
        mysql_close(c->db);
        c->db = NULL;
    }
    return connect_db(c);
}

static const char *my_errmsg(const void *be) { return ((const struct my *)be)->errmsg; }

/* GET_LOCK is a session lock: it goes away with the connection, so a crashed migrator
 * never leaves the others stuck. */
static int my_lock(void *be, const char *name)
{
    gw_sql_arg a[2] = { GW_SQL_TEXT(name), GW_SQL_INT(MIGRATE_LOCK_WAIT_S) };
    gw_rows *r = NULL;
    long long got = 0;
    int rc = my_query(be, "SELECT GET_LOCK(?, ?)", a, 2, &r);
    if (rc == GW_OK && (gw_rows_int(r, 0, 0, &got) != GW_OK || got != 1)) {
        snprintf(((struct my *)be)->errmsg, sizeof ((struct my *)be)->errmsg,
                 "GET_LOCK(%s) timed out", name);
        rc = GW_ETIMEDOUT;
    }
    gw_rows_free(r);
    return rc;
}

static int my_unlock(void *be, const char *name)
{
    gw_sql_arg a[1] = { GW_SQL_TEXT(name) };
    gw_rows *r = NULL;
    int rc = my_query(be, "SELECT RELEASE_LOCK(?)", a, 1, &r);
    gw_rows_free(r);
    return rc;
}

const struct gw_store_ops gw__store_mysql = {
    .name = "mysql",
    .kind = GW_DB_MYSQL,
    .begin_sql = "START TRANSACTION",
    .open = my_open,
    .close = my_close,
    .exec = my_exec,
    .insert = my_insert,
    .query = my_query,
    .ping = my_ping,
    .errmsg = my_errmsg,
    .lock = my_lock,
    .unlock = my_unlock,
};
