#include <string.h>
#include "gateway/core/alloc.h"
#include "gateway/core/embed.h"
#include "gateway/core/err.h"

const struct gw_embedded_file *gw_embedded_find(const char *path)
{
    for (size_t i = 0; i < gw_embedded_count; i++)
        if (strcmp(gw_embedded_files[i].path, path) == 0)
            return &gw_embedded_files[i];
    return NULL;
}

/* Just after the line that closes a leading "--[[" comment; 0 without one. */
static size_t lib_at(const char *text, size_t len)
{
    if (len < 4 || memcmp(text, "--[[", 4) != 0)
        return 0;
    for (size_t i = 4; i + 2 < len; i++)
        if (text[i] == '\n' && text[i + 1] == ']' && text[i + 2] == ']') {
            const char *nl = memchr(text + i + 3, '\n', len - i - 3);
            return nl ? (size_t)(nl - text) + 1 : len;
        }
    return 0;
}

int gw_embedded_lua(const char *text, size_t len, char **out, size_t *outlen)
{
    const struct gw_embedded_file *lib = gw_embedded_find(GW_EMBED_LUA_LIB);
    size_t at = lib ? lib_at(text, len) : 0, total = lib ? len + lib->len + 1 : len;
    char *buf = gw_malloc(total + 1);
    *out = NULL;
    if (buf == NULL)
        return GW_ENOMEM;
    if (lib == NULL) {
        memcpy(buf, text, len);
    } else {
        memcpy(buf, text, at);
        memcpy(buf + at, lib->data, lib->len);
        buf[at + lib->len] = '\n';
        memcpy(buf + at + lib->len + 1, text + at, len - at);
    }
    buf[total] = '\0';
    *out = buf;
    *outlen = total;
    return GW_OK;
}
