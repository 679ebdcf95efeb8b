/* The OpenAI Responses wire format (adapters/format.h): POST /v1/responses.
 * This file: the client's facts, usage, errors, and non-streamed responses
 * both ways. Requests are in responses_req.c, streams in responses_stream.c.
 *
 * Responses → hub: output_text of the message items is the content, the
 * reasoning items' summary (and reasoning_text) the reasoning_content,
 * function_call items the tool_calls; status "incomplete" is finish_reason
 * length (content_filter when that was the reason).
 * Hub → Responses: one output list in the order the API writes it:
 * reasoning, message, function calls. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/formats/responses_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/buf.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define MAX_TOKENS 100000000LL  /* GW_RELAY_MAX_TOKENS */
#define TEXT_MAX (64u << 20)

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A unix time from a JSON number (0 when absent or out of range). */
static json_int_t unix_time(const json_t *v)
{
    json_int_t t = json_is_integer(v) ? json_integer_value(v)
                   : json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1e12
                       ? (json_int_t)json_real_value(v)
                       : 0;
    return t > 0 && t < 100000000000LL ? t : 0;
}

static int facts(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                 char *msg, size_t msglen)
{
    const json_t *m = json_object_get(body, "model"), *v;
    memset(out, 0, sizeof *out);
    if (!json_is_string(m) || json_string_length(m) == 0) {
        snprintf(msg, msglen, "field 'model' is required and must be a string");
        return GW_EINVAL;
    }
    if (json_string_length(m) >= sizeof out->model) { /* never cut: another model's price */
        snprintf(msg, msglen, "field 'model' is too long (at most 191 bytes)");
        return GW_EINVAL;
    }
    memcpy(out->model, json_string_value(m), json_string_length(m) + 1);
    v = json_object_get(body, "stream");
    if (v && !json_is_boolean(v) && !json_is_null(v)) {
        snprintf(msg, msglen, "field 'stream' must be a boolean");
        return GW_EINVAL;
    }
    out->stream = json_is_true(v) || (pf && pf->stream);
    v = json_object_get(body, "max_output_tokens");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > MAX_TOKENS) {
            snprintf(msg, msglen, "field 'max_output_tokens' is out of range");
            return GW_EINVAL;
        }
        out->max_tokens = (long long)json_integer_value(v);
    }
    v = json_object_get(body, "input");
    if (v && !json_is_null(v) && !json_is_string(v) && !json_is_array(v)) {
        snprintf(msg, msglen, "field 'input' must be a string or a list of items");
        return GW_EINVAL;
    }
    return GW_OK;
}

/* ---- usage ---- */

void gw__resp_usage_read(const json_t *usage, struct gw_usage *u)
{
    const json_t *id = json_object_get(usage, "input_tokens_details");
    const json_t *od = json_object_get(usage, "output_tokens_details");
    memset(u, 0, sizeof *u);
    if (!json_is_object(usage))
        return;
    if (json_object_get(usage, "input_tokens") || json_object_get(usage, "output_tokens")) {
        u->prompt = gw_fmt_count(json_object_get(usage, "input_tokens"));
        u->completion = gw_fmt_count(json_object_get(usage, "output_tokens"));
        u->total = gw_fmt_count(json_object_get(usage, "total_tokens"));
        u->cached = gw_fmt_count(json_object_get(id, "cached_tokens"));
        u->cache_write = gw_fmt_count(json_object_get(id, "cached_creation_tokens"));
        u->image = gw_fmt_count(json_object_get(id, "image_tokens"));
        u->audio_in = gw_fmt_count(json_object_get(id, "audio_tokens"));
        u->text_in = gw_fmt_count(json_object_get(id, "text_tokens"));
        u->reasoning = gw_fmt_count(json_object_get(od, "reasoning_tokens"));
        u->audio_out = gw_fmt_count(json_object_get(od, "audio_tokens"));
        u->text_out = gw_fmt_count(json_object_get(od, "text_tokens"));
    } else { /* a compatible upstream that answers in chat's words */
        gw_fmt_usage_read(usage, u);
        return;
    }
    if (u->prompt == 0 && u->completion == 0 && u->total == 0)
        return; /* zeros are not usage: the relay then estimates */
    if (u->total == 0)
        u->total = u->prompt + u->completion;
    u->present = 1;
}

