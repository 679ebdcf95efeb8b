/* The relay's tables, for readers outside relay/ (tables.h). */
#include "gateway/relay/relay_int.h"
#include "gateway/relay/tables.h"
#include "gateway/worker.h"

const gw_ratios *gw_relay_ratios(struct gw_worker *w)
{
    gw__relay_refresh(w);
    return w->relay->ratios;
}
