/* The Gemini wire format (adapters/format.h): generateContent and
 * streamGenerateContent. Requests are in gemini_req.c, non-streamed
 * responses in gemini_resp.c, embeddings in gemini_embed.c; this file holds
 * the table, the request facts, usage, errors and the stream codec.
 *
 * A Gemini stream is a sequence of whole GenerateContentResponse chunks
 * (SSE "data:" lines with ?alt=sse, else one JSON array): there is no
 * start, stop or end event, function calls arrive whole, usageMetadata is
 * cumulative and rides on the last chunk with finishReason. So the decoder
 * emits START on the first chunk and END after the finishReason chunk's
 * FINISH and USAGE (a stream without one ends when the upstream closes:
 * the relay sends END, or reports the cut); the encoder gathers streamed tool arguments
 * (Gemini cannot send half a functionCall) and writes finishReason and
 * usageMetadata in one last chunk at END, as Gemini itself does. */
#include <stdio.h>
#include <string.h>

#include "adapters/formats/gemini_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

/* ---- shared helpers ---- */

const char *gw__gem_finish_to_chat(const char *r)
{
    if (!r || !*r || !strcmp(r, "STOP") || !strcmp(r, "FINISH_REASON_UNSPECIFIED"))
        return "stop";
    if (!strcmp(r, "MAX_TOKENS"))
        return "length";
    /* SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, OTHER, ...:
     * the reference treats every other reason as a content filter */
    return "content_filter";
}

const char *gw__gem_finish_from_chat(const char *f)
{
    if (f && !strcmp(f, "length"))
        return "MAX_TOKENS";
    if (f && !strcmp(f, "content_filter"))
        return "SAFETY";
    return "STOP"; /* stop, tool_calls (Gemini ends a function call turn with STOP) */
}

void gw__gem_call_id(char out[32])
{
    memcpy(out, "call_", 5);
    if (gw_random_alnum(out + 5, 24) != GW_OK)
        snprintf(out + 5, 27, "%s", "000000000000000000000000");
}

static void modalities(const json_t *details, long long *text, long long *image,
                       long long *audio)
{
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d) {
        const char *m = json_string_value(json_object_get(d, "modality"));
        long long n = gw_fmt_count(json_object_get(d, "tokenCount"));
        if (!m)
            continue;
        if (!strcmp(m, "TEXT") && text)
            *text += n;
        else if (!strcmp(m, "IMAGE") && image)
            *image += n;
        else if (!strcmp(m, "AUDIO") && audio)
            *audio += n;
    }
}

void gw__gem_usage_read(const json_t *meta, struct gw_usage *u)
{
    memset(u, 0, sizeof *u);
    if (!json_is_object(meta))
        return;
    u->prompt = gw_fmt_count(json_object_get(meta, "promptTokenCount")) +
                gw_fmt_count(json_object_get(meta, "toolUsePromptTokenCount"));
    u->reasoning = gw_fmt_count(json_object_get(meta, "thoughtsTokenCount"));
    u->completion = gw_fmt_count(json_object_get(meta, "candidatesTokenCount")) + u->reasoning;
    u->total = gw_fmt_count(json_object_get(meta, "totalTokenCount"));
    u->cached = gw_fmt_count(json_object_get(meta, "cachedContentTokenCount"));
    modalities(json_object_get(meta, "promptTokensDetails"), &u->text_in, &u->image,
               &u->audio_in);
    modalities(json_object_get(meta, "toolUsePromptTokensDetails"), &u->text_in, &u->image,
               &u->audio_in);
    modalities(json_object_get(meta, "candidatesTokensDetails"), &u->text_out, NULL,
               &u->audio_out);
    if (u->completion == 0 && u->total > u->prompt) /* the reference's fallback */
        u->completion = u->total - u->prompt;
    if (u->prompt == 0 && u->completion == 0 && u->total == 0)
        return;
    if (u->total == 0)
        u->total = u->prompt + u->completion;
    u->present = 1;
}

json_t *gw__gem_usage_json(const struct gw_usage *u)
{
    long long cand = u->completion - u->reasoning;
    json_t *m = json_pack("{s:I,s:I,s:I}", "promptTokenCount", (json_int_t)u->prompt,
                          "candidatesTokenCount", (json_int_t)(cand > 0 ? cand : 0),
                          "totalTokenCount",
                          (json_int_t)(u->total ? u->total : u->prompt + u->completion));
    if (m && u->reasoning)
        json_object_set_new(m, "thoughtsTokenCount", json_integer(u->reasoning));
    if (m && u->cached)
        json_object_set_new(m, "cachedContentTokenCount", json_integer(u->cached));
    return m;
}

