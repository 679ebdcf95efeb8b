/* Transcript runner shared by test_adapter_*.c (header-only: the tests link
 * nothing but gwrelay). A transcript file holds cases:
 *
 *   === case <name>           starts a case
 *   === channel               JSON: type, base_url, other, openai_organization,
 *                             setting, settings, param_override, header_override
 *   === call                  JSON: mode (chat|completions|embeddings|moderations),
 *                             path, model, upstream_model, stream, inject_usage,
 *                             api_key, client_headers {name: value}, is_channel_test
 *   === client-body           the client's JSON body
 *   === url / === headers / === body / === proxy
 *                             what build() must produce: the URL and proxy
 *                             exactly, the header lines exactly and in order,
 *                             the body as JSON (canonical compare)
 *   === error                 instead: "<rc> <substring of err>" build() fails with
 *   === stream                raw SSE as the provider sent it
 *   === response              a non-streamed success body
 *   === error-body            a provider error body
 *   === expect                JSON: for stream: actions (P pass, D drop, X done;
 *                             one letter per event) with client_wants_usage
 *                             false, actions_wants_usage with it true, usage
 *                             {prompt,completion,total,cached} or null, chars;
 *                             for response: usage / rc; for error-body: msg,
 *                             code, rc
 *
 * Lines starting with "#" before the first section are comments. */
#ifndef GW_TESTS_ADAPTERS_HARNESS_H
#define GW_TESTS_ADAPTERS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "adapters/adapter.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

#define H_MAX_SECTIONS 16

struct h_case {
    char name[128];
    int nsec;
    struct {
        char name[32];
        char *text; /* NUL-terminated; trailing newline removed */
    } sec[H_MAX_SECTIONS];
};

static const char *h_sec(const struct h_case *c, const char *name)
{
    for (int i = 0; i < c->nsec; i++) {
        if (strcmp(c->sec[i].name, name) == 0)
            return c->sec[i].text;
    }
    return NULL;
}

static char *h_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *s;

    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Splits text (modified in place) into cases; returns the count. */
static int h_parse(char *text, struct h_case *cases, int max)
{
    int n = -1;
    char *p = text, *body = NULL;
    struct h_case *c = NULL;

    while (*p) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (strncmp(p, "=== ", 4) == 0) {
            if (body && c) {   /* end the previous section before this line */
                char *end = p;
                while (end > body && end[-1] == '\n')
                    end--;
                *end = '\0';
            }
            if (eol)
                *eol = '\0';
            if (strncmp(p + 4, "case ", 5) == 0) {
                assert_true(n + 1 < max);
                c = &cases[++n];
                memset(c, 0, sizeof *c);
                snprintf(c->name, sizeof c->name, "%s", p + 9);
                body = NULL;
            } else {
                assert_non_null(c);
                assert_true(c->nsec < H_MAX_SECTIONS);
                snprintf(c->sec[c->nsec].name, sizeof c->sec[c->nsec].name, "%s", p + 4);
                c->sec[c->nsec].text = next;
                body = next;
                c->nsec++;
            }
        }
        p = next;
    }
    if (body && c) {
        size_t l = strlen(body);
        while (l && body[l - 1] == '\n')
            body[--l] = '\0';
    }
    return n + 1;
}

static json_t *h_json(const char *text, const char *what, const char *name)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (j == NULL)
        fail_msg("%s: bad JSON in %s: %s", name, what, e.text);
    return j;
}

static char *h_dup(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return strdup(s ? s : "");
}

static json_t *h_obj(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_object(v) ? json_incref(v) : NULL;
}

static void h_channel(const json_t *j, struct gw_channel *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->type = (int)json_integer_value(json_object_get(j, "type"));
    ch->base_url = h_dup(j, "base_url");
    ch->other = h_dup(j, "other");
    ch->openai_organization = h_dup(j, "openai_organization");
    ch->setting = h_obj(j, "setting");
    ch->settings = h_obj(j, "settings");
    ch->param_override = h_obj(j, "param_override");
    ch->header_override = h_obj(j, "header_override");
}

static void h_channel_free(struct gw_channel *ch)
{
    free(ch->base_url);
    free(ch->other);
    free(ch->openai_organization);
    json_decref(ch->setting);
    json_decref(ch->settings);
    json_decref(ch->param_override);
    json_decref(ch->header_override);
}

