/* Responses streams (adapters/format.h): the decoder reads a Responses
 * upstream's semantic events into gw_ev; the encoder writes the events a
 * Responses client expects, each with its sequence_number:
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, then
 *     message:   response.content_part.added, response.output_text.delta…,
 *                response.output_text.done, response.content_part.done
 *     reasoning: response.reasoning_summary_part.added,
 *                response.reasoning_summary_text.delta…, …text.done, …part.done
 *     function_call: response.function_call_arguments.delta…, ….done
 *   response.output_item.done, and last response.completed (or
 *   response.incomplete when the output was cut) carrying the whole
 *   response: the SDKs' finalResponse() reads it, so the encoder keeps every
 *   finished output item (the one growth format.h allows; freed in
 *   stream_free). An error after the start: "error", then response.failed. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/formats/responses_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/buf.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define TEXT_MAX (64u << 20)
#define DEC_TOOLS 32

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static gw_str jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? (gw_str){json_string_value(v), json_string_length(v)}
                             : (gw_str){"", 0};
}

/* ---- decoder: a Responses upstream → gw_ev ---- */

struct dec {
    int ntools;
    int out_idx[DEC_TOOLS];          /* output_index of each tool call */
    unsigned char args_seen[DEC_TOOLS];
    unsigned started : 1, errored : 1, done : 1;
    struct gw_usage usage;
};
_Static_assert(sizeof(struct dec) <= GW_STREAM_STATE_MAX, "decoder state too big");

static int tool_of(const struct dec *d, long long out_index)
{
    for (int i = 0; i < d->ntools && i < DEC_TOOLS; i++)
        if (d->out_idx[i] == out_index)
            return i;
    return -1;
}

static int start(struct dec *d, const json_t *resp, gw_ev_cb emit, void *ctx)
{
    if (d->started)
        return 0;
    d->started = 1;
    /* the upstream's model rides in name */
    struct gw_ev e = {.kind = GW_EV_START, .id = jstr(resp, "id"), .name = jstr(resp, "model")};
    return emit(&e, ctx);
}

static int tool_start(struct dec *d, const json_t *item, long long out_index, gw_ev_cb emit,
                      void *ctx)
{
    int i = d->ntools++;
    if (i < DEC_TOOLS) {
        d->out_idx[i] = (int)out_index;
        d->args_seen[i] = 0;
    }
    gw_str id = jstr(item, "call_id");
    if (id.len == 0)
        id = jstr(item, "id");
    struct gw_ev e = {.kind = GW_EV_TOOL_START, .index = i, .id = id, .name = jstr(item, "name")};
    return emit(&e, ctx);
}

static int finish(struct dec *d, const json_t *resp, gw_ev_cb emit, void *ctx)
{
    const char *status = str(resp, "status"), *f = d->ntools ? "tool_calls" : "stop";
    int rc;
    if (status && !strcmp(status, "incomplete")) {
        const char *why = str(json_object_get(resp, "incomplete_details"), "reason");
        f = why && !strcmp(why, "content_filter") ? "content_filter" : "length";
    }
    struct gw_ev e = {.kind = GW_EV_FINISH, .finish = f};
    if ((rc = emit(&e, ctx)))
        return rc;
    gw__resp_usage_read(json_object_get(resp, "usage"), &d->usage);
    if (d->usage.present) {
        struct gw_ev u = {.kind = GW_EV_USAGE, .usage = &d->usage};
        if ((rc = emit(&u, ctx)))
            return rc;
    }
    d->done = 1;
    struct gw_ev end = {.kind = GW_EV_END};
    return emit(&end, ctx);
}

static int fail(struct dec *d, const json_t *err, gw_ev_cb emit, void *ctx)
{
    if (d->errored)
        return 0;
    d->errored = 1;
    gw_str code = jstr(err, "code");
    struct gw_ev e = {.kind = GW_EV_ERROR, .text = jstr(err, "message"),
                      .name = code.len ? code : jstr(err, "type")};
    if (e.text.len == 0)
        e.text = GW_STRLIT("the upstream reported an error");
    return emit(&e, ctx);
}

