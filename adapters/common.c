/* What every OpenAI-format adapter shares: the upstream request struct, the
 * channel base URL, the body transforms new-api applies around its
 * ConvertOpenAIRequest (relay/compatible_handler.go TextHelper), and the
 * header tail with header_override (relay/channel/api_request.go). */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "adapters/adapter_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

int gw__err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int gw__build_need(const char *base_url, const struct gw_relay_call *call, char *err,
                   size_t errlen)
{
    if (base_url == NULL || *base_url == '\0')
        return gw__err(err, errlen, GW_EINVAL, "channel has no base URL");
    if (call->api_key == NULL)
        return gw__err(err, errlen, GW_EINVAL, "no API key for this attempt");
    return GW_OK;
}

/* ---- the upstream request ---- */

void gw_upstream_req_init(struct gw_upstream_req *q)
{
    gw_buf_init(&q->url, GW_UPSTREAM_URL_MAX);
    q->headers = NULL;
    gw_buf_init(&q->body, GW_UPSTREAM_BODY_MAX);
    gw_buf_init(&q->proxy, GW_UPSTREAM_PROXY_MAX);
}

void gw_upstream_req_free(struct gw_upstream_req *q)
{
    if (q == NULL)
        return;
    gw_buf_free(&q->url);
    gw_buf_free(&q->body);
    gw_buf_free(&q->proxy);
    curl_slist_free_all(q->headers);
    q->headers = NULL;
}

static int header_ok(const char *s, int is_name)
{
    if (s == NULL || (is_name && *s == '\0'))
        return 0;
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (is_name && (*s == ':' || *s == ' ' || *s == '\t')))
            return 0;
    }
    return 1;
}

int gw_upstream_req_header(struct gw_upstream_req *q, const char *name, const char *value)
{
    char line[8192];
    struct curl_slist *n;
    int w;

    if (!header_ok(name, 1) || !header_ok(value, 0))
        return GW_EINVAL;
    /* curl drops "Name:" (that is how "Expect:" disables Expect) and sends
     * "Name;" as an empty header. */
    if (*value == '\0')
        w = snprintf(line, sizeof line, strcasecmp(name, "Expect") == 0 ? "%s:" : "%s;", name);
    else
        w = snprintf(line, sizeof line, "%s: %s", name, value);
    if (w < 0 || (size_t)w >= sizeof line)
        return GW_ETOOBIG;
    n = curl_slist_append(q->headers, line);
    if (n == NULL)
        return GW_ENOMEM;
    q->headers = n;
    return GW_OK;
}