static void h_each_header(void *ctx, gw_header_visit_cb visit, void *data)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ctx, k, v) {
        if (visit(k, json_string_value(v), data))
            return;
    }
}

static enum gw_relay_mode h_mode(const char *m)
{
    if (m && strcmp(m, "completions") == 0)
        return GW_RELAY_COMPLETIONS;
    if (m && strcmp(m, "embeddings") == 0)
        return GW_RELAY_EMBEDDINGS;
    if (m && strcmp(m, "moderations") == 0)
        return GW_RELAY_MODERATIONS;
    return GW_RELAY_CHAT;
}

static const char *h_rc_name(int rc)
{
    switch (rc) {
    case GW_OK: return "GW_OK";
    case GW_EINVAL: return "GW_EINVAL";
    case GW_ENOTSUP: return "GW_ENOTSUP";
    case GW_ETOOBIG: return "GW_ETOOBIG";
    case GW_ENOMEM: return "GW_ENOMEM";
    default: return "other";
    }
}

static void h_headers_text(const struct curl_slist *l, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; l; l = l->next)
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "\n" : "", l->data);
}

/* build() against the expected URL, headers, body and proxy (or error). */
static void h_run_build(const struct h_case *c)
{
    json_t *jch = h_json(h_sec(c, "channel"), "channel", c->name);
    json_t *jcall = h_json(h_sec(c, "call"), "call", c->name);
    json_t *body = h_json(h_sec(c, "client-body"), "client-body", c->name);
    json_t *hdrs = json_object_get(jcall, "client_headers");
    struct gw_channel ch;
    struct gw_relay_call call = {0};
    struct gw_upstream_req q;
    const struct gw_channel_type *ct;
    char base[512], err[512] = "", got[8192];
    const char *want_err = h_sec(c, "error");
    int rc;

    h_channel(jch, &ch);
    ct = gw_channel_type(ch.type);
    if (ct == NULL)
        fail_msg("%s: no channel type %d", c->name, ch.type);
    call.mode = h_mode(json_string_value(json_object_get(jcall, "mode")));
    call.path = json_string_value(json_object_get(jcall, "path"));
    call.body = body;
    call.model = json_string_value(json_object_get(jcall, "model"));
    call.upstream_model = json_string_value(json_object_get(jcall, "upstream_model"));
    if (call.upstream_model == NULL)
        call.upstream_model = call.model;
    call.stream = json_is_true(json_object_get(jcall, "stream"));
    call.inject_usage = json_is_true(json_object_get(jcall, "inject_usage"));
    call.api_key = json_string_value(json_object_get(jcall, "api_key"));
    call.is_channel_test = json_is_true(json_object_get(jcall, "is_channel_test"));
    if (json_is_object(hdrs)) {
        call.client_headers = h_each_header;
        call.client_headers_ctx = hdrs;
    }
    gw_upstream_req_init(&q);
    const char *b = gw_channel_base_url(&ch, ct, base, sizeof base);
    assert_non_null(b);
    rc = ct->adapter->build(&ch, b, &call, &q, err, sizeof err);
    if (want_err) {
        char rcname[32];
        const char *sub = strchr(want_err, ' ');
        snprintf(rcname, sizeof rcname, "%.*s", sub ? (int)(sub - want_err) : (int)strlen(want_err),
                 want_err);
        if (strcmp(h_rc_name(rc), rcname) != 0)
            fail_msg("%s: build() = %s (%s), want %s", c->name, h_rc_name(rc), err, rcname);
        if (sub && strstr(err, sub + 1) == NULL)
            fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, sub + 1);
    } else {
        if (rc != GW_OK)
            fail_msg("%s: build() = %s: %s", c->name, h_rc_name(rc), err);
        if (strcmp(q.url.base, h_sec(c, "url")) != 0)
            fail_msg("%s: url\n got %s\nwant %s", c->name, q.url.base, h_sec(c, "url"));
        if (h_sec(c, "headers")) {
            h_headers_text(q.headers, got, sizeof got);
            if (strcmp(got, h_sec(c, "headers")) != 0)
                fail_msg("%s: headers\n got:\n%s\nwant:\n%s", c->name, got, h_sec(c, "headers"));
        }
        if (h_sec(c, "body")) {
            json_t *want = h_json(h_sec(c, "body"), "body", c->name);
            json_t *sent = h_json(q.body.base, "sent body", c->name);
            if (!json_equal(want, sent))
                fail_msg("%s: body\n got %s\nwant %s", c->name, q.body.base, h_sec(c, "body"));
            json_decref(want);
            json_decref(sent);
        }
        const char *proxy = h_sec(c, "proxy");
        if (strcmp(q.proxy.base ? q.proxy.base : "", proxy ? proxy : "") != 0)
            fail_msg("%s: proxy \"%s\", want \"%s\"", c->name, q.proxy.base ? q.proxy.base : "",
                     proxy ? proxy : "");
    }
    gw_upstream_req_free(&q);
    h_channel_free(&ch);
    json_decref(jch);
    json_decref(jcall);
    json_decref(body);
}