static int decode_obj(struct dec *d, const char *t, const json_t *o, gw_ev_cb emit, void *ctx,
                      int *act)
{
    const json_t *resp = json_object_get(o, "response"), *item = json_object_get(o, "item");
    long long oi = gw_fmt_count(json_object_get(o, "output_index"));
    int rc = 0, i;

    if (!strcmp(t, "response.created") || !strcmp(t, "response.in_progress"))
        return start(d, resp, emit, ctx);
    if (!strcmp(t, "response.completed") || !strcmp(t, "response.incomplete") ||
        !strcmp(t, "response.done")) {
        *act = GW_DEC_DONE;
        if (d->done)
            return 0;
        return (rc = start(d, resp, emit, ctx)) ? rc : finish(d, resp, emit, ctx);
    }
    if (!strcmp(t, "response.failed")) {
        *act = GW_DEC_DONE;
        return fail(d, json_object_get(resp, "error"), emit, ctx);
    }
    if (!strcmp(t, "error") || !strcmp(t, "response.error"))
        return fail(d, json_is_object(json_object_get(o, "error")) ? json_object_get(o, "error")
                                                                   : o,
                    emit, ctx);
    if ((rc = start(d, NULL, emit, ctx)))
        return rc;
    /* a refusal is the answer: text for the other formats */
    if (!strcmp(t, "response.output_text.delta") || !strcmp(t, "response.refusal.delta")) {
        struct gw_ev e = {.kind = GW_EV_TEXT, .text = jstr(o, "delta")};
        return e.text.len ? emit(&e, ctx) : 0;
    }
    if (!strcmp(t, "response.reasoning_summary_text.delta") ||
        !strcmp(t, "response.reasoning_text.delta")) {
        struct gw_ev e = {.kind = GW_EV_REASONING, .text = jstr(o, "delta")};
        return e.text.len ? emit(&e, ctx) : 0;
    }
    if (!strcmp(t, "response.output_item.added")) {
        const char *ty = str(item, "type");
        return ty && !strcmp(ty, "function_call") ? tool_start(d, item, oi, emit, ctx) : 0;
    }
    if (!strcmp(t, "response.function_call_arguments.delta")) {
        if ((i = tool_of(d, oi)) < 0) /* no output_item.added first: start it here */
            rc = tool_start(d, o, oi, emit, ctx), i = d->ntools - 1;
        if (i < DEC_TOOLS)
            d->args_seen[i] = 1;
        struct gw_ev e = {.kind = GW_EV_TOOL_ARGS, .index = i, .text = jstr(o, "delta")};
        return rc ? rc : e.text.len ? emit(&e, ctx) : 0;
    }
    if (!strcmp(t, "response.output_item.done")) {
        const char *ty = str(item, "type");
        if (!ty || strcmp(ty, "function_call") != 0)
            return 0;
        if ((i = tool_of(d, oi)) < 0 && (rc = tool_start(d, item, oi, emit, ctx)) == 0)
            i = d->ntools - 1;
        if (rc || (i < DEC_TOOLS && d->args_seen[i]))
            return rc;
        if (i < DEC_TOOLS)
            d->args_seen[i] = 1;
        /* arguments only at the end (some compatible upstreams send no deltas) */
        struct gw_ev e = {.kind = GW_EV_TOOL_ARGS, .index = i, .text = jstr(item, "arguments")};
        return e.text.len ? emit(&e, ctx) : 0;
    }
    return 0;
}

