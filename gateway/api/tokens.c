/* tokens.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_token_search(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_batch_keys(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_batch_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_list(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_create(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_key(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_get(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_token_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
