/* Embeddings, OpenAI <-> Gemini (gemini_embed.h). */
#include <stdio.h>
#include <string.h>

#include "adapters/formats/gemini_embed.h"
#include "adapters/formats/gemini_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static int refuse(char *msg, size_t msglen, const char *text)
{
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return GW_EINVAL;
}

static json_t *one_request(const char *name, const json_t *text, const json_t *dims)
{
    json_t *r = json_pack("{s:s,s:{s:[{s:O}]}}", "model", name, "content", "parts", "text", text);
    if (r && json_is_integer(dims) && json_integer_value(dims) > 0)
        json_object_set(r, "outputDimensionality", (json_t *)dims);
    return r;
}

int gw_gemini_embed_req_from_openai(const json_t *oai, const char *model, json_t **out,
                                    char *msg, size_t msglen)
{
    const json_t *in = json_object_get(oai, "input"), *dims = json_object_get(oai, "dimensions");
    char name[256];
    size_t i;
    json_t *e;

    *out = NULL;
    if (!json_is_object(oai))
        return refuse(msg, msglen, "request body must be a JSON object");
    if (!model || snprintf(name, sizeof name, "models/%s", model) >= (int)sizeof name)
        return refuse(msg, msglen, "model name too long");
    if (json_is_string(in)) {
        *out = one_request(name, in, dims);
        return *out ? GW_OK : GW_ENOMEM;
    }
    if (!json_is_array(in) || json_array_size(in) == 0)
        return refuse(msg, msglen, "input is required: a string or an array of strings");
    json_array_foreach(in, i, e)
        if (!json_is_string(e))
            return refuse(msg, msglen,
                          "Gemini embeds text only: input must be a string or an array of strings");
    if (json_array_size(in) == 1) {
        *out = one_request(name, json_array_get(in, 0), dims);
        return *out ? GW_OK : GW_ENOMEM;
    }
    json_t *reqs = json_array();
    json_array_foreach(in, i, e)
        json_array_append_new(reqs, one_request(name, e, dims));
    *out = json_pack("{s:o}", "requests", reqs);
    return *out ? GW_OK : GW_ENOMEM;
}

int gw_gemini_embed_resp_to_openai(const json_t *resp, const char *model, long long prompt_tokens,
                                   json_t **out)
{
    const json_t *one = json_object_get(resp, "embedding");
    const json_t *many = json_object_get(resp, "embeddings");
    json_t *data = json_array(), *e;
    size_t i;

    *out = NULL;
    if (json_is_object(one)) {
        json_array_append_new(data, json_pack("{s:s,s:O,s:i}", "object", "embedding", "embedding",
                                              json_object_get(one, "values"), "index", 0));
    } else if (json_is_array(many)) {
        json_array_foreach(many, i, e)
            json_array_append_new(data, json_pack("{s:s,s:O,s:I}", "object", "embedding",
                                                  "embedding", json_object_get(e, "values"),
                                                  "index", (json_int_t)i));
    }
    if ((!json_is_object(one) && !json_is_array(many)) ||
        json_array_size(data) != (json_is_object(one) ? 1 : json_array_size(many))) {
        json_decref(data); /* neither shape, or an embedding without values */
        return GW_EINVAL;
    }
    if (prompt_tokens < 0)
        prompt_tokens = 0;
    *out = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model",
                     model ? model : "", "usage", "prompt_tokens", (json_int_t)prompt_tokens,
                     "total_tokens", (json_int_t)prompt_tokens);
    return *out ? GW_OK : GW_ENOMEM;
}

/* The text of a Content's parts joined by "\n" (Gemini embeds only text). */
static json_t *content_text(const json_t *content)
{
    gw_buf b;
    size_t i;
    json_t *p, *r = NULL;
    int rc = GW_OK;

    gw_buf_init(&b, GW_GEM_TEXT_MAX);
    if (json_is_string(content))
        rc = gw_buf_appends(&b, json_string_value(content));
    json_array_foreach(json_object_get(content, "parts"), i, p) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t) || rc != GW_OK)
            continue;
        if (b.len)
            rc = gw_buf_append(&b, "\n", 1);
        if (rc == GW_OK)
            rc = gw_buf_append(&b, json_string_value(t), json_string_length(t));
    }
    if (rc == GW_OK && b.len)
        r = json_stringn(b.base, b.len);
    gw_buf_free(&b);
    return r;
}

