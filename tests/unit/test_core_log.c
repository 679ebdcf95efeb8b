#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/core/err.h"
#include "gateway/core/log.h"

/* stderr captured into a temp file for the duration of one test. */
static int saved_fd = -1;
static char path[64];

static int capture_start(void **state)
{
    int fd;

    snprintf(path, sizeof(path), "/tmp/gw-log-test-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    saved_fd = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    gw_log_level = GW_LOG_INFO;
    gw_log_access_enabled = 1;
    gw_log_set_process("w0");
    gw_log_set_request_id(NULL);
    return 0;
}

/* Restore stderr and return what was written (static buffer). */
static const char *capture_end(void)
{
    static char out[65536];
    FILE *f;
    size_t n;

    if (saved_fd < 0)
        return "";
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    saved_fd = -1;
    f = fopen(path, "r");
    n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    return out;
}

/* Teardown: restore stderr even when an assertion ended the test early. */
static int capture_stop(void **state)
{
    capture_end();
    return 0;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_match(const char *text, const char *re)
{
    regex_t r;

    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    if (regexec(&r, text, 0, NULL, 0) != 0)
        fail_msg("no line matches /%s/ in:\n%s", re, text);
    regfree(&r);
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 7;
}

static void test_format_and_levels(void **state)
{
    const char *out;

    evaluated = 0;
    GW_INFO("hello %s %d", "world", 42);
    GW_DEBUG("hidden %d", side_effect());      /* below level: not formatted */
    GW_WARN("careful");
    GW_ERROR("boom: %s", gw_strerror(GW_EIO));
    gw_log_level = GW_LOG_ERROR;
    GW_WARN("also hidden %d", side_effect());
    out = capture_end();
    assert_int_equal(evaluated, 0);
    assert_int_equal(count_lines(out), 3);
    assert_match(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                      "INFO  \\[w0\\] hello world 42$");
    assert_match(out, "Z WARN  \\[w0\\] careful$");
    assert_match(out, "Z ERROR \\[w0\\] boom: i/o error$");
    assert_null(strstr(out, "hidden"));
    assert_null(strstr(out, "rid="));
}

static void test_request_id(void **state)
{
    char rid[] = "req-abc123";
    const char *out;

    gw_log_set_request_id(rid);
    assert_ptr_equal(gw_log_request_id(), rid);
    GW_INFO("with id");
    gw_log_set_request_id(NULL);
    assert_null(gw_log_request_id());
    GW_INFO("without id");
    gw_log_set_process(NULL);
    GW_INFO("no tag");
    out = capture_end();
    assert_match(out, "INFO  \\[w0\\] with id rid=req-abc123$");
    assert_match(out, "INFO  \\[w0\\] without id$");
    assert_match(out, "Z INFO  no tag$");
}

static void test_one_line_per_call(void **state)
{
    static char big[10000];
    const char *out;

    GW_INFO("two\nlines\r\n");
    memset(big, 'x', sizeof(big) - 1);
    gw_log_set_request_id("rid-kept");
    GW_INFO("%s", big);
    gw_log_set_request_id(NULL);
    out = capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_match(out, "\\[w0\\] two lines$");
    /* Truncated to the line limit, marked, and the rid survives. */
    assert_match(out, "xxx\\.\\.\\. rid=rid-kept$");
    assert_true(strlen(out) < 2 * GW_LOG_LINE_MAX);
}

static void test_access(void **state)
{
    const char *out;

    gw_log_access("GET", "/api/status", 200, 123, 456, "r1");
    gw_log_set_request_id("r2");
    gw_log_access("POST", "/v1/chat completions\n", 502, 0, 7, NULL);
    gw_log_set_request_id(NULL);
    gw_log_access("GET", "/", 404, 9, 1, NULL);
    gw_log_access_enabled = 0;
    gw_log_access("GET", "/disabled", 200, 1, 1, NULL);
    gw_log_access_enabled = 1;
    gw_log_level = GW_LOG_WARN;
    gw_log_access("GET", "/filtered", 200, 1, 1, NULL);
    out = capture_end();
    assert_int_equal(count_lines(out), 3);
    assert_match(out, "^[0-9T:.-]+Z ACCESS \\[w0\\] GET /api/status 200 123B 456us rid=r1$");
    assert_match(out, "ACCESS \\[w0\\] POST /v1/chat%20completions%0A 502 0B 7us rid=r2$");
    assert_match(out, "ACCESS \\[w0\\] GET / 404 9B 1us$");
    assert_null(strstr(out, "disabled"));
    assert_null(strstr(out, "filtered"));
}

static void test_level_parse(void **state)
{
    static const struct { const char *in; int rc, want; } cases[] = {
        { "debug", GW_OK, GW_LOG_DEBUG }, { "info", GW_OK, GW_LOG_INFO },
        { "warn", GW_OK, GW_LOG_WARN }, { "error", GW_OK, GW_LOG_ERROR },
        { "INFO", GW_OK, GW_LOG_INFO }, { "warning", GW_OK, GW_LOG_WARN },
        { "", GW_EINVAL, -1 }, { "verbose", GW_EINVAL, -1 }, { "inf", GW_EINVAL, -1 },
        { NULL, GW_EINVAL, -1 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int v = -1;

        assert_int_equal(gw_log_level_parse(cases[i].in, &v), cases[i].rc);
        assert_int_equal(v, cases[i].want);
    }
    assert_string_equal(gw_log_level_name(GW_LOG_WARN), "WARN");
    assert_string_equal(gw_log_level_name(99), "?");
    capture_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_levels, capture_start, capture_stop),
        cmocka_unit_test_setup_teardown(test_request_id, capture_start, capture_stop),
        cmocka_unit_test_setup_teardown(test_one_line_per_call, capture_start, capture_stop),
        cmocka_unit_test_setup_teardown(test_access, capture_start, capture_stop),
        cmocka_unit_test_setup_teardown(test_level_parse, capture_start, capture_stop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
