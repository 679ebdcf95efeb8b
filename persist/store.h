/* SQL store: one small interface over SQLite, MySQL/MariaDB and PostgreSQL.
 *
 * The gateway keeps its durable data (users, tokens, channels, logs, ...) in the same
 * tables and columns as the reference system (new-api), so an existing database of the
 * reference can be opened. Repositories per entity sit on top of this interface; they
 * write SQL once, MySQL-style, and this layer adapts it to the dialect:
 *
 *   - placeholders are '?'; the postgres backend rewrites them to $1, $2, ... outside
 *     string literals and comments;
 *   - identifiers that are reserved words (`group`, `key`) are quoted with backticks;
 *     postgres rewrites ` to ", SQLite and MySQL accept backticks natively;
 *   - booleans are written as '?' bound to GW_SQL_INT(0/1) or as the literals TRUE/FALSE
 *     (postgres has a real boolean type and rejects `enabled = 1`); they read back as
 *     "0"/"1" (sqlite, mysql) or "f"/"t" (postgres), which gw_rows_int() accepts;
 *   - every table an INSERT goes through gw_store_insert() must have an `id` column;
 *   - one statement per call; quote characters inside literals are doubled (''), never
 *     backslash-escaped; better still, pass values as arguments.
 * Values read back in each server's own text form: PostgreSQL booleans are "t"/"f" and
 * timestamps carry "+00"; MySQL DATETIME(3) reads "2024-05-01 12:00:00.000".
 *
 * Threading: a gw_store is one connection and is used by one thread at a time. The pool
 * (gw_store_pool) hands connections to uv thread-pool work and is itself thread-safe.
 *
 * Errors: every int function returns GW_OK or a negative GW_E* from gateway/core/err.h:
 *   GW_ECONFLICT  unique / primary key violation
 *   GW_EIO        the connection failed or was lost (gw_store_ping() reconnects)
 *   GW_EAGAIN     busy, lock wait timeout, deadlock or serialization failure: retry
 *   GW_EINVAL     anything else the server rejected (syntax, NOT NULL, type ...)
 *   GW_ENOMEM     allocation failed
 * gw_store_errmsg() then holds the backend's text. Library-like: nothing is logged here. */
#ifndef GW_PERSIST_STORE_H
#define GW_PERSIST_STORE_H
#include <stddef.h>
#include <string.h>
#include "gateway/core/err.h"

typedef enum { GW_DB_SQLITE, GW_DB_MYSQL, GW_DB_POSTGRES } gw_db_kind;

typedef struct gw_store gw_store;           /* one connection */
typedef struct gw_rows gw_rows;             /* a materialised result set */
typedef struct gw_store_pool gw_store_pool;

/* SQL_DSN conventions of the reference (model/main.go chooseDB):
 * NULL, "" or anything starting "local"    -> SQLite at sqlite_path
 * "postgres://..." or "postgresql://..."  -> PostgreSQL (handed to libpq as a URI)
 * anything else                            -> MySQL/MariaDB, Go DSN form
 *   [user[:password]@][net[(addr)]]/dbname[?param=value&...]  */
gw_db_kind gw_store_dsn_kind(const char *dsn);
/* "sqlite" | "mysql" | "postgres" (as /api/setup reports database_type). */
const char *gw_db_kind_name(gw_db_kind kind);

/* A parsed Go MySQL DSN (github.com/go-sql-driver/mysql ParseDSN rules: the last '/'
 * starts the database name, the last '@' before it ends the credentials, the first ':'
 * splits user from password). net "tcp" (default; addr "host[:port]", default
 * 127.0.0.1:3306) or "unix" (addr is the socket path, default /tmp/mysql.sock).
 * Parameters used: charset (first of a comma list; default utf8mb4), timeout,
 * readTimeout, writeTimeout (Go durations: "10s", "500ms", "1m"), tls (true |
 * skip-verify | preferred | false). Others (parseTime, loc, ...) are accepted and ignored. */
struct gw_mysql_dsn {
    char user[128];
    char pass[256];
    char host[256];       /* tcp only */
    unsigned port;        /* tcp only */
    char socket[256];     /* unix only */
    char db[192];
    char charset[32];
    unsigned connect_timeout_s, read_timeout_s, write_timeout_s;   /* 0 = default */
    int tls;              /* 0 off, 1 required + verify, 2 required, no verify */
};
/* GW_EINVAL on malformed input, GW_ETOOBIG when a part does not fit its field. */
int gw_mysql_dsn_parse(const char *dsn, struct gw_mysql_dsn *out);