/* Name of a slist line ("Name: v", "Name:" or "Name;") equals name. */
static int line_is(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

int gw_upstream_req_set_header(struct gw_upstream_req *q, const char *name, const char *value)
{
    struct curl_slist *l, *keep = NULL, *t;
    int found = 0;

    if (!header_ok(name, 1) || !header_ok(value, 0))
        return GW_EINVAL;
    for (l = q->headers; l; l = l->next)
        found |= line_is(l->data, name);
    if (found) {
        /* curl has no unlink: rebuild without the old ones (lists are short). */
        for (l = q->headers; l; l = l->next) {
            if (line_is(l->data, name))
                continue;
            t = curl_slist_append(keep, l->data);
            if (t == NULL) {
                curl_slist_free_all(keep);
                return GW_ENOMEM;
            }
            keep = t;
        }
        curl_slist_free_all(q->headers);
        q->headers = keep;
    }
    return gw_upstream_req_header(q, name, value);
}

const char *gw_upstream_req_get_header(const struct gw_upstream_req *q, const char *name)
{
    for (const struct curl_slist *l = q->headers; l; l = l->next) {
        if (line_is(l->data, name)) {
            const char *v = l->data + strlen(name) + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

const char *gw_channel_base_url(const struct gw_channel *ch, const struct gw_channel_type *ct,
                                char *buf, size_t cap)
{
    const char *src = ch && ch->base_url && *ch->base_url ? ch->base_url
                      : ct                                 ? ct->default_base_url
                                                           : NULL;
    size_t n;

    if (src == NULL || cap == 0)
        return NULL;
    n = strlen(src);
    while (n > 0 && src[n - 1] == '/')
        n--;
    if (n >= cap)
        return NULL;
    memcpy(buf, src, n);
    buf[n] = '\0';
    return buf;
}

int gw__url_escape(gw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = GW_OK;

    for (; *s && rc == GW_OK; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = gw_buf_append(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = gw_buf_append(b, e, 3);
        }
    }
    return rc;
}

/* ---- client headers ---- */

struct find {
    const char *name;
    char *buf;
    size_t cap;
    int found;
};

static int on_find(const char *name, const char *value, void *data)
{
    struct find *f = data;
    if (strcasecmp(name, f->name) != 0)
        return 0;
    if (strlen(value) >= f->cap) { /* never hand on a cut value */
        f->found = -1;
        return 1;
    }
    memcpy(f->buf, value, strlen(value) + 1);
    f->found = 1;
    return 1;
}

int gw__client_header(const struct gw_relay_call *call, const char *name, char *buf, size_t cap)
{
    struct find f = {name, buf, cap, 0};

    if (cap > 0)
        buf[0] = '\0';
    if (call->client_headers == NULL || cap == 0)
        return 0;
    call->client_headers(call->client_headers_ctx, on_find, &f);
    return f.found;
}

/* ---- body ---- */

/* GetSystemRoleName: o1/o3/o4 (except o1-mini, o1-preview) and gpt-5 use
 * "developer". */
static const char *system_role(const char *model)
{
    if (model == NULL)
        return "system";
    if (!strncmp(model, "o1", 2) || !strncmp(model, "o3", 2) || !strncmp(model, "o4", 2))
        return strncmp(model, "o1-mini", 7) && strncmp(model, "o1-preview", 10) ? "developer"
                                                                                : "system";
    return strncmp(model, "gpt-5", 5) == 0 ? "developer" : "system";
}

/* setting.system_prompt: prepended as a system message when the request has
 * none; with system_prompt_override, put in front of the first one. */
static int system_prompt(json_t *body, const json_t *setting, const char *model)
{
    const char *prompt = json_string_value(json_object_get(setting, "system_prompt"));
    json_t *msgs = json_object_get(body, "messages"), *m, *c;
    const char *role = system_role(model);
    size_t i;

    if (prompt == NULL || *prompt == '\0' || !json_is_array(msgs))
        return GW_OK;
    json_array_foreach(msgs, i, m) {
        const char *r = json_string_value(json_object_get(m, "role"));
        if (r == NULL || strcmp(r, role) != 0)
            continue;
        if (!json_is_true(json_object_get(setting, "system_prompt_override")))
            return GW_OK;
        c = json_object_get(m, "content");
        if (json_is_string(c)) {
            gw_buf b;
            int rc;
            gw_buf_init(&b, GW_UPSTREAM_BODY_MAX);
            rc = gw_buf_appendf(&b, "%s\n", prompt);
            if (rc == GW_OK)
                rc = gw_buf_append(&b, json_string_value(c), json_string_length(c));
            if (rc == GW_OK)
                rc = json_object_set_new(m, "content", json_stringn(b.base, b.len)) ? GW_ENOMEM
                                                                                   : GW_OK;
            gw_buf_free(&b);
            return rc;
        }
        json_t *part = json_pack("{s:s,s:s}", "type", "text", "text", prompt);
        if (part == NULL)
            return GW_ENOMEM;
        if (json_is_array(c))
            return json_array_insert_new(c, 0, part) ? GW_ENOMEM : GW_OK;
        return json_object_set_new(m, "content", json_pack("[o]", part)) ? GW_ENOMEM : GW_OK;
    }
    json_t *sys = json_pack("{s:s,s:s}", "role", role, "content", prompt);
    if (sys == NULL)
        return GW_ENOMEM;
    return json_array_insert_new(msgs, 0, sys) ? GW_ENOMEM : GW_OK;
}

/* RemoveDisabledFields (channel `settings`). */
static void remove_disabled(json_t *body, const json_t *settings)
{
    if (!json_is_true(json_object_get(settings, "allow_service_tier")))
        json_object_del(body, "service_tier");
    if (json_is_true(json_object_get(settings, "disable_store")))
        json_object_del(body, "store");
    if (!json_is_true(json_object_get(settings, "allow_safety_identifier")))
        json_object_del(body, "safety_identifier");
}

int gw__oai_body(const struct gw_channel *ch, const struct gw_channel_type *ct,
                 const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                 size_t errlen)
{
    json_t *body = call->body;
    const char *model = call->upstream_model && *call->upstream_model ? call->upstream_model
                                                                      : call->model;
    unsigned flags = ct ? ct->flags : 0;
    int rc;

    if (!json_is_object(body))
        return gw__err(err, errlen, GW_EINVAL, "request body is not a JSON object");
    if (model && *model && json_object_set_new(body, "model", json_string(model)) != 0)
        return gw__err(err, errlen, GW_EINVAL, "model name is not valid UTF-8");

    /* stream_options only where the type accepts it, and only on chat
     * streams (the Responses API reports usage in response.completed). */
    int responses = call->wire == GW_WIRE_RESPONSES;
    if (!(flags & GW_CT_STREAM_OPTIONS) || !call->stream || responses)
        json_object_del(body, "stream_options");
    else if (call->inject_usage &&
             json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1)))
        return GW_ENOMEM;

    /* OpenRouter reports usage only when asked (usage: {include: true}). */
    if ((flags & GW_CT_OPENROUTER) && call->mode == GW_RELAY_CHAT && !responses &&
        json_object_get(body, "usage") == NULL &&
        json_object_set_new(body, "usage", json_pack("{s:b}", "include", 1)))
        return GW_ENOMEM;

    if (call->mode == GW_RELAY_CHAT && !responses && json_is_object(ch->setting)) {
        rc = system_prompt(body, ch->setting, model);
        if (rc != GW_OK)
            return gw__err(err, errlen, rc, "system prompt: %s", gw_strerror(rc));
    }
    return gw__body_finish(ch, call, model, out, err, errlen);
}

int gw__body_finish(const struct gw_channel *ch, const struct gw_relay_call *call,
                    const char *model, struct gw_upstream_req *out, char *err, size_t errlen)
{
    json_t *body = call->body;
    int rc;

    remove_disabled(body, ch->settings);

    struct gw_override_ctx octx = {model, call->model, call->path, call->is_channel_test};
    rc = gw__param_override(body, ch->param_override, &octx, err, errlen);
    if (rc != GW_OK)
        return rc;

    gw_buf_reset(&out->body);
    rc = gw_json_dump_buf(body, &out->body, 0);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "request body: %s", gw_strerror(rc));
    return GW_OK;
}

/* ---- headers ---- */

/* Never passed through from the client by "*" or "re:": the reference's
 * passthroughSkipHeaderNamesLower (hop-by-hop, cookie, host, framing, the
 * credentials), plus what would break the request we send: Expect (curl
 * would wait for a 100), Content-Encoding (the body we send is our own
 * uncompressed JSON) and Proxy-Connection. Headers the client's Connection
 * header names are hop-by-hop too (RFC 9110 §7.6.1). */
static int skip_passthrough(const char *name, const char *connection)
{
    static const char *const skip[] = {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "cookie", "host", "content-length",
        "accept-encoding", "authorization", "x-api-key", "x-goog-api-key",
        "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
        "expect", "content-encoding", "proxy-connection",
    };
    if (*name == '\0' || *name == ':')   /* HTTP/2 pseudo headers */
        return 1;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
        if (strcasecmp(name, skip[i]) == 0)
            return 1;
    }
    gw_str rest = gw_str_c(connection), tok;
    while (gw_str_split(&rest, ',', &tok))
        if (gw_str_ieq(gw_str_trim(tok), gw_str_c(name)))
            return 1;
    return 0;
}

