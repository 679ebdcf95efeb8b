/* Gemini generateContent requests <-> the hub (an OpenAI chat request).
 *
 * Gemini → hub: systemInstruction becomes a system message, contents map
 * user/model to user/assistant one to one, functionCall parts (which carry
 * no id) get "call_N" ids and each functionResponse takes the id of the
 * first unanswered call of its name, generationConfig maps onto the chat
 * sampling fields (topK → gw_top_k, thinkingBudget → gw_thinking_budget +
 * reasoning_effort, responseSchema → response_format json_schema).
 * cachedContent and candidateCount > 1 cannot be expressed: refused.
 *
 * hub → Gemini: system and developer messages join into systemInstruction,
 * consecutive turns of one role merge into one content (tool results go
 * into the user turn after the model's calls, found by tool_call_id →
 * function name), images and files become inlineData (data URLs) or
 * fileData (URLs), tools become functionDeclarations with the schema
 * reduced to what Gemini accepts. n > 1 is refused. As the reference
 * (FunctionCallThoughtSignatureEnabled, on by default), the first function
 * call (else text) part of each model turn carries the documented bypass
 * thought signature, since a converted history has no real one. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/formats/gemini_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define SIGNATURE_BYPASS "context_engineering_is_the_way_to_go"
#define SCHEMA_MAX_DEPTH 64

static int fail(char *msg, size_t msglen, const char *text)
{
    if (msglen)
        snprintf(msg, msglen, "%s", text);
    return GW_EINVAL;
}

json_t *gw__gem_get(const json_t *obj, const char *camel, const char *snake)
{
    json_t *v = json_object_get(obj, camel);
    return v ? v : json_object_get(obj, snake);
}

/* ---- schemas ---- */

/* Gemini Schema (OpenAPI subset, upper-case types, "nullable") → JSON
 * Schema: types lower-cased, nullable folded into the type list. */
static json_t *schema_to_json(const json_t *s, int depth)
{
    if (depth > SCHEMA_MAX_DEPTH)
        return json_object();
    if (json_is_array(s)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v)
            json_array_append_new(a, schema_to_json(v, depth + 1));
        return a;
    }
    if (!json_is_object(s))
        return json_deep_copy(s);
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (strcmp(k, "type") == 0 && json_is_string(v)) {
            char t[32];
            size_t n = json_string_length(v);
            if (n >= sizeof t)
                n = sizeof t - 1;
            for (size_t i = 0; i < n; i++)
                t[i] = (char)tolower((unsigned char)json_string_value(v)[i]);
            t[n] = '\0';
            if (json_is_true(json_object_get(s, "nullable")))
                json_object_set_new(o, "type", json_pack("[s,s]", t, "null"));
            else
                json_object_set_new(o, "type", json_string(t));
        } else if (strcmp(k, "nullable") == 0) {
            continue;
        } else if (strcmp(k, "properties") == 0 && json_is_object(v)) {
            json_t *p = json_object();
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
                json_object_set_new(p, pk, schema_to_json(pv, depth + 1));
            json_object_set_new(o, k, p);
        } else if (strcmp(k, "items") == 0 || strcmp(k, "anyOf") == 0) {
            json_object_set_new(o, k, schema_to_json(v, depth + 1));
        } else {
            json_object_set(o, k, v);
        }
    }
    return o;
}

/* JSON Schema → what Gemini's Schema accepts (the reference's allowed
 * field list): other keywords ($schema, additionalProperties, ...)
 * dropped, types upper-cased, a "null" in a type list becomes nullable. */
static int schema_field_ok(const char *k)
{
    static const char *const ok[] = {
        "anyOf", "default", "description", "enum", "example", "format", "items",
        "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength",
        "minProperties", "minimum", "nullable", "pattern", "properties", "propertyOrdering",
        "required", "title", "type",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(k, ok[i]) == 0)
            return 1;
    return 0;
}

