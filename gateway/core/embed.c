#include <string.h>
#include "gateway/core/embed.h"

const struct gw_embedded_file *gw_embedded_find(const char *path)
{
    for (size_t i = 0; i < gw_embedded_count; i++)
        if (strcmp(gw_embedded_files[i].path, path) == 0)
            return &gw_embedded_files[i];
    return NULL;
}
