#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "persist/redis_rows.h"

void gw_rcmds_init(struct gw_rcmds *b) { memset(b, 0, sizeof *b); }

void gw_rcmds_free(struct gw_rcmds *b)
{
    for (size_t i = 0; i < b->n; i++) {
        for (int a = 0; a < b->cmd[i].argc; a++)
            gw_free(b->cmd[i].argv[a]);
        gw_free(b->cmd[i].argv);
        gw_free(b->cmd[i].len);
    }
    gw_free(b->cmd);
    memset(b, 0, sizeof *b);
}

int gw_rcmds_add(struct gw_rcmds *b, int argc, const char *const *argv)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        void *p = gw_realloc(b->cmd, cap * sizeof *b->cmd);
        if (!p)
            return GW_ENOMEM;
        b->cmd = p;
        b->cap = cap;
    }
    struct gw_rcmd *c = &b->cmd[b->n];
    c->argc = 0;
    c->argv = gw_calloc((size_t)argc, sizeof *c->argv);
    c->len = gw_calloc((size_t)argc, sizeof *c->len);
    if (!c->argv || !c->len)
        goto oom;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        c->argv[i] = gw_malloc(n + 1);
        if (!c->argv[i])
            goto oom;
        memcpy(c->argv[i], argv[i], n + 1);
        c->len[i] = n;
        c->argc = i + 1;
    }
    b->n++;
    return GW_OK;
oom:
    for (int i = 0; i < c->argc; i++)
        gw_free(c->argv[i]);
    gw_free(c->argv);
    gw_free(c->len);
    return GW_ENOMEM;
}

static const char *txt(const gw_rows *rows, size_t r, size_t c)
{
    const char *v = gw_rows_get(rows, r, c);
    return v ? v : "";
}

/* Integer cell as text (booleans t/f → 1/0, NULL → def). */
static const char *num(const gw_rows *rows, size_t r, size_t c, long long def, char buf[24])
{
    long long v;
    if (gw_rows_int(rows, r, c, &v) != GW_OK)
        v = def;
    snprintf(buf, 24, "%lld", v);
    return buf;
}

static long long id_of(const gw_rows *rows, size_t r, size_t c)
{
    long long v = 0;
    gw_rows_int(rows, r, c, &v);
    return v;
}

/* A fresh settings version ("sv") for each mirror write of a user or token:
 * workers compare it, through authorize.lua, with the one their cached
 * groups, IP list and limits were read with (ledger.h
 * gw_key_settings_version). Unique across writes and replicas: wall time in
 * ns, pid, and a process-wide sequence. */
static const char *fresh_sv(char buf[48])
{
    static atomic_ullong seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long t = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    snprintf(buf, 48, "%llx.%x.%llx", t, (unsigned)getpid(), (unsigned long long)++seq);
    return buf;
}

int gw_rr_user(struct gw_rcmds *b, const gw_rows *rows, size_t r, int with_money)
{
    char key[64], n[4][24], sv[48];
    long long id = id_of(rows, r, 0);
    if (id <= 0)
        return GW_EINVAL;
    snprintf(key, sizeof key, "tf:{s%lld}:u:%lld", id % GW_RR_SHARDS, id);
    const char *role = txt(rows, r, 6);
    const char *meta[] = {"HSET", key, "status", num(rows, r, 4, 1, n[3]),
                          "group", txt(rows, r, 5), "role", role[0] ? role : "1",
                          "username", txt(rows, r, 7), "sv", fresh_sv(sv)};
    if (!with_money)
        return gw_rcmds_add(b, 12, meta);
    const char *all[] = {"HSET", key, "status", num(rows, r, 4, 1, n[3]),
                         "group", txt(rows, r, 5), "role", role[0] ? role : "1",
                         "username", txt(rows, r, 7), "sv", sv, "quota", num(rows, r, 1, 0, n[0]),
                         "reserved", "0", "used_quota", num(rows, r, 2, 0, n[1]),
                         "request_count", num(rows, r, 3, 0, n[2])};
    return gw_rcmds_add(b, 20, all);
}

static void index_key(const char *token_key, char out[80])
{
    unsigned char sha[32];
    gw_sha256(token_key, strlen(token_key), sha);
    memcpy(out, "tf:tk:", 6);
    gw_hex_encode(sha, sizeof sha, out + 6);
}

