/* Internals of the Responses codec (responses.c, responses_req.c,
 * responses_stream.c): the members of gw_format_responses that live in the
 * other two files. See adapters/format.h for each contract. */
#ifndef GW_ADAPTERS_FORMATS_RESPONSES_INT_H
#define GW_ADAPTERS_FORMATS_RESPONSES_INT_H

#include "adapters/format.h"

int gw__resp_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                        char *msg, size_t msglen);
int gw__resp_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                          char *msg, size_t msglen);

int gw__resp_decode(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                    gw_ev_cb emit, void *ctx);
int gw__resp_encode(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                    gw_out_cb out, void *ctx);
void gw__resp_stream_free(struct gw_stream_state *st);
int gw__resp_stream_error(struct gw_stream_state *st, const char *type, const char *code,
                          const char *msg, gw_out_cb out, void *ctx);

/* Responses usage object ({input_tokens, output_tokens, total_tokens,
 * input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens})
 * → struct gw_usage (zeroed first; present = 0 when absent or all zero). */
void gw__resp_usage_read(const json_t *usage, struct gw_usage *u);
/* struct gw_usage → a new Responses usage object. */
json_t *gw__resp_usage_json(const struct gw_usage *u);
/* Output item ids: prefix + "_" + the base id's tail (or random). Writes
 * into dst (NUL-terminated, cut to fit). */
void gw__resp_item_id(char *dst, size_t cap, const char *prefix, const char *base);

#endif
