/* The Anthropic Messages wire format (adapters/format.h), request side:
 * the facts of a client's /v1/messages body and the two request
 * conversions through the hub. The rules are the reference's
 * (relaykit/relayconvert claude_messages/to_oai_chat_req.go and
 * oai_chat/to_claude_messages_req.go), with these deliberate differences:
 *  - image and document URLs go up as Claude "url" sources: the reference
 *    downloads them, which the worker loop must never do;
 *  - merged same-role turns keep their blocks side by side instead of
 *    joining two strings with a space;
 *  - an assistant turn's text survives beside its tool calls;
 *  - thinking blocks go back to Claude only with their signatures (the hub's
 *    gw_thinking): Claude refuses an unsigned thinking block. */
#include <stdio.h>
#include <string.h>

#include "adapters/formats/messages_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static int fail(char *msg, size_t msglen, int rc, const char *text)
{
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return rc;
}

static int is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* obj[key] = copy of src[key] when present (a new reference). */
static int copy_key(json_t *obj, const char *key, const json_t *src, const char *skey)
{
    json_t *v = json_object_get(src, skey);
    if (v == NULL || json_is_null(v))
        return 0;
    return json_object_set_new(obj, key, json_deep_copy(v));
}

/* ---- facts ---- */

static int facts(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                 char *msg, size_t msglen)
{
    const char *model = pf && pf->model ? pf->model : json_string_value(json_object_get(body, "model"));
    const json_t *mt = json_object_get(body, "max_tokens"), *st = json_object_get(body, "stream");

    memset(out, 0, sizeof *out);
    if (!json_is_object(body))
        return fail(msg, msglen, GW_EINVAL, "request body must be a JSON object");
    if (model == NULL || *model == '\0')
        return fail(msg, msglen, GW_EINVAL, "model: field required");
    if (strlen(model) >= sizeof out->model)
        return fail(msg, msglen, GW_EINVAL, "model: name too long");
    if (!json_is_array(json_object_get(body, "messages")))
        return fail(msg, msglen, GW_EINVAL, "messages: field required (an array)");
    if (st && !json_is_null(st) && !json_is_boolean(st))
        return fail(msg, msglen, GW_EINVAL, "stream: must be a boolean");
    if (mt && !json_is_null(mt)) {
        long long n;
        if (gw_json_get_int(body, "max_tokens", &n) != GW_OK || n < 0 || n > 100000000)
            return fail(msg, msglen, GW_EINVAL,
                        "max_tokens: must be an integer between 0 and 100000000");
        out->max_tokens = n;
    }
    memcpy(out->model, model, strlen(model) + 1);
    out->stream = pf && pf->stream ? 1 : json_is_true(st);
    return GW_OK;
}

/* ---- Claude → hub ---- */

/* A Claude image/document source → hub part (new reference, or NULL to
 * drop it: an unknown source type). */
static json_t *source_part(const json_t *block, int document)
{
    const json_t *src = json_object_get(block, "source");
    const char *type = json_string_value(json_object_get(src, "type"));
    const char *mt = json_string_value(json_object_get(src, "media_type"));
    const char *data = json_string_value(json_object_get(src, "data"));
    const char *url = json_string_value(json_object_get(src, "url"));
    json_t *part = NULL;

    if (type && strcmp(type, "base64") == 0 && data) {
        char *du;
        size_t n = strlen(data) + (mt ? strlen(mt) : 0) + 32;
        du = gw_malloc(n);
        if (du == NULL)
            return NULL;
        snprintf(du, n, "data:%s;base64,%s", mt ? mt : document ? "application/pdf" : "image/png",
                 data);
        part = document ? json_pack("{s:s, s:{s:s}}", "type", "file", "file", "file_data", du)
                        : json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", du);
        gw_free(du);
    } else if (type && strcmp(type, "url") == 0 && url) {
        part = document ? json_pack("{s:s, s:{s:s}}", "type", "file", "file", "file_url", url)
                        : json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", url);
    } else if (document && type && strcmp(type, "text") == 0 && data) {
        part = json_pack("{s:s, s:s}", "type", "text", "text", data);
    }
    if (part && document) {
        const char *title = json_string_value(json_object_get(block, "title"));
        json_t *f = json_object_get(part, "file");
        if (title && f)
            json_object_set_new(f, "filename", json_string(title));
    }
    if (part)
        copy_key(part, "cache_control", block, "cache_control");
    return part;
}

