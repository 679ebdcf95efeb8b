/* Channel destinations: address classes and the policy check (dest.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <jansson.h>
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"

struct net4 {
    uint32_t net;
    int bits;
    enum gw_dest_class cls;
};

/* IANA IPv4 special-purpose registry, as the reference's ssrf_protection.go
 * lists it; the metadata hosts first (more specific wins). */
static const struct net4 V4[] = {
    {0xA9FEA9FEu, 32, GW_DEST_LINK_LOCAL}, /* 169.254.169.254 metadata (AWS, GCP, Azure, OCI) */
    {0x646464C8u, 32, GW_DEST_LINK_LOCAL}, /* 100.100.100.200 metadata (Alibaba Cloud) */
    {0xA9FE0000u, 16, GW_DEST_LINK_LOCAL}, /* 169.254.0.0/16 link-local */
    {0xFFFFFFFFu, 32, GW_DEST_RESERVED},   /* limited broadcast */
    {0xE0000000u, 4, GW_DEST_RESERVED},    /* 224.0.0.0/4 multicast */
    {0xF0000000u, 4, GW_DEST_RESERVED},    /* 240.0.0.0/4 reserved */
    {0x00000000u, 8, GW_DEST_PRIVATE},     /* 0.0.0.0/8: 0.0.0.0 reaches this host */
    {0x0A000000u, 8, GW_DEST_PRIVATE},     /* 10/8 */
    {0x64400000u, 10, GW_DEST_PRIVATE},    /* 100.64/10 CGNAT */
    {0x7F000000u, 8, GW_DEST_PRIVATE},     /* 127/8 loopback */
    {0xAC100000u, 12, GW_DEST_PRIVATE},    /* 172.16/12 */
    {0xC0000000u, 24, GW_DEST_PRIVATE},    /* 192.0.0/24 IETF */
    {0xC0000200u, 24, GW_DEST_PRIVATE},    /* 192.0.2/24 TEST-NET-1 */
    {0xC0A80000u, 16, GW_DEST_PRIVATE},    /* 192.168/16 */
    {0xC6120000u, 15, GW_DEST_PRIVATE},    /* 198.18/15 benchmarking */
    {0xC6336400u, 24, GW_DEST_PRIVATE},    /* 198.51.100/24 TEST-NET-2 */
    {0xCB007100u, 24, GW_DEST_PRIVATE},    /* 203.0.113/24 TEST-NET-3 */
};

static enum gw_dest_class class4(uint32_t a)
{
    for (size_t i = 0; i < sizeof V4 / sizeof V4[0]; i++) {
        uint32_t mask = V4[i].bits ? 0xFFFFFFFFu << (32 - V4[i].bits) : 0;
        if ((a & mask) == V4[i].net)
            return V4[i].cls;
    }
    return GW_DEST_PUBLIC;
}

static int prefix6(const unsigned char *a, const unsigned char *p, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, p, (size_t)whole) != 0)
        return 0;
    return rest == 0 || ((a[whole] ^ p[whole]) & (0xFF << (8 - rest))) == 0;
}

static enum gw_dest_class class6(const unsigned char *a)
{
    static const unsigned char zero[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B};
    static const unsigned char ec2[16] = {0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0x02, 0x54};
    static const struct {
        unsigned char p[16];
        int bits;
        enum gw_dest_class cls;
    } nets[] = {
        {{0xFE, 0x80}, 10, GW_DEST_LINK_LOCAL},   /* fe80::/10 */
        {{0xFF}, 8, GW_DEST_RESERVED},            /* ff00::/8 multicast */
        {{0xFC}, 7, GW_DEST_PRIVATE},             /* fc00::/7 unique local */
        {{0xFE, 0xC0}, 10, GW_DEST_PRIVATE},      /* fec0::/10 site-local (deprecated) */
        {{0x01, 0x00}, 64, GW_DEST_PRIVATE},      /* 100::/64 discard-only */
        {{0x20, 0x01, 0x0D, 0xB8}, 32, GW_DEST_PRIVATE}, /* 2001:db8::/32 documentation */
        {{0x20, 0x01}, 23, GW_DEST_PRIVATE},      /* 2001::/23 IETF assignments */
    };
    if (memcmp(a, ec2, 16) == 0)
        return GW_DEST_LINK_LOCAL; /* fd00:ec2::254, AWS metadata over IPv6 */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return class4((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 |
                      a[15]);
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return GW_DEST_PRIVATE; /* :: and ::1 */
    if (memcmp(a, zero, 12) == 0)
        return GW_DEST_PRIVATE; /* IPv4-compatible (deprecated) ::a.b.c.d */
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (prefix6(a, nets[i].p, nets[i].bits))
            return nets[i].cls;
    return GW_DEST_PUBLIC;
}

enum gw_dest_class gw_dest_classify(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET)
        return class4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa && sa->sa_family == AF_INET6)
        return class6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return GW_DEST_RESERVED;
}

