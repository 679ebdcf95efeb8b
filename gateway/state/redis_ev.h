/* The hiredis event adapter of redis.c: one uv_poll per connection for
 * reads, writes batched per loop iteration (see redis_ev.c). Internal to
 * gateway/state. */
#ifndef GW_STATE_REDIS_EV_H
#define GW_STATE_REDIS_EV_H

#include <uv.h>
#include <hiredis/async.h>

struct gw__redis_ev;

/* One per client, embedded in it: the handles that flush the pending write.
 * Their data is the flusher; the owner closes them (uv_close) and finds
 * itself again through `owner`. */
struct gw__redis_flusher {
    uv_check_t check;             /* after the I/O phase, while a write is pending */
    uv_prepare_t prepare;         /* before the loop blocks, likewise */
    struct gw__redis_ev *pending; /* the connection whose write is pending, or NULL */
    unsigned long long flushes;   /* flushes done: batched writes */
    void *owner;
};

void gw__redis_flusher_init(uv_loop_t *loop, struct gw__redis_flusher *f, void *owner);
/* Instead of redisLibuvAttach(). On failure ac->ev is untouched, so
 * redisAsyncFree() runs no cleanup. */
int gw__redis_ev_attach(uv_loop_t *loop, struct gw__redis_flusher *f, redisAsyncContext *ac);

#endif