json_t *gw__resp_usage_json(const struct gw_usage *u)
{
    return json_pack("{s:I, s:{s:I}, s:I, s:{s:I}, s:I}", "input_tokens", (json_int_t)u->prompt,
                     "input_tokens_details", "cached_tokens", (json_int_t)u->cached,
                     "output_tokens", (json_int_t)u->completion, "output_tokens_details",
                     "reasoning_tokens", (json_int_t)u->reasoning, "total_tokens",
                     (json_int_t)(u->total ? u->total : u->prompt + u->completion));
}

static int usage(const char *body, size_t len, struct gw_usage *u)
{
    memset(u, 0, sizeof *u);
    json_t *root = body ? gw_json_parse(body, len, 0, NULL, 0) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_EINVAL;
    }
    gw__resp_usage_read(json_object_get(root, "usage"), u);
    json_decref(root);
    return GW_OK;
}

/* ---- errors: OpenAI's shape ---- */

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

static int parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                       size_t codecap)
{
    gw_fmt_copy_line(msg, msgcap, "", 0);
    gw_fmt_copy_line(code, codecap, "", 0);
    if (!body)
        return GW_EINVAL;
    json_t *root = gw_json_parse(body, len, 0, NULL, 0);
    const json_t *e = json_object_get(root, "error");
    if (!json_is_object(e) && json_is_object(json_object_get(root, "response")))
        e = json_object_get(json_object_get(root, "response"), "error"); /* response.failed */
    const json_t *src = json_is_object(e) ? e : root;
    int rc = GW_EINVAL;
    if (json_is_string(e)) {
        copy_json(msg, msgcap, e);
        rc = GW_OK;
    } else if (json_is_string(json_object_get(src, "message"))) {
        copy_json(msg, msgcap, json_object_get(src, "message"));
        rc = GW_OK;
    }
    if (rc == GW_OK) {
        copy_json(code, codecap, json_object_get(src, "code"));
        if (codecap && code[0] == '\0')
            copy_json(code, codecap, json_object_get(src, "type"));
    } else {
        gw_str t = gw_str_trim((gw_str){body, len});
        gw_fmt_copy_line(msg, msgcap, t.base, t.len);
    }
    json_decref(root);
    return rc;
}

static json_t *error_body(int status, const char *type, const char *code, const char *msg)
{
    (void)status;
    return json_pack("{s:{s:o, s:s, s:n, s:s?}}", "error", "message", gw_json_text(msg), "type",
                     type ? type : "api_error", "param", "code", code && *code ? code : NULL);
}

/* ---- non-streamed responses ---- */

void gw__resp_item_id(char *dst, size_t cap, const char *prefix, const char *base)
{
    char rnd[25];
    const char *tail = base;
    if (tail && (!strncmp(tail, "chatcmpl-", 9) || !strncmp(tail, "resp_", 5) ||
                 !strncmp(tail, "msg_", 4)))
        tail = strchr(tail, tail[0] == 'c' ? '-' : '_') + 1;
    if (!tail || !*tail) {
        if (gw_random_alnum(rnd, 24) != GW_OK)
            snprintf(rnd, sizeof rnd, "0");
        tail = rnd;
    }
    snprintf(dst, cap, "%s_%s", prefix, tail);
}

/* Appends the text of every part of type `type` in parts. */
static int join_text(gw_buf *b, const json_t *parts, const char *type)
{
    const json_t *p;
    size_t i;
    json_array_foreach(parts, i, p) {
        const json_t *t = json_object_get(p, "text");
        const char *ty = str(p, "type");
        if (ty && !strcmp(ty, type) && json_is_string(t) &&
            gw_buf_append(b, json_string_value(t), json_string_length(t)) != GW_OK)
            return GW_ETOOBIG;
    }
    return GW_OK;
}

/* The refusal parts of a Responses message ({"type":"refusal","refusal":s}). */
static int join_refusal(gw_buf *b, const json_t *parts)
{
    const json_t *p;
    size_t i;
    json_array_foreach(parts, i, p) {
        const json_t *t = json_object_get(p, "refusal");
        const char *ty = str(p, "type");
        if (ty && !strcmp(ty, "refusal") && json_is_string(t) &&
            gw_buf_append(b, json_string_value(t), json_string_length(t)) != GW_OK)
            return GW_ETOOBIG;
    }
    return GW_OK;
}

