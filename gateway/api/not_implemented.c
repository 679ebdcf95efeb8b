/* The answer of an endpoint that exists in the reference but is not built
 * here yet: never a fake success. */
#include <stdio.h>
#include "gateway/api/api.h"
#include "gateway/core/str.h"

void gw_api_todo(gw_req *r)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s %.*s is not implemented yet", r->method_name,
             (int)gw_str_utf8_cut(gw_str_c(r->path), 200), r->path);
    json_t *j = json_pack("{s:b, s:s}", "success", 0, "message", msg);
    gw_resp_json(r, 501, j);
    json_decref(j);
}

void gw_api_todo_authed(gw_req *r, const struct gw_caller *who)
{
    (void)who;
    gw_api_todo(r);
}
