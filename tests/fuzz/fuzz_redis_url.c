/* REDIS_URL parsing (gateway/state/redis_url.c): any bytes give GW_OK,
 * GW_EINVAL or GW_ENOTSUP with an address that is internally consistent,
 * fields NUL-terminated inside their arrays, and an error message on
 * failure. Parsing is deterministic (the same result twice). */
#include "tests/fuzz/fuzz.h"
#include "gateway/core/err.h"
#include "gateway/state/redis.h"

#define FUZZ_MAX_INPUT 4096

static int terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char *url = fuzz_cstr(data, size);
    struct gw_redis_addr a, b;
    char err[200], err2[200];

    int rc = gw_redis_parse_url(url, &a, err, sizeof err);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL || rc == GW_ENOTSUP);
    FUZZ_CHECK(terminated(err, sizeof err));
    FUZZ_CHECK(terminated(a.host, sizeof a.host) && terminated(a.unix_path, sizeof a.unix_path) &&
               terminated(a.password, sizeof a.password));
    if (rc == GW_OK) {
        if (a.unix_path[0]) {
            FUZZ_CHECK(a.unix_path[0] == '/' && strlen(a.unix_path) < 108);
            FUZZ_CHECK(a.host[0] == '\0' && a.port == 0);
        } else {
            FUZZ_CHECK(a.host[0] != '\0' && a.port >= 1 && a.port <= 65535);
            /* nothing that would end or redirect a host name */
            FUZZ_CHECK(strpbrk(a.host, "/?#@ \t\r\n") == NULL);
        }
        FUZZ_CHECK(a.db >= 0 && a.db <= 1000000);
        FUZZ_CHECK(strpbrk(url, "# \t\r\n") == NULL);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    /* a zero-length error buffer is allowed */
    FUZZ_CHECK(gw_redis_parse_url(url, &b, NULL, 0) == rc);
    FUZZ_CHECK(gw_redis_parse_url(url, &b, err2, sizeof err2) == rc);
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0 && strcmp(err, err2) == 0);
    free(url);
    return 0;
}
