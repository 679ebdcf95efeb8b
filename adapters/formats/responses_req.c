/* Responses requests ↔ the hub (an OpenAI chat completions body).
 *
 * Responses → chat: instructions become the first system message; input
 * (a string, or items: messages with input_text / input_image / input_file
 * parts, function_call, function_call_output, reasoning) becomes messages;
 * function tools lose their nesting; text.format becomes response_format;
 * reasoning.effort becomes reasoning_effort. What only a stateful or
 * tool-hosting upstream can do (previous_response_id, conversation, prompt,
 * background, item_reference, built-in tools such as web_search) is refused
 * with a 400: dropping it would change the answer (the reference refuses the
 * stateful fields the same way).
 *
 * Chat → Responses: system and developer messages become instructions,
 * tool messages function_call_output items, assistant tool calls
 * function_call items; max_tokens / max_completion_tokens become
 * max_output_tokens and reasoning_effort reasoning.effort (with a detailed
 * summary, as the reference asks, so the thinking comes back). n > 1 is
 * refused. stop, seed and logit_bias have no Responses field and are dropped,
 * as the reference drops them. */
#include <stdio.h>
#include <string.h>

#include "adapters/formats/responses_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/buf.h"
#include "gateway/core/err.h"

#define TEXT_MAX (64u << 20) /* the upstream body's own bound */

