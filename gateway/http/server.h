/* The handler-facing side of the HTTP server: one gw_req per HTTP transaction.
 *
 * Lifecycle and ownership
 *  - The HTTP layer (lws_glue.c) creates a gw_req when a request's headers are
 *    parsed, reads the body (bounded by MAX_REQUEST_BODY_MB), then calls the
 *    route's handler exactly once, on the worker's loop.
 *  - A handler answers at once (gw_resp_send / gw_resp_json) or later from an
 *    async callback. Anything async that may outlive the client takes a
 *    reference (gw_req_ref) and drops it when done (gw_req_unref).
 *  - When the client disconnects, r->wsi becomes NULL, the abort callback runs
 *    once (use it to cancel an upstream transfer), and responses become no-ops
 *    returning GW_ECLOSED. The request is freed when the last reference goes.
 *  - Everything allocated from r->arena lives as long as the request.
 *
 * Responses
 *  - Fixed: gw_resp_send() copies the body; Content-Length is set.
 *  - Streamed: gw_resp_stream_begin() then gw_resp_stream_write() per event;
 *    each write is one HTTP/1.1 chunk, flushed as soon as the socket can take
 *    it. gw_resp_stream_end() writes the last chunk. Backpressure: when
 *    gw_resp_queued() passes GW_OUT_HIGH_WM the producer should pause and
 *    resume from the drain callback, called when the queue falls below
 *    GW_OUT_LOW_WM. */
#ifndef GW_HTTP_SERVER_H
#define GW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "gateway/core/arena.h"
#include "gateway/core/buf.h"
#include "gateway/core/str.h"

#define GW_OUT_HIGH_WM (64 * 1024)
#define GW_OUT_LOW_WM (16 * 1024)
#define GW_MAX_PARAMS 4
#define GW_MAX_RESP_HEADERS 16

enum gw_method {
    GW_M_GET = 1,
    GW_M_POST = 2,
    GW_M_PUT = 4,
    GW_M_PATCH = 8,
    GW_M_DELETE = 16,
    GW_M_OPTIONS = 32,
    GW_M_HEAD = 64,
};

struct lws;
struct gw_worker;
struct gw_route;
typedef struct gw_req gw_req;

typedef void (*gw_req_cb)(gw_req *r, void *data);

/* One request header as the client sent it (head.c parses it). */
struct gw_req_field {
    const char *name;  /* case kept */
    const char *value; /* NUL-terminated; no NUL, CR or LF inside */
};

struct gw_req {
    struct lws *wsi;          /* NULL once the client has gone */
    struct gw_worker *worker;
    gw_arena *arena;
    int method;               /* one enum gw_method */
    const char *method_name;
    char *path;               /* decoded path, no query */
    char *query;              /* "a=1&b=2" as sent (not decoded), "" when none */
    const struct gw_route *route;
    gw_str params[GW_MAX_PARAMS]; /* path parameters, in pattern order */
    int nparams;
    char rid[64];             /* X-Oneapi-Request-Id */
    gw_buf body;
    uint64_t t_start_us;

    /* response state, owned by lws_glue.c */
    int status;
    int refs;
    unsigned headers_sent : 1, streaming : 1, finished : 1, close_after : 1,
        dispatched : 1, rejected : 1, is_cors : 1, logged : 1;
    struct gw_req_field *fields; /* request headers in arrival order (arena) */
    size_t nfields;
    const char *ctype;
    size_t resp_bytes;        /* body bytes sent, for the access log */
    int nhdr;
    const char *hdr_name[GW_MAX_RESP_HEADERS];
    const char *hdr_value[GW_MAX_RESP_HEADERS];
    gw_buf out;               /* bytes waiting for the socket */
    long long content_length; /* fixed responses: body length; -1 chunked */
    gw_req_cb on_abort, on_drain;
    void *cb_data;
    void *handler_data;       /* free for the handler (e.g. across an auth step) */
};

/* References: the connection holds one; async work holds its own. */
void gw_req_ref(gw_req *r);
void gw_req_unref(gw_req *r);
static inline int gw_req_alive(const gw_req *r) { return r->wsi != NULL; }

/* Request header lookup (case-insensitive name without ':'). Returns the
 * value (NUL-terminated, lives as long as the request), or NULL when absent.
 * A header sent more than once comes back as one value joined with ", "
 * (RFC 9110 §5.3). Every header is readable for the whole request. */
const char *gw_req_header(gw_req *r, const char *name);
/* All request headers in the order sent, duplicates separate: for i below
 * gw_req_header_count(r), gw_req_header_at gives the i-th. */
size_t gw_req_header_count(const gw_req *r);
const struct gw_req_field *gw_req_header_at(const gw_req *r, size_t i);
/* Query argument by name (first match), %-decoded ('+' is a space), arena
 * copy or NULL. r->query itself is the raw query as sent. */
const char *gw_req_query(gw_req *r, const char *name);
/* Peer IP as text (arena copy), "" if unknown. */
const char *gw_req_peer(gw_req *r);

/* Adds a response header (strings must live as long as the request: use
 * literals or arena copies). GW_ETOOBIG past GW_MAX_RESP_HEADERS. */
int gw_resp_header(gw_req *r, const char *name, const char *value);

/* Fixed-length response; copies body. Errors: GW_ECLOSED (client gone),
 * GW_EINVAL (already answered). */
int gw_resp_send(gw_req *r, int status, const char *ctype, const void *body, size_t len);
/* Serialises j (does not steal it) as application/json. */
int gw_resp_json(gw_req *r, int status, const json_t *j);
/* {"success":false,"message":msg} with the given HTTP status (the management
 * API's envelope; 200 for business errors). */
int gw_resp_api_error(gw_req *r, int status, const char *msg);
/* OpenAI-shape error {"error":{"message","type","code"}} used for transport
 * level failures (413, 411, 404 on /v1). */
int gw_resp_openai_error(gw_req *r, int status, const char *type, const char *msg);

/* Chunked streaming. */
int gw_resp_stream_begin(gw_req *r, int status, const char *ctype);
int gw_resp_stream_write(gw_req *r, const void *data, size_t len);
int gw_resp_stream_end(gw_req *r);
size_t gw_resp_queued(const gw_req *r);
/* Callbacks for the producer of a stream; data is shared by both. */
void gw_req_set_callbacks(gw_req *r, gw_req_cb on_abort, gw_req_cb on_drain, void *data);

#endif
