/* The console's static files (admin-ui/dist), read into memory once by the
 * supervisor before it forks, so workers share the pages copy-on-write and
 * never touch the file system on their loops. */
#ifndef GW_HTTP_STATIC_H
#define GW_HTTP_STATIC_H

#include <stddef.h>
#include "gateway/http/server.h"

struct gw_static_file {
    char *path;        /* URL path, e.g. "/assets/index-abc.js" */
    unsigned char *data;
    size_t len;
    const char *ctype;
    const char *cache;
    char etag[40];     /* "\"<16 hex>\"" */
};

struct gw_static {
    struct gw_static_file *files; /* sorted by path */
    size_t n;
    const struct gw_static_file *index; /* "/index.html" or NULL */
};

/* Loads every regular file below dir (bounded in count, depth and bytes). A
 * missing dir gives an empty set, not an error. */
int gw_static_load(const char *dir, struct gw_static **out);
void gw_static_free(struct gw_static *s);
/* Content type for a file name, by extension. */
const char *gw_static_ctype(const char *path);
/* Serves r->path from the worker's set: exact file, else index.html for
 * paths without an extension (SPA routes), else 404; a small plain page when
 * the console has not been built. Honours If-None-Match. */
void gw_static_serve(gw_req *r);

#endif
