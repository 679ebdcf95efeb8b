/* public.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_notice(gw_req *r) { gw_api_todo(r); }
void gw_api_about(gw_req *r) { gw_api_todo(r); }
void gw_api_home_page_content(gw_req *r) { gw_api_todo(r); }
void gw_api_pricing(gw_req *r) { gw_api_todo(r); }
void gw_api_groups_public(gw_req *r) { gw_api_todo(r); }
void gw_api_groups_admin(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