/* Text of a tool_result's content: a string as is, text blocks joined,
 * anything else (images) as its JSON text, as the reference sends it. */
static json_t *tool_result_text(const json_t *content)
{
    size_t i;
    json_t *b;
    int only_text = 1;

    if (json_is_string(content))
        return json_deep_copy(content);
    if (!json_is_array(content))
        return json_string("");
    json_array_foreach(content, i, b)
        only_text &= is(json_object_get(b, "type"), "text") &&
                     json_is_string(json_object_get(b, "text"));
    if (!only_text) {
        char *s = json_dumps(content, JSON_COMPACT);
        json_t *r = json_string(s ? s : "");
        gw_free(s);
        return r;
    }
    gw_buf t;
    gw_buf_init(&t, 64u << 20);
    json_array_foreach(content, i, b) {
        const json_t *tx = json_object_get(b, "text");
        if (gw_buf_append(&t, json_string_value(tx), json_string_length(tx)) != GW_OK)
            break;
    }
    json_t *r = json_stringn(t.base ? t.base : "", t.len);
    gw_buf_free(&t);
    return r;
}

/* One Claude turn → hub messages appended to msgs. */
static int turn_to_hub(const json_t *m, json_t *msgs, size_t i, char *msg, size_t msglen)
{
    const json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
    int assistant = is(role, "assistant");
    size_t k;
    json_t *b;

    if (!assistant && !is(role, "user")) {
        if (msglen)
            snprintf(msg, msglen, "messages.%zu.role: must be \"user\" or \"assistant\"", i);
        return GW_EINVAL;
    }
    if (json_is_string(content))
        return json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", assistant ? "assistant" : "user",
                                                     "content", content));
    if (!json_is_array(content)) {
        if (msglen)
            snprintf(msg, msglen, "messages.%zu.content: must be a string or an array", i);
        return GW_EINVAL;
    }

    json_t *parts = json_array(), *calls = json_array(), *thinking = json_array();
    gw_buf reasoning;
    int parts_cache = 0;
    gw_buf_init(&reasoning, 64u << 20);
    json_array_foreach(content, k, b) {
        const char *t = json_string_value(json_object_get(b, "type"));
        if (t == NULL)
            continue;
        if (strcmp(t, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            json_t *p = json_pack("{s:s, s:O}", "type", "text", "text", json_object_get(b, "text"));
            if (json_object_get(b, "cache_control")) {
                copy_key(p, "cache_control", b, "cache_control");
                parts_cache = 1;
            }
            json_array_append_new(parts, p);
        } else if (strcmp(t, "image") == 0 || strcmp(t, "document") == 0) {
            json_t *p = source_part(b, t[0] == 'd');
            if (p) {
                parts_cache = 1; /* not a text-only turn */
                json_array_append_new(parts, p);
            }
        } else if (strcmp(t, "tool_use") == 0 && assistant) {
            const json_t *in = json_object_get(b, "input");
            char *args = in ? json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            json_array_append_new(calls, json_pack("{s:s?, s:s, s:{s:s?, s:s}}", "id",
                                                   json_string_value(json_object_get(b, "id")),
                                                   "type", "function", "function", "name",
                                                   json_string_value(json_object_get(b, "name")),
                                                   "arguments", args ? args : "{}"));
            gw_free(args);
        } else if (strcmp(t, "tool_result") == 0 && !assistant) {
            /* chat's tool messages come before the rest of the user turn,
             * as Claude wants tool results first */
            json_t *tm = json_pack("{s:s, s:s?, s:o}", "role", "tool", "tool_call_id",
                                   json_string_value(json_object_get(b, "tool_use_id")), "content",
                                   tool_result_text(json_object_get(b, "content")));
            json_array_append_new(msgs, tm);
        } else if (strcmp(t, "thinking") == 0 && assistant) {
            const json_t *th = json_object_get(b, "thinking");
            gw_buf_append(&reasoning, json_string_value(th), json_string_length(th));
            json_array_append_new(thinking, json_pack("{s:s, s:s}", "thinking",
                                                      th ? json_string_value(th) : "", "signature",
                                                      json_string_value(json_object_get(b, "signature"))
                                                          ? json_string_value(json_object_get(b, "signature"))
                                                          : ""));
        } else if (strcmp(t, "redacted_thinking") == 0 && assistant &&
                   json_is_string(json_object_get(b, "data"))) {
            json_array_append_new(thinking, json_pack("{s:O}", "redacted", json_object_get(b, "data")));
        }
    }

    int rc = GW_OK;
    if (assistant) {
        json_t *am = json_pack("{s:s}", "role", "assistant");
        if (parts_cache) {
            json_object_set(am, "content", parts);
        } else {
            gw_buf t;
            gw_buf_init(&t, 64u << 20);
            json_array_foreach(parts, k, b) {
                const json_t *tx = json_object_get(b, "text");
                gw_buf_append(&t, json_string_value(tx), json_string_length(tx));
            }
            json_object_set_new(am, "content", t.len || json_array_size(calls) == 0
                                                   ? json_stringn(t.base ? t.base : "", t.len)
                                                   : json_null());
            gw_buf_free(&t);
        }
        if (reasoning.len)
            json_object_set_new(am, "reasoning_content", json_stringn(reasoning.base, reasoning.len));
        if (json_array_size(thinking))
            json_object_set(am, "gw_thinking", thinking);
        if (json_array_size(calls))
            json_object_set(am, "tool_calls", calls);
        rc = json_array_append_new(msgs, am) ? GW_ENOMEM : GW_OK;
    } else if (json_array_size(parts)) {
        rc = json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "user", "content", parts))
                 ? GW_ENOMEM
                 : GW_OK;
    }
    gw_buf_free(&reasoning);
    json_decref(parts);
    json_decref(calls);
    json_decref(thinking);
    return rc;
}

