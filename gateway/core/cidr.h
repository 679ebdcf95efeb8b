/* IP allow-lists (a token's `allow_ips`): parsed once, when written or when
 * first read from Redis, into networks; matched per request without
 * touching the text again.
 *
 * Syntax: entries separated by newlines and/or commas; spaces, tabs and CRs
 * around an entry are trimmed; empty entries are skipped. An entry is an
 * IPv4 address (dotted quad, as inet_pton), an IPv6 address (no zone id), or
 * either followed by "/prefix" where prefix is 0..32 (IPv4) or 0..128 (IPv6)
 * written in plain decimal digits: no sign, no leading zero, nothing after.
 * Host bits below the prefix are ignored (10.0.0.1/8 is 10.0.0.0/8).
 *
 * Matching: the client address is an IPv4 or IPv6 text address. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket reports an
 * IPv4 client) matches the IPv4 entries as a.b.c.d; IPv6 entries match IPv6
 * addresses only.
 *
 * Ownership: a list comes from gw_cidr_list_parse (allocated through gw_alloc)
 * and is released with gw_cidr_list_free. A list is immutable once parsed, so
 * it may be shared read-only. */
#ifndef GW_CORE_CIDR_H
#define GW_CORE_CIDR_H

#include <stddef.h>

typedef struct gw_cidr_list gw_cidr_list;

/* Longest entry accepted, in bytes after trimming ("ffff:...:255.255.255.255/128"). */
#define GW_CIDR_ENTRY_MAX 49

/* Parses len bytes of text (need not be NUL-terminated; a NUL byte is an
 * error). Empty text, or only separators, gives an empty list, which means
 * "any address". GW_OK with *out set; GW_EINVAL with err naming the first
 * bad entry (quoted, cut to 64 bytes) and *out = NULL; GW_ENOMEM likewise.
 * err may be NULL when errlen is 0. */
int gw_cidr_list_parse(const char *text, size_t len, gw_cidr_list **out, char *err,
                       size_t errlen);

/* 1 when ip is allowed: the list is empty (or NULL), or ip is inside one of its
 * networks. 0 otherwise, including when ip is not a valid address and the
 * list is not empty. */
int gw_cidr_list_match(const gw_cidr_list *l, const char *ip);

/* 1 when ip is an IPv4 or IPv6 text address the matcher can read (no
 * prefix, no zone id), else 0. */
int gw_cidr_ip_valid(const char *ip);

/* Number of networks (0 for an empty or NULL list). */
size_t gw_cidr_list_count(const gw_cidr_list *l);

/* NULL is a no-op. */
void gw_cidr_list_free(gw_cidr_list *l);

#endif
