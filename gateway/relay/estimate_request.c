/* Prompt estimate for a request body, the reference's EstimateRequestToken
 * (service/token_counter.go) over GeneralOpenAIRequest.GetTokenCountMeta
 * (dto/openai_request.go), Feb tree f4f144bc.
 *
 * The reference joins every text with "\n" and estimates the result once;
 * we feed the same pieces and separators to one streaming estimator, so
 * nothing is copied. Tool parameters are printed the way Go's %v prints a
 * map[string]any (map[k:v ...], keys sorted, slices as [a b]) because that
 * string is what the reference counts. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "gateway/relay/billing.h"

#define MODEL_MAX 128
#define PRINT_DEPTH_MAX 32

struct walk {
    struct gw_estimator e;
    int ntexts;
};

static void feed(struct gw_estimator *e, const char *s)
{
    gw_estimator_feed(e, s, strlen(s));
}

/* One element of the reference's texts slice. */
static void add_text(struct walk *w, const char *s, size_t len)
{
    if (w->ntexts++)
        gw_estimator_feed(&w->e, "\n", 1);
    gw_estimator_feed(&w->e, s, len);
}

static void add_json_str(struct walk *w, const json_t *s)
{
    add_text(w, json_string_value(s), json_string_length(s));
}

/* Go's %v of a float64: the shortest digits, in %e form when the decimal
 * exponent is below -4 or at least 6 (so 1000000 prints as 1e+06). */
static void print_go_float(struct gw_estimator *e, double d)
{
    char t[64];
    int p, exp10;

    for (p = 0; p < 17; p++) {
        snprintf(t, sizeof t, "%.*e", p, d);
        if (strtod(t, NULL) == d)
            break;
    }
    exp10 = (int)strtol(strchr(t, 'e') + 1, NULL, 10);
    if (exp10 >= -4 && exp10 < 6)
        snprintf(t, sizeof t, "%.*f", p - exp10 > 0 ? p - exp10 : 0, d);
    feed(e, t);
}

/* fmt.Sprintf("%v", v) for a decoded JSON value, fed to the estimator. */
static void print_go(struct gw_estimator *e, const json_t *v, int depth)
{
    if (depth > PRINT_DEPTH_MAX)
        return;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        /* Go prints map keys sorted; pick each next key in order without
         * allocating (tool schemas are small). */
        const char *prev = NULL, *k, *best;
        json_t *item;
        int first = 1;
        feed(e, "map[");
        for (;;) {
            best = NULL;
            json_object_foreach((json_t *)v, k, item) {
                if ((!prev || strcmp(k, prev) > 0) && (!best || strcmp(k, best) < 0))
                    best = k;
            }
            if (!best)
                break;
            if (!first)
                feed(e, " ");
            first = 0;
            feed(e, best);
            feed(e, ":");
            print_go(e, json_object_get(v, best), depth + 1);
            prev = best;
        }
        feed(e, "]");
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        feed(e, "[");
        for (i = 0; i < json_array_size(v); i++) {
            if (i)
                feed(e, " ");
            print_go(e, json_array_get(v, i), depth + 1);
        }
        feed(e, "]");
        break;
    }
    case JSON_STRING:
        gw_estimator_feed(e, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: /* Go decodes every JSON number as float64 */
        print_go_float(e, (double)json_integer_value(v));
        break;
    case JSON_REAL:
        print_go_float(e, json_real_value(v));
        break;
    case JSON_TRUE:
        feed(e, "true");
        break;
    case JSON_FALSE:
        feed(e, "false");
        break;
    case JSON_NULL:
        feed(e, "<nil>");
        break;
    }
}

/* A string, or the strings of an array (other items skipped). */
static void add_strings(struct walk *w, const json_t *v)
{
    size_t i;

    if (json_is_string(v)) {
        add_json_str(w, v);
        return;
    }
    for (i = 0; i < json_array_size(v); i++) {
        if (json_is_string(json_array_get(v, i)))
            add_json_str(w, json_array_get(v, i));
    }
}

