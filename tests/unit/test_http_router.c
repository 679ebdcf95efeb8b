/* Router: literal, parameter and wildcard patterns; 404 vs 405; order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "gateway/app/app.h"
#include "gateway/core/err.h"
#include "gateway/http/router.h"

static void h_a(gw_req *r) { (void)r; }
static void h_b(gw_req *r) { (void)r; }
static void h_c(gw_req *r) { (void)r; }
static void h_d(gw_req *r) { (void)r; }

static const struct gw_route table[] = {
    {GW_M_GET, "/api/status", h_a, 0, NULL},
    {GW_M_GET | GW_M_PUT, "/api/user/:id", h_b, 0, NULL},
    {GW_M_POST, "/api/channel/:id/key/:n", h_c, 0, NULL},
    {GW_M_GET, "/v1beta/models/*", h_d, 0, NULL},
};

struct row {
    int method;
    const char *path;
    int rc;
    gw_handler_cb handler;
    int nparams;
    const char *p0, *p1;
};

static const struct row rows[] = {
    {GW_M_GET, "/api/status", GW_OK, h_a, 0, NULL, NULL},
    {GW_M_GET, "/api/status/", GW_OK, h_a, 0, NULL, NULL},
    {GW_M_POST, "/api/status", GW_ENOTSUP, NULL, 0, NULL, NULL},
    {GW_M_GET, "/api/statusx", GW_ENOTFOUND, NULL, 0, NULL, NULL},
    {GW_M_GET, "/api/user/42", GW_OK, h_b, 1, "42", NULL},
    {GW_M_PUT, "/api/user/abc", GW_OK, h_b, 1, "abc", NULL},
    {GW_M_GET, "/api/user/", GW_ENOTFOUND, NULL, 0, NULL, NULL},
    {GW_M_GET, "/api/user/1/2", GW_ENOTFOUND, NULL, 0, NULL, NULL},
    {GW_M_POST, "/api/channel/7/key/3", GW_OK, h_c, 2, "7", "3"},
    {GW_M_GET, "/v1beta/models/gemini-pro:generateContent", GW_OK, h_d, 1,
     "gemini-pro:generateContent", NULL},
    {GW_M_GET, "/v1beta/models", GW_OK, h_d, 1, "", NULL},
    {GW_M_GET, "/", GW_ENOTFOUND, NULL, 0, NULL, NULL},
    {GW_M_GET, "", GW_ENOTFOUND, NULL, 0, NULL, NULL},
};

static void table_driven(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *w = &rows[i];
        const struct gw_route *route = NULL;
        gw_str params[GW_MAX_PARAMS];
        int np = -1;
        int rc = gw_router_match(table, sizeof table / sizeof table[0], w->method, w->path,
                                 &route, params, &np);
        print_message("row %zu: %s\n", i, w->path);
        assert_int_equal(rc, w->rc);
        if (rc != GW_OK)
            continue;
        assert_ptr_equal(route->handler, w->handler);
        assert_int_equal(np, w->nparams);
        if (w->p0) {
            assert_int_equal(params[0].len, strlen(w->p0));
            assert_memory_equal(params[0].base, w->p0, params[0].len);
        }
        if (w->p1) {
            assert_int_equal(params[1].len, strlen(w->p1));
            assert_memory_equal(params[1].base, w->p1, params[1].len);
        }
    }
}

static void gateway_table_has_status(void **state)
{
    (void)state;
    const struct gw_route *routes = gw_app()->routes, *route;
    size_t n = gw_app()->nroutes;
    gw_str params[GW_MAX_PARAMS];
    int np;
    assert_true(n > 0);
    assert_int_equal(gw_router_match(routes, n, GW_M_GET, "/api/status", &route, params, &np),
                     GW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_driven),
        cmocka_unit_test(gateway_table_has_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
