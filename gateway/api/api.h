/* Handlers of the management API and gateway endpoints (one file per
 * resource). Each is a gw_handler_cb: it answers r now or later. */
#ifndef GW_API_API_H
#define GW_API_API_H

#include <stddef.h>
#include "gateway/http/server.h"
#include "gateway/http/ws.h"

struct gw_caller;

/* status.c */
void gw_api_status(gw_req *r);

/* setup.c */
void gw_api_setup_get(gw_req *r);
void gw_api_setup_post(gw_req *r);

/* session.c */
void gw_api_login(gw_req *r);
void gw_api_login_2fa(gw_req *r);
void gw_api_logout(gw_req *r);
void gw_api_refresh(gw_req *r);
void gw_api_sessions_list(gw_req *r, const struct gw_caller *who);
void gw_api_sessions_revoke(gw_req *r, const struct gw_caller *who);
void gw_api_sessions_revoke_others(gw_req *r, const struct gw_caller *who);
void gw_api_access_token(gw_req *r, const struct gw_caller *who);

/* public.c */
void gw_api_notice(gw_req *r);
void gw_api_about(gw_req *r);
void gw_api_home_page_content(gw_req *r);
void gw_api_pricing(gw_req *r);
void gw_api_groups_public(gw_req *r);
void gw_api_groups_admin(gw_req *r, const struct gw_caller *who);

/* users.c */
void gw_api_register(gw_req *r);
void gw_api_self_models(gw_req *r, const struct gw_caller *who);
void gw_api_self_groups(gw_req *r, const struct gw_caller *who);
void gw_api_self_get(gw_req *r, const struct gw_caller *who);
void gw_api_self_update(gw_req *r, const struct gw_caller *who);
void gw_api_self_delete(gw_req *r, const struct gw_caller *who);
void gw_api_self_aff(gw_req *r, const struct gw_caller *who);
void gw_api_user_search(gw_req *r, const struct gw_caller *who);
void gw_api_user_manage(gw_req *r, const struct gw_caller *who);
void gw_api_user_list(gw_req *r, const struct gw_caller *who);
void gw_api_user_create(gw_req *r, const struct gw_caller *who);
void gw_api_user_update(gw_req *r, const struct gw_caller *who);
void gw_api_user_get(gw_req *r, const struct gw_caller *who);
void gw_api_user_delete(gw_req *r, const struct gw_caller *who);

/* tokens.c */
void gw_api_token_search(gw_req *r, const struct gw_caller *who);
void gw_api_token_batch_keys(gw_req *r, const struct gw_caller *who);
void gw_api_token_batch_delete(gw_req *r, const struct gw_caller *who);
void gw_api_token_list(gw_req *r, const struct gw_caller *who);
void gw_api_token_create(gw_req *r, const struct gw_caller *who);
void gw_api_token_update(gw_req *r, const struct gw_caller *who);
void gw_api_token_key(gw_req *r, const struct gw_caller *who);
void gw_api_token_get(gw_req *r, const struct gw_caller *who);
void gw_api_token_delete(gw_req *r, const struct gw_caller *who);

/* channels.c */
void gw_api_channel_search(gw_req *r, const struct gw_caller *who);
void gw_api_channel_models(gw_req *r, const struct gw_caller *who);
void gw_api_channel_test_all(gw_req *r, const struct gw_caller *who);
void gw_api_channel_test(gw_req *r, const struct gw_caller *who);
/* channel_fetch.c: the upstream's model list (POST {base_url,type,key}, or
 * GET /:id of a saved channel) */
void gw_api_channel_fetch_models(gw_req *r, const struct gw_caller *who);
void gw_api_channel_fetch_models_id(gw_req *r, const struct gw_caller *who);
void gw_api_channel_fix(gw_req *r, const struct gw_caller *who);
void gw_api_channel_batch_delete(gw_req *r, const struct gw_caller *who);
void gw_api_channel_export(gw_req *r, const struct gw_caller *who);
void gw_api_channel_import(gw_req *r, const struct gw_caller *who);
void gw_api_channel_tag_update(gw_req *r, const struct gw_caller *who);
void gw_api_channel_tag_disable(gw_req *r, const struct gw_caller *who);
void gw_api_channel_tag_enable(gw_req *r, const struct gw_caller *who);
void gw_api_channel_delete_disabled(gw_req *r, const struct gw_caller *who);
void gw_api_channel_list(gw_req *r, const struct gw_caller *who);
void gw_api_channel_create(gw_req *r, const struct gw_caller *who);
void gw_api_channel_update(gw_req *r, const struct gw_caller *who);
void gw_api_channel_key(gw_req *r, const struct gw_caller *who);
void gw_api_channel_get(gw_req *r, const struct gw_caller *who);
void gw_api_channel_delete(gw_req *r, const struct gw_caller *who);

/* options.c */
void gw_api_option_list(gw_req *r, const struct gw_caller *who);
void gw_api_option_update(gw_req *r, const struct gw_caller *who);

/* logs.c */
void gw_api_log_self_stat(gw_req *r, const struct gw_caller *who);
void gw_api_log_self(gw_req *r, const struct gw_caller *who);
void gw_api_log_stat(gw_req *r, const struct gw_caller *who);
void gw_api_log_list(gw_req *r, const struct gw_caller *who);
void gw_api_log_delete(gw_req *r, const struct gw_caller *who);

/* data.c: the dashboard's hourly usage (quota_data); dashboard_models.c */
void gw_api_data_all(gw_req *r, const struct gw_caller *who);
void gw_api_data_users(gw_req *r, const struct gw_caller *who);
void gw_api_data_self(gw_req *r, const struct gw_caller *who);
void gw_api_dashboard_models(gw_req *r, const struct gw_caller *who);

/* redemptions.c */
void gw_api_redemption_search(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_delete_invalid(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_list(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_create(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_update(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_get(gw_req *r, const struct gw_caller *who);
void gw_api_redemption_delete(gw_req *r, const struct gw_caller *who);
void gw_api_topup(gw_req *r, const struct gw_caller *who);

/* topup.c: the wallet page (online payment is not built: reported off) */
void gw_api_topup_info(gw_req *r, const struct gw_caller *who);
void gw_api_topup_self(gw_req *r, const struct gw_caller *who);
void gw_api_topup_all(gw_req *r, const struct gw_caller *who);

/* not_implemented.c: the honest answer of an endpoint that is not built yet:
 * HTTP 501 {"success":false,"message":"... not implemented yet"}. */
void gw_api_todo(gw_req *r);
void gw_api_todo_authed(gw_req *r, const struct gw_caller *who);

/* realtime.c: the Realtime WebSocket API is not built yet; says so. */
int gw_ws_realtime_open(gw_ws *c);

/* test_hooks.c: only when GW_TEST_HOOKS is on; 404 otherwise. */
void gw_test_stats(gw_req *r);
void gw_test_routes(gw_req *r);
void gw_test_stream(gw_req *r);
void gw_test_delay(gw_req *r);
void gw_test_echo(gw_req *r);
int gw_test_ws_open(gw_ws *c);
int gw_test_ws_message(gw_ws *c, const void *data, size_t len, int binary);

#endif