int gw__resp_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                    gw_ev_cb emit, void *ctx)
{
    struct dec *d = (struct dec *)st->bytes;
    gw_str data = gw_str_trim(ev->data);
    int act = GW_DEC_PASS, rc;
    (void)client_usage;

    if (gw_str_eq(data, GW_STRLIT("[DONE]"))) {
        if (d->done || d->errored)
            return GW_DEC_DONE;
        d->done = 1;
        struct gw_ev end = {.kind = GW_EV_END};
        rc = emit(&end, ctx);
        return rc ? rc : GW_DEC_DONE;
    }
    if (data.len == 0 || data.base[0] != '{')
        return GW_DEC_PASS;
    json_t *o = gw_json_parse(data.base, data.len, 0, NULL, 0);
    const char *t = str(o, "type");
    char name[96];
    if (!t && ev->event.len && ev->event.len < sizeof name) {
        memcpy(name, ev->event.base, ev->event.len);
        name[ev->event.len] = '\0';
        t = name;
    }
    rc = json_is_object(o) && t ? decode_obj(d, t, o, emit, ctx, &act) : 0;
    json_decref(o);
    return rc ? rc : act;
}

/* ---- encoder: gw_ev → a Responses client ---- */

enum open_item { OPEN_NONE = 0, OPEN_MSG, OPEN_RS, OPEN_TOOL };

#define ENC_MAGIC 0x52454e43u /* "RENC": stream_free may be handed a decoder's state */

struct enc {
    unsigned magic;  /* ENC_MAGIC once encode has allocated */
    long long seq, created;
    int next_out, open, open_out, tool_index;
    unsigned started : 1, ended : 1, have_usage : 1;
    char finish[16];
    char id[64];
    char item_id[96];
    struct gw_usage usage;
    json_t *model;  /* the client's model name (a string) */
    json_t *output; /* finished items, for the final response */
    json_t *tool;   /* the open function_call item */
    gw_buf text;    /* the open item's text, reasoning or arguments */
};
_Static_assert(sizeof(struct enc) <= GW_STREAM_STATE_MAX, "encoder state too big");

struct sink {
    gw_out_cb out;
    void *ctx;
};

/* Sends obj (stolen) as event `type` with the next sequence number. */
static int emit_ev(struct enc *s, const struct sink *k, const char *type, json_t *obj)
{
    gw_buf b;
    int rc;
    if (!obj)
        return GW_ENOMEM;
    if (json_object_set_new(obj, "type", json_string(type)) ||
        json_object_set_new(obj, "sequence_number", json_integer(s->seq++))) {
        json_decref(obj);
        return GW_ENOMEM;
    }
    gw_buf_init(&b, TEXT_MAX + 4096);
    rc = gw_json_dump_buf(obj, &b, 0);
    json_decref(obj);
    if (rc == GW_OK)
        rc = k->out(type, b.base, b.len, k->ctx);
    gw_buf_free(&b);
    return rc;
}

static json_t *text_json(const struct enc *s)
{
    return json_stringn(s->text.base ? s->text.base : "", s->text.len);
}

/* The response object as it stands. */
static json_t *snapshot(struct enc *s, const char *status, json_t *error)
{
    json_t *details = json_null();
    if (!s->output || !s->model) {
        json_decref(error);
        return NULL;
    }
    if (!strcmp(status, "incomplete"))
        details = json_pack("{s:s}", "reason", strcmp(s->finish, "content_filter")
                                                   ? "max_output_tokens"
                                                   : "content_filter");
    json_t *r = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:O, s:O, s:b, s:s, s:[]}", "id", s->id,
                          "object", "response", "created_at", (json_int_t)s->created, "status",
                          status, "error", error ? error : json_null(), "incomplete_details",
                          details, "model", s->model, "output", s->output,
                          "parallel_tool_calls", 1, "tool_choice", "auto", "tools");
    if (r)
        json_object_set_new(r, "usage", s->have_usage ? gw__resp_usage_json(&s->usage)
                                                      : json_null());
    return r;
}

