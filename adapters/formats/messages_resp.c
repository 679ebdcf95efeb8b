/* The Anthropic Messages wire format, response side: message ↔ hub
 * chat.completion, usage, error shapes, and the stream transcoder
 * (Claude SSE events ↔ struct gw_ev).
 *
 * Usage: Claude's input_tokens counts neither cache reads nor cache writes;
 * the hub's prompt_tokens counts both, so prompt = input + cache_read +
 * cache_creation and back. A stream splits usage over message_start (input,
 * cache) and message_delta (output, and in newer API versions the input
 * counts again): the decoder keeps both and always emits the merge. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/formats/messages_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static int is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static const char *str_or(const json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* ---- stop reasons and usage ---- */

const char *gw__msg_finish_of(const char *stop)
{
    if (stop == NULL)
        return NULL;
    if (strcmp(stop, "end_turn") == 0 || strcmp(stop, "stop_sequence") == 0 ||
        strcmp(stop, "pause_turn") == 0)
        return "stop";
    if (strcmp(stop, "max_tokens") == 0 || strcmp(stop, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop, "tool_use") == 0)
        return "tool_calls";
    if (strcmp(stop, "refusal") == 0)
        return "content_filter";
    return "stop";
}

const char *gw__msg_stop_of(const char *finish)
{
    if (finish == NULL)
        return "end_turn";
    if (strcmp(finish, "length") == 0)
        return "max_tokens";
    if (strcmp(finish, "tool_calls") == 0 || strcmp(finish, "function_call") == 0)
        return "tool_use";
    if (strcmp(finish, "content_filter") == 0)
        return "refusal";
    return "end_turn";
}

/* Fields of one Claude usage object into u; only the fields present count,
 * so that message_delta's partial usage merges over message_start's. */
static void usage_merge(const json_t *usage, struct gw_usage *u, long long *input)
{
    const json_t *v, *cc = json_object_get(usage, "cache_creation");
    long long in = *input + 0;

    if (!json_is_object(usage))
        return;
    if ((v = json_object_get(usage, "input_tokens")) && json_is_number(v))
        in = gw_fmt_count(v);
    if ((v = json_object_get(usage, "output_tokens")) && json_is_number(v))
        u->completion = gw_fmt_count(v);
    if ((v = json_object_get(usage, "cache_read_input_tokens")) && json_is_number(v))
        u->cached = gw_fmt_count(v);
    if ((v = json_object_get(usage, "cache_creation_input_tokens")) && json_is_number(v))
        u->cache_write = gw_fmt_count(v);
    if (json_is_object(cc)) {
        long long h1 = gw_fmt_count(json_object_get(cc, "ephemeral_1h_input_tokens"));
        long long m5 = gw_fmt_count(json_object_get(cc, "ephemeral_5m_input_tokens"));
        u->cache_write_1h = h1;
        if (u->cache_write < h1 + m5) /* the split is the truth when larger */
            u->cache_write = h1 + m5;
    }
    if (u->cache_write_1h > u->cache_write)
        u->cache_write_1h = u->cache_write;
    *input = in;
    u->prompt = in + u->cached + u->cache_write;
    if (u->prompt > GW_USAGE_TOKENS_MAX)
        u->prompt = GW_USAGE_TOKENS_MAX;
    u->total = u->prompt + u->completion;
    u->present = u->prompt > 0 || u->completion > 0;
}

void gw__msg_usage_read(const json_t *usage, struct gw_usage *u)
{
    long long in = 0;
    memset(u, 0, sizeof *u);
    usage_merge(usage, u, &in);
}

