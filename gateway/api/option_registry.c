/* The option registry (options.h): every OptionMap key of the reference the
 * gateway knows, with the reference's defaults (common/constants.go,
 * model/option.go InitOptionMap, setting/config ExportAllConfigs), its type
 * and its validation; and the worker's typed views of current values. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "adapters/responses_policy.h"
#include "gateway/api/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/relay/billing.h"
#include "gateway/state/config_watch.h"
#include "gateway/worker.h"

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

/* Serialised once per process and kept for its life; workers only read. */
static void load_builtin_tables(void)
{
    for (size_t i = 0; i < NTABLE; i++) {
        if (table[i].def)
            continue;
        table[i].def = gw_ratios_default_json(table[i].key);
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

/* ---- validation ------------------------------------------------------------ */

static int fail(char *err, size_t errlen, const char *key, const char *why)
{
    snprintf(err, errlen, "invalid value for %s: %s", key, why);
    return GW_EINVAL;
}

/* A number from a JSON number or a numeric string ("12", " 1.5" is refused). */
static int as_number(const json_t *v, double *out)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return GW_OK;
    }
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return isfinite(*out) ? GW_OK : GW_EINVAL;
    }
    if (!json_is_string(v))
        return GW_EINVAL;
    const char *s = json_string_value(v);
    char *end;
    if (!*s || strlen(s) > 64 || (*s != '-' && *s != '+' && (*s < '0' || *s > '9') && *s != '.'))
        return GW_EINVAL;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out) ? GW_OK : GW_EINVAL;
}

static char *fmt_double(double d)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, sizeof buf, "%.17g", d);
    return gw_strdup(buf);
}

static int is_ratio(const json_t *v)
{
    return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
}

static const char *shape_error(const json_t *j, enum gw_opt_shape shape)
{
    const char *k;
    json_t *v, *v2;
    switch (shape) {
    case GW_SHAPE_ANY:
        return NULL;
    case GW_SHAPE_ARRAY:
        return json_is_array(j) ? NULL : "must be a JSON array";
    case GW_SHAPE_OBJECT:
        return json_is_object(j) ? NULL : "must be a JSON object";
    case GW_SHAPE_PORTS: {
        static _Thread_local char why[160]; /* returned: shape_error answers static text */
        struct gw_dest_policy p;
        char *txt = json_dumps(j, JSON_COMPACT);
        int rc = txt ? gw_dest_parse_ports(txt, &p, why, sizeof why) : GW_ENOMEM;
        gw_free(txt);
        return rc == GW_OK ? NULL : rc == GW_ENOMEM ? "out of memory" : why;
    }
    case GW_SHAPE_RESP_POLICY: {
        static _Thread_local char why[1200]; /* returned: as the ports' */
        struct gw_resp_policy *p = NULL;
        char *txt = json_dumps(j, JSON_COMPACT);
        int rc = txt ? gw_resp_policy_parse(txt, &p, why, sizeof why) : GW_ENOMEM;
        gw_free(txt);
        gw_resp_policy_free(p);
        return rc == GW_OK ? NULL : rc == GW_ENOMEM ? "out of memory" : why;
    }
    default:
        break;
    }
    if (!json_is_object(j))
        return "must be a JSON object";
    json_object_foreach((json_t *)j, k, v) {
        if (shape == GW_SHAPE_RATIOS && !is_ratio(v))
            return "every value must be a number >= 0";
        if (shape == GW_SHAPE_STRINGS && !json_is_string(v))
            return "every value must be a string";
        if ((shape == GW_SHAPE_OBJECTS || shape == GW_SHAPE_RATIOS2) && !json_is_object(v))
            return "every value must be a JSON object";
        if (shape == GW_SHAPE_RATIOS2) {
            const char *k2;
            json_object_foreach(v, k2, v2) {
                if (!is_ratio(v2))
                    return "every inner value must be a number >= 0";
            }
        }
    }
    return NULL;
}

