/* Gemini (channel type 24): Google's Generative Language API.
 *
 * URL: {base}/{version}/models/{model}:{action}, the version from the
 * channel's `other` when set, else the reference's version setting
 * (v1 for gemini-1.0-pro, v1beta for everything else). The action is
 * generateContent, or streamGenerateContent?alt=sse when streaming (the
 * relay reads SSE; it frames a JSON-array stream for clients that asked
 * for one), embedContent / batchEmbedContents for embeddings; on the
 * same-format path the client's action and query go up as they came,
 * minus its key. The key travels in x-goog-api-key, never in the URL.
 * The body is already in Gemini's format (the relay converts it); the
 * channel's param_override, header_override and proxy apply as for every
 * adapter. */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

static enum gw_wire gemini_wire(const struct gw_channel *ch, const struct gw_relay_call *call)
{
    (void)ch;
    (void)call;
    return GW_WIRE_GEMINI; /* generation and embeddings alike: Gemini speaks only its own */
}

static const char *version_of(const struct gw_channel *ch, const char *model, char *buf,
                              size_t cap)
{
    gw_str o = gw_str_trim(gw_str_c(ch->other));
    if (o.len > 0 && o.len < cap && !memchr(o.base, '/', o.len) && !memchr(o.base, '?', o.len)) {
        memcpy(buf, o.base, o.len);
        buf[o.len] = '\0';
        return buf;
    }
    return strcmp(model, "gemini-1.0-pro") == 0 ? "v1" : "v1beta";
}

/* The action named by a client path ".../models/x:action?query", or NULL. */
static const char *client_action(const char *path, size_t *len, const char **query)
{
    const char *q = strchr(path, '?');
    const char *end = q ? q : path + strlen(path);
    const char *colon = NULL;
    for (const char *p = path; p < end; p++)
        if (*p == ':')
            colon = p;
    *query = q ? q + 1 : "";
    if (!colon)
        return NULL;
    *len = (size_t)(end - colon - 1);
    return colon + 1;
}

/* The client's query minus key (and alt, which a stream sets itself). */
static int keep_query(gw_buf *url, const char *query, int stream, int *first)
{
    gw_str rest = gw_str_c(query), tok;
    int rc = GW_OK;
    while (rc == GW_OK && gw_str_split(&rest, '&', &tok)) {
        if (tok.len == 0 || gw_str_has_prefix(tok, GW_STRLIT("key=")) ||
            gw_str_eq(tok, GW_STRLIT("key")) ||
            (stream && gw_str_has_prefix(tok, GW_STRLIT("alt="))))
            continue;
        rc = gw_buf_append(url, *first ? "?" : "&", 1);
        if (rc == GW_OK)
            rc = gw_buf_append(url, tok.base, tok.len);
        *first = 0;
    }
    return rc;
}

static int build_url(const struct gw_channel *ch, const char *base,
                     const struct gw_relay_call *call, const char *model, gw_buf *url, char *err,
                     size_t errlen)
{
    static const char *const known[] = {"generateContent", "streamGenerateContent", "countTokens",
                                        "embedContent", "batchEmbedContents"};
    char vbuf[64];
    const char *action = NULL, *query = "";
    size_t alen = 0;
    int rc, first = 1;

    /* only a Gemini path is the client's own (same-format) call */
    if (call->path && strstr(call->path, "/models/") && strchr(call->path, ':')) {
        action = client_action(call->path, &alen, &query);
        int ok = 0;
        for (size_t i = 0; action && i < sizeof known / sizeof known[0]; i++)
            ok |= strlen(known[i]) == alen && memcmp(known[i], action, alen) == 0;
        if (!ok)
            return gw__err(err, errlen, GW_EINVAL, "unsupported Gemini action in %s", call->path);
    } else if (call->mode == GW_RELAY_EMBEDDINGS) {
        action = json_object_get(call->body, "requests") ? "batchEmbedContents" : "embedContent";
        alen = strlen(action);
    } else {
        action = call->stream ? "streamGenerateContent" : "generateContent";
        alen = strlen(action);
    }
    int stream = alen == 21 && memcmp(action, "streamGenerateContent", 21) == 0;
    rc = gw_buf_appendf(url, "%s/%s/models/", base, version_of(ch, model, vbuf, sizeof vbuf));
    if (rc == GW_OK)
        rc = gw__url_escape(url, model);
    if (rc == GW_OK)
        rc = gw_buf_append(url, ":", 1);
    if (rc == GW_OK)
        rc = gw_buf_append(url, action, alen);
    if (rc == GW_OK && stream) {
        rc = gw_buf_appends(url, "?alt=sse");
        first = 0;
    }
    if (rc == GW_OK)
        rc = keep_query(url, query, stream, &first);
    return rc == GW_OK ? GW_OK : gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));
}

/* Embedding bodies name the model ("models/x") in each request: mapped. */
static int map_embed_model(json_t *body, const char *model)
{
    char name[256];
    size_t i;
    json_t *r;
    if (snprintf(name, sizeof name, "models/%s", model) >= (int)sizeof name)
        return GW_ETOOBIG;
    if (json_object_get(body, "model") && json_object_set_new(body, "model", json_string(name)))
        return GW_EINVAL;
    json_array_foreach(json_object_get(body, "requests"), i, r)
        if (json_is_object(r) && json_object_set_new(r, "model", json_string(name)))
            return GW_EINVAL;
    return GW_OK;
}

static int gemini_build(const struct gw_channel *ch, const char *base_url,
                        const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                        size_t errlen)
{
    const char *model = call->upstream_model && *call->upstream_model ? call->upstream_model
                                                                      : call->model;
    int rc;

    rc = gw__build_need(base_url, call, err, errlen);
    if (rc != GW_OK)
        return rc;
    if (model == NULL || *model == '\0')
        return gw__err(err, errlen, GW_EINVAL, "no model for this attempt");
    if (!json_is_object(call->body))
        return gw__err(err, errlen, GW_EINVAL, "request body is not a JSON object");
    if (strncmp(model, "models/", 7) == 0)
        model += 7;

    gw_buf_reset(&out->url);
    rc = build_url(ch, base_url, call, model, &out->url, err, errlen);
    if (rc != GW_OK)
        return rc;
    if (call->mode == GW_RELAY_EMBEDDINGS && map_embed_model(call->body, model) != GW_OK)
        return gw__err(err, errlen, GW_EINVAL, "embedding model name is not valid");
    rc = gw__body_finish(ch, call, model, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    rc = gw__oai_headers(call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    if (gw_upstream_req_set_header(out, "x-goog-api-key", call->api_key) != GW_OK)
        return gw__err(err, errlen, GW_EINVAL, "key holds a line break");
    return gw__oai_finish(ch, call, out, err, errlen);
}

/* Reading the answers is the Gemini format's (adapters/formats/gemini.c). */
const struct gw_adapter gw_adapter_gemini = {
    .name = "gemini",
    .wire = gemini_wire,
    .build = gemini_build,
};
