/* The chat codec (adapters/formats/chat.c, chat_stream.c): request facts,
 * the hub conversions, usage and error parsing, the stateful decoder (over
 * the recorded OpenAI transcripts too), the encoder and the error shapes. */
#include "adapters/formats/chat_int.h"
#include "gateway/core/alloc.h"
#include "tests/adapters/harness.h"

static const struct gw_format *F = &gw_format_chat;

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return j;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = J(want_text);
    if (!json_equal(want, (json_t *)got)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got  %s\nwant %s", g ? g : "(null)", want_text);
    }
    json_decref(want);
}

/* ---- facts ---- */

static int facts(const char *body, const struct gw_path_facts *pf, struct gw_req_facts *f,
                 char *msg, size_t cap)
{
    json_t *b = json_loads(body, JSON_DECODE_ANY, NULL);
    int rc = F->facts(b, pf, f, msg, cap);
    json_decref(b);
    return rc;
}

static void facts_read_the_body(void **state)
{
    (void)state;
    struct gw_req_facts f;
    char msg[200];
    assert_int_equal(facts("{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":"
                           "{\"include_usage\":true},\"max_tokens\":10,\"max_completion_tokens\":30,"
                           "\"messages\":[]}", NULL, &f, msg, sizeof msg), GW_OK);
    assert_string_equal(f.model, "gpt-4o");
    assert_int_equal(f.stream, 1);
    assert_int_equal(f.client_usage, 1);
    assert_int_equal(f.max_tokens, 30);
    assert_int_equal(facts("{\"model\":\"m\",\"max_tokens\":7.0}", NULL, &f, msg, sizeof msg),
                     GW_OK);
    assert_int_equal(f.stream, 0);
    assert_int_equal(f.client_usage, 0);
    assert_int_equal(f.max_tokens, 7);
    /* the path wins: Gemini-style */
    struct gw_path_facts pf = {.model = "from-path", .stream = 1};
    assert_int_equal(facts("{\"model\":\"body\"}", &pf, &f, msg, sizeof msg), GW_OK);
    assert_string_equal(f.model, "from-path");
    assert_int_equal(f.stream, 1);
    assert_int_equal(facts("{}", &pf, &f, msg, sizeof msg), GW_OK);

    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{}", "field 'model' is required and must be a string"},
        {"{\"model\":\"\"}", "field 'model' is required and must be a string"},
        {"{\"model\":5}", "field 'model' is required and must be a string"},
        {"{\"model\":\"m\",\"stream\":\"yes\"}", "field 'stream' must be a boolean"},
        {"{\"model\":\"m\",\"max_tokens\":-1,\"max_completion_tokens\":-2}",
         "field 'max_tokens' is out of range"},
        {"{\"model\":\"m\",\"max_completion_tokens\":100000001}",
         "field 'max_tokens' is out of range"},
        {"[1]", "invalid JSON body: expected an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(facts(bad[i].body, NULL, &f, msg, sizeof msg), GW_EINVAL);
        assert_string_equal(msg, bad[i].msg);
    }
    char longm[260] = "{\"model\":\"";
    memset(longm + 10, 'a', 192);
    strcpy(longm + 202, "\"}");
    assert_int_equal(facts(longm, NULL, &f, msg, sizeof msg), GW_EINVAL);
    assert_string_equal(msg, "field 'model' is too long (at most 191 bytes)");
    longm[10 + 191] = '"';
    longm[10 + 192] = '}';
    longm[10 + 193] = '\0';
    assert_int_equal(facts(longm, NULL, &f, msg, sizeof msg), GW_OK); /* 191 bytes fit */
    assert_int_equal(strlen(f.model), 191);
}

/* ---- the hub ---- */

