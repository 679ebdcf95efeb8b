/* One relayed call: the state the relay's states share (relay.c, relay_io.c). */
#ifndef GW_RELAY_RELAY_CALL_H
#define GW_RELAY_RELAY_CALL_H

#include <stdint.h>
#include <jansson.h>
#include "adapters/adapter.h"
#include "gateway/http/sse.h"
#include "gateway/http/upstream.h"
#include "gateway/relay/relay_int.h"

#define GW_RELAY_MAX_TRIES 16

/* Where a call is (relay.c's header has the diagram). Every change goes
 * through gw__relay_to(), which refuses (logs, and keeps the call where it
 * is) a transition the machine does not have. */
enum gw_rstate {
    GW_RS_KEY = 0,  /* reading the token key's fields (relay_key.c) */
    GW_RS_AUTH,     /* authorize sent; nothing started */
    GW_RS_SPEC,     /* authorize sent and the upstream already started
                       (SPECULATIVE_AUTH): nothing reaches the client, no call
                       ends; `held` says what waits for the reply */
    GW_RS_ROUTE,    /* authorized: picking a channel (again after a failed try) */
    GW_RS_UPSTREAM, /* a transfer runs; nothing sent to the client yet */
    GW_RS_RELAY,    /* a stream's headers went out: committed to this channel */
    GW_RS_SETTLE,   /* settle.lua sent or waiting for a retry (relay_settle.c) */
    GW_RS_DONE,     /* freed (never seen by a live call) */
};

/* In GW_RS_SPEC: what happened before the authorize reply and waits for it. */
enum gw_held {
    GW_HELD_NONE = 0,
    GW_HELD_ROUTE,  /* no channel (or every try failed): the answer waits */
    GW_HELD_DONE,   /* the transfer finished: held_result/held_err */
    GW_HELD_SETTLE, /* the client left: settle (nothing delivered) once known */
};

/* The mid-stream budget (relay_stream.c). */
enum gw_budget {
    GW_BUDGET_GROWS = 0, /* extend.lua may still grow the reservation */
    GW_BUDGET_SPENT,     /* it can grow no more: cut before the delivered cost
                            passes the reservation */
    GW_BUDGET_CUT,       /* cut: the client got the error event, the transfer ends */
};

struct rcall {
    enum gw_rstate state;
    gw_req *r;                  /* referenced until the call is freed */
    struct gw_worker *w;
    enum gw_relay_mode mode;
    const struct gw_format *in; /* the client's format: facts, rendering, errors */
    struct gw_path_facts pf;    /* what the path says (Gemini: model, stream, alt=sse) */
    const char *client_path;    /* path (and query, minus key=) as it goes up on the
                                   same-format path; in r's arena */
    int count_only;             /* count_tokens: key checks, then the local estimate */
    json_t *body;               /* parsed once */
    char model[192];
    char upstream_model[192];
    int stream, client_usage;
    long long max_tokens;
    char ip[64];
    const char *content;        /* log content ("" normally) */

    /* KEY */
    char keyhash[65];
    struct gw_key_info key;     /* holds a reference: released by gw__relay_free */
    int pending_lookups;
    char tsv[48], usv[48];      /* settings versions read with the key's fields */
    int key_fresh;              /* read the key's fields from Redis, not the cache */
    int key_cached;             /* key came from the cache: a refusal rechecks it */
    int key_rereads;            /* authorize said the settings changed: bounded */
    long long pinned;           /* sk-KEY-CHANNELID */
    void (*after_key)(struct rcall *c); /* authorize, or the models listing */
    /* The console's playground (POST /pg/chat/completions): no token key; the
     * signed-in user (key.uid, set at entry) is read at KEY and the call has
     * tid 0 (ledger.h). */
    int pg;
    char pg_group[65];          /* the body's "group" ("" = the user's), checked at KEY */