/* The reference's reasoning_effort ↔ budget_tokens pairs: low 1280,
 * medium 2048, high 4096; a budget reads as the nearest level at or above. */
static const char *effort_of(long long budget)
{
    return budget <= 1280 ? "low" : budget <= 2048 ? "medium" : "high";
}

static long long budget_of(const char *effort)
{
    if (effort == NULL)
        return 0;
    if (strcmp(effort, "low") == 0)
        return 1280;
    if (strcmp(effort, "medium") == 0)
        return 2048;
    if (strcmp(effort, "high") == 0)
        return 4096;
    return 0;
}

static int tools_to_hub(const json_t *body, json_t *hub)
{
    const json_t *tools = json_object_get(body, "tools"), *tc = json_object_get(body, "tool_choice");
    size_t i;
    json_t *t;

    if (json_is_array(tools) && json_array_size(tools)) {
        json_t *out = json_array();
        json_array_foreach(tools, i, t) {
            const char *type = json_string_value(json_object_get(t, "type"));
            const char *name = json_string_value(json_object_get(t, "name"));
            /* server tools (web_search_…, bash_…) have no chat equivalent */
            if (name == NULL || (type && strcmp(type, "custom") != 0))
                continue;
            json_t *fn = json_pack("{s:s}", "name", name);
            copy_key(fn, "description", t, "description");
            copy_key(fn, "parameters", t, "input_schema");
            json_t *ot = json_pack("{s:s, s:o}", "type", "function", "function", fn);
            copy_key(ot, "cache_control", t, "cache_control");
            json_array_append_new(out, ot);
        }
        json_object_set_new(hub, "tools", out);
    }
    if (json_is_object(tc)) {
        const char *type = json_string_value(json_object_get(tc, "type"));
        if (type && strcmp(type, "auto") == 0)
            json_object_set_new(hub, "tool_choice", json_string("auto"));
        else if (type && strcmp(type, "any") == 0)
            json_object_set_new(hub, "tool_choice", json_string("required"));
        else if (type && strcmp(type, "none") == 0)
            json_object_set_new(hub, "tool_choice", json_string("none"));
        else if (type && strcmp(type, "tool") == 0 && json_is_string(json_object_get(tc, "name")))
            json_object_set_new(hub, "tool_choice",
                                json_pack("{s:s, s:{s:O}}", "type", "function", "function", "name",
                                          json_object_get(tc, "name")));
        if (json_is_true(json_object_get(tc, "disable_parallel_tool_use")))
            json_object_set_new(hub, "parallel_tool_calls", json_false());
    }
    return GW_OK;
}

