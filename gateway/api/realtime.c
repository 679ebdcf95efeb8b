#include <string.h>
#include "gateway/api/api.h"

/* A clear refusal rather than a silent hang: an OpenAI-shape error event,
 * then close 1011 (RFC 6455 "internal error / cannot fulfil"). */
int gw_ws_realtime_open(gw_ws *c)
{
    static const char ev[] = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                             "\"code\":\"not_implemented\",\"message\":\"the Realtime API is "
                             "not implemented by this gateway yet\"}}";
    gw_ws_send(c, ev, sizeof ev - 1, 0);
    gw_ws_close(c, 1011, "not implemented");
    return 0;
}
