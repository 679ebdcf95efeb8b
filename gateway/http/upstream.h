/* Upstream HTTP transfers: curl multi_socket driven by the worker's libuv
 * loop (c-core-notes §2). One gw_upstream per worker; one gw_xfer per call.
 *
 * Callbacks run on the loop. on_data may return GW_EAGAIN to pause the
 * transfer (curl keeps the block and delivers it again after
 * gw_xfer_resume); any other negative value aborts it. on_done is called
 * exactly once unless gw_xfer_abort() was called first; the transfer is
 * freed right after on_done returns. gw_xfer_abort() must not be called from
 * inside this transfer's own callbacks (return an error from on_data
 * instead); it frees at once and calls nothing. */
#ifndef GW_HTTP_UPSTREAM_H
#define GW_HTTP_UPSTREAM_H

#include <stddef.h>
#include <uv.h>

struct curl_slist;
struct gw_dest_policy;
typedef struct gw_upstream gw_upstream;
typedef struct gw_xfer gw_xfer;

struct gw_xfer_cbs {
    void (*on_headers)(gw_xfer *x, int status, const char *ctype, void *data);
    int (*on_data)(gw_xfer *x, const char *p, size_t n, void *data);
    void (*on_done)(gw_xfer *x, int result, const char *errmsg, void *data);
};

struct gw_xfer_opts {
    const char *method;       /* "GET", "POST", ... */
    const char *url;
    struct curl_slist *headers; /* owned by the caller until on_done/abort */
    const void *body;         /* not copied: must outlive the transfer */
    size_t body_len;
    const char *proxy;        /* CURLOPT_PROXY (http://, socks5://...), NULL = none */
    long connect_timeout_ms;  /* 0 = curl default */
    long idle_timeout_s;      /* abort when under 1 B/s for this long; 0 = 120 */
    int stream;               /* 1 = a long-held streamed response (SSE): curl's receive
                                 buffer is 4 KiB instead of 16 KiB (memory per held
                                 stream); 0 = curl's default */
    /* Channel destination policy (gateway/core/dest.h), copied; NULL = none
     * (test hooks). Every address curl is about to connect to (the
     * upstream's, or the proxy's) is checked before the socket is made,
     * and a reused keep-alive connection before each request on it; a
     * refusal ends the transfer with GW_EPERM before any packet leaves, and
     * errmsg is the policy's reason (which never names the address). Only
     * http and https are spoken, and redirects are never followed. */
    const struct gw_dest_policy *dest;
};

/* Easy handles are reused across transfers (a bounded free list, reset
 * between transfers) and a keep-alive connection keeps its uv_poll between
 * transfers; nothing of one transfer's options reaches the next. */
int gw_upstream_new(uv_loop_t *loop, gw_upstream **out);
/* Aborts every live transfer (no callbacks), then frees once curl's sockets
 * are closed; the loop must run afterwards to finish the uv handle closes. */
void gw_upstream_free(gw_upstream *u);
unsigned gw_upstream_live(const gw_upstream *u);

/* Counters for tests and profiling. */
struct gw_upstream_stats {
    unsigned long long easy_created;  /* curl_easy_init calls */
    unsigned long long easy_reused;   /* transfers that took a handle from the free list */
    unsigned long long polls_created; /* uv_poll_init_socket calls */
    unsigned long long polls_reused;  /* a parked poll taken up again by a transfer */
    unsigned long long connects;      /* sockets our opensocket made (connect attempts) */
    unsigned long long dest_refused;  /* connects or reuses refused by the dest policy */
    unsigned polls_parked;            /* now: polls of idle keep-alive connections */
    unsigned easy_idle;               /* now: handles on the free list */
};
void gw_upstream_get_stats(const gw_upstream *u, struct gw_upstream_stats *out);

int gw_xfer_start(gw_upstream *u, const struct gw_xfer_opts *o, const struct gw_xfer_cbs *cbs,
                  void *data, gw_xfer **out);
void gw_xfer_resume(gw_xfer *x);
void gw_xfer_abort(gw_xfer *x);

#endif
