/* HTTP/1.1 request-head parser (RFC 9112 §2-§6); see head.h for why it
 * exists and how strict it is. */
#include <string.h>
#include "gateway/core/err.h"
#include "gateway/http/head.h"
#include "gateway/http/server.h"

#define CL_MAX ((long long)1 << 50)

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value bytes: HTAB, SP, VCHAR, obs-text; never CR, LF, NUL or DEL */
static int is_vchar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 1 if the comma-separated list v holds token t (case-insensitive). */
static int list_has(gw_str v, gw_str t)
{
    gw_str rest = v, tok;
    while (gw_str_split(&rest, ',', &tok)) {
        while (tok.len && (tok.base[0] == ' ' || tok.base[0] == '\t'))
            tok.base++, tok.len--;
        while (tok.len && (tok.base[tok.len - 1] == ' ' || tok.base[tok.len - 1] == '\t'))
            tok.len--;
        if (gw_str_ieq(tok, t))
            return 1;
    }
    return 0;
}

static int parse_request_line(const char *s, size_t n, struct gw_http_head *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i == n || s[i] != ' ')
        return GW_EINVAL;
    h->method = (gw_str){s, i};
    size_t t = ++i;
    while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f)
        i++;
    if (i == t || s[t] != '/' || i == n || s[i] != ' ')
        return GW_EINVAL;
    h->target = (gw_str){s + t, i - t};
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/1.", 7) != 0 || (s[i + 7] != '0' && s[i + 7] != '1'))
        return GW_EINVAL;
    h->minor = s[i + 7] - '0';
    return GW_OK;
}

static int parse_field(const char *s, size_t n, struct gw_http_head *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i == n || s[i] != ':') /* also refuses obs-fold and "name :" */
        return GW_EINVAL;
    gw_str name = {s, i}, value;
    size_t v = i + 1, e = n;
    for (size_t k = v; k < n; k++)
        if (!is_vchar((unsigned char)s[k]))
            return GW_EINVAL;
    while (v < e && (s[v] == ' ' || s[v] == '\t'))
        v++;
    while (e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    value = (gw_str){s + v, e - v};
    /* OWS may be HTAB, but a tab around a length is refused: http-parser
     * (and so some proxies) would, and framing is where parsers must agree. */
    if (memchr(s + i + 1, '\t', n - i - 1) && gw_str_ieq(name, GW_STRLIT("content-length")))
        h->bad_length = 1;
    if (h->nfields == GW_HEAD_MAX_FIELDS)
        return GW_ETOOBIG;
    h->fields[h->nfields].name = name;
    h->fields[h->nfields].value = value;
    h->nfields++;
    return GW_OK;
}

/* Framing and connection semantics from the fields. A bad or repeated
 * Content-Length is kept as -2 for gw_http_head_verdict to refuse. */
static void read_semantics(struct gw_http_head *h)
{
    int conn_close = 0, conn_keep = 0, conn_upgrade = 0, up_ws = 0;
    h->content_length = h->bad_length ? -2 : -1;
    for (size_t i = 0; i < h->nfields; i++) {
        gw_str n = h->fields[i].name, v = h->fields[i].value;
        if (gw_str_ieq(n, GW_STRLIT("content-length"))) {
            long long cl = -2;
            int digits = v.len > 0 && v.len <= 16;
            for (size_t k = 0; digits && k < v.len; k++)
                digits = v.base[k] >= '0' && v.base[k] <= '9';
            if (h->content_length == -1 && digits &&
                gw_str_to_ll(v, 0, CL_MAX, &cl) != GW_OK)
                cl = -2;
            h->content_length = h->content_length == -1 && digits ? cl : -2;
            if (h->bad_length)
                h->content_length = -2;
        } else if (gw_str_ieq(n, GW_STRLIT("transfer-encoding"))) {
            h->chunked = 1;
        } else if (gw_str_ieq(n, GW_STRLIT("connection"))) {
            conn_close |= list_has(v, GW_STRLIT("close"));
            conn_keep |= list_has(v, GW_STRLIT("keep-alive"));
            conn_upgrade |= list_has(v, GW_STRLIT("upgrade"));
        } else if (gw_str_ieq(n, GW_STRLIT("upgrade"))) {
            up_ws |= list_has(v, GW_STRLIT("websocket"));
        } else if (gw_str_ieq(n, GW_STRLIT("expect"))) {
            h->expect_continue = gw_str_ieq(v, GW_STRLIT("100-continue"));
        }
    }
    h->keep_alive = h->minor == 1 ? !conn_close : (conn_keep && !conn_close);
    h->websocket = up_ws && conn_upgrade && gw_str_eq(h->method, GW_STRLIT("GET"));
}

