/* The chat format's stream side (adapters/format.h): chat.completion.chunk
 * SSE events (no event names, "[DONE]" at the end) decoded into hub events,
 * hub events encoded into them, and the mid-stream error. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/formats/chat_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

/* ---- decode ------------------------------------------------------------------------ */

#define TOOL_SLOTS 256 /* tool call indexes whose start is remembered */

struct dec {
    int started, finished;
    unsigned char tools[TOOL_SLOTS / 8];
    struct gw_usage usage; /* the last non-zero usage (chat chunks carry it whole) */
};
_Static_assert(sizeof(struct dec) <= GW_STREAM_STATE_MAX, "chat decoder state");

static gw_str jstr(const json_t *v)
{
    return json_is_string(v) ? (gw_str){json_string_value(v), json_string_length(v)}
                             : (gw_str){"", 0};
}

static const char *finish_word(const char *f)
{
    static const char *const known[] = {"stop", "length", "tool_calls", "content_filter"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(f, known[i]) == 0)
            return known[i];
    if (strcmp(f, "function_call") == 0) /* the legacy name of a tool call */
        return "tool_calls";
    return "stop";
}

#define EMIT(...)                                                                                 \
    do {                                                                                          \
        struct gw_ev e_ = {__VA_ARGS__};                                                          \
        int r_ = emit(&e_, ctx);                                                                  \
        if (r_ != 0)                                                                              \
            return r_;                                                                            \
    } while (0)

static int dec_tools(struct dec *s, const json_t *calls, gw_ev_cb emit, void *ctx)
{
    size_t j;
    json_t *tc;
    json_array_foreach(calls, j, tc) {
        const json_t *fn = json_object_get(tc, "function"), *ix = json_object_get(tc, "index");
        long long idx = json_is_integer(ix) ? (long long)json_integer_value(ix) : (long long)j;
        if (!json_is_object(tc) || idx < 0 || idx > 1000000)
            continue;
        gw_str id = jstr(json_object_get(tc, "id")), name = jstr(json_object_get(fn, "name"));
        gw_str args = jstr(json_object_get(fn, "arguments"));
        int tracked = idx < TOOL_SLOTS;
        int seen = tracked && (s->tools[idx / 8] >> (idx % 8) & 1);
        /* a call starts at its first chunk (id and name); arguments for a
         * call never announced start it too, nameless */
        if (!seen && (id.len || name.len || (tracked && args.len))) {
            if (tracked)
                s->tools[idx / 8] |= (unsigned char)(1u << (idx % 8));
            EMIT(.kind = GW_EV_TOOL_START, .index = (int)idx, .id = id, .name = name);
        }
        if (args.len)
            EMIT(.kind = GW_EV_TOOL_ARGS, .index = (int)idx, .text = args);
    }
    return 0;
}

static int dec_choice(struct dec *s, const json_t *c, gw_ev_cb emit, void *ctx)
{
    const json_t *d = json_object_get(c, "delta"), *fr = json_object_get(c, "finish_reason");
    gw_str t = jstr(json_object_get(c, "text")); /* completions */
    if (t.len)
        EMIT(.kind = GW_EV_TEXT, .text = t);
    if (json_is_object(d)) {
        /* some servers send both names with the same text: one is the thinking */
        t = jstr(json_object_get(d, "reasoning_content"));
        if (!t.len)
            t = jstr(json_object_get(d, "reasoning"));
        if (t.len)
            EMIT(.kind = GW_EV_REASONING, .text = t);
        t = jstr(json_object_get(d, "content"));
        if (t.len)
            EMIT(.kind = GW_EV_TEXT, .text = t);
        /* the model's refusal is its answer: text for the other formats */
        t = jstr(json_object_get(d, "refusal"));
        if (t.len)
            EMIT(.kind = GW_EV_TEXT, .text = t);
        int rc = dec_tools(s, json_object_get(d, "tool_calls"), emit, ctx);
        if (rc)
            return rc;
    }
    if (json_is_string(fr) && json_string_length(fr) && !s->finished) {
        s->finished = 1;
        EMIT(.kind = GW_EV_FINISH, .finish = finish_word(json_string_value(fr)));
    }
    return 0;
}