/* The 400's text: fmt with its one "%s" replaced by arg. */
static int refuse(char *msg, size_t msglen, const char *fmt, const char *arg)
{
    const char *at = strstr(fmt, "%s");
    if (msglen)
        snprintf(msg, msglen, "%.*s%s%s", at ? (int)(at - fmt) : (int)strlen(fmt), fmt,
                 at && arg ? arg : "", at ? at + 2 : "");
    return GW_EINVAL;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int present(const json_t *v)
{
    return v && !json_is_null(v);
}

/* Copies member k of src into dst when present (not null). */
static int copy_key(json_t *dst, const json_t *src, const char *k, const char *as)
{
    json_t *v = json_object_get(src, k);
    if (!present(v))
        return 0;
    return json_object_set(dst, as ? as : k, v) ? GW_ENOMEM : 0;
}

/* A value as text: strings as they are, anything else as compact JSON. */
static json_t *as_text(const json_t *v)
{
    if (!present(v))
        return json_string("");
    if (json_is_string(v))
        return json_incref((json_t *)v);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *r = s ? json_string(s) : NULL;
    gw_free(s);
    return r;
}

/* ---- Responses → hub ---- */

/* One content part → a chat part (new), NULL + message when it cannot be. */
static json_t *part_to_chat(const json_t *p, char *msg, size_t msglen, int *rc)
{
    const char *t = str(p, "type");
    *rc = GW_OK;
    if (!json_is_object(p) || !t) {
        *rc = refuse(msg, msglen, "%sinput content parts must be objects with a type", NULL);
        return NULL;
    }
    if (!strcmp(t, "input_text") || !strcmp(t, "output_text") || !strcmp(t, "text")) {
        const json_t *tx = json_object_get(p, "text");
        if (!json_is_string(tx)) {
            *rc = refuse(msg, msglen, "content part '%s' needs a string 'text'", t);
            return NULL;
        }
        return json_pack("{s:s, s:O}", "type", "text", "text", tx);
    }
    if (!strcmp(t, "refusal"))
        return json_pack("{s:s, s:O?}", "type", "text", "text", json_object_get(p, "refusal"));
    if (!strcmp(t, "input_image")) {
        const json_t *url = json_object_get(p, "image_url");
        if (json_is_object(url)) /* lenient: the chat shape */
            url = json_object_get(url, "url");
        if (!json_is_string(url)) {
            *rc = refuse(msg, msglen, "%sinput_image needs an image_url (a file_id cannot be "
                         "sent to this channel)", NULL);
            return NULL;
        }
        json_t *iu = json_pack("{s:O}", "url", url);
        if (iu && copy_key(iu, p, "detail", NULL)) {
            json_decref(iu);
            iu = NULL;
        }
        return iu ? json_pack("{s:s, s:o}", "type", "image_url", "image_url", iu) : NULL;
    }
    if (!strcmp(t, "input_file")) {
        json_t *f = json_object();
        if (!f || copy_key(f, p, "file_data", NULL) || copy_key(f, p, "file_id", NULL) ||
            copy_key(f, p, "filename", NULL) || copy_key(f, p, "file_url", NULL)) {
            json_decref(f);
            return NULL;
        }
        return json_pack("{s:s, s:o}", "type", "file", "file", f);
    }
    if (!strcmp(t, "input_audio")) {
        json_t *a = json_object_get(p, "input_audio");
        return json_pack("{s:s, s:O}", "type", "input_audio", "input_audio",
                         a ? a : json_null());
    }
    *rc = refuse(msg, msglen, "content part type '%s' cannot be converted for this channel", t);
    return NULL;
}

/* Item content (string or parts) → chat content (new): a string when every
 * part is text (joined as they come, as the reference does), else parts. */
static json_t *content_to_chat(const json_t *c, char *msg, size_t msglen, int *rc)
{
    *rc = GW_OK;
    if (!present(c))
        return json_string("");
    if (json_is_string(c))
        return json_incref((json_t *)c);
    if (!json_is_array(c)) {
        *rc = refuse(msg, msglen, "%smessage content must be a string or a list of parts",
                     NULL);
        return NULL;
    }
    json_t *parts = json_array(), *p;
    size_t i;
    int only_text = 1;
    json_array_foreach(c, i, p) {
        json_t *cp = part_to_chat(p, msg, msglen, rc);
        if (!cp) {
            json_decref(parts);
            if (*rc == GW_OK)
                *rc = GW_ENOMEM;
            return NULL;
        }
        only_text &= strcmp(str(cp, "type"), "text") == 0;
        json_array_append_new(parts, cp);
    }
    if (!only_text || json_array_size(parts) == 0)
        return parts;
    gw_buf b;
    gw_buf_init(&b, TEXT_MAX);
    json_array_foreach(parts, i, p) {
        const json_t *tx = json_object_get(p, "text");
        if (gw_buf_append(&b, json_string_value(tx), json_string_length(tx)) != GW_OK) {
            *rc = GW_ETOOBIG;
            break;
        }
    }
    json_t *s = *rc ? NULL : json_stringn(b.base ? b.base : "", b.len);
    gw_buf_free(&b);
    json_decref(parts);
    return s;
}

/* function_call → a tool call on the last assistant message (one is added
 * when the last message is not an assistant's). */
static int add_tool_call(json_t *msgs, const json_t *item, char *msg, size_t msglen)
{
    const char *name = str(item, "name");
    const char *id = str(item, "call_id");
    if (!id || !*id)
        id = str(item, "id");
    if (!name || !*name)
        return refuse(msg, msglen, "%sfunction_call item is missing name", NULL);
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    if (!last || strcmp(str(last, "role") ? str(last, "role") : "", "assistant") != 0) {
        last = json_pack("{s:s, s:n}", "role", "assistant", "content");
        if (!last || json_array_append_new(msgs, last))
            return GW_ENOMEM;
    }
    json_t *tcs = json_object_get(last, "tool_calls");
    if (!json_is_array(tcs)) {
        tcs = json_array();
        if (!tcs || json_object_set_new(last, "tool_calls", tcs))
            return GW_ENOMEM;
    }
    json_t *args = as_text(json_object_get(item, "arguments"));
    json_t *tc = args ? json_pack("{s:s, s:s, s:{s:s, s:o}}", "id", id ? id : "", "type",
                                  "function", "function", "name", name, "arguments", args)
                      : NULL;
    return tc && !json_array_append_new(tcs, tc) ? GW_OK : GW_ENOMEM;
}

static int item_to_chat(json_t *msgs, const json_t *item, char *msg, size_t msglen)
{
    const char *t = str(item, "type");
    int rc;
    if (!json_is_object(item))
        return refuse(msg, msglen, "%sinput items must be objects", NULL);
    if (t && !strcmp(t, "function_call"))
        return add_tool_call(msgs, item, msg, msglen);
    if (t && !strcmp(t, "function_call_output")) {
        json_t *out = as_text(json_object_get(item, "output"));
        const char *id = str(item, "call_id");
        json_t *m = out ? json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id",
                                    id ? id : "", "content", out)
                        : NULL;
        return m && !json_array_append_new(msgs, m) ? GW_OK : GW_ENOMEM;
    }
    if (t && !strcmp(t, "reasoning"))
        return GW_OK; /* the upstream's own thinking, not input a chat model can take */
    if (t && strcmp(t, "message") != 0)
        return refuse(msg, msglen,
                      "input item type '%s' cannot be sent to this channel (it does not speak "
                      "the Responses API)", t);
    const char *role = str(item, "role");
    if (!role || !*role)
        role = "user";
    json_t *c = content_to_chat(json_object_get(item, "content"), msg, msglen, &rc);
    if (!c)
        return rc ? rc : GW_ENOMEM;
    json_t *m = json_pack("{s:s, s:o}", "role", role, "content", c);
    return m && !json_array_append_new(msgs, m) ? GW_OK : GW_ENOMEM;
}

