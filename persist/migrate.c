/* Migrations (gw_store_migrate): the embedded schema/<dialect>/NNN_name.sql
 * files, each applied once in its own transaction and recorded in
 * schema_migrations, under a server-side lock so that replicas starting
 * together do not race.
 *
 * So that one file can adopt databases of different origins (new-api's, ours of
 * an older version), a statement may start with a WHEN guard evaluated on the
 * database at hand (guard()), and ADD COLUMN / CREATE INDEX IF NOT EXISTS are
 * emulated where the dialect lacks them (if_missing()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "gateway/core/alloc.h"
#include "gateway/core/alloc.h"
#include "gateway/core/embed.h"
#include "persist/store.h"

struct migration {
    long long version;
    char name[128];
    const struct gw_embedded_file *file;
};

static int cmp_migration(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* Embedded schema/<dialect>/NNN_name.sql files, sorted by NNN. */
static int list_migrations(gw_db_kind kind, struct migration **out, size_t *n, char *err,
                           size_t errlen)
{
    char prefix[64];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "schema/%s/", gw_db_kind_name(kind));
    struct migration *m = gw_calloc(gw_embedded_count + 1, sizeof *m);
    size_t count = 0;
    if (m == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; i < gw_embedded_count; i++) {
        const struct gw_embedded_file *f = &gw_embedded_files[i];
        const char *base = f->path + plen, *p = base;
        size_t blen;
        if (strncmp(f->path, prefix, plen) != 0 || strchr(base, '/') != NULL)
            continue;
        blen = strlen(base);
        if (blen < 5 || strcmp(base + blen - 4, ".sql") != 0)
            continue;
        long long v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000000000)
            v = v * 10 + (*p++ - '0');
        if (p == base || *p != '_' || blen - 4 >= sizeof m[count].name) {
            gw__store_err(err, errlen, "bad migration file name %s", f->path);
            gw_free(m);
            return GW_EINVAL;
        }
        m[count].version = v;
        memcpy(m[count].name, base, blen - 4);
        m[count].file = f;
        count++;
    }
    qsort(m, count, sizeof *m, cmp_migration);
    for (size_t i = 1; i < count; i++)
        if (m[i].version == m[i - 1].version) {
            gw__store_err(err, errlen, "duplicate migration version %lld", m[i].version);
            gw_free(m);
            return GW_EINVAL;
        }
    *out = m;
    *n = count;
    return GW_OK;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* Reads one SQL word or identifier (`quoted`, "quoted" or bare) at *p into out.
 * Returns 0 when there is none or it does not fit. */
