#include <string.h>
#include "gateway/core/err.h"
#include "gateway/http/sse.h"

int gw_sse_begin(gw_req *r)
{
    return gw_resp_stream_begin(r, 200, "text/event-stream; charset=utf-8");
}

int gw_sse_format(gw_buf *b, const char *event, const char *data, size_t len)
{
    int rc = GW_OK;
    if (event)
        rc = gw_buf_appendf(b, "event: %s\n", event);
    const char *p = data, *end = data + len;
    do { /* every line of data gets its own "data:" field */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (rc == GW_OK)
            rc = gw_buf_append(b, "data: ", 6);
        if (rc == GW_OK && n)
            rc = gw_buf_append(b, p, n);
        if (rc == GW_OK)
            rc = gw_buf_append(b, "\n", 1);
        p = nl ? nl + 1 : end;
    } while (p < end);
    return rc == GW_OK ? gw_buf_append(b, "\n", 1) : rc;
}

int gw_sse_event(gw_req *r, const char *event, const char *data, size_t len)
{
    gw_buf b;
    gw_buf_init(&b, len * 8 + 256);
    int rc = gw_sse_format(&b, event, data, len);
    if (rc == GW_OK)
        rc = gw_resp_stream_write(r, b.base, b.len);
    gw_buf_free(&b);
    return rc;
}

int gw_sse_comment(gw_req *r, const char *text)
{
    gw_buf b;
    gw_buf_init(&b, strlen(text) + 8);
    int rc = gw_buf_appendf(&b, ": %s\n\n", text);
    if (rc == GW_OK)
        rc = gw_resp_stream_write(r, b.base, b.len);
    gw_buf_free(&b);
    return rc;
}