int gw_http_head_parse(const char *buf, size_t len, struct gw_http_head *h)
{
    size_t p = 0, line = 0;
    h->nfields = 0;
    h->content_length = -1;
    h->chunked = h->keep_alive = h->websocket = h->expect_continue = h->bad_length = 0;
    h->method = h->target = (gw_str){"", 0};
    h->minor = 1;
    /* RFC 9112 §2.2: empty lines before the request line are ignored. */
    for (;;) {
        if (p < len && buf[p] == '\n')
            p++;
        else if (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n')
            p += 2;
        else
            break;
        if (p >= GW_HEAD_MAX)
            return GW_ETOOBIG;
    }
    for (;;) {
        const char *nl = memchr(buf + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (end >= GW_HEAD_MAX)
            return GW_ETOOBIG; /* checked before incompleteness: bounded wait */
        size_t n = end - p;
        if (nl && n && buf[end - 1] == '\r')
            n--;
        if (memchr(buf + p, '\r', nl ? n : (n && buf[end - 1] == '\r' ? n - 1 : n)))
            return GW_EINVAL; /* a bare CR: RFC 9112 §2.2 */
        if (!nl)
            return 0;
        if (line == 0) {
            if (parse_request_line(buf + p, n, h) != GW_OK)
                return GW_EINVAL;
        } else if (n == 0) {
            read_semantics(h);
            return (int)(end + 1);
        } else {
            int rc = parse_field(buf + p, n, h);
            if (rc != GW_OK)
                return rc;
        }
        line++;
        p = end + 1;
    }
}

enum gw_head_verdict gw_http_head_verdict(const struct gw_http_head *h, size_t body_max,
                                          int *method, int *status, const char **msg)
{
    static const struct {
        const char *name;
        int bit;
    } methods[] = {{"GET", GW_M_GET},       {"POST", GW_M_POST},     {"PUT", GW_M_PUT},
                   {"PATCH", GW_M_PATCH},   {"DELETE", GW_M_DELETE}, {"OPTIONS", GW_M_OPTIONS},
                   {"HEAD", GW_M_HEAD}};
    *method = 0;
    *status = 0;
    *msg = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (gw_str_eq(h->method, gw_str_c(methods[i].name)))
            *method = methods[i].bit;
    if (!*method) {
        *status = 405;
        *msg = "method not supported";
        return GW_HEAD_REFUSE;
    }
    if (h->chunked) { /* lws never read them; neither do we (yet): P5 */
        *status = 411;
        *msg = "chunked request bodies are not supported; send Content-Length";
        return GW_HEAD_REFUSE;
    }
    if (h->content_length == -2) {
        *status = 400;
        *msg = "invalid Content-Length";
        return GW_HEAD_REFUSE;
    }
    if (h->content_length > 0 && (unsigned long long)h->content_length > body_max) {
        *status = 413; /* the caller words it: it knows the configured limit */
        return GW_HEAD_REFUSE;
    }
    /* No Content-Length and no Transfer-Encoding is an empty body (RFC 9112
     * §6.3); a client that meant to stream one would then send it as the
     * next request, so a body method without a length closes afterwards. */
    if (h->content_length < 0 && (*method & (GW_M_POST | GW_M_PUT | GW_M_PATCH)))
        return GW_HEAD_SERVE_CLOSE;
    return h->keep_alive ? GW_HEAD_SERVE : GW_HEAD_SERVE_CLOSE;
}

int gw_http_frame(const char *buf, size_t len, size_t body_max, struct gw_http_head *h,
                  struct gw_http_frame *f)
{
    char path[GW_HEAD_MAX + 2];
    int hl = gw_http_head_parse(buf, len, h);
    if (hl == 0)
        return 0;
    f->head_len = hl > 0 ? hl : 0;
    f->body_len = 0;
    f->method = 0;
    f->msg = NULL;
    if (hl < 0) {
        f->verdict = GW_HEAD_REFUSE;
        f->status = hl == GW_ETOOBIG ? 431 : 400;
        f->msg = hl == GW_ETOOBIG ? "request headers too large" : "malformed HTTP request";
        return 1;
    }
    f->verdict = gw_http_head_verdict(h, body_max, &f->method, &f->status, &f->msg);
    if (f->verdict != GW_HEAD_REFUSE && gw_http_path_decode(h->target, path, sizeof path) < 0) {
        f->verdict = GW_HEAD_REFUSE;
        f->status = 400;
        f->msg = "malformed request path";
    }
    if (f->verdict != GW_HEAD_REFUSE && h->content_length > 0)
        f->body_len = h->content_length;
    return 1;
}

const struct gw_head_field *gw_http_head_field(const struct gw_http_head *h, gw_str name)
{
    for (size_t i = 0; i < h->nfields; i++)
        if (gw_str_ieq(h->fields[i].name, name))
            return &h->fields[i];
    return NULL;
}

static int hexval(int c)
{
    c = lower(c);
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int gw_http_path_decode(gw_str target, char *out, size_t cap)
{
    size_t n = 0, end = 0;
    while (end < target.len && target.base[end] != '?' && target.base[end] != '#')
        end++;
    if (cap <= end)
        return GW_ETOOBIG;
    for (size_t i = 0; i < end; i++) {
        int c = (unsigned char)target.base[i];
        if (c == '%') {
            if (i + 2 >= end || hexval(target.base[i + 1]) < 0 || hexval(target.base[i + 2]) < 0)
                return GW_EINVAL;
            c = hexval(target.base[i + 1]) * 16 + hexval(target.base[i + 2]);
            if (c < 0x20 || c == 0x7f)
                return GW_EINVAL; /* NUL, CR, LF...: never in a path or a log line */
            i += 2;
        }
        out[n++] = (char)c;
    }
    /* Dot segments (RFC 3986 §5.2.4) and empty segments, in place: the
     * write position never passes the read position. A path that ends in
     * '/', "." or ".." keeps one trailing '/' ("/api/" is not "/api"). */
    size_t w = 0, r = 0;
    int trail = 0;
    while (r < n) {
        while (r < n && out[r] == '/')
            r++;
        size_t s = r;
        while (r < n && out[r] != '/')
            r++;
        size_t sl = r - s;
        trail = 1;
        if (sl == 0 || (sl == 1 && out[s] == '.'))
            continue;
        if (sl == 2 && out[s] == '.' && out[s + 1] == '.') {
            while (w > 0 && out[w - 1] != '/')
                w--;
            if (w > 0)
                w--;
            continue;
        }
        out[w++] = '/';
        memmove(out + w, out + s, sl);
        w += sl;
        trail = r < n; /* a '/' follows this segment */
    }
    if (trail || w == 0)
        out[w++] = '/';
    out[w] = '\0';
    return (int)w;
}

gw_str gw_http_target_query(gw_str target)
{
    const char *q = memchr(target.base, '?', target.len);
    if (!q)
        return (gw_str){"", 0};
    size_t start = (size_t)(q - target.base) + 1, end = start;
    while (end < target.len && target.base[end] != '#')
        end++;
    return (gw_str){target.base + start, end - start};
}

size_t gw_http_query_decode(gw_str in, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len && n + 1 < cap; i++) {
        int c = (unsigned char)in.base[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < in.len && hexval(in.base[i + 1]) >= 0 &&
                   hexval(in.base[i + 2]) >= 0) {
            c = hexval(in.base[i + 1]) * 16 + hexval(in.base[i + 2]);
            i += 2;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}