/* A value that may be forwarded: no control character but HTAB (CR and LF
 * would split the upstream request; the relay refuses them earlier). */
static int forwardable(gw_str v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.base[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return 0;
    }
    return 1;
}

#define MAX_PASS_REGEX 8

struct pass {
    struct gw_upstream_req *out;
    int all, nre, rc;
    regex_t re[MAX_PASS_REGEX];
    char connection[2048]; /* the client's Connection header */
};

static int on_pass(const char *name, const char *value, void *data)
{
    struct pass *p = data;
    int hit = p->all;
    gw_str v = gw_str_trim(gw_str_c(value));
    char tmp[8192];

    if (skip_passthrough(name, p->connection) || v.len == 0 || v.len >= sizeof tmp ||
        !forwardable(v))
        return 0;
    for (int i = 0; i < p->nre && !hit; i++)
        hit = regexec(&p->re[i], name, 0, NULL, 0) == 0;
    if (!hit)
        return 0;
    memcpy(tmp, v.base, v.len);
    tmp[v.len] = '\0';
    p->rc = gw_upstream_req_set_header(p->out, name, tmp);
    return p->rc != GW_OK;
}

static int pass_rule(const char *key, const char **pattern)
{
    if (strcmp(key, "*") == 0) {
        *pattern = NULL;
        return 1;
    }
    if (strncasecmp(key, "re:", 3) == 0 || strncasecmp(key, "regex:", 6) == 0) {
        *pattern = strchr(key, ':') + 1;
        return 1;
    }
    return 0;
}