static int system_to_hub(const json_t *sys, json_t *msgs)
{
    size_t i;
    json_t *b;
    int cache = 0;

    if (json_is_string(sys)) {
        if (json_string_length(sys) == 0)
            return GW_OK;
        return json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "system", "content", sys));
    }
    if (!json_is_array(sys))
        return GW_OK;
    json_t *parts = json_array();
    json_array_foreach(sys, i, b) {
        const json_t *tx = json_object_get(b, "text");
        if (!json_is_string(tx))
            continue;
        json_t *p = json_pack("{s:s, s:O}", "type", "text", "text", tx);
        cache |= json_object_get(b, "cache_control") != NULL;
        copy_key(p, "cache_control", b, "cache_control");
        json_array_append_new(parts, p);
    }
    int rc = GW_OK;
    if (json_array_size(parts) == 1 && !cache)  /* the common case reads as chat does */
        rc = json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "system", "content",
                                                   json_object_get(json_array_get(parts, 0), "text")));
    else if (json_array_size(parts))
        rc = json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "system", "content", parts));
    json_decref(parts);
    return rc ? GW_ENOMEM : GW_OK;
}

static int req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub, char *msg,
                      size_t msglen)
{
    struct gw_req_facts f;
    int rc = facts(body, pf, &f, msg, msglen);
    size_t i;
    json_t *m;

    *hub = NULL;
    if (rc != GW_OK)
        return rc;
    json_t *h = json_pack("{s:s}", "model", f.model), *msgs = json_array();
    if (!h || !msgs) {
        json_decref(h);
        json_decref(msgs);
        return GW_ENOMEM;
    }
    json_object_set_new(h, "messages", msgs);
    if (f.max_tokens > 0)
        json_object_set_new(h, "max_tokens", json_integer(f.max_tokens));
    copy_key(h, "temperature", body, "temperature");
    copy_key(h, "top_p", body, "top_p");
    copy_key(h, "gw_top_k", body, "top_k");
    if (f.stream)
        json_object_set_new(h, "stream", json_true());
    const json_t *stops = json_object_get(body, "stop_sequences");
    if (json_is_array(stops) && json_array_size(stops) == 1)
        json_object_set(h, "stop", json_array_get(stops, 0));
    else if (json_is_array(stops) && json_array_size(stops) > 1)
        copy_key(h, "stop", body, "stop_sequences");
    const json_t *user = json_object_get(json_object_get(body, "metadata"), "user_id");
    if (json_is_string(user))
        json_object_set(h, "gw_metadata_user", (json_t *)user);

    const json_t *th = json_object_get(body, "thinking");
    long long budget;
    if (is(json_object_get(th, "type"), "enabled") &&
        gw_json_get_int(th, "budget_tokens", &budget) == GW_OK && budget > 0) {
        json_object_set_new(h, "reasoning_effort", json_string(effort_of(budget)));
        json_object_set_new(h, "gw_thinking_budget", json_integer(budget));
    } else if (is(json_object_get(th, "type"), "adaptive")) {
        const char *e = json_string_value(json_object_get(json_object_get(body, "output_config"), "effort"));
        json_object_set_new(h, "reasoning_effort", json_string(e && budget_of(e) ? e : "medium"));
    }
    tools_to_hub(body, h);

    rc = system_to_hub(json_object_get(body, "system"), msgs);
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        if (rc != GW_OK)
            break;
        if (!json_is_object(m)) {
            if (msglen)
                snprintf(msg, msglen, "messages.%zu: must be an object", i);
            rc = GW_EINVAL;
            break;
        }
        rc = turn_to_hub(m, msgs, i, msg, msglen);
    }
    if (rc != GW_OK) {
        json_decref(h);
        return rc;
    }
    *hub = h;
    return GW_OK;
}

/* ---- hub → Claude ---- */

/* "data:<mime>;base64,<payload>": mime into mt (cut to cap), payload returned. */
static const char *data_url(const char *url, char *mt, size_t cap)
{
    const char *semi, *comma;
    if (strncmp(url, "data:", 5) != 0 || (comma = strchr(url, ',')) == NULL)
        return NULL;
    semi = memchr(url + 5, ';', (size_t)(comma - url - 5));
    size_t n = (size_t)((semi ? semi : comma) - (url + 5));
    if (n >= cap)
        n = cap - 1;
    memcpy(mt, url + 5, n);
    mt[n] = '\0';
    return comma + 1;
}