static int dec_chunk(struct dec *s, const json_t *root, int client_usage, gw_ev_cb emit, void *ctx)
{
    const json_t *err = json_object_get(root, "error"), *choices, *usage;
    size_t i;
    json_t *c;

    if (err && !json_is_null(err)) { /* {"error": {...}} or {"error": "text"} mid-stream */
        const json_t *m = json_is_object(err) ? json_object_get(err, "message") : err;
        const json_t *ty = json_object_get(err, "type");
        EMIT(.kind = GW_EV_ERROR, .text = jstr(m),
             .name = jstr(json_is_string(ty) ? ty : json_object_get(err, "code")));
        return GW_DEC_PASS;
    }
    if (!s->started) {
        s->started = 1;
        EMIT(.kind = GW_EV_START, .id = jstr(json_object_get(root, "id")),
             .name = jstr(json_object_get(root, "model")));
    }
    choices = json_object_get(root, "choices");
    json_array_foreach(choices, i, c) {
        int rc = dec_choice(s, c, emit, ctx);
        if (rc)
            return rc;
    }
    usage = json_object_get(root, "usage");
    if (!json_is_object(usage))
        return GW_DEC_PASS;
    struct gw_usage u;
    gw__chat_read_usage(usage, &u);
    if (u.present) {
        s->usage = u;
        EMIT(.kind = GW_EV_USAGE, .usage = &s->usage);
    }
    /* the include_usage chunk (choices [] or null) the client did not ask for */
    if (!client_usage && (choices == NULL || json_is_null(choices) ||
                          (json_is_array(choices) && json_array_size(choices) == 0)))
        return GW_DEC_DROP;
    return GW_DEC_PASS;
}

/* No pre-filter on the raw bytes: the first chunk (START), the finish_reason
 * chunk and tool call names matter as much as text and usage, and a
 * substring test cannot see "\u0063ontent" or "finish_reason": null. */
int gw__chat_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                    gw_ev_cb emit, void *ctx)
{
    struct dec *s = (struct dec *)st->bytes;
    gw_str d = gw_str_trim(ev->data);

    if (gw_str_eq(d, GW_STRLIT("[DONE]"))) {
        EMIT(.kind = GW_EV_END);
        return GW_DEC_DONE;
    }
    if (d.len == 0 || d.base[0] != '{')
        return GW_DEC_PASS;
    json_t *root = gw_json_parse(d.base, d.len, 0, NULL, 0);
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_DEC_PASS;
    }
    int rc = dec_chunk(s, root, client_usage, emit, ctx);
    json_decref(root);
    return rc;
}

/* ---- encode ------------------------------------------------------------------------ */

struct enc {
    char id[48];         /* "chatcmpl-" + 29 characters, made at the first output */
    long long created;   /* unix seconds of the first output */
    int started, finished, ended, has_usage;
    struct gw_usage usage;
};
_Static_assert(sizeof(struct enc) <= GW_STREAM_STATE_MAX, "chat encoder state");

#define BUDGET_CUT_MSG                                                                            \
    "quota exhausted during the stream: the response was cut and billed for what was delivered"

/* A JSON string of s: exactly s when it is valid UTF-8, else repaired. */
static json_t *jtext(gw_str s)
{
    json_t *j = json_stringn(s.base ? s.base : "", s.len);
    if (j || s.len == 0)
        return j;
    char *t = gw_malloc(s.len + 1);
    if (!t)
        return NULL;
    memcpy(t, s.base, s.len);
    t[s.len] = '\0';
    j = json_string(gw_str_utf8_fix(t)); /* a NUL inside cut it short: still valid */
    gw_free(t);
    return j;
}

static void ensure_id(struct enc *s)
{
    char r[30];
    if (s->id[0])
        return;
    if (gw_random_alnum(r, sizeof r - 1) != GW_OK)
        snprintf(r, sizeof r, "%lld", (long long)time(NULL));
    snprintf(s->id, sizeof s->id, "chatcmpl-%s", r);
    s->created = (long long)time(NULL);
}

static int send_json(json_t *j, gw_out_cb out, void *ctx)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return GW_ENOMEM;
    int rc = out(NULL, text, strlen(text), ctx);
    gw_free(text);
    return rc;
}

/* One chunk: choices [{index 0, delta, finish_reason}], or usage with
 * choices [] when delta is NULL. Takes delta and usage. */
static int send_chunk(struct enc *s, const char *model, json_t *delta, const char *finish,
                      json_t *usage, gw_out_cb out, void *ctx)
{
    ensure_id(s);
    json_t *choices = json_array();
    if (delta)
        json_array_append_new(choices, json_pack("{s:i, s:o, s:s?}", "index", 0, "delta", delta,
                                                 "finish_reason", finish));
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:o}", "id", s->id, "object",
                          "chat.completion.chunk", "created", (json_int_t)s->created, "model",
                          model ? model : "", "choices", choices);
    if (j && usage)
        json_object_set_new(j, "usage", usage);
    else
        json_decref(usage);
    if (j && delta && json_array_size(choices) != 1) { /* the choice did not build */
        json_decref(j);
        j = NULL;
    }
    return send_json(j, out, ctx);
}

