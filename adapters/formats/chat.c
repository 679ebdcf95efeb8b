/* The OpenAI chat completions wire format (adapters/format.h), which is also
 * the hub's own shape: its hub conversions are a copy plus the cleaning of
 * the hub's "gw_" extensions. The stream side lives in chat_stream.c. */
#include <stdio.h>
#include <string.h>

#include "adapters/formats/chat_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

/* ---- inbound: the client's request ---------------------------------------------- */

static int refuse(char *msg, size_t msglen, const char *text)
{
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return GW_EINVAL;
}

int gw__chat_facts(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                   char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    if (msglen)
        msg[0] = '\0';
    if (!json_is_object(body))
        return refuse(msg, msglen, "invalid JSON body: expected an object");
    const json_t *model = json_object_get(body, "model");
    if (pf && pf->model) {
        if (!*pf->model)
            return refuse(msg, msglen, "field 'model' is required and must be a string");
        if (strlen(pf->model) >= sizeof out->model)
            return refuse(msg, msglen, "field 'model' is too long (at most 191 bytes)");
        snprintf(out->model, sizeof out->model, "%s", pf->model);
    } else if (!json_is_string(model) || !json_string_length(model)) {
        return refuse(msg, msglen, "field 'model' is required and must be a string");
    } else if (json_string_length(model) >= sizeof out->model) {
        /* Never cut: a cut name could be routed and billed as another model. */
        return refuse(msg, msglen, "field 'model' is too long (at most 191 bytes)");
    } else {
        snprintf(out->model, sizeof out->model, "%s", json_string_value(model));
    }
    const json_t *st = json_object_get(body, "stream");
    if (st && !json_is_boolean(st))
        return refuse(msg, msglen, "field 'stream' must be a boolean");
    out->stream = json_is_true(st) || (pf && pf->stream);
    out->client_usage =
        json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
    long long mt = 0, mct = 0;
    gw_json_get_int(body, "max_tokens", &mt);
    gw_json_get_int(body, "max_completion_tokens", &mct);
    out->max_tokens = mt > mct ? mt : mct;
    if (out->max_tokens < 0 || out->max_tokens > GW_FMT_MAX_TOKENS)
        return refuse(msg, msglen, "field 'max_tokens' is out of range");
    return GW_OK;
}

/* ---- the hub ----------------------------------------------------------------------- */

static int chat_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                           char *msg, size_t msglen)
{
    (void)pf;
    *hub = NULL;
    if (!json_is_object(body))
        return refuse(msg, msglen, "invalid JSON body: expected an object");
    *hub = json_deep_copy(body);
    return *hub ? GW_OK : GW_ENOMEM;
}

/* Removes every "gw_*" key of o (an object; anything else is left alone),
 * and key `also` when not NULL. */
static void strip(json_t *o, const char *also)
{
    const char *k;
    json_t *v;
    void *tmp;
    if (!json_is_object(o))
        return;
    json_object_foreach_safe(o, tmp, k, v) {
        if (strncmp(k, "gw_", 3) == 0 || (also && strcmp(k, also) == 0))
            json_object_del(o, k);
    }
}

/* reasoning_content goes up only on assistant turns, as a non-empty string:
 * the OpenAI-compatible reasoners (DeepSeek, Kimi) want the thinking of an
 * earlier tool-call turn back, and the reference's message struct sends it
 * when set (omitempty); anywhere else it is noise a strict upstream refuses. */
static void clean_message(json_t *m)
{
    size_t i;
    json_t *part;
    const json_t *rc;
    if (!json_is_object(m))
        return;
    strip(m, NULL);
    rc = json_object_get(m, "reasoning_content");
    if (rc && (!json_is_string(rc) || json_string_length(rc) == 0 ||
               !json_is_string(json_object_get(m, "role")) ||
               strcmp(json_string_value(json_object_get(m, "role")), "assistant") != 0))
        json_object_del(m, "reasoning_content");
    json_array_foreach(json_object_get(m, "content"), i, part) {
        strip(part, "cache_control");
        if (json_is_string(json_object_get(part, "type")) &&
            strcmp(json_string_value(json_object_get(part, "type")), "file") == 0)
            gw_fmt_file_name(json_object_get(part, "file"));
    }
}

int gw__chat_clean_request(json_t *req)
{
    size_t i;
    json_t *v;
    strip(req, NULL);
    json_array_foreach(json_object_get(req, "messages"), i, v)
        clean_message(v);
    json_array_foreach(json_object_get(req, "tools"), i, v) {
        strip(v, "cache_control");
        strip(json_object_get(v, "function"), "cache_control");
    }
    return GW_OK;
}

