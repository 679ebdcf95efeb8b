/* Golden fixtures of the format layer (tests/golden/): every file is one
 * conversion, FROM_to_TO*.json = {"from", "to", "input", "expected", ...}:
 *  - request/:  input is the client's body in `from`, expected the body sent
 *               to a `to` upstream (gw_format_convert_request); optional
 *               "upstream_model", "stream", "include_usage", "path_model",
 *               or "expected_error" (a substring of the 400's message)
 *               instead of "expected";
 *  - response/: input is the upstream's `from` response, expected what a
 *               `to` client gets (gw_format_convert_response); "model" is
 *               the client's model name;
 *  - stream/:   input is the upstream's `from` SSE events
 *               [{"event": name|null, "data": object|string}], expected the
 *               `to` client's events in the same shape (decode → encode,
 *               with the closing GW_EV_END the relay sends when the
 *               upstream had none); optional "usage" checks the meter:
 *               {"prompt", "completion", "cached", "cache_write",
 *               "cache_write_1h", "reasoning"}; "client_usage" for chat.
 * In "expected", the string "<any>" matches any value (generated ids,
 * timestamps). Objects must have exactly the expected keys. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "gateway/core/str.h"
#include <string.h>

#include <cmocka.h>

#include "adapters/format.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static const struct gw_format *by_name(const char *n)
{
    static const struct gw_format *const all[] = {&gw_format_chat, &gw_format_messages,
                                                  &gw_format_gemini, &gw_format_responses};
    for (size_t i = 0; n && i < 4; i++)
        if (strcmp(all[i]->name, n) == 0)
            return all[i];
    return NULL;
}

/* 1 when got matches want; else prints where and returns 0. */
static int match(const json_t *want, const json_t *got, const char *where)
{
    if (json_is_string(want) && strcmp(json_string_value(want), "<any>") == 0)
        return got != NULL;
    if (!got) {
        fprintf(stderr, "  %s: missing\n", where);
        return 0;
    }
    if (json_is_number(want) && json_is_number(got)) {
        if (json_number_value(want) == json_number_value(got))
            return 1;
    } else if (json_typeof(want) != json_typeof(got)) {
    } else if (json_is_object(want)) {
        const char *k;
        json_t *v;
        int ok = json_object_size(want) == json_object_size(got);
        char sub[512];
        json_object_foreach((json_t *)want, k, v) {
            snprintf(sub, sizeof sub, "%s.%s", where, k);
            ok &= match(v, json_object_get(got, k), sub);
        }
        if (json_object_size(want) != json_object_size(got)) {
            json_object_foreach((json_t *)got, k, v)
                if (!json_object_get(want, k))
                    fprintf(stderr, "  %s.%s: unexpected key\n", where, k);
        }
        return ok;
    } else if (json_is_array(want)) {
        if (json_array_size(want) != json_array_size(got)) {
            fprintf(stderr, "  %s: %zu elements, expected %zu\n", where, json_array_size(got),
                    json_array_size(want));
            return 0;
        }
        int ok = 1;
        char sub[512];
        for (size_t i = 0; i < json_array_size(want); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", where, i);
            ok &= match(json_array_get(want, i), json_array_get(got, i), sub);
        }
        return ok;
    } else if (json_equal((json_t *)want, (json_t *)got)) {
        return 1;
    }
    char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    fprintf(stderr, "  %s: expected %s, got %s\n", where, a ? a : "?", b ? b : "?");
    gw_free(a);
    gw_free(b);
    return 0;
}

/* ---- streams ---- */

struct sctx {
    const struct gw_format *to;
    struct gw_stream_state enc;
    const char *model;
    json_t *events;
    struct gw_usage usage;
    int ended;
};

static int collect(const char *event, const char *data, size_t len, void *ctx)
{
    struct sctx *s = ctx;
    json_t *d = gw_json_parse(data, len, 0, NULL, 0);
    if (!d)
        d = json_stringn(data, len);
    json_array_append_new(s->events, json_pack("{s:o, s:o}", "event",
                                               event ? json_string(event) : json_null(), "data", d));
    return 0;
}