static void req_from_hub_strips_the_hub(void **state)
{
    (void)state;
    json_t *hub = J("{\"model\":\"claude-x\",\"stream\":true,\"stream_options\":{\"include_usage\":false},"
                    "\"gw_thinking_budget\":2048,\"gw_top_k\":5,\"gw_metadata_user\":\"u1\","
                    "\"reasoning_effort\":\"medium\",\"max_tokens\":100,"
                    "\"messages\":["
                    "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"sys\","
                    "\"cache_control\":{\"type\":\"ephemeral\"}}]},"
                    "{\"role\":\"user\",\"content\":\"hi\",\"reasoning_content\":\"no\"},"
                    "{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":\"thought\","
                    "\"gw_thinking\":[{\"thinking\":\"thought\",\"signature\":\"sig\"}]},"
                    "{\"role\":\"assistant\",\"content\":\"b\",\"reasoning_content\":\"\"},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
                    "{\"url\":\"data:image/png;base64,AA==\"},\"cache_control\":{\"type\":\"ephemeral\"},"
                    "\"gw_x\":1}]}],"
                    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                    "{\"type\":\"object\",\"properties\":{\"gw_keep\":{\"type\":\"string\"}}},"
                    "\"gw_y\":1},\"cache_control\":{\"type\":\"ephemeral\"}}]}");
    struct gw_conv_opts o = {.upstream_model = "gpt-4o", .stream = 1, .include_usage = 1};
    json_t *out = NULL;
    char msg[100];
    assert_int_equal(F->req_from_hub(hub, &o, &out, msg, sizeof msg), GW_OK);
    assert_json(out,
                "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                "\"reasoning_effort\":\"medium\",\"max_tokens\":100,"
                "\"messages\":["
                "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"sys\"}]},"
                "{\"role\":\"user\",\"content\":\"hi\"},"
                "{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":\"thought\"},"
                "{\"role\":\"assistant\",\"content\":\"b\"},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
                "{\"url\":\"data:image/png;base64,AA==\"}}]}],"
                "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                "{\"type\":\"object\",\"properties\":{\"gw_keep\":{\"type\":\"string\"}}}}}]}");
    /* the hub itself is untouched */
    assert_non_null(json_object_get(hub, "gw_top_k"));
    json_decref(out);

    /* not streamed: no stream, no stream_options; streamed without usage: none either */
    struct gw_conv_opts o2 = {.upstream_model = "up", .stream = 0, .include_usage = 1};
    assert_int_equal(F->req_from_hub(hub, &o2, &out, msg, sizeof msg), GW_OK);
    assert_null(json_object_get(out, "stream"));
    assert_null(json_object_get(out, "stream_options"));
    assert_string_equal(json_string_value(json_object_get(out, "model")), "up");
    json_decref(out);
    struct gw_conv_opts o3 = {.upstream_model = "up", .stream = 1, .include_usage = 0};
    assert_int_equal(F->req_from_hub(hub, &o3, &out, msg, sizeof msg), GW_OK);
    assert_true(json_is_true(json_object_get(out, "stream")));
    assert_null(json_object_get(out, "stream_options"));
    json_decref(out);
    json_decref(hub);

    /* odd shapes are left alone, never refused */
    hub = J("{\"model\":\"m\",\"messages\":[1,{\"content\":[2,\"x\"]},{\"role\":5,"
            "\"reasoning_content\":\"r\"}],\"tools\":{}}");
    assert_int_equal(F->req_from_hub(hub, &o, &out, msg, sizeof msg), GW_OK);
    assert_json(out, "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                     "\"messages\":[1,{\"content\":[2,\"x\"]},{\"role\":5}],\"tools\":{}}");
    json_decref(out);
    json_decref(hub);
}

static void hub_round_trips(void **state)
{
    (void)state;
    json_t *body = J("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}");
    json_t *hub = NULL, *out = NULL;
    char msg[100];
    assert_int_equal(F->req_to_hub(body, NULL, &hub, msg, sizeof msg), GW_OK);
    assert_true(json_equal(hub, body));
    assert_ptr_not_equal(hub, body);
    json_array_clear(json_object_get(hub, "messages")); /* a deep copy */
    assert_int_equal(json_array_size(json_object_get(body, "messages")), 1);
    json_decref(hub);
    json_decref(body);
    body = J("[]");
    assert_int_equal(F->req_to_hub(body, NULL, &hub, msg, sizeof msg), GW_EINVAL);
    assert_null(hub);
    assert_int_equal(F->resp_to_hub(body, &hub), GW_EINVAL);
    json_decref(body);

    json_t *resp = J("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"up-model\","
                     "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"x\","
                     "\"reasoning_content\":\"t\",\"gw_thinking\":[{\"thinking\":\"t\",\"signature\":\"s\"}]},"
                     "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,"
                     "\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1,"
                     "\"cached_creation_tokens\":3},\"gw_cache_write_1h\":3}}");
    assert_int_equal(F->resp_to_hub(resp, &hub), GW_OK);
    assert_true(json_equal(hub, resp));
    assert_int_equal(F->resp_from_hub(hub, "client-model", &out), GW_OK);
    assert_json(out, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"client-model\","
                     "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"x\","
                     "\"reasoning_content\":\"t\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
                     "\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":"
                     "{\"cached_tokens\":1,\"cached_creation_tokens\":3}}}");
    json_decref(out);
    json_decref(hub);
    json_decref(resp);
}

/* ---- usage and errors ---- */

static void transcripts_through_the_codec(void **state)
{
    (void)state;
    /* every stream, response and error case of the OpenAI transcripts */
    assert_true(h_run_file_format("openai_stream.txt", F) >= 15);
}

static void usage_reads_every_count(void **state)
{
    (void)state;
    static const char body[] =
        "{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":40,\"prompt_tokens_details\":"
        "{\"cached_tokens\":20,\"cached_creation_tokens\":10,\"image_tokens\":7,\"audio_tokens\":3,"
        "\"text_tokens\":90},\"completion_tokens_details\":{\"reasoning_tokens\":30,"
        "\"audio_tokens\":2,\"text_tokens\":8}}}";
    struct gw_usage u;
    assert_int_equal(F->usage(body, sizeof body - 1, &u), GW_OK);
    assert_int_equal(u.present, 1);
    assert_int_equal(u.prompt, 100);
    assert_int_equal(u.completion, 40);
    assert_int_equal(u.total, 140);
    assert_int_equal(u.cached, 20);
    assert_int_equal(u.cache_write, 10);
    assert_int_equal(u.image, 7);
    assert_int_equal(u.audio_in, 3);
    assert_int_equal(u.text_in, 90);
    assert_int_equal(u.reasoning, 30);
    assert_int_equal(u.audio_out, 2);
    assert_int_equal(u.text_out, 8);
    /* zeros are not usage, and nothing half-read stays */
    static const char zero[] = "{\"usage\":{\"prompt_tokens\":0,\"prompt_tokens_details\":"
                               "{\"cached_tokens\":5}}}";
    assert_int_equal(F->usage(zero, sizeof zero - 1, &u), GW_OK);
    assert_int_equal(u.present, 0);
    assert_int_equal(u.cached, 0);
    assert_int_equal(F->usage(NULL, 0, &u), GW_EINVAL);
    assert_int_equal(F->usage("[1]", 3, &u), GW_EINVAL);
    assert_int_equal(F->usage("{\"usage\":[]}", 12, &u), GW_OK);
    assert_int_equal(u.present, 0);
    /* clamped */
    static const char big[] = "{\"usage\":{\"prompt_tokens\":9223372036854775807,"
                              "\"completion_tokens\":1,\"total_tokens\":0}}";
    assert_int_equal(F->usage(big, sizeof big - 1, &u), GW_OK);
    assert_int_equal(u.prompt, GW_USAGE_TOKENS_MAX);
    assert_int_equal(u.total, GW_USAGE_TOKENS_MAX + 1);
}

static void parse_error_bounds(void **state)
{
    (void)state;
    char m[4], c[2], big[64], code[16];
    assert_int_equal(F->parse_error("{\"error\":{\"message\":\"long\",\"code\":\"xyz\"}}", 41, m,
                                    sizeof m, c, sizeof c), GW_OK);
    assert_string_equal(m, "lon");
    assert_string_equal(c, "x");
    assert_int_equal(F->parse_error(NULL, 0, m, sizeof m, c, sizeof c), GW_EINVAL);
    assert_int_equal(F->parse_error("", 0, m, 0, c, 0), GW_EINVAL);
    /* cut on a character boundary, one line */
    static const char e[] = "{\"detail\":\"caf\\u00e9\\u00e9\\nnext\"}";
    assert_int_equal(F->parse_error(e, sizeof e - 1, big, 6, code, sizeof code), GW_OK);
    assert_string_equal(big, "caf\xc3\xa9");
    assert_int_equal(F->parse_error(e, sizeof e - 1, big, sizeof big, code, sizeof code), GW_OK);
    assert_string_equal(big, "caf\xc3\xa9\xc3\xa9 next");
    assert_string_equal(code, "");
}

/* ---- decode ---- */

struct rec {
    char log[2048];
    size_t n;
    int stop_at; /* return -99 at this event (1-based), 0: never */
    int count;
};

static int rec_ev(const struct gw_ev *ev, void *ctx)
{
    struct rec *r = ctx;
    static const char *const names[] = {"?", "START", "TEXT", "REASONING", "SIGNATURE",
                                        "TOOL_START", "TOOL_ARGS", "FINISH", "USAGE", "ERROR",
                                        "END"};
    char one[300];
    switch (ev->kind) {
    case GW_EV_START:
        snprintf(one, sizeof one, "START(%.*s,%.*s)", (int)ev->id.len, ev->id.base,
                 (int)ev->name.len, ev->name.base);
        break;
    case GW_EV_TEXT:
    case GW_EV_REASONING:
        snprintf(one, sizeof one, "%s(%.*s)", names[ev->kind], (int)ev->text.len, ev->text.base);
        break;
    case GW_EV_TOOL_START:
        snprintf(one, sizeof one, "TOOL_START(%d,%.*s,%.*s)", ev->index, (int)ev->id.len,
                 ev->id.base, (int)ev->name.len, ev->name.base);
        break;
    case GW_EV_TOOL_ARGS:
        snprintf(one, sizeof one, "TOOL_ARGS(%d,%.*s)", ev->index, (int)ev->text.len, ev->text.base);
        break;
    case GW_EV_FINISH:
        snprintf(one, sizeof one, "FINISH(%s)", ev->finish);
        break;
    case GW_EV_USAGE:
        snprintf(one, sizeof one, "USAGE(%lld,%lld,%lld)", ev->usage->prompt, ev->usage->completion,
                 ev->usage->cached);
        break;
    case GW_EV_ERROR:
        snprintf(one, sizeof one, "ERROR(%.*s,%.*s)", (int)ev->text.len, ev->text.base,
                 (int)ev->name.len, ev->name.base);
        break;
    default:
        snprintf(one, sizeof one, "%s", names[ev->kind <= GW_EV_END ? ev->kind : 0]);
    }
    r->n += (size_t)snprintf(r->log + r->n, sizeof r->log - r->n, "%s%s", r->n ? " " : "", one);
    return ++r->count == r->stop_at ? -99 : 0;
}

static int dec(struct gw_stream_state *st, const char *data, int cu, struct rec *r)
{
    struct gw_sse_event ev = {.data = gw_str_c(data)};
    return F->decode(st, &ev, cu, rec_ev, r);
}

static void decode_emits_hub_events(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct rec r = {0};
    memset(&st, 0, sizeof st);
    assert_int_equal(dec(&st, "{\"id\":\"c1\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":"
                              "{\"role\":\"assistant\",\"content\":\"\"}}]}", 0, &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\","
                              "\"reasoning\":\"hm\"}}]}", 0, &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{\"reasoning\":\"ok\"}}]}", 0, &r),
                     GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}", 0, &r),
                     GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                              "\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}},"
                              "{\"index\":1,\"id\":\"call_2\",\"function\":{\"name\":\"put\","
                              "\"arguments\":\"{}\"}}]}}]}", 0, &r), GW_DEC_PASS);
    /* a provider repeating id and name on every chunk starts the call once */
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                              "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}", 0,
                         &r), GW_DEC_PASS);
    /* arguments for a call never announced start it, nameless */
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":2,\"function\":"
                              "{\"arguments\":\"x\"}}]}}]}", 0, &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"function_call\"}]}", 0,
                         &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}", 0, &r),
                     GW_DEC_PASS); /* one FINISH per stream */
    assert_int_equal(dec(&st, "{\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,"
                              "\"prompt_tokens_details\":{\"cached_tokens\":2}}}", 0, &r), GW_DEC_DROP);
    assert_int_equal(dec(&st, " [DONE] ", 0, &r), GW_DEC_DONE);
    assert_string_equal(r.log, "START(c1,up) REASONING(hm) REASONING(ok) TEXT(Hi) "
                               "TOOL_START(0,call_1,get) TOOL_START(1,call_2,put) TOOL_ARGS(1,{}) "
                               "TOOL_ARGS(0,{\"a\":1}) TOOL_START(2,,) TOOL_ARGS(2,x) "
                               "FINISH(tool_calls) USAGE(9,4,2) END");

    /* completions text, an unknown finish word, an error chunk, junk */
    memset(&st, 0, sizeof st);
    memset(&r, 0, sizeof r);
    assert_int_equal(dec(&st, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}", 1,
                         &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"error\":\"plain\",\"code\":5}", 1, &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "not json", 1, &r), GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":[{\"text\":\"Once\",\"finish_reason\":\"eos\"}]}", 1, &r),
                     GW_DEC_PASS);
    assert_int_equal(dec(&st, "{\"choices\":null,\"usage\":{\"prompt_tokens\":1}}", 1, &r),
                     GW_DEC_PASS); /* the client asked for it */
    assert_string_equal(r.log, "ERROR(overloaded,server_error) ERROR(plain,) START(,) TEXT(Once) "
                               "FINISH(stop) USAGE(1,0,0)");

    /* the callback's non-zero return stops the decoder and is returned */
    memset(&st, 0, sizeof st);
    memset(&r, 0, sizeof r);
    r.stop_at = 2;
    assert_int_equal(dec(&st, "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}", 0, &r),
                     -99);
    r.stop_at = 3;
    assert_int_equal(dec(&st, "[DONE]", 0, &r), -99);
}

