/* The option registry (options.h): every OptionMap key of the reference the
 * gateway knows, with the reference's defaults (common/constants.go,
 * model/option.go InitOptionMap, setting/config ExportAllConfigs), its type
 * and its validation; and the typed views of a snapshot's current values. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/state/config_watch.h"
#include "gateway/state/options.h"

#define STRMAX (1024.0 * 1024.0) /* HomePageContent may be a whole page */
#define JSONMAX (4.0 * 1024.0 * 1024.0)
#define I64 9007199254740991.0   /* integers stay exact in a double */

#define B(k, d) {k, GW_OPT_BOOL, d, 0, 1, GW_SHAPE_ANY}
#define I(k, d, lo, hi) {k, GW_OPT_INT, d, lo, hi, GW_SHAPE_ANY}
#define F(k, d, lo, hi) {k, GW_OPT_FLOAT, d, lo, hi, GW_SHAPE_ANY}
#define S(k, d) {k, GW_OPT_STRING, d, 0, STRMAX, GW_SHAPE_ANY}
#define J(k, d, shape) {k, GW_OPT_JSON, d, 0, JSONMAX, shape}
/* A price table whose default is billing's built-in table, filled in by
 * load_builtin_tables: the relay prices with that table while the option is
 * unset, so that is what an admin must see and edit. */
#define P(k) J(k, NULL, GW_SHAPE_RATIOS)

