/* String views: a pointer and a length, not NUL-terminated, never owning
 * (like h2o_iovec_t / ngx_str_t). A view is valid only while the bytes it
 * points at are. Functions taking views never read past base + len. */
#ifndef GW_CORE_STR_H
#define GW_CORE_STR_H
#include <stddef.h>

typedef struct {
    const char *base;
    size_t len;
} gw_str;

/* View of a string literal, without its NUL. s must be a literal. */
#define GW_STRLIT(s) ((gw_str){ (s), sizeof(s) - 1 })

/* View of a NUL-terminated string; NULL gives the empty view {"", 0}. */
gw_str gw_str_c(const char *cstr);

/* 1 if a and b hold the same bytes, else 0. */
int gw_str_eq(gw_str a, gw_str b);

/* Like gw_str_eq but ASCII case-insensitive (bytes >= 0x80 compare exactly). */
int gw_str_ieq(gw_str a, gw_str b);

/* 1 if s starts with prefix (an empty prefix always matches), else 0. */
int gw_str_has_prefix(gw_str s, gw_str prefix);

/* Strict decimal parse of the whole of s: an optional leading '-', then
 * one or more digits; no spaces, no '+', no hex. The value must lie in
 * [min, max]. On success stores *out and returns 0; otherwise GW_EINVAL
 * and *out is untouched. */
int gw_str_to_ll(gw_str s, long long min, long long max, long long *out);

/* s without leading and trailing ASCII whitespace (space, \t \n \v \f \r). */
gw_str gw_str_trim(gw_str s);

/* NUL-terminated copy of s from gw_malloc; caller frees with gw_free.
 * NULL on OOM. */
char *gw_str_dup(gw_str s);

/* UTF-8 cuts. Error messages and log text are cut to fit fixed buffers;
 * jansson refuses a string that is not valid UTF-8, so a cut inside a
 * character would turn an error reply into "response encoding failed".
 *
 * gw_str_utf8_cut: the length of the longest prefix of s that is at most max
 * bytes and does not end inside a UTF-8 character (it backs up over at most
 * three continuation bytes; bytes that are not UTF-8 are cut anywhere). For
 * "%.*s": snprintf(b, n, "%.*s", (int)gw_str_utf8_cut(gw_str_c(s), 150), s).
 *
 * gw_str_utf8_fix: makes the NUL-terminated s valid UTF-8 in place, as
 * jansson checks it: a character cut at the end (a truncated copy) is
 * dropped, and every other byte that does not begin a valid, shortest-form,
 * non-surrogate sequence up to U+10FFFF becomes '?'. Returns s. */
size_t gw_str_utf8_cut(gw_str s, size_t max);
char *gw_str_utf8_fix(char *s);

/* gw_utf8_seq: the length (1..4) of the valid UTF-8 sequence at s[0..n)
 * (n >= 1; NUL counts as a 1-byte character), 0 when it is invalid or cut
 * short by n.
 *
 * gw_str_utf8_clean: copies s[0..n) into out (which holds max + 1 bytes) so
 * that any JSON writer, Lua check and SQL dialect accepts it: each byte of an
 * invalid sequence and each NUL becomes '?' (with ctl, each other control
 * character too), and the copy stops on a character boundary at max bytes.
 * out may be s (the copy never runs ahead of the source). Returns the bytes
 * written, without the NUL it always appends. */
size_t gw_utf8_seq(const unsigned char *s, size_t n);
size_t gw_str_utf8_clean(char *out, size_t max, const char *s, size_t n, int ctl);

/* Token iterator. *rest is the unparsed remainder; while rest->len > 0
 * each call returns 1, sets *tok to the bytes up to the next sep (or the
 * end) and advances *rest past that separator; it returns 0 (tok set to
 * empty) once *rest is empty. Inner empty tokens are returned, a trailing
 * separator does not add one: "a,,b" gives "a", "", "b"; "a," gives "a";
 * "" gives nothing. Tokens are not trimmed; see gw_str_trim.
 *
 *     gw_str rest = GW_STRLIT("a,b"), tok;
 *     while (gw_str_split(&rest, ',', &tok)) ...
 */
int gw_str_split(gw_str *rest, char sep, gw_str *tok);

#endif
