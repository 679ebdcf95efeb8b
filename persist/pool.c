/* The connection pool (gw_store_pool, store.h): a mutex, a condition variable
 * and a stack of idle connections; connections open lazily, outside the lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "persist/store.h"

struct gw_store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *dsn, *sqlite_path;
    int max, open;              /* open counts handed-out and idle connections */
    int nidle;
    gw_store **idle;
};

int gw_store_pool_new(const char *dsn, const char *sqlite_path, int max, gw_store_pool **out,
                      char *err, size_t errlen)
{
    gw_store_pool *p;
    *out = NULL;
    if (max < 1 || max > 1024) {
        gw__store_err(err, errlen, "pool size must be 1..1024");
        return GW_EINVAL;
    }
    if (gw_store_dsn_kind(dsn) == GW_DB_MYSQL) {
        struct gw_mysql_dsn d;
        int rc = gw_mysql_dsn_parse(dsn, &d);
        if (rc != GW_OK) {
            gw__store_err(err, errlen, "invalid MySQL DSN: %s", gw_strerror(rc));
            return rc;
        }
    }
    if ((p = gw_calloc(1, sizeof *p)) == NULL || (p->idle = gw_calloc((size_t)max, sizeof *p->idle))
        == NULL || (p->dsn = gw_strdup(dsn ? dsn : "")) == NULL ||
        (sqlite_path && (p->sqlite_path = gw_strdup(sqlite_path)) == NULL)) {
        if (p) {
            gw_free(p->idle);
            gw_free(p->dsn);
            gw_free(p);
        }
        gw__store_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max = max;
    *out = p;
    return GW_OK;
}

int gw_store_pool_get(gw_store_pool *p, gw_store **out)
{
    gw_store *s = NULL;
    int rc;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->nidle == 0 && p->open >= p->max)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->nidle > 0)
        s = p->idle[--p->nidle];
    else
        p->open++;
    pthread_mutex_unlock(&p->mu);

    if (s == NULL) {            /* connect outside the lock: it may take seconds */
        if ((rc = gw_store_open(p->dsn, p->sqlite_path, &s, NULL, 0)) != GW_OK) {
            pthread_mutex_lock(&p->mu);
            p->open--;
            pthread_cond_signal(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
    } else if (gw__store_broken(s) && (rc = gw_store_ping(s)) != GW_OK) {
        gw_store_pool_put(p, s);
        return rc;
    }
    *out = s;
    return GW_OK;
}

void gw_store_pool_put(gw_store_pool *p, gw_store *s)
{
    if (s == NULL)
        return;
    if (gw_store_in_tx(s))
        (void)gw_store_rollback(s);
    pthread_mutex_lock(&p->mu);
    p->idle[p->nidle++] = s;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void gw_store_pool_free(gw_store_pool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->nidle; i++)
        gw_store_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    gw_free(p->idle);
    gw_free(p->dsn);
    gw_free(p->sqlite_path);
    gw_free(p);
}