/* ---- facts ---- */

static int gem_facts(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                     char *msg, size_t msglen)
{
    const char *model = pf ? pf->model : NULL;
    const json_t *gc = gw__gem_get(body, "generationConfig", "generation_config");
    const json_t *mt = gw__gem_get(gc, "maxOutputTokens", "max_output_tokens");

    memset(out, 0, sizeof *out);
    if (!json_is_object(body)) {
        snprintf(msg, msglen, "request body must be a JSON object");
        return GW_EINVAL;
    }
    if (!model || !*model)
        model = json_string_value(json_object_get(body, "model"));
    if (model && strncmp(model, "models/", 7) == 0)
        model += 7;
    if (!model || !*model || strlen(model) >= sizeof out->model) {
        snprintf(msg, msglen, model && *model ? "model name too long" : "model is required");
        return GW_EINVAL;
    }
    if ((gc && !json_is_object(gc)) ||
        (json_object_get(body, "contents") && !json_is_array(json_object_get(body, "contents")))) {
        snprintf(msg, msglen, "%s", gc && !json_is_object(gc)
                                        ? "generationConfig must be an object"
                                        : "contents must be an array");
        return GW_EINVAL;
    }
    memcpy(out->model, model, strlen(model) + 1);
    out->stream = pf && pf->stream;
    out->client_usage = 1; /* Gemini streams always carry usageMetadata */
    if (json_is_number(mt) && json_number_value(mt) > 0)
        out->max_tokens = json_number_value(mt) > 1e8 ? 100000000 : (long long)json_number_value(mt);
    return GW_OK;
}

/* ---- upstream: usage and errors ---- */

static int gem_usage(const char *body, size_t len, struct gw_usage *u)
{
    json_t *root = body ? gw_json_parse(body, len, 0, NULL, 0) : NULL;
    memset(u, 0, sizeof *u);
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_EINVAL;
    }
    gw__gem_usage_read(json_object_get(root, "usageMetadata"), u);
    json_decref(root);
    return GW_OK;
}

static int gem_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                           size_t codecap)
{
    json_t *root = body ? gw_json_parse(body, len, 0, NULL, 0) : NULL;
    const json_t *e = json_object_get(json_is_array(root) ? json_array_get(root, 0) : root,
                                      "error");
    const json_t *m = json_object_get(e, "message");
    int rc = GW_EINVAL;

    gw_fmt_copy_line(msg, msgcap, "", 0);
    gw_fmt_copy_line(code, codecap, "", 0);
    if (json_is_string(m)) {
        const json_t *st = json_object_get(e, "status"), *c = json_object_get(e, "code");
        gw_fmt_copy_line(msg, msgcap, json_string_value(m), json_string_length(m));
        if (json_is_string(st)) {
            gw_fmt_copy_line(code, codecap, json_string_value(st), json_string_length(st));
        } else if (json_is_integer(c)) {
            char n[24];
            int w = snprintf(n, sizeof n, "%lld", (long long)json_integer_value(c));
            gw_fmt_copy_line(code, codecap, n, (size_t)w);
        }
        rc = GW_OK;
    } else if (body) {
        gw_str t = gw_str_trim((gw_str){body, len});
        gw_fmt_copy_line(msg, msgcap, t.base, t.len);
    }
    json_decref(root);
    return rc;
}

/* ---- inbound: errors in Gemini's shape ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 400 && status < 500 ? "FAILED_PRECONDITION" : "INTERNAL";
    }
}

static json_t *gem_error_body(int status, const char *type, const char *code, const char *msg)
{
    (void)type;
    (void)code;
    return json_pack("{s:{s:i,s:o,s:s}}", "error", "code", status, "message",
                     gw_json_text(msg ? msg : ""), "status", status_text(status));
}

/* The HTTP status an error type stands for, for errors after the stream
 * began (the status line is long gone). */
static int status_of_type(const char *type)
{
    if (!type)
        return 500;
    if (strstr(type, "quota") || strstr(type, "rate_limit"))
        return 429;
    if (strstr(type, "authentication"))
        return 401;
    if (strstr(type, "permission"))
        return 403;
    if (strstr(type, "invalid_request"))
        return 400;
    if (strstr(type, "not_found"))
        return 404;
    return 500;
}

/* ---- upstream stream: chunks → gw_ev ---- */