json_t *gw__msg_usage_json(const struct gw_usage *u)
{
    long long in = u->prompt - u->cached - u->cache_write;
    json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", (json_int_t)(in > 0 ? in : 0),
                          "cache_creation_input_tokens", (json_int_t)u->cache_write,
                          "cache_read_input_tokens", (json_int_t)u->cached, "output_tokens",
                          (json_int_t)u->completion);
    if (j && u->cache_write > 0)
        json_object_set_new(j, "cache_creation",
                            json_pack("{s:I, s:I}", "ephemeral_5m_input_tokens",
                                      (json_int_t)(u->cache_write - u->cache_write_1h),
                                      "ephemeral_1h_input_tokens", (json_int_t)u->cache_write_1h));
    return j;
}

int gw__msg_usage(const char *body, size_t len, struct gw_usage *u)
{
    return gw_fmt_body_usage(body, len, "usage", gw__msg_usage_read, u);
}

/* ---- non-streamed responses ---- */

int gw__msg_resp_to_hub(const json_t *resp, json_t **hub)
{
    const json_t *content = json_object_get(resp, "content"), *b;
    gw_buf text, reasoning;
    size_t i;
    struct gw_usage u;

    *hub = NULL;
    if (!json_is_object(resp) || !json_is_array(content))
        return GW_EINVAL;
    json_t *msg = json_pack("{s:s}", "role", "assistant"), *calls = json_array(),
           *thinking = json_array();
    gw_buf_init(&text, 64u << 20);
    gw_buf_init(&reasoning, 64u << 20);
    json_array_foreach(content, i, b) {
        const json_t *type = json_object_get(b, "type");
        if (is(type, "text")) {
            const json_t *t = json_object_get(b, "text");
            gw_buf_append(&text, json_string_value(t), json_string_length(t));
        } else if (is(type, "thinking")) {
            const json_t *t = json_object_get(b, "thinking");
            gw_buf_append(&reasoning, json_string_value(t), json_string_length(t));
            json_array_append_new(thinking, json_pack("{s:s, s:s}", "thinking", str_or(t, ""),
                                                      "signature",
                                                      str_or(json_object_get(b, "signature"), "")));
        } else if (is(type, "redacted_thinking") && json_is_string(json_object_get(b, "data"))) {
            json_array_append_new(thinking, json_pack("{s:O}", "redacted", json_object_get(b, "data")));
        } else if (is(type, "tool_use")) {
            const json_t *in = json_object_get(b, "input");
            char *args = in ? json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id",
                                                   str_or(json_object_get(b, "id"), ""), "type",
                                                   "function", "function", "name",
                                                   str_or(json_object_get(b, "name"), ""),
                                                   "arguments", args ? args : "{}"));
            gw_free(args);
        }
    }
    json_object_set_new(msg, "content", text.len || json_array_size(calls) == 0
                                            ? json_stringn(text.base ? text.base : "", text.len)
                                            : json_null());
    if (reasoning.len)
        json_object_set_new(msg, "reasoning_content", json_stringn(reasoning.base, reasoning.len));
    if (json_array_size(thinking))
        json_object_set(msg, "gw_thinking", thinking);
    if (json_array_size(calls))
        json_object_set(msg, "tool_calls", calls);
    gw_buf_free(&text);
    gw_buf_free(&reasoning);
    json_decref(calls);
    json_decref(thinking);

    const char *finish = gw__msg_finish_of(json_string_value(json_object_get(resp, "stop_reason")));
    gw__msg_usage_read(json_object_get(resp, "usage"), &u);
    json_t *h = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s?}], s:o}", "id",
                          str_or(json_object_get(resp, "id"), ""), "object", "chat.completion",
                          "created", (json_int_t)time(NULL), "model",
                          str_or(json_object_get(resp, "model"), ""), "choices", "index", 0,
                          "message", msg, "finish_reason", finish, "usage",
                          gw_fmt_usage_json(&u));
    if (h == NULL)
        return GW_ENOMEM;
    *hub = h;
    return GW_OK;
}

