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

/* The authorize reply, for SPECULATIVE_AUTH: while it is pending nothing
 * reaches the client, no call ends and a finished transfer is held. */
enum { GW_AUTH_NONE, GW_AUTH_PENDING, GW_AUTH_OK };

struct rcall {
    gw_req *r;                  /* referenced until the call is freed */
    struct gw_worker *w;
    enum gw_relay_mode mode;
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

    /* AUTH */
    struct gw_price price;
    long long prompt_est, reserved, res_id;
    long long deadline_ms;      /* the reservation's; a live stream renews it */
    char group[65];
    long long retry_after_s;
    int auth;                   /* GW_AUTH_* */
    int freshened;              /* looked for a newer routing table once */
    int spec;                   /* upstream started before the authorize reply */
    int route_held, done_held, settle_held; /* waiting for that reply */
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
    struct gw_usage usage;
    size_t delta_chars, got_bytes;
    int began;                  /* response headers sent to the client */
    int first_out;              /* the first event was fed on its own */
    size_t held_prefix;         /* bytes of a paused chunk already fed */
    int failed_before_output;   /* nothing billable was delivered */
    int cut;                    /* budget ran out mid-stream */
    int extending;
    int spent;                  /* the budget can grow no more: cut before the
                                   delivered cost passes the reservation */
    uint64_t t0_us, t_first_us;

    /* SETTLE (relay_settle.c) */
    int settling;
    int settle_mode;            /* normal; after a refused settle: safe, then bare strings */
    int settle_tries;           /* settle.lua calls sent */
    long long settle_actual, settle_pt, settle_ct; /* computed once, clamped to 0..1e15 */
    char settle_error[128];     /* why settle.lua refused the first one */
    long long retry_at_ms;      /* on the relay's retry list: when to send again */
    struct rcall *retry_next;
    int test_settle_bad, test_settle_down; /* GW_TEST_HOOKS: X-Test-Settle */
};

void gw__relay_fail(struct rcall *c, int status, const char *type, const char *code,
                    const char *msg);
void gw__relay_free(struct rcall *c);
/* Charges the call and writes its log row (settle.lua); frees the call once
 * that has landed. Never leaves the reservation to the reaper while this
 * worker runs: a refused settle is sent again with safe arguments, a lost one
 * is retried (relay_settle.c). */
void gw__relay_settle(struct rcall *c);
/* GW_TEST_HOOKS: X-Test-Settle: bad-arg (settle.lua refuses the first
 * settle) or down-N (the first N are not sent, as with Redis down). */
void gw__relay_settle_hooks(struct rcall *c);
void gw__relay_route(struct rcall *c);
int gw__relay_start_upstream(struct rcall *c);
/* Every try failed before any output: answers the last upstream error and
 * settles with actual 0 (the reservation goes back). */
void gw__relay_upstream_gave_up(struct rcall *c);
/* The authorize reply came back OK after a speculative start: deliver what
 * was held (relay_io.c). */
void gw__relay_spec_release(struct rcall *c);
/* It was refused or failed: the speculative transfer is dropped unseen. */
void gw__relay_spec_cancel(struct rcall *c);
int gw__relay_resolve_key(struct rcall *c);
void gw__relay_begin(struct rcall *c);
/* A new call for the same request, as relay_entry left it (key not yet read);
 * NULL when out of memory. The caller frees the old one. */
struct rcall *gw__relay_clone(const struct rcall *c);
/* Refuses (answers, returns 1) a key whose fields are unusable or whose
 * allow-list does not admit the client; 0 when the call may go on. */
int gw__relay_key_refused(struct rcall *c);

#endif
