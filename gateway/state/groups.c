/* Usable groups (groups.h). */
#include <string.h>
#include "gateway/core/json.h"
#include "gateway/state/groups.h"
#include "gateway/state/options.h"

#define OPT_DEPTH 8

/* The option parsed as a JSON object, else a new empty object. */
static json_t *opt_obj(const struct gw_cfgwatch *cw, const char *key)
{
    const char *v = gw_options_value(cw, key);
    json_t *o = v && *v ? gw_json_parse(v, strlen(v), OPT_DEPTH, NULL, 0) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

json_t *gw_groups_usable(const struct gw_cfgwatch *cw, const char *user_group)
{
    json_t *g = opt_obj(cw, "UserUsableGroups");
    if (!g || !user_group || !*user_group)
        return g;
    json_t *special = opt_obj(cw, "group_ratio_setting.group_special_usable_group");
    const json_t *mine = json_object_get(special, user_group);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)mine, k, v) {
        const char *desc = json_is_string(v) ? json_string_value(v) : "";
        if (strncmp(k, "-:", 2) == 0)
            json_object_del(g, k + 2);
        else
            json_object_set_new(g, strncmp(k, "+:", 2) == 0 ? k + 2 : k, json_string(desc));
    }
    json_decref(special);
    if (!json_object_get(g, user_group))
        json_object_set_new(g, user_group, json_string("用户分组"));
    return g;
}

int gw_groups_role_may_use(const struct gw_cfgwatch *cw, const char *user_group, int role,
                           const char *g)
{
    json_t *usable = gw_groups_usable(cw, user_group);
    int ok = usable && json_object_get(usable, g) != NULL;
    json_decref(usable);
    if (!ok && role >= 10) {
        json_t *ratios = opt_obj(cw, "GroupRatio");
        ok = ratios && json_object_get(ratios, g) != NULL;
        json_decref(ratios);
    }
    return ok;
}
