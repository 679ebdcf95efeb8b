#include <string.h>
#include "gateway/core/err.h"
#include "gateway/http/router.h"

/* Matches one pattern; fills params. Both strings start with '/'. */
static int match_one(const char *pat, const char *path, gw_str *params, int *np)
{
    int n = 0;
    while (*pat && *path) {
        if (*pat == '*') {
            if (n < GW_MAX_PARAMS)
                params[n++] = (gw_str){path, strlen(path)};
            *np = n;
            return 1;
        }
        if (*pat == ':') {
            const char *seg_end = strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            if (len == 0)
                return 0;
            if (n < GW_MAX_PARAMS)
                params[n++] = (gw_str){path, len};
            path += len;
            pat = strchr(pat, '/');
            if (!pat)
                pat = "";
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    if (!*path && pat[0] == '/' && pat[1] == '*')
        pat++; /* a trailing wildcard also matches the bare prefix */
    if (*pat == '*') {
        if (n < GW_MAX_PARAMS)
            params[n++] = (gw_str){path, 0};
        *np = n;
        return 1;
    }
    /* A single trailing slash on either side is not significant ("/api/user/"). */
    if ((*pat == '/' && pat[1] == '\0' && !*path) || (*path == '/' && path[1] == '\0' && !*pat))
        goto ok;
    if (*pat || *path)
        return 0;
ok:
    *np = n;
    return 1;
}

int gw_router_match(const struct gw_route *routes, size_t n, int method, const char *path,
                    const struct gw_route **out, gw_str *params, int *nparams)
{
    int path_matched = 0;
    for (size_t i = 0; i < n; i++) {
        int np = 0;
        if (!match_one(routes[i].pattern, path, params, &np))
            continue;
        if (!(routes[i].methods & method)) {
            path_matched = 1;
            continue;
        }
        *out = &routes[i];
        *nparams = np;
        return GW_OK;
    }
    return path_matched ? GW_ENOTSUP : GW_ENOTFOUND;
}
