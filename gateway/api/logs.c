/* logs.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_log_self_stat(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_log_self(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_log_stat(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_log_list(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_log_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
