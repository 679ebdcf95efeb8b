/* SSE: event framing, and the incremental parser fed in every possible split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "gateway/core/err.h"
#include "gateway/http/sse.h"

static void format_events(void **state)
{
    (void)state;
    static const struct {
        const char *event, *data, *want;
    } rows[] = {
        {NULL, "{\"a\":1}", "data: {\"a\":1}\n\n"},
        {"message_start", "x", "event: message_start\ndata: x\n\n"},
        {NULL, "a\nb", "data: a\ndata: b\n\n"},
        {NULL, "", "data: \n\n"},
        {NULL, "[DONE]", "data: [DONE]\n\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        gw_buf b;
        gw_buf_init(&b, 1024);
        assert_int_equal(gw_sse_format(&b, rows[i].event, rows[i].data, strlen(rows[i].data)),
                         GW_OK);
        assert_string_equal(b.base, rows[i].want);
        gw_buf_free(&b);
    }
}

struct seen {
    char out[4096];
    size_t n;
    int count;
    int stop_after;
};

static int collect(const struct gw_sse_event *ev, void *data)
{
    struct seen *s = data;
    s->count++;
    int w = snprintf(s->out + s->n, sizeof s->out - s->n, "[%.*s|%.*s|%.*s]", (int)ev->event.len,
                     ev->event.base, (int)ev->data.len, ev->data.base, (int)ev->id.len,
                     ev->id.base);
    s->n += (size_t)w;
    return s->stop_after && s->count >= s->stop_after ? 7 : 0;
}

static const struct {
    const char *in, *want;
    int events;
} streams[] = {
    {"data: {\"x\":1}\n\ndata: [DONE]\n\n", "[|{\"x\":1}|][|[DONE]|]", 2},
    {"event: ping\r\ndata: a\r\ndata: b\r\n\r\n", "[ping|a\nb|]", 1},
    {": comment\n\ndata:nospace\rid: 7\r\r", "[|nospace|7]", 1},
    {"event: message_delta\ndata: {}\n\nevent: x\n\n", "[message_delta|{}|]", 1},
    {"retry: 10\nfoo: bar\ndata\n\n", "[||]", 1},
    {"data: tail-without-blank-line", "[|tail-without-blank-line|]", 1},
};

static void parse_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        size_t len = strlen(streams[i].in);
        for (size_t cut = 0; cut <= len; cut++) {
            struct seen s = {0};
            struct gw_sse_parser p;
            gw_sse_parser_init(&p, 1024, 4096, collect, &s);
            assert_int_equal(gw_sse_parser_feed(&p, streams[i].in, cut), GW_OK);
            assert_int_equal(gw_sse_parser_feed(&p, streams[i].in + cut, len - cut), GW_OK);
            assert_int_equal(gw_sse_parser_finish(&p), GW_OK);
            assert_string_equal(s.out, streams[i].want);
            assert_int_equal(s.count, streams[i].events);
            gw_sse_parser_free(&p);
        }
    }
}

static void bounded_line_and_stop(void **state)
{
    (void)state;
    struct seen s = {0};
    struct gw_sse_parser p;
    char big[300];
    memset(big, 'x', sizeof big);
    gw_sse_parser_init(&p, 128, 4096, collect, &s);
    assert_int_equal(gw_sse_parser_feed(&p, "data: ", 6), GW_OK);
    assert_int_equal(gw_sse_parser_feed(&p, big, sizeof big), GW_ETOOBIG);
    gw_sse_parser_free(&p);

    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    gw_sse_parser_init(&p, 128, 4096, collect, &s);
    assert_int_equal(gw_sse_parser_feed(&p, "data: a\n\ndata: b\n\n", 18), 7);
    assert_int_equal(s.count, 1);
    gw_sse_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_events),
        cmocka_unit_test(parse_every_split),
        cmocka_unit_test(bounded_line_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
