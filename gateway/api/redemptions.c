/* redemptions.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_redemption_search(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_delete_invalid(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_list(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_create(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_get(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_redemption_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_topup(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