static int local4(uint32_t a) { return (a >> 24) == 127 || (a >> 24) == 0; }

int gw_dest_is_local(const struct sockaddr *sa)
{
    if (sa && sa->sa_family == AF_INET)
        return local4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa && sa->sa_family == AF_INET6) {
        static const unsigned char zero[16];
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, mapped, 12) == 0)
            return local4((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16);
        return memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1);
    }
    return 0;
}

static int port_of(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

static int refuse(char *why, size_t n, const char *msg)
{
    if (why && n)
        snprintf(why, n, "%s", msg);
    return GW_EINVAL;
}

static int check_port(const struct gw_dest_policy *p, int port, char *why, size_t n)
{
    if (p->nports == 0)
        return GW_OK;
    for (int i = 0; i < p->nports; i++)
        if (port >= p->ports[i].lo && port <= p->ports[i].hi)
            return GW_OK;
    return refuse(why, n, "destination port is not allowed (channel_destination_setting.allowed_ports)");
}

static int check_class(const struct gw_dest_policy *p, enum gw_dest_class c, int local,
                       int port, char *why, size_t n)
{
    switch (c) {
    case GW_DEST_RESERVED:
        return refuse(why, n, "destination is a multicast or reserved address");
    case GW_DEST_LINK_LOCAL:
        if (!p->allow_link_local)
            return refuse(why, n, "destination is a link-local or cloud metadata address "
                                  "(channel_destination_setting.allow_link_local)");
        break;
    case GW_DEST_PRIVATE:
        if (!p->allow_private)
            return refuse(why, n, "destination is a loopback or private address; only root may "
                                  "set such a destination (or allow it: "
                                  "channel_destination_setting.allow_private_ip)");
        if (local && p->self_port > 0 && port == p->self_port)
            return refuse(why, n, "destination is this gateway itself");
        break;
    case GW_DEST_PUBLIC:
        break;
    }
    return check_port(p, port, why, n);
}

int gw_dest_check(const struct gw_dest_policy *p, const struct sockaddr *sa, char *why,
                  size_t whylen)
{
    if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return refuse(why, whylen, "destination is not an IP address");
    return check_class(p, gw_dest_classify(sa), gw_dest_is_local(sa), port_of(sa), why, whylen);
}

/* The host of a URL as an address, when it is a literal: 1 and *ss filled,
 * 0 for a name. Brackets around IPv6 are stripped; inet_aton also takes the
 * shorthand forms curl and the resolver accept ("127.1", "0x7f.1",
 * "2130706433"). */
static int literal(const char *host, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        char buf[64];
        if (n - 2 >= sizeof buf)
            return 0;
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        char *pct = strchr(buf, '%'); /* zone id */
        if (pct)
            *pct = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        return inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    return inet_aton(host, &s4->sin_addr) != 0;
}

static int is_localhost(const char *host)
{
    size_t n = strlen(host);
    while (n && host[n - 1] == '.')
        n--;
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        return 1;
    return n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0;
}

static int scheme_ok(const char *s, int proxy)
{
    static const char *const px[] = {"socks4", "socks4a", "socks5", "socks5h"};
    if (strcasecmp(s, "http") == 0 || strcasecmp(s, "https") == 0)
        return 1;
    for (size_t i = 0; proxy && i < sizeof px / sizeof px[0]; i++)
        if (strcasecmp(s, px[i]) == 0)
            return 1;
    return 0;
}

int gw_dest_check_url(const struct gw_dest_policy *p, const char *url, int proxy, char *why,
                      size_t whylen)
{
    if (!url || gw_str_trim(gw_str_c(url)).len == 0)
        return GW_OK;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = GW_OK;
    if (!u)
        return GW_ENOMEM;
    unsigned flags = proxy ? CURLU_DEFAULT_SCHEME | CURLU_NON_SUPPORT_SCHEME : 0;
    if (curl_url_set(u, CURLUPART_URL, url, flags) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = refuse(why, whylen, proxy ? "proxy is not a valid URL" : "base_url is not a valid URL");
    } else if (!scheme_ok(scheme, proxy)) {
        rc = refuse(why, whylen, proxy ? "proxy scheme must be http, https, socks4(a) or socks5(h)"
                                       : "base_url scheme must be http or https");
    } else {
        long long pn = 1080; /* curl's socks default; its URL API knows no socks port */
        struct sockaddr_storage ss;
        if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
            gw_str_to_ll(gw_str_c(port), 0, 65535, &pn);
        if (is_localhost(host))
            rc = check_class(p, GW_DEST_PRIVATE, 1, (int)pn, why, whylen);
        else if (literal(host, &ss))
            rc = check_class(p, gw_dest_classify((struct sockaddr *)&ss),
                             gw_dest_is_local((struct sockaddr *)&ss), (int)pn, why, whylen);
        else
            rc = check_port(p, (int)pn, why, whylen);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int parse_range(const char *s, struct gw_dest_range *r)
{
    gw_str t = gw_str_trim(gw_str_c(s));
    const char *dash = memchr(t.base, '-', t.len);
    gw_str a = dash ? (gw_str){t.base, (size_t)(dash - t.base)} : t;
    gw_str b = dash ? (gw_str){dash + 1, t.len - (size_t)(dash - t.base) - 1} : t;
    long long lo, hi;
    if (gw_str_to_ll(gw_str_trim(a), 1, 65535, &lo) != GW_OK ||
        gw_str_to_ll(gw_str_trim(b), 1, 65535, &hi) != GW_OK || lo > hi)
        return GW_EINVAL;
    r->lo = (unsigned short)lo;
    r->hi = (unsigned short)hi;
    return GW_OK;
}

int gw_dest_parse_ports(const char *json_text, struct gw_dest_policy *p, char *err,
                        size_t errlen)
{
    p->nports = 0;
    if (!json_text || gw_str_trim(gw_str_c(json_text)).len == 0)
        return GW_OK;
    json_t *a = gw_json_parse(json_text, strlen(json_text), 4, NULL, 0);
    int rc = GW_OK, n = 0;
    size_t i;
    json_t *v;
    if (!json_is_array(a)) {
        rc = refuse(err, errlen, "allowed_ports must be a JSON array of strings like \"443\" or "
                                 "\"8000-9000\"");
    } else {
        json_array_foreach(a, i, v) {
            const char *s = json_string_value(v);
            if (!s) {
                rc = refuse(err, errlen, "allowed_ports entries must be strings");
                break;
            }
            if (gw_str_trim(gw_str_c(s)).len == 0)
                continue;
            if (n == GW_DEST_PORT_RANGES_MAX) {
                rc = refuse(err, errlen, "allowed_ports has more than 64 entries");
                break;
            }
            if (parse_range(s, &p->ports[n]) != GW_OK) {
                if (err && errlen)
                    snprintf(err, errlen, "allowed_ports entry \"%.40s\" is not a port or a "
                             "range lo-hi within 1-65535", s);
                rc = GW_EINVAL;
                break;
            }
            n++;
        }
    }
    json_decref(a);
    p->nports = n;
    if (rc != GW_OK) { /* fail closed: no port matches 0-0 */
        p->ports[0].lo = p->ports[0].hi = 0;
        p->nports = 1;
    }
    return rc;
}
