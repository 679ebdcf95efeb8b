/* The upstream SSE parser (gateway/http/sse_parse.c), differentially: the
 * same bytes fed at once and in pseudo-random splits (CR/LF pairs cut
 * across feeds included) must give the same events and the same result,
 * and every event must respect the parser's bounds and field rules.
 * Input: byte 0 picks the line bound, byte 1 the event bound, the rest is
 * the stream. */
#include "tests/fuzz/fuzz.h"
#include "gateway/core/buf.h"
#include "gateway/core/err.h"
#include "gateway/http/sse.h"

#define FUZZ_MAX_INPUT (64u << 10)

struct log {
    gw_buf out;
    size_t max_event;
    int stop_after; /* the callback returns 7 on this event (0: never) */
    int n;
};

static int on_event(const struct gw_sse_event *ev, void *data)
{
    struct log *l = data;
    FUZZ_CHECK(ev->data.len <= l->max_event);
    FUZZ_CHECK(ev->event.len <= 256 && ev->id.len <= 256);
    FUZZ_CHECK(!memchr(ev->event.base, '\n', ev->event.len) && !memchr(ev->event.base, '\r', ev->event.len));
    FUZZ_CHECK(!memchr(ev->id.base, '\n', ev->id.len) && !memchr(ev->id.base, '\r', ev->id.len));
    FUZZ_CHECK(!memchr(ev->id.base, '\0', ev->id.len));
    FUZZ_CHECK(!memchr(ev->data.base, '\r', ev->data.len));
    /* length-prefixed so that different event lists never serialise alike */
    gw_buf_appendf(&l->out, "%zu:%zu:%zu:", ev->event.len, ev->data.len, ev->id.len);
    gw_buf_append(&l->out, ev->event.base, ev->event.len);
    gw_buf_append(&l->out, ev->data.base, ev->data.len);
    gw_buf_append(&l->out, ev->id.base, ev->id.len);
    return ++l->n == l->stop_after ? 7 : 0;
}

static int run(const char *s, size_t n, size_t max_line, size_t max_event, int stop_after,
               uint64_t *rng, struct log *l)
{
    struct gw_sse_parser p;
    gw_buf_init(&l->out, 1u << 24);
    l->max_event = max_event;
    l->stop_after = stop_after;
    l->n = 0;
    gw_sse_parser_init(&p, max_line, max_event, on_event, l);
    int rc = GW_OK;
    size_t off = 0;
    while (off < n && rc == GW_OK) {
        size_t k = rng ? 1 + fuzz_next(rng) % 17 : n - off;
        if (k > n - off)
            k = n - off;
        rc = gw_sse_parser_feed(&p, s + off, k);
        off += k;
    }
    if (rc == GW_OK)
        rc = gw_sse_parser_finish(&p);
    gw_sse_parser_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    size_t max_line = 1 + data[0] * 8u, max_event = 1 + data[1] * 16u;
    int stop_after = data[1] & 7;
    const char *s = (const char *)data + 2;
    size_t n = size - 2;
    uint64_t rng = fuzz_seed(data, size);

    struct log whole, split;
    int rc1 = run(s, n, max_line, max_event, stop_after, NULL, &whole);
    int rc2 = run(s, n, max_line, max_event, stop_after, &rng, &split);
    FUZZ_CHECK(rc1 == GW_OK || rc1 == GW_ETOOBIG || rc1 == 7);
    FUZZ_CHECK(rc1 == rc2);
    FUZZ_CHECK(whole.out.len == split.out.len);
    FUZZ_CHECK(whole.out.len == 0 || memcmp(whole.out.base, split.out.base, whole.out.len) == 0);
    gw_buf_free(&whole.out);
    gw_buf_free(&split.out);
    return 0;
}
