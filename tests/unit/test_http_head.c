/* Request-head parser (head.c): framing, strictness, the header names that
 * lws 4.1.6 misparsed, verdicts, path and query decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "gateway/core/err.h"
#include "gateway/http/head.h"
#include "gateway/http/server.h"

static struct gw_http_head h;

struct prow {
    const char *in;
    int rc; /* > 0: the head length is strlen(in) minus `tail` */
    size_t tail;
    size_t nfields;
};

static const struct prow prows[] = {
    {"GET / HTTP/1.1\r\n\r\n", 1, 0, 0},
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n", 1, 22, 1},
    {"GET / HTTP/1.1\nHost: x\n\n", 1, 0, 1},           /* bare LF lines */
    {"\r\n\r\nGET / HTTP/1.0\r\n\r\n", 1, 0, 0},         /* leading empty lines */
    {"GET / HTTP/1.1\r\nHost: x\r\n", 0, 0, 0},          /* incomplete */
    {"GET / HTTP/1.1\r\nHost: x\r", 0, 0, 0},
    {"GET / HT", 0, 0, 0},
    {"", 0, 0, 0},
    {"GET / HTTP/1.1\r\nA: 1\rB: 2\r\n\r\n", GW_EINVAL, 0, 0}, /* bare CR */
    {"GET / HTTP/1.1\r\nA b: 1\r\n\r\n", GW_EINVAL, 0, 0},     /* space in a name */
    {"GET / HTTP/1.1\r\nA : 1\r\n\r\n", GW_EINVAL, 0, 0},      /* space before ':' */
    {"GET / HTTP/1.1\r\nA: 1\r\n b\r\n\r\n", GW_EINVAL, 0, 0}, /* obs-fold */
    {"GET / HTTP/1.1\r\n: 1\r\n\r\n", GW_EINVAL, 0, 0},        /* empty name */
    {"GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", GW_EINVAL, 0, 0},
    {"GET  / HTTP/1.1\r\n\r\n", GW_EINVAL, 0, 0},
    {"GET /a b HTTP/1.1\r\n\r\n", GW_EINVAL, 0, 0},
    {"GET a HTTP/1.1\r\n\r\n", GW_EINVAL, 0, 0},
    {"GET / HTTP/2.0\r\n\r\n", GW_EINVAL, 0, 0},
    {"GET / HTTP/1.1 \r\n\r\n", GW_EINVAL, 0, 0},
    {"GET / http/1.1\r\n\r\n", GW_EINVAL, 0, 0},
    {"\r\nX", 0, 0, 0},
    {"\rX\r\n", GW_EINVAL, 0, 0},
    /* lws 4.1.6 swallowed the line after each of these names */
    {"GET / HTTP/1.1\r\nX-F: 1\r\nAuthorization: Bearer t\r\n\r\n", 1, 0, 2},
    {"GET / HTTP/1.1\r\nX: 1\r\nUs: 1\r\nAutho: 1\r\nAcc: 1\r\nCon: 1\r\nContent-Typ: 1\r\n\r\n",
     1, 0, 6},
};

static void parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof prows / sizeof prows[0]; i++) {
        const struct prow *r = &prows[i];
        size_t len = strlen(r->in);
        int rc = gw_http_head_parse(r->in, len, &h);
        if (r->rc > 0) {
            if (rc != (int)(len - r->tail))
                fail_msg("row %zu: %d, want %zu", i, rc, len - r->tail);
            assert_int_equal(h.nfields, r->nfields);
        } else if (rc != r->rc) {
            fail_msg("row %zu: %d, want %d", i, rc, r->rc);
        }
    }
    static const char nul[] = "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n";
    assert_int_equal(gw_http_head_parse(nul, sizeof nul - 1, &h), GW_EINVAL);
}

static void fields_keep_names_and_trim_values(void **state)
{
    (void)state;
    const char *in = "POST /v1/x?a=1 HTTP/1.1\r\nX-F: 1\r\nAuthorization: \t Bearer t \t\r\n"
                     "Empty:\r\nContent-Length: 3\r\n\r\nabc";
    int rc = gw_http_head_parse(in, strlen(in), &h);
    assert_int_equal(rc, (int)strlen(in) - 3);
    assert_true(gw_str_eq(h.method, GW_STRLIT("POST")));
    assert_true(gw_str_eq(h.target, GW_STRLIT("/v1/x?a=1")));
    assert_int_equal(h.nfields, 4);
    assert_true(gw_str_eq(h.fields[0].name, GW_STRLIT("X-F")));
    assert_true(gw_str_eq(h.fields[1].value, GW_STRLIT("Bearer t")));
    assert_int_equal(h.fields[2].value.len, 0);
    assert_int_equal(h.content_length, 3);
    assert_true(h.keep_alive);
    const struct gw_head_field *f = gw_http_head_field(&h, GW_STRLIT("authorization"));
    assert_non_null(f);
    assert_ptr_equal(f, &h.fields[1]);
}

