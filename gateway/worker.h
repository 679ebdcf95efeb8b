/* A worker process: one libuv loop hosting libwebsockets (foreign loop), curl
 * multi_socket and hiredis async. Forked by the supervisor before any of that
 * state exists; owns its own SO_REUSEPORT listener.
 *
 * Handlers reach the worker's shared objects through r->worker. Everything in
 * here is touched only from the loop thread, except `pool`, which thread-pool
 * work uses. */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <stdint.h>
#include <uv.h>
#include "gateway/core/config.h"

struct lws_context;
struct lws_vhost;
struct gw_redis;
struct gw_store_pool;
struct gw_upstream;
struct gw_static;
struct gw_cfgwatch;
struct gw_relay_worker;

struct gw_worker_stats {
    uint64_t requests;      /* dispatched */
    uint64_t live_reqs;     /* gw_req objects alive */
    uint64_t aborted;       /* client went away before the response ended */
    uint64_t accepted;      /* connections adopted */
    uint64_t rejected;      /* 4xx from the transport layer (411, 413, 400) */
    uint64_t upstream_pauses; /* curl transfers paused for a slow client */
};

struct gw_worker {
    int id;
    const struct gw_config *cfg;
    uv_loop_t loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int listen_fd;
    uv_poll_t listen_poll;
    uv_signal_t sig_term, sig_int;
    uv_timer_t drain_timer;
    int draining;
    uint64_t drain_deadline_ms;
    struct gw_redis *redis;
    struct gw_store_pool *pool;
    struct gw_relay_worker *relay;    /* routing table, ratios, key cache (relay/) */
    struct gw_cfgwatch *cfgwatch;     /* options snapshot (state/config_watch.h) */
    struct gw_upstream *up;
    const struct gw_static *statics;  /* loaded by the supervisor before fork */
    uint64_t rng;                     /* request ids (not security sensitive) */
    uint64_t start_time;              /* unix seconds the gateway started */
    struct gw_worker_stats stats;
};

/* Runs a worker until it has drained after SIGTERM/SIGINT. Returns the exit
 * status for the process. */
int gw_worker_main(int id, const struct gw_config *cfg, const struct gw_static *statics,
                   uint64_t start_time);

#endif