/* The first member tells the two states apart: the relay (and the golden
 * runner) call stream_free on the decoder's state too. */
#define ROLE_DEC 1
#define ROLE_ENC 2

struct dec {
    int role;
    int started, finished, ntools, saw_tool;
    struct gw_usage usage;
};
_Static_assert(sizeof(struct dec) <= GW_STREAM_STATE_MAX, "decoder state too big");

static int emit_text(enum gw_ev_kind k, const char *s, size_t n, gw_ev_cb emit, void *ctx)
{
    struct gw_ev ev = {.kind = k, .text = {s, n}};
    return n ? emit(&ev, ctx) : 0;
}

static int decode_parts(struct dec *d, const json_t *parts, gw_ev_cb emit, void *ctx)
{
    size_t i;
    json_t *p;
    int rc = 0;

    json_array_foreach(parts, i, p) {
        const json_t *t = json_object_get(p, "text");
        const json_t *fc = json_object_get(p, "functionCall");
        if (rc)
            break;
        if (json_is_string(t)) {
            rc = emit_text(json_is_true(json_object_get(p, "thought")) ? GW_EV_REASONING
                                                                       : GW_EV_TEXT,
                           json_string_value(t), json_string_length(t), emit, ctx);
        } else if (json_is_object(fc) && json_is_string(json_object_get(fc, "name"))) {
            const json_t *name = json_object_get(fc, "name"), *args = json_object_get(fc, "args");
            const char *given = json_string_value(json_object_get(fc, "id"));
            char id[32];
            if (!given || !*given)
                gw__gem_call_id(id);
            struct gw_ev ev = {.kind = GW_EV_TOOL_START, .index = d->ntools,
                               .id = gw_str_c(given && *given ? given : id),
                               .name = {json_string_value(name), json_string_length(name)}};
            char *a = json_is_object(args) ? json_dumps(args, JSON_COMPACT) : NULL;
            rc = emit(&ev, ctx);
            if (!rc) {
                struct gw_ev av = {.kind = GW_EV_TOOL_ARGS, .index = d->ntools,
                                   .text = gw_str_c(a ? a : "{}")};
                rc = emit(&av, ctx);
            }
            gw_free(a);
            d->ntools++;
            d->saw_tool = 1;
        } else {
            gw_buf b;
            int used = 0;
            gw_buf_init(&b, GW_GEM_TEXT_MAX);
            if (gw__gem_part_markdown(p, &b, &used) == GW_OK && used)
                rc = emit_text(GW_EV_TEXT, b.base, b.len, emit, ctx);
            gw_buf_free(&b);
        }
    }
    return rc;
}

static int gem_decode(struct gw_stream_state *st, const struct gw_sse_event *sse, int client_usage,
                      gw_ev_cb emit, void *ctx)
{
    struct dec *d = (struct dec *)st->bytes;
    gw_str data = gw_str_trim(sse->data);
    json_t *root;
    int rc = 0;

    (void)client_usage;
    d->role = ROLE_DEC;
    if (data.len == 0 || data.base[0] != '{')
        return GW_DEC_PASS;
    root = gw_json_parse(data.base, data.len, 0, NULL, 0);
    if (!json_is_object(root)) {
        json_decref(root);
        return GW_DEC_PASS;
    }
    const json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) {
        const json_t *m = json_object_get(err, "message"), *s = json_object_get(err, "status");
        struct gw_ev ev = {.kind = GW_EV_ERROR,
                           .text = {json_is_string(m) ? json_string_value(m) : "upstream error",
                                    json_is_string(m) ? json_string_length(m) : 14},
                           .name = gw_str_c(json_is_string(s) ? json_string_value(s) : "")};
        rc = emit(&ev, ctx);
        json_decref(root);
        return rc ? rc : GW_DEC_DONE;
    }
    if (!d->started) {
        const json_t *id = json_object_get(root, "responseId");
        const json_t *mv = json_object_get(root, "modelVersion");
        struct gw_ev ev = {.kind = GW_EV_START,
                           .id = gw_str_c(json_is_string(id) ? json_string_value(id) : ""),
                           .name = gw_str_c(json_is_string(mv) ? json_string_value(mv) : "")};
        d->started = 1;
        rc = emit(&ev, ctx);
    }
    const json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
    if (!rc)
        rc = decode_parts(d, json_object_get(json_object_get(cand, "content"), "parts"), emit, ctx);
    const char *fr = json_string_value(json_object_get(cand, "finishReason"));
    int blocked = !cand && json_is_string(json_object_get(json_object_get(root, "promptFeedback"),
                                                          "blockReason"));
    int last = 0;
    if (!rc && !d->finished && ((fr && *fr) || blocked)) {
        struct gw_ev ev = {.kind = GW_EV_FINISH,
                           .finish = blocked      ? "content_filter"
                                     : d->saw_tool ? "tool_calls"
                                                   : gw__gem_finish_to_chat(fr)};
        d->finished = last = 1;
        rc = emit(&ev, ctx);
    }
    const json_t *meta = json_object_get(root, "usageMetadata");
    if (!rc && json_is_object(meta)) {
        gw__gem_usage_read(meta, &d->usage);
        if (d->usage.present) {
            struct gw_ev ev = {.kind = GW_EV_USAGE, .usage = &d->usage};
            rc = emit(&ev, ctx);
        }
    }
    /* Gemini has no end event: the chunk with finishReason (and the final
     * usageMetadata) is the last one, so the stream ends normally there.
     * PASS, not DONE: a chunk after it is still forwarded and metered. */
    if (!rc && last) {
        struct gw_ev ev = {.kind = GW_EV_END};
        rc = emit(&ev, ctx);
    }
    json_decref(root);
    return rc ? rc : GW_DEC_PASS;
}