static int word(const char **p, char *out, size_t cap)
{
    const char *q = *p;
    size_t n = 0;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    char quote = (*q == '`' || *q == '"') ? *q++ : 0;
    while (*q && (quote ? *q != quote : (*q == '_' || (*q >= 'a' && *q <= 'z') ||
                                         (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))) {
        if (n + 1 >= cap)
            return 0;
        out[n++] = *q++;
    }
    if (quote && *q++ != quote)
        return 0;
    out[n] = '\0';
    *p = q;
    return n > 0;
}

/* One count from an information-schema style query; 0 rows counts as 0. */
static int count_of(gw_store *s, const char *sql, const gw_sql_arg *a, size_t n, long long *out)
{
    gw_rows *r = NULL;
    int rc = gw_store_query(s, sql, a, n, &r);
    *out = 0;
    if (rc == GW_OK && gw_rows_count(r) > 0)
        rc = gw_rows_int(r, 0, 0, out);
    gw_rows_free(r);
    return rc;
}

static int table_exists(gw_store *s, const char *table, int *yes)
{
    gw_sql_arg a[1] = { GW_SQL_TEXT(table) };
    long long n = 0;
    int rc;
    switch (gw_store_kind(s)) {
    case GW_DB_SQLITE:
        rc = count_of(s, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                      a, 1, &n);
        break;
    case GW_DB_MYSQL:
        rc = count_of(s, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                      "table_schema = DATABASE() AND table_name = ?", a, 1, &n);
        break;
    default:
        rc = count_of(s, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                      "table_schema = current_schema() AND table_name = ?", a, 1, &n);
    }
    *yes = n > 0;
    return rc;
}

/* The declared type of table.col, lower-cased into type ("" when there is no such
 * column). */
static int column_type(gw_store *s, const char *table, const char *col, char *type, size_t cap)
{
    gw_sql_arg a[2] = { GW_SQL_TEXT(table), GW_SQL_TEXT(col) };
    gw_rows *r = NULL;
    int rc;
    switch (gw_store_kind(s)) {
    case GW_DB_SQLITE:
        rc = gw_store_query(s, "SELECT type FROM pragma_table_info(?) WHERE name = ?", a, 2, &r);
        break;
    case GW_DB_MYSQL:
        rc = gw_store_query(s, "SELECT data_type FROM information_schema.columns WHERE "
                            "table_schema = DATABASE() AND table_name = ? AND column_name = ?",
                            a, 2, &r);
        break;
    default:
        rc = gw_store_query(s, "SELECT data_type FROM information_schema.columns WHERE "
                            "table_schema = current_schema() AND table_name = ? AND "
                            "column_name = ?", a, 2, &r);
    }
    type[0] = '\0';
    if (rc == GW_OK && gw_rows_count(r) > 0) {
        const char *t = gw_rows_get(r, 0, 0);
        size_t i = 0;
        for (; t && t[i] && i + 1 < cap; i++)
            type[i] = (char)((t[i] >= 'A' && t[i] <= 'Z') ? t[i] + 32 : t[i]);
        type[i] = '\0';
        if (i == 0)
            memcpy(type, "?", 2); /* a column without a declared type (SQLite) */
    }
    gw_rows_free(r);
    return rc;
}

static int index_exists(gw_store *s, const char *table, const char *index, int *yes)
{
    gw_sql_arg a[2] = { GW_SQL_TEXT(table), GW_SQL_TEXT(index) };
    long long n = 0;
    int rc;
    switch (gw_store_kind(s)) {
    case GW_DB_SQLITE:
        rc = count_of(s, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                      "tbl_name = ? AND name = ?", a, 2, &n);
        break;
    case GW_DB_MYSQL:
        rc = count_of(s, "SELECT COUNT(*) FROM information_schema.statistics WHERE "
                      "table_schema = DATABASE() AND table_name = ? AND index_name = ?",
                      a, 2, &n);
        break;
    default:
        rc = count_of(s, "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() "
                      "AND tablename = ? AND indexname = ?", a, 2, &n);
    }
    *yes = n > 0;
    return rc;
}

/* Reads "a.b" (each part a word()) into x and y. */
static int dotted(const char **p, char *x, char *y, size_t cap)
{
    if (!word(p, x, cap) || **p != '.')
        return 0;
    (*p)++;
    return word(p, y, cap);
}

/* A migration statement may start with a guard, which the migrator evaluates on the
 * database at hand and which lets one file adopt databases of different origins:
 *   WHEN TABLE t EXISTS <stmt>
 *   WHEN COLUMN t.c EXISTS <stmt>
 *   WHEN COLUMN t.c INTEGER <stmt>       (declared type contains "int")
 *   WHEN INDEX t.i EXISTS <stmt>
 * *rest is where the statement starts (stmt itself when there is no guard); *run = 0
 * means skip it. A malformed guard is GW_EINVAL. */
static int guard(gw_store *s, const char *stmt, const char **rest, int *run)
{
    char w[16], what[16], a[64], b[64], test[16], type[64];
    const char *p = stmt;
    int yes = 0, rc = GW_OK;
    *rest = stmt;
    *run = 1;
    if (!word(&p, w, sizeof w) || strcasecmp(w, "WHEN") != 0)
        return GW_OK;
    if (!word(&p, what, sizeof what))
        return GW_EINVAL;
    if (strcasecmp(what, "TABLE") == 0) {
        if (!word(&p, a, sizeof a) || !word(&p, test, sizeof test) ||
            strcasecmp(test, "EXISTS") != 0)
            return GW_EINVAL;
        rc = table_exists(s, a, &yes);
    } else if (strcasecmp(what, "COLUMN") == 0) {
        if (!dotted(&p, a, b, sizeof a) || !word(&p, test, sizeof test))
            return GW_EINVAL;
        rc = column_type(s, a, b, type, sizeof type);
        if (strcasecmp(test, "EXISTS") == 0)
            yes = type[0] != '\0';
        else if (strcasecmp(test, "INTEGER") == 0)
            yes = strstr(type, "int") != NULL;
        else
            return GW_EINVAL;
    } else if (strcasecmp(what, "INDEX") == 0) {
        if (!dotted(&p, a, b, sizeof a) || !word(&p, test, sizeof test) ||
            strcasecmp(test, "EXISTS") != 0)
            return GW_EINVAL;
        rc = index_exists(s, a, b, &yes);
    } else {
        return GW_EINVAL;
    }
    *rest = p;
    *run = yes;
    return rc;
}

/* Runs stmt without the two words "IF NOT EXISTS" that start at if_at. */
static int exec_without_if(gw_store *s, const char *stmt, const char *if_at, const char *after)
{
    size_t head = (size_t)(if_at - stmt), len = head + strlen(after) + 1;
    char *plain = gw_malloc(len);
    int rc;
    if (plain == NULL)
        return GW_ENOMEM;
    memcpy(plain, stmt, head);
    memcpy(plain + head, after, strlen(after) + 1);
    rc = gw_store_exec(s, plain, NULL, 0, NULL);
    gw_free(plain);
    return rc;
}

/* Reads "IF NOT EXISTS" at *p. */
static int if_not_exists(const char **p)
{
    char w[8];
    return word(p, w, sizeof w) && strcasecmp(w, "IF") == 0 && word(p, w, sizeof w) &&
           strcasecmp(w, "NOT") == 0 && word(p, w, sizeof w) && strcasecmp(w, "EXISTS") == 0;
}

/* "ALTER TABLE t ADD COLUMN IF NOT EXISTS c ..." lets a migration add a column that an
 * older database lacks, and "CREATE [UNIQUE] INDEX IF NOT EXISTS i ON t ..." an index.
 * PostgreSQL understands both; SQLite the second; MariaDB both, MySQL 8 neither. Where
 * the dialect may not, the column or index is looked up and the statement runs without
 * the IF NOT EXISTS, or not at all. *handled = 0 means "not such a statement". */
static int if_missing(gw_store *s, const char *stmt, int *handled)
{
    char w[6][64], col[64];
    static const char *const add[] = { "ALTER", "TABLE", NULL, "ADD", "COLUMN" };
    const char *p = stmt, *if_at, *after;
    int rc, yes = 0;
    *handled = 0;
    if (gw_store_kind(s) == GW_DB_POSTGRES)
        return GW_OK;
    if (!word(&p, w[0], sizeof w[0]))
        return GW_OK;
    if (strcasecmp(w[0], "CREATE") == 0) {
        if (gw_store_kind(s) != GW_DB_MYSQL || !word(&p, w[1], sizeof w[1]))
            return GW_OK;
        if (strcasecmp(w[1], "UNIQUE") == 0 && !word(&p, w[1], sizeof w[1]))
            return GW_OK;
        if (strcasecmp(w[1], "INDEX") != 0)
            return GW_OK;
        if_at = p;
        if (!if_not_exists(&p))
            return GW_OK;
        after = p;
        if (!word(&p, w[2], sizeof w[2]) || !word(&p, w[3], sizeof w[3]) ||
            strcasecmp(w[3], "ON") != 0 || !word(&p, w[4], sizeof w[4]))
            return GW_OK;
        *handled = 1;
        rc = index_exists(s, w[4], w[2], &yes);
        return rc != GW_OK || yes ? rc : exec_without_if(s, stmt, if_at, after);
    }
    for (int i = 1; i < 5; i++)
        if (!word(&p, w[i], sizeof w[i]) || (add[i] && strcasecmp(w[i], add[i]) != 0))
            return GW_OK;
    if (strcasecmp(w[0], "ALTER") != 0)
        return GW_OK;
    if_at = p;
    if (!if_not_exists(&p))
        return GW_OK;
    after = p;
    if (!word(&p, col, sizeof col))
        return GW_OK;
    *handled = 1;
    char type[64];
    rc = column_type(s, w[2], col, type, sizeof type);
    return rc != GW_OK || type[0] ? rc : exec_without_if(s, stmt, if_at, after);
}

/* Runs each statement of a migration file. A statement ends at a ';' that is the last
 * non-blank character of a line; lines whose first non-blank characters are "--" are
 * dropped, so a ';' inside such a comment never splits anything. */
static int run_file(gw_store *s, const struct migration *m, char *err, size_t errlen)
{
    const char *p = (const char *)m->file->data, *end = p + m->file->len;
    char *stmt = gw_malloc(m->file->len + 1);
    size_t len = 0, nstmt = 0;
    int rc = GW_OK;
    if (stmt == NULL)
        return GW_ENOMEM;
    while (p < end && rc == GW_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end, *first = p, *last;
        if (eol == NULL)
            eol = end;
        while (first < eol && (*first == ' ' || *first == '\t'))
            first++;
        last = eol;
        while (last > first && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
            last--;
        if (!(eol - first >= 2 && first[0] == '-' && first[1] == '-')) {
            int ends = last > first && last[-1] == ';';
            size_t n = (size_t)((ends ? last - 1 : eol) - p);
            memcpy(stmt + len, p, n);
            len += n;
            stmt[len++] = '\n';
            stmt[len] = '\0';
            if (ends || next == end) {
                if (!blank(stmt)) {
                    int handled = 0, run = 1;
                    const char *body = stmt;
                    nstmt++;
                    int bad_guard = (rc = guard(s, stmt, &body, &run)) == GW_EINVAL;
                    if (rc == GW_OK && run)
                        rc = if_missing(s, body, &handled);
                    if (rc == GW_OK && run && !handled)
                        rc = gw_store_exec(s, body, NULL, 0, NULL);
                    if (rc != GW_OK)
                        gw__store_err(err, errlen, "migration %s statement %zu: %s", m->name,
                                      nstmt,
                                      bad_guard ? "malformed WHEN guard" : gw_store_errmsg(s));
                }
                len = 0;
            }
        }
        p = next;
    }
    gw_free(stmt);
    return rc;
}

static int apply_one(gw_store *s, const struct migration *m, int *done, char *err,
                     size_t errlen)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[3] = { GW_SQL_INT(m->version) };
    int rc;
    *done = 0;
    if ((rc = gw_store_begin(s)) != GW_OK) {
        gw__store_err(err, errlen, "migration %s: begin: %s", m->name, gw_store_errmsg(s));
        return rc;
    }
    rc = gw_store_query(s, "SELECT version FROM schema_migrations WHERE version = ?", a, 1,
                        &rows);
    if (rc != GW_OK) {
        gw__store_err(err, errlen, "migration %s: %s", m->name, gw_store_errmsg(s));
        goto fail;
    }
    if (gw_rows_count(rows) > 0) {
        gw_rows_free(rows);
        return gw_store_commit(s);
    }
    gw_rows_free(rows);
    if ((rc = run_file(s, m, err, errlen)) != GW_OK)
        goto fail;
    a[1] = GW_SQL_TEXT(m->name);
    a[2] = GW_SQL_INT((long long)time(NULL));
    rc = gw_store_exec(s, "INSERT INTO schema_migrations (version, name, applied_at) "
                       "VALUES (?, ?, ?)", a, 3, NULL);
    if (rc == GW_OK)
        rc = gw_store_commit(s);
    if (rc != GW_OK) {
        gw__store_err(err, errlen, "migration %s: record: %s", m->name, gw_store_errmsg(s));
        goto fail;
    }
    *done = 1;
    return GW_OK;
fail:
    if (gw_store_in_tx(s))
        (void)gw_store_rollback(s);
    return rc;
}

#define MIGRATE_LOCK "token_factory.migrate"

int gw_store_migrate(gw_store *s, int *applied, char *err, size_t errlen)
{
    struct migration *m = NULL;
    size_t n = 0;
    int rc, count = 0;
    if (applied)
        *applied = 0;
    if ((rc = list_migrations(gw_store_kind(s), &m, &n, err, errlen)) != GW_OK)
        return rc;
    if ((rc = gw__store_lock(s, MIGRATE_LOCK)) != GW_OK) {
        gw__store_err(err, errlen, "migration lock: %s", gw_store_errmsg(s));
        gw_free(m);
        return rc;
    }
    rc = gw_store_exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL, "
                       "applied_at BIGINT NOT NULL)", NULL, 0, NULL);
    if (rc != GW_OK)
        gw__store_err(err, errlen, "schema_migrations: %s", gw_store_errmsg(s));
    for (size_t i = 0; i < n && rc == GW_OK; i++) {
        int done;
        if ((rc = apply_one(s, &m[i], &done, err, errlen)) == GW_OK)
            count += done;
    }
    gw__store_unlock(s, MIGRATE_LOCK);
    gw_free(m);
    if (applied)
        *applied = count;
    return rc;
}
