/* The client's relay request, parsed: the pure part of the relay's entry
 * (relay_io.c), with no request, worker or loop, so that unit tests and the
 * fuzz target (tests/fuzz/fuzz_relay_request.c) reach exactly the code the
 * gateway runs. */
#ifndef GW_RELAY_REQUEST_H
#define GW_RELAY_REQUEST_H

#include <stddef.h>
#include <jansson.h>
#include "adapters/adapter.h"

#define GW_RELAY_MODEL_MAX 192   /* bytes with the NUL: rcall.model */
#define GW_RELAY_MAX_TOKENS 100000000LL

struct gw_relay_request {
    json_t *body;                   /* the client's object (owned: json_decref) */
    char model[GW_RELAY_MODEL_MAX]; /* non-empty */
    int stream;                     /* "stream": true, for chat and completions */
    int client_usage;               /* stream_options.include_usage is true */
    long long max_tokens;           /* max(max_tokens, max_completion_tokens), 0..1e8 */
};

/* Checks content_type (NULL: absent; else it must mention "json"), parses
 * body[0..len) (depth 64) as a JSON object and reads model (moderations
 * default to "text-moderation-stable"), stream, stream_options and the
 * token limits. GW_OK fills *out; GW_EINVAL leaves out->body NULL and puts
 * the client-facing message in msg (an invalid_request_error). */
int gw_relay_request_parse(enum gw_relay_mode mode, const char *content_type, const char *body,
                           size_t len, struct gw_relay_request *out, char *msg, size_t msglen);

/* The same for a client format other than chat (adapters/format.h): the
 * body as above, then, with whole_facts, in->facts (path facts pf win;
 * GW_ENOTSUP with a message when the codec has no facts yet); without, only
 * the model (pf->model, else the body's "model"; count_tokens and the
 * Gemini embedding calls). */
int gw_relay_request_parse_as(const struct gw_format *in, const struct gw_path_facts *pf,
                              int whole_facts, const char *content_type, const char *body,
                              size_t len, struct gw_relay_request *out, char *msg, size_t msglen);

#endif
