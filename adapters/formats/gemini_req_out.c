/* hub (an OpenAI chat request) → a Gemini generateContent body; the rules
 * are listed at the top of gemini_req.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/formats/gemini_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define SIGNATURE_BYPASS "context_engineering_is_the_way_to_go"

static const char *str(const json_t *v)
{
    return json_string_value(v);
}

/* ---- hub → Gemini ---- */

/* Appends parts to the last content when it has this role, else a new one. */
static void add_parts(json_t *contents, const char *role, json_t *parts)
{
    json_t *last = json_array_get(contents, json_array_size(contents) - 1);
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return;
    }
    if (last && strcmp(str(json_object_get(last, "role")), role) == 0) {
        json_array_extend(json_object_get(last, "parts"), parts);
        json_decref(parts);
        return;
    }
    json_array_append_new(contents, json_pack("{s:s,s:o}", "role", role, "parts", parts));
}

/* "image/png" from a URL's extension, else NULL. */
static const char *mime_of_url(const char *url)
{
    static const char *const map[][2] = {
        {".png", "image/png"},   {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
        {".webp", "image/webp"}, {".gif", "image/gif"},  {".heic", "image/heic"},
        {".heif", "image/heif"}, {".pdf", "application/pdf"}, {".mp3", "audio/mp3"},
        {".wav", "audio/wav"},   {".mp4", "video/mp4"},  {".txt", "text/plain"},
    };
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t m = strlen(map[i][0]);
        if (n > m && strncasecmp(url + n - m, map[i][0], m) == 0)
            return map[i][1];
    }
    return NULL;
}

/* A data URL or URL → an inlineData or fileData part. */
static json_t *url_part(const char *url, char *msg, size_t msglen)
{
    if (strncmp(url, "data:", 5) == 0) {
        const char *semi = strchr(url + 5, ';'), *comma = strchr(url + 5, ',');
        if (!semi || !comma || semi > comma || strncmp(semi, ";base64,", 8) != 0) {
            gw__gem_fail(msg, msglen, "a data URL must be data:<mime type>;base64,<data>");
            return NULL;
        }
        return json_pack("{s:{s:s%,s:s}}", "inlineData", "mimeType", url + 5,
                         (size_t)(semi - url - 5), "data", comma + 1);
    }
    const char *mime = mime_of_url(url);
    if (mime)
        return json_pack("{s:{s:s,s:s}}", "fileData", "mimeType", mime, "fileUri", url);
    return json_pack("{s:{s:s}}", "fileData", "fileUri", url);
}

/* Chat content (string or parts) → Gemini parts appended to out. */
static int parts_from_chat(const json_t *content, json_t *out, char *msg, size_t msglen)
{
    size_t i;
    json_t *p;

    if (json_is_string(content)) {
        if (json_string_length(content))
            json_array_append_new(out, json_pack("{s:O}", "text", content));
        return GW_OK;
    }
    json_array_foreach(content, i, p) {
        const char *type = str(json_object_get(p, "type"));
        json_t *g = NULL;
        if (!type)
            continue;
        if (strcmp(type, "text") == 0) {
            const json_t *t = json_object_get(p, "text");
            if (json_is_string(t) && json_string_length(t))
                g = json_pack("{s:O}", "text", t);
        } else if (strcmp(type, "image_url") == 0) {
            const json_t *iu = json_object_get(p, "image_url");
            const char *url = json_is_string(iu) ? str(iu) : str(json_object_get(iu, "url"));
            if (url && !(g = url_part(url, msg, msglen)))
                return GW_EINVAL;
        } else if (strcmp(type, "input_audio") == 0) {
            const json_t *a = json_object_get(p, "input_audio");
            const char *data = str(json_object_get(a, "data"));
            const char *fmt = str(json_object_get(a, "format"));
            char mime[64];
            snprintf(mime, sizeof mime, "audio/%s", fmt ? fmt : "wav");
            if (data)
                g = json_pack("{s:{s:s,s:s}}", "inlineData", "mimeType", mime, "data", data);
        } else if (strcmp(type, "file") == 0) {
            const json_t *f = json_object_get(p, "file");
            const char *url = str(json_object_get(f, "file_data"));
            if (!url)
                url = str(json_object_get(f, "file_url"));
            if (url && !(g = url_part(url, msg, msglen)))
                return GW_EINVAL;
        }
        if (g)
            json_array_append_new(out, g);
    }
    return GW_OK;
}

