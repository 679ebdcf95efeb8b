/* Writing runtime options (PUT /api/option/): validation of admin values.
 * The registry and the snapshot reader are in gateway/state/options.h. */
#ifndef GW_API_OPTIONS_H
#define GW_API_OPTIONS_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/state/options.h"

/* Validates a PUT value for d and produces the text to store. value is a
 * JSON bool, number or string (JSON options also take an object or array).
 * On success *out is malloc'd text (free with gw_free). On failure returns
 * GW_EINVAL with a message for the envelope in err and *out is NULL. */
int gw_option_normalize(const struct gw_option_def *d, const json_t *value, char **out,
                        char *err, size_t errlen);

#endif