int gw__msg_resp_from_hub(const json_t *hub, const char *model, json_t **out)
{
    const json_t *ch = json_array_get(json_object_get(hub, "choices"), 0);
    const json_t *m = json_object_get(ch, "message"), *c = json_object_get(m, "content"), *t;
    const json_t *rc = json_object_get(m, "reasoning_content");
    size_t i;
    struct gw_usage u;

    *out = NULL;
    if (!json_is_object(hub) || !json_is_object(m))
        return GW_EINVAL;
    json_t *blocks = json_array();
    if (json_array_size(json_object_get(m, "gw_thinking"))) {
        json_array_foreach(json_object_get(m, "gw_thinking"), i, t) {
            if (json_is_string(json_object_get(t, "redacted")))
                json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "redacted_thinking",
                                                        "data", json_object_get(t, "redacted")));
            else
                json_array_append_new(blocks, json_pack("{s:s, s:s, s:s}", "type", "thinking",
                                                        "thinking", str_or(json_object_get(t, "thinking"), ""),
                                                        "signature",
                                                        str_or(json_object_get(t, "signature"), "")));
        }
    } else if (json_is_string(rc) && json_string_length(rc)) {
        json_array_append_new(blocks, json_pack("{s:s, s:O, s:s}", "type", "thinking", "thinking",
                                                rc, "signature", ""));
    }
    if (json_is_string(c) && json_string_length(c)) {
        json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "text", "text", c));
    } else if (json_is_array(c)) {
        json_array_foreach(c, i, t) {
            const json_t *tx = json_object_get(t, "text");
            if (json_is_string(tx) && json_string_length(tx))
                json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "text", "text", tx));
        }
    }
    json_array_foreach(json_object_get(m, "tool_calls"), i, t) {
        const json_t *fn = json_object_get(t, "function");
        const char *args = str_or(json_object_get(fn, "arguments"), "");
        json_t *input = *args ? gw_json_parse(args, strlen(args), 0, NULL, 0) : NULL;
        if (!json_is_object(input)) {
            json_decref(input);
            input = json_object();
        }
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                                str_or(json_object_get(t, "id"), ""), "name",
                                                str_or(json_object_get(fn, "name"), ""), "input",
                                                input));
    }
    gw_fmt_usage_read(json_object_get(hub, "usage"), &u);
    const char *id = str_or(json_object_get(hub, "id"), "");
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:o}", "id", *id ? id : "msg_gateway",
                          "type", "message", "role", "assistant", "model", model ? model : "",
                          "content", blocks, "stop_reason",
                          gw__msg_stop_of(json_string_value(json_object_get(ch, "finish_reason"))),
                          "stop_sequence", "usage", gw__msg_usage_json(&u));
    if (r == NULL)
        return GW_ENOMEM;
    *out = r;
    return GW_OK;
}

/* ---- errors ---- */

static void copy_str(char *dst, size_t cap, const json_t *v)
{
    if (json_is_string(v))
        gw_fmt_copy_line(dst, cap, json_string_value(v), json_string_length(v));
}

int gw__msg_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                        size_t codecap)
{
    json_t *root, *e;
    int rc = GW_EINVAL;

    gw_fmt_copy_line(msg, msgcap, "", 0);
    gw_fmt_copy_line(code, codecap, "", 0);
    if (body == NULL)
        return GW_EINVAL;
    root = gw_json_parse(body, len, 0, NULL, 0);
    e = json_object_get(root, "error");
    if (json_is_object(e) && json_is_string(json_object_get(e, "message"))) {
        /* Claude's {"type":"error","error":{"type","message"}}, and the
         * OpenAI shape that Claude-compatible upstreams send */
        copy_str(msg, msgcap, json_object_get(e, "message"));
        copy_str(code, codecap, json_object_get(e, "code"));
        if (codecap && code[0] == '\0')
            copy_str(code, codecap, json_object_get(e, "type"));
        rc = GW_OK;
    } else if (json_is_string(e)) {
        copy_str(msg, msgcap, e);
        rc = GW_OK;
    } else if (json_is_string(json_object_get(root, "message"))) {
        copy_str(msg, msgcap, json_object_get(root, "message"));
        rc = GW_OK;
    } else {
        gw_str t = gw_str_trim((gw_str){body, len});
        gw_fmt_copy_line(msg, msgcap, t.base, t.len);
    }
    json_decref(root);
    return rc;
}

