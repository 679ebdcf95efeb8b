/* Differential fuzz target: the gateway's HTTP/1.1 front end against an
 * independent parser, Debian's http-parser 2.9.4 (libhttp-parser-dev).
 *
 * Each input is the bytes a client sent on one connection (any number of
 * pipelined requests). The gateway's view comes from the same code the
 * server runs (gateway/http/head.c: gw_http_frame, one request at a time,
 * exactly as lws_glue.c's pump reads a connection): for every request it
 * would dispatch, its method, request-target, headers (name and value, in
 * order) and body. The oracle parses the same bytes. A request the gateway
 * dispatches must be a complete message for http-parser too, with the same
 * method, target, headers and body, at the same position in the stream.
 * The gateway may be stricter (refuse what http-parser takes), never looser,
 * and it must never frame a request differently (request smuggling).
 * It also checks the invariants of the decoded path and query.
 *
 * Registered in tests/fuzz/CMakeLists.txt (make fuzz, tests/fuzz/run.py).
 * Standalone, from the repository root (Debian packages clang,
 * libclang-rt-14-dev, libhttp-parser-dev, libjansson-dev):
 *
 *   mkdir -p build/fuzz-standalone
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
 *       tests/fuzz/fuzz_http_front.c gateway/http/head.c gateway/core/str.c \
 *       gateway/core/alloc.c -lhttp_parser -o build/fuzz-standalone/fuzz_http_front
 *   build/fuzz-standalone/fuzz_http_front -max_total_time=60 tests/fuzz/corpus/http_front
 *
 * A disagreement prints both views and aborts, which libFuzzer reports as a
 * crash with the input saved. */
#include <http_parser.h>
#include "tests/fuzz/fuzz.h"
#include "gateway/http/head.h"

#define FUZZ_MAX_INPUT (64u << 10) /* four maximal heads and then some */
#define MAX_MSGS 16
#define MAX_FIELDS GW_HEAD_MAX_FIELDS
#define BODY_MAX (1u << 20)

/* Texts are copied into one pool as the callbacks deliver them. Every input
 * byte lands in at most one text, so a pool as large as the input is enough,
 * and the pieces of one text arrive back to back, so each text is one run. */
static char *pool;
static size_t pool_len, pool_cap;

struct text {
    size_t off, len;
};

struct msg {
    struct text url, body;
    size_t nfields;
    struct text *names, *values; /* MAX_FIELDS each */
    int method;                   /* enum http_method */
    int complete, upgrade;
    int last_was_value;
};

static struct msg msgs[MAX_MSGS];
static int nmsgs;

static void start(struct text *t)
{
    t->off = pool_len;
    t->len = 0;
}

static int put(struct text *t, const char *at, size_t n)
{
    if (t->off + t->len != pool_len || n > pool_cap - pool_len)
        return 1; /* not one run: stop the oracle (never seen) */
    memcpy(pool + pool_len, at, n);
    pool_len += n;
    t->len += n;
    return 0;
}

static const char *base(const struct text *t) { return pool + t->off; }

static struct msg *cur(void) { return nmsgs ? &msgs[nmsgs - 1] : NULL; }

static int on_begin(http_parser *p)
{
    (void)p;
    if (nmsgs == MAX_MSGS)
        return 1; /* stop: the gateway side is capped the same way */
    struct msg *m = &msgs[nmsgs++];
    m->url.len = m->body.len = m->url.off = m->body.off = 0;
    m->nfields = 0;
    m->complete = m->upgrade = m->last_was_value = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    (void)p;
    struct msg *m = cur();
    if (!m->url.len)
        start(&m->url);
    return put(&m->url, at, n);
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    (void)p;
    struct msg *m = cur();
    if (m->nfields == 0 || m->last_was_value) {
        if (m->nfields == MAX_FIELDS)
            return 1;
        start(&m->names[m->nfields]);
        m->values[m->nfields].len = m->values[m->nfields].off = 0;
        m->nfields++;
    }
    m->last_was_value = 0;
    return put(&m->names[m->nfields - 1], at, n);
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    (void)p;
    struct msg *m = cur();
    if (!m->nfields)
        return 1;
    if (!m->last_was_value)
        start(&m->values[m->nfields - 1]);
    m->last_was_value = 1;
    return put(&m->values[m->nfields - 1], at, n);
}

static int on_headers(http_parser *p)
{
    struct msg *m = cur();
    m->method = (int)p->method;
    m->upgrade = p->upgrade;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    (void)p;
    struct msg *m = cur();
    if (!m->body.len)
        start(&m->body);
    return put(&m->body, at, n);
}