static json_t *upper_type(const char *t, int *is_null)
{
    char u[32];
    size_t n = strlen(t);
    *is_null = strcasecmp(t, "null") == 0;
    if (*is_null || n >= sizeof u)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        u[i] = (char)toupper((unsigned char)t[i]);
    return json_string(u);
}

static json_t *schema_to_gemini(const json_t *s, int depth)
{
    if (!json_is_object(s))
        return json_is_array(s) ? json_array() : json_deep_copy(s);
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (!schema_field_ok(k))
            continue;
        if (strcmp(k, "type") == 0) {
            int null = 0, any_null = 0;
            json_t *t = NULL;
            if (json_is_string(v)) {
                t = upper_type(json_string_value(v), &null);
                any_null = null;
            } else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                    if (!json_is_string(e))
                        continue;
                    json_t *u = upper_type(json_string_value(e), &null);
                    any_null |= null;
                    if (u && !t)
                        t = u;
                    else
                        json_decref(u);
                }
            }
            if (t)
                json_object_set_new(o, "type", t);
            if (any_null)
                json_object_set_new(o, "nullable", json_true());
        } else if (depth >= SCHEMA_MAX_DEPTH &&
                   (!strcmp(k, "properties") || !strcmp(k, "items") || !strcmp(k, "anyOf"))) {
            continue;
        } else if (strcmp(k, "properties") == 0 && json_is_object(v)) {
            json_t *p = json_object();
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
                json_object_set_new(p, pk, schema_to_gemini(pv, depth + 1));
            json_object_set_new(o, k, p);
        } else if (strcmp(k, "items") == 0) {
            json_object_set_new(o, k, schema_to_gemini(json_is_array(v) ? json_array_get(v, 0) : v,
                                                       depth + 1));
        } else if (strcmp(k, "anyOf") == 0 && json_is_array(v)) {
            json_t *a = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
                json_array_append_new(a, schema_to_gemini(e, depth + 1));
            json_object_set_new(o, k, a);
        } else {
            json_object_set(o, k, v);
        }
    }
    return o;
}

/* ---- Gemini → hub ---- */

static const char *str(const json_t *v)
{
    return json_string_value(v);
}

/* The text parts of a Content (or a bare string) joined by "\n". */
static int content_text(const json_t *c, gw_buf *b)
{
    if (json_is_string(c))
        return gw_buf_append(b, str(c), json_string_length(c));
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(c, "parts"), i, p) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_is_true(json_object_get(p, "thought")))
            continue;
        if ((n++ && gw_buf_append(b, "\n", 1)) || gw_buf_append(b, str(t), json_string_length(t)))
            return GW_ETOOBIG;
    }
    return GW_OK;
}

static json_t *data_url(const char *mime, const char *data)
{
    gw_buf b;
    gw_buf_init(&b, GW_GEM_TEXT_MAX);
    json_t *r = NULL;
    if (gw_buf_appendf(&b, "data:%s;base64,", mime) == GW_OK &&
        gw_buf_appends(&b, data) == GW_OK)
        r = json_stringn(b.base, b.len);
    gw_buf_free(&b);
    return r;
}

static json_t *media_part(const json_t *inl, const json_t *fd)
{
    const char *mime = str(gw__gem_get(inl ? inl : fd, "mimeType", "mime_type"));
    if (!mime)
        mime = "";
    if (inl) {
        const char *data = str(json_object_get(inl, "data"));
        if (!data)
            return NULL;
        if (strncmp(mime, "audio/", 6) == 0 &&
            (!strcmp(mime + 6, "wav") || !strcmp(mime + 6, "mp3") || !strcmp(mime + 6, "mpeg")))
            return json_pack("{s:s,s:{s:s,s:s}}", "type", "input_audio", "input_audio", "data",
                             data, "format", strcmp(mime + 6, "wav") ? "mp3" : "wav");
        json_t *url = data_url(*mime ? mime : "application/octet-stream", data);
        if (!url)
            return NULL;
        if (strncmp(mime, "image/", 6) == 0)
            return json_pack("{s:s,s:{s:o}}", "type", "image_url", "image_url", "url", url);
        return json_pack("{s:s,s:{s:o}}", "type", "file", "file", "file_data", url);
    }
    const char *uri = str(gw__gem_get(fd, "fileUri", "file_uri"));
    if (!uri)
        return NULL;
    if (*mime == '\0' || strncmp(mime, "image/", 6) == 0)
        return json_pack("{s:s,s:{s:s}}", "type", "image_url", "image_url", "url", uri);
    return json_pack("{s:s,s:{s:s}}", "type", "file", "file", "file_url", uri);
}