/* ---- client stream: gw_ev → chunks ---- */

#define MAX_TOOLS 128

struct tool {
    int index;
    char *name, *id;
    gw_buf args;
};

struct enc {
    int role;
    int ended, finished, has_usage, ntools;
    char finish[16];
    char id[96];
    struct gw_usage usage;
    struct tool *tools; /* MAX_TOOLS slots, allocated on the first tool call */
};
_Static_assert(sizeof(struct enc) <= GW_STREAM_STATE_MAX, "encoder state too big");

static int send_chunk(struct enc *e, json_t *parts, const char *finish, int usage,
                      const char *model, gw_out_cb out, void *ctx)
{
    json_t *cand = json_pack("{s:{s:s,s:o},s:i}", "content", "role", "model", "parts", parts,
                             "index", 0);
    json_t *c = json_pack("{s:[o]}", "candidates", cand);
    gw_buf b;
    int rc;

    if (!c)
        return GW_ENOMEM;
    if (finish)
        json_object_set_new(cand, "finishReason", json_string(finish));
    if (usage)
        json_object_set_new(c, "usageMetadata", gw__gem_usage_json(&e->usage));
    json_object_set_new(c, "modelVersion", json_string(model ? model : ""));
    if (e->id[0])
        json_object_set_new(c, "responseId", json_string(e->id));
    gw_buf_init(&b, GW_GEM_TEXT_MAX);
    rc = gw_json_dump_buf(c, &b, 0);
    json_decref(c);
    if (rc == GW_OK)
        rc = out(NULL, b.base, b.len, ctx);
    gw_buf_free(&b);
    return rc;
}

/* The gathered tool calls as functionCall parts (and forgets them). */
static json_t *tool_parts(struct enc *e)
{
    json_t *parts = json_array();
    for (int i = 0; i < e->ntools; i++) {
        struct tool *t = &e->tools[i];
        json_t *a = t->args.len ? gw_json_parse(t->args.base, t->args.len, 0, NULL, 0) : NULL;
        if (!json_is_object(a)) {
            json_decref(a);
            a = t->args.len ? json_pack("{s:s%}", "arguments", t->args.base, t->args.len)
                            : json_object();
        }
        json_array_append_new(parts, json_pack("{s:{s:s,s:o}}", "functionCall", "name",
                                               t->name ? t->name : "", "args", a));
        gw_free(t->name);
        gw_free(t->id);
        gw_buf_free(&t->args);
    }
    e->ntools = 0;
    return parts;
}

static struct tool *tool_at(struct enc *e, int index)
{
    for (int i = 0; i < e->ntools; i++)
        if (e->tools[i].index == index)
            return &e->tools[i];
    return NULL;
}