/* "*" and "re:" / "regex:" keys copy client headers first (POSIX extended
 * regexes, case-insensitive; Go's RE2 syntax differs only in rare
 * constructs); channel tests pass nothing. */
static int passthrough(const json_t *ho, const struct gw_relay_call *call,
                       struct gw_upstream_req *out, char *err, size_t errlen)
{
    struct pass p = {.out = out};
    const char *k, *pat;
    json_t *v;
    int rc = GW_OK;

    json_object_foreach((json_t *)ho, k, v) {
        if (!pass_rule(k, &pat))
            continue;
        if (pat == NULL) {
            p.all = 1;
            continue;
        }
        gw_str t = gw_str_trim(gw_str_c(pat));
        char buf[512];
        if (t.len == 0 || t.len >= sizeof buf) {
            rc = gw__err(err, errlen, GW_EINVAL, "header passthrough regex pattern is empty: %s", k);
            break;
        }
        memcpy(buf, t.base, t.len);
        buf[t.len] = '\0';
        if (p.nre == MAX_PASS_REGEX ||
            regcomp(&p.re[p.nre], buf, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0) {
            rc = gw__err(err, errlen, GW_EINVAL, "bad header passthrough regex: %s", k);
            break;
        }
        p.nre++;
    }
    if (rc == GW_OK && (p.all || p.nre > 0) && !call->is_channel_test && call->client_headers) {
        /* an oversized Connection header: its hop-by-hop list is unknown, so
         * nothing is passed through */
        if (gw__client_header(call, "Connection", p.connection, sizeof p.connection) >= 0)
            call->client_headers(call->client_headers_ctx, on_pass, &p);
        rc = p.rc != GW_OK ? gw__err(err, errlen, p.rc, "header passthrough failed") : GW_OK;
    }
    for (int i = 0; i < p.nre; i++)
        regfree(&p.re[i]);
    return rc;
}

/* applyHeaderOverridePlaceholders: "{client_header:Name}" must be the whole
 * value (the client's value, verbatim); otherwise "{api_key}" is replaced.
 * *include = 0 drops the header (empty result or absent client header). */
static int placeholder(const char *tpl, const struct gw_relay_call *call, gw_buf *out,
                       int *include, char *err, size_t errlen)
{
    static const char pfx[] = "{client_header:";
    gw_str t = gw_str_trim(gw_str_c(tpl));
    int rc = GW_OK;

    *include = 0;
    if (gw_str_has_prefix(t, GW_STRLIT(pfx))) {
        const char *name = t.base + sizeof pfx - 1;
        const char *end = memchr(name, '}', t.len - (sizeof pfx - 1));
        char nm[256], val[8192];
        if (end == NULL || end != t.base + t.len - 1)
            return gw__err(err, errlen, GW_EINVAL,
                           "client_header placeholder must be the full value: %s", tpl);
        gw_str n = gw_str_trim((gw_str){name, (size_t)(end - name)});
        if (n.len == 0 || n.len >= sizeof nm)
            return gw__err(err, errlen, GW_EINVAL, "client_header placeholder name is empty");
        memcpy(nm, n.base, n.len);
        nm[n.len] = '\0';
        if (gw__client_header(call, nm, val, sizeof val) != 1 || gw_str_trim(gw_str_c(val)).len == 0 ||
            !forwardable(gw_str_c(val)))
            return GW_OK;
        *include = 1;
        return gw_buf_appends(out, val);
    }
    for (const char *p = tpl; *p && rc == GW_OK;) {
        const char *hit = strstr(p, "{api_key}");
        if (hit == NULL) {
            rc = gw_buf_appends(out, p);
            break;
        }
        rc = gw_buf_append(out, p, (size_t)(hit - p));
        if (rc == GW_OK)
            rc = gw_buf_appends(out, call->api_key ? call->api_key : "");
        p = hit + 9;
    }
    *include = rc == GW_OK && gw_str_trim((gw_str){out->base ? out->base : "", out->len}).len > 0;
    return rc;
}

static int header_override(const json_t *ho, const struct gw_relay_call *call,
                           struct gw_upstream_req *out, char *err, size_t errlen)
{
    const char *k, *pat;
    json_t *v;
    int rc;