static int begin(struct enc *s, const char *model, gw_out_cb out, void *ctx)
{
    if (s->started)
        return 0;
    s->started = 1;
    return send_chunk(s, model, json_pack("{s:s, s:s}", "role", "assistant", "content", ""),
                      NULL, NULL, out, ctx);
}

static json_t *tool_delta(const struct gw_ev *ev)
{
    json_t *fn, *tc;
    if (ev->kind == GW_EV_TOOL_START) {
        char gen[40] = "call_";
        json_t *id = ev->id.len ? jtext(ev->id) : NULL;
        if (!ev->id.len) { /* chat clients join a call's chunks by its id */
            if (gw_random_alnum(gen + 5, 24) != GW_OK)
                snprintf(gen + 5, sizeof gen - 5, "%d", ev->index);
            id = json_string(gen);
        }
        fn = json_pack("{s:o, s:s}", "name", jtext(ev->name), "arguments", "");
        tc = json_pack("{s:i, s:o, s:s, s:o}", "index", ev->index, "id", id, "type", "function",
                       "function", fn);
    } else {
        fn = json_pack("{s:o}", "arguments", jtext(ev->text));
        tc = json_pack("{s:i, s:o}", "index", ev->index, "function", fn);
    }
    return tc ? json_pack("{s:[o]}", "tool_calls", tc) : NULL;
}

static int end(struct enc *s, const char *model, gw_out_cb out, void *ctx)
{
    if (s->ended)
        return 0;
    s->ended = 1;
    if (s->has_usage) { /* always: new-api gives converted chat clients their usage */
        json_t *u = gw_fmt_usage_json(&s->usage);
        if (!u)
            return GW_ENOMEM;
        json_object_del(u, "gw_cache_write_1h");
        int rc = send_chunk(s, model, NULL, NULL, u, out, ctx);
        if (rc)
            return rc;
    }
    return out(NULL, "[DONE]", 6, ctx);
}

int gw__chat_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                    gw_out_cb out, void *ctx)
{
    struct enc *s = (struct enc *)st->bytes;
    int rc;

    if (s->ended)
        return 0;
    switch (ev->kind) {
    case GW_EV_START:
        return begin(s, model, out, ctx);
    case GW_EV_TEXT:
    case GW_EV_REASONING:
        if (!ev->text.len)
            return 0;
        if ((rc = begin(s, model, out, ctx)) != 0)
            return rc;
        return send_chunk(s, model,
                          json_pack("{s:o}", ev->kind == GW_EV_TEXT ? "content" : "reasoning_content",
                                    jtext(ev->text)),
                          NULL, NULL, out, ctx);
    case GW_EV_TOOL_START:
    case GW_EV_TOOL_ARGS:
        if (ev->kind == GW_EV_TOOL_ARGS && !ev->text.len)
            return 0;
        if ((rc = begin(s, model, out, ctx)) != 0)
            return rc;
        return send_chunk(s, model, tool_delta(ev), NULL, NULL, out, ctx);
    case GW_EV_FINISH:
        if (s->finished)
            return 0;
        s->finished = 1;
        if ((rc = begin(s, model, out, ctx)) != 0)
            return rc;
        return send_chunk(s, model, json_object(), ev->finish ? ev->finish : "stop", NULL, out,
                          ctx);
    case GW_EV_USAGE:
        if (ev->usage) {
            s->usage = *ev->usage;
            s->has_usage = 1;
        }
        return 0;
    case GW_EV_ERROR:
        return send_json(json_pack("{s:{s:o, s:o}}", "error", "message", jtext(ev->text), "type",
                                   ev->name.len ? jtext(ev->name) : json_string("upstream_error")),
                         out, ctx);
    case GW_EV_END:
        return end(s, model, out, ctx);
    case GW_EV_SIGNATURE: /* chat has no place for a thinking signature */
    default:
        return 0;
    }
}

/* An error chunk then [DONE] (nothing once the stream has ended). The budget
 * cut keeps the words clients have always read. */
int gw__chat_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                          const char *msg, gw_out_cb out, void *ctx)
{
    struct enc *s = (struct enc *)st->bytes;
    if (s->ended)
        return 0;
    s->ended = 1;
    if (!msg || !*msg)
        msg = code && strcmp(code, "insufficient_user_quota") == 0 ? BUDGET_CUT_MSG
                                                                   : "the upstream failed";
    int rc = send_json(json_pack("{s:{s:o, s:s, s:s}}", "error", "message", gw_json_text(msg),
                                 "type", type ? type : "upstream_error", "code",
                                 code ? code : ""),
                       out, ctx);
    return rc ? rc : out(NULL, "[DONE]", 6, ctx);
}
