/* The routing table: lookups and the pick. Loading is in routing_load.c.
 *
 * Layout: groups sorted by name; each holds its routes (one per model) sorted
 * by model name; a route's channels are sorted by priority descending, then
 * id, and tier[i]..tier[i+1] delimit the channels of the i-th distinct
 * priority. Everything lives in the table's arena, so a lookup is two binary
 * searches and a pick walks one route without allocating. */
#include "gateway/relay/routing_impl.h"

#include <stdlib.h>
#include <string.h>

static int cmp_group_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct gw__route_group *)elem)->name);
}

static int cmp_route_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct gw__route *)elem)->model);
}

static const struct gw__route_group *find_group(const gw_routing *t, const char *group)
{
    if (t == NULL || group == NULL || t->ngroups == 0)
        return NULL;
    return bsearch(group, t->groups, t->ngroups, sizeof t->groups[0], cmp_group_key);
}

static const struct gw__route *find_route(const struct gw__route_group *g, const char *model)
{
    if (g == NULL || model == NULL || g->nroutes == 0)
        return NULL;
    return bsearch(model, g->routes, g->nroutes, sizeof g->routes[0], cmp_route_key);
}

static int cmp_channel_key(const void *key, const void *elem)
{
    long long id = *(const long long *)key, other = ((const struct gw_channel *)elem)->id;
    return id < other ? -1 : id > other;
}

struct gw_channel *gw_routing_channel(const gw_routing *t, long long id)
{
    if (t == NULL || t->nchannels == 0)
        return NULL;
    return bsearch(&id, t->channels, t->nchannels, sizeof t->channels[0], cmp_channel_key);
}

size_t gw_routing_nbad(const gw_routing *t)
{
    return t ? t->nbad : 0;
}

const char *gw_routing_bad(const gw_routing *t, size_t i, long long *channel_id)
{
    if (t == NULL || i >= t->nbad)
        return NULL;
    if (channel_id)
        *channel_id = t->bad[i].id;
    return t->bad[i].msg;
}

const char *const *gw_routing_models(const gw_routing *t, const char *group, size_t *n)
{
    const struct gw__route_group *g = find_group(t, group);
    *n = g ? g->nroutes : 0;
    return g ? g->models : NULL;
}

static int eligible(const struct gw_channel *c, const long long *tried, int ntried,
                    gw_routing_skip_cb skip, void *skip_data)
{
    for (int i = 0; i < ntried; i++)
        if (tried[i] == c->id)
            return 0;
    return skip == NULL || !skip(c->id, skip_data);
}

/* The reference's memory-cache draw (model/channel_cache.go
 * GetRandomSatisfiedChannel) over the eligible channels of one tier. */
static struct gw_channel *draw(struct gw_channel *const *c, size_t n, const long long *tried,
                               int ntried, gw_routing_skip_cb skip, void *skip_data,
                               uint64_t *rng)
{
    uint64_t sum = 0, m = 0, factor = 1, adj = 0;
    struct gw_channel *last = NULL;

    for (size_t i = 0; i < n; i++) {
        if (eligible(c[i], tried, ntried, skip, skip_data)) {
            sum += c[i]->weight;
            m++;
            last = c[i];
        }
    }
    if (m <= 1)
        return last;        /* the draw would pick it anyway; spare the rng */
    if (sum == 0) {
        sum = m * 100;
        adj = 100;
    } else if (sum / m < 10) {
        factor = 100;
    }
    uint64_t r = gw_rand_below(rng, sum * factor);
    for (size_t i = 0; i < n; i++) {
        if (!eligible(c[i], tried, ntried, skip, skip_data))
            continue;
        uint64_t cost = (uint64_t)c[i]->weight * factor + adj;
        if (r < cost)
            return c[i];
        r -= cost;
    }
    return last;            /* skip() changed its answer between the passes */
}

struct gw_channel *gw_routing_pick(const gw_routing *t, const char *group, const char *model,
                                   int attempt, const long long *tried, int ntried,
                                   gw_routing_skip_cb skip, void *skip_data, uint64_t *rng)
{
    const struct gw__route_group *g = find_group(t, group);
    const struct gw__route *r = find_route(g, model);
    struct gw_channel *c;

    if (r == NULL && g != NULL) {
        const char *alt = gw_model_matching_name(model);
        if (alt != model)
            r = find_route(g, alt);
    }
    if (r == NULL || r->ntiers == 0)
        return NULL;
    size_t start = attempt <= 0 ? 0
                 : (size_t)attempt >= r->ntiers ? r->ntiers - 1 : (size_t)attempt;
    for (size_t i = start; i < r->ntiers; i++) {
        c = draw(r->chans + r->tier[i], r->tier[i + 1] - r->tier[i], tried, ntried, skip,
                 skip_data, rng);
        if (c)
            return c;
    }
    for (size_t i = start; i-- > 0;) {
        c = draw(r->chans + r->tier[i], r->tier[i + 1] - r->tier[i], tried, ntried, skip,
                 skip_data, rng);
        if (c)
            return c;
    }
    return NULL;
}

void gw_routing_free(gw_routing *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nchannels; i++)
        gw__routing_channel_release(&t->channels[i]);
    gw_arena_free(t->arena);
}

size_t gw_routing_count(const gw_routing *t) { return t ? t->nchannels : 0; }

struct gw_channel *gw_routing_at(const gw_routing *t, size_t i)
{
    return t && i < t->nchannels ? &t->channels[i] : NULL;
}
