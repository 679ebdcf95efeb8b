/* channels.c: not built yet; every endpoint answers 501 "not implemented". */
#include "gateway/api/api.h"

void gw_api_channel_search(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_models(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_test_all(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_test(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_fix(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_batch_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_export(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_import(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_tag_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_tag_disable(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_tag_enable(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_delete_disabled(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_list(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_create(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_update(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_key(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_get(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
void gw_api_channel_delete(gw_req *r, const struct gw_caller *who) { gw_api_todo_authed(r, who); }