/* Opens one connection. sqlite_path may be NULL (default "one-api.db"); a Go-style
 * "?_busy_timeout=..." suffix on it is ignored. SQLite runs in WAL mode with a 30 s busy
 * timeout, because several replica processes may share the file. On failure *out is
 * NULL and err (if errlen > 0) holds a message; the password is never included. */
int  gw_store_open(const char *dsn, const char *sqlite_path, gw_store **out, char *err,
                   size_t errlen);
void gw_store_close(gw_store *s);           /* NULL is a no-op; rolls back an open tx */
gw_db_kind gw_store_kind(const gw_store *s);

/* Arguments bound to '?' placeholders, in order. TEXT is not copied: it must stay valid
 * for the duration of the call. Embedded NUL bytes are not supported by postgres. */
typedef enum { GW_ARG_NULL, GW_ARG_INT, GW_ARG_DOUBLE, GW_ARG_TEXT } gw_arg_type;
typedef struct {
    gw_arg_type type;
    long long i;
    double d;
    const char *s;
    size_t len;
} gw_sql_arg;
#define GW_SQL_NULL        ((gw_sql_arg){ .type = GW_ARG_NULL })
#define GW_SQL_INT(v)      ((gw_sql_arg){ .type = GW_ARG_INT, .i = (v) })
#define GW_SQL_DOUBLE(v)   ((gw_sql_arg){ .type = GW_ARG_DOUBLE, .d = (v) })
#define GW_SQL_TEXTN(p, n) ((gw_sql_arg){ .type = GW_ARG_TEXT, .s = (p), .len = (n) })
#define GW_SQL_TEXT(p)     GW_SQL_TEXTN((p), strlen(p))   /* p must not be NULL */

/* Runs one statement that returns no rows. *affected (nullable) gets the rows the
 * statement matched (MySQL is opened with CLIENT_FOUND_ROWS, so an UPDATE that sets a
 * value to itself still counts, as in SQLite and PostgreSQL). */
int gw_store_exec(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                  long long *affected);
/* An INSERT; *id gets the new row's id (postgres appends " RETURNING id" to sql, the
 * others read the last insert id). */
int gw_store_insert(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                    long long *id);
/* INSERT or UPDATE by key, in the dialect's own syntax (ON CONFLICT ... DO UPDATE /
 * ON DUPLICATE KEY UPDATE). cols[0..nkeys) form the unique key, the remaining columns are
 * updated on conflict; args match cols one to one. Column and table names are quoted
 * here, so pass them bare ("key", not "`key`"). Needs 0 < nkeys < ncols. */
int gw_store_upsert(gw_store *s, const char *table, const char *const *cols, size_t ncols,
                    size_t nkeys, const gw_sql_arg *args);

/* Runs a query and materialises every row: rows x cols of nullable strings in the
 * server's text form. On success the caller owns *out and frees it with gw_rows_free();
 * on failure *out is NULL. */
int gw_store_query(gw_store *s, const char *sql, const gw_sql_arg *args, size_t nargs,
                   gw_rows **out);
size_t gw_rows_count(const gw_rows *r);
size_t gw_rows_cols(const gw_rows *r);
const char *gw_rows_name(const gw_rows *r, size_t col);           /* NULL if out of range */
/* The cell as a NUL-terminated string; NULL for SQL NULL or out of range. Valid until
 * gw_rows_free(). gw_rows_len() is its length (0 for NULL). */
const char *gw_rows_get(const gw_rows *r, size_t row, size_t col);
size_t gw_rows_len(const gw_rows *r, size_t row, size_t col);
/* Integer value of a cell; "t"/"true" read as 1, "f"/"false" as 0 (postgres booleans).
 * GW_ENOTFOUND for NULL or out of range, GW_EINVAL if it is not a whole integer. */
int gw_rows_int(const gw_rows *r, size_t row, size_t col, long long *out);
int gw_rows_double(const gw_rows *r, size_t row, size_t col, double *out);
void gw_rows_free(gw_rows *r);                                     /* NULL is a no-op */

/* Transactions. SQLite uses BEGIN IMMEDIATE: taking the write lock up front means a
 * read-then-write transaction never fails halfway with SQLITE_BUSY_SNAPSHOT. Nested
 * begin is GW_EINVAL. */
int gw_store_begin(gw_store *s);
int gw_store_commit(gw_store *s);
int gw_store_rollback(gw_store *s);
int gw_store_in_tx(const gw_store *s);

/* Cheap liveness check. A dropped mysql/postgres connection is reconnected once; an
 * open transaction is lost then. GW_EIO if the server is still unreachable. */
