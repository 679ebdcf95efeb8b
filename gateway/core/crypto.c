#include "gateway/core/crypto.h"

#include <crypt.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

int gw_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;

    /* RAND_bytes takes an int length; feed large requests in pieces. */
    while (n > 0) {
        int chunk = n > 1 << 20 ? 1 << 20 : (int)n;

        if (RAND_bytes(p, chunk) != 1)
            return GW_EIO;
        p += chunk;
        n -= (size_t)chunk;
    }
    return GW_OK;
}

int gw_random_alnum(char *out, size_t n)
{
    static const char set[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char pool[64];
    size_t i = 0, j = sizeof(pool);

    while (i < n) {
        if (j == sizeof(pool)) {
            if (gw_random_bytes(pool, sizeof(pool)) != GW_OK) {
                out[0] = '\0';
                return GW_EIO;
            }
            j = 0;
        }
        /* 248 = 4 * 62: bytes >= 248 would favour the first 8 symbols. */
        if (pool[j] < 248)
            out[i++] = set[pool[j] % 62];
        j++;
    }
    out[n] = '\0';
    OPENSSL_cleanse(pool, sizeof(pool));
    return GW_OK;
}

void gw_sha256(const void *data, size_t len, unsigned char out[GW_SHA256_LEN])
{
    SHA256(data, len, out);
}

void gw_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[GW_SHA256_LEN])
{
    unsigned int olen = GW_SHA256_LEN;

    /* HMAC() with a NULL key pointer means "no key" only for klen 0; pass a
     * valid pointer anyway to keep OpenSSL 3 happy. */
    HMAC(EVP_sha256(), klen ? key : "", (int)klen, msg, mlen, out, &olen);
}

void gw_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int gw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* crypt_r on a heap crypt_data (~32 KB: too big for small thread stacks).
 * Copies the result into out (outlen bytes). */
static int do_crypt(const char *password, const char *setting, char *out, size_t outlen)
{
    struct crypt_data *cd = gw_calloc(1, sizeof(*cd));
    const char *res;
    size_t len;
    int rc = GW_OK;

    if (cd == NULL)
        return GW_ENOMEM;
    res = crypt_r(password, setting, cd);
    /* libxcrypt signals failure with a string starting with '*' (or NULL
     * on builds without failure tokens). */
    if (res == NULL || res[0] == '*' || (len = strlen(res)) >= outlen) {
        rc = GW_EINVAL;
    } else {
        memcpy(out, res, len + 1);
    }
    OPENSSL_cleanse(cd, sizeof(*cd));   /* it holds key schedule material */
    gw_free(cd);
    return rc;
}

int gw_bcrypt_hash(const char *password, int cost, char out[64])
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    int rc;

    out[0] = '\0';
    if (password == NULL || cost < GW_BCRYPT_MIN_COST || cost > GW_BCRYPT_MAX_COST)
        return GW_EINVAL;
    /* NULL random bytes: libxcrypt draws the salt from the OS itself. */
    if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, setting,
                         (int)sizeof(setting)) == NULL)
        return GW_EIO;
    rc = do_crypt(password, setting, out, 64);
    if (rc == GW_EINVAL)
        rc = GW_EIO;            /* our own setting was refused */
    if (rc != GW_OK)
        out[0] = '\0';
    return rc;
}

static int is_bcrypt(const char *hash)
{
    return strlen(hash) == GW_BCRYPT_LEN && hash[0] == '$' && hash[1] == '2' &&
           (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$';
}

int gw_bcrypt_verify(const char *password, const char *hash)
{
    char got[128];
    int rc;

    if (password == NULL || hash == NULL || !is_bcrypt(hash))
        return GW_EINVAL;
    rc = do_crypt(password, hash, got, sizeof(got));
    if (rc != GW_OK)
        return rc;
    /* Same length is guaranteed for a well-formed hash, but check anyway
     * before the constant-time compare reads GW_BCRYPT_LEN bytes. */
    if (strlen(got) != GW_BCRYPT_LEN || !gw_ct_equal(got, hash, GW_BCRYPT_LEN))
        rc = GW_EINVAL;
    OPENSSL_cleanse(got, sizeof(got));
    return rc;
}

/* ---- async: libuv thread pool ---- */

struct bcrypt_work {
    uv_work_t req;
    char *password;
    char *hash;          /* verify: input hash; NULL for hash */
    int cost;
    int result;
    char out[64];
    gw_bcrypt_cb cb;
    void *data;
};

static void work_free(struct bcrypt_work *w)
{
    if (w->password != NULL) {
        OPENSSL_cleanse(w->password, strlen(w->password));
        gw_free(w->password);
    }
    gw_free(w->hash);
    gw_free(w);
}

static void on_work(uv_work_t *req)
{
    struct bcrypt_work *w = req->data;

    if (w->hash != NULL)
        w->result = gw_bcrypt_verify(w->password, w->hash);
    else
        w->result = gw_bcrypt_hash(w->password, w->cost, w->out);
}

static void on_after_work(uv_work_t *req, int status)
{
    struct bcrypt_work *w = req->data;
    const char *hash = NULL;

    if (status == UV_ECANCELED)
        w->result = GW_ECLOSED;
    else if (w->hash == NULL && w->result == GW_OK)
        hash = w->out;
    w->cb(w->result, hash, w->data);
    work_free(w);
}

static int queue(uv_loop_t *loop, struct bcrypt_work *w)
{
    w->req.data = w;
    if (uv_queue_work(loop, &w->req, on_work, on_after_work) != 0) {
        work_free(w);
        return GW_EIO;
    }
    return GW_OK;
}

int gw_bcrypt_verify_async(uv_loop_t *loop, const char *password, const char *hash,
                           gw_bcrypt_cb cb, void *data)
{
    struct bcrypt_work *w;

    if (loop == NULL || password == NULL || hash == NULL || cb == NULL)
        return GW_EINVAL;
    w = gw_calloc(1, sizeof(*w));
    if (w == NULL)
        return GW_ENOMEM;
    w->password = gw_strdup(password);
    w->hash = gw_strdup(hash);
    if (w->password == NULL || w->hash == NULL) {
        work_free(w);
        return GW_ENOMEM;
    }
    w->cb = cb;
    w->data = data;
    return queue(loop, w);
}

int gw_bcrypt_hash_async(uv_loop_t *loop, const char *password, int cost,
                         gw_bcrypt_cb cb, void *data)
{
    struct bcrypt_work *w;

    if (loop == NULL || password == NULL || cb == NULL)
        return GW_EINVAL;
    w = gw_calloc(1, sizeof(*w));
    if (w == NULL)
        return GW_ENOMEM;
    w->password = gw_strdup(password);
    if (w->password == NULL) {
        work_free(w);
        return GW_ENOMEM;
    }
    w->cost = cost;
    w->cb = cb;
    w->data = data;
    return queue(loop, w);
}
