/* OpenAI and the OpenAI-compatible family: chat/completions, completions,
 * embeddings and moderations pass through in OpenAI's own wire format, so
 * building the request is the channel transforms plus URL and auth, and
 * the response side only reads usage. Per-provider differences are flags of
 * the channel-type row (registry.c). */
#include <string.h>

#include "adapters/adapter_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

#define CLOUDFLARE_GATEWAY "https://gateway.ai.cloudflare.com"

static const char *mode_path(const struct gw_relay_call *call)
{
    if (call->path && *call->path)
        return call->path;
    switch (call->mode) {
    case GW_RELAY_COMPLETIONS:
        return "/v1/completions";
    case GW_RELAY_EMBEDDINGS:
        return "/v1/embeddings";
    case GW_RELAY_MODERATIONS:
        return "/v1/moderations";
    default:
        return "/v1/chat/completions";
    }
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* {base}{path} with the rows' quirks: Custom's base is the whole URL with
 * "{model}"; Perplexity has no /v1 on chat; DeepSeek's completions are FIM
 * at /beta; a Cloudflare AI Gateway base takes the path without /v1. */
static int build_url(const char *base, unsigned flags, int type, const struct gw_relay_call *call,
                     gw_buf *url)
{
    const char *path = mode_path(call), *model = call->upstream_model ? call->upstream_model : "";
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    int rc;

    if (flags & GW_CT_URL_TEMPLATE) {
        for (const char *p = base;;) {
            const char *hit = strstr(p, "{model}");
            if (hit == NULL)
                return gw_buf_appends(url, p);
            rc = gw_buf_append(url, p, (size_t)(hit - p));
            if (rc == GW_OK)
                rc = gw_buf_appends(url, model);
            if (rc != GW_OK)
                return rc;
            p = hit + 7;
        }
    }
    rc = gw_buf_appends(url, base);
    if (rc != GW_OK)
        return rc;
    if ((flags & GW_CT_CHAT_NO_V1) && call->mode == GW_RELAY_CHAT)
        return gw_buf_appends(url, "/chat/completions");
    if ((flags & GW_CT_FIM_BETA) && call->mode == GW_RELAY_COMPLETIONS)
        return gw_buf_appends(url, has_suffix(base, "/beta") ? "/completions" : "/beta/completions");
    if (type == 1 && strncmp(base, CLOUDFLARE_GATEWAY, sizeof CLOUDFLARE_GATEWAY - 1) == 0 &&
        plen >= 3 && memcmp(path, "/v1", 3) == 0) {
        path += 3;
        plen -= 3;
    }
    return gw_buf_append(url, path, plen);
}

static int openai_build(const struct gw_channel *ch, const char *base_url,
                        const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                        size_t errlen)
{
    const struct gw_channel_type *ct = gw_channel_type(ch->type);
    unsigned flags = ct ? ct->flags : 0;
    char auth[8192];
    int rc;

    if (base_url == NULL || *base_url == '\0')
        return gw__err(err, errlen, GW_EINVAL, "channel has no base URL");
    if (call->api_key == NULL)
        return gw__err(err, errlen, GW_EINVAL, "no API key for this attempt");

    gw_buf_reset(&out->url);
    rc = build_url(base_url, flags, ch->type, call, &out->url);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));

    rc = gw__oai_body(ch, ct, call, out, err, errlen);
    if (rc != GW_OK)
        return rc;

    rc = gw__oai_headers(call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    if ((size_t)snprintf(auth, sizeof auth, "Bearer %s", call->api_key) >= sizeof auth)
        return gw__err(err, errlen, GW_ETOOBIG, "API key too long");
    rc = gw_upstream_req_set_header(out, "Authorization", auth);
    if (rc == GW_OK && (flags & GW_CT_ORGANIZATION) && ch->openai_organization &&
        *ch->openai_organization)
        rc = gw_upstream_req_set_header(out, "OpenAI-Organization", ch->openai_organization);
    if (rc == GW_OK && (flags & GW_CT_OPENROUTER))
        rc = gw_upstream_req_set_header(out, "X-OpenRouter-Title", "Token Factory");
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "key or organization holds a line break");
    return gw__oai_finish(ch, call, out, err, errlen);
}

/* ---- responses ---- */

/* A token count in [0, GW_USAGE_TOKENS_MAX]: negative, non-numeric or a
 * real past 9e18 is 0, more is clamped, so that sums of counts cannot overflow. */
static long long num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    long long n = 0;
    if (json_is_integer(v))
        n = json_integer_value(v) > 0 ? (long long)json_integer_value(v) : 0;
    else if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 9e18)
        n = (long long)json_real_value(v); /* 1e300 is garbage: 0, as before */
    return n < GW_USAGE_TOKENS_MAX ? n : GW_USAGE_TOKENS_MAX;
}

/* OpenAI usage (+ DeepSeek's prompt_cache_hit_tokens and new-api's
 * cached_creation_tokens). A usage of zeros is not usage: the reference
 * then counts locally. */
static int read_usage(const json_t *usage, struct gw_usage *u)
{
    const json_t *d = json_object_get(usage, "prompt_tokens_details");
    struct gw_usage t = {0};

    if (!json_is_object(usage))
        return 0;
    t.prompt = num(usage, "prompt_tokens");
    t.completion = num(usage, "completion_tokens");
    t.total = num(usage, "total_tokens");
    t.cached = num(d, "cached_tokens");
    if (t.cached == 0)
        t.cached = num(usage, "prompt_cache_hit_tokens");
    t.cache_write = num(d, "cached_creation_tokens");
    if (t.prompt == 0 && t.completion == 0 && t.total == 0)
        return 0;
    if (t.total == 0)
        t.total = t.prompt + t.completion;
    t.present = 1;
    *u = t;
    return 1;
}