/* Hub content part → Claude block (new reference), or NULL to drop it. */
static json_t *part_block(const json_t *p)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    json_t *b = NULL;
    char mt[128];

    if (type == NULL)
        return NULL;
    if (strcmp(type, "text") == 0 || strcmp(type, "input_text") == 0) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t) || json_string_length(t) == 0) /* Claude refuses empty text */
            return NULL;
        b = json_pack("{s:s, s:O}", "type", "text", "text", t);
    } else if (strcmp(type, "image_url") == 0) {
        const json_t *iu = json_object_get(p, "image_url");
        const char *url = json_string_value(json_is_object(iu) ? json_object_get(iu, "url") : iu);
        const char *data = url ? data_url(url, mt, sizeof mt) : NULL;
        if (data)
            b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type",
                          strncmp(mt, "application/pdf", 15) == 0 ? "document" : "image", "source",
                          "type", "base64", "media_type", mt, "data", data);
        else if (url && *url)
            b = json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url", url);
    } else if (strcmp(type, "file") == 0) {
        const json_t *f = json_object_get(p, "file");
        const char *fd = json_string_value(json_object_get(f, "file_data"));
        const char *fu = json_string_value(json_object_get(f, "file_url"));
        const char *data = fd ? data_url(fd, mt, sizeof mt) : NULL;
        if (fd && !data) { /* bare base64: a PDF, the only document Claude reads so */
            data = fd;
            snprintf(mt, sizeof mt, "application/pdf");
        }
        if (data)
            b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type",
                          strncmp(mt, "image/", 6) == 0 ? "image" : "document", "source", "type",
                          "base64", "media_type", mt, "data", data);
        else if (fu && *fu)
            b = json_pack("{s:s, s:{s:s, s:s}}", "type", "document", "source", "type", "url", "url", fu);
        if (b && is(json_object_get(b, "type"), "document"))
            copy_key(b, "title", f, "filename");
    }
    if (b)
        copy_key(b, "cache_control", p, "cache_control");
    return b;
}

/* Hub message content → Claude blocks appended to blocks. */
static void content_blocks(const json_t *content, json_t *blocks)
{
    size_t i;
    json_t *p;

    if (json_is_string(content)) {
        if (json_string_length(content))
            json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "text", "text", content));
        return;
    }
    json_array_foreach(content, i, p) {
        json_t *b = part_block(p);
        if (b)
            json_array_append_new(blocks, b);
    }
}

static void assistant_blocks(const json_t *m, json_t *blocks)
{
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(m, "gw_thinking"), i, t) {
        const json_t *red = json_object_get(t, "redacted");
        if (json_is_string(red))
            json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "redacted_thinking", "data", red));
        else if (json_is_string(json_object_get(t, "signature")) &&
                 json_is_string(json_object_get(t, "thinking")))
            json_array_append_new(blocks, json_pack("{s:s, s:O, s:O}", "type", "thinking", "thinking",
                                                    json_object_get(t, "thinking"), "signature",
                                                    json_object_get(t, "signature")));
    }
    content_blocks(json_object_get(m, "content"), blocks);
    json_array_foreach(json_object_get(m, "tool_calls"), i, t) {
        const json_t *fn = json_object_get(t, "function");
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_t *input = args && *args ? gw_json_parse(args, strlen(args), 0, NULL, 0) : NULL;
        if (!json_is_object(input)) { /* Claude's input must be an object */
            json_decref(input);
            input = json_object();
        }
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                                json_string_value(json_object_get(t, "id"))
                                                    ? json_string_value(json_object_get(t, "id"))
                                                    : "",
                                                "name",
                                                json_string_value(json_object_get(fn, "name"))
                                                    ? json_string_value(json_object_get(fn, "name"))
                                                    : "",
                                                "input", input));
    }
}

/* Appends blocks as a turn of role, merged into the previous turn when it
 * has the same role (Claude wants user and assistant to alternate). */
static void push_turn(json_t *turns, const char *role, json_t *blocks)
{
    json_t *last = json_array_get(turns, json_array_size(turns) - 1);
    if (json_array_size(turns) && is(json_object_get(last, "role"), role))
        json_array_extend(json_object_get(last, "content"), blocks);
    else if (json_array_size(turns) || strcmp(role, "user") == 0)
        json_array_append_new(turns, json_pack("{s:s, s:O}", "role", role, "content", blocks));
    else { /* the first turn must be the user's: the reference puts "..." first */
        json_array_append_new(turns, json_pack("{s:s, s:[{s:s, s:s}]}", "role", "user", "content",
                                               "type", "text", "text", "..."));
        json_array_append_new(turns, json_pack("{s:s, s:O}", "role", role, "content", blocks));
    }
    json_decref(blocks);
}

