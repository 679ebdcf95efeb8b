/* Channel tests (channel_test.c): one small chat call through a channel's
 * adapter, outside any user's billing. The result is recorded in SQL
 * (response_time, test_time) and may re-enable an automatically disabled
 * channel or disable one (AutomaticEnable/DisableChannelEnabled); the
 * management API (gateway/api/channel_test.c) shows it to the admin. */
#ifndef GW_RELAY_CHANNEL_TEST_H
#define GW_RELAY_CHANNEL_TEST_H

#include <stddef.h>

struct gw_worker;

struct gw_channel_test_result {
    int ok;              /* the channel answered a chat completion in time */
    long long ms;        /* response time; 0 when the test could not start */
    const char *message; /* "" when ok, else why; valid during the callback */
};

/* res is NULL when the worker stopped before the test ended: there is no
 * result, the callback only releases data. */
typedef void (*gw_channel_test_cb)(const struct gw_channel_test_result *res, void *data);

/* Tests channel id of the worker's current routing table with model (NULL
 * or "": the channel's test model, else its first model). On GW_OK, cb(data)
 * runs exactly once on the loop: with the result once it is recorded, at
 * once (before this returns) when the test cannot start, or with NULL when
 * the worker stops first. GW_ENOTFOUND (no such usable channel) or
 * GW_ENOMEM: cb is never called and err says why. */
int gw_channel_test(struct gw_worker *w, long long id, const char *model, gw_channel_test_cb cb,
                    void *data, char *err, size_t errlen);

/* Starts a background test of every channel of the current table except
 * those disabled by hand (status 2); returns how many started. */
long long gw_channel_test_all(struct gw_worker *w);

#endif
