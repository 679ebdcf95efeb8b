/* Migrations (gw_store_migrate): the embedded schema/<dialect>/NNN_name.sql
 * files, each applied once in its own transaction and recorded in
 * schema_migrations, under a server-side lock so that replicas starting
 * together do not race. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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

/* "ALTER TABLE t ADD COLUMN IF NOT EXISTS c ..." lets a migration add a column that an
 * older reference database lacks. PostgreSQL and MariaDB understand it; SQLite and
 * MySQL 8 do not, so for them the column is looked up and the statement runs without
 * the IF NOT EXISTS, or not at all. *handled = 0 means "not such a statement". */
static int add_column_if_missing(gw_store *s, const char *stmt, int *handled)
{
    char w[6][64];
    static const char *const want[] = { "ALTER", "TABLE", NULL, "ADD", "COLUMN", "IF" };
    const char *p = stmt, *if_at = NULL;
    gw_rows *r = NULL;
    long long n = 0;
    int rc;
    *handled = 0;
    if (gw_store_kind(s) == GW_DB_POSTGRES)
        return GW_OK;
    for (int i = 0; i < 6; i++) {
        if (i == 5)
            if_at = p;
        if (!word(&p, w[i], sizeof w[i]) || (want[i] && strcasecmp(w[i], want[i]) != 0))
            return GW_OK;
    }
    char not_[8], exists[8], col[64];
    if (!word(&p, not_, sizeof not_) || strcasecmp(not_, "NOT") != 0 ||
        !word(&p, exists, sizeof exists) || strcasecmp(exists, "EXISTS") != 0)
        return GW_OK;
    const char *after = p;
    if (!word(&p, col, sizeof col))
        return GW_OK;
    *handled = 1;
    gw_sql_arg a[2] = { GW_SQL_TEXT(w[2]), GW_SQL_TEXT(col) };
    rc = gw_store_query(s, gw_store_kind(s) == GW_DB_SQLITE
                        ? "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?"
                        : "SELECT COUNT(*) FROM information_schema.columns WHERE "
                          "table_schema = DATABASE() AND table_name = ? AND column_name = ?",
                        a, 2, &r);
    if (rc == GW_OK)
        rc = gw_rows_int(r, 0, 0, &n);
    gw_rows_free(r);
    if (rc != GW_OK || n > 0)
        return rc;
    size_t head = (size_t)(if_at - stmt), len = head + strlen(after) + 1;
    char *plain = gw_malloc(len);
    if (plain == NULL)
        return GW_ENOMEM;
    memcpy(plain, stmt, head);
    memcpy(plain + head, after, strlen(after) + 1);
    rc = gw_store_exec(s, plain, NULL, 0, NULL);
    gw_free(plain);
    return rc;
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
                    int handled;
                    nstmt++;
                    rc = add_column_if_missing(s, stmt, &handled);
                    if (rc == GW_OK && !handled)
                        rc = gw_store_exec(s, stmt, NULL, 0, NULL);
                    if (rc != GW_OK)
                        gw__store_err(err, errlen, "migration %s statement %zu: %s", m->name,
                                      nstmt, gw_store_errmsg(s));
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
