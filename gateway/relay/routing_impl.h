/* Private to routing.c and routing_load.c: the table's layout. */
#ifndef GW_RELAY_ROUTING_IMPL_H
#define GW_RELAY_ROUTING_IMPL_H

#include "gateway/core/arena.h"
#include "gateway/relay/routing.h"

/* One (group, model): chans sorted by priority desc, then id; the i-th tier
 * is chans[tier[i] .. tier[i+1]), tier has ntiers + 1 entries. */
struct gw__route {
    const char *model;
    struct gw_channel **chans;
    size_t nchans;
    size_t *tier;
    size_t ntiers;
};

struct gw__route_group {
    const char *name;
    struct gw__route *routes;      /* sorted by model (strcmp) */
    size_t nroutes;
    const char **models;           /* the routes' model names, same order */
};

struct gw__bad_channel {
    long long id;
    const char *msg;
};

struct gw_routing {
    gw_arena *arena;               /* owns everything but the json_t values */
    struct gw_channel *channels;   /* every usable channel, any status, by id */
    size_t nchannels;
    struct gw__route_group *groups; /* sorted by name (strcmp) */
    size_t ngroups;
    struct gw__bad_channel *bad;
    size_t nbad;
};

/* Drops the channel's JSON values (routing_load.c). */
void gw__routing_channel_release(struct gw_channel *c);

#endif