/* Anthropic's error types by HTTP status (its errors page). */
static const char *error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

json_t *gw__msg_error_body(int status, const char *type, const char *code, const char *msg)
{
    (void)type;
    (void)code;
    return json_pack("{s:s, s:{s:s, s:o}}", "type", "error", "error", "type", error_type(status),
                     "message", gw_json_text(msg ? msg : ""));
}

/* An OpenAI-style type → Anthropic's (streams carry no status). */
static const char *stream_error_type(const char *type)
{
    static const char *const known[] = {
        "invalid_request_error", "authentication_error", "billing_error", "permission_error",
        "not_found_error", "request_too_large", "rate_limit_error", "api_error",
        "overloaded_error", "timeout_error",
    };
    for (size_t i = 0; type && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(type, known[i]) == 0)
            return known[i];
    if (type && (strstr(type, "quota") || strstr(type, "budget")))
        return "billing_error";
    return "api_error";
}

/* ---- streams ---- */

enum { B_NONE = 0, B_TEXT, B_THINKING, B_TOOL, B_OTHER };

struct dec {
    struct gw_usage u;
    long long input;  /* Claude input_tokens, without the cache counts */
    int kind;         /* the current content block's kind */
    int tool;         /* its tool index when B_TOOL */
    int ntools;
};

#define MAX_TOOL_BLOCKS 64
struct enc {
    struct gw_usage u;
    int started, done, has_usage;
    int open;         /* kind of the open block, B_NONE when none */
    int cur;          /* index of the open block */
    int next;         /* index of the next block */
    int tool;         /* hub tool index of the open tool block */
    int ntools;       /* tool calls started */
    const char *stop; /* static string: Claude stop_reason */
    short tool_block[MAX_TOOL_BLOCKS]; /* hub tool index → block index + 1 */
};

_Static_assert(sizeof(struct dec) <= GW_STREAM_STATE_MAX, "decoder state too big");
_Static_assert(sizeof(struct enc) <= GW_STREAM_STATE_MAX, "encoder state too big");

static gw_str sv(const json_t *v)
{
    return json_is_string(v) ? (gw_str){json_string_value(v), json_string_length(v)}
                             : (gw_str){"", 0};
}

static int emit_kind(gw_ev_cb emit, void *ctx, enum gw_ev_kind kind, int index, const json_t *text)
{
    struct gw_ev e = {.kind = kind, .index = index, .text = sv(text)};
    return emit(&e, ctx);
}