static int chat_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                             char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    *out = NULL;
    if (!json_is_object(hub))
        return refuse(msg, msglen, "invalid request: expected an object");
    json_t *r = json_deep_copy(hub);
    if (!r)
        return GW_ENOMEM;
    gw__chat_clean_request(r);
    int bad = 0;
    if (o->upstream_model)
        bad |= json_object_set_new(r, "model", json_string(o->upstream_model));
    if (o->stream)
        bad |= json_object_set_new(r, "stream", json_true());
    else
        json_object_del(r, "stream");
    if (o->stream && o->include_usage)
        bad |= json_object_set_new(r, "stream_options", json_pack("{s:b}", "include_usage", 1));
    else
        json_object_del(r, "stream_options");
    if (bad) {
        json_decref(r);
        return GW_ENOMEM;
    }
    *out = r;
    return GW_OK;
}

static int chat_resp_to_hub(const json_t *resp, json_t **hub)
{
    *hub = NULL;
    if (!json_is_object(resp))
        return GW_EINVAL;
    *hub = json_deep_copy(resp);
    return *hub ? GW_OK : GW_ENOMEM;
}

/* The hub response as a chat client sees it: the client's model, and none
 * of the hub's "gw_" extensions (top level, choices, messages, usage). */
static int chat_resp_from_hub(const json_t *hub, const char *model, json_t **out)
{
    size_t i;
    json_t *c;
    *out = NULL;
    if (!json_is_object(hub))
        return GW_EINVAL;
    json_t *r = json_deep_copy(hub);
    if (!r)
        return GW_ENOMEM;
    strip(r, NULL);
    json_array_foreach(json_object_get(r, "choices"), i, c) {
        strip(c, NULL);
        strip(json_object_get(c, "message"), NULL);
    }
    json_t *u = json_object_get(r, "usage");
    strip(u, NULL);
    strip(json_object_get(u, "prompt_tokens_details"), NULL);
    strip(json_object_get(u, "completion_tokens_details"), NULL);
    if (model && json_object_set_new(r, "model", json_string(model)) != 0) {
        json_decref(r);
        return GW_ENOMEM;
    }
    *out = r;
    return GW_OK;
}

/* ---- upstream: usage and errors --------------------------------------------------- */

void gw__chat_read_usage(const json_t *usage, struct gw_usage *u)
{
    gw_fmt_usage_read(usage, u);
    if (!u->present) /* zeros are not usage: nothing half-read either */
        memset(u, 0, sizeof *u);
}

int gw__chat_usage(const char *body, size_t len, struct gw_usage *u)
{
    json_t *root;

    memset(u, 0, sizeof *u);
    root = body ? gw_json_parse(body, len, 0, NULL, 0) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_EINVAL;
    }
    gw__chat_read_usage(json_object_get(root, "usage"), u);
    json_decref(root);
    return GW_OK;
}

static void copy_json(char *dst, size_t cap, const json_t *v)
{
    char n[32];
    if (json_is_string(v)) {
        gw_fmt_copy_line(dst, cap, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        int w = snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
        gw_fmt_copy_line(dst, cap, n, (size_t)w);
    }
}

/* {"error":{"message","code"|"type"}}, {"error":"text","code":..}, a top-level
 * "message" (some compatible providers) or FastAPI's "detail". */
int gw__chat_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                         size_t codecap)
{
    json_t *root, *e, *src;
    int rc = GW_EINVAL;

    gw_fmt_copy_line(msg, msgcap, "", 0);
    gw_fmt_copy_line(code, codecap, "", 0);
    if (body == NULL)
        return GW_EINVAL;
    root = gw_json_parse(body, len, 0, NULL, 0);
    e = json_object_get(root, "error");
    src = json_is_object(e) ? e : root;
    if (json_is_string(e)) {
        copy_json(msg, msgcap, e);
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
        gw_fmt_copy_line(msg, msgcap, t.base, t.len);
    }
    json_decref(root);
    return rc;
}

/* ---- inbound: errors for the client ------------------------------------------------ */

static json_t *chat_error_body(int status, const char *type, const char *code, const char *msg)
{
    (void)status;
    return json_pack("{s:{s:o, s:s, s:s, s:s*}}", "error", "message", gw_json_text(msg), "type",
                     type ? type : "new_api_error", "param", "", "code", code);
}

const struct gw_format gw_format_chat = {
    .wire = GW_WIRE_CHAT,
    .name = "chat",
    .facts = gw__chat_facts,
    .req_to_hub = chat_req_to_hub,
    .req_from_hub = chat_req_from_hub,
    .resp_to_hub = chat_resp_to_hub,
    .resp_from_hub = chat_resp_from_hub,
    .usage = gw__chat_usage,
    .parse_error = gw__chat_parse_error,
    .decode = gw__chat_decode,
    .encode = gw__chat_encode,
    .stream_free = NULL,
    .error_body = chat_error_body,
    .stream_error = gw__chat_stream_error,
};
