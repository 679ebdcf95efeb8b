/* GET /api/channel/test/:id and /api/channel/test (reference
 * controller/channel-test.go): the admin's view of the relay's channel tests
 * (gateway/relay/channel_test.h). */
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/channel_test.h"

/* The request is held until the test ends: a client that left gets no
 * answer, but the test still runs and is recorded. */
static void answer(const struct gw_channel_test_result *res, void *data)
{
    gw_req *r = data;
    if (res && gw_req_alive(r)) {
        json_t *j = json_pack("{s:b, s:o, s:f}", "success", res->ok, "message",
                              gw_json_text(res->message), "time", (double)res->ms / 1000.0);
        gw_resp_json(r, 200, j);
        json_decref(j);
    }
    gw_req_unref(r);
}

void gw_api_channel_test(gw_req *r, const struct gw_caller *who)
{
    long long id = 0;
    char err[128];
    if (r->nparams < 1 || gw_str_to_ll(r->params[0], 1, (long long)1 << 53, &id) != GW_OK) {
        gw_api_fail(r, "invalid channel id");
        return;
    }
    gw_req_ref(r);
    if (gw_channel_test(r->worker, id, gw_req_query(r, "model"), answer, r, err, sizeof err) !=
        GW_OK) {
        gw_api_fail(r, err);
        gw_req_unref(r);
    }
}

void gw_api_channel_test_all(gw_req *r, const struct gw_caller *who)
{
    long long n = gw_channel_test_all(r->worker);
    gw_api_ok_msg(r, "", json_pack("{s:I}", "started", (json_int_t)n));
}
