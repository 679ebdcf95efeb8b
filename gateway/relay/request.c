/* The client's relay request body (see request.h). */
#include <stdio.h>
#include <string.h>
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/request.h"

static int refuse(struct gw_relay_request *out, char *msg, size_t msglen, const char *text)
{
    json_decref(out->body);
    out->body = NULL;
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return GW_EINVAL;
}

int gw_relay_request_parse(enum gw_relay_mode mode, const char *content_type, const char *body,
                           size_t len, struct gw_relay_request *out, char *msg, size_t msglen)
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
    const json_t *model = json_object_get(out->body, "model");
    if (mode == GW_RELAY_MODERATIONS && !model)
        snprintf(out->model, sizeof out->model, "text-moderation-stable");
    else if (!json_is_string(model) || !json_string_length(model))
        return refuse(out, msg, msglen, "field 'model' is required and must be a string");
    else if (json_string_length(model) >= sizeof out->model)
        /* Never cut: a cut name could be routed and billed as another model. */
        return refuse(out, msg, msglen, "field 'model' is too long (at most 191 bytes)");
    else
        snprintf(out->model, sizeof out->model, "%s", json_string_value(model));
    const json_t *st = json_object_get(out->body, "stream");
    if (st && !json_is_boolean(st))
        return refuse(out, msg, msglen, "field 'stream' must be a boolean");
    out->stream = json_is_true(st) && (mode == GW_RELAY_CHAT || mode == GW_RELAY_COMPLETIONS);
    const json_t *so = json_object_get(out->body, "stream_options");
    out->client_usage = json_is_true(json_object_get(so, "include_usage"));
    long long mt = 0, mct = 0;
    gw_json_get_int(out->body, "max_tokens", &mt);
    gw_json_get_int(out->body, "max_completion_tokens", &mct);
    out->max_tokens = mt > mct ? mt : mct;
    if (out->max_tokens < 0 || out->max_tokens > GW_RELAY_MAX_TOKENS)
        return refuse(out, msg, msglen, "field 'max_tokens' is out of range");
    return GW_OK;
}
