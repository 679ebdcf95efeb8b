/* The client's relay request body (see request.h). */
#include <stdio.h>
#include <string.h>
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/request.h"
#include "adapters/formats/chat_int.h"

_Static_assert(GW_FMT_MAX_TOKENS == GW_RELAY_MAX_TOKENS, "one max_tokens bound");
_Static_assert(sizeof(((struct gw_req_facts *)0)->model) == GW_RELAY_MODEL_MAX, "one model bound");

static int refuse(struct gw_relay_request *out, char *msg, size_t msglen, const char *text)
{
    json_decref(out->body);
    out->body = NULL;
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return GW_EINVAL;
}

/* The part both parsers share: a JSON content type and a JSON object body. */
static int parse_body(const char *content_type, const char *body, size_t len,
                      struct gw_relay_request *out, char *msg, size_t msglen)
{
    char err[200];

    memset(out, 0, sizeof *out);
    if (msglen)
        msg[0] = '\0';
    if (content_type && !strstr(content_type, "json"))
        return refuse(out, msg, msglen, "Content-Type must be application/json");
    out->body = gw_json_parse(body ? body : "", body ? len : 0, 64, err, sizeof err);
    if (!out->body || !json_is_object(out->body)) {
        char m[260];
        snprintf(m, sizeof m, "invalid JSON body: %s", out->body ? "expected an object" : err);
        return refuse(out, msg, msglen, m);
    }
    return GW_OK;
}

int gw_relay_request_parse(enum gw_relay_mode mode, const char *content_type, const char *body,
                           size_t len, struct gw_relay_request *out, char *msg, size_t msglen)
{
    char err[200];
    int rc = parse_body(content_type, body, len, out, msg, msglen);

    if (rc != GW_OK)
        return rc;
    /* the chat format's facts (adapters/formats/chat.c), the same rules for
     * every OpenAI-shaped body; moderations alone may leave the model out */
    struct gw_req_facts f;
    struct gw_path_facts pf = {.model = "text-moderation-stable"};
    int defaulted = mode == GW_RELAY_MODERATIONS && !json_object_get(out->body, "model");
    rc = gw__chat_facts(out->body, defaulted ? &pf : NULL, &f, err, sizeof err);
    if (rc != GW_OK)
        return refuse(out, msg, msglen, err);
    memcpy(out->model, f.model, sizeof out->model);
    out->stream = f.stream && (mode == GW_RELAY_CHAT || mode == GW_RELAY_COMPLETIONS);
    out->client_usage = f.client_usage;
    out->max_tokens = f.max_tokens;
    return GW_OK;
}

int gw_relay_request_parse_as(const struct gw_format *in, const struct gw_path_facts *pf,
                              int whole_facts, const char *content_type, const char *body,
                              size_t len, struct gw_relay_request *out, char *msg, size_t msglen)
{
    char err[200];
    int rc = parse_body(content_type, body, len, out, msg, msglen);

    if (rc != GW_OK)
        return rc;
    if (whole_facts) {
        struct gw_req_facts f;
        if (!in->facts) {
            json_decref(out->body);
            out->body = NULL;
            if (msglen)
                snprintf(msg, msglen, "requests in the %s format are not implemented yet",
                         in->name);
            return GW_ENOTSUP;
        }
        if (in->facts(out->body, pf, &f, err, sizeof err) != GW_OK)
            return refuse(out, msg, msglen, err[0] ? err : "invalid request");
        _Static_assert(sizeof f.model == sizeof out->model, "one model bound");
        memcpy(out->model, f.model, sizeof out->model);
        out->stream = f.stream;
        out->client_usage = f.client_usage;
        out->max_tokens = f.max_tokens;
        if (!out->model[0])
            return refuse(out, msg, msglen, "the request names no model");
        return GW_OK;
    }
    /* counting and embedding: the model only (the path's, else the body's) */
    const json_t *m = json_object_get(out->body, "model");
    const char *name = pf && pf->model ? pf->model : json_string_value(m);
    if (!name || !*name)
        return refuse(out, msg, msglen, "field 'model' is required and must be a string");
    if (strlen(name) >= sizeof out->model)
        return refuse(out, msg, msglen, "field 'model' is too long (at most 191 bytes)");
    snprintf(out->model, sizeof out->model, "%s", name);
    return GW_OK;
}