static int messages_from_hub(const json_t *hub, json_t *out)
{
    json_t *turns = json_array(), *system = json_array(), *m;
    size_t i;

    json_array_foreach(json_object_get(hub, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *blocks = json_array();
        if (role && (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)) {
            content_blocks(json_object_get(m, "content"), system);
            json_decref(blocks);
        } else if (role && strcmp(role, "assistant") == 0) {
            assistant_blocks(m, blocks);
            push_turn(turns, "assistant", blocks);
        } else if (role && (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0)) {
            const json_t *c = json_object_get(m, "content");
            json_t *rb = json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id",
                                   json_string_value(json_object_get(m, "tool_call_id"))
                                       ? json_string_value(json_object_get(m, "tool_call_id"))
                                       : "");
            if (json_is_array(c)) {
                json_t *inner = json_array();
                content_blocks(c, inner);
                json_object_set_new(rb, "content", inner);
            } else {
                json_object_set_new(rb, "content", json_is_string(c) ? json_deep_copy(c) : json_string(""));
            }
            json_array_append_new(blocks, rb);
            push_turn(turns, "user", blocks);
        } else {
            content_blocks(json_object_get(m, "content"), blocks);
            push_turn(turns, "user", blocks);
        }
    }
    /* An empty turn is refused by Claude: the reference's "...". A turn of
     * one plain text block reads as a string, as clients send it. */
    json_array_foreach(turns, i, m) {
        json_t *c = json_object_get(m, "content");
        json_t *b0 = json_array_get(c, 0);
        if (json_array_size(c) == 0)
            json_object_set_new(m, "content", json_string("..."));
        else if (json_array_size(c) == 1 && is(json_object_get(b0, "type"), "text") &&
                 json_object_size(b0) == 2)
            json_object_set(m, "content", json_object_get(b0, "text"));
    }
    if (json_array_size(system))
        json_object_set(out, "system", system);
    json_decref(system);
    return json_object_set_new(out, "messages", turns) ? GW_ENOMEM : GW_OK;
}

static void tools_from_hub(const json_t *hub, json_t *out)
{
    const json_t *tools = json_object_get(hub, "tools"), *tc = json_object_get(hub, "tool_choice");
    const json_t *ptc = json_object_get(hub, "parallel_tool_calls");
    size_t i;
    json_t *t, *choice = NULL;

    if (json_is_array(tools) && json_array_size(tools)) {
        json_t *arr = json_array();
        json_array_foreach(tools, i, t) {
            const json_t *fn = json_object_get(t, "function");
            const json_t *params = json_object_get(fn, "parameters");
            if (!json_is_string(json_object_get(fn, "name")))
                continue;
            json_t *ct = json_pack("{s:O}", "name", json_object_get(fn, "name"));
            copy_key(ct, "description", fn, "description");
            json_object_set_new(ct, "input_schema",
                                json_is_object(params) ? json_deep_copy(params)
                                                       : json_pack("{s:s, s:{}}", "type", "object",
                                                                   "properties"));
            copy_key(ct, "cache_control", t, "cache_control");
            json_array_append_new(arr, ct);
        }
        json_object_set_new(out, "tools", arr);
    }
    if (is(tc, "auto"))
        choice = json_pack("{s:s}", "type", "auto");
    else if (is(tc, "required"))
        choice = json_pack("{s:s}", "type", "any");
    else if (is(tc, "none"))
        choice = json_pack("{s:s}", "type", "none");
    else if (json_is_string(json_object_get(json_object_get(tc, "function"), "name")))
        choice = json_pack("{s:s, s:O}", "type", "tool", "name",
                           json_object_get(json_object_get(tc, "function"), "name"));
    if (json_is_boolean(ptc)) {
        if (choice == NULL)
            choice = json_pack("{s:s}", "type", "auto");
        if (!is(json_object_get(choice, "type"), "none"))
            json_object_set_new(choice, "disable_parallel_tool_use", json_boolean(!json_is_true(ptc)));
    }
    if (choice)
        json_object_set_new(out, "tool_choice", choice);
}

/* Claude's documented limits on extended thinking, which a converted
 * request must meet or get a 400: budget_tokens >= 1024 and < max_tokens
 * (thinking counts in max_tokens, so the answer keeps its own allowance on
 * top), no temperature but 1, no top_k, top_p only in [0.95, 1]. A forced
 * tool (tool_choice any/tool) cannot be combined with thinking: the caller
 * keeps the forced tool and sends no thinking. */
