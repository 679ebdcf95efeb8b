/* Channel destinations at save time (channels.h gw__ch_dest_apply): who set
 * a channel's destination is recorded in channel_destinations.set_by_root
 * (a table of ours: channels keeps new-api's columns exactly), and a
 * destination the writer may not set is refused before it is stored.
 *
 * The destination is the effective base URL (the channel's, else its
 * type's default: an Ollama channel with no base_url goes to localhost)
 * and setting.proxy. The rules (docs/ARCHITECTURE.md "Channel
 * destinations"):
 *   - root writing any of type, base_url or setting sets the flag to 1:
 *     saving a channel is approving where it goes;
 *   - an admin below root who changes the destination sets it to 0, so a
 *     root-approved private address cannot be swapped for another one, and
 *     an unchanged destination keeps its flag (editing models does not
 *     revoke root's approval);
 *   - the flag is not a writable field: clients never send it.
 * The static check (IP literals and "localhost") answers early; the relay
 * judges the resolved address at every connect whatever was stored. */
#include <stdio.h>
#include <string.h>
#include "adapters/adapter.h"
#include "gateway/api/channels.h"
#include "gateway/state/options.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/worker.h"

void gw__ch_dest_snapshot(gw_req *r, struct gw__chjob *j)
{
    struct gw_worker *w = r ? r->worker : NULL;
    memset(&j->dest, 0, sizeof j->dest);
    if (!w)
        return;
    j->dest_private_opt =
        gw_options_bool(w->cfgwatch, "channel_destination_setting.allow_private_ip", 0);
    j->dest.allow_link_local =
        gw_options_bool(w->cfgwatch, "channel_destination_setting.allow_link_local", 0);
    j->dest.self_port = w->cfg->port;
    gw_dest_parse_ports(gw_options_value(w->cfgwatch, "channel_destination_setting.allowed_ports"),
                        &j->dest, NULL, 0);
}

/* setting.proxy of a setting column text, trimmed, into buf ("" if none).
 * GW_ETOOBIG when it does not fit: the relay refuses such a proxy too
 * (GW_UPSTREAM_PROXY_MAX), and a cut URL must never be judged. */
static int proxy_of(const char *setting, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!setting || !*setting)
        return GW_OK;
    json_t *s = gw_json_parse(setting, strlen(setting), 32, NULL, 0);
    gw_str p = gw_str_trim(gw_str_c(json_string_value(json_object_get(s, "proxy"))));
    int rc = p.len < cap ? GW_OK : GW_ETOOBIG;
    if (rc == GW_OK)
        snprintf(buf, cap, "%.*s", (int)p.len, p.base);
    json_decref(s);
    return rc;
}

/* The effective base URL of (type, base_url), trimmed, into buf. */
static void base_of(long long type, const char *base_url, char *buf, size_t cap)
{
    gw_str b = gw_str_trim(gw_str_c(base_url));
    const struct gw_channel_type *ct = gw_channel_type((int)type);
    if (b.len)
        snprintf(buf, cap, "%.*s", (int)b.len, b.base);
    else
        snprintf(buf, cap, "%s", ct && ct->default_base_url ? ct->default_base_url : "");
}

static int check(struct gw__chjob *j, int trusted, const char *base, const char *proxy,
                 int proxy_rc)
{
    struct gw_dest_policy p = j->dest;
    char why[200];
    p.allow_private = trusted || j->dest_private_opt;
    if (proxy_rc != GW_OK) {
        snprintf(j->fail, sizeof j->fail, "setting.proxy is longer than %d bytes",
                 GW_UPSTREAM_PROXY_MAX - 1);
        return GW_EINVAL;
    }
    if (gw_dest_check_url(&p, base, 0, why, sizeof why) != GW_OK) {
        snprintf(j->fail, sizeof j->fail, "base_url refused: %s", why);
        return GW_EINVAL;
    }
    if (gw_dest_check_url(&p, proxy, 1, why, sizeof why) != GW_OK) {
        snprintf(j->fail, sizeof j->fail, "setting.proxy refused: %s", why);
        return GW_EINVAL;
    }
    return GW_OK;
}

int gw__ch_dest_apply(gw_store *st, struct gw__chjob *j, long long id, const json_t *cols,
                      int *set_by_root)
{
    int root = j->who.role >= 100;
    *set_by_root = -1;
    const json_t *t = json_object_get(cols, "type"), *b = json_object_get(cols, "base_url"),
                 *s = json_object_get(cols, "setting");
    char nbase[1024], nproxy[GW_UPSTREAM_PROXY_MAX];
    if (id == 0) { /* a new channel */
        base_of(json_integer_value(t), json_string_value(b), nbase, sizeof nbase);
        int prc = proxy_of(json_string_value(s), nproxy, sizeof nproxy);
        *set_by_root = root;
        return check(j, root, nbase, nproxy, prc);
    }
    if (!t && !b && !s)
        return GW_OK; /* the destination is not touched: the flag stays */
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, "SELECT type, base_url, setting, channel_destinations.set_by_root "
                                "FROM channels LEFT JOIN channel_destinations ON "
                                "channel_destinations.channel_id = channels.id WHERE channels.id = ?",
                            a, 1, &rows);
    if (rc != GW_OK || gw_rows_count(rows) == 0) {
        gw_rows_free(rows);
        return rc; /* a missing row is answered by the update itself */
    }
    long long otype = 0, otrust = 0;
    char obase[1024], oproxy[GW_UPSTREAM_PROXY_MAX];
    gw_rows_int(rows, 0, 0, &otype);
    gw_rows_int(rows, 0, 3, &otrust);
    base_of(otype, gw_rows_get(rows, 0, 1), obase, sizeof obase);
    int orc = proxy_of(gw_rows_get(rows, 0, 2), oproxy, sizeof oproxy);
    base_of(t ? json_integer_value(t) : otype, b ? json_string_value(b) : gw_rows_get(rows, 0, 1),
            nbase, sizeof nbase);
    int prc = proxy_of(s ? json_string_value(s) : gw_rows_get(rows, 0, 2), nproxy, sizeof nproxy);
    gw_rows_free(rows);
    int changed = orc != GW_OK || prc != GW_OK || strcmp(obase, nbase) != 0 ||
                  strcmp(oproxy, nproxy) != 0;
    int trust = root ? 1 : changed ? 0 : otrust == 1;
    *set_by_root = trust;
    return root || changed ? check(j, trust, nbase, nproxy, prc) : GW_OK;
}

int gw__ch_dest_store(gw_store *st, long long id, int set_by_root)
{
    if (set_by_root < 0)
        return GW_OK;
    /* DELETE + INSERT: one spelling for the three dialects, inside the
     * write's transaction; it also replaces a row left by a deleted channel
     * whose id the server handed out again. */
    gw_sql_arg a[2] = {GW_SQL_INT(id), GW_SQL_INT(set_by_root)};
    int rc = gw_store_exec(st, "DELETE FROM channel_destinations WHERE channel_id = ?", a, 1,
                           NULL);
    if (rc == GW_OK)
        rc = gw_store_exec(st, "INSERT INTO channel_destinations (channel_id, set_by_root) "
                               "VALUES (?, ?)", a, 2, NULL);
    return rc;
}
