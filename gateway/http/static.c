#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/http/static.h"
#include "gateway/worker.h"

#define MAX_FILES 4096
#define MAX_DEPTH 8
#define MAX_TOTAL ((size_t)256 * 1024 * 1024)

static const struct {
    const char *ext, *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"}, {".map", "application/json"},
    {".svg", "image/svg+xml"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".webp", "image/webp"},
    {".ico", "image/x-icon"}, {".woff", "font/woff"}, {".woff2", "font/woff2"},
    {".ttf", "font/ttf"}, {".txt", "text/plain; charset=utf-8"}, {".wasm", "application/wasm"},
    {".xml", "application/xml"}, {".webmanifest", "application/manifest+json"},
};

const char *gw_static_ctype(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].ctype;
    return "application/octet-stream";
}

struct loader {
    struct gw_static *s;
    size_t cap, total;
};

static int read_file(const char *fs_path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(fs_path, "rb");
    struct stat st;
    if (!f)
        return GW_EIO;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fclose(f);
        return GW_EIO;
    }
    *len = (size_t)st.st_size;
    *data = gw_malloc(*len + 1);
    if (!*data || fread(*data, 1, *len, f) != *len) {
        gw_free(*data);
        fclose(f);
        return GW_EIO;
    }
    fclose(f);
    return GW_OK;
}

static int add_file(struct loader *l, const char *fs_path, const char *url)
{
    struct gw_static *s = l->s;
    if (s->n >= MAX_FILES)
        return GW_ETOOBIG;
    if (s->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *p = gw_realloc(s->files, cap * sizeof *s->files);
        if (!p)
            return GW_ENOMEM;
        s->files = p;
        l->cap = cap;
    }
    struct gw_static_file *f = &s->files[s->n];
    memset(f, 0, sizeof *f);
    if (read_file(fs_path, &f->data, &f->len) != GW_OK)
        return GW_EIO;
    if ((l->total += f->len) > MAX_TOTAL) {
        gw_free(f->data);
        return GW_ETOOBIG;
    }
    f->path = gw_strdup(url);
    if (!f->path) {
        gw_free(f->data);
        return GW_ENOMEM;
    }
    f->ctype = gw_static_ctype(url);
    /* Vite puts content-hashed names under /assets/: cache them for good. */
    f->cache = strcmp(url, "/index.html") == 0 ? "no-cache"
               : strncmp(url, "/assets/", 8) == 0 ? "public, max-age=31536000, immutable"
                                                  : "public, max-age=3600";
    unsigned char h[32];
    char hex[17];
    gw_sha256(f->data, f->len, h);
    gw_hex_encode(h, 8, hex);
    snprintf(f->etag, sizeof f->etag, "\"%.16s\"", hex);
    s->n++;
    return GW_OK;
}

static int walk(struct loader *l, const char *dir, const char *url, int depth)
{
    if (depth > MAX_DEPTH)
        return GW_OK;
    DIR *d = opendir(dir);
    if (!d)
        return GW_OK;
    struct dirent *e;
    int rc = GW_OK;
    while (rc == GW_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char fs[4096], u[2048];
        struct stat st;
        if ((size_t)snprintf(fs, sizeof fs, "%s/%s", dir, e->d_name) >= sizeof fs ||
            (size_t)snprintf(u, sizeof u, "%s/%s", url, e->d_name) >= sizeof u)
            continue;
        if (stat(fs, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(l, fs, u, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = add_file(l, fs, u);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct gw_static_file *)a)->path,
                  ((const struct gw_static_file *)b)->path);
}

int gw_static_load(const char *dir, struct gw_static **out)
{
    struct gw_static *s = gw_calloc(1, sizeof *s);
    if (!s)
        return GW_ENOMEM;
    struct loader l = {s, 0, 0};
    int rc = walk(&l, dir, "", 0);
    if (rc != GW_OK) {
        gw_static_free(s);
        return rc;
    }
    if (s->n)
        qsort(s->files, s->n, sizeof *s->files, by_path);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].path, "/index.html") == 0)
            s->index = &s->files[i];
    *out = s;
    return GW_OK;
}

void gw_static_free(struct gw_static *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        gw_free(s->files[i].path);
        gw_free(s->files[i].data);
    }
    gw_free(s->files);
    gw_free(s);
}

static const struct gw_static_file *find(const struct gw_static *s, const char *path)
{
    struct gw_static_file key = {.path = (char *)path};
    return s && s->n ? bsearch(&key, s->files, s->n, sizeof *s->files, by_path) : NULL;
}

static const char placeholder[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Token Factory</title></head>"
    "<body><h1>Token Factory</h1><p>The gateway is running. The admin console has not been "
    "built: run <code>make ui</code>, or set <code>STATIC_DIR</code> to a built console.</p>"
    "<p>Status: <a href=\"/api/status\">/api/status</a></p></body></html>";

void gw_static_serve(gw_req *r)
{
    const struct gw_static *s = r->worker->statics;
    const char *path = strcmp(r->path, "/") == 0 ? "/index.html" : r->path;
    const struct gw_static_file *f = find(s, path);
    if (!f) {
        const char *slash = strrchr(r->path, '/');
        int has_ext = slash && strchr(slash, '.') != NULL;
        if (!s || !s->index) {
            if (!has_ext) {
                gw_resp_header(r, "cache-control", "no-cache");
                gw_resp_send(r, 200, "text/html; charset=utf-8", placeholder,
                             sizeof placeholder - 1);
                return;
            }
        } else if (!has_ext) {
            f = s->index; /* SPA route */
        }
    }
    if (!f) {
        gw_resp_send(r, 404, "text/plain; charset=utf-8", "404 page not found", 18);
        return;
    }
    gw_resp_header(r, "cache-control", f->cache);
    gw_resp_header(r, "etag", f->etag);
    const char *inm = gw_req_header(r, "if-none-match");
    if (inm && strcmp(inm, f->etag) == 0) {
        gw_resp_send(r, 304, NULL, NULL, 0);
        return;
    }
    gw_resp_send(r, 200, f->ctype, f->data, f->len);
}