static int tools_to_chat(json_t *hub, const json_t *tools, char *msg, size_t msglen)
{
    json_t *out = json_array(), *t;
    size_t i;
    if (!out)
        return GW_ENOMEM;
    json_array_foreach(tools, i, t) {
        const char *ty = str(t, "type");
        if (!ty || strcmp(ty, "function") != 0) {
            json_decref(out);
            return refuse(msg, msglen,
                          "tool type '%s' is built into the Responses API and cannot be "
                          "served by this channel (it does not speak the Responses API)",
                          ty ? ty : "?");
        }
        json_t *fn = json_pack("{s:s}", "name", str(t, "name") ? str(t, "name") : "");
        if (!fn || copy_key(fn, t, "description", NULL) || copy_key(fn, t, "parameters", NULL) ||
            copy_key(fn, t, "strict", NULL) ||
            json_array_append_new(out, json_pack("{s:s, s:o}", "type", "function", "function",
                                                 fn))) {
            json_decref(out);
            return GW_ENOMEM;
        }
    }
    return json_object_set_new(hub, "tools", out) ? GW_ENOMEM : GW_OK;
}

static int tool_choice_to_chat(json_t *hub, const json_t *tc, char *msg, size_t msglen)
{
    if (json_is_string(tc))
        return json_object_set(hub, "tool_choice", (json_t *)tc) ? GW_ENOMEM : GW_OK;
    const char *ty = str(tc, "type");
    if (ty && !strcmp(ty, "function") && str(tc, "name"))
        return json_object_set_new(hub, "tool_choice",
                                   json_pack("{s:s, s:{s:s}}", "type", "function", "function",
                                             "name", str(tc, "name")))
                   ? GW_ENOMEM
                   : GW_OK;
    return refuse(msg, msglen, "tool_choice of type '%s' cannot be sent to this channel (it does "
                  "not speak the Responses API)", ty ? ty : "?");
}

static int text_to_chat(json_t *hub, const json_t *text)
{
    const json_t *f = json_object_get(text, "format");
    const char *ty = str(f, "type");
    if (copy_key(hub, text, "verbosity", NULL))
        return GW_ENOMEM;
    if (!ty || !strcmp(ty, "text"))
        return GW_OK;
    if (strcmp(ty, "json_schema") != 0)
        return json_object_set_new(hub, "response_format", json_pack("{s:s}", "type", ty))
                   ? GW_ENOMEM
                   : GW_OK;
    json_t *js = json_object();
    if (!js || copy_key(js, f, "name", NULL) || copy_key(js, f, "description", NULL) ||
        copy_key(js, f, "schema", NULL) || copy_key(js, f, "strict", NULL)) {
        json_decref(js);
        return GW_ENOMEM;
    }
    return json_object_set_new(hub, "response_format",
                               json_pack("{s:s, s:o}", "type", "json_schema", "json_schema", js))
               ? GW_ENOMEM
               : GW_OK;
}