/* Calls of this request that no functionResponse answered yet: [[name, id]].
 * Copies the id of the first call named name into id and forgets it. */
static int take_call(json_t *pending, const char *name, char *id, size_t cap)
{
    size_t i;
    json_t *e;
    json_array_foreach(pending, i, e) {
        if (strcmp(str(json_array_get(e, 0)), name) == 0) {
            snprintf(id, cap, "%s", str(json_array_get(e, 1)));
            json_array_remove(pending, i);
            return 1;
        }
    }
    return 0;
}

static int convert_content(const json_t *c, json_t *msgs, json_t *pending, int *ncalls,
                           char *msg, size_t msglen)
{
    const char *role = str(json_object_get(c, "role"));
    int model = role && strcmp(role, "model") == 0;
    json_t *parts = json_array(), *calls = json_array();
    gw_buf reason;
    size_t i;
    json_t *p;
    int rc = GW_OK;

    gw_buf_init(&reason, GW_GEM_TEXT_MAX);
    if (!json_is_array(json_object_get(c, "parts")) && json_object_get(c, "parts"))
        rc = fail(msg, msglen, "contents[].parts must be an array");
    json_array_foreach(json_object_get(c, "parts"), i, p) {
        const json_t *text = json_object_get(p, "text");
        const json_t *inl = gw__gem_get(p, "inlineData", "inline_data");
        const json_t *fd = gw__gem_get(p, "fileData", "file_data");
        const json_t *fc = gw__gem_get(p, "functionCall", "function_call");
        const json_t *fr = gw__gem_get(p, "functionResponse", "function_response");
        if (rc != GW_OK)
            break;
        if (json_is_string(text) && json_is_true(json_object_get(p, "thought")) && model) {
            rc = gw_buf_append(&reason, str(text), json_string_length(text));
        } else if (json_is_string(text)) {
            if (json_string_length(text))
                json_array_append_new(parts, json_pack("{s:s,s:O}", "type", "text", "text", text));
        } else if (inl || fd) {
            json_t *m = media_part(inl, inl ? NULL : fd);
            if (!m)
                rc = fail(msg, msglen, "inlineData needs data and fileData a fileUri");
            else
                json_array_append_new(parts, m);
        } else if (fc) {
            const char *name = str(json_object_get(fc, "name"));
            const json_t *args = json_object_get(fc, "args");
            const char *given = str(json_object_get(fc, "id"));
            char id[64];
            if (!name) {
                rc = fail(msg, msglen, "functionCall needs a name");
                break;
            }
            if (given && *given)
                snprintf(id, sizeof id, "%s", given);
            else
                snprintf(id, sizeof id, "call_%d", ++*ncalls);
            char *a = json_is_object(args) ? json_dumps(args, JSON_COMPACT) : NULL;
            json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type",
                                                   "function", "function", "name", name,
                                                   "arguments", a ? a : "{}"));
            gw_free(a);
            json_array_append_new(pending, json_pack("[s,s]", name, id));
        } else if (fr) {
            const char *name = str(json_object_get(fr, "name"));
            const char *given = str(json_object_get(fr, "id"));
            const json_t *resp = json_object_get(fr, "response");
            char id[64];
            if (given && *given)
                snprintf(id, sizeof id, "%s", given);
            else if (!name || !take_call(pending, name, id, sizeof id))
                snprintf(id, sizeof id, "call_%d", ++*ncalls);
            char *txt = resp ? json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            json_array_append_new(msgs, json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id",
                                                  id, "content", txt ? txt : "{}"));
            gw_free(txt);
        }
    }
    if (rc == GW_OK && (json_array_size(parts) || json_array_size(calls) || reason.len)) {
        json_t *m = json_pack("{s:s}", "role", model ? "assistant" : "user");
        if (json_array_size(parts) == 1 &&
            strcmp(str(json_object_get(json_array_get(parts, 0), "type")), "text") == 0)
            json_object_set(m, "content", json_object_get(json_array_get(parts, 0), "text"));
        else if (json_array_size(parts))
            json_object_set(m, "content", parts);
        else if (!json_array_size(calls))
            json_object_set_new(m, "content", json_string(""));
        if (reason.len)
            json_object_set_new(m, "reasoning_content", json_stringn(reason.base, reason.len));
        if (json_array_size(calls))
            json_object_set(m, "tool_calls", calls);
        json_array_append_new(msgs, m);
    }
    json_decref(parts);
    json_decref(calls);
    gw_buf_free(&reason);
    return rc;
}

