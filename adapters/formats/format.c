/* The format layer's glue (adapters/format.h): the wire → codec table, the
 * two conversions through the hub, and the small helpers every codec uses. */
#include <stdio.h>
#include <string.h>

#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

const struct gw_format *gw_format_of(enum gw_wire w)
{
    switch (w) {
    case GW_WIRE_MESSAGES: return &gw_format_messages;
    case GW_WIRE_GEMINI: return &gw_format_gemini;
    case GW_WIRE_RESPONSES: return &gw_format_responses;
    case GW_WIRE_CHAT:
    default: return &gw_format_chat;
    }
}

static int not_built(const struct gw_format *f, const char *what, char *msg, size_t msglen)
{
    if (msglen)
        snprintf(msg, msglen, "conversion %s the %s format is not implemented yet", what,
                 f->name);
    return GW_ENOTSUP;
}

int gw_format_convert_request(const struct gw_format *from, const struct gw_format *to,
                              const json_t *body, const struct gw_path_facts *pf,
                              const struct gw_conv_opts *o, json_t **out, char *msg,
                              size_t msglen)
{
    *out = NULL;
    if (from == to) { /* the fast path: the client's own body, model mapped */
        json_t *c = json_deep_copy(body);
        if (!c)
            return GW_ENOMEM;
        if (to->wire != GW_WIRE_GEMINI && o->upstream_model &&
            json_object_set_new(c, "model", json_string(o->upstream_model)) != 0) {
            json_decref(c);
            return GW_ENOMEM;
        }
        *out = c;
        return GW_OK;
    }
    if (!from->req_to_hub)
        return not_built(from, "from", msg, msglen);
    if (!to->req_from_hub)
        return not_built(to, "into", msg, msglen);
    json_t *hub = NULL;
    int rc = from->req_to_hub(body, pf, &hub, msg, msglen);
    if (rc != GW_OK)
        return rc;
    rc = to->req_from_hub(hub, o, out, msg, msglen);
    json_decref(hub);
    return rc;
}

/* A model's refusal (chat message.refusal, Responses' refusal part) is
 * the answer: a client format without a refusal field (Messages, Gemini)
 * gets it as the text when there is no other text. */
static void refusal_as_text(json_t *hub, const struct gw_format *to)
{
    if (to->wire != GW_WIRE_MESSAGES && to->wire != GW_WIRE_GEMINI)
        return;
    json_t *m = json_object_get(json_array_get(json_object_get(hub, "choices"), 0), "message");
    const json_t *r = json_object_get(m, "refusal"), *c = json_object_get(m, "content");
    if (json_is_string(r) && json_string_length(r) &&
        !(json_is_string(c) && json_string_length(c)) && !(json_is_array(c) && json_array_size(c)))
        json_object_set(m, "content", (json_t *)r);
}

int gw_format_convert_response(const struct gw_format *from, const struct gw_format *to,
                               const char *body, size_t len, const char *model, json_t **out)
{
    *out = NULL;
    if (!from->resp_to_hub || !to->resp_from_hub)
        return GW_ENOTSUP;
    json_t *resp = gw_json_parse(body, len, 0, NULL, 0);
    if (!json_is_object(resp)) {
        json_decref(resp);
        return GW_EINVAL;
    }
    json_t *hub = NULL;
    int rc = from->resp_to_hub(resp, &hub);
    json_decref(resp);
    if (rc != GW_OK)
        return rc;
    refusal_as_text(hub, to);
    rc = to->resp_from_hub(hub, model, out);
    json_decref(hub);
    return rc;
}

long long gw_fmt_count(const json_t *v)
{
    long long n = 0;
    if (json_is_integer(v))
        n = json_integer_value(v) > 0 ? (long long)json_integer_value(v) : 0;
    else if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 9e18)
        n = (long long)json_real_value(v);
    return n < GW_USAGE_TOKENS_MAX ? n : GW_USAGE_TOKENS_MAX;
}