int gw_store_ping(gw_store *s);
/* Last backend error text; "" when there was none. Valid until the next call on s. */
const char *gw_store_errmsg(const gw_store *s);

/* Applies the embedded schema/<dialect>/NNN_name.sql files in order of NNN, each in its
 * own transaction, and records each in schema_migrations(version, name, applied_at).
 * A cross-process lock (sqlite: BEGIN IMMEDIATE per file; mysql: GET_LOCK; postgres:
 * pg_advisory_lock) makes it safe for several processes or replicas at once: each file
 * is applied exactly once. A file holds statements separated by ';' at the end of a
 * line; lines starting with "--" are comments. MySQL commits DDL implicitly, so MySQL
 * files must be idempotent (CREATE TABLE IF NOT EXISTS with inline indexes). A statement
 * may start with a guard and runs only when it holds: "WHEN TABLE t EXISTS", "WHEN COLUMN
 * t.c EXISTS", "WHEN COLUMN t.c INTEGER" (declared type contains "int"), "WHEN INDEX t.i
 * EXISTS"; a malformed guard fails the file. "ALTER TABLE t ADD COLUMN IF NOT EXISTS" and
 * "CREATE [UNIQUE] INDEX IF NOT EXISTS i ON t" work in every dialect (emulated by a look-up
 * where it lacks them).
 * *applied (nullable) gets how many files this call applied. */
int gw_store_migrate(gw_store *s, int *applied, char *err, size_t errlen);

/* Thread-safe connection pool. gw_store_pool_new() checks the DSN but connects lazily:
 * gw_store_pool_get() hands out an idle connection, opens a new one while fewer than max
 * exist, or else blocks until one is put back. A connection whose last call failed
 * with GW_EIO is pinged (and so reconnected) before it is handed out again.
 * gw_store_pool_put() takes back a connection that came from this pool's get (NULL is a
 * no-op) and rolls back a transaction left open.
 * gw_store_pool_free() closes every idle connection; all must have been put back. */
int  gw_store_pool_new(const char *dsn, const char *sqlite_path, int max,
                       gw_store_pool **out, char *err, size_t errlen);
int  gw_store_pool_get(gw_store_pool *p, gw_store **out);
void gw_store_pool_put(gw_store_pool *p, gw_store *s);
void gw_store_pool_free(gw_store_pool *p);                         /* NULL is a no-op */

/* ---- Backend interface: only the persist/ sources use what follows. ----
 * Each backend file exports one table (like curl's TLS backends). `be` is the backend's
 * own connection object. Functions return GW_OK / GW_E* and leave their message for
 * errmsg(). exec with insert_id != NULL must report the last insert id. lock/unlock
 * may be NULL when begin_sql alone serialises writers (sqlite). */
struct gw_store_ops {
    const char *name;
    gw_db_kind kind;
    const char *begin_sql;
    int  (*open)(const char *dsn, const char *sqlite_path, void **be, char *err,
                 size_t errlen);
    void (*close)(void *be);
    int  (*exec)(void *be, const char *sql, const gw_sql_arg *args, size_t nargs,
                 long long *affected, long long *insert_id);
    int  (*insert)(void *be, const char *sql, const gw_sql_arg *args, size_t nargs,
                   long long *id);
    int  (*query)(void *be, const char *sql, const gw_sql_arg *args, size_t nargs,
                  gw_rows **out);
    int  (*ping)(void *be);
    const char *(*errmsg)(const void *be);
    int  (*lock)(void *be, const char *name);
    int  (*unlock)(void *be, const char *name);
};
extern const struct gw_store_ops gw__store_sqlite, gw__store_mysql, gw__store_postgres;

/* Result builder for backends. rows_new: NULL on allocation failure. add_row appends an
 * all-NULL row; set stores a copy of v (NULL = SQL NULL) in the last row. */
gw_rows *gw__rows_new(size_t ncols);
int gw__rows_set_name(gw_rows *r, size_t col, const char *name);
int gw__rows_add_row(gw_rows *r);
int gw__rows_set(gw_rows *r, size_t col, const char *v, size_t len);
/* Between store.c and migrate.c / pool.c, which see gw_store only through
 * these. lock takes the backend's named server-side lock (GW_OK at once for a
 * backend without one, as sqlite); unlock releases it; broken is 1 when the
 * last call failed with GW_EIO. */
int gw__store_lock(gw_store *s, const char *name);
void gw__store_unlock(gw_store *s, const char *name);
int gw__store_broken(const gw_store *s);
/* snprintf into err/errlen when errlen > 0 (for open's error reports). */
void gw__store_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
