/* The reference's default ratio tables (billing_defaults.c), used for every
 * option that is unset. Internal to billing.c. */
#ifndef GW_RELAY_BILLING_DEFAULTS_H
#define GW_RELAY_BILLING_DEFAULTS_H

struct gw__ratio_entry {
    const char *name;
    double value;
};

/* Each table ends with { NULL, 0 }. */
extern const struct gw__ratio_entry gw__default_model_ratio[];
extern const struct gw__ratio_entry gw__default_model_price[];
extern const struct gw__ratio_entry gw__default_completion_ratio[];
extern const struct gw__ratio_entry gw__default_cache_ratio[];
extern const struct gw__ratio_entry gw__default_create_cache_ratio[];
extern const struct gw__ratio_entry gw__default_image_ratio[];
extern const struct gw__ratio_entry gw__default_audio_ratio[];
extern const struct gw__ratio_entry gw__default_audio_completion_ratio[];
extern const struct gw__ratio_entry gw__default_group_ratio[];

/* GroupGroupRatio's default, {"vip":{"edit_this":0.9}} in the reference, is
 * a placeholder that never matches a real group; ours is empty. */

#endif