void gw_fmt_usage_read(const json_t *usage, struct gw_usage *u)
{
    const json_t *pd = json_object_get(usage, "prompt_tokens_details");
    const json_t *cd = json_object_get(usage, "completion_tokens_details");
    memset(u, 0, sizeof *u);
    if (!json_is_object(usage))
        return;
    u->prompt = gw_fmt_count(json_object_get(usage, "prompt_tokens"));
    u->completion = gw_fmt_count(json_object_get(usage, "completion_tokens"));
    u->total = gw_fmt_count(json_object_get(usage, "total_tokens"));
    u->cached = gw_fmt_count(json_object_get(pd, "cached_tokens"));
    if (u->cached == 0) /* DeepSeek */
        u->cached = gw_fmt_count(json_object_get(usage, "prompt_cache_hit_tokens"));
    u->cache_write = gw_fmt_count(json_object_get(pd, "cached_creation_tokens"));
    u->cache_write_1h = gw_fmt_count(json_object_get(usage, "gw_cache_write_1h"));
    if (u->cache_write_1h > u->cache_write)
        u->cache_write_1h = u->cache_write;
    u->image = gw_fmt_count(json_object_get(pd, "image_tokens"));
    u->text_in = gw_fmt_count(json_object_get(pd, "text_tokens"));
    u->audio_in = gw_fmt_count(json_object_get(pd, "audio_tokens"));
    u->text_out = gw_fmt_count(json_object_get(cd, "text_tokens"));
    u->audio_out = gw_fmt_count(json_object_get(cd, "audio_tokens"));
    u->reasoning = gw_fmt_count(json_object_get(cd, "reasoning_tokens"));
    if (u->prompt == 0 && u->completion == 0 && u->total == 0)
        return; /* zeros are not usage: the reference then counts locally */
    if (u->total == 0)
        u->total = u->prompt + u->completion;
    u->present = 1;
}

json_t *gw_fmt_usage_json(const struct gw_usage *u)
{
    json_t *j = json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)u->prompt,
                          "completion_tokens", (json_int_t)u->completion, "total_tokens",
                          (json_int_t)(u->total ? u->total : u->prompt + u->completion));
    if (!j)
        return NULL;
    json_t *pd = json_pack("{s:I}", "cached_tokens", (json_int_t)u->cached);
    if (pd && u->cache_write)
        json_object_set_new(pd, "cached_creation_tokens", json_integer(u->cache_write));
    if (pd && u->image)
        json_object_set_new(pd, "image_tokens", json_integer(u->image));
    if (pd && u->audio_in)
        json_object_set_new(pd, "audio_tokens", json_integer(u->audio_in));
    if (pd && u->text_in)
        json_object_set_new(pd, "text_tokens", json_integer(u->text_in));
    json_t *cd = json_pack("{s:I}", "reasoning_tokens", (json_int_t)u->reasoning);
    if (cd && u->audio_out)
        json_object_set_new(cd, "audio_tokens", json_integer(u->audio_out));
    if (cd && u->text_out)
        json_object_set_new(cd, "text_tokens", json_integer(u->text_out));
    /* both set either way: set_new takes (and on failure frees) its value */
    int bad = !pd || !cd;
    bad |= json_object_set_new(j, "prompt_tokens_details", pd) != 0;
    bad |= json_object_set_new(j, "completion_tokens_details", cd) != 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    if (u->cache_write_1h)
        json_object_set_new(j, "gw_cache_write_1h", json_integer(u->cache_write_1h));
    return j;
}

void gw_fmt_copy_line(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return;
    if (len >= cap)
        len = gw_str_utf8_cut((gw_str){src, len}, cap - 1);
    for (size_t i = 0; i < len; i++)
        dst[i] = (src[i] == '\n' || src[i] == '\r' || src[i] == '\0') ? ' ' : src[i];
    dst[len] = '\0';
}

size_t gw_fmt_code_points(gw_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.base[i] & 0xC0) != 0x80;
    return n;
}

int gw_fmt_file_name(json_t *file)
{
    const char *d = json_string_value(json_object_get(file, "file_data"));
    if (!json_is_object(file) || !d || json_object_get(file, "filename"))
        return GW_OK;
    static const struct {
        const char *mime, *ext;
    } known[] = {{"application/pdf", "pdf"}, {"text/plain", "txt"},   {"text/markdown", "md"},
                 {"text/csv", "csv"},        {"text/html", "html"},   {"application/json", "json"}};
    const char *ext = "pdf"; /* what Claude documents and OpenAI file inputs mostly are */
    if (strncmp(d, "data:", 5) == 0)
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            size_t n = strlen(known[i].mime);
            if (strncmp(d + 5, known[i].mime, n) == 0 && (d[5 + n] == ';' || d[5 + n] == ','))
                ext = known[i].ext;
        }
    char name[32];
    snprintf(name, sizeof name, "document.%s", ext);
    return json_object_set_new(file, "filename", json_string(name)) ? GW_ENOMEM : GW_OK;
}