static int on_ev(const struct gw_ev *ev, void *ctx)
{
    struct sctx *s = ctx;
    if (ev->kind == GW_EV_USAGE && ev->usage)
        s->usage = *ev->usage;
    if (ev->kind == GW_EV_END) {
        if (s->ended)
            return 0;
        s->ended = 1;
    }
    return s->to->encode(&s->enc, ev, s->model, collect, s);
}

static int run_stream(const json_t *fx, const struct gw_format *from, const struct gw_format *to,
                      const char *name)
{
    if (!from->decode || !to->encode) {
        fprintf(stderr, "%s: decode/encode not implemented\n", name);
        return 0;
    }
    struct gw_stream_state dec;
    struct sctx s = {.to = to, .model = json_string_value(json_object_get(fx, "model"))};
    memset(&dec, 0, sizeof dec);
    memset(&s.enc, 0, sizeof s.enc);
    if (!s.model)
        s.model = "test-model";
    s.events = json_array();
    int cu = json_is_true(json_object_get(fx, "client_usage"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(fx, "input"), i, e) {
        const json_t *d = json_object_get(e, "data");
        char *text = json_is_string(d) ? NULL : json_dumps(d, JSON_COMPACT);
        const char *dt = text ? text : json_string_value(d);
        const char *en = json_string_value(json_object_get(e, "event"));
        struct gw_sse_event ev = {.event = gw_str_c(en ? en : ""), .data = gw_str_c(dt ? dt : "")};
        int rc = from->decode(&dec, &ev, cu, on_ev, &s);
        gw_free(text);
        if (rc < 0) {
            fprintf(stderr, "%s: decode of event %zu failed: %d\n", name, i, rc);
            json_decref(s.events);
            return 0;
        }
    }
    if (!s.ended) {
        struct gw_ev end = {.kind = GW_EV_END};
        on_ev(&end, &s);
    }
    if (from->stream_free)
        from->stream_free(&dec);
    if (to->stream_free)
        to->stream_free(&s.enc);
    int ok = match(json_object_get(fx, "expected"), s.events, name);
    const json_t *wu = json_object_get(fx, "usage");
    if (wu) {
        json_t *gu = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "prompt", (json_int_t)s.usage.prompt,
                               "completion", (json_int_t)s.usage.completion, "cached",
                               (json_int_t)s.usage.cached, "cache_write",
                               (json_int_t)s.usage.cache_write, "cache_write_1h",
                               (json_int_t)s.usage.cache_write_1h, "reasoning",
                               (json_int_t)s.usage.reasoning);
        json_t *w2 = json_deep_copy(gu);
        json_object_update(w2, (json_t *)wu); /* unspecified counts: whatever came */
        ok &= match(w2, gu, "usage");
        json_decref(gu);
        json_decref(w2);
    }
    if (!ok) {
        char *g = json_dumps(s.events, JSON_INDENT(1));
        fprintf(stderr, "%s: got %s\n", name, g ? g : "?");
        gw_free(g);
    }
    json_decref(s.events);
    return ok;
}

/* ---- one file ---- */

