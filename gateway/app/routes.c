/* The gateway's route tables: every HTTP and WebSocket endpoint is listed
 * here, in match order (specific paths before ":id" ones). Public routes
 * name a handler; guarded routes name the least role and an authed handler
 * (gateway/api/auth.h), so the guard of every endpoint is visible here and
 * the route-table test can walk it. The guards themselves (per-IP limits,
 * then authentication) are applied by the hooks at the end of this file,
 * which the HTTP layer calls through struct gw_http_app. */
#include "gateway/api/api.h"
#include "gateway/api/auth.h"
#include "gateway/api/ratelimit_ip.h"
#include "gateway/app/app.h"
#include "gateway/http/router.h"
#include "gateway/http/ws.h"
#include "gateway/relay/relay.h"

#define ALL (GW_M_GET | GW_M_POST | GW_M_PUT | GW_M_PATCH | GW_M_DELETE | GW_M_HEAD)

/* POST /pg/chat/completions: the console's playground, as the signed-in user
 * (the relay takes the user's id; relay/ knows nothing of api/'s caller). */
static void pg_chat(gw_req *r, const struct gw_caller *who)
{
    gw_relay_playground(r, who->id);
}

static const struct gw_route routes[] = {
    {GW_M_GET | GW_M_HEAD, "/api/status", gw_api_status, 0, NULL},
    {GW_M_GET, "/api/setup", gw_api_setup_get, 0, NULL},
    {GW_M_POST, "/api/setup", gw_api_setup_post, 0, NULL},
    {GW_M_GET, "/api/notice", gw_api_notice, 0, NULL},
    {GW_M_GET, "/api/about", gw_api_about, 0, NULL},
    {GW_M_GET, "/api/home_page_content", gw_api_home_page_content, 0, NULL},
    {GW_M_GET, "/api/pricing", gw_api_pricing, 0, NULL},
    {GW_M_POST, "/api/user/register", gw_api_register, 0, NULL},
    {GW_M_POST, "/api/user/login", gw_api_login, 0, NULL},
    {GW_M_POST, "/api/user/login/2fa", gw_api_login_2fa, 0, NULL},
    {GW_M_GET, "/api/user/logout", gw_api_logout, 0, NULL},
    {GW_M_POST, "/api/user/auth/refresh", gw_api_refresh, 0, NULL},
    {GW_M_POST, "/api/user/auth/logout", gw_api_logout, 0, NULL},
    {GW_M_GET, "/api/user/groups", gw_api_groups_public, 0, NULL},
    {GW_M_GET, "/api/user/sessions", NULL, GW_ROLE_USER, gw_api_sessions_list},
    {GW_M_POST, "/api/user/sessions/revoke-others", NULL, GW_ROLE_USER, gw_api_sessions_revoke_others},
    {GW_M_DELETE, "/api/user/sessions/:sid", NULL, GW_ROLE_USER, gw_api_sessions_revoke},
    {GW_M_GET, "/api/user/token", NULL, GW_ROLE_USER, gw_api_access_token},
    {GW_M_GET, "/api/user/self/token", NULL, GW_ROLE_USER, gw_api_access_token},
    {GW_M_GET, "/api/user/self/models", NULL, GW_ROLE_USER, gw_api_self_models},
    {GW_M_GET, "/api/user/models", NULL, GW_ROLE_USER, gw_api_self_models},
    {GW_M_GET, "/api/user/self/groups", NULL, GW_ROLE_USER, gw_api_self_groups},
    {GW_M_GET, "/api/user/self", NULL, GW_ROLE_USER, gw_api_self_get},
    {GW_M_PUT, "/api/user/self", NULL, GW_ROLE_USER, gw_api_self_update},
    {GW_M_DELETE, "/api/user/self", NULL, GW_ROLE_USER, gw_api_self_delete},
    {GW_M_GET, "/api/user/aff", NULL, GW_ROLE_USER, gw_api_self_aff},
    {GW_M_POST, "/api/user/topup", NULL, GW_ROLE_USER, gw_api_topup},
    {GW_M_GET, "/api/user/topup/info", NULL, GW_ROLE_USER, gw_api_topup_info},
    {GW_M_GET, "/api/user/topup/self", NULL, GW_ROLE_USER, gw_api_topup_self},
    {GW_M_GET, "/api/user/topup", NULL, GW_ROLE_ADMIN, gw_api_topup_all},
    /* Online payment is not built: every endpoint of it answers 501. */
    {GW_M_POST, "/api/user/topup/complete", NULL, GW_ROLE_ADMIN, gw_api_todo_authed},
    {GW_M_POST, "/api/user/pay", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/amount", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/stripe/pay", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/stripe/amount", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/creem/pay", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/waffo/pay", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/waffo/amount", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/waffo-pancake/pay", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_POST, "/api/user/waffo-pancake/amount", NULL, GW_ROLE_USER, gw_api_todo_authed},
    {GW_M_GET | GW_M_POST, "/api/user/epay/notify", gw_api_todo, 0, NULL},
    {GW_M_POST, "/api/stripe/webhook", gw_api_todo, 0, NULL},
    {GW_M_POST, "/api/creem/webhook", gw_api_todo, 0, NULL},
    {GW_M_POST, "/api/waffo/webhook", gw_api_todo, 0, NULL},
    {GW_M_POST, "/api/waffo-pancake/webhook/:env", gw_api_todo, 0, NULL},
    {GW_M_GET, "/api/user/search", NULL, GW_ROLE_ADMIN, gw_api_user_search},
    {GW_M_POST, "/api/user/manage", NULL, GW_ROLE_ADMIN, gw_api_user_manage},
    {GW_M_GET, "/api/user/", NULL, GW_ROLE_ADMIN, gw_api_user_list},
    {GW_M_POST, "/api/user/", NULL, GW_ROLE_ADMIN, gw_api_user_create},
    {GW_M_PUT, "/api/user/", NULL, GW_ROLE_ADMIN, gw_api_user_update},
    {GW_M_GET, "/api/user/:id", NULL, GW_ROLE_ADMIN, gw_api_user_get},
    {GW_M_DELETE, "/api/user/:id", NULL, GW_ROLE_ADMIN, gw_api_user_delete},
    {GW_M_GET, "/api/token/search", NULL, GW_ROLE_USER, gw_api_token_search},
    {GW_M_POST, "/api/token/batch/keys", NULL, GW_ROLE_USER, gw_api_token_batch_keys},
    {GW_M_POST, "/api/token/batch", NULL, GW_ROLE_USER, gw_api_token_batch_delete},
    {GW_M_GET, "/api/token/", NULL, GW_ROLE_USER, gw_api_token_list},
    {GW_M_POST, "/api/token/", NULL, GW_ROLE_USER, gw_api_token_create},
    {GW_M_PUT, "/api/token/", NULL, GW_ROLE_USER, gw_api_token_update},
    {GW_M_POST, "/api/token/:id/key", NULL, GW_ROLE_USER, gw_api_token_key},
    {GW_M_GET, "/api/token/:id", NULL, GW_ROLE_USER, gw_api_token_get},
    {GW_M_DELETE, "/api/token/:id", NULL, GW_ROLE_USER, gw_api_token_delete},
    {GW_M_GET, "/api/channel/search", NULL, GW_ROLE_ADMIN, gw_api_channel_search},
    {GW_M_GET, "/api/channel/models", NULL, GW_ROLE_ADMIN, gw_api_channel_models},
    {GW_M_GET, "/api/channel/test", NULL, GW_ROLE_ADMIN, gw_api_channel_test_all},
    {GW_M_GET, "/api/channel/test/:id", NULL, GW_ROLE_ADMIN, gw_api_channel_test},
    {GW_M_POST, "/api/channel/fetch_models", NULL, GW_ROLE_ADMIN, gw_api_channel_fetch_models},
    {GW_M_GET, "/api/channel/fetch_models/:id", NULL, GW_ROLE_ADMIN, gw_api_channel_fetch_models_id},
    {GW_M_POST, "/api/channel/fix", NULL, GW_ROLE_ADMIN, gw_api_channel_fix},
    {GW_M_POST, "/api/channel/batch", NULL, GW_ROLE_ADMIN, gw_api_channel_batch_delete},
    {GW_M_POST, "/api/channel/export", NULL, GW_ROLE_ADMIN, gw_api_channel_export},
    {GW_M_POST, "/api/channel/import", NULL, GW_ROLE_ADMIN, gw_api_channel_import},
    {GW_M_PUT, "/api/channel/tag", NULL, GW_ROLE_ADMIN, gw_api_channel_tag_update},
    {GW_M_POST, "/api/channel/tag/disabled", NULL, GW_ROLE_ADMIN, gw_api_channel_tag_disable},
    {GW_M_POST, "/api/channel/tag/enabled", NULL, GW_ROLE_ADMIN, gw_api_channel_tag_enable},
    {GW_M_DELETE, "/api/channel/disabled", NULL, GW_ROLE_ADMIN, gw_api_channel_delete_disabled},
    {GW_M_GET, "/api/channel/", NULL, GW_ROLE_ADMIN, gw_api_channel_list},
    {GW_M_POST, "/api/channel/", NULL, GW_ROLE_ADMIN, gw_api_channel_create},
    {GW_M_PUT, "/api/channel/", NULL, GW_ROLE_ADMIN, gw_api_channel_update},
    {GW_M_POST, "/api/channel/:id/key", NULL, GW_ROLE_ROOT, gw_api_channel_key},
    {GW_M_GET, "/api/channel/:id", NULL, GW_ROLE_ADMIN, gw_api_channel_get},
    {GW_M_DELETE, "/api/channel/:id", NULL, GW_ROLE_ADMIN, gw_api_channel_delete},
    {GW_M_GET, "/api/group/", NULL, GW_ROLE_ADMIN, gw_api_groups_admin},
    {GW_M_GET, "/api/option/", NULL, GW_ROLE_ROOT, gw_api_option_list},
    {GW_M_PUT, "/api/option/", NULL, GW_ROLE_ROOT, gw_api_option_update},
    {GW_M_GET, "/api/log/self/stat", NULL, GW_ROLE_USER, gw_api_log_self_stat},
    {GW_M_GET, "/api/log/self/search", NULL, GW_ROLE_USER, gw_api_log_self},
    {GW_M_GET, "/api/log/self", NULL, GW_ROLE_USER, gw_api_log_self},
    {GW_M_GET, "/api/log/stat", NULL, GW_ROLE_ADMIN, gw_api_log_stat},
    {GW_M_GET, "/api/log/search", NULL, GW_ROLE_ADMIN, gw_api_log_list},
    {GW_M_GET, "/api/log/", NULL, GW_ROLE_ADMIN, gw_api_log_list},
    {GW_M_DELETE, "/api/log/", NULL, GW_ROLE_ADMIN, gw_api_log_delete},
    {GW_M_GET, "/api/data/users", NULL, GW_ROLE_ADMIN, gw_api_data_users},
    {GW_M_GET, "/api/data/self", NULL, GW_ROLE_USER, gw_api_data_self},
    {GW_M_GET, "/api/data/", NULL, GW_ROLE_ADMIN, gw_api_data_all},
    {GW_M_GET, "/api/data", NULL, GW_ROLE_ADMIN, gw_api_data_all},
    {GW_M_GET, "/api/models", NULL, GW_ROLE_USER, gw_api_dashboard_models},
    {GW_M_GET, "/api/redemption/search", NULL, GW_ROLE_ADMIN, gw_api_redemption_search},
    {GW_M_DELETE, "/api/redemption/invalid", NULL, GW_ROLE_ADMIN, gw_api_redemption_delete_invalid},
    {GW_M_GET, "/api/redemption/", NULL, GW_ROLE_ADMIN, gw_api_redemption_list},
    {GW_M_POST, "/api/redemption/", NULL, GW_ROLE_ADMIN, gw_api_redemption_create},
    {GW_M_PUT, "/api/redemption/", NULL, GW_ROLE_ADMIN, gw_api_redemption_update},
    {GW_M_GET, "/api/redemption/:id", NULL, GW_ROLE_ADMIN, gw_api_redemption_get},
    {GW_M_DELETE, "/api/redemption/:id", NULL, GW_ROLE_ADMIN, gw_api_redemption_delete},
    {GW_M_POST, "/v1/chat/completions", gw_relay_chat, 0, NULL},
    {GW_M_POST, "/pg/chat/completions", NULL, GW_ROLE_USER, pg_chat},
    {GW_M_POST, "/v1/completions", gw_relay_completions, 0, NULL},
    {GW_M_POST, "/v1/embeddings", gw_relay_embeddings, 0, NULL},
    {GW_M_POST, "/v1/moderations", gw_relay_moderations, 0, NULL},
    {GW_M_GET, "/v1/models", gw_relay_models, 0, NULL},
    {GW_M_GET, "/v1/models/*", gw_relay_model_get, 0, NULL},
    {GW_M_GET, "/v1beta/models", gw_relay_models, 0, NULL},
    {GW_M_GET, "/v1beta/models/*", gw_relay_model_get, 0, NULL},
    {GW_M_POST, "/v1/messages/count_tokens", gw_relay_messages_count, 0, NULL},
    {GW_M_POST, "/v1/messages", gw_relay_messages, 0, NULL},
    {GW_M_POST, "/v1/responses", gw_relay_responses, 0, NULL},
    {GW_M_POST, "/v1beta/models/*", gw_relay_gemini, 0, NULL},
    {GW_M_POST, "/v1/models/*", gw_relay_gemini, 0, NULL},
    {GW_M_GET, "/dashboard/billing/subscription", gw_relay_dashboard_billing, 0, NULL},
    {GW_M_GET, "/dashboard/billing/usage", gw_relay_dashboard_billing, 0, NULL},
    {GW_M_GET, "/v1/dashboard/billing/subscription", gw_relay_dashboard_billing, 0, NULL},
    {GW_M_GET, "/v1/dashboard/billing/usage", gw_relay_dashboard_billing, 0, NULL},
    {GW_M_GET | GW_M_DELETE, "/v1/responses/:id", gw_relay_responses_op, 0, NULL},
    {GW_M_POST, "/v1/responses/:id/cancel", gw_relay_responses_op, 0, NULL},
    {GW_M_GET, "/v1/responses/:id/input_items", gw_relay_responses_op, 0, NULL},
    /* Reference relay endpoints whose issue has not landed: 501, not 404. */
    {ALL, "/v1/responses/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/images/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/audio/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/rerank", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/engines/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/edits", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/files/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/fine-tunes/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/fine_tuning/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/assistants/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/threads/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/video/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/videos/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1/models/*", gw_relay_not_implemented, 0, NULL},
    {ALL, "/v1beta/*", gw_relay_not_implemented, 0, NULL},
    {GW_M_GET, "/__test/stats", gw_test_stats, 0, NULL},
    {GW_M_GET, "/__test/routes", gw_test_routes, 0, NULL},
    {GW_M_GET, "/__test/stream", gw_test_stream, 0, NULL},
    {GW_M_GET, "/__test/delay", gw_test_delay, 0, NULL},
    {ALL, "/__test/echo", gw_test_echo, 0, NULL},
};

static const struct gw_ws_route ws_routes[] = {
    {"/v1/realtime", gw_ws_realtime_open, NULL, NULL},
    {"/__test/ws-echo", gw_test_ws_open, gw_test_ws_message, NULL},
};

/* Guarded routes: establish the caller, check the least role, then run the
 * authed handler (gw_api_auth answers 401/403 itself). */
static void guard(gw_req *r, const struct gw_route *route)
{
    if (route->authed == pg_chat) /* a relay route: refusals in OpenAI's shape */
        gw_api_auth_relay(r, route->min_role, route->authed);
    else
        gw_api_auth(r, route->min_role, route->authed);
}

static const struct gw_http_app app = {
    .routes = routes,
    .nroutes = sizeof routes / sizeof routes[0],
    .ws_routes = ws_routes,
    .nws_routes = sizeof ws_routes / sizeof ws_routes[0],
    .admit = gw_ratelimit_ip, /* per-IP limits before any handler */
    .guard = guard,
};

const struct gw_http_app *gw_app(void)
{
    return &app;
}