int gw_gemini_embed_req_to_openai(const json_t *gem, const char *model, json_t **out, int *batch,
                                  char *msg, size_t msglen)
{
    const json_t *reqs = json_object_get(gem, "requests"), *r;
    const json_t *dims = NULL;
    json_t *input = NULL;
    size_t i;

    *out = NULL;
    *batch = json_is_array(reqs);
    if (!json_is_object(gem))
        return refuse(msg, msglen, "request body must be a JSON object");
    if (*batch) {
        if (json_array_size(reqs) == 0)
            return refuse(msg, msglen, "requests must not be empty");
        input = json_array();
        json_array_foreach(reqs, i, r) {
            json_t *t = content_text(json_object_get(r, "content"));
            if (!t) {
                json_decref(input);
                return refuse(msg, msglen, "every request needs a content with text parts");
            }
            json_array_append_new(input, t);
            if (!dims)
                dims = gw__gem_get(r, "outputDimensionality", "output_dimensionality");
        }
    } else {
        input = content_text(json_object_get(gem, "content"));
        if (!input)
            return refuse(msg, msglen, "content with text parts is required");
        dims = gw__gem_get(gem, "outputDimensionality", "output_dimensionality");
    }
    json_t *o = json_pack("{s:s,s:o,s:s}", "model", model ? model : "", "input", input,
                          "encoding_format", "float");
    if (o && json_is_integer(dims) && json_integer_value(dims) > 0)
        json_object_set(o, "dimensions", (json_t *)dims);
    *out = o;
    return o ? GW_OK : GW_ENOMEM;
}

int gw_gemini_embed_resp_from_openai(const json_t *oai, int batch, json_t **out)
{
    const json_t *data = json_object_get(oai, "data");
    size_t n = json_array_size(data), i;
    json_t *e;

    *out = NULL;
    if (!json_is_array(data) || n == 0)
        return GW_EINVAL;
    json_t *vals = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(vals, json_null());
    json_array_foreach(data, i, e) { /* by "index": the order of the inputs */
        const json_t *ix = json_object_get(e, "index");
        size_t at = json_is_integer(ix) && json_integer_value(ix) >= 0 &&
                            (size_t)json_integer_value(ix) < n
                        ? (size_t)json_integer_value(ix)
                        : i;
        json_array_set_new(vals, at, json_pack("{s:O}", "values", json_object_get(e, "embedding")));
    }
    json_array_foreach(vals, i, e)
        if (!json_is_object(e) || !json_is_array(json_object_get(e, "values"))) {
            json_decref(vals);
            return GW_EINVAL; /* base64 embeddings, or an index missing */
        }
    if (batch)
        *out = json_pack("{s:o}", "embeddings", vals);
    else {
        *out = json_pack("{s:O}", "embedding", json_array_get(vals, 0));
        json_decref(vals);
    }
    return *out ? GW_OK : GW_ENOMEM;
}

int gw_gemini_embed_request(enum gw_wire client, enum gw_wire upstream, const json_t *body,
                            const char *upstream_model, json_t **out, int *batch, char *msg,
                            size_t msglen)
{
    *out = NULL;
    *batch = json_is_array(json_object_get(body, "requests"));
    if (client == upstream)
        return GW_OK;
    if (client == GW_WIRE_CHAT && upstream == GW_WIRE_GEMINI) {
        int rc = gw_gemini_embed_req_from_openai(body, upstream_model, out, msg, msglen);
        *batch = rc == GW_OK && json_object_get(*out, "requests") != NULL;
        return rc;
    }
    if (client == GW_WIRE_GEMINI && upstream == GW_WIRE_CHAT)
        return gw_gemini_embed_req_to_openai(body, upstream_model, out, batch, msg, msglen);
    if (msglen)
        snprintf(msg, msglen, "embeddings cannot be converted between these formats");
    return GW_ENOTSUP;
}

int gw_gemini_embed_response(enum gw_wire client, enum gw_wire upstream, const char *body,
                             size_t len, const char *client_model, long long prompt_estimate,
                             int batch, json_t **out)
{
    *out = NULL;
    if (client == upstream || !body)
        return client == upstream ? GW_OK : GW_EINVAL;
    json_t *j = gw_json_parse(body, len, 0, NULL, 0);
    int rc = GW_ENOTSUP;
    if (!json_is_object(j))
        rc = GW_EINVAL;
    else if (client == GW_WIRE_CHAT && upstream == GW_WIRE_GEMINI)
        rc = gw_gemini_embed_resp_to_openai(j, client_model, prompt_estimate, out);
    else if (client == GW_WIRE_GEMINI && upstream == GW_WIRE_CHAT)
        rc = gw_gemini_embed_resp_from_openai(j, batch, out);
    json_decref(j);
    return rc;
}