static int build_hub(json_t *hub, const json_t *body, char *msg, size_t msglen)
{
    static const char *const stateful[] = {"previous_response_id", "conversation", "prompt",
                                           "context_management"};
    static const char *const same[] = {"model", "temperature", "top_p", "user",
                                       "parallel_tool_calls", "top_logprobs", "service_tier",
                                       "prompt_cache_key", "safety_identifier", "store"};
    json_t *msgs = json_array(), *v;
    size_t i;
    int rc;

    if (!msgs || json_object_set_new(hub, "messages", msgs))
        return GW_ENOMEM;
    for (i = 0; i < sizeof stateful / sizeof *stateful; i++) {
        v = json_object_get(body, stateful[i]);
        if (present(v) && !(json_is_string(v) && json_string_length(v) == 0))
            return refuse(msg, msglen,
                          "'%s' needs a Responses upstream, and this channel does not speak "
                          "the Responses API: send the whole conversation in 'input'",
                          stateful[i]);
    }
    if (json_is_true(json_object_get(body, "background")))
        return refuse(msg, msglen, "%s'background' needs a Responses upstream, and this channel "
                      "does not speak the Responses API", NULL);
    v = json_object_get(body, "instructions");
    if (json_is_string(v) && json_string_length(v) > 0) {
        if (json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "system", "content", v)))
            return GW_ENOMEM;
    } else if (present(v) && !json_is_string(v)) {
        return refuse(msg, msglen, "%s'instructions' must be a string", NULL);
    }
    v = json_object_get(body, "input");
    if (json_is_string(v)) {
        if (json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "user", "content", v)))
            return GW_ENOMEM;
    } else if (json_is_array(v)) {
        json_t *item;
        json_array_foreach(v, i, item) {
            if ((rc = item_to_chat(msgs, item, msg, msglen)) != GW_OK)
                return rc;
        }
    } else if (present(v)) {
        return refuse(msg, msglen, "%s'input' must be a string or a list of items", NULL);
    }
    for (i = 0; i < sizeof same / sizeof *same; i++)
        if (copy_key(hub, body, same[i], NULL))
            return GW_ENOMEM;
    /* chat takes metadata only with store (OpenAI refuses it otherwise) */
    if (json_is_true(json_object_get(body, "store")) && copy_key(hub, body, "metadata", NULL))
        return GW_ENOMEM;
    if (copy_key(hub, body, "max_output_tokens", "max_tokens"))
        return GW_ENOMEM;
    if (json_is_true(json_object_get(body, "stream")) &&
        json_object_set_new(hub, "stream", json_true()))
        return GW_ENOMEM;
    if (copy_key(hub, json_object_get(body, "reasoning"), "effort", "reasoning_effort"))
        return GW_ENOMEM;
    v = json_object_get(body, "tools");
    if (json_is_array(v) && json_array_size(v) && (rc = tools_to_chat(hub, v, msg, msglen)))
        return rc;
    v = json_object_get(body, "tool_choice");
    if (present(v) && (rc = tool_choice_to_chat(hub, v, msg, msglen)))
        return rc;
    v = json_object_get(body, "text");
    if (json_is_object(v) && (rc = text_to_chat(hub, v)))
        return rc;
    return GW_OK;
}

int gw__resp_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                        char *msg, size_t msglen)
{
    (void)pf;
    *hub = json_object();
    if (!*hub)
        return GW_ENOMEM;
    int rc = build_hub(*hub, body, msg, msglen);
    if (rc != GW_OK) {
        json_decref(*hub);
        *hub = NULL;
        if (rc == GW_ENOMEM && msglen)
            snprintf(msg, msglen, "out of memory converting the request");
    }
    return rc;
}

/* ---- hub → Responses ---- */

/* Text of a chat content (string or parts): the text parts joined by "\n". */
static int system_text(gw_buf *b, const json_t *c)
{
    if (json_is_string(c))
        return gw_buf_append(b, json_string_value(c), json_string_length(c));
    json_t *p;
    size_t i;
    int first = 1, rc = GW_OK;
    json_array_foreach(c, i, p) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t) || json_string_length(t) == 0)
            continue;
        if (!first && (rc = gw_buf_appends(b, "\n")))
            return rc;
        if ((rc = gw_buf_append(b, json_string_value(t), json_string_length(t))))
            return rc;
        first = 0;
    }
    return rc;
}

