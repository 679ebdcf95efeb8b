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
#include "adapters/format.h"

struct curl_slist;
struct gw_channel;

/* What the client called. */
enum gw_relay_mode {
    GW_RELAY_CHAT = 1,        /* POST /v1/chat/completions */
    GW_RELAY_COMPLETIONS,     /* POST /v1/completions */
    GW_RELAY_EMBEDDINGS,      /* POST /v1/embeddings */
    GW_RELAY_MODERATIONS,     /* POST /v1/moderations */
};

/* The client's request headers, for header_override ({client_header:Name}
 * and the "*" / "re:" passthrough keys). The callback calls visit() once per
 * header (name and value are NUL-terminated and valid during the call); a
 * non-zero return from visit stops the walk. */
typedef int (*gw_header_visit_cb)(const char *name, const char *value, void *data);
typedef void (*gw_client_headers_cb)(void *ctx, gw_header_visit_cb visit, void *data);

/* One upstream attempt, as the adapter needs it. */
struct gw_relay_call {
    enum gw_relay_mode mode;
    enum gw_wire wire;          /* what body is: the wire chosen by adapter->wire() */
    const char *path;           /* the client's path when the client speaks this wire
                                   (same-format: "/v1/messages?beta=true" goes up as
                                   it came), else NULL: the adapter uses the wire's own */
    json_t *body;               /* the request in `wire`'s format; the adapter may edit it
                                   in place (a fresh tree per attempt) */
    const char *model;          /* the client's model */
    const char *upstream_model; /* after model_mapping */
    int stream;
    int inject_usage;           /* add stream_options.include_usage */
    const char *api_key;        /* the channel key chosen for this attempt */
    /* The client's headers (NULL for channel tests and when unknown):
     * client_header placeholders then resolve to nothing and passthrough
     * keys pass nothing, as in the reference's channel tests. */
    gw_client_headers_cb client_headers;
    void *client_headers_ctx;
    int is_channel_test;        /* param_override condition "is_channel_test" */
    /* The chat <-> Responses policies' option texts (adapters/responses_policy.h),
     * read by wire(); the relay fills them from gw_options_value. NULL or
     * "": the policy is off. */
    const char *chat_to_responses_policy; /* global.chat_completions_to_responses_policy */
    const char *responses_to_chat_policy; /* global.responses_to_chat_completions_policy */
};

/* Bounds of what build() produces. */
#define GW_UPSTREAM_URL_MAX 4096
#define GW_UPSTREAM_BODY_MAX (64u << 20)
#define GW_UPSTREAM_PROXY_MAX 1024

/* The request to send: url, headers, body and proxy are owned by the struct
 * and released with gw_upstream_req_free(). url, body and proxy are
 * NUL-terminated once written; proxy is empty (len 0) when the channel has
 * none, else the relay passes proxy.base to CURLOPT_PROXY (setting.proxy:
 * "http://host:port", "socks5://user:pass@host:port", ...). */
struct gw_upstream_req {
    gw_buf url;
    struct curl_slist *headers;
    gw_buf body;
    gw_buf proxy;
};
/* Cannot fail; allocates nothing. */
void gw_upstream_req_init(struct gw_upstream_req *q);
/* Frees everything and leaves q initialised (free twice is harmless). */
void gw_upstream_req_free(struct gw_upstream_req *q);
/* Appends "Name: value" (copied). An empty value sends "Name;" (an empty
 * header) except for names curl must drop ("Expect"), which get "Name:".
 * GW_EINVAL when name or value holds CR, LF or NUL, or name a ':'. */
int gw_upstream_req_header(struct gw_upstream_req *q, const char *name, const char *value);
/* Like gw_upstream_req_header, but first removes any header of that name
 * (ASCII case-insensitive): the last set wins, as Go's Header.Set. */
int gw_upstream_req_set_header(struct gw_upstream_req *q, const char *name, const char *value);
/* Value of the first header called name, or NULL; points into q->headers. */
const char *gw_upstream_req_get_header(const struct gw_upstream_req *q, const char *name);