    if (!json_is_object(ho) || json_object_size(ho) == 0)
        return GW_OK;
    rc = passthrough(ho, call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    json_object_foreach((json_t *)ho, k, v) {
        gw_str key = gw_str_trim(gw_str_c(k));
        char name[256];
        gw_buf val;
        int include;
        if (key.len == 0 || pass_rule(k, &pat))
            continue;
        if (!json_is_string(v))
            return gw__err(err, errlen, GW_EINVAL, "header_override value of %s is not a string",
                           k);
        if (call->is_channel_test &&
            gw_str_has_prefix(gw_str_trim(gw_str_c(json_string_value(v))),
                              GW_STRLIT("{client_header:")))
            continue;
        if (key.len >= sizeof name)
            return gw__err(err, errlen, GW_EINVAL, "header_override name too long");
        memcpy(name, key.base, key.len);
        name[key.len] = '\0';
        gw_buf_init(&val, 8000);
        rc = placeholder(json_string_value(v), call, &val, &include, err, errlen);
        if (rc == GW_OK && include)
            rc = gw_upstream_req_set_header(out, name, val.base);
        gw_buf_free(&val);
        if (rc == GW_EINVAL && !(err && errlen && *err))
            gw__err(err, errlen, rc, "header_override %s: bad name or value", name);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

int gw__oai_headers(const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                    size_t errlen)
{
    char ua[512];
    int rc;

    if (err && errlen)
        err[0] = '\0';
    rc = gw_upstream_req_set_header(out, "Content-Type", "application/json");
    if (rc == GW_OK && call->stream)
        rc = gw_upstream_req_set_header(out, "Accept", "text/event-stream");
    /* The reference passes the client's User-Agent on. */
    if (rc == GW_OK && gw__client_header(call, "User-Agent", ua, sizeof ua) == 1 && *ua &&
        forwardable(gw_str_c(ua)))
        rc = gw_upstream_req_set_header(out, "User-Agent", ua);
    if (rc == GW_OK)   /* c-core-notes P10: no "Expect: 100-continue" round trip */
        rc = gw_upstream_req_set_header(out, "Expect", "");
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "headers: %s", gw_strerror(rc));
    return GW_OK;
}

int gw__oai_finish(const struct gw_channel *ch, const struct gw_relay_call *call,
                   struct gw_upstream_req *out, char *err, size_t errlen)
{
    const char *proxy;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    rc = header_override(ch->header_override, call, out, err, errlen);
    if (rc != GW_OK)
        return rc;

    gw_buf_reset(&out->proxy);
    proxy = json_string_value(json_object_get(ch->setting, "proxy"));
    if (proxy) {
        gw_str p = gw_str_trim(gw_str_c(proxy));
        if (p.len > 0 && (rc = gw_buf_append(&out->proxy, p.base, p.len)) != GW_OK)
            return gw__err(err, errlen, rc, "proxy URL too long");
    }
    return GW_OK;
}
