/* Randomness, hashing and password hashing (OpenSSL + libxcrypt).
 *
 * The bcrypt functions are BLOCKING (about 60 ms at cost 10) and must never
 * run on an event-loop thread: use the *_async variants there, which run
 * on the libuv thread pool and call back on the loop thread. */
#ifndef GW_CORE_CRYPTO_H
#define GW_CORE_CRYPTO_H
#include <stddef.h>

#include <uv.h>

#define GW_SHA256_LEN 32
#define GW_BCRYPT_LEN 60          /* "$2b$10$" + 53 chars */
#define GW_BCRYPT_MIN_COST 4
#define GW_BCRYPT_MAX_COST 31

/* n bytes from the OpenSSL CSPRNG. GW_EIO if RAND_bytes fails. */
int gw_random_bytes(void *out, size_t n);

/* n characters uniformly from [0-9A-Za-z] (rejection sampling, no modulo
 * bias), then a NUL: out must hold n + 1 bytes. GW_EIO on RNG failure
 * (out is then an empty string). */
int gw_random_alnum(char *out, size_t n);

/* SHA-256 of data. */
void gw_sha256(const void *data, size_t len, unsigned char out[GW_SHA256_LEN]);

/* HMAC-SHA-256 of msg under key (any key length). */
void gw_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[GW_SHA256_LEN]);

/* Lowercase hex of in[0..n); out must hold 2n + 1 bytes (NUL-terminated). */
void gw_hex_encode(const unsigned char *in, size_t n, char *out);

/* Constant-time comparison of n bytes: 1 if equal, 0 otherwise. */
int gw_ct_equal(const void *a, const void *b, size_t n);

/* bcrypt hash of password at cost (4..31; 10 is the usual) with a fresh
 * random salt: writes a NUL-terminated "$2b$<cost>$..." string of
 * GW_BCRYPT_LEN chars into out. GW_EINVAL for a bad cost or NULL
 * password, GW_EIO if libxcrypt fails, GW_ENOMEM on OOM (out is then "").
 * Like every bcrypt, only the first 72 bytes of password count. BLOCKING. */
int gw_bcrypt_hash(const char *password, int cost, char out[64]);

/* Check password against a bcrypt hash ($2a$, $2b$ and $2y$ accepted).
 * GW_OK on match; GW_EINVAL on mismatch or a malformed hash; GW_ENOMEM on
 * OOM. The final comparison is constant-time. BLOCKING. */
int gw_bcrypt_verify(const char *password, const char *hash);

/* Completion of an async bcrypt call, on the loop thread. result is what
 * the blocking function returned; hash is the new hash for
 * gw_bcrypt_hash_async on success (valid only during the callback), NULL
 * otherwise and always NULL for verify. */
typedef void (*gw_bcrypt_cb)(int result, const char *hash, void *data);

/* Run gw_bcrypt_verify on the libuv thread pool. password and hash are
 * copied (the password copy is wiped with OPENSSL_cleanse afterwards), so
 * the caller may free them on return. Returns GW_OK and later calls
 * cb(result, NULL, data) exactly once; or returns GW_ENOMEM / GW_EINVAL
 * (NULL argument) / GW_EIO (uv_queue_work failed) and never calls cb. */
int gw_bcrypt_verify_async(uv_loop_t *loop, const char *password, const char *hash,
                           gw_bcrypt_cb cb, void *data);

/* Run gw_bcrypt_hash on the libuv thread pool; same rules as above, with
 * cb(result, hash, data). */
int gw_bcrypt_hash_async(uv_loop_t *loop, const char *password, int cost,
                         gw_bcrypt_cb cb, void *data);

#endif