static void thinking_fit(json_t *c, long long budget, long long mt)
{
    if (budget < 1024)
        budget = 1024;
    if (mt <= budget)
        json_object_set_new(c, "max_tokens", json_integer(budget + mt));
    double v;
    const json_t *t = json_object_get(c, "temperature");
    if (t && (!json_is_number(t) || json_number_value(t) != 1.0))
        json_object_del(c, "temperature");
    json_object_del(c, "top_k");
    t = json_object_get(c, "top_p");
    v = json_is_number(t) ? json_number_value(t) : 0;
    if (t && (v < 0.95 || v > 1.0))
        json_object_del(c, "top_p");
    json_object_set_new(c, "thinking", json_pack("{s:s, s:I}", "type", "enabled", "budget_tokens",
                                                 (json_int_t)budget));
}

static int req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out, char *msg,
                        size_t msglen)
{
    long long n = 1, mt = 0, budget = 0;

    *out = NULL;
    if (!json_is_object(hub))
        return fail(msg, msglen, GW_EINVAL, "request body must be a JSON object");
    if (gw_json_get_int(hub, "n", &n) == GW_OK && n > 1)
        return fail(msg, msglen, GW_EINVAL,
                    "n > 1 is not supported by this model's API (Anthropic Messages returns one "
                    "completion per request)");
    const char *model = o && o->upstream_model ? o->upstream_model
                                               : json_string_value(json_object_get(hub, "model"));
    json_t *c = json_pack("{s:s}", "model", model ? model : "");
    if (c == NULL)
        return GW_ENOMEM;
    if ((gw_json_get_int(hub, "max_completion_tokens", &mt) != GW_OK || mt <= 0) &&
        (gw_json_get_int(hub, "max_tokens", &mt) != GW_OK || mt <= 0))
        mt = GW_MSG_DEFAULT_MAX_TOKENS;
    json_object_set_new(c, "max_tokens", json_integer(mt));
    if (messages_from_hub(hub, c) != GW_OK) {
        json_decref(c);
        return GW_ENOMEM;
    }
    copy_key(c, "temperature", hub, "temperature");
    copy_key(c, "top_p", hub, "top_p");
    if (json_object_get(hub, "gw_top_k"))
        copy_key(c, "top_k", hub, "gw_top_k");
    else
        copy_key(c, "top_k", hub, "top_k");
    const json_t *stop = json_object_get(hub, "stop");
    if (json_is_string(stop))
        json_object_set_new(c, "stop_sequences", json_pack("[O]", stop));
    else if (json_is_array(stop) && json_array_size(stop))
        json_object_set(c, "stop_sequences", (json_t *)stop);
    const json_t *user = json_object_get(hub, "gw_metadata_user");
    if (!json_is_string(user))
        user = json_object_get(hub, "user");
    if (json_is_string(user) && json_string_length(user))
        json_object_set_new(c, "metadata", json_pack("{s:O}", "user_id", user));
    if (o ? o->stream : json_is_true(json_object_get(hub, "stream")))
        json_object_set_new(c, "stream", json_true());
    tools_from_hub(hub, c);
    if (gw_json_get_int(hub, "gw_thinking_budget", &budget) != GW_OK || budget <= 0)
        budget = budget_of(json_string_value(json_object_get(hub, "reasoning_effort")));
    const char *tct = json_string_value(json_object_get(json_object_get(c, "tool_choice"), "type"));
    if (budget > 0 && !(tct && (strcmp(tct, "any") == 0 || strcmp(tct, "tool") == 0)))
        thinking_fit(c, budget, mt);
    *out = c;
    return GW_OK;
}

const struct gw_format gw_format_messages = {
    .wire = GW_WIRE_MESSAGES,
    .name = "messages",
    .facts = facts,
    .req_to_hub = req_to_hub,
    .req_from_hub = req_from_hub,
    .resp_to_hub = gw__msg_resp_to_hub,
    .resp_from_hub = gw__msg_resp_from_hub,
    .usage = gw__msg_usage,
    .parse_error = gw__msg_parse_error,
    .decode = gw__msg_decode,
    .encode = gw__msg_encode,
    .error_body = gw__msg_error_body,
    .stream_error = gw__msg_stream_error,
};
