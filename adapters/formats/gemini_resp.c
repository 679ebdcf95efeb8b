/* Non-streamed generateContent responses <-> the hub (a chat.completion).
 *
 * Gemini → hub: each candidate is a choice; its text parts concatenate
 * into content, thought parts into reasoning_content, functionCall parts
 * become tool_calls with generated "call_…" ids (Gemini has none), inline
 * images and code parts are rendered as markdown (as the reference does);
 * usageMetadata maps as gw__gem_usage_read says (thoughts are completion).
 * hub → Gemini: the inverse, with candidatesTokenCount = completion −
 * reasoning and thoughtsTokenCount = reasoning. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/formats/gemini_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static int add_sep(gw_buf *b)
{
    return b->len ? gw_buf_append(b, "\n", 1) : GW_OK;
}

int gw__gem_part_markdown(const json_t *part, gw_buf *b, int *used)
{
    const json_t *inl = json_object_get(part, "inlineData");
    const json_t *code = json_object_get(part, "executableCode");
    const json_t *res = json_object_get(part, "codeExecutionResult");
    int rc = GW_OK;

    *used = 1;
    if (inl) {
        const char *mime = json_string_value(json_object_get(inl, "mimeType"));
        const char *data = json_string_value(json_object_get(inl, "data"));
        if (!mime || !data)
            return GW_OK;
        rc = gw_buf_appendf(b, "%s(data:%s;base64,", strncmp(mime, "image", 5) ? "[media]"
                                                                            : "![image]", mime);
        if (rc == GW_OK)
            rc = gw_buf_appends(b, data);
        return rc == GW_OK ? gw_buf_append(b, ")", 1) : rc;
    }
    if (code) {
        const char *lang = json_string_value(json_object_get(code, "language"));
        const char *src = json_string_value(json_object_get(code, "code"));
        return gw_buf_appendf(b, "```%s\n", lang ? lang : "") ||
                       gw_buf_appends(b, src ? src : "") || gw_buf_appends(b, "\n```")
                   ? GW_ETOOBIG
                   : GW_OK;
    }
    if (res) {
        const char *o = json_string_value(json_object_get(res, "output"));
        return gw_buf_appends(b, "```output\n") || gw_buf_appends(b, o ? o : "") ||
                       gw_buf_appends(b, "\n```")
                   ? GW_ETOOBIG
                   : GW_OK;
    }
    *used = 0;
    return GW_OK;
}

static json_t *choice_of(const json_t *cand, size_t idx)
{
    gw_buf text, reason;
    json_t *calls = json_array(), *p;
    size_t i;
    int rc = GW_OK;

    gw_buf_init(&text, GW_GEM_TEXT_MAX);
    gw_buf_init(&reason, GW_GEM_TEXT_MAX);
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p) {
        const json_t *t = json_object_get(p, "text");
        const json_t *fc = json_object_get(p, "functionCall");
        int used = 0;
        if (rc != GW_OK)
            break;
        if (json_is_string(t) && json_is_true(json_object_get(p, "thought"))) {
            rc = gw_buf_append(&reason, json_string_value(t), json_string_length(t));
        } else if (json_is_string(t)) {
            rc = gw_buf_append(&text, json_string_value(t), json_string_length(t));
        } else if (json_is_object(fc) && json_is_string(json_object_get(fc, "name"))) {
            const json_t *args = json_object_get(fc, "args");
            const char *given = json_string_value(json_object_get(fc, "id"));
            char id[32], *a = json_is_object(args) ? json_dumps(args, JSON_COMPACT) : NULL;
            if (!given || !*given)
                gw__gem_call_id(id);
            json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:O,s:s}}", "id",
                                                    given && *given ? given : id, "type",
                                                    "function", "function", "name",
                                                    json_object_get(fc, "name"), "arguments",
                                                    a ? a : "{}"));
            gw_free(a);
        } else {
            size_t before = text.len;
            rc = add_sep(&text);
            if (rc == GW_OK)
                rc = gw__gem_part_markdown(p, &text, &used);
            if (!used)
                text.len = before; /* nothing rendered: drop the separator */
        }
    }
    const char *fr = json_string_value(json_object_get(cand, "finishReason"));
    const char *finish = json_array_size(calls) ? "tool_calls" : gw__gem_finish_to_chat(fr);
    json_t *m = json_pack("{s:s}", "role", "assistant");
    if (text.len || !json_array_size(calls))
        json_object_set_new(m, "content", json_stringn(text.base ? text.base : "", text.len));
    else
        json_object_set_new(m, "content", json_null());
    if (reason.len)
        json_object_set_new(m, "reasoning_content", json_stringn(reason.base, reason.len));
    if (json_array_size(calls))
        json_object_set(m, "tool_calls", calls);
    json_decref(calls);
    gw_buf_free(&text);
    gw_buf_free(&reason);
    if (rc != GW_OK || !json_object_get(m, "content")) {
        json_decref(m);
        return NULL;
    }
    return json_pack("{s:I,s:o,s:s}", "index", (json_int_t)idx, "message", m, "finish_reason",
                     finish);
}

