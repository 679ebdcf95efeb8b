/* The relay: one call from a client (in any of the four formats of
 * adapters/format.h) to an upstream channel, as a small explicit state
 * machine (relay.c, enum gw_rstate in relay_call.h):
 *
 *   KEY      resolve the token key (worker cache, else one GET + HMGET)
 *   AUTH     price, estimate, authorize+limit+reserve   [1 Redis round trip]
 *   ROUTE    pick a channel (in-process table), map the model
 *   UPSTREAM adapter builds the request; curl transfer on the loop
 *   RELAY    stream events / the body to the client as they arrive
 *            (a retryable failure before the first byte goes back to ROUTE)
 *   SETTLE   actual cost, refund/extra, ledger entry    [1 Redis round trip]
 *
 * A client that disconnects in any state aborts the upstream transfer and
 * the call is still settled for what was used. */
#ifndef GW_RELAY_RELAY_H
#define GW_RELAY_RELAY_H

#include <stdint.h>
#include "gateway/http/server.h"

struct gw_worker;
struct gw_routing;
struct gw_ratios;

/* Per-worker relay state: the routing table and ratio tables (rebuilt when
 * the options snapshot changes), and the token-key cache. */
struct gw_relay_worker;

int gw_relay_worker_init(struct gw_worker *w);
/* Closes the relay's handles (shutdown); free once the loop has ended. */
void gw_relay_worker_stop(struct gw_worker *w);
void gw_relay_worker_free(struct gw_worker *w);

/* Route handlers. */
void gw_relay_chat(gw_req *r);
void gw_relay_completions(gw_req *r);
void gw_relay_embeddings(gw_req *r);
void gw_relay_moderations(gw_req *r);
/* POST /v1/messages and /v1/messages/count_tokens (Anthropic format). */
void gw_relay_messages(gw_req *r);
void gw_relay_messages_count(gw_req *r);
/* POST /v1/responses (OpenAI Responses format). */
void gw_relay_responses(gw_req *r);
/* POST /pg/chat/completions (reference controller/playground.go): the
 * console's playground. The caller is the signed-in user uid (the route's
 * guard checked the console session); no token: the call is routed in the
 * user's group, or the body's "group" when the user may use it (checked at
 * KEY, taken out of the body), limited and billed on the user alone, and
 * logged as token "playground-<group>" with token_id 0. Otherwise the same
 * machine as /v1/chat/completions (streaming or not). */
void gw_relay_playground(gw_req *r, long long uid);
/* POST /v1beta/models/{model}:{action} and /v1/models/{model}:{action}:
 * generateContent, streamGenerateContent (?alt=sse: SSE, else a JSON
 * array), countTokens, embedContent, batchEmbedContents (Gemini format). */
void gw_relay_gemini(gw_req *r);
void gw_relay_models(gw_req *r);
/* GET /v1/models/{id} and /v1beta/models/{id}: one model, or a 404. */
void gw_relay_model_get(gw_req *r);
/* /dashboard/billing/subscription and /usage (OpenAI-compatible shapes). */
void gw_relay_dashboard_billing(gw_req *r);
/* Other /v1 paths: 501 in OpenAI error form until their issue lands. */
void gw_relay_not_implemented(gw_req *r);
/* GET/DELETE /v1/responses/{id}, POST …/cancel, GET …/input_items
 * (responses_ops.c): relayed to the channel that served the response. */
void gw_relay_responses_op(gw_req *r);

#endif