static int dec_event(struct dec *d, const json_t *j, gw_ev_cb emit, void *ctx, int *action)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    int rc = 0;

    if (type == NULL)
        return 0;
    if (strcmp(type, "message_start") == 0) {
        const json_t *m = json_object_get(j, "message");
        struct gw_ev e = {.kind = GW_EV_START, .id = sv(json_object_get(m, "id")),
                          .name = sv(json_object_get(m, "model"))};
        rc = emit(&e, ctx);
        usage_merge(json_object_get(m, "usage"), &d->u, &d->input);
        if (rc == 0 && d->u.present) {
            struct gw_ev ue = {.kind = GW_EV_USAGE, .usage = &d->u};
            rc = emit(&ue, ctx);
        }
    } else if (strcmp(type, "content_block_start") == 0) {
        const json_t *b = json_object_get(j, "content_block");
        const json_t *bt = json_object_get(b, "type");
        d->kind = B_OTHER;
        if (is(bt, "text")) {
            d->kind = B_TEXT;
            if (json_string_length(json_object_get(b, "text")))
                rc = emit_kind(emit, ctx, GW_EV_TEXT, 0, json_object_get(b, "text"));
        } else if (is(bt, "thinking")) {
            d->kind = B_THINKING;
            if (json_string_length(json_object_get(b, "thinking")))
                rc = emit_kind(emit, ctx, GW_EV_REASONING, 0, json_object_get(b, "thinking"));
        } else if (is(bt, "tool_use")) {
            struct gw_ev e = {.kind = GW_EV_TOOL_START, .index = d->ntools,
                              .id = sv(json_object_get(b, "id")),
                              .name = sv(json_object_get(b, "name"))};
            d->kind = B_TOOL;
            d->tool = d->ntools++;
            rc = emit(&e, ctx);
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        const json_t *dl = json_object_get(j, "delta"), *dt = json_object_get(dl, "type");
        if (is(dt, "text_delta"))
            rc = emit_kind(emit, ctx, GW_EV_TEXT, 0, json_object_get(dl, "text"));
        else if (is(dt, "thinking_delta"))
            rc = emit_kind(emit, ctx, GW_EV_REASONING, 0, json_object_get(dl, "thinking"));
        else if (is(dt, "signature_delta"))
            rc = emit_kind(emit, ctx, GW_EV_SIGNATURE, 0, json_object_get(dl, "signature"));
        else if (is(dt, "input_json_delta") && d->kind == B_TOOL)
            rc = emit_kind(emit, ctx, GW_EV_TOOL_ARGS, d->tool, json_object_get(dl, "partial_json"));
    } else if (strcmp(type, "content_block_stop") == 0) {
        d->kind = B_NONE;
    } else if (strcmp(type, "message_delta") == 0) {
        const char *stop = json_string_value(json_object_get(json_object_get(j, "delta"), "stop_reason"));
        if (stop) {
            struct gw_ev e = {.kind = GW_EV_FINISH, .finish = gw__msg_finish_of(stop)};
            rc = emit(&e, ctx);
        }
        usage_merge(json_object_get(j, "usage"), &d->u, &d->input);
        if (rc == 0 && d->u.present && json_is_object(json_object_get(j, "usage"))) {
            struct gw_ev ue = {.kind = GW_EV_USAGE, .usage = &d->u};
            rc = emit(&ue, ctx);
        }
    } else if (strcmp(type, "message_stop") == 0) {
        struct gw_ev e = {.kind = GW_EV_END};
        *action = GW_DEC_DONE;
        rc = emit(&e, ctx);
    } else if (strcmp(type, "error") == 0) {
        const json_t *err = json_object_get(j, "error");
        struct gw_ev e = {.kind = GW_EV_ERROR, .text = sv(json_object_get(err, "message")),
                          .name = sv(json_object_get(err, "type"))};
        *action = GW_DEC_DONE;
        rc = emit(&e, ctx);
    }
    return rc;
}

int gw__msg_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                   gw_ev_cb emit, void *ctx)
{
    struct dec *d = (struct dec *)st->bytes;
    gw_str data = gw_str_trim(ev->data);
    int action = GW_DEC_PASS;

    (void)client_usage;
    if (data.len == 0 || data.base[0] != '{')
        return GW_DEC_PASS;
    json_t *j = gw_json_parse(data.base, data.len, 0, NULL, 0);
    if (!json_is_object(j)) {
        json_decref(j);
        return GW_DEC_PASS;
    }
    int rc = dec_event(d, j, emit, ctx, &action);
    json_decref(j);
    return rc ? rc : action;
}

struct meter {
    struct gw_usage *u;
    size_t *chars;
};

static int on_meter(const struct gw_ev *ev, void *ctx)
{
    struct meter *m = ctx;
    if (ev->kind == GW_EV_USAGE && ev->usage && m->u)
        *m->u = *ev->usage;
    else if ((ev->kind == GW_EV_TEXT || ev->kind == GW_EV_REASONING ||
              ev->kind == GW_EV_TOOL_ARGS) && m->chars)
        *m->chars += gw_fmt_code_points(ev->text);
    return 0;
}