/* The wire format that reads an adapter's answers (adapters/format.h):
 * the wire it chooses for a chat call on a plain channel (chat for the
 * adapters without a wire() of their own). */
static const struct gw_format *h_format(const struct gw_adapter *ad)
{
    static const struct gw_channel plain;
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = GW_WIRE_CHAT};
    return ad->wire ? gw_format_of(ad->wire(&plain, &call)) : &gw_format_chat;
}

struct h_stream {
    const struct gw_format *f;
    struct gw_stream_state st;
    int wants;
    char actions[256];
    size_t n;
    struct gw_usage u;
    size_t chars;
};

/* The relay's meter: the last usage, the delivered text's code points. */
static int h_meter(const struct gw_ev *ev, void *data)
{
    struct h_stream *s = data;
    if (ev->kind == GW_EV_USAGE && ev->usage->present)
        s->u = *ev->usage;
    if (ev->kind == GW_EV_TEXT || ev->kind == GW_EV_REASONING || ev->kind == GW_EV_TOOL_ARGS)
        s->chars += gw_fmt_code_points(ev->text);
    return 0;
}

/* Feeds a stream to an SSE parser whole, or a byte at a time (bytewise). */
static inline void h_feed(const char *raw, size_t len, int bytewise, gw_sse_event_cb cb, void *ctx)
{
    struct gw_sse_parser p;
    gw_sse_parser_init(&p, 1 << 16, 1 << 20, cb, ctx);
    if (bytewise) {
        for (size_t i = 0; i < len; i++)
            assert_int_equal(gw_sse_parser_feed(&p, raw + i, 1), GW_OK);
    } else {
        assert_int_equal(gw_sse_parser_feed(&p, raw, len), GW_OK);
    }
    assert_int_equal(gw_sse_parser_finish(&p), GW_OK);
    gw_sse_parser_free(&p);
}

static int h_on_event(const struct gw_sse_event *ev, void *data)
{
    struct h_stream *s = data;
    int a = s->f->decode(&s->st, ev, s->wants, h_meter, s);
    assert_true(s->n + 1 < sizeof s->actions);
    s->actions[s->n++] = a == GW_DEC_PASS ? 'P' : a == GW_DEC_DROP ? 'D' : 'X';
    s->actions[s->n] = '\0';
    return 0;
}

static void h_check_usage(const char *name, const json_t *want, const struct gw_usage *u)
{
    if (want == NULL || json_is_null(want)) {
        if (u->present)
            fail_msg("%s: usage present, want none", name);
        return;
    }
    if (!u->present)
        fail_msg("%s: no usage, want some", name);
    assert_int_equal(u->prompt, json_integer_value(json_object_get(want, "prompt")));
    assert_int_equal(u->completion, json_integer_value(json_object_get(want, "completion")));
    assert_int_equal(u->total, json_integer_value(json_object_get(want, "total")));
    assert_int_equal(u->cached, json_integer_value(json_object_get(want, "cached")));
}

