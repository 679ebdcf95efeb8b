/* Provider adapters: one file per wire format, exporting one const
 * struct gw_adapter (like a curl TLS backend). OpenAI-compatible providers
 * are data: rows of the channel-type table (registry.c) that point at the
 * OpenAI adapter with their default base URL and quirks.
 *
 * The relay owns every buffer; adapters are pure functions of their inputs
 * and never block, allocate per stream event, or log (they return errors). */
#ifndef GW_ADAPTERS_ADAPTER_H
#define GW_ADAPTERS_ADAPTER_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/core/buf.h"
#include "gateway/http/sse.h"
#include "gateway/relay/billing.h"

struct curl_slist;
struct gw_channel;

/* What the client called. */
enum gw_relay_mode {
    GW_RELAY_CHAT = 1,        /* POST /v1/chat/completions */
    GW_RELAY_COMPLETIONS,     /* POST /v1/completions */
    GW_RELAY_EMBEDDINGS,      /* POST /v1/embeddings */
    GW_RELAY_MODERATIONS,     /* POST /v1/moderations */
};

/* One upstream attempt, as the adapter needs it. */
struct gw_relay_call {
    enum gw_relay_mode mode;
    const char *path;           /* inbound path, e.g. "/v1/chat/completions" */
    json_t *body;               /* the parsed request; the adapter may edit it in place
                                   (a fresh deep copy per attempt) */
    const char *model;          /* the client's model */
    const char *upstream_model; /* after model_mapping */
    int stream;
    int inject_usage;           /* add stream_options.include_usage */
    const char *api_key;        /* the channel key chosen for this attempt */
};

/* The request to send: url, headers and body are owned by the struct and
 * released with gw_upstream_req_free(). */
struct gw_upstream_req {
    gw_buf url;
    struct curl_slist *headers;
    gw_buf body;
};
void gw_upstream_req_init(struct gw_upstream_req *q);
void gw_upstream_req_free(struct gw_upstream_req *q);
/* Appends "Name: value" (copied). */
int gw_upstream_req_header(struct gw_upstream_req *q, const char *name, const char *value);

/* What to do with one upstream stream event. */
enum gw_stream_action {
    GW_STREAM_PASS = 0,  /* forward to the client as is */
    GW_STREAM_DROP,      /* swallow (a usage-only chunk the client did not ask for) */
    GW_STREAM_DONE,      /* the terminal event ("[DONE]"): forward, then end */
};

struct gw_adapter {
    const char *name;
    /* Builds URL, headers (auth included) and body for one attempt. */
    int (*build)(const struct gw_channel *ch, const char *base_url,
                 const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                 size_t errlen);
    /* Non-streamed success body → usage (u->present = 0 when absent). */
    int (*parse_response)(const char *body, size_t len, struct gw_usage *u);
    /* One streamed event: reads usage when present, counts delivered text
     * (*delta_chars, for estimation without keeping the text), and says
     * what to do with the event. client_wants_usage: the client itself asked
     * for stream_options.include_usage. */
    enum gw_stream_action (*stream_event)(const struct gw_sse_event *ev, int client_wants_usage,
                                          struct gw_usage *u, size_t *delta_chars);
    /* Error body → message and code (for logs and auto-disable keywords). */
    int (*parse_error)(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                       size_t codecap);
};

/* Channel-type flags. */
#define GW_CT_STREAM_OPTIONS 1u  /* accepts stream_options.include_usage */
#define GW_CT_HTTP 2u            /* default base URL is http:// (Ollama) */

struct gw_channel_type {
    int type;                     /* reference constant/channel.go */
    const char *name;
    const char *default_base_url; /* "" when the channel must set one */
    const struct gw_adapter *adapter;
    unsigned flags;
};

/* NULL for types without an adapter yet. */
const struct gw_channel_type *gw_channel_type(int type);
/* The channel's base URL: its own, else the type's default; no trailing '/'. */
const char *gw_channel_base_url(const struct gw_channel *ch, const struct gw_channel_type *ct,
                                char *buf, size_t cap);

extern const struct gw_adapter gw_adapter_openai;
extern const struct gw_adapter gw_adapter_azure;

#endif