int gw__msg_meter(const struct gw_sse_event *ev, struct gw_usage *u, size_t *chars)
{
    struct gw_stream_state st;
    struct dec *d = (struct dec *)st.bytes;
    struct meter m = {u, chars};

    memset(&st, 0, sizeof st);
    if (u) {
        d->u = *u;
        d->input = u->prompt - u->cached - u->cache_write;
        if (d->input < 0)
            d->input = 0;
    }
    d->kind = B_TOOL; /* tool arguments count whatever block they are in */
    return gw__msg_decode(&st, ev, 0, on_meter, &m);
}

/* Dumps j as event `name` and releases it. */
static int send(gw_out_cb out, void *ctx, const char *name, json_t *j)
{
    if (j == NULL)
        return GW_ENOMEM;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        return GW_ENOMEM;
    int rc = out(name, s, strlen(s), ctx);
    gw_free(s);
    return rc;
}

static int enc_start(struct enc *e, const struct gw_ev *ev, const char *model, gw_out_cb out,
                     void *ctx)
{
    char id[160] = "msg_gateway";
    struct gw_usage zero = {0};

    if (e->started)
        return 0;
    e->started = 1;
    if (ev && ev->kind == GW_EV_START && ev->id.len > 0 && ev->id.len < sizeof id) {
        memcpy(id, ev->id.base, ev->id.len);
        id[ev->id.len] = '\0';
    }
    json_t *u = gw__msg_usage_json(e->has_usage ? &e->u : &zero);
    return send(out, ctx, "message_start",
                json_pack("{s:s, s:{s:o, s:s, s:s, s:s, s:[], s:n, s:n, s:o}}", "type",
                          "message_start", "message", "id", gw_json_text(id), "type", "message",
                          "role", "assistant", "model", model ? model : "", "content",
                          "stop_reason", "stop_sequence", "usage", u));
}

static int enc_close(struct enc *e, gw_out_cb out, void *ctx)
{
    if (e->open == B_NONE)
        return 0;
    e->open = B_NONE;
    return send(out, ctx, "content_block_stop",
                json_pack("{s:s, s:i}", "type", "content_block_stop", "index", e->cur));
}

/* Makes sure a block of kind is open (a tool block: for hub tool `tool`). */
static int enc_open(struct enc *e, int kind, const struct gw_ev *ev, gw_out_cb out, void *ctx)
{
    json_t *cb;
    int rc;

    if (e->open == kind && (kind != B_TOOL || e->tool == ev->index))
        return 0;
    if ((rc = enc_close(e, out, ctx)) != 0)
        return rc;
    if (kind == B_TEXT)
        cb = json_pack("{s:s, s:s}", "type", "text", "text", "");
    else if (kind == B_THINKING)
        cb = json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "", "signature", "");
    else
        cb = json_pack("{s:s, s:o, s:o, s:{}}", "type", "tool_use", "id", gw_json_strn(ev->id),
                       "name", gw_json_strn(ev->name), "input");
    e->open = kind;
    e->cur = e->next++;
    if (kind == B_TOOL) {
        e->tool = ev->index;
        if (ev->index >= 0 && ev->index < MAX_TOOL_BLOCKS)
            e->tool_block[ev->index] = (short)(e->cur + 1);
    }
    return send(out, ctx, "content_block_start",
                json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index", e->cur,
                          "content_block", cb));
}

static int enc_delta(struct enc *e, int index, const char *type, const char *field, gw_str text,
                     gw_out_cb out, void *ctx)
{
    (void)e;
    return send(out, ctx, "content_block_delta",
                json_pack("{s:s, s:i, s:{s:s, s:o}}", "type", "content_block_delta", "index",
                          index, "delta", "type", type, field, gw_json_strn(text)));
}

