/* Which groups a user may call with (reference service/group.go,
 * service/role_group.go), from a worker's options snapshot. Shared by the
 * management API (GET /api/user/self/groups, /api/user/models) and the
 * relay (the playground's `group` field), so both answer the same. Loop
 * thread only (gw_options_value). */
#ifndef GW_STATE_GROUPS_H
#define GW_STATE_GROUPS_H

#include <jansson.h>

struct gw_cfgwatch;

/* GetUserUsableGroups: UserUsableGroups, then for user_group the entries of
 * group_ratio_setting.group_special_usable_group[user_group] ("-:g"
 * removes g, "+:g" or "g" adds it), then user_group itself when missing
 * ("用户分组"). {name: description}; a new reference (the caller owns it).
 * user_group NULL or "" leaves UserUsableGroups as it is. NULL only when out
 * of memory. */
json_t *gw_groups_usable(const struct gw_cfgwatch *cw, const char *user_group);

/* GroupInRoleUsableGroups: 1 when a user of user_group with role may choose
 * group g: g is one of gw_groups_usable(user_group), or the role is admin
 * (>= 10) and g is a group of GroupRatio. 0 otherwise (and when out of
 * memory: never opens access). */
int gw_groups_role_may_use(const struct gw_cfgwatch *cw, const char *user_group, int role,
                           const char *g);

#endif
