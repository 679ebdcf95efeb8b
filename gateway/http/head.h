/* HTTP/1.1 request heads (RFC 9112), parsed by us rather than by lws.
 *
 * Why: lws 4.1.6's header parser swallows the line after any header whose
 * name is a strict prefix of a name it knows ("X-F", "Us", "Con", ...), and
 * with it the blank line and a pipelined request, so the gateway saw other
 * headers and other requests than the client sent (issue 10 part 5). Every
 * HTTP/1.1 request is now framed and parsed here; lws only moves bytes
 * (lws_glue.c), except for WebSocket upgrades.
 *
 * Pure functions: no lws, no allocation, no global state, so the fuzz target
 * (tests/fuzz/fuzz_http_front.c) runs exactly the code the gateway runs.
 *
 * The parser is strict where leniency would let two parsers disagree about
 * where a request ends or what it says: CRLF or bare LF line ends only (a
 * bare CR is an error), no whitespace before ':', no obsolete line folding,
 * one Content-Length at most, digits only. */
#ifndef GW_HTTP_HEAD_H
#define GW_HTTP_HEAD_H

#include <stddef.h>
#include "gateway/core/str.h"

#define GW_HEAD_MAX 16384       /* request line plus headers, in bytes */
#define GW_HEAD_MAX_FIELDS 256  /* header lines per request */

struct gw_head_field {
    gw_str name;  /* as sent (case kept); a token */
    gw_str value; /* leading and trailing SP/HTAB removed */
};

struct gw_http_head {
    gw_str method;  /* as sent: a token, case-sensitive */
    gw_str target;  /* origin-form request-target as sent: "/path?query" */
    int minor;      /* HTTP/1.<minor>: 0 or 1 */
    size_t nfields;
    struct gw_head_field fields[GW_HEAD_MAX_FIELDS];
    /* From the fields: */
    long long content_length; /* -1 when absent */
    unsigned chunked : 1;     /* any Transfer-Encoding was sent */
    unsigned keep_alive : 1;  /* HTTP/1.1 without "close", or 1.0 with "keep-alive" */
    unsigned websocket : 1;   /* GET with Upgrade: websocket and Connection: upgrade */
    unsigned expect_continue : 1;
    unsigned bad_length : 1;  /* internal: a Content-Length that is refused */
};

/* Parses the head at the start of buf (views into h point into buf, so buf
 * must outlive them). Empty lines before the request line are skipped.
 * Returns the head's length in bytes (through its blank line, > 0), 0 when
 * more bytes are needed, GW_EINVAL for a malformed head (answer 400) and
 * GW_ETOOBIG when it exceeds GW_HEAD_MAX or GW_HEAD_MAX_FIELDS (431). */
int gw_http_head_parse(const char *buf, size_t len, struct gw_http_head *h);

/* Decision for a parsed head, shared by the server and the fuzz target. */
enum gw_head_verdict {
    GW_HEAD_SERVE,       /* read content_length body bytes (if > 0), dispatch */
    GW_HEAD_SERVE_CLOSE, /* same, then close the connection after the answer */
    GW_HEAD_REFUSE,      /* answer *status with *msg and close; never read a body */
};
/* body_max: the largest body accepted (MAX_REQUEST_BODY_MB). *method gets the
 * enum gw_method bit (server.h), 0 when the method is not served. */
enum gw_head_verdict gw_http_head_verdict(const struct gw_http_head *h, size_t body_max,
                                          int *method, int *status, const char **msg);

/* One step of a connection's reading, as lws_glue.c does it and the fuzz
 * target replays it: parse the head at buf, decide, and say how many bytes
 * the request takes. */
struct gw_http_frame {
    int head_len;             /* bytes of the head (0 when refused unparsed) */
    long long body_len;       /* body bytes that follow the head */
    enum gw_head_verdict verdict;
    int method;               /* enum gw_method bit, 0 when refused */
    int status;               /* GW_HEAD_REFUSE: 400, 405, 411, 413, 431 */
    const char *msg;          /* GW_HEAD_REFUSE: why (NULL for 413: the caller words it) */
};
/* 0 while the head is incomplete (wait for more bytes), 1 when f is set:
 * serve (then the request ends at head_len + body_len) or refuse and close.
 * A head whose path does not decode (gw_http_path_decode) is refused. */
int gw_http_frame(const char *buf, size_t len, size_t body_max, struct gw_http_head *h,
                  struct gw_http_frame *f);

/* The first value of header `name` (case-insensitive), or NULL. */
const struct gw_head_field *gw_http_head_field(const struct gw_http_head *h, gw_str name);

/* Decodes the path of an origin-form target (the part before '?'): %XX
 * escapes, then dot-segment removal and repeated '/' collapsed, so that
 * "/v1/../api//x" routes as "/api/x". Writes a NUL-terminated path of at
 * most target.len bytes into out (cap > target.len). Returns its length,
 * or GW_EINVAL for a bad escape or an escaped control character. */
int gw_http_path_decode(gw_str target, char *out, size_t cap);
/* The query of a target (after the first '?', before any '#'), not decoded;
 * empty when there is none. */
gw_str gw_http_target_query(gw_str target);
/* Decodes a query component in place semantics: %XX and '+' as space, into
 * out (cap > in.len). Returns the length; an invalid escape is kept as is. */
size_t gw_http_query_decode(gw_str in, char *out, size_t cap);

#endif