/* ---- encode ---- */

struct outv {
    json_t *events; /* [[event|null, data]] with data parsed when JSON */
};

static int collect(const char *event, const char *data, size_t len, void *ctx)
{
    struct outv *o = ctx;
    json_t *d = json_loadb(data, len, 0, NULL);
    if (!d)
        d = json_stringn(data, len);
    json_array_append_new(o->events, json_pack("[o,o]", event ? json_string(event) : json_null(),
                                               d));
    return 0;
}

static const json_t *data_at(const struct outv *o, size_t i)
{
    return json_array_get(json_array_get(o->events, i), 1);
}

static void encode_text_tools_usage(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct outv o = {json_array()};
    struct gw_usage u = {.prompt = 12, .completion = 30, .total = 42, .cached = 4,
                         .cache_write = 6, .cache_write_1h = 6, .reasoning = 10, .present = 1};
    const struct gw_ev evs[] = {
        {.kind = GW_EV_START, .id = GW_STRLIT("msg_01"), .name = GW_STRLIT("claude-up")},
        {.kind = GW_EV_REASONING, .text = GW_STRLIT("let me think")},
        {.kind = GW_EV_SIGNATURE, .text = GW_STRLIT("sig")},
        {.kind = GW_EV_TEXT, .text = GW_STRLIT("Hello")},
        {.kind = GW_EV_TEXT, .text = GW_STRLIT("")},
        {.kind = GW_EV_TOOL_START, .index = 0, .id = GW_STRLIT("toolu_1"), .name = GW_STRLIT("get")},
        {.kind = GW_EV_TOOL_ARGS, .index = 0, .text = GW_STRLIT("{\"q\":")},
        {.kind = GW_EV_TOOL_ARGS, .index = 0, .text = GW_STRLIT("1}")},
        {.kind = GW_EV_TOOL_START, .index = 1, .name = GW_STRLIT("put")},
        {.kind = GW_EV_FINISH, .finish = "tool_calls"},
        {.kind = GW_EV_USAGE, .usage = &u},
        {.kind = GW_EV_FINISH, .finish = "stop"},
        {.kind = GW_EV_END},
        {.kind = GW_EV_END},
        {.kind = GW_EV_TEXT, .text = GW_STRLIT("late")},
    };
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        assert_int_equal(F->encode(&st, &evs[i], "client-model", collect, &o), 0);
    assert_int_equal(json_array_size(o.events), 10);
    const char *id = NULL;
    json_int_t created = 0;
    for (size_t i = 0; i < 9; i++) {
        const json_t *d = data_at(&o, i);
        assert_true(json_is_null(json_array_get(json_array_get(o.events, i), 0)));
        const char *cid = json_string_value(json_object_get(d, "id"));
        assert_non_null(cid);
        if (!id) {
            id = cid;
            created = json_integer_value(json_object_get(d, "created"));
            assert_true(created > 1700000000);
            assert_int_equal(strncmp(id, "chatcmpl-", 9), 0);
            assert_true(strlen(id) > 20);
        }
        assert_string_equal(cid, id); /* one id per stream */
        assert_int_equal(json_integer_value(json_object_get(d, "created")), created);
        assert_string_equal(json_string_value(json_object_get(d, "object")), "chat.completion.chunk");
        assert_string_equal(json_string_value(json_object_get(d, "model")), "client-model");
    }
    static const char *const choices[] = {
        "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]",
        "[{\"index\":0,\"delta\":{\"reasoning_content\":\"let me think\"},\"finish_reason\":null}]",
        "[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]",
        "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},\"finish_reason\":null}]",
        "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":\"}}]},"
        "\"finish_reason\":null}]",
        "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},"
        "\"finish_reason\":null}]",
    };
    for (size_t i = 0; i < 6; i++)
        assert_json(json_object_get(data_at(&o, i), "choices"), choices[i]);
    /* a call without an id gets one: clients join its chunks by it */
    const json_t *tc = json_array_get(json_object_get(json_object_get(
        json_array_get(json_object_get(data_at(&o, 6), "choices"), 0), "delta"), "tool_calls"), 0);
    assert_int_equal(json_integer_value(json_object_get(tc, "index")), 1);
    assert_int_equal(strncmp(json_string_value(json_object_get(tc, "id")), "call_", 5), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(tc, "function"), "name")),
                        "put");
    assert_json(json_object_get(data_at(&o, 7), "choices"),
                "[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]");
    /* the usage chunk, always, then [DONE] once */
    size_t n = json_array_size(o.events);
    const json_t *last = data_at(&o, n - 2);
    assert_json(json_object_get(last, "choices"), "[]");
    assert_json(json_object_get(last, "usage"),
                "{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42,"
                "\"prompt_tokens_details\":{\"cached_tokens\":4,\"cached_creation_tokens\":6},"
                "\"completion_tokens_details\":{\"reasoning_tokens\":10}}");
    assert_string_equal(json_string_value(data_at(&o, n - 1)), "[DONE]");
    json_decref(o.events);
}