static int ensure_started(struct enc *s, const struct sink *k, const char *model, gw_str id)
{
    char base[96];
    int rc;
    if (s->started)
        return 0;
    s->started = 1;
    s->magic = ENC_MAGIC;
    s->created = (long long)time(NULL);
    gw_fmt_copy_line(base, sizeof base, id.base ? id.base : "", id.len);
    gw__resp_item_id(s->id, sizeof s->id, "resp", base);
    s->output = json_array();
    s->model = json_string(model ? model : "");
    if (!s->model)
        s->model = json_string(""); /* a name that is not UTF-8 */
    gw_buf_init(&s->text, TEXT_MAX);
    if (!s->output || !s->model)
        return GW_ENOMEM;
    if ((rc = emit_ev(s, k, "response.created",
                   json_pack("{s:o}", "response", snapshot(s, "in_progress", NULL)))))
        return rc;
    return emit_ev(s, k, "response.in_progress",
                json_pack("{s:o}", "response", snapshot(s, "in_progress", NULL)));
}

static void new_item_id(struct enc *s, const char *prefix)
{
    snprintf(s->item_id, sizeof s->item_id, "%s_%s_%d", prefix, s->id + 5, s->next_out);
}

static int open_item(struct enc *s, const struct sink *k, int kind, const struct gw_ev *ev)
{
    json_t *item;
    int rc;
    gw_buf_reset(&s->text);
    s->open = kind;
    s->open_out = s->next_out;
    if (kind == OPEN_MSG) {
        new_item_id(s, "msg");
        item = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "id", s->item_id, "type", "message",
                         "status", "in_progress", "role", "assistant", "content");
    } else if (kind == OPEN_RS) {
        new_item_id(s, "rs");
        item = json_pack("{s:s, s:s, s:[]}", "id", s->item_id, "type", "reasoning", "summary");
    } else {
        char cid[128];
        new_item_id(s, "fc");
        if (ev->id.len)
            gw_fmt_copy_line(cid, sizeof cid, ev->id.base, ev->id.len);
        else
            snprintf(cid, sizeof cid, "call_%s_%d", s->id + 5, s->next_out);
        s->tool_index = ev->index;
        json_decref(s->tool);
        s->tool = json_pack("{s:s, s:s, s:s, s:o}", "id", s->item_id, "type", "function_call",
                            "call_id", cid, "name", gw_json_strn(ev->name));
        if (!s->tool)
            return GW_ENOMEM;
        item = json_deep_copy(s->tool);
        if (item)
            json_object_set_new(item, "status", json_string("in_progress")),
                json_object_set_new(item, "arguments", json_string(""));
    }
    s->next_out++;
    if ((rc = emit_ev(s, k, "response.output_item.added",
                   json_pack("{s:i, s:o}", "output_index", s->open_out, "item", item))))
        return rc;
    if (kind == OPEN_MSG)
        return emit_ev(s, k, "response.content_part.added",
                    json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:[]}}", "item_id", s->item_id,
                              "output_index", s->open_out, "content_index", 0, "part", "type",
                              "output_text", "text", "", "annotations"));
    if (kind == OPEN_RS)
        return emit_ev(s, k, "response.reasoning_summary_part.added",
                    json_pack("{s:s, s:i, s:i, s:{s:s, s:s}}", "item_id", s->item_id,
                              "output_index", s->open_out, "summary_index", 0, "part", "type",
                              "summary_text", "text", ""));
    return 0;
}

static int item_done(struct enc *s, const struct sink *k, json_t *item)
{
    if (!item || json_array_append(s->output, item)) {
        json_decref(item);
        return GW_ENOMEM;
    }
    return emit_ev(s, k, "response.output_item.done",
                json_pack("{s:i, s:o}", "output_index", s->open_out, "item", item));
}