static int norm_json(const struct gw_option_def *d, const json_t *value, char **out, char *err,
                     size_t errlen)
{
    char why[160];
    json_t *j;
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        size_t n = json_string_length(value);
        if ((double)n > d->max)
            return fail(err, errlen, d->key, "too long");
        j = gw_json_parse(s, n, 64, why, sizeof why);
        if (!j) {
            snprintf(err, errlen, "invalid value for %s: not valid JSON (%s)", d->key, why);
            return GW_EINVAL;
        }
    } else if (json_is_object(value) || json_is_array(value)) {
        j = json_incref((json_t *)value);
    } else {
        return fail(err, errlen, d->key, "expected JSON text");
    }
    const char *bad = shape_error(j, d->shape);
    if (bad) {
        json_decref(j);
        return fail(err, errlen, d->key, bad);
    }
    /* Keep the admin's own text (the console shows it back as typed). */
    *out = json_is_string(value) ? gw_strdup(json_string_value(value))
                                 : json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j); /* json_dumps allocates through gw_alloc too (gw_json_init) */
    /* Price tables: billing's own rules (duplicate keys, values up to 1e9),
     * or the workers would refuse what the API saved and keep old prices. */
    if (*out && (d->shape == GW_SHAPE_RATIOS || d->shape == GW_SHAPE_RATIOS2) &&
        gw_ratios_check(d->key, *out, why, sizeof why) == GW_EINVAL) {
        gw_free(*out);
        *out = NULL;
        return fail(err, errlen, d->key, why);
    }
    return *out ? GW_OK : GW_ENOMEM;
}

int gw_option_normalize(const struct gw_option_def *d, const json_t *value, char **out,
                        char *err, size_t errlen)
{
    double n;
    *out = NULL;
    if (!d || !value || json_is_null(value))
        return fail(err, errlen, d ? d->key : "option", "value is required");
    switch (d->type) {
    case GW_OPT_BOOL:
        if (json_is_boolean(value))
            *out = gw_strdup(json_is_true(value) ? "true" : "false");
        else if (json_is_string(value) && (strcmp(json_string_value(value), "true") == 0 ||
                                           strcmp(json_string_value(value), "false") == 0))
            *out = gw_strdup(json_string_value(value));
        else
            return fail(err, errlen, d->key, "expected true or false");
        break;
    case GW_OPT_INT:
        if (as_number(value, &n) != GW_OK || n != floor(n))
            return fail(err, errlen, d->key, "expected an integer");
        if (n < d->min || n > d->max) {
            char why[96];
            snprintf(why, sizeof why, "must be between %.0f and %.0f", d->min, d->max);
            return fail(err, errlen, d->key, why);
        }
        *out = gw_malloc(32);
        if (*out)
            snprintf(*out, 32, "%lld", (long long)n);
        break;
    case GW_OPT_FLOAT:
        if (as_number(value, &n) != GW_OK)
            return fail(err, errlen, d->key, "expected a number");
        if (n < d->min || n > d->max) {
            char why[96];
            snprintf(why, sizeof why, "must be between %g and %g", d->min, d->max);
            return fail(err, errlen, d->key, why);
        }
        *out = fmt_double(n);
        break;
    case GW_OPT_STRING:
        if (json_is_string(value)) {
            if ((double)json_string_length(value) > d->max)
                return fail(err, errlen, d->key, "too long");
            if (strlen(json_string_value(value)) != json_string_length(value))
                return fail(err, errlen, d->key, "contains a NUL character");
            *out = gw_strdup(json_string_value(value));
        } else if (json_is_boolean(value)) {
            *out = gw_strdup(json_is_true(value) ? "true" : "false");
        } else if (json_is_integer(value)) {
            *out = gw_malloc(32);
            if (*out)
                snprintf(*out, 32, "%lld", (long long)json_integer_value(value));
        } else if (json_is_real(value)) {
            *out = fmt_double(json_real_value(value));
        } else {
            return fail(err, errlen, d->key, "expected a string");
        }
        break;
    case GW_OPT_JSON:
        return norm_json(d, value, out, err, errlen);
    }
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    return GW_OK;
}

/* ---- the worker's current values ------------------------------------------- */

const char *gw_options_value(struct gw_worker *w, const char *key)
{
    const char *v = w ? gw_cfgwatch_get(w->cfgwatch, key) : NULL;
    return v ? v : gw_option_default(key);
}

int gw_options_bool(struct gw_worker *w, const char *key, int def)
{
    const char *v = gw_options_value(w, key);
    if (!v)
        return def;
    if (strcmp(v, "true") == 0)
        return 1;
    return strcmp(v, "false") == 0 ? 0 : def;
}

long long gw_options_int(struct gw_worker *w, const char *key, long long def)
{
    const char *v = gw_options_value(w, key);
    long long n;
    if (!v || gw_str_to_ll(gw_str_c(v), -9007199254740991LL, 9007199254740991LL, &n) != GW_OK)
        return def;
    return n;
}

double gw_options_float(struct gw_worker *w, const char *key, double def)
{
    const char *v = gw_options_value(w, key);
    char *end;
    if (!v || !*v)
        return def;
    double d = strtod(v, &end);
    return *end == '\0' && isfinite(d) ? d : def;
}