static void encode_copes_with_any_order(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct outv o = {json_array()};
    struct gw_ev text = {.kind = GW_EV_TEXT, .text = {"bad \xff byte", 10}};
    struct gw_ev end = {.kind = GW_EV_END};
    memset(&st, 0, sizeof st);
    /* TEXT first: the role chunk comes before it; invalid UTF-8 is repaired */
    assert_int_equal(F->encode(&st, &text, "m", collect, &o), 0);
    assert_int_equal(F->encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(json_array_size(o.events), 3); /* role, text, [DONE]: no usage known */
    assert_json(json_object_get(data_at(&o, 0), "choices"),
                "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]");
    assert_json(json_object_get(data_at(&o, 1), "choices"),
                "[{\"index\":0,\"delta\":{\"content\":\"bad ? byte\"},\"finish_reason\":null}]");
    assert_string_equal(json_string_value(data_at(&o, 2)), "[DONE]");
    json_decref(o.events);

    /* an upstream error mid-stream becomes an error chunk */
    o.events = json_array();
    memset(&st, 0, sizeof st);
    struct gw_ev err = {.kind = GW_EV_ERROR, .text = GW_STRLIT("overloaded"),
                        .name = GW_STRLIT("overloaded_error")};
    assert_int_equal(F->encode(&st, &err, "m", collect, &o), 0);
    assert_json(data_at(&o, 0), "{\"error\":{\"message\":\"overloaded\",\"type\":\"overloaded_error\"}}");
    json_decref(o.events);
}

static void error_shapes(void **state)
{
    (void)state;
    json_t *b = F->error_body(429, "rate_limit_error", "rate_limited", "slow down (request id: r1)");
    assert_json(b, "{\"error\":{\"message\":\"slow down (request id: r1)\",\"type\":\"rate_limit_error\","
                   "\"param\":\"\",\"code\":\"rate_limited\"}}");
    json_decref(b);
    b = F->error_body(500, "new_api_error", NULL, "bad \xc3");
    assert_json(b, "{\"error\":{\"message\":\"bad \",\"type\":\"new_api_error\",\"param\":\"\"}}");
    json_decref(b);

    /* the budget cut: the bytes clients have always read, then [DONE], once */
    struct gw_stream_state st;
    struct outv o = {json_array()};
    memset(&st, 0, sizeof st);
    struct gw_ev t = {.kind = GW_EV_TEXT, .text = GW_STRLIT("x")};
    F->encode(&st, &t, "m", collect, &o);
    json_decref(o.events);
    o.events = json_array();
    assert_int_equal(F->stream_error(&st, "insufficient_quota", "insufficient_user_quota", NULL,
                                     collect, &o), 0);
    assert_int_equal(F->stream_error(&st, "x", "y", "z", collect, &o), 0); /* ended: nothing */
    struct gw_ev end = {.kind = GW_EV_END};
    assert_int_equal(F->encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(json_array_size(o.events), 2);
    char *first = json_dumps(data_at(&o, 0), JSON_COMPACT);
    assert_string_equal(first,
                        "{\"error\":{\"message\":\"quota exhausted during the stream: the response was cut "
                        "and billed for what was delivered\",\"type\":\"insufficient_quota\",\"code\":"
                        "\"insufficient_user_quota\"}}");
    gw_free(first);
    assert_string_equal(json_string_value(data_at(&o, 1)), "[DONE]");
    json_decref(o.events);

    o.events = json_array();
    memset(&st, 0, sizeof st);
    assert_int_equal(F->stream_error(&st, "upstream_error", "bad_response_status_code",
                                     "upstream said no", collect, &o), 0);
    assert_json(data_at(&o, 0), "{\"error\":{\"message\":\"upstream said no\",\"type\":"
                                "\"upstream_error\",\"code\":\"bad_response_status_code\"}}");
    json_decref(o.events);
}

/* decode → encode on a recorded OpenAI stream gives an equivalent chat
 * stream (the same text, tool call, finish and usage). */
static int feed(const struct gw_ev *ev, void *ctx)
{
    struct { struct gw_stream_state enc; struct outv o; } *p = ctx;
    return F->encode(&p->enc, ev, "client", collect, &p->o);
}

static void decode_then_encode(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        "{\"id\":\"u\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_abc\","
        "\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"u\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"u\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "{\"id\":\"u\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2,\"total_tokens\":10}}",
        "[DONE]",
    };
    struct { struct gw_stream_state enc; struct outv o; } p;
    struct gw_stream_state dst;
    memset(&p, 0, sizeof p);
    memset(&dst, 0, sizeof dst);
    p.o.events = json_array();
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct gw_sse_event ev = {.data = gw_str_c(chunks[i])};
        assert_true(F->decode(&dst, &ev, 0, feed, &p) >= 0);
    }
    json_t *got = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(p.o.events, i, e) {
        json_t *d = json_array_get(e, 1);
        json_array_append(got, json_is_object(d) ? (json_object_get(d, "usage")
                                                        ? json_object_get(d, "usage")
                                                        : json_object_get(d, "choices"))
                                                 : d);
    }
    assert_json(got, "[[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],"
                     "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_abc\",\"type\":\"function\","
                     "\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]},\"finish_reason\":null}],"
                     "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},"
                     "\"finish_reason\":null}],"
                     "[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
                     "{\"prompt_tokens\":8,\"completion_tokens\":2,\"total_tokens\":10,\"prompt_tokens_details\":"
                     "{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}},"
                     "\"[DONE]\"]");
    json_decref(got);
    json_decref(p.o.events);
}

/* Allocation failure anywhere: a clean error code, no leak (ASan). */
static void under_alloc_failure(void **state)
{
    (void)state;
    json_t *hub = J("{\"model\":\"m\",\"gw_top_k\":1,\"messages\":[{\"role\":\"user\",\"content\":"
                    "[{\"type\":\"text\",\"text\":\"x\",\"cache_control\":{}}]}]}");
    struct gw_conv_opts o = {.upstream_model = "u", .stream = 1, .include_usage = 1};
    struct gw_usage u = {.prompt = 1, .completion = 1, .present = 1};
    const struct gw_ev evs[] = {
        {.kind = GW_EV_TEXT, .text = GW_STRLIT("hi")},
        {.kind = GW_EV_TOOL_START, .index = 0, .name = GW_STRLIT("f")},
        {.kind = GW_EV_USAGE, .usage = &u},
        {.kind = GW_EV_FINISH, .finish = "stop"},
        {.kind = GW_EV_END},
    };
    int failed = 0, ok = 0;
    for (long n = 0; n < 5000 && !ok; n++) { /* every allocation fails once, in turn */
        json_t *out = NULL;
        char msg[64];
        struct gw_stream_state st;
        struct outv ov = {json_array()};
        memset(&st, 0, sizeof st);
        gw_alloc_fail_after(n);
        int rc = F->req_from_hub(hub, &o, &out, msg, sizeof msg);
        for (size_t i = 0; i < sizeof evs / sizeof evs[0] && rc == GW_OK; i++)
            rc = F->encode(&st, &evs[i], "m", collect, &ov);
        gw_alloc_fail_after(-1);
        if (rc == GW_OK)
            ok++;
        else
            failed++;
        assert_true(rc == GW_OK || rc == GW_ENOMEM);
        json_decref(out);
        json_decref(ov.events);
    }
    assert_true(ok > 0);
    assert_true(failed > 0);
    json_decref(hub);
}

/* An inline file without a name gets "document.<ext>" (OpenAI refuses
 * file_data without a filename); a named file, or one by id or URL, is
 * left as it is. */
static void file_parts_get_a_name(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"file_data\":\"data:application/pdf;base64,JVBE\"}", "document.pdf"},
        {"{\"file_data\":\"data:text/plain;base64,aGk=\"}", "document.txt"},
        {"{\"file_data\":\"data:text/csv,a,b\"}", "document.csv"},
        {"{\"file_data\":\"data:application/pdfx;base64,JVBE\"}", "document.pdf"},
        {"{\"file_data\":\"data:text/plain;base64,aGk=\",\"filename\":\"a.txt\"}", "a.txt"},
        {"{\"file_id\":\"file-1\"}", NULL},
        {"{\"file_url\":\"https://x/a.pdf\"}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *f = json_loads(cases[i].in, 0, NULL);
        assert_non_null(f);
        assert_int_equal(gw_fmt_file_name(f), GW_OK);
        const char *got = json_string_value(json_object_get(f, "filename"));
        if (cases[i].want ? !got || strcmp(got, cases[i].want) != 0 : got != NULL)
            fail_msg("case %zu: filename %s", i, got ? got : "(none)");
        json_decref(f);
    }
    assert_int_equal(gw_fmt_file_name(NULL), GW_OK);
    /* through the hub: a converted Claude document reaches chat with a name */
    const char *hub = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                      "\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,JVBE\"}}]}]}";
    json_t *h = json_loads(hub, 0, NULL), *out = NULL;
    struct gw_conv_opts o = {.upstream_model = "gpt-4o"};
    char msg[100];
    assert_int_equal(gw_format_chat.req_from_hub(h, &o, &out, msg, sizeof msg), GW_OK);
    json_t *part = json_array_get(
        json_object_get(json_array_get(json_object_get(out, "messages"), 0), "content"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(part, "file"), "filename")),
                        "document.pdf");
    json_decref(out);
    json_decref(h);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facts_read_the_body),
        cmocka_unit_test(req_from_hub_strips_the_hub),
        cmocka_unit_test(file_parts_get_a_name),
        cmocka_unit_test(hub_round_trips),
        cmocka_unit_test(transcripts_through_the_codec),
        cmocka_unit_test(usage_reads_every_count),
        cmocka_unit_test(parse_error_bounds),
        cmocka_unit_test(decode_emits_hub_events),
        cmocka_unit_test(encode_text_tools_usage),
        cmocka_unit_test(encode_copes_with_any_order),
        cmocka_unit_test(error_shapes),
        cmocka_unit_test(decode_then_encode),
        cmocka_unit_test(under_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