static struct gw_option_def table[] = {
    /* sign-in and registration */
    B("RegisterEnabled", "true"),
    B("PasswordLoginEnabled", "true"),
    B("PasswordRegisterEnabled", "true"),
    B("EmailVerificationEnabled", "false"),
    B("EmailDomainRestrictionEnabled", "false"),
    B("EmailAliasRestrictionEnabled", "false"),
    S("EmailDomainWhitelist",
      "gmail.com,163.com,126.com,qq.com,outlook.com,hotmail.com,icloud.com,yahoo.com,foxmail.com"),
    B("GitHubOAuthEnabled", "false"),
    S("GitHubClientId", ""),
    S("GitHubClientSecret", ""),
    B("LinuxDOOAuthEnabled", "false"),
    S("LinuxDOClientId", ""),
    S("LinuxDOClientSecret", ""),
    B("TelegramOAuthEnabled", "false"),
    S("TelegramBotToken", ""),
    S("TelegramBotName", ""),
    B("WeChatAuthEnabled", "false"),
    S("WeChatServerAddress", ""),
    S("WeChatServerToken", ""),
    S("WeChatAccountQRCodeImageURL", ""),
    B("TurnstileCheckEnabled", "false"),
    S("TurnstileSiteKey", ""),
    S("TurnstileSecretKey", ""),
    S("SMTPServer", ""),
    I("SMTPPort", "587", 1, 65535),
    S("SMTPAccount", ""),
    S("SMTPFrom", ""),
    S("SMTPToken", ""),
    B("SMTPSSLEnabled", "false"),
    /* quota */
    I("QuotaForNewUser", "0", 0, I64),
    I("QuotaForInviter", "0", 0, I64),
    I("QuotaForInvitee", "0", 0, I64),
    I("QuotaRemindThreshold", "1000", 0, I64),
    I("PreConsumedQuota", "500", 0, I64),
    F("QuotaPerUnit", "500000", 1e-9, 1e12),
    B("DisplayInCurrencyEnabled", "true"),
    B("DisplayTokenStatEnabled", "true"),
    B("LogConsumeEnabled", "true"),
    /* branding and pages */
    S("SystemName", "Token Factory"), /* the reference: "New API" */
    S("Logo", ""),
    S("Footer", ""),
    S("Notice", ""),
    S("About", ""),
    S("HomePageContent", ""),
    J("HeaderNavModules", "", GW_SHAPE_OBJECT_OR_EMPTY), /* gw_nav_access_parse */
    S("ServerAddress", "http://localhost:3000"),
    S("TopUpLink", ""),
    S("ChatLink", ""),
    S("ChatLink2", ""),
    J("Chats", "[]", GW_SHAPE_ARRAY),
    /* payment */
    S("PayAddress", ""),
    S("CustomCallbackAddress", ""),
    S("EpayId", ""),
    S("EpayKey", ""),
    F("Price", "7.3", 0, 1e9),
    F("USDExchangeRate", "7.3", 0, 1e9),
    I("MinTopUp", "1", 0, I64),
    J("TopupGroupRatio", "{\"default\":1,\"vip\":1,\"svip\":1}", GW_SHAPE_RATIOS),
    J("PayMethods", "[]", GW_SHAPE_ARRAY),
    S("StripeApiSecret", ""),
    S("StripeWebhookSecret", ""),
    S("StripePriceId", ""),
    F("StripeUnitPrice", "8", 0, 1e9),
    I("StripeMinTopUp", "1", 0, I64),
    B("StripePromotionCodesEnabled", "false"),
    /* features */
    B("DrawingEnabled", "true"),
    B("TaskEnabled", "true"),
    B("DataExportEnabled", "true"),
    I("DataExportInterval", "5", 1, 1440),
    S("DataExportDefaultTime", "hour"),
    B("DefaultCollapseSidebar", "false"),
    B("SelfUseModeEnabled", "false"),
    B("DemoSiteEnabled", "false"),
    B("MjNotifyEnabled", "false"),
    B("MjAccountFilterEnabled", "false"),
    B("MjModeClearEnabled", "false"),
    B("MjForwardUrlEnabled", "true"),
    B("MjActionCheckSuccessEnabled", "true"),
    B("CheckSensitiveEnabled", "false"),
    B("CheckSensitiveOnPromptEnabled", "false"),
    B("StopOnSensitiveEnabled", "true"),
    S("SensitiveWords", ""),
    I("StreamCacheQueueLength", "0", 0, 1000000),
    B("DefaultUseAutoGroup", "false"),
    J("AutoGroups", "[]", GW_SHAPE_ARRAY),
    I("FileUploadPermission", "0", 0, 100),
    I("FileDownloadPermission", "0", 0, 100),
    I("ImageUploadPermission", "0", 0, 100),
    I("ImageDownloadPermission", "0", 0, 100),
    S("WorkerUrl", ""),
    S("WorkerValidKey", ""),
    B("WorkerAllowHttpImageRequestEnabled", "false"),
    /* channels and retries */
    I("RetryTimes", "0", 0, 100),
    B("AutomaticDisableChannelEnabled", "false"),
    B("AutomaticEnableChannelEnabled", "false"),
    F("ChannelDisableThreshold", "5", 0, 1e9),
    S("AutomaticDisableKeywords", ""),
    S("AutomaticDisableStatusCodes", "401"),
    S("AutomaticRetryStatusCodes", "100-199,300-399,401-407,409-499,500-503,505-523,525-599"),
    /* model request rate limit (setting/rate_limit.go) */
    B("ModelRequestRateLimitEnabled", "false"),
    I("ModelRequestRateLimitDurationMinutes", "1", 1, 1440),
    I("ModelRequestRateLimitCount", "0", 0, 100000000),
    I("ModelRequestRateLimitSuccessCount", "1000", 1, 100000000),
    J("ModelRequestRateLimitGroup", "{}", GW_SHAPE_OBJECT),
    /* prices: the built-in tables of gateway/relay/billing_defaults.c */
    P("ModelRatio"),
    P("CompletionRatio"),
    P("ModelPrice"),
    P("CacheRatio"),
    P("CreateCacheRatio"),
    P("ImageRatio"),
    P("AudioRatio"),
    P("AudioCompletionRatio"),
    P("GroupRatio"),
    J("GroupGroupRatio", "{\"vip\":{\"edit_this\":0.9}}", GW_SHAPE_RATIOS2),
    J("UserUsableGroups", "{\"default\":\"默认分组\",\"vip\":\"vip分组\"}", GW_SHAPE_STRINGS),
    B("ExposeRatioEnabled", "false"),
    /* dotted settings (setting/config ExportAllConfigs) */
    B("general_setting.ping_interval_enabled", "false"),
    I("general_setting.ping_interval_seconds", "60", 1, 86400),
    S("general_setting.docs_link", ""),
    S("general_setting.quota_display_type", "USD"),
    S("general_setting.custom_currency_symbol", "¤"),
    F("general_setting.custom_currency_exchange_rate", "1", 0, 1e12),
    B("quota_setting.enable_free_model_pre_consume", "true"),
    B("monitor_setting.auto_test_channel_enabled", "false"),
    I("monitor_setting.auto_test_channel_minutes", "10", 1, 100000),
    J("group_ratio_setting.group_special_usable_group",
      "{\"vip\":{\"append_1\":\"vip_special_group_1\",\"-:remove_1\":\"vip_removable_group_1\"}}",
      GW_SHAPE_OBJECTS),
    B("console_setting.api_info_enabled", "true"),
    B("console_setting.uptime_kuma_enabled", "true"),
    B("console_setting.announcements_enabled", "true"),
    B("console_setting.faq_enabled", "true"),
    J("console_setting.api_info", "[]", GW_SHAPE_ARRAY),
    J("console_setting.announcements", "[]", GW_SHAPE_ARRAY),
    J("console_setting.faq", "[]", GW_SHAPE_ARRAY),
    J("console_setting.uptime_kuma_groups", "[]", GW_SHAPE_ARRAY),
    I("token_setting.max_user_tokens", "1000", 1, 1000000),
    /* channel destinations (gateway/core/dest.h; the spirit of the
     * reference's fetch_setting): what admins' channels may connect to */
    B("channel_destination_setting.allow_private_ip", "false"),
    B("channel_destination_setting.allow_link_local", "false"),
    J("channel_destination_setting.allowed_ports", "[]", GW_SHAPE_PORTS),
    /* chat <-> Responses routing (model_setting.GlobalSettings; the second
     * is ours, of the same shape: Responses clients to OpenAI/Azure as chat) */
    J("global.chat_completions_to_responses_policy", "{\"enabled\":false,\"all_channels\":true}",
      GW_SHAPE_RESP_POLICY),
    J("global.responses_to_chat_completions_policy", "{\"enabled\":false,\"all_channels\":true}",
      GW_SHAPE_RESP_POLICY),
    B("checkin_setting.enabled", "false"),
    I("checkin_setting.min_quota", "1000", 0, I64),
    I("checkin_setting.max_quota", "10000", 0, I64),
};