static int signed_part(json_t *parts, const char *member)
{
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        if (json_object_get(p, member)) {
            json_object_set_new(p, "thoughtSignature", json_string(SIGNATURE_BYPASS));
            return 1;
        }
    }
    return 0;
}

static int assistant_parts(const json_t *m, json_t *parts, json_t *names, char *msg,
                           size_t msglen)
{
    size_t i;
    json_t *tc;
    int rc = parts_from_chat(json_object_get(m, "content"), parts, msg, msglen);

    json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
        const json_t *f = json_object_get(tc, "function");
        const char *name = str(json_object_get(f, "name"));
        const char *args = str(json_object_get(f, "arguments"));
        const char *id = str(json_object_get(tc, "id"));
        json_t *a = args && *args ? gw_json_parse(args, strlen(args), 0, NULL, 0) : json_object();
        if (rc != GW_OK)
            break;
        if (!name || !json_is_object(a)) {
            json_decref(a);
            if (msglen)
                snprintf(msg, msglen, "invalid arguments for function %s", name ? name : "?");
            return GW_EINVAL;
        }
        if (id)
            json_object_set_new(names, id, json_string(name));
        json_array_append_new(parts, json_pack("{s:{s:s,s:o}}", "functionCall", "name", name,
                                               "args", a));
    }
    if (rc == GW_OK && !signed_part(parts, "functionCall"))
        signed_part(parts, "text");
    return rc;
}

static json_t *tool_result(const json_t *m, const json_t *names)
{
    const char *name = str(json_object_get(m, "name"));
    const char *id = str(json_object_get(m, "tool_call_id"));
    const json_t *c = json_object_get(m, "content");
    json_t *resp = NULL;
    gw_buf b;

    if (!name && id)
        name = str(json_object_get(names, id));
    if (!name)
        return NULL;
    gw_buf_init(&b, GW_GEM_TEXT_MAX);
    if (json_is_string(c))
        gw_buf_append(&b, str(c), json_string_length(c));
    else {
        json_t *tmp = json_pack("{s:O}", "parts", c);
        gw__gem_content_text(tmp, &b);
        json_decref(tmp);
    }
    json_t *parsed = b.len ? gw_json_parse(b.base, b.len, 0, NULL, 0) : NULL;
    if (json_is_object(parsed))
        resp = parsed;
    else if (json_is_array(parsed))
        resp = json_pack("{s:o}", "result", parsed);
    else
        resp = json_pack("{s:s%}", "content", b.base ? b.base : "", b.len);
    gw_buf_free(&b);
    return json_pack("{s:{s:s,s:o}}", "functionResponse", "name", name, "response", resp);
}

/* reasoning_effort → a thinking budget, as the reference's thinking adapter
 * scales it: a share of the model family's maximum, clamped to its range. */
static long long budget_of_effort(const char *model, const char *effort)
{
    int pro = strncmp(model, "gemini-2.5-pro", 14) == 0 &&
              strncmp(model, "gemini-2.5-pro-preview-05-06", 28) != 0 &&
              strncmp(model, "gemini-2.5-pro-preview-03-25", 28) != 0;
    int lite = strncmp(model, "gemini-2.5-flash-lite", 21) == 0;
    long long max = pro ? 32768 : 24576, min = pro ? 128 : lite ? 512 : 0;
    long long b = !strcmp(effort, "high")      ? max * 80 / 100
                  : !strcmp(effort, "medium")  ? max * 50 / 100
                  : !strcmp(effort, "low")     ? max * 20 / 100
                  : !strcmp(effort, "minimal") ? max * 5 / 100
                                               : max;
    return b < min ? min : b;
}

