/* Channel destinations: the SSRF guard (docs/ARCHITECTURE.md "Channel
 * destinations").
 *
 * A channel's base URL and proxy are set by admins, and whatever they answer
 * reaches ordinary users verbatim. This module says whether an address may
 * be connected to, under a policy the relay builds per attempt from the
 * root-only options (channel_destination_setting.*) and the channel's
 * dest_trust column (who last set its destination):
 *   - multicast, broadcast and reserved-for-future addresses: never;
 *   - link-local (169.254/16, fe80::/10) and cloud metadata addresses
 *     (169.254.169.254, fd00:ec2::254, 100.100.100.200): only when
 *     allow_link_local (root's option);
 *   - loopback, unspecified (0.0.0.0 and :: reach this host), private,
 *     CGNAT, benchmark and documentation ranges, unique-local IPv6: only
 *     when allow_private (a channel whose destination root set, or root's
 *     option for the others);
 *   - a loopback or unspecified address at the gateway's own port: never
 *     (a channel pointing at the gateway itself loops);
 *   - any port outside the allowed ranges, when ranges are set.
 * IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 inside.
 *
 * gw_dest_check() takes the address curl resolved, right before connect()
 * (CURLOPT_OPENSOCKETFUNCTION), so DNS rebinding cannot slip past: the
 * name is never judged, the address is. gw_dest_check_url() is the static
 * check of a URL's literal host (IP literal, or "localhost"), used when a
 * channel is saved and for the target behind a proxy (which resolves it
 * itself). Pure functions: no I/O, no allocation, safe on the loop. */
#ifndef GW_CORE_DEST_H
#define GW_CORE_DEST_H

#include <stddef.h>

struct sockaddr;

enum gw_dest_class {
    GW_DEST_PUBLIC = 0,
    GW_DEST_PRIVATE,    /* loopback, private, unspecified, CGNAT, ... */
    GW_DEST_LINK_LOCAL, /* link-local and cloud metadata */
    GW_DEST_RESERVED,   /* multicast, broadcast, 240/4: never */
};

#define GW_DEST_PORT_RANGES_MAX 64

struct gw_dest_range {
    unsigned short lo, hi;
};

struct gw_dest_policy {
    int allow_private;    /* loopback and private ranges */
    int allow_link_local; /* link-local and metadata */
    int self_port;        /* the gateway's own port (0 = unknown) */
    int nports;           /* 0 = every port */
    struct gw_dest_range ports[GW_DEST_PORT_RANGES_MAX];
};

/* Class of an AF_INET / AF_INET6 address; anything else is RESERVED. */
enum gw_dest_class gw_dest_classify(const struct sockaddr *sa);
/* 1 for a loopback or unspecified address (this host). */
int gw_dest_is_local(const struct sockaddr *sa);

/* GW_OK when p allows connecting to sa (address and port), else GW_EINVAL
 * with a reason in why (never the address itself: reasons reach logs that
 * ordinary users may read through the channel's error). */
int gw_dest_check(const struct gw_dest_policy *p, const struct sockaddr *sa, char *why,
                  size_t whylen);

/* Static check of url's host and port: an IP literal is judged as
 * gw_dest_check would; "localhost" and names ending in ".localhost" as
 * loopback; other names pass (their address is judged at connect time).
 * Also GW_EINVAL for a URL curl cannot parse or a scheme other than http
 * or https (proxies: also socks4, socks4a, socks5, socks5h, when proxy is
 * 1). An empty url passes. */
int gw_dest_check_url(const struct gw_dest_policy *p, const char *url, int proxy, char *why,
                      size_t whylen);

/* Parses port ranges, the reference's fetch_setting.allowed_ports form: a
 * JSON array text of strings "443" or "8000-9000" (blank entries ignored).
 * Fills p->ports / p->nports. GW_EINVAL (with a message) for a bad entry,
 * a port outside 1..65535, lo > hi, or more than GW_DEST_PORT_RANGES_MAX
 * entries; p then allows no port at all (fail closed). NULL or "" means
 * every port. */
int gw_dest_parse_ports(const char *json_text, struct gw_dest_policy *p, char *err,
                        size_t errlen);

#endif