/* The stream fed in one piece and byte by byte gives the same answers. */
static void h_run_stream(const struct h_case *c, const struct gw_adapter *ad)
{
    json_t *want = h_json(h_sec(c, "expect"), "expect", c->name);
    const char *raw = h_sec(c, "stream");
    size_t len = strlen(raw);

    for (int wants = 0; wants <= 1; wants++) {
        for (int bytewise = 0; bytewise <= 1; bytewise++) {
            struct h_stream s = {.f = h_format(ad), .wants = wants};
            assert_non_null(s.f);
            const char *wa = json_string_value(
                json_object_get(want, wants ? "actions_wants_usage" : "actions"));
            h_feed(raw, len, bytewise, h_on_event, &s);
            if (wa == NULL)
                wa = json_string_value(json_object_get(want, "actions"));
            if (strcmp(s.actions, wa) != 0)
                fail_msg("%s (wants_usage=%d): actions %s, want %s", c->name, wants, s.actions,
                         wa);
            h_check_usage(c->name, json_object_get(want, "usage"), &s.u);
            if (s.chars != (size_t)json_integer_value(json_object_get(want, "chars")))
                fail_msg("%s: chars %zu, want %lld", c->name, s.chars,
                         (long long)json_integer_value(json_object_get(want, "chars")));
        }
    }
    json_decref(want);
}

static void h_run_response(const struct h_case *c, const struct gw_adapter *ad)
{
    json_t *want = h_json(h_sec(c, "expect"), "expect", c->name);
    const char *body = h_sec(c, "response");
    struct gw_usage u;
    assert_non_null(h_format(ad));
    int rc = h_format(ad)->usage(body, strlen(body), &u);
    const char *wrc = json_string_value(json_object_get(want, "rc"));

    if (strcmp(h_rc_name(rc), wrc ? wrc : "GW_OK") != 0)
        fail_msg("%s: parse_response = %s", c->name, h_rc_name(rc));
    h_check_usage(c->name, json_object_get(want, "usage"), &u);
    json_decref(want);
}

static void h_run_error(const struct h_case *c, const struct gw_adapter *ad)
{
    json_t *want = h_json(h_sec(c, "expect"), "expect", c->name);
    const char *body = h_sec(c, "error-body");
    char msg[256], code[64];
    assert_non_null(h_format(ad));
    int rc = h_format(ad)->parse_error(body, strlen(body), msg, sizeof msg, code, sizeof code);
    const char *wrc = json_string_value(json_object_get(want, "rc"));

    if (strcmp(h_rc_name(rc), wrc ? wrc : "GW_OK") != 0)
        fail_msg("%s: parse_error = %s", c->name, h_rc_name(rc));
    assert_string_equal(msg, json_string_value(json_object_get(want, "msg")));
    assert_string_equal(code, json_string_value(json_object_get(want, "code")));
    json_decref(want);
}

/* ---- the same transcripts through a wire format's codec (adapters/format.h):
 * decode with its per-stream state kept over the events (P/D/X from its
 * gw_dec_action, usage from its last GW_EV_USAGE, chars from the code points
 * of TEXT, REASONING and TOOL_ARGS), usage() and parse_error(). */

struct h_fstream {
    const struct gw_format *f;
    struct gw_stream_state st;
    int wants;
    char actions[256];
    size_t n;
    struct gw_usage u;
    size_t chars;
    int ends;
};

static inline int h_fon_ev(const struct gw_ev *ev, void *data)
{
    struct h_fstream *s = data;
    if (ev->kind == GW_EV_USAGE) {
        assert_non_null(ev->usage);
        s->u = *ev->usage;
    } else if (ev->kind == GW_EV_TEXT || ev->kind == GW_EV_REASONING ||
               ev->kind == GW_EV_TOOL_ARGS) {
        s->chars += gw_fmt_code_points(ev->text);
    } else if (ev->kind == GW_EV_END) {
        s->ends++;
    }
    return 0;
}

static inline int h_fon_event(const struct gw_sse_event *ev, void *data)
{
    struct h_fstream *s = data;
    int a = s->f->decode(&s->st, ev, s->wants, h_fon_ev, s);
    assert_true(a >= 0);
    assert_true(s->n + 1 < sizeof s->actions);
    s->actions[s->n++] = a == GW_DEC_PASS ? 'P' : a == GW_DEC_DROP ? 'D' : 'X';
    s->actions[s->n] = '\0';
    return 0;
}

