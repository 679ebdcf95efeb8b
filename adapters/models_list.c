/* The upstream's model list, as the reference reads it
 * (controller/channel_upstream_update.go fetchChannelUpstreamModelIDs):
 * GET {base}/v1/models with the channel's auth for the OpenAI family
 * (data[].id), Anthropic's /v1/models (data[].id, x-api-key), Gemini's
 * /v1beta/models (models[].name without "models/", paged by
 * nextPageToken, x-goog-api-key), Ollama's /api/tags (models[].name). The
 * channel's header_override and proxy apply as to any attempt. */
#include <stdio.h>
#include <string.h>
#include "adapters/adapter.h"
#include "adapters/adapter_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/routing.h"

#define IDS_MAX 20000    /* model names kept from one answer */
#define NAME_MAX_LEN 512 /* a longer "model name" is not one */

enum list_kind { L_OPENAI, L_ANTHROPIC, L_GEMINI, L_OLLAMA };

static enum list_kind kind_of(int type)
{
    switch (type) {
    case 14: return L_ANTHROPIC;
    case 24: return L_GEMINI;
    case 4: return L_OLLAMA;
    default: return L_OPENAI;
    }
}

static const char *path_of(int type)
{
    switch (type) {
    case 14: return "/v1/models?limit=1000"; /* Anthropic pages by 20 otherwise */
    case 24: return "/v1beta/models";
    case 4: return "/api/tags";
    case 17: return "/compatible-mode/v1/models"; /* Ali */
    case 26: return "/api/paas/v4/models";        /* Zhipu v4 */
    default: return "/v1/models";
    }
}

int gw_adapter_models_request(const struct gw_channel *ch, const char *base_url,
                              const char *api_key, const char *page_token,
                              struct gw_upstream_req *out, char *err, size_t errlen)
{
    char auth[8192];
    enum list_kind k = kind_of(ch->type);
    int rc;
    if (!base_url || !*base_url)
        return gw__err(err, errlen, GW_EINVAL, "the channel has no base URL");
    if (!api_key)
        api_key = "";
    gw_buf_reset(&out->url);
    rc = gw_buf_appends(&out->url, base_url);
    if (rc == GW_OK)
        rc = gw_buf_appends(&out->url, path_of(ch->type));
    if (rc == GW_OK && k == L_GEMINI && page_token && *page_token) {
        rc = gw_buf_appends(&out->url, "?pageToken=");
        if (rc == GW_OK)
            rc = gw__url_escape(&out->url, page_token);
    }
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));
    switch (k) {
    case L_ANTHROPIC:
        rc = gw_upstream_req_set_header(out, "x-api-key", api_key);
        if (rc == GW_OK)
            rc = gw_upstream_req_set_header(out, "anthropic-version", "2023-06-01");
        break;
    case L_GEMINI:
        rc = gw_upstream_req_set_header(out, "x-goog-api-key", api_key);
        break;
    case L_OLLAMA:
        if (!*api_key) /* Ollama usually needs none */
            break;
        /* fall through */
    default:
        if ((size_t)snprintf(auth, sizeof auth, "Bearer %s", api_key) >= sizeof auth)
            return gw__err(err, errlen, GW_ETOOBIG, "API key too long");
        rc = gw_upstream_req_set_header(out, "Authorization", auth);
        break;
    }
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "the key holds a line break");
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .api_key = api_key,
                                 .is_channel_test = 1};
    return gw__oai_finish(ch, &call, out, err, errlen);
}

/* Appends name (trimmed, without "models/" for Gemini) once. */
static int add(json_t *ids, json_t *seen, const char *name, int gemini)
{
    if (!name)
        return GW_OK;
    gw_str s = gw_str_trim(gw_str_c(name));
    if (gemini && s.len >= 7 && memcmp(s.base, "models/", 7) == 0) {
        s.base += 7;
        s.len -= 7;
    }
    if (!s.len || s.len > NAME_MAX_LEN || json_array_size(ids) >= IDS_MAX)
        return GW_OK;
    char buf[NAME_MAX_LEN + 1];
    memcpy(buf, s.base, s.len);
    buf[s.len] = '\0';
    if (json_object_get(seen, buf))
        return GW_OK;
    json_t *v = json_stringn(buf, s.len); /* NULL for invalid UTF-8: skipped */
    if (!v)
        return GW_OK;
    if (json_object_set_new(seen, buf, json_true()) != 0 || json_array_append_new(ids, v) != 0)
        return GW_ENOMEM;
    return GW_OK;
}

int gw_adapter_models_parse(int type, const char *body, size_t len, json_t *ids,
                            char *next_page, size_t next_cap, char *err, size_t errlen)
{
    enum list_kind k = kind_of(type);
    const char *list = k == L_GEMINI || k == L_OLLAMA ? "models" : "data";
    const char *field = k == L_GEMINI || k == L_OLLAMA ? "name" : "id";
    if (next_page && next_cap)
        next_page[0] = '\0';
    json_t *j = gw_json_parse(body, len, 0, NULL, 0);
    const json_t *arr = json_object_get(j, list);
    if (!json_is_array(arr)) {
        json_decref(j);
        return gw__err(err, errlen, GW_EINVAL,
                       "the upstream answer is not a model list (no \"%s\" array)", list);
    }
    json_t *seen = json_object(); /* the names ids holds already (earlier pages) */
    int rc = seen ? GW_OK : GW_ENOMEM;
    for (size_t i = 0; i < json_array_size(ids) && rc == GW_OK; i++)
        if (json_object_set_new(seen, json_string_value(json_array_get(ids, i)), json_true()))
            rc = GW_ENOMEM;
    for (size_t i = 0; i < json_array_size(arr) && rc == GW_OK; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(arr, i), field));
        rc = add(ids, seen, name, k == L_GEMINI);
    }
    const char *tok = json_string_value(json_object_get(j, "nextPageToken"));
    if (rc == GW_OK && k == L_GEMINI && tok && next_page && strlen(tok) < next_cap)
        snprintf(next_page, next_cap, "%s", tok);
    json_decref(seen);
    json_decref(j);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "out of memory");
    return GW_OK;
}