static int close_item(struct enc *s, const struct sink *k)
{
    int kind = s->open, rc;
    s->open = OPEN_NONE;
    if (kind == OPEN_MSG) {
        if ((rc = emit_ev(s, k, "response.output_text.done",
                       json_pack("{s:s, s:i, s:i, s:o, s:[]}", "item_id", s->item_id,
                                 "output_index", s->open_out, "content_index", 0, "text",
                                 text_json(s), "logprobs"))))
            return rc;
        if ((rc = emit_ev(s, k, "response.content_part.done",
                       json_pack("{s:s, s:i, s:i, s:{s:s, s:o, s:[]}}", "item_id", s->item_id,
                                 "output_index", s->open_out, "content_index", 0, "part", "type",
                                 "output_text", "text", text_json(s), "annotations"))))
            return rc;
        /* the message the answer was cut in is incomplete, as in the non-streamed response */
        int cut = !strcmp(s->finish, "length") || !strcmp(s->finish, "content_filter");
        return item_done(s, k, json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:o, s:[]}]}", "id",
                                         s->item_id, "type", "message", "status",
                                         cut ? "incomplete" : "completed",
                                         "role", "assistant", "content", "type", "output_text",
                                         "text", text_json(s), "annotations"));
    }
    if (kind == OPEN_RS) {
        if ((rc = emit_ev(s, k, "response.reasoning_summary_text.done",
                       json_pack("{s:s, s:i, s:i, s:o}", "item_id", s->item_id, "output_index",
                                 s->open_out, "summary_index", 0, "text", text_json(s)))))
            return rc;
        if ((rc = emit_ev(s, k, "response.reasoning_summary_part.done",
                       json_pack("{s:s, s:i, s:i, s:{s:s, s:o}}", "item_id", s->item_id,
                                 "output_index", s->open_out, "summary_index", 0, "part", "type",
                                 "summary_text", "text", text_json(s)))))
            return rc;
        return item_done(s, k, json_pack("{s:s, s:s, s:[{s:s, s:o}]}", "id", s->item_id, "type",
                                         "reasoning", "summary", "type", "summary_text", "text",
                                         text_json(s)));
    }
    if (kind == OPEN_TOOL) {
        if ((rc = emit_ev(s, k, "response.function_call_arguments.done",
                       json_pack("{s:s, s:i, s:o}", "item_id", s->item_id, "output_index",
                                 s->open_out, "arguments", text_json(s)))))
            return rc;
        json_t *item = s->tool;
        s->tool = NULL;
        if (item)
            json_object_set_new(item, "status", json_string("completed")),
                json_object_set_new(item, "arguments", text_json(s));
        return item_done(s, k, item);
    }
    return 0;
}

static int append(struct enc *s, gw_str t)
{
    return gw_buf_append(&s->text, t.base, t.len);
}

static int finish_stream(struct enc *s, const struct sink *k)
{
    int rc;
    if (s->ended)
        return 0;
    if ((rc = close_item(s, k)))
        return rc;
    s->ended = 1;
    int cut = !strcmp(s->finish, "length") || !strcmp(s->finish, "content_filter");
    return emit_ev(s, k, cut ? "response.incomplete" : "response.completed",
                json_pack("{s:o}", "response",
                          snapshot(s, cut ? "incomplete" : "completed", NULL)));
}