    /* AUTH */
    struct gw_price price;
    long long prompt_est, reserved, res_id;
    long long deadline_ms;      /* the reservation's; a live stream renews it */
    char group[65];
    long long retry_after_s;
    int freshened;              /* looked for a newer routing table once */
    enum gw_held held;          /* GW_RS_SPEC only */
    int held_result;
    char held_err[200];

    /* ROUTE */
    struct gw_route_ref *route;
    struct gw_channel *ch;
    long long tried[GW_RELAY_MAX_TRIES];
    int ntried, attempt;
    char last_error[300], last_code[64];
    int last_status;

    /* UPSTREAM / RELAY */
    struct gw_upstream_req ureq;
    gw_xfer *x;
    int up_status;
    gw_buf up_body;             /* non-stream body or error body (bounded) */
    struct gw_sse_parser sse;
    enum gw_wire wire;          /* this attempt's upstream wire */
    int convert;                /* wire != the client's: through the hub */
    struct gw_stream_state dec; /* the upstream wire's decoder */
    struct gw_stream_state enc; /* the client format's encoder (converting) */
    int saw_end;                /* the decoder emitted GW_EV_END */
    int embed_batch;            /* a Gemini batchEmbedContents on an OpenAI channel */
    int json_array;             /* Gemini client without ?alt=sse: a JSON array body */
    size_t nout;                /* client events written (JSON array: the separator) */
    struct gw_usage usage;
    size_t delta_chars, got_bytes;
    int first_out;              /* the first event was fed on its own */
    size_t held_prefix;         /* bytes of a paused chunk already fed */
    int failed_before_output;   /* nothing billable was delivered */
    enum gw_budget budget;
    int extending;              /* an extend.lua call is in flight (2: and the
                                   transfer waits for it, relay_stream.c) */
    uint64_t t0_us, t_first_us;

    /* SETTLE (relay_settle.c) */
    int settle_mode;            /* normal; after a refused settle: safe, then bare strings */
    int settle_tries;           /* settle.lua calls sent */
    long long settle_actual, settle_pt, settle_ct; /* computed once, clamped to 0..1e15 */
    char settle_error[128];     /* why settle.lua refused the first one */
    long long retry_at_ms;      /* on the relay's retry list: when to send again */
    struct rcall *retry_next;
    int test_settle_bad, test_settle_down; /* GW_TEST_HOOKS: X-Test-Settle */
    const char *test_codec_missing; /* GW_TEST_HOOKS: X-Test-Codec-Missing: a member name
                                       every attempt treats as not written */
};

#define GW_RELAY_BODY_MAX ((size_t)64 * 1024 * 1024)   /* a non-stream answer */
#define GW_RELAY_SSE_LINE_MAX ((size_t)8 * 1024 * 1024) /* one upstream SSE line/event */

/* The one transition function (relay.c): checks the move, sets c->state and
 * runs the new state's entry action (ROUTE/SPEC: pick a channel and start;
 * RELAY: the stream's headers; SETTLE: settle; DONE: free the call, so c
 * is gone when it returns). SETTLE asked in SPEC is held until the
 * authorize reply; SETTLE asked in SETTLE is ignored. */
void gw__relay_to(struct rcall *c, enum gw_rstate to);

void gw__relay_fail(struct rcall *c, int status, const char *type, const char *code,
                    const char *msg);
/* SETTLE's entry action (called by gw__relay_to only): charges the call and
 * writes its log row (settle.lua); frees the call (gw__relay_to DONE) once
 * that has landed. Never leaves the reservation to the reaper while this
 * worker runs: a refused settle is sent again with safe arguments, a lost one
 * is retried (relay_settle.c). */
void gw__relay_settle(struct rcall *c);
/* GW_TEST_HOOKS: X-Test-Settle: bad-arg (settle.lua refuses the first
 * settle) or down-N (the first N are not sent, as with Redis down). */
void gw__relay_settle_hooks(struct rcall *c);
/* AUTH's check of the first channel (relay_io.c): GW_EINVAL with why when
 * the client's request cannot be said in that channel's wire (the answer
 * is then a 400 before anything is reserved); GW_OK otherwise. */