static const char *str_of(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One content part (Message.ParseContent); media add tokens directly. */
static long long add_part(struct walk *w, const char *model, const json_t *part)
{
    const char *type = str_of(part, "type");
    const json_t *v;

    if (!type)
        return 0;
    if (strcmp(type, "text") == 0) {
        v = json_object_get(part, "text");
        if (json_is_string(v))
            add_json_str(w, v);
        return 0;
    }
    if (strcmp(type, "image_url") == 0) {
        const char *url, *detail = "high";
        v = json_object_get(part, "image_url");
        if (json_is_string(v)) {
            url = json_string_value(v);
        } else {
            url = str_of(v, "url");
            if (str_of(v, "detail"))
                detail = str_of(v, "detail");
        }
        return url && *url ? gw_estimate_image_tokens(model, 0, 0, detail) : 0;
    }
    if (strcmp(type, "input_audio") == 0) {
        v = json_object_get(part, "input_audio");
        const char *data = str_of(v, "data");
        return data && *data && str_of(v, "format") ? 256 : 0;
    }
    if (strcmp(type, "file") == 0) {
        v = json_object_get(part, "file");
        const char *data = str_of(v, "file_data");
        return !str_of(v, "file_id") && str_of(v, "filename") && data && *data ? 4096 : 0;
    }
    if (strcmp(type, "video_url") == 0) {
        const char *url = str_of(part, "video_url");
        return url && *url ? 4096 * 2 : 0;
    }
    return 0;
}

long long gw_estimate_request_tokens(const char *model, const json_t *request)
{
    struct walk w;
    const json_t *msgs, *tools, *v;
    long long extra = 0;
    size_t i, j, nmsg = 0, nname = 0, ntool = 0;

    if (!json_is_object(request))
        return 0;
    memset(&w, 0, sizeof w);
    gw_estimator_init(&w.e, model);
    v = json_object_get(request, "prompt");
    if (v && !json_is_null(v)) {
        if (json_is_string(v) || json_is_array(v))
            add_strings(&w, v);
        else {
            if (w.ntexts++)
                feed(&w.e, "\n");
            print_go(&w.e, v, 0);
        }
    }
    add_strings(&w, json_object_get(request, "input"));
    msgs = json_object_get(request, "messages");
    for (i = 0; i < json_array_size(msgs); i++) {
        const json_t *m = json_array_get(msgs, i), *content = json_object_get(m, "content");
        const char *role = str_of(m, "role");
        nmsg++;
        add_text(&w, role ? role : "", role ? strlen(role) : 0);
        if (!content || json_is_null(content))
            continue;
        if (str_of(m, "name")) {
            nname++;
            add_json_str(&w, json_object_get(m, "name"));
        }
        if (json_is_string(content)) {
            add_json_str(&w, content);
            continue;
        }
        for (j = 0; j < json_array_size(content); j++)
            extra += add_part(&w, model, json_array_get(content, j));
    }
    tools = json_object_get(request, "tools");
    for (i = 0; i < json_array_size(tools); i++) {
        const json_t *fn = json_object_get(json_array_get(tools, i), "function");
        const char *name = str_of(fn, "name"), *desc = str_of(fn, "description");
        ntool++;
        add_text(&w, name ? name : "", name ? strlen(name) : 0);
        if (desc && *desc)
            add_text(&w, desc, strlen(desc));
        v = json_object_get(fn, "parameters");
        if (v && !json_is_null(v)) {
            if (w.ntexts++)
                feed(&w.e, "\n");
            print_go(&w.e, v, 0);
        }
    }
    long long n = gw_estimator_result(&w.e) + extra;
    /* The reference adds these in the OpenAI relay format (chat and
     * completions), not for embeddings. */
    if (msgs || json_object_get(request, "prompt"))
        n += (long long)(ntool * 8 + nmsg * 3 + nname * 3 + 3);
    return n;
}

/* Lower-cased copy of model, truncated to MODEL_MAX - 1 bytes. */
static void lower(char *out, const char *model)
{
    size_t i;

    for (i = 0; model && model[i] && i < MODEL_MAX - 1; i++)
        out[i] = (char)(model[i] >= 'A' && model[i] <= 'Z' ? model[i] + 32 : model[i]);
    out[i] = '\0';
}

static int prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* common.IsOpenAITextModel */
static int openai_text_model(const char *m)
{
    return strstr(m, "gpt-") || strstr(m, "o1") || strstr(m, "o3") || strstr(m, "o4") ||
           strstr(m, "chatgpt");
}

long long gw_estimate_image_tokens(const char *model, int width, int height, const char *detail)
{
    char m[MODEL_MAX];
    long long base = 85, tile = 170;
    double mult = 0;

    lower(m, model);
    if (!openai_text_model(m))
        return 520;
    /* getImageToken (glm-4 can't get here: not an OpenAI text model). */
    if (strstr(m, "gpt-4.1-mini") || prefix(m, "gpt-5-mini"))
        mult = 1.62;
    else if (strstr(m, "gpt-4.1-nano") || prefix(m, "gpt-5-nano"))
        mult = 2.46;
    else if (prefix(m, "o4-mini"))
        mult = 1.72;
    if (mult == 0) {
        if (prefix(m, "gpt-4o-mini")) {
            base = 2833;
            tile = 5667;
        } else if (prefix(m, "gpt-5-chat-latest") ||
                   (prefix(m, "gpt-5") && !strstr(m, "mini") && !strstr(m, "nano"))) {
            base = 70;
            tile = 140;
        } else if (prefix(m, "o1") || prefix(m, "o3")) {
            base = 75;
            tile = 150;
        } else if (strstr(m, "computer-use-preview")) {
            base = 65;
            tile = 129;
        }
        if (detail && strcmp(detail, "low") == 0)
            return base;
    }
    if (width <= 0 || height <= 0)
        return 3 * base; /* the reference's count when it does not fetch */
    if (mult != 0) {
        /* 32-px patches, capped at 1536, times the model's multiplier. */
        long long pw = (width + 31) / 32, ph = (height + 31) / 32, n = pw * ph;
        if (n > 1536) {
            double r = sqrt(32.0 * 32 * 1536 / ((double)width * height));
            double ws = width * r, hs = height * r;
            double adj = fmin(floor(ws / 32) / (ws / 32), floor(hs / 32) / (hs / 32));
            if (!isnan(adj) && adj > 0)
                r *= adj;
            n = (long long)(ceil(width * r / 32) * ceil(height * r / 32));
            if (n > 1536)
                n = 1536;
        }
        return (long long)round((double)n * mult);
    }
    /* Tiles: fit in 2048², shortest side to 768, 512-px tiles. */
    double maxside = width > height ? width : height, fit = maxside > 2048 ? maxside / 2048 : 1;
    long long fw = (long long)round(width / fit), fh = (long long)round(height / fit);
    double minside = (double)(fw < fh ? fw : fh);
    if (minside == 0)
        return base;
    long long finw = (long long)round((double)fw * (768 / minside));
    long long finh = (long long)round((double)fh * (768 / minside));
    return ((finw + 511) / 512) * ((finh + 511) / 512) * tile + base;
}
