/* users.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_register(gw_req *r) { gw_api_todo(r); }
void gw_api_self_models(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_self_groups(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_self_get(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_self_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_self_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_self_aff(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_search(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_manage(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_list(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_create(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_get(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_user_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