static int run_file(const char *kind, const char *path, const char *name)
{
    json_error_t je;
    json_t *fx = json_load_file(path, 0, &je);
    if (!fx) {
        fprintf(stderr, "%s: %s (line %d)\n", name, je.text, je.line);
        return 0;
    }
    const struct gw_format *from = by_name(json_string_value(json_object_get(fx, "from")));
    const struct gw_format *to = by_name(json_string_value(json_object_get(fx, "to")));
    int ok = 0;
    char msg[300] = "";
    json_t *out = NULL;
    if (!from || !to) {
        fprintf(stderr, "%s: bad from/to\n", name);
    } else if (strcmp(kind, "request") == 0) {
        struct gw_path_facts pf = {
            .model = json_string_value(json_object_get(fx, "path_model")),
            .stream = json_is_true(json_object_get(fx, "stream")),
        };
        const char *um = json_string_value(json_object_get(fx, "upstream_model"));
        struct gw_conv_opts o = {.upstream_model = um ? um : "test-model",
                                 .stream = pf.stream,
                                 .include_usage = json_is_true(json_object_get(fx, "include_usage"))};
        int rc = gw_format_convert_request(from, to, json_object_get(fx, "input"), &pf, &o, &out,
                                           msg, sizeof msg);
        const char *want_err = json_string_value(json_object_get(fx, "expected_error"));
        if (want_err) {
            ok = rc == GW_EINVAL && strstr(msg, want_err);
            if (!ok)
                fprintf(stderr, "%s: expected a refusal with '%s', got rc %d '%s'\n", name,
                        want_err, rc, msg);
        } else if (rc != GW_OK) {
            fprintf(stderr, "%s: rc %d: %s\n", name, rc, msg);
        } else {
            ok = match(json_object_get(fx, "expected"), out, name);
        }
    } else if (strcmp(kind, "response") == 0) {
        char *text = json_dumps(json_object_get(fx, "input"), JSON_COMPACT);
        const char *model = json_string_value(json_object_get(fx, "model"));
        int rc = text ? gw_format_convert_response(from, to, text, strlen(text),
                                                   model ? model : "test-model", &out)
                      : GW_ENOMEM;
        gw_free(text);
        if (rc != GW_OK)
            fprintf(stderr, "%s: rc %d\n", name, rc);
        else
            ok = match(json_object_get(fx, "expected"), out, name);
    } else {
        ok = run_stream(fx, from, to, name);
    }
    if (!ok && out) {
        char *g = json_dumps(out, JSON_INDENT(1));
        fprintf(stderr, "%s: got %s\n", name, g ? g : "?");
        gw_free(g);
    }
    json_decref(out);
    json_decref(fx);
    return ok;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of one kind; fills seen[from][to]. Returns failures. */
static int run_kind(const char *kind, int seen[5][5], int *count)
{
    const char *src = getenv("GW_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/golden/%s", src ? src : ".", kind);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 512) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            names[n++] = gw_strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    int fails = 0;
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (run_file(kind, path, names[i])) {
            json_t *fx = json_load_file(path, 0, NULL);
            const struct gw_format *f = by_name(json_string_value(json_object_get(fx, "from")));
            const struct gw_format *t = by_name(json_string_value(json_object_get(fx, "to")));
            seen[f->wire][t->wire] = 1;
            json_decref(fx);
        } else {
            fprintf(stderr, "FAIL %s/%s\n", kind, names[i]);
            fails++;
        }
        (*count)++;
        gw_free(names[i]);
    }
    return fails;
}

static int seen_all[3][5][5];

static void requests(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(run_kind("request", seen_all[0], &n), 0);
    printf("request fixtures: %d\n", n);
}

static void responses(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(run_kind("response", seen_all[1], &n), 0);
    printf("response fixtures: %d\n", n);
}

static void streams(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(run_kind("stream", seen_all[2], &n), 0);
    printf("stream fixtures: %d\n", n);
}

/* Each of the 12 directions has a passing fixture of each kind. */
static void every_direction(void **state)
{
    (void)state;
    static const char *const kinds[] = {"request", "response", "stream"};
    int missing = 0;
    for (int k = 0; k < 3; k++)
        for (int a = GW_WIRE_CHAT; a <= GW_WIRE_RESPONSES; a++)
            for (int b = GW_WIRE_CHAT; b <= GW_WIRE_RESPONSES; b++)
                if (a != b && !seen_all[k][a][b]) {
                    fprintf(stderr, "no passing %s fixture %s → %s\n", kinds[k],
                            gw_format_of(a)->name, gw_format_of(b)->name);
                    missing++;
                }
    assert_int_equal(missing, 0);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests),
        cmocka_unit_test(responses),
        cmocka_unit_test(streams),
        cmocka_unit_test(every_direction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
