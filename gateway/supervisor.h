/* The supervisor process (DESIGN §2). */
#ifndef GW_SUPERVISOR_H
#define GW_SUPERVISOR_H

#include "gateway/core/config.h"

/* Prepares SQL (migrations), Redis (embedded when REDIS_CONN_STRING is empty;
 * scripts loaded) and the console files, forks cfg->workers workers and
 * supervises them until SIGTERM/SIGINT, then drains and stops. Returns the
 * process exit status: 0 when everything stopped cleanly. cfg may be
 * updated (the embedded Redis URL) before the workers inherit it. */
int gw_supervisor_run(struct gw_config *cfg);

#endif
