/* param_override (adapters/override.c) alone and inside the whole request
 * build of every adapter (adapter table → build(): model, stream_options,
 * system prompt, disabled fields, param_override, header_override, proxy).
 * Input: byte 0 picks the channel type and call flags, then segments
 * separated by a blank line: param_override JSON, the client's body JSON,
 * header_override JSON, setting JSON (later ones optional).
 * Checks: known result codes, err NUL-terminated, the body stays a JSON
 * object that serialises (no cycle from move/copy), the legacy form merges
 * every key, and a successful build() gives a JSON object body and headers
 * and URL without CR, LF or NUL. */
#include "tests/fuzz/fuzz.h"
#include <curl/curl.h>
#include "adapters/adapter.h"
#include "adapters/adapter_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

#define FUZZ_MAX_INPUT (32u << 10)

static const int types[] = {1, 3, 4, 14 /* anything the table lacks */, 20, 25, 43};

static json_t *obj_or_null(const uint8_t *p, size_t n)
{
    json_t *j = n ? gw_json_parse((const char *)p, n, 0, NULL, 0) : NULL;
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static void each_header(void *ctx, gw_header_visit_cb visit, void *data)
{
    (void)ctx;
    if (visit("User-Agent", "fuzz/1.0", data) == 0 && visit("X-Trace-Id", "t-1", data) == 0)
        visit("Authorization", "Bearer sk-client", data);
}

static int known(int rc)
{
    return rc == GW_OK || rc == GW_EINVAL || rc == GW_ENOTSUP || rc == GW_ETOOBIG;
}

static void check_override(const json_t *ov, const json_t *body0, const char *path, int test)
{
    if (!body0)
        return;
    json_t *body = json_deep_copy(body0);
    char err[256];
    memset(err, 'x', sizeof err);
    struct gw_override_ctx ctx = {"gpt-4o-2024-08-06", "gpt-4o", path, test};
    int rc = gw__param_override(body, ov, &ctx, err, sizeof err);
    FUZZ_CHECK(known(rc));
    if (rc != GW_OK)
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    FUZZ_CHECK(json_is_object(body));
    char *s = json_dumps(body, JSON_COMPACT);
    FUZZ_CHECK(s != NULL); /* no cycle, valid strings */
    free(s);
    if (rc == GW_OK && json_is_object(ov) && !json_is_array(json_object_get(ov, "operations"))) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ov, k, v)
            FUZZ_CHECK(json_equal(json_object_get(body, k), v));
    }
    json_decref(body);
}

static void check_build(const struct gw_channel *ch, const struct gw_relay_call *call0,
                        const json_t *body0)
{
    const struct gw_channel_type *ct = gw_channel_type(ch->type);
    if (!ct || !ct->adapter || !body0)
        return;
    struct gw_relay_call call = *call0;
    call.body = json_deep_copy(body0);
    struct gw_upstream_req q;
    gw_upstream_req_init(&q);
    char base[512], err[256];
    memset(err, 'x', sizeof err);
    const char *b = gw_channel_base_url(ch, ct, base, sizeof base);
    int rc = ct->adapter->build(ch, b ? b : "", &call, &q, err, sizeof err);
    FUZZ_CHECK(known(rc));
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL || rc == GW_OK);
    if (rc == GW_OK) {
        json_t *sent = gw_json_parse(q.body.base, q.body.len, 0, NULL, 0);
        FUZZ_CHECK(json_is_object(sent));
        json_decref(sent);
        FUZZ_CHECK(q.url.len > 0 && !memchr(q.url.base, '\r', q.url.len) &&
                   !memchr(q.url.base, '\n', q.url.len) && !memchr(q.url.base, '\0', q.url.len));
        for (struct curl_slist *h = q.headers; h; h = h->next)
            FUZZ_CHECK(!strpbrk(h->data, "\r\n"));
        FUZZ_CHECK(q.proxy.len == 0 || !memchr(q.proxy.base, '\n', q.proxy.len));
    }
    gw_upstream_req_free(&q);
    gw_upstream_req_free(&q); /* documented as harmless */
    json_decref(call.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    uint8_t f = data[0];
    const uint8_t *seg[4] = {0}, *rest = data + 1;
    size_t segn[4] = {0}, restn = size - 1;
    for (int i = 0; i < 4; i++) {
        const uint8_t *b;
        size_t bn;
        fuzz_split(rest, restn, "\n\n", &seg[i], &segn[i], &b, &bn);
        rest = b;
        restn = bn;
    }
    json_t *ov = obj_or_null(seg[0], segn[0]);
    json_t *body = obj_or_null(seg[1], segn[1]);
    json_t *ho = obj_or_null(seg[2], segn[2]);
    json_t *setting = obj_or_null(seg[3], segn[3]);
    static const char *const paths[] = {"/v1/chat/completions", "/v1/completions",
                                        "/v1/embeddings", "/v1/moderations"};

    check_override(ov, body, paths[f & 3], (f >> 2) & 1);

    char empty[] = "", other[] = "2024-10-21", org[] = "org-fuzz";
    struct gw_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.id = 7;
    ch.type = types[(f >> 3) % (sizeof types / sizeof types[0])];
    ch.base_url = (f & 0x40) ? empty : (char *)"http://127.0.0.1:9";
    ch.other = (f & 0x80) ? other : empty;
    ch.openai_organization = org;
    ch.param_override = ov;
    ch.header_override = ho;
    ch.setting = setting;
    ch.settings = setting;
    struct gw_relay_call call = {
        .mode = (enum gw_relay_mode)(1 + (f & 3)),
        .path = paths[f & 3],
        .model = "gpt-4o",
        .upstream_model = (f & 0x20) ? "gpt-4o-2024-08-06" : "",
        .stream = (f >> 2) & 1,
        .inject_usage = (f >> 4) & 1,
        .api_key = "sk-fuzz-key",
        .client_headers = (f & 0x10) ? each_header : NULL,
        .is_channel_test = (f >> 5) & 1,
    };
    check_build(&ch, &call, body);

    json_decref(ov);
    json_decref(body);
    json_decref(ho);
    json_decref(setting);
    return 0;
}
