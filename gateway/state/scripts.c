/* Script registry: see scripts.h. A small array of pointers, because entries
 * must never move once handed out (gw_redis keeps them across retries). */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "gateway/core/alloc.h"
#include "gateway/core/embed.h"
#include "gateway/core/err.h"
#include "gateway/state/scripts.h"

static struct gw_script **table;
static size_t count, cap;

static void sha1_hex(const char *text, size_t len, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    /* EVP_Digest rather than SHA1(): the low-level digests are deprecated in
     * OpenSSL 3. SHA1 from the default provider cannot fail short of memory
     * exhaustion, in which case we abort like any small allocation. */
    if (!EVP_Digest(text, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        abort();
    for (unsigned i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

const struct gw_script *gw_script_find(const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

static int add(const char *name, size_t namelen, const char *text, size_t len)
{
    char key[GW_SCRIPT_NAME_MAX];
    struct gw_script *s;
    char *buf;

    if (namelen == 0 || namelen >= sizeof key || text == NULL)
        return GW_EINVAL;
    memcpy(key, name, namelen);
    key[namelen] = '\0';
    const struct gw_script *old = gw_script_find(key);
    if (old != NULL)
        return old->len == len && memcmp(old->text, text, len) == 0 ? GW_OK : GW_ECONFLICT;

    if (count == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        struct gw_script **nt = gw_realloc(table, ncap * sizeof *nt);
        if (nt == NULL)
            return GW_ENOMEM;
        table = nt;
        cap = ncap;
    }
    /* One block: the entry, then the name, then the text. */
    s = gw_malloc(sizeof *s + namelen + 1 + len + 1);
    if (s == NULL)
        return GW_ENOMEM;
    buf = (char *)(s + 1);
    memcpy(buf, key, namelen + 1);
    memcpy(buf + namelen + 1, text, len);
    buf[namelen + 1 + len] = '\0';
    s->name = buf;
    s->text = buf + namelen + 1;
    s->len = len;
    sha1_hex(s->text, len, s->sha);
    table[count++] = s;
    return GW_OK;
}

int gw_scripts_add(const char *name, const char *text)
{
    if (name == NULL || text == NULL)
        return GW_EINVAL;
    return add(name, strlen(name), text, strlen(text));
}

static int add_with_lib(const char *name, size_t namelen, const char *text, size_t len)
{
    char *buf;
    size_t total;
    if (gw_embedded_lua(text, len, &buf, &total) != GW_OK)
        return GW_ENOMEM;
    int rc = add(name, namelen, buf, total);
    gw_free(buf);
    return rc;
}

int gw_scripts_add_with_lib(const char *name, const char *text)
{
    if (name == NULL || text == NULL)
        return GW_EINVAL;
    return add_with_lib(name, strlen(name), text, strlen(text));
}

int gw_scripts_init(void)
{
    static const char dir[] = "scripts/", ext[] = ".lua";
    const size_t dl = sizeof dir - 1, el = sizeof ext - 1;

    for (size_t i = 0; i < gw_embedded_count; i++) {
        const struct gw_embedded_file *f = &gw_embedded_files[i];
        size_t pl = strlen(f->path);

        if (pl <= dl + el || strncmp(f->path, dir, dl) != 0 ||
            strcmp(f->path + pl - el, ext) != 0 || memchr(f->path + dl, '/', pl - dl) != NULL)
            continue;
        int rc = add_with_lib(f->path + dl, pl - dl - el, (const char *)f->data, f->len);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

size_t gw_scripts_count(void)
{
    return count;
}

const struct gw_script *gw_script_at(size_t i)
{
    return i < count ? table[i] : NULL;
}

void gw_scripts_free(void)
{
    for (size_t i = 0; i < count; i++)
        gw_free(table[i]);
    gw_free(table);
    table = NULL;
    count = cap = 0;
}
