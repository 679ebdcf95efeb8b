/* The responses wire format (adapters/format.h). Not built yet: every NULL
 * member makes the relay answer "not implemented" for what needs it. */
#include "adapters/format.h"

const struct gw_format gw_format_responses = {
    .wire = GW_WIRE_RESPONSES,
    .name = "responses",
};