int gw__oai_parse_response(const char *body, size_t len, struct gw_usage *u)
{
    json_t *root;

    memset(u, 0, sizeof *u);
    root = body ? gw_json_parse(body, len, 0, NULL, 0) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_EINVAL;
    }
    read_usage(json_object_get(root, "usage"), u);
    json_decref(root);
    return GW_OK;
}

/* Unicode code points of a UTF-8 string: bytes that do not continue one. */
static size_t code_points(const json_t *s)
{
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    size_t n = 0, len = json_string_length(s);

    for (size_t i = 0; p && i < len; i++)
        n += (p[i] & 0xC0) != 0x80;
    return n;
}

static size_t delivered_chars(const json_t *choices)
{
    size_t n = 0, i, j;
    json_t *c, *tc;

    json_array_foreach(choices, i, c) {
        const json_t *d = json_object_get(c, "delta");
        n += code_points(json_object_get(c, "text"));   /* completions */
        if (!json_is_object(d))
            continue;
        n += code_points(json_object_get(d, "content"));
        n += code_points(json_object_get(d, "reasoning_content"));
        n += code_points(json_object_get(d, "reasoning"));
        json_array_foreach(json_object_get(d, "tool_calls"), j, tc)
            n += code_points(json_object_get(json_object_get(tc, "function"), "arguments"));
    }
    return n;
}

static int has(gw_str s, const char *needle)
{
    return memmem(s.base, s.len, needle, strlen(needle)) != NULL;
}

enum gw_stream_action gw__oai_stream_event(const struct gw_sse_event *ev, int client_wants_usage,
                                           struct gw_usage *u, size_t *delta_chars)
{
    gw_str d = gw_str_trim(ev->data);
    enum gw_stream_action act = GW_STREAM_PASS;
    json_t *root, *choices, *usage;

    if (gw_str_eq(d, GW_STRLIT("[DONE]")))
        return GW_STREAM_DONE;
    if (d.len == 0 || d.base[0] != '{')
        return GW_STREAM_PASS;
    /* Only chunks that can carry text or usage are worth parsing. */
    if (!has(d, "\"usage\"") && !has(d, "\"content\"") && !has(d, "\"text\"") &&
        !has(d, "\"arguments\"") && !has(d, "\"reasoning"))
        return GW_STREAM_PASS;
    root = gw_json_parse(d.base, d.len, 0, NULL, 0);
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_STREAM_PASS;
    }
    choices = json_object_get(root, "choices");
    if (json_is_array(choices) && delta_chars)
        *delta_chars += delivered_chars(choices);
    usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        if (u)
            read_usage(usage, u);
        /* The include_usage chunk: empty choices, just usage. */
        if ((choices == NULL || json_is_null(choices) ||
             (json_is_array(choices) && json_array_size(choices) == 0)) &&
            !client_wants_usage)
            act = GW_STREAM_DROP;
    }
    json_decref(root);
    return act;
}

static void copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return;
    if (len >= cap) /* on a character boundary: the text goes into JSON */
        len = gw_str_utf8_cut((gw_str){src, len}, cap - 1);
    for (size_t i = 0; i < len; i++)   /* one line in logs */
        dst[i] = (src[i] == '\n' || src[i] == '\r' || src[i] == '\0') ? ' ' : src[i];
    dst[len] = '\0';
}

static void copy_json(char *dst, size_t cap, const json_t *v)
{
    char n[32];
    if (json_is_string(v))
        copy(dst, cap, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v)) {
        int w = snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
        copy(dst, cap, n, (size_t)w);
    }
}

int gw__oai_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                        size_t codecap)
{
    json_t *root, *e, *src;
    int rc = GW_EINVAL;

    copy(msg, msgcap, "", 0);
    copy(code, codecap, "", 0);
    if (body == NULL)
        return GW_EINVAL;
    root = gw_json_parse(body, len, 0, NULL, 0);
    e = json_object_get(root, "error");
    src = json_is_object(e) ? e : root;
    if (json_is_string(e)) {
        copy_json(msg, msgcap, e);   /* {"error": "text"} */
        rc = GW_OK;
    } else if (json_is_string(json_object_get(src, "message"))) {
        copy_json(msg, msgcap, json_object_get(src, "message"));
        rc = GW_OK;
    } else if (json_is_string(json_object_get(root, "detail"))) {
        copy_json(msg, msgcap, json_object_get(root, "detail"));
        rc = GW_OK;
    }
    if (rc == GW_OK) {
        copy_json(code, codecap, json_object_get(src, "code"));
        if (code && codecap && code[0] == '\0')
            copy_json(code, codecap, json_object_get(src, "type"));
    } else {
        gw_str t = gw_str_trim((gw_str){body, len});
        copy(msg, msgcap, t.base, t.len);
    }
    json_decref(root);
    return rc;
}

const struct gw_adapter gw_adapter_openai = {
    .name = "openai",
    .build = openai_build,
    .parse_response = gw__oai_parse_response,
    .stream_event = gw__oai_stream_event,
    .parse_error = gw__oai_parse_error,
};
