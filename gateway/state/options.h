/* Runtime options (the reference's OptionMap, model/option.go): a typed
 * registry of every key the gateway knows, with its default and validation,
 * and the worker's current values (its config_watch snapshot). They sit in
 * state/, below both api/ (which edits them) and relay/ (which reads them).
 *
 * Values are stored as text in the SQL `options` table (key, value), as the
 * reference does: booleans "true"/"false", numbers in decimal, JSON options
 * as JSON text. A key absent from the table has the registry's default.
 *
 * Propagation: PUT /api/option/ writes SQL, then INCRs the config version in
 * Redis (GW_CFGWATCH_VERSION_KEY, gateway/state/config_watch.h); every
 * worker of every replica polls that version and reloads its snapshot, so a
 * change is visible everywhere within about 250 ms (1 s promised). */
#ifndef GW_STATE_OPTIONS_H
#define GW_STATE_OPTIONS_H

#include <stddef.h>

struct gw_cfgwatch;

enum gw_opt_type { GW_OPT_BOOL, GW_OPT_INT, GW_OPT_FLOAT, GW_OPT_STRING, GW_OPT_JSON };

/* Extra checks for JSON options. */
enum gw_opt_shape {
    GW_SHAPE_ANY = 0,     /* any JSON text */
    GW_SHAPE_OBJECT,      /* a JSON object */
    GW_SHAPE_ARRAY,       /* a JSON array */
    GW_SHAPE_RATIOS,      /* {"name": number >= 0, ...} (ModelRatio, GroupRatio ...) */
    GW_SHAPE_RATIOS2,     /* {"group": {"group": number >= 0}} (GroupGroupRatio) */
    GW_SHAPE_STRINGS,     /* {"name": "text", ...} (UserUsableGroups) */
    GW_SHAPE_OBJECTS,     /* {"name": {...}, ...} */
    GW_SHAPE_PORTS,       /* ["443", "8000-9000", ...] (gw_dest_parse_ports) */
    GW_SHAPE_RESP_POLICY, /* a chat <-> Responses policy (adapters/responses_policy.h) */
    GW_SHAPE_OBJECT_OR_EMPTY, /* a JSON object, or empty text (HeaderNavModules) */
};

struct gw_option_def {
    const char *key;
    enum gw_opt_type type;
    const char *def;          /* default, in stored text form; the price tables'
                               * is billing's built-in table (gw_option_set_builtin) */
    double min, max;          /* INT and FLOAT ranges; STRING: max length */
    enum gw_opt_shape shape;  /* JSON only */
};

/* The price tables' defaults (ModelRatio, GroupRatio, ...) are billing's
 * built-in tables (gateway/relay/billing.h gw_ratios_default_json), which
 * sit above this layer: each process that uses the registry hands that
 * function over once, before the first lookup (gw_worker_main; tests). fn
 * returns malloc'd JSON text, kept for the process's life, or NULL for a
 * table it does not know. A lookup before this is set aborts (a programming
 * error every test would catch), as does a price key fn does not know. */
void gw_option_set_builtin(char *(*fn)(const char *key));

/* The registry, in the order GET /api/option/ lists it. */
const struct gw_option_def *gw_option_table(size_t *n);
/* The entry for key, or NULL for a key the gateway does not know. */
const struct gw_option_def *gw_option_find(const char *key);
/* The registry default of key, or NULL for an unknown key. */
const char *gw_option_default(const char *key);

/* 1 when key names a secret the reference never returns on read: it ends in
 * Token, Secret, Key, secret or api_key (controller/option.go GetOptions). */
int gw_option_is_secret(const char *key);

/* The current value of key in snapshot cw (a worker's w->cfgwatch, see
 * config_watch.h): the last snapshot of the options table it loaded, else
 * the registry default; NULL for an unknown key that is not in the table
 * either. cw may be NULL (defaults only). Loop thread only. The pointer is
 * valid until control returns to the loop: copy it to keep it across a
 * callback. */
const char *gw_options_value(const struct gw_cfgwatch *cw, const char *key);
/* Typed views of gw_options_value (def when unset or unparsable). */
int gw_options_bool(const struct gw_cfgwatch *cw, const char *key, int def);
long long gw_options_int(const struct gw_cfgwatch *cw, const char *key, long long def);
double gw_options_float(const struct gw_cfgwatch *cw, const char *key, double def);

/* HeaderNavModules: which of the site's public pages (the reference's
 * header navigation: "pricing", ...) are on, and whether they need a
 * signed-in user. The option is a JSON object of module -> value, the value
 * being a boolean, "true"/"1"/"false"/"0" (any case, spaces trimmed), the
 * number 1 or 0, or {"enabled": v, "requireAuth": v} with v in those forms.
 * Anything else, a module not in the object, empty text or text that is not
 * a JSON object: enabled, no sign-in needed (reference
 * middleware/header_nav.go). */
struct gw_nav_access {
    int enabled;
    int require_auth;
};
/* From the option's text (NULL is empty). */
struct gw_nav_access gw_nav_access_parse(const char *raw, const char *module);
/* From snapshot cw (as gw_options_value: loop thread only). */
struct gw_nav_access gw_options_nav_access(const struct gw_cfgwatch *cw, const char *module);

#endif