int gw_rr_token(struct gw_rcmds *b, const gw_rows *rows, size_t r, int with_money)
{
    char key[64], ik[80], idx[48], n[7][24], sv[48];
    long long id = id_of(rows, r, 0), uid = id_of(rows, r, 1);
    const char *k = gw_rows_get(rows, r, 2);
    if (id <= 0 || uid <= 0 || !k || !*k)
        return GW_EINVAL; /* no owner or no key: nothing can authorise with it */
    snprintf(key, sizeof key, "tf:{s%lld}:t:%lld", uid % GW_RR_SHARDS, id);
    const char *argv[] = {"HSET", key, "uid", num(rows, r, 1, 0, n[0]),
                          "status", num(rows, r, 3, 1, n[1]), "name", txt(rows, r, 4),
                          "expired_time", num(rows, r, 5, -1, n[2]),
                          "unlimited_quota", num(rows, r, 7, 0, n[4]),
                          "model_limits_enabled", num(rows, r, 9, 0, n[6]),
                          "model_limits", txt(rows, r, 10), "group", txt(rows, r, 11),
                          "allow_ips", txt(rows, r, 12), "sv", fresh_sv(sv),
                          "remain_quota", num(rows, r, 6, 0, n[3]), "reserved", "0",
                          "used_quota", num(rows, r, 8, 0, n[5])};
    int rc = gw_rcmds_add(b, with_money ? 28 : 22, argv); /* 22: through sv */
    if (rc != GW_OK)
        return rc;
    index_key(k, ik);
    snprintf(idx, sizeof idx, "%lld:%lld", uid, id);
    const char *set[] = {"SET", ik, idx};
    return gw_rcmds_add(b, 3, set);
}

int gw_rr_channel(struct gw_rcmds *b, const gw_rows *rows, size_t r)
{
    char key[48], n[6][24];
    long long id = id_of(rows, r, 0);
    if (id <= 0)
        return GW_EINVAL;
    snprintf(n[0], 24, "%lld", id);
    snprintf(key, sizeof key, "tf:chcfg:%lld", id);
    const char *argv[] = {"HSET", key, "type", num(rows, r, 1, 0, n[1]),
                          "status", num(rows, r, 2, 1, n[2]), "name", txt(rows, r, 3),
                          "weight", num(rows, r, 4, 0, n[3]), "priority", num(rows, r, 5, 0, n[4]),
                          "models", txt(rows, r, 6), "group", txt(rows, r, 7),
                          "base_url", txt(rows, r, 8), "model_mapping", txt(rows, r, 9),
                          "tag", txt(rows, r, 10), "auto_ban", num(rows, r, 11, 1, n[5])};
    int rc = gw_rcmds_add(b, 24, argv);
    const char *sadd[] = {"SADD", "tf:chcfg:ids", n[0]};
    return rc == GW_OK ? gw_rcmds_add(b, 3, sadd) : rc;
}

int gw_rr_user_del(struct gw_rcmds *b, long long uid)
{
    char key[64];
    snprintf(key, sizeof key, "tf:{s%lld}:u:%lld", uid % GW_RR_SHARDS, uid);
    const char *argv[] = {"DEL", key};
    return gw_rcmds_add(b, 2, argv);
}

int gw_rr_token_del(struct gw_rcmds *b, long long uid, long long tid, const char *token_key)
{
    char key[64], ik[80];
    snprintf(key, sizeof key, "tf:{s%lld}:t:%lld", uid % GW_RR_SHARDS, tid);
    const char *argv[] = {"DEL", key};
    int rc = gw_rcmds_add(b, 2, argv);
    if (rc != GW_OK || !token_key || !*token_key)
        return rc;
    index_key(token_key, ik);
    const char *del[] = {"DEL", ik};
    return gw_rcmds_add(b, 2, del);
}

int gw_rr_channel_del(struct gw_rcmds *b, long long cid)
{
    char key[48], health[48], id[24];
    snprintf(key, sizeof key, "tf:chcfg:%lld", cid);
    /* Its live health (tf:ch:<cid>, channel_health.lua) goes too: new-api's
     * SQLite layout reuses a deleted channel's id, and a new channel must not
     * inherit the old one's failures. */
    snprintf(health, sizeof health, "tf:ch:%lld", cid);
    snprintf(id, sizeof id, "%lld", cid);
    const char *argv[] = {"DEL", key, health};
    const char *srem[] = {"SREM", "tf:chcfg:ids", id};
    int rc = gw_rcmds_add(b, 3, argv);
    return rc == GW_OK ? gw_rcmds_add(b, 3, srem) : rc;
}
