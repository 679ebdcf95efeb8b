/* SQL_DSN parsing (persist/store.c): the dialect choice and the Go MySQL
 * DSN parser. Any bytes give GW_OK, GW_EINVAL or GW_ETOOBIG (GW_ENOTSUP for an unknown net) with fields
 * NUL-terminated inside their arrays and values in range; the result is
 * deterministic. */
#include "tests/fuzz/fuzz.h"
#include "gateway/core/err.h"
#include "persist/store.h"

#define FUZZ_MAX_INPUT 4096

static int terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char *dsn = fuzz_cstr(data, size);

    gw_db_kind k = gw_store_dsn_kind(dsn);
    FUZZ_CHECK(k == GW_DB_SQLITE || k == GW_DB_MYSQL || k == GW_DB_POSTGRES);
    FUZZ_CHECK(strcmp(gw_db_kind_name(k), "sqlite") == 0 || strcmp(gw_db_kind_name(k), "mysql") == 0 ||
               strcmp(gw_db_kind_name(k), "postgres") == 0);
    if (strncmp(dsn, "postgres://", 11) == 0 || strncmp(dsn, "postgresql://", 13) == 0)
        FUZZ_CHECK(k == GW_DB_POSTGRES);
    if (dsn[0] == '\0' || strncmp(dsn, "local", 5) == 0)
        FUZZ_CHECK(k == GW_DB_SQLITE);

    struct gw_mysql_dsn a, b;
    memset(&a, 0x5a, sizeof a);
    int rc = gw_mysql_dsn_parse(dsn, &a);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL || rc == GW_ETOOBIG || rc == GW_ENOTSUP);
    if (rc == GW_OK) {
        FUZZ_CHECK(terminated(a.user, sizeof a.user) && terminated(a.pass, sizeof a.pass) &&
                   terminated(a.host, sizeof a.host) && terminated(a.socket, sizeof a.socket) &&
                   terminated(a.db, sizeof a.db) && terminated(a.charset, sizeof a.charset));
        FUZZ_CHECK(!(a.host[0] != '\0' && a.socket[0] != '\0'));
        FUZZ_CHECK(a.port <= 65535);
        if (a.socket[0])
            FUZZ_CHECK(a.port == 0);
        FUZZ_CHECK(a.tls >= 0 && a.tls <= 2);
        FUZZ_CHECK(a.charset[0] != '\0');
        memset(&b, 0xa5, sizeof b);
        FUZZ_CHECK(gw_mysql_dsn_parse(dsn, &b) == GW_OK);
        FUZZ_CHECK(strcmp(a.user, b.user) == 0 && strcmp(a.pass, b.pass) == 0 &&
                   strcmp(a.host, b.host) == 0 && a.port == b.port &&
                   strcmp(a.socket, b.socket) == 0 && strcmp(a.db, b.db) == 0 &&
                   strcmp(a.charset, b.charset) == 0 && a.tls == b.tls &&
                   a.connect_timeout_s == b.connect_timeout_s &&
                   a.read_timeout_s == b.read_timeout_s && a.write_timeout_s == b.write_timeout_s);
    }
    free(dsn);
    return 0;
}