/* Thinking budget → the nearest reasoning_effort (dynamic -1: medium). */
static const char *effort_of_budget(long long b)
{
    return b < 0 ? "medium" : b <= 2048 ? "low" : b <= 12288 ? "medium" : "high";
}

static int config_to_hub(const json_t *gc, json_t *h, char *msg, size_t msglen)
{
    static const struct { const char *camel, *snake, *hub; } num[] = {
        {"temperature", "temperature", "temperature"},
        {"topP", "top_p", "top_p"},
        {"presencePenalty", "presence_penalty", "presence_penalty"},
        {"frequencyPenalty", "frequency_penalty", "frequency_penalty"},
        {"seed", "seed", "seed"},
    };
    json_t *v;

    if (gc && !json_is_object(gc))
        return fail(msg, msglen, "generationConfig must be an object");
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (json_is_number(v = gw__gem_get(gc, num[i].camel, num[i].snake)))
            json_object_set(h, num[i].hub, v);
    if (json_is_number(v = gw__gem_get(gc, "topK", "top_k")) && json_number_value(v) > 0)
        json_object_set_new(h, "gw_top_k", json_integer((json_int_t)json_number_value(v)));
    if (json_is_number(v = gw__gem_get(gc, "maxOutputTokens", "max_output_tokens")) &&
        json_number_value(v) > 0)
        json_object_set_new(h, "max_tokens", json_integer((json_int_t)json_number_value(v)));
    if (json_is_array(v = gw__gem_get(gc, "stopSequences", "stop_sequences")) &&
        json_array_size(v))
        json_object_set(h, "stop", v);
    if (json_is_number(v = gw__gem_get(gc, "candidateCount", "candidate_count")) &&
        json_number_value(v) > 1)
        return fail(msg, msglen,
                    "candidateCount > 1 is not supported when the request is converted for "
                    "this channel");

    const char *mime = str(gw__gem_get(gc, "responseMimeType", "response_mime_type"));
    if (mime && strcmp(mime, "application/json") == 0) {
        const json_t *js = gw__gem_get(gc, "responseJsonSchema", "response_json_schema");
        const json_t *gs = gw__gem_get(gc, "responseSchema", "response_schema");
        json_t *schema = json_is_object(js) ? json_deep_copy(js)
                         : json_is_object(gs) ? schema_to_json(gs, 0)
                                              : NULL;
        if (schema)
            json_object_set_new(h, "response_format",
                                json_pack("{s:s,s:{s:s,s:o}}", "type", "json_schema",
                                          "json_schema", "name", "response", "schema", schema));
        else
            json_object_set_new(h, "response_format", json_pack("{s:s}", "type", "json_object"));
    }

    const json_t *tc = gw__gem_get(gc, "thinkingConfig", "thinking_config");
    const json_t *budget = gw__gem_get(tc, "thinkingBudget", "thinking_budget");
    const char *level = str(gw__gem_get(tc, "thinkingLevel", "thinking_level"));
    if (json_is_integer(budget) && json_integer_value(budget) >= 0) {
        json_object_set(h, "gw_thinking_budget", (json_t *)budget);
        if (json_integer_value(budget) > 0)
            json_object_set_new(h, "reasoning_effort",
                                json_string(effort_of_budget(json_integer_value(budget))));
    } else if (level && *level) {
        char l[16];
        size_t n = strlen(level) < sizeof l - 1 ? strlen(level) : sizeof l - 1;
        for (size_t i = 0; i < n; i++)
            l[i] = (char)tolower((unsigned char)level[i]);
        l[n] = '\0';
        json_object_set_new(h, "reasoning_effort", json_string(l));
    }
    return GW_OK;
}