static int config_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t *out,
                           char *msg, size_t msglen)
{
    json_t *gc = json_object(), *v;

    if (json_is_number(v = json_object_get(hub, "temperature")))
        json_object_set(gc, "temperature", v);
    if (json_is_number(v = json_object_get(hub, "top_p")) && json_number_value(v) > 0)
        json_object_set(gc, "topP", v);
    if (json_is_integer(v = json_object_get(hub, "gw_top_k")) && json_integer_value(v) > 0)
        json_object_set(gc, "topK", v);
    v = json_object_get(hub, "max_completion_tokens");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        v = json_object_get(hub, "max_tokens");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        json_object_set(gc, "maxOutputTokens", v);
    v = json_object_get(hub, "stop");
    if (json_is_string(v) && json_string_length(v)) {
        json_object_set_new(gc, "stopSequences", json_pack("[O]", v));
    } else if (json_is_array(v) && json_array_size(v)) {
        json_t *s = json_array(), *e;
        size_t i;
        json_array_foreach(v, i, e)
            if (json_is_string(e) && json_string_length(e) && json_array_size(s) < 5)
                json_array_append(s, e);
        json_object_set_new(gc, "stopSequences", s);
    }
    if (json_is_integer(v = json_object_get(hub, "seed")) && json_integer_value(v) != 0)
        json_object_set(gc, "seed", v);
    if (json_is_number(v = json_object_get(hub, "presence_penalty")))
        json_object_set(gc, "presencePenalty", v);
    if (json_is_number(v = json_object_get(hub, "frequency_penalty")))
        json_object_set(gc, "frequencyPenalty", v);
    if (json_is_integer(v = json_object_get(hub, "n")) && json_integer_value(v) > 1) {
        json_decref(gc);
        return gw__gem_fail(msg, msglen, "n > 1 is not supported by Gemini channels");
    }

    const json_t *rf = json_object_get(hub, "response_format");
    const char *rft = str(json_object_get(rf, "type"));
    if (rft && (!strcmp(rft, "json_schema") || !strcmp(rft, "json_object"))) {
        const json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        json_object_set_new(gc, "responseMimeType", json_string("application/json"));
        if (json_is_object(schema))
            json_object_set_new(gc, "responseSchema", gw__gem_schema_to_gemini(schema, 0));
    }

    const json_t *budget = json_object_get(hub, "gw_thinking_budget");
    const char *effort = str(json_object_get(hub, "reasoning_effort"));
    if (json_is_integer(budget))
        json_object_set_new(gc, "thinkingConfig",
                            json_pack("{s:O,s:b}", "thinkingBudget", budget, "includeThoughts",
                                      json_integer_value(budget) != 0));
    else if (effort && !strcmp(effort, "none"))
        json_object_set_new(gc, "thinkingConfig", json_pack("{s:i}", "thinkingBudget", 0));
    else if (effort && *effort)
        json_object_set_new(gc, "thinkingConfig",
                            json_pack("{s:I,s:b}", "thinkingBudget",
                                      (json_int_t)budget_of_effort(o->upstream_model
                                                                       ? o->upstream_model
                                                                       : "",
                                                                   effort),
                                      "includeThoughts", 1));
    if (json_object_size(gc))
        json_object_set(out, "generationConfig", gc);
    json_decref(gc);
    return GW_OK;
}

