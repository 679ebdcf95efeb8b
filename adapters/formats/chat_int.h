/* The chat codec's members, shared by chat.c, chat_stream.c and, until the
 * relay reads everything through struct gw_format, the OpenAI-compatible
 * adapters' parse_response / stream_event / parse_error (openai.c, azure.c). */
#ifndef GW_ADAPTERS_FORMATS_CHAT_INT_H
#define GW_ADAPTERS_FORMATS_CHAT_INT_H

#include "adapters/adapter.h"
#include "adapters/format.h"

/* The bound of max_tokens / max_completion_tokens (GW_RELAY_MAX_TOKENS). */
#define GW_FMT_MAX_TOKENS 100000000LL

int gw__chat_facts(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                   char *msg, size_t msglen);
/* Removes what only the hub knows from a chat request (in place): every
 * "gw_*" key at the top level, in messages, parts and tools; cache_control
 * on parts and tools; reasoning_content except as a non-empty string on an
 * assistant message. */
int gw__chat_clean_request(json_t *req);
/* A chat usage object → u (zeroed first; all zero when absent or zero). */
void gw__chat_read_usage(const json_t *usage, struct gw_usage *u);
int gw__chat_usage(const char *body, size_t len, struct gw_usage *u);
int gw__chat_parse_error(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                         size_t codecap);
int gw__chat_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                    gw_ev_cb emit, void *ctx);
int gw__chat_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                    gw_out_cb out, void *ctx);
int gw__chat_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                          const char *msg, gw_out_cb out, void *ctx);

#endif
