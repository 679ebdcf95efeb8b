/* Live money fields for management answers (live.h). */
#include <string.h>
#include "gateway/api/apictx.h"
#include "gateway/api/live.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/state/ledger.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"

#define LIVE_MAX_ROWS 1000 /* a page holds at most 100; bounded anyway */
#define VALUE_MAX 1000000000000000000LL

struct live;

struct slot {
    struct live *l;
    json_t *row; /* borrowed from l->data */
};

struct live {
    gw_req *r;
    enum gw_live_kind kind;
    json_t *data;
    size_t pending; /* replies outstanding, plus one while issuing */
    unsigned failed;
    struct slot *slots;
};

static int row_id(const json_t *row, const char *k, long long *out)
{
    const json_t *v = json_object_get(row, k);
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return 0;
    *out = (long long)json_integer_value(v);
    return 1;
}

/* 1 when row carries the kind's fields, with its key in key. */
static int row_key(enum gw_live_kind kind, const json_t *row, char *key, size_t cap)
{
    long long id = 0, uid = 0;
    if (!json_is_object(row) || !row_id(row, "id", &id))
        return 0;
    if (kind == GW_LIVE_USER)
        return json_is_integer(json_object_get(row, "quota")) &&
               gw_key_user(key, cap, id) == GW_OK;
    return json_is_integer(json_object_get(row, "remain_quota")) &&
           row_id(row, "user_id", &uid) && gw_key_token(key, cap, uid, id) == GW_OK;
}

/* Element i of an HMGET reply as an integer; 0 when nil or not a number. */
static int field(const redisReply *reply, size_t i, long long *out)
{
    if (i >= reply->elements || reply->element[i]->type != REDIS_REPLY_STRING)
        return 0;
    return gw_str_to_ll(gw_str_c(reply->element[i]->str), -VALUE_MAX, VALUE_MAX, out) == GW_OK;
}

static void set_int(json_t *row, const char *k, long long v)
{
    json_object_set_new(row, k, json_integer((json_int_t)v));
}

/* reply: HMGET <key> spendable reserved used_quota [request_count]. A field
 * that is absent keeps the SQL value; reserved absent reads as 0. */
static void overlay(enum gw_live_kind kind, json_t *row, const redisReply *reply)
{
    long long spend = 0, reserved = 0, used = 0, count = 0;
    if (field(reply, 0, &spend)) {
        field(reply, 1, &reserved);
        set_int(row, kind == GW_LIVE_USER ? "quota" : "remain_quota", spend + reserved);
    }
    if (field(reply, 2, &used))
        set_int(row, "used_quota", used);
    if (kind == GW_LIVE_USER && field(reply, 3, &count))
        set_int(row, "request_count", count);
}

static void finish(struct live *l)
{
    if (--l->pending)
        return;
    gw_req *r = l->r;
    if (l->failed)
        GW_WARN("live quota read: %u of the answer's rows kept their SQL values (Redis did "
                "not answer) rid=%s",
                l->failed, r->rid);
    gw_api_ok(r, l->data); /* checks that the client is still there */
    gw_free(l->slots);
    gw_free(l);
    gw_req_unref(r);
}

static void on_row(int status, redisReply *reply, void *data)
{
    struct slot *s = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY)
        overlay(s->l->kind, s->row, reply);
    else
        s->l->failed++;
    finish(s->l);
}

/* The rows of data: itself, its items, or its elements. */
static json_t *rows_of(json_t *data, int *single)
{
    *single = 0;
    if (json_is_array(data))
        return data;
    json_t *items = json_object_get(data, "items");
    if (json_is_array(items))
        return items;
    *single = 1;
    return data;
}

void gw_api_ok_live(gw_req *r, enum gw_live_kind kind, json_t *data)
{
    int single;
    if (!json_is_object(data) && !json_is_array(data)) {
        gw_api_ok(r, data);
        return;
    }
    json_t *rows = rows_of(data, &single);
    size_t n = single ? 1 : json_array_size(rows);
    if (n > LIVE_MAX_ROWS)
        n = LIVE_MAX_ROWS;
    struct live *l = n ? gw_calloc(1, sizeof *l) : NULL;
    if (l && !(l->slots = gw_calloc(n, sizeof *l->slots))) {
        gw_free(l);
        l = NULL;
    }
    if (!l) { /* nothing to read, or no memory: the SQL values */
        gw_api_ok(r, data);
        return;
    }
    l->r = r;
    l->kind = kind;
    l->data = data;
    l->pending = 1;
    gw_req_ref(r);
    for (size_t i = 0; i < n; i++) {
        json_t *row = single ? data : json_array_get(rows, i);
        char key[GW_KEY_MAX];
        if (!row_key(kind, row, key, sizeof key))
            continue;
        struct slot *s = &l->slots[i];
        s->l = l;
        s->row = row;
        int rc = kind == GW_LIVE_USER
                     ? gw_redis_command(r->worker->redis, on_row, s,
                                        "HMGET %s quota reserved used_quota request_count", key)
                     : gw_redis_command(r->worker->redis, on_row, s,
                                        "HMGET %s remain_quota reserved used_quota", key);
        if (rc == GW_OK)
            l->pending++;
        else
            l->failed++;
    }
    finish(l); /* drops the issuing count; answers now if nothing was sent */
}