static void tools_to_hub(const json_t *body, json_t *h)
{
    json_t *tools = json_array(), *t, *fd;
    size_t i, j;

    json_array_foreach(json_object_get(body, "tools"), i, t) {
        json_array_foreach(gw__gem_get(t, "functionDeclarations", "function_declarations"), j, fd) {
            const json_t *name = json_object_get(fd, "name");
            const json_t *desc = json_object_get(fd, "description");
            const json_t *js = gw__gem_get(fd, "parametersJsonSchema", "parameters_json_schema");
            const json_t *ps = json_object_get(fd, "parameters");
            if (!json_is_string(name))
                continue;
            json_t *f = json_pack("{s:O}", "name", name);
            if (json_is_string(desc))
                json_object_set(f, "description", (json_t *)desc);
            if (json_is_object(js))
                json_object_set(f, "parameters", (json_t *)js);
            else if (json_is_object(ps))
                json_object_set_new(f, "parameters", schema_to_json(ps, 0));
            json_array_append_new(tools, json_pack("{s:s,s:o}", "type", "function", "function", f));
        }
    }
    if (json_array_size(tools))
        json_object_set(h, "tools", tools);
    json_decref(tools);

    const json_t *fcc = gw__gem_get(gw__gem_get(body, "toolConfig", "tool_config"),
                                    "functionCallingConfig", "function_calling_config");
    const char *mode = str(json_object_get(fcc, "mode"));
    const json_t *allowed = gw__gem_get(fcc, "allowedFunctionNames", "allowed_function_names");
    if (!mode || !json_object_get(h, "tools")) /* chat refuses a tool_choice without tools */
        return;
    if (strcasecmp(mode, "NONE") == 0)
        json_object_set_new(h, "tool_choice", json_string("none"));
    else if (strcasecmp(mode, "ANY") == 0 && json_array_size(allowed) == 1 &&
             json_is_string(json_array_get(allowed, 0)))
        json_object_set_new(h, "tool_choice",
                            json_pack("{s:s,s:{s:O}}", "type", "function", "function", "name",
                                      json_array_get(allowed, 0)));
    else if (strcasecmp(mode, "ANY") == 0)
        json_object_set_new(h, "tool_choice", json_string("required"));
    else
        json_object_set_new(h, "tool_choice", json_string("auto"));
}

