/* Azure OpenAI: OpenAI's wire format at a deployment URL,
 * {base}/openai/deployments/{deployment}/{task}?api-version={v}, with the
 * key in "api-key". The deployment is the upstream model name as is: new-api
 * drops dots only for channels created before 2025-05-10
 * (AzureNoRemoveDotTime), and channels here are newer than that. */
#include <string.h>

#include "adapters/adapter_int.h"
#include "adapters/formats/chat_int.h"
#include "gateway/core/err.h"
#include "gateway/relay/routing.h"

#define CLOUDFLARE_GATEWAY "https://gateway.ai.cloudflare.com"

static const char *default_version = GW_AZURE_DEFAULT_API_VERSION;

void gw_azure_set_default_api_version(const char *v)
{
    default_version = v && *v ? v : GW_AZURE_DEFAULT_API_VERSION;
}

/* "/v1/chat/completions?x" → "chat/completions". */
static gw_str task_of(const struct gw_relay_call *call)
{
    const char *p = call->path;
    if (p == NULL || *p == '\0') {
        switch (call->mode) {
        case GW_RELAY_COMPLETIONS: p = "/v1/completions"; break;
        case GW_RELAY_EMBEDDINGS: p = "/v1/embeddings"; break;
        case GW_RELAY_MODERATIONS: p = "/v1/moderations"; break;
        default: p = "/v1/chat/completions"; break;
        }
    }
    const char *q = strchr(p, '?');
    gw_str s = {p, q ? (size_t)(q - p) : strlen(p)};
    if (gw_str_has_prefix(s, GW_STRLIT("/v1/"))) {
        s.base += 4;
        s.len -= 4;
    } else if (s.len > 0 && s.base[0] == '/') {
        s.base++;
        s.len--;
    }
    return s;
}

/* The channel's API version (`other`), else the default; into v. */
static void api_version(const struct gw_channel *ch, char *v, size_t cap)
{
    gw_str ver = gw_str_trim(gw_str_c(ch->other));
    if (ver.len == 0 || ver.len >= cap)
        ver = gw_str_c(default_version);
    memcpy(v, ver.base, ver.len < cap ? ver.len : cap - 1);
    v[ver.len < cap ? ver.len : cap - 1] = '\0';
}

/* The Responses API, as the reference builds it: {base}/openai/v1/responses
 * with api-version "preview", or on a cognitiveservices.azure.com resource
 * {base}/openai/responses with the channel's version. tail follows
 * "responses" ("" or "/{id}…", without the client's query). */
/* The URL's tail: the path part, then ?api-version=v. */
static int path_version(gw_buf *url, gw_str path, const char *v)
{
    int rc = gw_buf_append(url, path.base, path.len);
    if (rc == GW_OK)
        rc = gw_buf_appends(url, "?api-version=");
    if (rc == GW_OK)
        rc = gw__url_escape(url, v);
    return rc;
}

static int responses_url(const char *base, const struct gw_channel *ch, gw_str tail,
                         gw_buf *url)
{
    char v[128] = "preview";
    int cs = strstr(base, "cognitiveservices.azure.com") != NULL;
    if (cs)
        api_version(ch, v, sizeof v);
    int rc = gw_buf_appends(url, base);
    if (rc == GW_OK)
        rc = gw_buf_appends(url, cs ? "/openai/responses" : "/openai/v1/responses");
    return rc == GW_OK ? path_version(url, tail, v) : rc;
}

int gw__azure_responses_op(const struct gw_channel *ch, const char *base_url,
                           const char *api_key, const char *path, struct gw_upstream_req *out,
                           char *err, size_t errlen)
{
    static const char pfx[] = "/v1/responses";
    if (base_url == NULL || *base_url == '\0')
        return gw__err(err, errlen, GW_EINVAL, "Azure channel has no base URL");
    if (api_key == NULL || strncmp(path, pfx, sizeof pfx - 1) != 0)
        return gw__err(err, errlen, GW_EINVAL, "no API key or not a Responses path");
    const char *q = strchr(path, '?');
    gw_str tail = {path + sizeof pfx - 1, (q ? (size_t)(q - path) : strlen(path)) - (sizeof pfx - 1)};
    gw_buf_reset(&out->url);
    int rc = responses_url(base_url, ch, tail, &out->url);
    if (rc == GW_OK && q) { /* the client's own query (after, input_items' limit ...) */
        rc = gw_buf_appends(&out->url, "&");
        if (rc == GW_OK)
            rc = gw_buf_appends(&out->url, q + 1);
    }
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));
    rc = gw_upstream_req_set_header(out, "api-key", api_key);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "API key holds a line break");
    return gw__resp_op_finish(ch, api_key, path, out, err, errlen);
}

static int build_url(const char *base, const struct gw_channel *ch,
                     const struct gw_relay_call *call, gw_buf *url)
{
    if (call->wire == GW_WIRE_RESPONSES)
        return responses_url(base, ch, (gw_str){"", 0}, url);
    gw_str task = task_of(call), ver = gw_str_trim(gw_str_c(ch->other));
    char v[128];
    int rc;

    if (ver.len == 0 || ver.len >= sizeof v)
        ver = gw_str_c(default_version);
    memcpy(v, ver.base, ver.len < sizeof v ? ver.len : sizeof v - 1);
    v[ver.len < sizeof v ? ver.len : sizeof v - 1] = '\0';

    rc = gw_buf_appends(url, base);
    /* A Cloudflare AI Gateway base already ends in .../azure-openai/{resource}. */
    if (rc == GW_OK && strncmp(base, CLOUDFLARE_GATEWAY, sizeof CLOUDFLARE_GATEWAY - 1) != 0)
        rc = gw_buf_appends(url, "/openai/deployments");
    if (rc == GW_OK)
        rc = gw_buf_appends(url, "/");
    if (rc == GW_OK)
        rc = gw__url_escape(url, call->upstream_model ? call->upstream_model : "");
    if (rc == GW_OK)
        rc = gw_buf_appends(url, "/");
    return rc == GW_OK ? path_version(url, task, v) : rc;
}

static int azure_build(const struct gw_channel *ch, const char *base_url,
                       const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                       size_t errlen)
{
    int rc;

    if (base_url == NULL || *base_url == '\0')
        return gw__err(err, errlen, GW_EINVAL, "Azure channel has no base URL");
    if (call->api_key == NULL)
        return gw__err(err, errlen, GW_EINVAL, "no API key for this attempt");
    if (call->upstream_model == NULL || *call->upstream_model == '\0')
        return gw__err(err, errlen, GW_EINVAL, "Azure needs a deployment (model) name");

    gw_buf_reset(&out->url);
    rc = build_url(base_url, ch, call, &out->url);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));
    rc = gw__oai_body(ch, gw_channel_type(ch->type), call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    rc = gw__oai_headers(call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    rc = gw_upstream_req_set_header(out, "api-key", call->api_key);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "API key holds a line break");
    return gw__oai_finish(ch, call, out, err, errlen);
}

const struct gw_adapter gw_adapter_azure = {
    .name = "azure",
    .wire = gw__oai_wire,
    .build = azure_build,
};
