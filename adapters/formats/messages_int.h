/* Internals of the Anthropic Messages codec, split over two files:
 * messages.c (the request side: facts, request ↔ hub) and
 * messages_resp.c (responses, usage, errors and streams). */
#ifndef GW_ADAPTERS_FORMATS_MESSAGES_INT_H
#define GW_ADAPTERS_FORMATS_MESSAGES_INT_H

#include "adapters/format.h"

/* The reference's Claude default max_tokens (model_setting claude
 * default_max_tokens["default"]): Claude refuses a request without one. */
#define GW_MSG_DEFAULT_MAX_TOKENS 8192

int gw__msg_resp_to_hub(const json_t *resp, json_t **hub);
int gw__msg_resp_from_hub(const json_t *hub, const char *model, json_t **out);
int gw__msg_usage(const char *body, size_t len, struct gw_usage *u);
int gw__msg_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                        size_t codecap);
int gw__msg_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                   gw_ev_cb emit, void *ctx);
int gw__msg_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                   gw_out_cb out, void *ctx);
json_t *gw__msg_error_body(int status, const char *type, const char *code, const char *msg);
int gw__msg_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                         const char *msg, gw_out_cb out, void *ctx);

/* One event for a stateless meter: *u (may be NULL) holds the usage so
 * far and is updated; *chars (may be NULL) gains the code points of text,
 * thinking and tool arguments. Returns a gw_dec_action. */
int gw__msg_meter(const struct gw_sse_event *ev, struct gw_usage *u, size_t *chars);

/* Claude usage object → struct gw_usage (prompt = input + cache reads +
 * cache writes, as the hub counts it). */
void gw__msg_usage_read(const json_t *usage, struct gw_usage *u);
/* struct gw_usage → Claude usage object (input_tokens without the cache
 * counts). NULL on OOM. */
json_t *gw__msg_usage_json(const struct gw_usage *u);
/* Claude stop_reason ↔ chat finish_reason. */
const char *gw__msg_finish_of(const char *stop_reason);
const char *gw__msg_stop_of(const char *finish);

#endif