static json_t *part_from_chat(const json_t *p, int assistant)
{
    const char *t = str(p, "type");
    if (json_is_string(p))
        return json_pack("{s:s, s:O}", "type", assistant ? "output_text" : "input_text", "text",
                         p);
    if (!t || !strcmp(t, "text"))
        return json_pack("{s:s, s:O?}", "type", assistant ? "output_text" : "input_text", "text",
                         json_object_get(p, "text"));
    if (!strcmp(t, "image_url")) {
        const json_t *iu = json_object_get(p, "image_url");
        const json_t *url = json_is_object(iu) ? json_object_get(iu, "url") : iu;
        json_t *o = json_pack("{s:s, s:O?}", "type", "input_image", "image_url", url);
        if (o && json_is_object(iu) && copy_key(o, iu, "detail", NULL)) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    if (!strcmp(t, "file")) {
        const json_t *f = json_object_get(p, "file");
        json_t *o = json_pack("{s:s}", "type", "input_file");
        if (o && (copy_key(o, f, "file_data", NULL) || copy_key(o, f, "file_id", NULL) ||
                  copy_key(o, f, "filename", NULL) || copy_key(o, f, "file_url", NULL) ||
                  gw_fmt_file_name(o))) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    if (!strcmp(t, "input_audio"))
        return json_pack("{s:s, s:O?}", "type", "input_audio", "input_audio",
                         json_object_get(p, "input_audio"));
    return json_pack("{s:s}", "type", t);
}

static int message_from_chat(json_t *input, gw_buf *instr, const json_t *m)
{
    const char *role = str(m, "role");
    const json_t *c = json_object_get(m, "content");
    int rc;
    if (!role || !*role)
        return GW_OK;
    if (!strcmp(role, "system") || !strcmp(role, "developer")) {
        size_t before = instr->len;
        if (before && (rc = gw_buf_appends(instr, "\n\n")))
            return rc;
        if ((rc = system_text(instr, c)))
            return rc;
        if (instr->len == before + (before ? 2 : 0))
            instr->len = before; /* an empty system message adds nothing */
        if (instr->base)
            instr->base[instr->len] = '\0';
        return GW_OK;
    }
    if (!strcmp(role, "tool") || !strcmp(role, "function")) {
        const char *id = str(m, "tool_call_id");
        json_t *out = json_is_array(c) ? NULL : as_text(c);
        if (json_is_array(c)) { /* text parts as one text, as the chat model read them */
            gw_buf t;
            gw_buf_init(&t, TEXT_MAX);
            if (system_text(&t, c) == GW_OK)
                out = json_stringn(t.base ? t.base : "", t.len);
            gw_buf_free(&t);
        }
        if (!out)
            return GW_ENOMEM;
        json_t *it = id && *id ? json_pack("{s:s, s:s, s:o}", "type", "function_call_output",
                                           "call_id", id, "output", out)
                               : json_pack("{s:s, s:o}", "role", "user", "content", out);
        return it && !json_array_append_new(input, it) ? GW_OK : GW_ENOMEM;
    }
    int assistant = !strcmp(role, "assistant");
    json_t *content = NULL;
    if (json_is_string(c)) {
        if (!assistant || json_string_length(c))
            content = json_incref((json_t *)c);
    } else if (json_is_array(c)) {
        json_t *p;
        size_t i;
        content = json_array();
        json_array_foreach(c, i, p) {
            if (!content || json_array_append_new(content, part_from_chat(p, assistant))) {
                json_decref(content);
                return GW_ENOMEM;
            }
        }
    } else if (!assistant) {
        content = json_string("");
    }
    if (content && json_array_append_new(input, json_pack("{s:s, s:o}", "role", role, "content",
                                                          content)))
        return GW_ENOMEM;
    json_t *tc;
    size_t i;
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
        const char *id = str(tc, "id"), *ty = str(tc, "type");
        const json_t *fn = json_object_get(tc, "function");
        const char *name = str(fn, "name");
        if (!id || !*id || !name || !*name || (ty && *ty && strcmp(ty, "function")))
            continue;
        json_t *args = as_text(json_object_get(fn, "arguments"));
        if (!args || json_array_append_new(input, json_pack("{s:s, s:s, s:s, s:o}", "type",
                                                            "function_call", "call_id", id,
                                                            "name", name, "arguments", args)))
            return GW_ENOMEM;
    }
    return GW_OK;
}

static int tools_from_chat(json_t *out, const json_t *hub)
{
    const json_t *tools = json_object_get(hub, "tools"), *t;
    size_t i;
    if (!json_is_array(tools))
        return GW_OK;
    json_t *arr = json_array();
    if (!arr || json_object_set_new(out, "tools", arr))
        return GW_ENOMEM;
    json_array_foreach(tools, i, t) {
        const char *ty = str(t, "type");
        json_t *o;
        if (ty && strcmp(ty, "function") != 0) {
            o = json_deep_copy(t); /* best effort, as the reference: the shape as it came */
        } else {
            const json_t *fn = json_object_get(t, "function");
            o = json_pack("{s:s, s:s}", "type", "function", "name",
                          str(fn, "name") ? str(fn, "name") : "");
            if (o && (copy_key(o, fn, "description", NULL) ||
                      copy_key(o, fn, "parameters", NULL) || copy_key(o, fn, "strict", NULL))) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(arr, o))
            return GW_ENOMEM;
    }
    const json_t *tc = json_object_get(hub, "tool_choice");
    if (json_is_string(tc))
        return json_object_set(out, "tool_choice", (json_t *)tc) ? GW_ENOMEM : GW_OK;
    const char *name = str(json_object_get(tc, "function"), "name");
    if (name)
        return json_object_set_new(out, "tool_choice",
                                   json_pack("{s:s, s:s}", "type", "function", "name", name))
                   ? GW_ENOMEM
                   : GW_OK;
    return copy_key(out, hub, "tool_choice", NULL);
}

static int format_from_chat(json_t *out, const json_t *hub)
{
    const json_t *rf = json_object_get(hub, "response_format");
    const char *ty = str(rf, "type");
    json_t *fmt;
    if (!ty || !*ty)
        return GW_OK;
    fmt = json_pack("{s:s}", "type", ty);
    if (fmt && !strcmp(ty, "json_schema")) {
        const json_t *js = json_object_get(rf, "json_schema");
        if (copy_key(fmt, js, "name", NULL) || copy_key(fmt, js, "description", NULL) ||
            copy_key(fmt, js, "schema", NULL) || copy_key(fmt, js, "strict", NULL)) {
            json_decref(fmt);
            fmt = NULL;
        }
    }
    json_t *text = fmt ? json_pack("{s:o}", "format", fmt) : NULL;
    if (text && copy_key(text, hub, "verbosity", NULL)) {
        json_decref(text);
        text = NULL;
    }
    return text && !json_object_set_new(out, "text", text) ? GW_OK : GW_ENOMEM;
}

static int build_responses(json_t *out, const json_t *hub, const struct gw_conv_opts *o,
                           char *msg, size_t msglen)
{
    static const char *const same[] = {"temperature", "top_p", "user", "parallel_tool_calls",
                                       "store", "metadata", "prompt_cache_key", "service_tier",
                                       "safety_identifier", "top_logprobs", "frequency_penalty",
                                       "presence_penalty"};
    const json_t *n = json_object_get(hub, "n"), *m;
    json_t *input;
    gw_buf instr;
    size_t i;
    int rc = GW_OK;

    if (json_is_integer(n) && json_integer_value(n) > 1)
        return refuse(msg, msglen, "%sn > 1 is not supported by the Responses API", NULL);
    input = json_array();
    if (!input || json_object_set_new(out, "model",
                                      json_string(o->upstream_model ? o->upstream_model
                                                                    : str(hub, "model") ? str(hub, "model") : "")))
        return json_decref(input), GW_ENOMEM;
    gw_buf_init(&instr, TEXT_MAX);
    json_array_foreach(json_object_get(hub, "messages"), i, m) {
        if ((rc = message_from_chat(input, &instr, m)) != GW_OK)
            break;
    }
    if (rc == GW_OK && instr.len)
        rc = json_object_set_new(out, "instructions", json_stringn(instr.base, instr.len))
                 ? GW_ENOMEM
                 : GW_OK;
    gw_buf_free(&instr);
    if (rc != GW_OK || json_object_set_new(out, "input", input))
        return rc ? (json_decref(input), rc) : GW_ENOMEM;
    for (i = 0; i < sizeof same / sizeof *same; i++)
        if (copy_key(out, hub, same[i], NULL))
            return GW_ENOMEM;
    long long mt = 0, mct = 0;
    if (json_is_integer(json_object_get(hub, "max_tokens")))
        mt = json_integer_value(json_object_get(hub, "max_tokens"));
    if (json_is_integer(json_object_get(hub, "max_completion_tokens")))
        mct = json_integer_value(json_object_get(hub, "max_completion_tokens"));
    if ((mt > 0 || mct > 0) &&
        json_object_set_new(out, "max_output_tokens", json_integer(mt > mct ? mt : mct)))
        return GW_ENOMEM;
    const char *effort = str(hub, "reasoning_effort");
    if (effort && *effort &&
        json_object_set_new(out, "reasoning",
                            json_pack("{s:s, s:s}", "effort", effort, "summary", "detailed")))
        return GW_ENOMEM;
    if (o->stream && json_object_set_new(out, "stream", json_true()))
        return GW_ENOMEM;
    if ((rc = tools_from_chat(out, hub)) || (rc = format_from_chat(out, hub)))
        return rc;
    return GW_OK;
}

int gw__resp_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                          char *msg, size_t msglen)
{
    *out = json_object();
    if (!*out)
        return GW_ENOMEM;
    int rc = build_responses(*out, hub, o, msg, msglen);
    if (rc != GW_OK) {
        json_decref(*out);
        *out = NULL;
        if (rc != GW_EINVAL && msglen)
            snprintf(msg, msglen, "cannot convert the request: %s", gw_strerror(rc));
    }
    return rc;
}