static inline void h_frun_stream(const struct h_case *c, const struct gw_format *f)
{
    json_t *want = h_json(h_sec(c, "expect"), "expect", c->name);
    const char *raw = h_sec(c, "stream");
    size_t len = strlen(raw);

    for (int wants = 0; wants <= 1; wants++) {
        for (int bytewise = 0; bytewise <= 1; bytewise++) {
            struct h_fstream s = {.f = f, .wants = wants};
            const char *wa = json_string_value(
                json_object_get(want, wants ? "actions_wants_usage" : "actions"));
            h_feed(raw, len, bytewise, h_fon_event, &s);
            if (f->stream_free)
                f->stream_free(&s.st);
            if (wa == NULL)
                wa = json_string_value(json_object_get(want, "actions"));
            if (strcmp(s.actions, wa) != 0)
                fail_msg("%s (wants_usage=%d): actions %s, want %s", c->name, wants, s.actions,
                         wa);
            /* one END per terminal event */
            assert_int_equal(s.ends, (int)(strchr(wa, 'X') != NULL));
            h_check_usage(c->name, json_object_get(want, "usage"), &s.u);
            if (s.chars != (size_t)json_integer_value(json_object_get(want, "chars")))
                fail_msg("%s: chars %zu, want %lld", c->name, s.chars,
                         (long long)json_integer_value(json_object_get(want, "chars")));
        }
    }
    json_decref(want);
}

/* Runs the stream, response and error-body cases of tests/adapters/<file>
 * through format f (build cases are the adapters'); returns how many ran. */
static inline int h_run_file_format(const char *file, const struct gw_format *f)
{
    char path[1024];
    struct h_case *cases = calloc(128, sizeof *cases);
    char *text;
    int n, ran = 0;

    assert_non_null(cases);
    snprintf(path, sizeof path, "%s/tests/adapters/%s", GW_SOURCE_DIR, file);
    text = h_read_file(path);
    n = h_parse(text, cases, 128);
    for (int i = 0; i < n; i++) {
        const struct h_case *c = &cases[i];
        json_t *want = NULL;
        if (h_sec(c, "stream")) {
            h_frun_stream(c, f);
        } else if (h_sec(c, "response")) {
            const char *body = h_sec(c, "response");
            struct gw_usage u;
            int rc = f->usage(body, strlen(body), &u);
            want = h_json(h_sec(c, "expect"), "expect", c->name);
            const char *wrc = json_string_value(json_object_get(want, "rc"));
            if (strcmp(h_rc_name(rc), wrc ? wrc : "GW_OK") != 0)
                fail_msg("%s: usage = %s", c->name, h_rc_name(rc));
            h_check_usage(c->name, json_object_get(want, "usage"), &u);
        } else if (h_sec(c, "error-body")) {
            const char *body = h_sec(c, "error-body");
            char msg[256], code[64];
            int rc = f->parse_error(body, strlen(body), msg, sizeof msg, code, sizeof code);
            want = h_json(h_sec(c, "expect"), "expect", c->name);
            const char *wrc = json_string_value(json_object_get(want, "rc"));
            if (strcmp(h_rc_name(rc), wrc ? wrc : "GW_OK") != 0)
                fail_msg("%s: parse_error = %s", c->name, h_rc_name(rc));
            assert_string_equal(msg, json_string_value(json_object_get(want, "msg")));
            assert_string_equal(code, json_string_value(json_object_get(want, "code")));
        } else {
            continue;
        }
        json_decref(want);
        ran++;
    }
    free(text);
    free(cases);
    return ran;
}

/* Runs every case of tests/adapters/<file>; returns how many ran. */
static inline int h_run_file(const char *file, const struct gw_adapter *ad)
{
    char path[1024];
    struct h_case *cases = calloc(128, sizeof *cases);
    char *text;
    int n;

    assert_non_null(cases);
    snprintf(path, sizeof path, "%s/tests/adapters/%s", GW_SOURCE_DIR, file);
    text = h_read_file(path);
    n = h_parse(text, cases, 128);
    for (int i = 0; i < n; i++) {
        const struct h_case *c = &cases[i];
        if (h_sec(c, "channel"))
            h_run_build(c);
        else if (h_sec(c, "stream"))
            h_run_stream(c, ad);
        else if (h_sec(c, "response"))
            h_run_response(c, ad);
        else if (h_sec(c, "error-body"))
            h_run_error(c, ad);
        else
            fail_msg("%s: case without channel/stream/response/error-body", c->name);
    }
    free(text);
    free(cases);
    return n;
}

#endif
