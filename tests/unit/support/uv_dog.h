/* Test helper: a watchdog for unit tests that run a libuv loop, so that every
 * wait is bounded. Header-only (static inline): only the binaries that use it
 * need libuv. The timer's data is the dog; close it with
 * uv_close((uv_handle_t *)&dog.timer, NULL) before uv_loop_close(). */
#ifndef GW_TEST_UV_DOG_H
#define GW_TEST_UV_DOG_H
#include <uv.h>

struct gw_test_dog {
    uv_timer_t timer;
    int fired;
};

static inline void gw_test_dog_fire(uv_timer_t *t)
{
    ((struct gw_test_dog *)t->data)->fired = 1;
    uv_stop(t->loop);
}

static inline void gw_test_dog_init(uv_loop_t *loop, struct gw_test_dog *d)
{
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->fired = 0;
}

static inline void gw_test_dog_start(struct gw_test_dog *d, unsigned ms)
{
    d->fired = 0;
    uv_timer_start(&d->timer, gw_test_dog_fire, ms, 0);
}

/* Runs the loop for ms, whatever happens. */
static inline void gw_test_run_for(uv_loop_t *loop, struct gw_test_dog *d, unsigned ms)
{
    gw_test_dog_start(d, ms);
    while (!d->fired)
        uv_run(loop, UV_RUN_ONCE);
}

/* Runs the loop until cond holds; fails the cmocka test after ms. */
#define GW_RUN_UNTIL(loop, d, cond, ms)                                                           \
    do {                                                                                           \
        gw_test_dog_start((d), (ms));                                                              \
        while (!(cond) && !(d)->fired)                                                             \
            uv_run((loop), UV_RUN_ONCE);                                                           \
        uv_timer_stop(&(d)->timer);                                                                \
        if (!(cond))                                                                               \
            fail_msg("timed out after %u ms waiting for: %s", (unsigned)(ms), #cond);              \
    } while (0)

#endif