int gw__gem_resp_to_hub(const json_t *resp, json_t **hub)
{
    const json_t *cands = json_object_get(resp, "candidates");
    const json_t *meta = json_object_get(resp, "usageMetadata");
    const char *rid = json_string_value(json_object_get(resp, "responseId"));
    const char *model = json_string_value(json_object_get(resp, "modelVersion"));
    json_t *choices, *c;
    size_t i;
    char id[64];

    *hub = NULL;
    if (!json_is_object(resp) || json_object_get(resp, "error") ||
        (!json_is_array(cands) && !json_is_object(meta) &&
         !json_object_get(resp, "promptFeedback")))
        return GW_EINVAL;
    choices = json_array();
    json_array_foreach(cands, i, c) {
        json_t *ch = choice_of(c, json_is_integer(json_object_get(c, "index"))
                                      ? (size_t)json_integer_value(json_object_get(c, "index"))
                                      : i);
        if (!ch) {
            json_decref(choices);
            return GW_ENOMEM;
        }
        json_array_append_new(choices, ch);
    }
    if (json_array_size(choices) == 0) /* blocked prompt (promptFeedback.blockReason) */
        json_array_append_new(choices,
                              json_pack("{s:i,s:{s:s,s:s},s:s}", "index", 0, "message", "role",
                                        "assistant", "content", "", "finish_reason",
                                        "content_filter"));
    if (rid && *rid) {
        snprintf(id, sizeof id, "chatcmpl-%s", rid);
    } else {
        char r[32];
        gw__gem_call_id(r);
        snprintf(id, sizeof id, "chatcmpl-%s", r + 5);
    }
    json_t *h = json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", id, "object", "chat.completion",
                          "created", (json_int_t)time(NULL), "model", model ? model : "",
                          "choices", choices);
    struct gw_usage u;
    gw__gem_usage_read(meta, &u);
    if (h && u.present)
        json_object_set_new(h, "usage", gw_fmt_usage_json(&u));
    *hub = h;
    return h ? GW_OK : GW_ENOMEM;
}

/* The text of chat content: a string, or its text parts concatenated. */
static int chat_text(const json_t *c, gw_buf *b)
{
    size_t i;
    json_t *p;
    if (json_is_string(c))
        return gw_buf_append(b, json_string_value(c), json_string_length(c));
    json_array_foreach(c, i, p) {
        const json_t *t = json_object_get(p, "text");
        if (json_is_string(t) && gw_buf_append(b, json_string_value(t), json_string_length(t)))
            return GW_ETOOBIG;
    }
    return GW_OK;
}

int gw__gem_resp_from_hub(const json_t *hub, const char *model, json_t **out)
{
    json_t *cands = json_array(), *ch, *tc;
    size_t i, j;
    int rc = GW_OK;

    *out = NULL;
    json_array_foreach(json_object_get(hub, "choices"), i, ch) {
        const json_t *m = json_object_get(ch, "message");
        const json_t *rc_ = json_object_get(m, "reasoning_content");
        json_t *parts = json_array();
        gw_buf text;
        gw_buf_init(&text, GW_GEM_TEXT_MAX);
        if (json_is_string(rc_) && json_string_length(rc_))
            json_array_append_new(parts, json_pack("{s:O,s:b}", "text", rc_, "thought", 1));
        rc = chat_text(json_object_get(m, "content"), &text);
        if (text.len)
            json_array_append_new(parts, json_pack("{s:s%}", "text", text.base, text.len));
        gw_buf_free(&text);
        json_array_foreach(json_object_get(m, "tool_calls"), j, tc) {
            const json_t *f = json_object_get(tc, "function");
            const char *name = json_string_value(json_object_get(f, "name"));
            const char *args = json_string_value(json_object_get(f, "arguments"));
            json_t *a = args && *args ? gw_json_parse(args, strlen(args), 0, NULL, 0) : NULL;
            if (!json_is_object(a)) {
                json_decref(a);
                a = args && *args ? json_pack("{s:s}", "arguments", args) : json_object();
            }
            json_array_append_new(parts, json_pack("{s:{s:s,s:o}}", "functionCall", "name",
                                                   name ? name : "", "args", a));
        }
        const json_t *idx = json_object_get(ch, "index");
        json_array_append_new(
            cands, json_pack("{s:{s:s,s:o},s:s,s:I,s:[]}", "content", "role", "model", "parts",
                             parts, "finishReason",
                             gw__gem_finish_from_chat(
                                 json_string_value(json_object_get(ch, "finish_reason"))),
                             "index", json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)i,
                             "safetyRatings"));
    }
    if (rc != GW_OK) {
        json_decref(cands);
        return rc;
    }
    struct gw_usage u;
    gw_fmt_usage_read(json_object_get(hub, "usage"), &u);
    json_t *g = json_pack("{s:o,s:o,s:s}", "candidates", cands, "usageMetadata",
                          gw__gem_usage_json(&u), "modelVersion", model ? model : "");
    const char *id = json_string_value(json_object_get(hub, "id"));
    if (g && id)
        json_object_set_new(g, "responseId", json_string(id));
    *out = g;
    return g ? GW_OK : GW_ENOMEM;
}