int gw__resp_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                    gw_out_cb out, void *ctx)
{
    struct enc *s = (struct enc *)st->bytes;
    struct sink k = {out, ctx};
    int rc;

    if (s->ended)
        return 0;
    if ((rc = ensure_started(s, &k, model, ev->kind == GW_EV_START ? ev->id : (gw_str){0})))
        return rc;
    switch (ev->kind) {
    case GW_EV_TEXT:
    case GW_EV_REASONING: {
        int want = ev->kind == GW_EV_TEXT ? OPEN_MSG : OPEN_RS;
        if (s->open != want && ((rc = close_item(s, &k)) || (rc = open_item(s, &k, want, ev))))
            return rc;
        if ((rc = append(s, ev->text)))
            return rc;
        if (want == OPEN_MSG)
            return emit_ev(s, &k, "response.output_text.delta",
                        json_pack("{s:s, s:i, s:i, s:o, s:[]}", "item_id", s->item_id,
                                  "output_index", s->open_out, "content_index", 0, "delta",
                                  gw_json_strn(ev->text), "logprobs"));
        return emit_ev(s, &k, "response.reasoning_summary_text.delta",
                    json_pack("{s:s, s:i, s:i, s:o}", "item_id", s->item_id, "output_index",
                              s->open_out, "summary_index", 0, "delta", gw_json_strn(ev->text)));
    }
    case GW_EV_TOOL_START:
        if ((rc = close_item(s, &k)))
            return rc;
        return open_item(s, &k, OPEN_TOOL, ev);
    case GW_EV_TOOL_ARGS:
        if (s->open != OPEN_TOOL) { /* arguments without a start: a call of its own */
            struct gw_ev start = {.kind = GW_EV_TOOL_START, .index = ev->index};
            if ((rc = close_item(s, &k)) || (rc = open_item(s, &k, OPEN_TOOL, &start)))
                return rc;
        }
        if ((rc = append(s, ev->text)))
            return rc;
        return emit_ev(s, &k, "response.function_call_arguments.delta",
                    json_pack("{s:s, s:i, s:o}", "item_id", s->item_id, "output_index",
                              s->open_out, "delta", gw_json_strn(ev->text)));
    case GW_EV_FINISH:
        gw_fmt_copy_line(s->finish, sizeof s->finish, ev->finish ? ev->finish : "",
                         ev->finish ? strlen(ev->finish) : 0);
        return 0;
    case GW_EV_USAGE:
        if (ev->usage) {
            s->usage = *ev->usage;
            s->have_usage = 1;
        }
        return 0;
    case GW_EV_ERROR: {
        char m[512], c[64];
        gw_fmt_copy_line(m, sizeof m, ev->text.base ? ev->text.base : "", ev->text.len);
        gw_fmt_copy_line(c, sizeof c, ev->name.base ? ev->name.base : "", ev->name.len);
        return gw__resp_stream_error(st, "upstream_error", c, m, out, ctx);
    }
    case GW_EV_END:
        return finish_stream(s, &k);
    default:
        return 0;
    }
}

void gw__resp_stream_free(struct gw_stream_state *st)
{
    struct enc *s = (struct enc *)st->bytes;
    if (s->magic != ENC_MAGIC) /* a decoder's state, or an encoder that never started */
        return;
    s->magic = 0;
    json_decref(s->output);
    json_decref(s->tool);
    json_decref(s->model);
    gw_buf_free(&s->text);
    s->output = s->tool = s->model = NULL;
}

int gw__resp_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                          const char *msg, gw_out_cb out, void *ctx)
{
    struct enc *s = (struct enc *)st->bytes;
    struct sink k = {out, ctx};
    int rc;
    if (s->ended)
        return 0;
    int fresh = !s->started;
    if (fresh) {
        /* Nothing encoded yet: either nothing reached the client, or this is
         * the same-format fast path, where the upstream's own events did
         * (its response.created among them). A second response.created would
         * restart the client's response, so only the closing pair is sent,
         * about a response of its own id. The relay frees no encoder it
         * never converted through, so nothing of this stays in the state. */
        char rnd[25];
        if (gw_random_alnum(rnd, 24) != GW_OK)
            snprintf(rnd, sizeof rnd, "0");
        snprintf(s->id, sizeof s->id, "resp_%s", rnd);
        s->started = 1;
        s->created = (long long)time(NULL);
        s->output = json_array();
        s->model = json_string("");
    }
    s->ended = 1;
    s->open = OPEN_NONE; /* an open item stays unfinished, as the API leaves it */
    const char *c = code && *code ? code : type ? type : "server_error";
    rc = emit_ev(s, &k, "error",
                 json_pack("{s:s, s:o, s:n}", "code", c, "message", gw_json_text(msg), "param"));
    if (rc && fresh) {
        json_decref(s->output);
        json_decref(s->model);
        s->output = s->model = NULL;
    }
    if (rc)
        return rc;
    json_t *err = json_pack("{s:s, s:o}", "code", c, "message", gw_json_text(msg));
    rc = emit_ev(s, &k, "response.failed",
                 json_pack("{s:o}", "response", snapshot(s, "failed", err)));
    if (fresh) {
        json_decref(s->output);
        json_decref(s->model);
        s->output = s->model = NULL;
    }
    return rc;
}