static json_t *buf_json(const gw_buf *b)
{
    return json_stringn(b->base ? b->base : "", b->len);
}

static int resp_to_hub(const json_t *resp, json_t **hub)
{
    const json_t *output = json_object_get(resp, "output"), *it;
    const char *status = str(resp, "status");
    gw_buf text, think, refusal;
    json_t *tcs = json_array(), *msg = NULL;
    struct gw_usage u;
    size_t i;
    int rc = GW_OK;

    *hub = NULL;
    if (!json_is_array(output) || !tcs) {
        json_decref(tcs);
        return GW_EINVAL;
    }
    gw_buf_init(&text, TEXT_MAX);
    gw_buf_init(&think, TEXT_MAX);
    gw_buf_init(&refusal, TEXT_MAX);
    json_array_foreach(output, i, it) {
        const char *ty = str(it, "type");
        if (!ty)
            continue;
        if (!strcmp(ty, "message") &&
            (rc = join_text(&text, json_object_get(it, "content"), "output_text")) == GW_OK)
            rc = join_refusal(&refusal, json_object_get(it, "content"));
        else if (!strcmp(ty, "reasoning") &&
                 (rc = join_text(&think, json_object_get(it, "summary"), "summary_text")) ==
                     GW_OK)
            rc = join_text(&think, json_object_get(it, "content"), "reasoning_text");
        else if (!strcmp(ty, "function_call") && str(it, "name")) {
            const char *id = str(it, "call_id") ? str(it, "call_id") : str(it, "id");
            const json_t *a = json_object_get(it, "arguments");
            if (json_array_append_new(tcs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id",
                                                     id ? id : "", "type", "function",
                                                     "function", "name", str(it, "name"),
                                                     "arguments",
                                                     json_is_string(a) ? json_string_value(a)
                                                                       : "")))
                rc = GW_ENOMEM;
        }
        if (rc != GW_OK)
            break;
    }
    const char *finish = "stop";
    if (status && !strcmp(status, "incomplete")) {
        const char *why = str(json_object_get(resp, "incomplete_details"), "reason");
        finish = why && !strcmp(why, "content_filter") ? "content_filter" : "length";
    } else if (json_array_size(tcs)) {
        finish = "tool_calls";
    }
    if (rc == GW_OK)
        msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
                        text.len || (!json_array_size(tcs) && !refusal.len) ? buf_json(&text)
                                                                           : json_null());
    if (msg && refusal.len)
        json_object_set_new(msg, "refusal", buf_json(&refusal));
    gw_buf_free(&refusal);
    if (msg && think.len)
        json_object_set_new(msg, "reasoning_content", buf_json(&think));
    if (msg && json_array_size(tcs))
        json_object_set(msg, "tool_calls", tcs);
    gw_buf_free(&text);
    gw_buf_free(&think);
    json_decref(tcs);
    if (!msg)
        return rc ? rc : GW_ENOMEM;
    gw__resp_usage_read(json_object_get(resp, "usage"), &u);
    json_t *h = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s}]}", "id",
                          str(resp, "id") ? str(resp, "id") : "", "object", "chat.completion",
                          "created", unix_time(json_object_get(resp, "created_at")),
                          "model", str(resp, "model") ? str(resp, "model") : "", "choices",
                          "index", 0, "message", msg, "finish_reason", finish);
    if (h && u.present)
        json_object_set_new(h, "usage", gw_fmt_usage_json(&u));
    *hub = h;
    return h ? GW_OK : GW_ENOMEM;
}

static int add_output(json_t *out, json_t *item)
{
    return item && !json_array_append_new(out, item) ? GW_OK : GW_ENOMEM;
}

