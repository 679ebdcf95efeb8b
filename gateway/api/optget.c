/* Reading one runtime option (the `options` table, as in the reference). */
#include <stdio.h>
#include <string.h>
#include "gateway/api/apictx.h"
#include "gateway/core/err.h"

int gw_option_get(gw_store *st, const char *key, const char *def, char *out, size_t cap)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_TEXT(key)};
    int rc = gw_store_query(st, "SELECT value FROM options WHERE `key` = ?", a, 1, &rows);
    if (rc != GW_OK)
        return rc;
    const char *v = gw_rows_count(rows) == 1 ? gw_rows_get(rows, 0, 0) : NULL;
    if ((size_t)snprintf(out, cap, "%s", v ? v : (def ? def : "")) >= cap)
        rc = GW_ETOOBIG;
    gw_rows_free(rows);
    return rc;
}