static int enc_end(struct enc *e, gw_out_cb out, void *ctx)
{
    int rc = enc_close(e, out, ctx);
    const char *stop = e->stop ? e->stop : e->ntools ? "tool_use" : "end_turn";
    struct gw_usage zero = {0};

    e->done = 1;
    if (rc == 0)
        rc = send(out, ctx, "message_delta",
                  json_pack("{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta",
                            "stop_reason", stop, "stop_sequence", "usage",
                            gw__msg_usage_json(e->has_usage ? &e->u : &zero)));
    if (rc == 0)
        rc = send(out, ctx, "message_stop", json_pack("{s:s}", "type", "message_stop"));
    return rc;
}

int gw__msg_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                   gw_out_cb out, void *ctx)
{
    struct enc *e = (struct enc *)st->bytes;
    int rc = 0;

    if (e->done)
        return 0;
    if (ev->kind == GW_EV_USAGE) { /* kept for message_delta */
        if (ev->usage) {
            e->u = *ev->usage;
            e->has_usage = 1;
        }
        return 0;
    }
    if (ev->kind == GW_EV_FINISH) {
        e->stop = gw__msg_stop_of(ev->finish);
        return 0;
    }
    if ((rc = enc_start(e, ev, model, out, ctx)) != 0 || ev->kind == GW_EV_START)
        return rc;
    switch (ev->kind) {
    case GW_EV_TEXT:
        if (ev->text.len == 0)
            return 0;
        if ((rc = enc_open(e, B_TEXT, ev, out, ctx)) == 0)
            rc = enc_delta(e, e->cur, "text_delta", "text", ev->text, out, ctx);
        return rc;
    case GW_EV_REASONING:
        if (ev->text.len == 0)
            return 0;
        if ((rc = enc_open(e, B_THINKING, ev, out, ctx)) == 0)
            rc = enc_delta(e, e->cur, "thinking_delta", "thinking", ev->text, out, ctx);
        return rc;
    case GW_EV_SIGNATURE:
        if ((rc = enc_open(e, B_THINKING, ev, out, ctx)) == 0)
            rc = enc_delta(e, e->cur, "signature_delta", "signature", ev->text, out, ctx);
        return rc;
    case GW_EV_TOOL_START:
        e->ntools++;
        return enc_open(e, B_TOOL, ev, out, ctx);
    case GW_EV_TOOL_ARGS: {
        int idx = e->open == B_TOOL && e->tool == ev->index ? e->cur
                  : ev->index >= 0 && ev->index < MAX_TOOL_BLOCKS && e->tool_block[ev->index]
                      ? e->tool_block[ev->index] - 1
                      : -1;
        if (idx < 0) { /* arguments of a call never started: start it nameless */
            e->ntools++;
            if ((rc = enc_open(e, B_TOOL, ev, out, ctx)) != 0)
                return rc;
            idx = e->cur;
        }
        return ev->text.len ? enc_delta(e, idx, "input_json_delta", "partial_json", ev->text, out, ctx)
                            : 0;
    }
    case GW_EV_ERROR: {
        char m[1024];
        gw_fmt_copy_line(m, sizeof m, ev->text.base ? ev->text.base : "", ev->text.len);
        char t[64];
        gw_fmt_copy_line(t, sizeof t, ev->name.base ? ev->name.base : "", ev->name.len);
        return gw__msg_stream_error(st, t, NULL, m, out, ctx);
    }
    case GW_EV_END:
        return enc_end(e, out, ctx);
    default:
        return 0;
    }
}

int gw__msg_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                         const char *msg, gw_out_cb out, void *ctx)
{
    struct enc *e = (struct enc *)st->bytes;

    (void)code;
    e->done = 1;
    return send(out, ctx, "error",
                json_pack("{s:s, s:{s:s, s:o}}", "type", "error", "error", "type",
                          stream_error_type(type), "message", gw_json_text(msg ? msg : "")));
}
