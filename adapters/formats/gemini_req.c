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

static const char *str(const json_t *v)
{
    return json_string_value(v);
}
/* ---- Gemini → hub ---- */


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
        rc = gw__gem_fail(msg, msglen, "contents[].parts must be an array");
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
                rc = gw__gem_fail(msg, msglen, "inlineData needs data and fileData a fileUri");
            else
                json_array_append_new(parts, m);
        } else if (fc) {
            const char *name = str(json_object_get(fc, "name"));
            const json_t *args = json_object_get(fc, "args");
            const char *given = str(json_object_get(fc, "id"));
            char id[64];
            if (!name) {
                rc = gw__gem_fail(msg, msglen, "functionCall needs a name");
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
        return gw__gem_fail(msg, msglen, "generationConfig must be an object");
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
        return gw__gem_fail(msg, msglen,
                    "candidateCount > 1 is not supported when the request is converted for "
                    "this channel");

    const char *mime = str(gw__gem_get(gc, "responseMimeType", "response_mime_type"));
    if (mime && strcmp(mime, "application/json") == 0) {
        const json_t *js = gw__gem_get(gc, "responseJsonSchema", "response_json_schema");
        const json_t *gs = gw__gem_get(gc, "responseSchema", "response_schema");
        json_t *schema = json_is_object(js) ? json_deep_copy(js)
                         : json_is_object(gs) ? gw__gem_schema_to_json(gs, 0)
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
                json_object_set_new(f, "parameters", gw__gem_schema_to_json(ps, 0));
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

int gw__gem_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                          char *msg, size_t msglen)
{
    const char *model = pf && pf->model ? pf->model : NULL;
    const json_t *contents = json_object_get(body, "contents");
    const json_t *cached = gw__gem_get(body, "cachedContent", "cached_content");
    int rc = GW_OK, ncalls = 0;

    *hub = NULL;
    if (!json_is_object(body))
        return gw__gem_fail(msg, msglen, "request body must be a JSON object");
    if (!json_is_array(contents))
        return gw__gem_fail(msg, msglen, "contents is required and must be an array");
    if (json_is_string(cached) && json_string_length(cached))
        return gw__gem_fail(msg, msglen, "cachedContent can only be used with a Gemini channel");
    json_t *h = json_object(), *msgs = json_array(), *pending = json_array();
    json_object_set_new(h, "model", json_string(model ? model : ""));

    const json_t *si = gw__gem_get(body, "systemInstruction", "system_instruction");
    if (si) {
        gw_buf b;
        gw_buf_init(&b, GW_GEM_TEXT_MAX);
        rc = gw__gem_content_text(si, &b);
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
            rc = gw__gem_fail(msg, msglen, "contents[] must be objects");
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
