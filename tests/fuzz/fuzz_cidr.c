/* IP allow-lists (gateway/core/cidr.c) against an independent oracle
 * written from cidr.h's contract: which lists parse, how many networks they
 * hold, and which client addresses they let in (IPv4-mapped IPv6 clients
 * matching IPv4 entries included).
 * Input: "<list text>|<ip>|<ip>..." (the list is everything before the
 * first '|', which no valid list contains). */
#include <arpa/inet.h>
#include "tests/fuzz/fuzz.h"
#include "gateway/core/cidr.h"
#include "gateway/core/err.h"

#define FUZZ_MAX_INPUT (16u << 10)
#define MAX_NETS 4096

struct net {
    int v6;
    unsigned char a[16];
    unsigned prefix;
};

static int parse_prefix(const char *s, size_t n, unsigned max, unsigned *out)
{
    unsigned v = 0;
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

static int oracle_entry(const char *e, size_t n, struct net *out)
{
    char addr[64];
    const char *slash = memchr(e, '/', n);
    size_t an = slash ? (size_t)(slash - e) : n;
    if (n > GW_CIDR_ENTRY_MAX || an >= sizeof addr)
        return 0;
    memcpy(addr, e, an);
    addr[an] = '\0';
    if (inet_pton(AF_INET, addr, out->a) == 1)
        out->v6 = 0;
    else if (inet_pton(AF_INET6, addr, out->a) == 1)
        out->v6 = 1;
    else
        return 0;
    unsigned max = out->v6 ? 128 : 32;
    out->prefix = max;
    if (slash && !parse_prefix(slash + 1, n - an - 1, max, &out->prefix))
        return 0;
    /* an IPv4-mapped network (::ffff:a.b.c.d/96..128) is the IPv4 network */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (out->v6 && out->prefix >= 96 && memcmp(out->a, mapped, 12) == 0) {
        memmove(out->a, out->a + 12, 4);
        out->v6 = 0;
        out->prefix -= 96;
    }
    return 1;
}

/* -1 bad list, else the number of networks */
static long oracle_parse(const char *t, size_t n, struct net *nets)
{
    long count = 0;
    if (memchr(t, '\0', n))
        return -1;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && t[j] != ',' && t[j] != '\n')
            j++;
        size_t a = i, b = j;
        while (a < b && (t[a] == ' ' || t[a] == '\t' || t[a] == '\r'))
            a++;
        while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t' || t[b - 1] == '\r'))
            b--;
        if (b > a) {
            if (count >= MAX_NETS)
                return -2; /* beyond what the oracle tracks: skip the comparison */
            if (!oracle_entry(t + a, b - a, &nets[count]))
                return -1;
            count++;
        }
        i = j + 1;
    }
    return count;
}

static int in_net(const unsigned char *ip, const struct net *nt)
{
    unsigned full = nt->prefix / 8, rest = nt->prefix % 8;
    if (memcmp(ip, nt->a, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (ip[full] & mask) == (nt->a[full] & mask);
}

static int oracle_match(const struct net *nets, long count, const char *ip)
{
    unsigned char a[16];
    int v6;
    if (count == 0)
        return 1;
    if (inet_pton(AF_INET, ip, a) == 1) {
        v6 = 0;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        v6 = 1;
        if (memcmp(a, mapped, 12) == 0) {
            memmove(a, a + 12, 4);
            v6 = 0;
        }
    } else {
        return 0;
    }
    for (long i = 0; i < count; i++)
        if (nets[i].v6 == v6 && in_net(a, &nets[i]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    const uint8_t *lt, *ips;
    size_t ln, ipn;
    fuzz_split(data, size, "|", &lt, &ln, &ips, &ipn);
    static struct net nets[MAX_NETS];
    long want = oracle_parse((const char *)lt, ln, nets);

    gw_cidr_list *l = (gw_cidr_list *)1;
    char err[128];
    memset(err, 'x', sizeof err);
    int rc = gw_cidr_list_parse((const char *)lt, ln, &l, err, sizeof err);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc != GW_OK) {
        FUZZ_CHECK(l == NULL);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
        FUZZ_CHECK(fuzz_utf8_ok(err, strlen(err)));
        FUZZ_CHECK(want == -1);
        return 0;
    }
    if (want == -2) {
        gw_cidr_list_free(l);
        return 0;
    }
    if (want < 0)
        fprintf(stderr, "accepted a list the contract refuses\n");
    FUZZ_CHECK(want >= 0);
    FUZZ_CHECK(gw_cidr_list_count(l) == (size_t)want);

    /* every address after the list, then each network's own address */
    char ip[64];
    const char *p = (const char *)ips, *end = p + ipn;
    while (p < end) {
        const char *q = memchr(p, '|', (size_t)(end - p));
        size_t n = (size_t)((q ? q : end) - p);
        if (n < sizeof ip && !memchr(p, '\0', n)) {
            memcpy(ip, p, n);
            ip[n] = '\0';
            FUZZ_CHECK(gw_cidr_list_match(l, ip) == oracle_match(nets, want, ip));
        }
        p += n + 1;
    }
    for (long i = 0; i < want && i < 64; i++) {
        FUZZ_CHECK(inet_ntop(nets[i].v6 ? AF_INET6 : AF_INET, nets[i].a, ip, sizeof ip));
        /* 1, except an IPv6 network wider than ::ffff:0:0/96 holding
         * mapped addresses: such a client is matched as IPv4 (cidr.h) */
        FUZZ_CHECK(gw_cidr_list_match(l, ip) == oracle_match(nets, want, ip));
    }
    FUZZ_CHECK(gw_cidr_list_match(NULL, "10.0.0.1") == 1);
    gw_cidr_list_free(l);
    return 0;
}
