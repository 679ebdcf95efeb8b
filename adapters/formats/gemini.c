/* The gemini wire format (adapters/format.h). Not built yet: every NULL
 * member makes the relay answer "not implemented" for what needs it. */
#include "adapters/format.h"

const struct gw_format gw_format_gemini = {
    .wire = GW_WIRE_GEMINI,
    .name = "gemini",
};
