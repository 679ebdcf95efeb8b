/* Schemas between JSON Schema (chat tools, response_format) and Gemini's
 * Schema (an OpenAPI subset: upper-case types, "nullable"), and the small
 * helpers the Gemini request files share (gemini_int.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/formats/gemini_int.h"
#include "gateway/core/err.h"

#define SCHEMA_MAX_DEPTH 64

int gw__gem_fail(char *msg, size_t msglen, const char *text)
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


/* Gemini Schema (OpenAPI subset, upper-case types, "nullable") → JSON
 * Schema: types lower-cased, nullable folded into the type list. */
json_t *gw__gem_schema_to_json(const json_t *s, int depth)
{
    if (depth > SCHEMA_MAX_DEPTH)
        return json_object();
    if (json_is_array(s)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v)
            json_array_append_new(a, gw__gem_schema_to_json(v, depth + 1));
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
                json_object_set_new(p, pk, gw__gem_schema_to_json(pv, depth + 1));
            json_object_set_new(o, k, p);
        } else if (strcmp(k, "items") == 0 || strcmp(k, "anyOf") == 0) {
            json_object_set_new(o, k, gw__gem_schema_to_json(v, depth + 1));
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

json_t *gw__gem_schema_to_gemini(const json_t *s, int depth)
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
                json_object_set_new(p, pk, gw__gem_schema_to_gemini(pv, depth + 1));
            json_object_set_new(o, k, p);
        } else if (strcmp(k, "items") == 0) {
            json_object_set_new(o, k, gw__gem_schema_to_gemini(json_is_array(v) ? json_array_get(v, 0) : v,
                                                       depth + 1));
        } else if (strcmp(k, "anyOf") == 0 && json_is_array(v)) {
            json_t *a = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
                json_array_append_new(a, gw__gem_schema_to_gemini(e, depth + 1));
            json_object_set_new(o, k, a);
        } else {
            json_object_set(o, k, v);
        }
    }
    return o;
}

/* The text parts of a Content (or a bare string) joined by "\n". */
int gw__gem_content_text(const json_t *c, gw_buf *b)
{
    if (json_is_string(c))
        return gw_buf_append(b, json_string_value(c), json_string_length(c));
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(c, "parts"), i, p) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_is_true(json_object_get(p, "thought")))
            continue;
        if ((n++ && gw_buf_append(b, "\n", 1)) || gw_buf_append(b, json_string_value(t), json_string_length(t)))
            return GW_ETOOBIG;
    }
    return GW_OK;
}