static void limits(void **state)
{
    (void)state;
    static char big[GW_HEAD_MAX + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(gw_http_head_parse(big, sizeof big, &h), GW_ETOOBIG); /* never completes */
    assert_int_equal(gw_http_head_parse(big, GW_HEAD_MAX - 10, &h), 0);
    static char many[GW_HEAD_MAX];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= GW_HEAD_MAX_FIELDS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "H%d: v\r\n", i);
    n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
    assert_int_equal(gw_http_head_parse(many, n, &h), GW_ETOOBIG);
}

struct vrow {
    const char *in;
    enum gw_head_verdict v;
    int status;
};

static const struct vrow vrows[] = {
    {"GET / HTTP/1.1\r\n\r\n", GW_HEAD_SERVE, 0},
    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", GW_HEAD_SERVE_CLOSE, 0},
    {"GET / HTTP/1.0\r\n\r\n", GW_HEAD_SERVE_CLOSE, 0},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", GW_HEAD_SERVE, 0},
    {"POST / HTTP/1.1\r\n\r\n", GW_HEAD_SERVE_CLOSE, 0}, /* body method, no length */
    {"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", GW_HEAD_SERVE, 0},
    {"POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length:\t1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", GW_HEAD_REFUSE, 413},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", GW_HEAD_REFUSE, 411},
    {"BREW / HTTP/1.1\r\n\r\n", GW_HEAD_REFUSE, 405},
    {"get / HTTP/1.1\r\n\r\n", GW_HEAD_REFUSE, 405},
    {"GET /%zz HTTP/1.1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"GET /a%0d%0aINFO HTTP/1.1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"GET /%00 HTTP/1.1\r\n\r\n", GW_HEAD_REFUSE, 400},
    {"GET / HTTP/1.1\r\nA b: 1\r\n\r\n", GW_HEAD_REFUSE, 400},
};

static void verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vrows / sizeof vrows[0]; i++) {
        struct gw_http_frame f;
        const char *in = vrows[i].in;
        assert_int_equal(gw_http_frame(in, strlen(in), 1000, &h, &f), 1);
        if (f.verdict != vrows[i].v || (f.verdict == GW_HEAD_REFUSE && f.status != vrows[i].status))
            fail_msg("row %zu: verdict %d status %d", i, f.verdict, f.status);
    }
    struct gw_http_frame f;
    const char *ws = "GET /ws HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                     "\r\n";
    assert_int_equal(gw_http_frame(ws, strlen(ws), 1000, &h, &f), 1);
    assert_true(h.websocket);
    const char *post = "PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n";
    assert_int_equal(gw_http_frame(post, strlen(post), 1000, &h, &f), 1);
    assert_int_equal(f.body_len, 5);
    assert_int_equal(f.method, GW_M_PUT);
    assert_true(h.expect_continue);
}

struct drow {
    const char *target, *path;
};

static const struct drow drows[] = {
    {"/", "/"},
    {"/api/status", "/api/status"},
    {"/api/status/", "/api/status/"},
    {"/api//x", "/api/x"},
    {"/v1/../api/./x", "/api/x"},
    {"/../../x", "/x"},
    {"/a/b/..", "/a/"},
    {"/a/.", "/a/"},
    {"/a/%2e%2E/b", "/b"},
    {"/%41%2e%2E/b", "/A../b"},
    {"/a%20b?x=1#f", "/a b"},
    {"/%E4%BD%A0", "/\xe4\xbd\xa0"},
};

static void paths_and_queries(void **state)
{
    (void)state;
    char out[64];
    for (size_t i = 0; i < sizeof drows / sizeof drows[0]; i++) {
        int n = gw_http_path_decode(gw_str_c(drows[i].target), out, sizeof out);
        if (n < 0 || strcmp(out, drows[i].path) != 0 || (size_t)n != strlen(out))
            fail_msg("row %zu: %d '%s', want '%s'", i, n, n < 0 ? "" : out, drows[i].path);
    }
    assert_int_equal(gw_http_path_decode(GW_STRLIT("/a%2"), out, sizeof out), GW_EINVAL);
    assert_int_equal(gw_http_path_decode(GW_STRLIT("/a%1f"), out, sizeof out), GW_EINVAL);
    gw_str q = gw_http_target_query(GW_STRLIT("/x?a=%41+b&c#frag"));
    assert_true(gw_str_eq(q, GW_STRLIT("a=%41+b&c")));
    assert_int_equal(gw_http_query_decode(q, out, sizeof out), 7);
    assert_string_equal(out, "a=A b&c");
    assert_int_equal(gw_http_query_decode(GW_STRLIT("%zz%4"), out, sizeof out), 5);
    assert_string_equal(out, "%zz%4");
    assert_int_equal(gw_http_target_query(GW_STRLIT("/x")).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_table),
        cmocka_unit_test(fields_keep_names_and_trim_values),
        cmocka_unit_test(limits),
        cmocka_unit_test(verdicts),
        cmocka_unit_test(paths_and_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