#define NTABLE (sizeof table / sizeof table[0])

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static char *(*builtin)(const char *key);

void gw_option_set_builtin(char *(*fn)(const char *key))
{
    builtin = fn;
}

/* Serialised once per process and kept for its life; workers only read. */
static void load_builtin_tables(void)
{
    for (size_t i = 0; i < NTABLE; i++) {
        if (table[i].def)
            continue;
        if (!builtin) {
            GW_ERROR("option %s: gw_option_set_builtin was not called", table[i].key);
            abort();
        }
        table[i].def = builtin(table[i].key);
        if (!table[i].def) { /* a few KB at startup, or a P() billing does not know */
            GW_ERROR("option %s: no built-in table", table[i].key);
            abort();
        }
    }
}

const struct gw_option_def *gw_option_table(size_t *n)
{
    pthread_once(&builtin_once, load_builtin_tables);
    *n = NTABLE;
    return table;
}

const struct gw_option_def *gw_option_find(const char *key)
{
    pthread_once(&builtin_once, load_builtin_tables);
    for (size_t i = 0; key && i < NTABLE; i++)
        if (strcmp(table[i].key, key) == 0)
            return &table[i];
    return NULL;
}

const char *gw_option_default(const char *key)
{
    const struct gw_option_def *d = gw_option_find(key);
    return d ? d->def : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int gw_option_is_secret(const char *key)
{
    static const char *const sfx[] = {"Token", "Secret", "Key", "secret", "api_key"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
        if (ends_with(key, sfx[i]))
            return 1;
    return 0;
}

/* ---- the worker's current values ------------------------------------------- */

const char *gw_options_value(const struct gw_cfgwatch *cw, const char *key)
{
    const char *v = cw ? gw_cfgwatch_get(cw, key) : NULL;
    return v ? v : gw_option_default(key);
}

int gw_options_bool(const struct gw_cfgwatch *cw, const char *key, int def)
{
    const char *v = gw_options_value(cw, key);
    if (!v)
        return def;
    if (strcmp(v, "true") == 0)
        return 1;
    return strcmp(v, "false") == 0 ? 0 : def;
}

long long gw_options_int(const struct gw_cfgwatch *cw, const char *key, long long def)
{
    const char *v = gw_options_value(cw, key);
    long long n;
    if (!v || gw_str_to_ll(gw_str_c(v), -9007199254740991LL, 9007199254740991LL, &n) != GW_OK)
        return def;
    return n;
}

double gw_options_float(const struct gw_cfgwatch *cw, const char *key, double def)
{
    const char *v = gw_options_value(cw, key);
    char *end;
    if (!v || !*v)
        return def;
    double d = strtod(v, &end);
    return *end == '\0' && isfinite(d) ? d : def;
}

/* ---- HeaderNavModules ----------------------------------------------------------- */

/* One of the accepted boolean forms, else def. */
static int nav_bool(const json_t *v, int def)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_number(v)) {
        double d = json_number_value(v);
        return d == 1 ? 1 : d == 0 ? 0 : def;
    }
    if (!json_is_string(v))
        return def;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
        n--;
    if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && *s == '1'))
        return 1;
    if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && *s == '0'))
        return 0;
    return def;
}

struct gw_nav_access gw_nav_access_parse(const char *raw, const char *module)
{
    struct gw_nav_access a = {1, 0};
    json_t *all = raw && *raw ? gw_json_parse(raw, strlen(raw), 64, NULL, 0) : NULL;
    const json_t *v = json_is_object(all) && module ? json_object_get(all, module) : NULL;
    if (json_is_object(v)) {
        a.enabled = nav_bool(json_object_get(v, "enabled"), a.enabled);
        a.require_auth = nav_bool(json_object_get(v, "requireAuth"), a.require_auth);
    } else if (v) {
        a.enabled = nav_bool(v, a.enabled);
    }
    json_decref(all);
    return a;
}

struct gw_nav_access gw_options_nav_access(const struct gw_cfgwatch *cw, const char *module)
{
    return gw_nav_access_parse(gw_options_value(cw, "HeaderNavModules"), module);
}
