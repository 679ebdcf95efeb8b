/* IP allow-lists: see cidr.h for the syntax. inet_pton does the address
 * itself (it refuses leading '+', octal-looking "01", short forms like
 * "10.1" and zone ids); this file is strict about everything around it,
 * because a lenient prefix parser once read "10.0.0.1/-0" as /0. */
#include "gateway/core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"

struct net {
    unsigned char addr[16]; /* masked to bits; IPv4 in the first 4 bytes */
    unsigned char v6;
    unsigned char bits;
};

struct gw_cidr_list {
    size_t n;
    struct net nets[];
};

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void mask(unsigned char *a, unsigned bits, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++) {
        unsigned keep = bits >= 8 ? 8 : bits;
        a[i] &= (unsigned char)(0xff00u >> keep);
        bits -= keep;
    }
}

/* "prefix": 1..3 decimal digits, no leading zero except "0" itself, <= max. */
static int parse_bits(const char *s, size_t n, unsigned max, unsigned *out)
{
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return GW_EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return GW_EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return GW_EINVAL;
    *out = v;
    return GW_OK;
}

static int parse_entry(const char *s, size_t n, struct net *out)
{
    char addr[GW_CIDR_ENTRY_MAX + 1];
    if (n > GW_CIDR_ENTRY_MAX)
        return GW_EINVAL;
    const char *slash = memchr(s, '/', n);
    size_t an = slash ? (size_t)(slash - s) : n;
    if (memchr(s, '\0', n))
        return GW_EINVAL;
    memcpy(addr, s, an);
    addr[an] = '\0';
    memset(out, 0, sizeof *out);
    out->v6 = memchr(addr, ':', an) != NULL;
    if (inet_pton(out->v6 ? AF_INET6 : AF_INET, addr, out->addr) != 1)
        return GW_EINVAL;
    unsigned max = out->v6 ? 128 : 32, bits = max;
    if (slash && parse_bits(slash + 1, n - an - 1, max, &bits) != GW_OK)
        return GW_EINVAL;
    /* An IPv4-mapped network is an IPv4 network: clients are compared as IPv4. */
    if (out->v6 && bits >= 96 && memcmp(out->addr, v4mapped, 12) == 0) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->v6 = 0;
        bits -= 96;
    }
    out->bits = (unsigned char)bits;
    mask(out->addr, bits, out->v6 ? 16 : 4);
    return GW_OK;
}

static int is_sep(char c) { return c == '\n' || c == ','; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int gw_cidr_list_parse(const char *text, size_t len, gw_cidr_list **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (!text)
        len = 0;
    size_t cap = 0;
    for (size_t i = 0; i < len; i++)
        cap += is_sep(text[i]);
    cap++; /* entries <= separators + 1 */
    gw_cidr_list *l = gw_malloc(sizeof *l + cap * sizeof l->nets[0]);
    if (!l) {
        if (errlen)
            snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    l->n = 0;
    size_t i = 0;
    while (i < len) {
        size_t b = i;
        while (i < len && !is_sep(text[i]))
            i++;
        size_t e = i++; /* skip the separator */
        while (b < e && is_space(text[b]))
            b++;
        while (e > b && is_space(text[e - 1]))
            e--;
        if (b == e)
            continue;
        if (parse_entry(text + b, e - b, &l->nets[l->n]) != GW_OK) {
            if (errlen) {
                /* Quote the entry printable: a NUL or control byte shows as '?'. */
                char shown[65];
                size_t k = 0;
                for (size_t j = b; j < e && k < 64; j++)
                    shown[k++] = (unsigned char)text[j] < 0x20 || text[j] == 0x7f ? '?' : text[j];
                shown[k] = '\0';
                gw_str_utf8_fix(shown); /* raw bytes or a character cut at 64 (fuzz_cidr) */
                snprintf(err, errlen, "\"%s%s\" is not an IP address or CIDR (a.b.c.d, "
                         "a.b.c.d/0-32, an IPv6 address or IPv6/0-128)", shown,
                         e - b > 64 ? "..." : "");
            }
            gw_free(l);
            return GW_EINVAL;
        }
        l->n++;
    }
    *out = l;
    return GW_OK;
}

static int in_net(const struct net *n, const unsigned char *a)
{
    unsigned bits = n->bits;
    size_t whole = bits / 8;
    if (memcmp(n->addr, a, whole) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    unsigned char m = (unsigned char)(0xff00u >> (bits % 8));
    return (a[whole] & m) == n->addr[whole];
}

int gw_cidr_list_match(const gw_cidr_list *l, const char *ip)
{
    if (!l || l->n == 0)
        return 1;
    if (!ip)
        return 0;
    unsigned char a[16];
    int v6 = strchr(ip, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, a) != 1)
        return 0;
    if (v6 && memcmp(a, v4mapped, 12) == 0) {
        memmove(a, a + 12, 4);
        v6 = 0;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->nets[i].v6 == v6 && in_net(&l->nets[i], a))
            return 1;
    return 0;
}

int gw_cidr_ip_valid(const char *ip)
{
    unsigned char a[16];
    return ip && inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, a) == 1;
}

size_t gw_cidr_list_count(const gw_cidr_list *l) { return l ? l->n : 0; }

void gw_cidr_list_free(gw_cidr_list *l) { gw_free(l); }