struct gw_adapter {
    const char *name;
    /* The wire this attempt speaks upstream, given the client's (call->wire
     * holds the client's format when asked, call->mode the operation):
     * an adapter that speaks the client's format returns it (the fast
     * path); otherwise its native one. NULL: always GW_WIRE_CHAT. */
    enum gw_wire (*wire)(const struct gw_channel *ch, const struct gw_relay_call *call);
    /* Builds URL, headers (auth included), body and proxy for one attempt.
     * out must be initialised; on failure it may hold partial output (free
     * it either way) and err says why (GW_EINVAL: bad channel config or
     * body, e.g. an invalid param_override; GW_ENOTSUP: regex_replace;
     * GW_ETOOBIG: over the bounds above; GW_ENOMEM). call->body may be
     * edited in place. */
    int (*build)(const struct gw_channel *ch, const char *base_url,
                 const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                 size_t errlen);
    /* Reading the answer (usage, stream events, error bodies) is the wire
     * format's: gw_format_of(wire()) (adapters/format.h). */
};

/* Channel-type flags. */
#define GW_CT_STREAM_OPTIONS 1u  /* accepts stream_options.include_usage (the reference's
                                    streamSupportedChannels); others get it removed */
#define GW_CT_HTTP 2u            /* default base URL is http:// (Ollama) */
#define GW_CT_ORGANIZATION 4u    /* sends OpenAI-Organization when the channel sets one */
#define GW_CT_URL_TEMPLATE 8u    /* base_url is the full URL; "{model}" → upstream model */
#define GW_CT_CHAT_NO_V1 16u     /* chat goes to {base}/chat/completions (Perplexity) */
#define GW_CT_FIM_BETA 32u       /* completions go to {base}/beta/completions (DeepSeek) */
#define GW_CT_OPENROUTER 64u     /* HTTP-Referer / X-OpenRouter-Title, usage.include */

struct gw_channel_type {
    int type;                     /* reference constant/channel.go */
    const char *name;
    const char *default_base_url; /* "" when the channel must set one */
    const struct gw_adapter *adapter;
    unsigned flags;
};

/* NULL for types without an adapter yet. */
const struct gw_channel_type *gw_channel_type(int type);
/* The channel's base URL: its own, else the type's default; no trailing '/'.
 * Returns buf, or NULL when it does not fit in cap or ct is NULL and the
 * channel sets none. "" when neither the channel nor the type has one. */
const char *gw_channel_base_url(const struct gw_channel *ch, const struct gw_channel_type *ct,
                                char *buf, size_t cap);

/* One of the /v1/responses/{id} operations (GET, DELETE, POST …/cancel,
 * GET …/input_items) for the channel that served the response: URL
 * {base}{path} (path = "/v1/responses/{id}…" with the client's query) and
 * auth headers, no body. OpenAI (type 1) and Azure (3) only: GW_ENOTSUP
 * for other types. err as build(). */
int gw_adapter_responses_op(const struct gw_channel *ch, const char *base_url,
                            const char *api_key, const char *path, struct gw_upstream_req *out,
                            char *err, size_t errlen);

/* The upstream's model list (models_list.c; reference
 * fetchChannelUpstreamModelIDs). The request: GET {base_url}{path} with the
 * type's auth headers (OpenAI family: Bearer {base}/v1/models; Anthropic
 * (14): x-api-key, /v1/models?limit=1000; Gemini (24): x-goog-api-key,
 * /v1beta/models[?pageToken=]; Ollama (4): /api/tags), then the channel's
 * header_override and proxy. err as build(). */
int gw_adapter_models_request(const struct gw_channel *ch, const char *base_url,
                              const char *api_key, const char *page_token,
                              struct gw_upstream_req *out, char *err, size_t errlen);
/* Reads one answer of that request for channel type `type`: every model
 * name (trimmed, non-empty, Gemini's "models/" prefix removed) not yet in
 * ids is appended to it (an array). next_page gets Gemini's nextPageToken
 * ("" when none, or when it does not fit). GW_EINVAL (err says why) when
 * the body is not such a list. */
int gw_adapter_models_parse(int type, const char *body, size_t len, json_t *ids,
                            char *next_page, size_t next_cap, char *err, size_t errlen);

extern const struct gw_adapter gw_adapter_openai;
extern const struct gw_adapter gw_adapter_azure;
extern const struct gw_adapter gw_adapter_gemini;
extern const struct gw_adapter gw_adapter_anthropic;

/* AZURE_DEFAULT_API_VERSION: used when an Azure channel's `other` is empty. */
#define GW_AZURE_DEFAULT_API_VERSION "2025-04-01-preview"
/* Overrides the default (from the environment, at startup; NULL restores
 * it). The string must outlive the process's relays. */
void gw_azure_set_default_api_version(const char *v);

#endif
