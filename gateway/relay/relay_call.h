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
    struct gw_key_info key;
    int pending_lookups;
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
    uint64_t t0_us, t_first_us;

    /* SETTLE */
    int settling;
};

uint64_t gw__now_us(void);
long long gw__now_ms_wall(void);
void gw__relay_fail(struct rcall *c, int status, const char *type, const char *code,
                    const char *msg);
void gw__relay_free(struct rcall *c);
void gw__relay_settle(struct rcall *c);
void gw__relay_route(struct rcall *c);
int gw__relay_start_upstream(struct rcall *c);
/* The authorize reply came back OK after a speculative start: deliver what
 * was held (relay_io.c). */
void gw__relay_spec_release(struct rcall *c);
/* It was refused or failed: the speculative transfer is dropped unseen. */
void gw__relay_spec_cancel(struct rcall *c);
int gw__relay_resolve_key(struct rcall *c);
void gw__relay_begin(struct rcall *c);

#endif
