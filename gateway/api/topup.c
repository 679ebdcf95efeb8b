/* The wallet's top-up endpoints (reference controller/topup.go, model/topup.go):
 *
 *  GET /api/user/topup/info   what the wallet page may offer. Online payment
 *                             (Epay, Stripe, Creem, Waffo) is not built here,
 *                             so every enable_* flag is false and pay_methods
 *                             is empty whatever the payment options say;
 *                             redemption codes work (POST /api/user/topup).
 *  GET /api/user/topup/self   the caller's top_ups rows of the last 30 days,
 *                             newest first, paged; ?keyword= matches trade_no
 *                             (the reference's sanitized LIKE).
 *  GET /api/user/topup        (admin) everyone's, no time window.
 *
 * The top_ups table is new-api's; nothing here writes it (only online
 * payments would), so the pages hold the rows an adopted new-api database
 * brought, else none. Redemptions are logged (type 1), not recorded here,
 * as in the reference. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/state/options.h"
#include "gateway/worker.h"

#define WINDOW_S (30LL * 24 * 60 * 60) /* topUpQueryWindowSeconds */
#define KEYWORD_MAX 128

#define TU_COLS                                                                         \
    "id, user_id, amount, money, trade_no, payment_method, payment_provider, create_time, " \
    "complete_time, status"

static const struct gw_col tu_spec[] = {
    {"id", GW_COL_INT},          {"user_id", GW_COL_INT},       {"amount", GW_COL_INT},
    {"money", GW_COL_REAL},      {"create_time", GW_COL_INT},   {"complete_time", GW_COL_INT},
};

void gw_api_topup_info(gw_req *r, const struct gw_caller *who)
{
    const struct gw_cfgwatch *cw = r->worker->cfgwatch;
    const char *link = gw_options_value(cw, "TopUpLink");
    json_t *d = json_pack(
        "{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:n, s:s, s:[], s:I, s:I, s:I, s:I, "
        "s:[i,i,i,i,i,i], s:{}, s:o}",
        "enable_online_topup", 0, "enable_stripe_topup", 0, "enable_creem_topup", 0,
        "enable_waffo_topup", 0, "enable_waffo_pancake_topup", 0,
        "enable_redemption", 1, /* POST /api/user/topup */
        "payment_compliance_confirmed", 0, "payment_compliance_terms_version", "v1",
        "waffo_pay_methods", "creem_products", "[]", "pay_methods",
        "min_topup", (json_int_t)gw_options_int(cw, "MinTopUp", 1),
        "stripe_min_topup", (json_int_t)gw_options_int(cw, "StripeMinTopUp", 1),
        "waffo_min_topup", (json_int_t)1, "waffo_pancake_min_topup", (json_int_t)1,
        "amount_options", 10, 20, 50, 100, 200, 500, /* the reference's defaults */
        "discount", "topup_link", gw_json_text(link ? link : ""));
    if (!d) {
        gw_api_fail(r, "out of memory");
        return;
    }
    gw_api_ok(r, d);
}

struct tu {
    long long uid; /* 0: every user's (admin) */
    long long since;
    char like[2 * KEYWORD_MAX + 2]; /* "" = no keyword */
    struct gw_page pg;
    json_t *data;
};

static json_t *tu_json(const gw_rows *rows, size_t i)
{
    return gw_api_row_json(rows, i, tu_spec, sizeof tu_spec / sizeof tu_spec[0]);
}

static int tu_work(gw_store *st, void *ctx)
{
    struct tu *t = ctx;
    gw_sql_arg a[5];
    size_t na = 0;
    char where[160] = "1 = 1";
    if (t->uid) {
        a[na++] = GW_SQL_INT(t->uid);
        a[na++] = GW_SQL_INT(t->since);
        snprintf(where, sizeof where, "user_id = ? AND create_time >= ?");
    }
    if (t->like[0]) {
        a[na++] = GW_SQL_TEXT(t->like);
        strncat(where, " AND trade_no LIKE ? ESCAPE '!'", sizeof where - strlen(where) - 1);
    }
    return gw_api_page_query(st, &t->pg, "top_ups", TU_COLS, where, a, na, tu_json, &t->data);
}

static void tu_done(gw_req *r, int rc, void *ctx)
{
    struct tu *t = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else {
        gw_api_ok(r, t->data);
        t->data = NULL;
    }
    json_decref(t->data);
    gw_free(t);
}

static void list(gw_req *r, long long uid)
{
    const char *kw = gw_req_query(r, "keyword");
    struct tu *t = gw_calloc(1, sizeof *t);
    if (!t) {
        gw_api_fail(r, "out of memory");
        return;
    }
    t->uid = uid;
    t->since = (long long)time(NULL) - WINDOW_S;
    gw_api_page(r, &t->pg);
    if (kw && *kw) {
        int wildcard = 0;
        const char *err = strlen(kw) > KEYWORD_MAX ? "search text too long"
                                                    : gw_api_like_sanitize(kw, t->like,
                                                                           sizeof t->like,
                                                                           &wildcard);
        if (err) {
            gw_free(t);
            gw_api_fail(r, err);
            return;
        }
    }
    if (gw_api_sql(r, tu_work, tu_done, t) != GW_OK) {
        gw_free(t);
        gw_api_fail(r, "internal error");
    }
}

void gw_api_topup_self(gw_req *r, const struct gw_caller *who) { list(r, who->id); }
void gw_api_topup_all(gw_req *r, const struct gw_caller *who) { list(r, 0); }