static int gem_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                      gw_out_cb out, void *ctx)
{
    struct enc *e = (struct enc *)st->bytes;

    e->role = ROLE_ENC;
    if (e->ended)
        return 0;
    switch (ev->kind) {
    case GW_EV_SIGNATURE: /* Gemini signs parts, not thinking blocks: nothing to carry */
        return 0;
    case GW_EV_START:
        if (!e->id[0] && ev->id.len)
            gw_fmt_copy_line(e->id, sizeof e->id, ev->id.base, ev->id.len);
        return 0;
    case GW_EV_TEXT:
    case GW_EV_REASONING: {
        int rc = 0;
        if (ev->text.len == 0)
            return 0;
        if (e->ntools) /* keep the order: calls gathered so far go first */
            rc = send_chunk(e, tool_parts(e), NULL, 0, model, out, ctx);
        json_t *p = json_pack("{s:s%}", "text", ev->text.base, ev->text.len);
        if (p && ev->kind == GW_EV_REASONING)
            json_object_set_new(p, "thought", json_true());
        return rc ? rc : send_chunk(e, json_pack("[o]", p), NULL, 0, model, out, ctx);
    }
    case GW_EV_TOOL_START: {
        if (!e->tools && !(e->tools = gw_calloc(MAX_TOOLS, sizeof *e->tools)))
            return GW_ENOMEM;
        if (tool_at(e, ev->index) || e->ntools == MAX_TOOLS)
            return 0;
        struct tool *t = &e->tools[e->ntools++];
        t->index = ev->index;
        t->name = gw_strndup(ev->name.base ? ev->name.base : "", ev->name.len);
        gw_buf_init(&t->args, GW_GEM_TEXT_MAX);
        return t->name ? 0 : GW_ENOMEM;
    }
    case GW_EV_TOOL_ARGS: {
        struct tool *t = e->tools ? tool_at(e, ev->index) : NULL;
        return t ? gw_buf_append(&t->args, ev->text.base, ev->text.len) : 0;
    }
    case GW_EV_FINISH:
        if (ev->finish)
            snprintf(e->finish, sizeof e->finish, "%s", ev->finish);
        e->finished = 1;
        return 0;
    case GW_EV_USAGE:
        if (ev->usage) {
            e->usage = *ev->usage;
            e->has_usage = 1;
        }
        return 0;
    case GW_EV_ERROR: {
        char m[1024];
        gw_fmt_copy_line(m, sizeof m, ev->text.base ? ev->text.base : "", ev->text.len);
        json_t *j = gem_error_body(500, NULL, NULL, m);
        if (j && ev->name.len) {
            char s[64];
            gw_fmt_copy_line(s, sizeof s, ev->name.base, ev->name.len);
            json_object_set_new(json_object_get(j, "error"), "status", json_string(s));
        }
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        int rc = txt ? out(NULL, txt, strlen(txt), ctx) : GW_ENOMEM;
        json_decref(j);
        gw_free(txt);
        e->ended = 1;
        return rc;
    }
    case GW_EV_END: {
        json_t *parts = e->ntools ? tool_parts(e) : json_pack("[{s:s}]", "text", "");
        e->ended = 1;
        return send_chunk(e, parts, gw__gem_finish_from_chat(e->finish[0] ? e->finish : NULL),
                          e->has_usage, model, out, ctx);
    }
    }
    return 0;
}

static void gem_stream_free(struct gw_stream_state *st)
{
    struct enc *e = (struct enc *)st->bytes;
    if (e->role != ROLE_ENC || !e->tools)
        return;
    for (int i = 0; i < e->ntools; i++) {
        gw_free(e->tools[i].name);
        gw_free(e->tools[i].id);
        gw_buf_free(&e->tools[i].args);
    }
    gw_free(e->tools);
    e->tools = NULL;
    e->ntools = 0;
}

static int gem_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                            const char *msg, gw_out_cb out, void *ctx)
{
    struct enc *e = (struct enc *)st->bytes;
    json_t *j = gem_error_body(status_of_type(type), type, code, msg);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int rc = txt ? out(NULL, txt, strlen(txt), ctx) : GW_ENOMEM;
    json_decref(j);
    gw_free(txt);
    e->role = ROLE_ENC;
    e->ended = 1;
    return rc;
}

const struct gw_format gw_format_gemini = {
    .wire = GW_WIRE_GEMINI,
    .name = "gemini",
    .facts = gem_facts,
    .req_to_hub = gw__gem_req_to_hub,
    .req_from_hub = gw__gem_req_from_hub,
    .resp_to_hub = gw__gem_resp_to_hub,
    .resp_from_hub = gw__gem_resp_from_hub,
    .usage = gem_usage,
    .parse_error = gem_parse_error,
    .decode = gem_decode,
    .encode = gem_encode,
    .stream_free = gem_stream_free,
    .error_body = gem_error_body,
    .stream_error = gem_stream_error,
};
