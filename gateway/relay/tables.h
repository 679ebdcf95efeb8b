/* What the management API may read of a worker's relay: the tables the
 * relay charges with (billing.h), current as of the worker's options
 * snapshot. */
#ifndef GW_RELAY_TABLES_H
#define GW_RELAY_TABLES_H

#include "gateway/relay/billing.h"

struct gw_worker;

/* The price and ratio tables calls on this worker are charged with, rebuilt
 * first when the options snapshot changed. NULL when the saved options never
 * built (the relay logged why). Borrowed: valid until control returns to
 * the loop. Loop thread only. */
const gw_ratios *gw_relay_ratios(struct gw_worker *w);

#endif
