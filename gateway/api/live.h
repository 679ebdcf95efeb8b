/* Money fields of management answers, read live from Redis.
 *
 * Redis is the source of truth for money (scripts/README.md); SQL follows it
 * one persister batch later. So an answer that shows a user's quota,
 * used_quota and request_count, or a token's remain_quota and used_quota,
 * takes them from the user's or token's Redis hash just before it is sent:
 * one HMGET per row, all issued in the same loop iteration, which the
 * client's write batching (redis_ev.c) sends as one pipelined write — one
 * round trip per page, not one per row.
 *
 * Values: quota = quota + reserved and remain_quota = remain_quota +
 * reserved, the SQL-visible values (what SQL will hold once the persister
 * has caught up, whatever is in flight). A row whose hash (or field) is
 * missing — a deleted user, a store that was never warmed — keeps its SQL
 * value, and so does every row when Redis does not answer.
 *
 * Loop thread only. */
#ifndef GW_API_LIVE_H
#define GW_API_LIVE_H

#include <jansson.h>
#include "gateway/http/server.h"

enum gw_live_kind {
    GW_LIVE_USER,  /* rows with integer id, quota, used_quota, request_count */
    GW_LIVE_TOKEN, /* rows with integer id, user_id, remain_quota, used_quota */
};

/* Answers {"success":true,"data":data} (gw_api_ok) once the money fields of
 * data are live. data (stolen) is one row, a page ({..., items: [rows]}), an
 * array of rows, or anything else (answered as it is); only objects that
 * carry the kind's fields are rows. */
void gw_api_ok_live(gw_req *r, enum gw_live_kind kind, json_t *data);

#endif
