/* The incremental SSE parser (see sse.h); no HTTP server dependencies, so
 * the relay's adapters and their tests can use it alone. */
#include <string.h>
#include "gateway/core/err.h"
#include "gateway/http/sse.h"

/* ---- parser -------------------------------------------------------------- */

void gw_sse_parser_init(struct gw_sse_parser *p, size_t max_line, size_t max_event,
                        gw_sse_event_cb cb, void *data)
{
    memset(p, 0, sizeof *p);
    gw_buf_init(&p->line, max_line);
    gw_buf_init(&p->data, max_event);
    gw_buf_init(&p->event, 256);
    gw_buf_init(&p->id, 256);
    p->cb = cb;
    p->cb_data = data;
}

void gw_sse_parser_free(struct gw_sse_parser *p)
{
    gw_buf_free(&p->line);
    gw_buf_free(&p->data);
    gw_buf_free(&p->event);
    gw_buf_free(&p->id);
}

static int dispatch(struct gw_sse_parser *p)
{
    int rc = 0;
    if (p->has_data) {
        struct gw_sse_event ev = {
            {p->event.base ? p->event.base : "", p->event.len},
            {p->data.base ? p->data.base : "", p->data.len},
            {p->id.base ? p->id.base : "", p->id.len},
        };
        rc = p->cb(&ev, p->cb_data);
    }
    gw_buf_reset(&p->data);
    gw_buf_reset(&p->event);
    p->has_data = 0;
    return rc;
}

static int field(struct gw_sse_parser *p, const char *line, size_t n)
{
    if (n == 0)
        return dispatch(p);
    if (line[0] == ':')
        return GW_OK; /* comment */
    const char *colon = memchr(line, ':', n);
    size_t klen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vlen = (size_t)(line + n - v);
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (klen == 4 && memcmp(line, "data", 4) == 0) {
        if (p->has_data && gw_buf_append(&p->data, "\n", 1) != GW_OK)
            return GW_ETOOBIG;
        p->has_data = 1;
        return vlen ? gw_buf_append(&p->data, v, vlen) : GW_OK;
    }
    if (klen == 5 && memcmp(line, "event", 5) == 0) {
        gw_buf_reset(&p->event);
        return vlen ? gw_buf_append(&p->event, v, vlen) : GW_OK;
    }
    if (klen == 2 && memcmp(line, "id", 2) == 0 && !memchr(v, '\0', vlen)) {
        gw_buf_reset(&p->id);
        return vlen ? gw_buf_append(&p->id, v, vlen) : GW_OK;
    }
    return GW_OK; /* retry and unknown fields are ignored */
}

int gw_sse_parser_feed(struct gw_sse_parser *p, const char *buf, size_t len)
{
    const char *s = buf, *end = buf + len;
    while (s < end) {
        if (p->saw_cr && *s == '\n') { /* the LF of a CRLF pair */
            p->saw_cr = 0;
            s++;
            continue;
        }
        p->saw_cr = 0;
        const char *e = s;
        while (e < end && *e != '\n' && *e != '\r')
            e++;
        if (e > s && gw_buf_append(&p->line, s, (size_t)(e - s)) != GW_OK)
            return GW_ETOOBIG;
        if (e == end)
            break; /* incomplete line: wait for more bytes */
        p->saw_cr = *e == '\r';
        int rc = field(p, p->line.base ? p->line.base : "", p->line.len);
        gw_buf_reset(&p->line);
        if (rc)
            return rc;
        s = e + 1;
    }
    return GW_OK;
}

int gw_sse_parser_finish(struct gw_sse_parser *p)
{
    int rc = GW_OK;
    if (p->line.len) {
        rc = field(p, p->line.base, p->line.len);
        gw_buf_reset(&p->line);
    }
    return rc ? rc : dispatch(p);
}