int gw__relay_precheck(const struct rcall *c, const struct gw_channel *ch, char *why, size_t len);
/* UPSTREAM (relay_io.c): builds the attempt on c->ch and starts the
 * transfer; GW_OK, or a failure recorded in last_error/last_code. */
int gw__relay_start_upstream(struct rcall *c);
/* The transfer ended (result, curl's text): answer, retry or settle. */
void gw__relay_finish(struct rcall *c, int result, const char *errmsg);
/* RELAY's entry action: the stream's headers go out. */
void gw__relay_stream_begin(struct rcall *c);
/* RELAY (relay_stream.c): one upstream SSE event, the gw_sse_parser callback. */
int gw__relay_stream_event(const struct gw_sse_event *ev, void *data);
/* The upstream stream ended (result: the transfer's): closes the client's
 * stream in its format (an error in the client's shape when cut short). */
void gw__relay_stream_end(struct rcall *c, int result, const char *errmsg);
/* The stream's reservation: extended before the running cost passes it,
 * renewed while alive (from on_data). */
void gw__relay_check_budget(struct rcall *c);
/* 1 when the stream must wait (GW_EAGAIN) for an extension before feeding a
 * packet of n more bytes: while the budget may still grow, no packet is fed
 * whose text could carry the cost past the reservation (each byte at most
 * one character, the parser's pending line and event included); the
 * extension is asked for then if it is not already. Once the budget is
 * spent, each event is checked before it is delivered instead; so a stream
 * never delivers more than its reservation covers. */
int gw__relay_budget_wait(struct rcall *c, size_t n);
/* Every try failed before any output: answers the last upstream error and
 * settles with actual 0 (the reservation goes back). */
void gw__relay_upstream_gave_up(struct rcall *c);
int gw__relay_resolve_key(struct rcall *c);
/* KEY: the token key's fields (cache, else Redis), or for the playground
 * (c->pg) the user's group, role and settings version, and the body's group
 * checked against what the user may use; then c->after_key. */
void gw__relay_begin(struct rcall *c);
/* A new call for request r (referenced), its key not yet read: after_key
 * runs once it is; up_body and the SSE lines bounded by body_max and
 * line_max. NULL (r answered 500) when out of memory. */
struct rcall *gw__relay_call_new(gw_req *r, void (*after_key)(struct rcall *c),
                                size_t body_max, size_t line_max);
/* A new call for the same request, as relay_entry left it (key not yet read);
 * NULL when out of memory. The caller frees the old one. */
struct rcall *gw__relay_clone(const struct rcall *c);
/* Refuses (answers, returns 1) a key whose fields are unusable or whose
 * allow-list does not admit the client; 0 when the call may go on. */
int gw__relay_key_refused(struct rcall *c);
/* 1 when the key's model limits admit model (authorize.lua's rule: off, or
 * the name is one of the comma-separated entries, spaces trimmed). */
int gw__key_model_allowed(const struct gw_key_info *k, const char *model);
/* The prompt estimate of the call's body in its client format (relay_count.c). */
long long gw__relay_estimate(const struct rcall *c, const json_t *body);
/* Embeddings across the OpenAI and Gemini shapes (relay_embed.c): the
 * request for this attempt's wire (GW_EINVAL + msg: a 400; GW_ENOTSUP:
 * no such conversion), and the answer read back (usage when the wire has
 * it) and, converting, rendered for the client in *out. GW_EINVAL when the
 * answer is not such a response. */
int gw__relay_embed_request(struct rcall *c, json_t **out, char *msg, size_t msglen);
int gw__relay_embed_response(struct rcall *c, const char *body, size_t len, json_t **out);
/* gw_client_headers_cb over the client's request (ctx: the gw_req). */
void gw__relay_client_headers(void *ctx, gw_header_visit_cb visit, void *data);
/* after_key of count_tokens / countTokens: checks, then the count of a
 * same-wire channel, else the local estimate. */
void gw__relay_count(struct rcall *c);

#endif