static int resp_from_hub(const json_t *hub, const char *model, json_t **out)
{
    const json_t *ch = json_array_get(json_object_get(hub, "choices"), 0);
    const json_t *m = json_object_get(ch, "message"), *tc;
    const char *finish = str(ch, "finish_reason"), *base = str(hub, "id");
    const char *status = "completed";
    char id[96], iid[112];
    json_t *output = json_array(), *details = json_null();
    struct gw_usage u;
    size_t i;
    int rc = GW_OK;

    *out = NULL;
    if (!output)
        return GW_ENOMEM;
    gw__resp_item_id(id, sizeof id, "resp", base);
    if (finish && (!strcmp(finish, "length") || !strcmp(finish, "content_filter"))) {
        status = "incomplete";
        details = json_pack("{s:s}", "reason",
                            !strcmp(finish, "length") ? "max_output_tokens" : "content_filter");
    }
    const json_t *rc_txt = json_object_get(m, "reasoning_content");
    if (!json_is_string(rc_txt) || !json_string_length(rc_txt))
        rc_txt = json_object_get(m, "reasoning");
    if (json_is_string(rc_txt) && json_string_length(rc_txt)) {
        gw__resp_item_id(iid, sizeof iid, "rs", id);
        rc = add_output(output, json_pack("{s:s, s:s, s:[{s:s, s:O}]}", "id", iid, "type",
                                          "reasoning", "summary", "type", "summary_text", "text",
                                          rc_txt));
    }
    const json_t *c = json_object_get(m, "content");
    gw_buf text;
    gw_buf_init(&text, TEXT_MAX);
    if (json_is_string(c))
        rc = rc ? rc : gw_buf_append(&text, json_string_value(c), json_string_length(c));
    else if (json_is_array(c))
        rc = rc ? rc : join_text(&text, c, "text");
    const json_t *refusal = json_object_get(m, "refusal");
    if (!json_is_string(refusal) || !json_string_length(refusal))
        refusal = NULL;
    if (rc == GW_OK && (text.len || refusal)) {
        /* the answer text, then the refusal (chat's message.refusal) */
        json_t *parts = json_array();
        if (!parts)
            rc = GW_ENOMEM;
        if (rc == GW_OK && text.len)
            rc = add_output(parts, json_pack("{s:s, s:o, s:[]}", "type", "output_text", "text",
                                             buf_json(&text), "annotations"));
        if (rc == GW_OK && refusal)
            rc = add_output(parts, json_pack("{s:s, s:O}", "type", "refusal", "refusal", refusal));
        gw__resp_item_id(iid, sizeof iid, "msg", id);
        if (rc == GW_OK)
            rc = add_output(output, json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", iid, "type",
                                              "message", "status", status, "role", "assistant",
                                              "content", parts));
        json_decref(parts);
    }
    gw_buf_free(&text);
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        const char *cid = str(tc, "id"), *args = str(fn, "arguments");
        char fid[160];
        if (rc != GW_OK)
            break;
        snprintf(fid, sizeof fid, "fc_%s_%zu", id + 5, i);
        rc = add_output(output, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", fid, "type",
                                          "function_call", "status", "completed", "call_id",
                                          cid && *cid ? cid : fid, "name",
                                          str(fn, "name") ? str(fn, "name") : "", "arguments",
                                          args ? args : ""));
    }
    gw_fmt_usage_read(json_object_get(hub, "usage"), &u);
    json_int_t created = unix_time(json_object_get(hub, "created"));
    if (created == 0)
        created = (json_int_t)time(NULL);
    json_t *r = rc ? NULL
                   : json_pack("{s:s, s:s, s:I, s:s, s:n, s:o, s:s, s:o, s:b, s:s, s:[]}", "id",
                               id, "object", "response", "created_at", created, "status", status,
                               "error", "incomplete_details", details, "model",
                               model ? model : "", "output", output, "parallel_tool_calls", 1,
                               "tool_choice", "auto", "tools");
    if (!r) {
        if (rc)
            json_decref(output), json_decref(details);
        return rc ? rc : GW_ENOMEM;
    }
    json_object_set_new(r, "usage", gw__resp_usage_json(&u));
    *out = r;
    return GW_OK;
}

const struct gw_format gw_format_responses = {
    .wire = GW_WIRE_RESPONSES,
    .name = "responses",
    .facts = facts,
    .req_to_hub = gw__resp_req_to_hub,
    .req_from_hub = gw__resp_req_from_hub,
    .resp_to_hub = resp_to_hub,
    .resp_from_hub = resp_from_hub,
    .usage = usage,
    .parse_error = parse_error,
    .decode = gw__resp_decode,
    .encode = gw__resp_encode,
    .stream_free = gw__resp_stream_free,
    .error_body = error_body,
    .stream_error = gw__resp_stream_error,
};