static int gem_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                          char *msg, size_t msglen)
{
    const char *model = pf && pf->model ? pf->model : NULL;
    const json_t *contents = json_object_get(body, "contents");
    const json_t *cached = gw__gem_get(body, "cachedContent", "cached_content");
    int rc = GW_OK, ncalls = 0;

    *hub = NULL;
    if (!json_is_object(body))
        return fail(msg, msglen, "request body must be a JSON object");
    if (!json_is_array(contents))
        return fail(msg, msglen, "contents is required and must be an array");
    if (json_is_string(cached) && json_string_length(cached))
        return fail(msg, msglen, "cachedContent can only be used with a Gemini channel");
    json_t *h = json_object(), *msgs = json_array(), *pending = json_array();
    json_object_set_new(h, "model", json_string(model ? model : ""));

    const json_t *si = gw__gem_get(body, "systemInstruction", "system_instruction");
    if (si) {
        gw_buf b;
        gw_buf_init(&b, GW_GEM_TEXT_MAX);
        rc = content_text(si, &b);
        if (rc == GW_OK && b.len)
            json_array_append_new(msgs, json_pack("{s:s,s:s%}", "role", "system", "content",
                                                  b.base, b.len));
        gw_buf_free(&b);
    }
    size_t i;
    json_t *c;
    json_array_foreach(contents, i, c) {
        if (rc != GW_OK)
            break;
        if (!json_is_object(c))
            rc = fail(msg, msglen, "contents[] must be objects");
        else
            rc = convert_content(c, msgs, pending, &ncalls, msg, msglen);
    }
    json_object_set_new(h, "messages", msgs);
    if (rc == GW_OK)
        rc = config_to_hub(gw__gem_get(body, "generationConfig", "generation_config"), h, msg,
                           msglen);
    if (rc == GW_OK) {
        tools_to_hub(body, h);
        if (pf && pf->stream)
            json_object_set_new(h, "stream", json_true());
    }
    json_decref(pending);
    if (rc != GW_OK) {
        json_decref(h);
        if (rc != GW_EINVAL && msglen)
            snprintf(msg, msglen, "request too large to convert");
        return rc;
    }
    *hub = h;
    return GW_OK;
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
            fail(msg, msglen, "a data URL must be data:<mime type>;base64,<data>");
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
        content_text(tmp, &b);
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
        return fail(msg, msglen, "n > 1 is not supported by Gemini channels");
    }

    const json_t *rf = json_object_get(hub, "response_format");
    const char *rft = str(json_object_get(rf, "type"));
    if (rft && (!strcmp(rft, "json_schema") || !strcmp(rft, "json_object"))) {
        const json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        json_object_set_new(gc, "responseMimeType", json_string("application/json"));
        if (json_is_object(schema))
            json_object_set_new(gc, "responseSchema", schema_to_gemini(schema, 0));
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
            json_object_set_new(d, "parameters", schema_to_gemini(params, 0));
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

static int gem_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
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
        return fail(msg, msglen, "messages is required and must be an array");
    g = json_object();
    contents = json_array();
    names = json_object(); /* tool_call_id → function name */
    gw_buf_init(&sys, GW_GEM_TEXT_MAX);
    json_array_foreach(msgs, i, m) {
        const char *role = str(json_object_get(m, "role"));
        json_t *parts = json_array();
        if (!role) {
            json_decref(parts);
            rc = fail(msg, msglen, "every message needs a role");
            break;
        }
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            json_decref(parts);
            const json_t *c = json_object_get(m, "content");
            json_t *tmp = json_is_array(c) ? json_pack("{s:O}", "parts", c) : NULL;
            if (sys.len && gw_buf_append(&sys, "\n", 1) != GW_OK)
                rc = GW_ETOOBIG;
            if (rc == GW_OK)
                rc = content_text(tmp ? tmp : c, &sys);
            json_decref(tmp);
        } else if (!strcmp(role, "tool") || !strcmp(role, "function")) {
            json_t *fr = tool_result(m, names);
            if (!fr) {
                json_decref(parts);
                rc = fail(msg, msglen, "a tool message's tool_call_id matches no earlier tool call");
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

/* For gemini.c's table. */
int gw__gem_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                       char *msg, size_t msglen)
{
    return gem_req_to_hub(body, pf, hub, msg, msglen);
}

int gw__gem_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                         char *msg, size_t msglen)
{
    return gem_req_from_hub(hub, o, out, msg, msglen);
}