static void tools_from_hub(const json_t *hub, json_t *out)
{
    json_t *fns = json_array(), *tools = json_array(), *t;
    int search = 0, code = 0, url = 0;
    size_t i;

    json_array_foreach(json_object_get(hub, "tools"), i, t) {
        const json_t *f = json_object_get(t, "function");
        const char *name = str(json_object_get(f, "name"));
        const json_t *params = json_object_get(f, "parameters");
        const json_t *desc = json_object_get(f, "description");
        if (!name)
            continue;
        if (!strcmp(name, "googleSearch") || !strcmp(name, "codeExecution") ||
            !strcmp(name, "urlContext")) {
            search |= name[0] == 'g';
            code |= name[0] == 'c';
            url |= name[0] == 'u';
            continue;
        }
        json_t *d = json_pack("{s:s}", "name", name);
        if (json_is_string(desc))
            json_object_set(d, "description", (json_t *)desc);
        const json_t *props = json_object_get(params, "properties");
        if (json_is_object(params) && !(json_is_object(props) && json_object_size(props) == 0))
            json_object_set_new(d, "parameters", gw__gem_schema_to_gemini(params, 0));
        json_array_append_new(fns, d);
    }
    if (code)
        json_array_append_new(tools, json_pack("{s:{}}", "codeExecution"));
    if (search)
        json_array_append_new(tools, json_pack("{s:{}}", "googleSearch"));
    if (url)
        json_array_append_new(tools, json_pack("{s:{}}", "urlContext"));
    if (json_array_size(fns))
        json_array_append_new(tools, json_pack("{s:O}", "functionDeclarations", fns));
    json_decref(fns);
    if (json_array_size(tools))
        json_object_set(out, "tools", tools);
    json_decref(tools);

    const json_t *tc = json_object_get(hub, "tool_choice");
    const char *mode = NULL;
    json_t *allowed = NULL;
    if (!json_object_get(out, "tools") || !tc)
        return;
    if (json_is_string(tc))
        mode = !strcmp(str(tc), "none") ? "NONE" : !strcmp(str(tc), "required") ? "ANY" : "AUTO";
    else if (json_is_object(tc) && str(json_object_get(tc, "type")) &&
             !strcmp(str(json_object_get(tc, "type")), "function")) {
        const json_t *n = json_object_get(json_object_get(tc, "function"), "name");
        mode = "ANY";
        if (json_is_string(n) && json_string_length(n))
            allowed = json_pack("[O]", n);
    }
    if (!mode)
        return;
    json_t *fcc = json_pack("{s:s}", "mode", mode);
    if (allowed)
        json_object_set_new(fcc, "allowedFunctionNames", allowed);
    json_object_set_new(out, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
}

int gw__gem_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                            char *msg, size_t msglen)
{
    static const char *const categories[] = {
        "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT",
    };
    const json_t *msgs = json_object_get(hub, "messages");
    json_t *g, *contents, *names, *m;
    gw_buf sys;
    size_t i;
    int rc = GW_OK;

    *out = NULL;
    if (!json_is_array(msgs))
        return gw__gem_fail(msg, msglen, "messages is required and must be an array");
    g = json_object();
    contents = json_array();
    names = json_object(); /* tool_call_id → function name */
    gw_buf_init(&sys, GW_GEM_TEXT_MAX);
    json_array_foreach(msgs, i, m) {
        const char *role = str(json_object_get(m, "role"));
        json_t *parts = json_array();
        if (!role) {
            json_decref(parts);
            rc = gw__gem_fail(msg, msglen, "every message needs a role");
            break;
        }
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            json_decref(parts);
            const json_t *c = json_object_get(m, "content");
            json_t *tmp = json_is_array(c) ? json_pack("{s:O}", "parts", c) : NULL;
            if (sys.len && gw_buf_append(&sys, "\n", 1) != GW_OK)
                rc = GW_ETOOBIG;
            if (rc == GW_OK)
                rc = gw__gem_content_text(tmp ? tmp : c, &sys);
            json_decref(tmp);
        } else if (!strcmp(role, "tool") || !strcmp(role, "function")) {
            json_t *fr = tool_result(m, names);
            if (!fr) {
                json_decref(parts);
                rc = gw__gem_fail(msg, msglen, "a tool message's tool_call_id matches no earlier tool call");
                break;
            }
            json_array_append_new(parts, fr);
            add_parts(contents, "user", parts);
        } else if (!strcmp(role, "assistant")) {
            rc = assistant_parts(m, parts, names, msg, msglen);
            add_parts(contents, "model", parts);
        } else {
            rc = parts_from_chat(json_object_get(m, "content"), parts, msg, msglen);
            add_parts(contents, "user", parts);
        }
        if (rc != GW_OK)
            break;
    }
    json_decref(names);
    json_object_set_new(g, "contents", contents);
    if (rc == GW_OK && sys.len)
        json_object_set_new(g, "systemInstruction",
                            json_pack("{s:[{s:s%}]}", "parts", "text", sys.base, sys.len));
    gw_buf_free(&sys);
    if (rc == GW_OK) {
        json_t *ss = json_array();
        for (i = 0; i < 4; i++)
            json_array_append_new(ss, json_pack("{s:s,s:s}", "category", categories[i],
                                                "threshold", "OFF"));
        json_object_set_new(g, "safetySettings", ss);
        tools_from_hub(hub, g);
        rc = config_from_hub(hub, o, g, msg, msglen);
    }
    if (rc != GW_OK) {
        if (rc != GW_EINVAL && msglen)
            snprintf(msg, msglen, "request too large to convert");
        json_decref(g);
        return rc;
    }
    *out = g;
    return GW_OK;
}
