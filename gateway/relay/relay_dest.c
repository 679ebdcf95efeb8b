/* The channel destination policy of one upstream attempt (gateway/core/dest.h):
 * root's options (channel_destination_setting.*) plus the channel's
 * dest_set_by_root. Shared by relayed calls and channel tests. */
#include <stdio.h>
#include <string.h>
#include "gateway/state/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay_int.h"
#include "gateway/worker.h"

/* The parsed allowed_ports of the last option text seen; a worker is one
 * process with one loop, so one cache per process is one per worker. */
static struct {
    char *text;
    struct gw_dest_policy parsed;
} ports_cache;

static void ports_of(const char *text, struct gw_dest_policy *p)
{
    if (!text)
        text = "";
    if (!ports_cache.text || strcmp(ports_cache.text, text) != 0) {
        char err[160];
        char *copy = gw_strdup(text);
        if (!copy) { /* keep the old parse; fail closed when there is none */
            if (!ports_cache.text) {
                p->nports = 1;
                p->ports[0].lo = p->ports[0].hi = 0;
                return;
            }
        } else {
            gw_free(ports_cache.text);
            ports_cache.text = copy;
            if (gw_dest_parse_ports(text, &ports_cache.parsed, err, sizeof err) != GW_OK)
                GW_ERROR("channel_destination_setting.allowed_ports: %s; no port is allowed",
                         err);
        }
    }
    p->nports = ports_cache.parsed.nports;
    memcpy(p->ports, ports_cache.parsed.ports, sizeof p->ports);
}

int gw__relay_dest(struct gw_worker *w, const struct gw_channel *ch, const char *url,
                   const char *proxy, struct gw_dest_policy *p, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    p->allow_private =
        ch->dest_set_by_root ||
        gw_options_bool(w->cfgwatch, "channel_destination_setting.allow_private_ip", 0);
    p->allow_link_local =
        gw_options_bool(w->cfgwatch, "channel_destination_setting.allow_link_local", 0);
    p->self_port = w->cfg->port;
    ports_of(gw_options_value(w->cfgwatch, "channel_destination_setting.allowed_ports"), p);
    /* Behind a proxy the target is resolved by the proxy: its literal
     * address (or "localhost") is all we can judge, and the proxy's own
     * address is judged at connect. Without one, the connect-time check
     * sees every address the URL resolves to. */
    if (proxy && *proxy && (gw_dest_check_url(p, proxy, 1, why, whylen) != GW_OK ||
                            gw_dest_check_url(p, url, 0, why, whylen) != GW_OK))
        return GW_EPERM;
    return GW_OK;
}