static int on_complete(http_parser *p)
{
    struct msg *m = cur();
    m->complete = 1;
    m->upgrade = p->upgrade;
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static void fail(const char *what, int i, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_http_front: request %d: %s\ninput (%zu bytes): ", i, what, size);
    for (size_t k = 0; k < size && k < 512; k++)
        fprintf(stderr, (data[k] >= 0x20 && data[k] < 0x7f) ? "%c" : "\\x%02x", data[k]);
    fprintf(stderr, "\n");
    abort();
}

static int same(const struct text *t, gw_str s)
{
    return t->len == s.len && memcmp(base(t), s.base, s.len) == 0;
}

/* http-parser keeps trailing whitespace in a value; RFC 9110 §5.5 drops it. */
static gw_str trimmed(const struct text *t)
{
    size_t n = t->len;
    while (n && (base(t)[n - 1] == ' ' || base(t)[n - 1] == '\t'))
        n--;
    return (gw_str){base(t), n};
}

/* http-parser 2.9.4 takes any header name that starts with
 * "Transfer-Encoding" ("Transfer-Encoding0") as Transfer-Encoding, then
 * fails the request (HPE_INVALID_TRANSFER_ENCODING, or
 * HPE_UNEXPECTED_CONTENT_LENGTH beside a Content-Length). The gateway reads
 * it as the unknown header it is; for such a request the oracle has no
 * trustworthy view, and the comparison stops there. */
static int oracle_te_bug(const struct gw_http_head *h)
{
    for (size_t k = 0; k < h->nfields; k++) {
        gw_str n = h->fields[k].name;
        if (n.len > 17 && gw_str_ieq((gw_str){n.base, 17}, GW_STRLIT("transfer-encoding")))
            return 1;
    }
    return 0;
}

static void check_path(gw_str target, int i, const uint8_t *data, size_t size)
{
    static char path[GW_HEAD_MAX + 2], q[GW_HEAD_MAX + 2];
    int n = gw_http_path_decode(target, path, sizeof path);
    if (n < 1 || (size_t)n > target.len || path[0] != '/' || strlen(path) != (size_t)n)
        fail("decoded path is empty, longer than the target or holds a NUL", i, data, size);
    for (int k = 0; k < n; k++)
        if ((unsigned char)path[k] < 0x20 || path[k] == 0x7f)
            fail("decoded path holds a control byte", i, data, size);
    if (strstr(path, "//") || strstr(path, "/./") || strstr(path, "/../"))
        fail("decoded path keeps an empty or dot segment", i, data, size);
    if ((n >= 2 && strcmp(path + n - 2, "/.") == 0) || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
        fail("decoded path ends in a dot segment", i, data, size);
    gw_str qs = gw_http_target_query(target);
    size_t ql = gw_http_query_decode(qs, q, sizeof q);
    if (ql > qs.len || q[ql] != '\0')
        fail("decoded query is longer than the query", i, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_http_head h;
    static struct text names[MAX_MSGS][MAX_FIELDS], values[MAX_MSGS][MAX_FIELDS];
    const char *buf = (const char *)data;
    size_t off = 0;
    if (size > FUZZ_MAX_INPUT)
        return 0;

    /* The oracle first: it reads the whole stream. */
    if (pool_cap < size) {
        free(pool);
        pool = malloc(size);
        pool_cap = pool ? size : 0;
        if (!pool)
            return 0;
    }
    pool_len = 0;
    nmsgs = 0;
    for (int i = 0; i < MAX_MSGS; i++) {
        msgs[i].names = names[i];
        msgs[i].values = values[i];
    }
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    http_parser_execute(&p, &settings, buf, size);
    enum http_errno herr = HTTP_PARSER_ERRNO(&p);

    /* The gateway: one request at a time, as a connection reads them. */
    for (int i = 0; i < MAX_MSGS && off < size; i++) {
        struct gw_http_frame f;
        if (!gw_http_frame(buf + off, size - off, BODY_MAX, &h, &f))
            break; /* waits for more bytes */
        if (f.verdict == GW_HEAD_REFUSE)
            break; /* answered with an error, connection closed */
        if (f.head_len <= 0 || (size_t)f.head_len > size - off)
            fail("head length outside the input", i, data, size);
        if ((unsigned long long)f.body_len > size - off - (size_t)f.head_len)
            break; /* waits for the rest of the body */
        gw_str body = {buf + off + f.head_len, (size_t)f.body_len};
        check_path(h.target, i, data, size);

        /* http-parser stops after an upgrade and after a message that
         * closes the connection ("Proxy-Connection: close" too): past that
         * point it has no view to compare. */
        if (i >= nmsgs || !msgs[i].complete) {
            if (i > 0 && i == nmsgs && msgs[i - 1].complete &&
                (msgs[i - 1].upgrade || herr == HPE_CLOSED_CONNECTION))
                break;
            if (oracle_te_bug(&h))
                break;
            char why[160];
            snprintf(why, sizeof why, "the gateway dispatches it, http-parser does not (%s)",
                     http_errno_name(herr));
            fail(why, i, data, size);
        }
        struct msg *m = &msgs[i];
        if (!gw_str_eq(h.method, gw_str_c(http_method_str((enum http_method)m->method))))
            fail("method differs", i, data, size);
        if (!same(&m->url, h.target))
            fail("request-target differs", i, data, size);
        if (m->nfields != h.nfields)
            fail("header count differs", i, data, size);
        for (size_t k = 0; k < h.nfields; k++)
            if (!same(&m->names[k], h.fields[k].name) ||
                !gw_str_eq(trimmed(&m->values[k]), h.fields[k].value))
                fail("a header differs", i, data, size);
        if (!same(&m->body, body))
            fail("body differs", i, data, size);

        off += (size_t)f.head_len + (size_t)f.body_len;
        if (f.verdict == GW_HEAD_SERVE_CLOSE)
            break; /* the gateway closes after answering */
        if (i == 0 && h.websocket)
            break; /* handed to lws's WebSocket server (accept.c) */
    }
    return 0;
}
