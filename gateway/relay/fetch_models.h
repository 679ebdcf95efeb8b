/* Fetching a channel's model list from its upstream (fetch_models.c),
 * for the management API's /api/channel/fetch_models (reference
 * controller/channel.go FetchModels, FetchUpstreamModels). Asynchronous on
 * the worker's loop (curl multi), through the same destination policy as
 * relayed calls (relay_dest.c): a refused address gets no packet. */
#ifndef GW_RELAY_FETCH_MODELS_H
#define GW_RELAY_FETCH_MODELS_H

#include <jansson.h>

struct gw_worker;
struct gw_fetch;

/* What to ask: a saved channel (channel_id > 0: its type, base URL, key,
 * header_override, proxy and destination approval, from the worker's
 * routing table), or an unsaved one (channel_id 0: type, base_url "" = the
 * type's default, the first line of key; set_by_root says whether root asks,
 * which allows private addresses as saving it would). */
struct gw_fetch_spec {
    long long channel_id;
    int type;
    const char *base_url;
    const char *key;
    int set_by_root;
};

struct gw_fetch_result {
    int ok;
    json_t *models;      /* ok: the names (borrowed: incref to keep) */
    const char *message; /* !ok: why, for the admin (never the key) */
};
typedef void (*gw_fetch_cb)(const struct gw_fetch_result *res, void *data);

/* Starts the fetch. GW_OK: cb(data) runs exactly once on the loop, later
 * (never before this returns), unless gw_fetch_abort(*out) is called first.
 * Other returns: nothing started, cb never runs, err says why (no such
 * channel, a type or URL that cannot be asked). */
int gw_fetch_models(struct gw_worker *w, const struct gw_fetch_spec *spec, gw_fetch_cb cb,
                    void *data, struct gw_fetch **out, char *err, size_t errlen);
/* Stops a fetch whose cb has not run (the client left): cb never runs. */
void gw_fetch_abort(struct gw_fetch *f);

#endif
