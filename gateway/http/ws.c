/* WebSocket connections: upgrade routing, message reassembly and a bounded
 * send queue (one frame per SERVER_WRITEABLE). */
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <libwebsockets.h>
#include "gateway/core/alloc.h"
#include "gateway/core/buf.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/http.h"
#include "gateway/http/ws.h"

#define WS_MAX_MESSAGE (16u * 1024 * 1024)
#define WS_MAX_QUEUED 256
/* lws 4.1.6 keeps LWS_WRITE_CLOSE (4) out of its public enum but its ws role
 * still frames it (roles/ws/ops-ws.c). */
#define WS_WRITE_CLOSE ((enum lws_write_protocol)4)

struct msg {
    struct msg *next;
    size_t len;
    int binary;
    unsigned char data[]; /* LWS_PRE headroom, then the payload */
};

struct gw_ws {
    struct lws *wsi;
    const struct gw_ws_route *route;
    void *user;
    gw_buf rx;
    struct msg *head, *tail;
    int queued, closing, close_status;
    char close_reason[124];
};

static const struct gw_ws_route *find_route(struct lws *wsi)
{
    char uri[512];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return NULL;
    const struct gw_http_app *app = gw_http_app();
    const struct gw_ws_route *routes = app->ws_routes;
    for (size_t i = 0; i < app->nws_routes; i++)
        if (strcmp(routes[i].path, uri) == 0)
            return &routes[i];
    return NULL;
}

int gw_ws_send(gw_ws *c, const void *data, size_t len, int binary)
{
    if (!c->wsi || c->closing)
        return GW_ECLOSED;
    if (c->queued >= WS_MAX_QUEUED)
        return GW_ETOOBIG;
    struct msg *m = gw_malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return GW_ENOMEM;
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    memcpy(m->data + LWS_PRE, data, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued++;
    lws_callback_on_writable(c->wsi);
    return GW_OK;
}

void gw_ws_close(gw_ws *c, int status, const char *reason)
{
    if (!c->wsi || c->closing)
        return;
    c->closing = 1;
    c->close_status = status;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    lws_callback_on_writable(c->wsi);
}

void *gw_ws_user(gw_ws *c) { return c->user; }
struct gw_worker *gw_ws_worker(gw_ws *c) { return lws_context_user(lws_get_context(c->wsi)); }
void gw_ws_set_user(gw_ws *c, void *user) { c->user = user; }

static void ws_free(gw_ws *c)
{
    while (c->head) {
        struct msg *m = c->head;
        c->head = m->next;
        gw_free(m);
    }
    gw_buf_free(&c->rx);
    gw_free(c);
}

static int on_writeable(gw_ws *c)
{
    struct msg *m = c->head;
    if (m) {
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        int n = lws_write(c->wsi, m->data + LWS_PRE, m->len,
                          m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        gw_free(m);
        if (n < 0)
            return -1;
        if (c->head || c->closing)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->closing) {
        /* lws 4.1.6 drops the reason set with lws_close_reason() when the
         * callback returns -1 from SERVER_WRITEABLE, so write the close
         * frame (status + reason) ourselves, then hang up. */
        unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
        size_t rl = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_status >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(c->close_status & 0xff);
        memcpy(buf + LWS_PRE + 2, c->close_reason, rl);
        lws_write(c->wsi, buf + LWS_PRE, 2 + rl, WS_WRITE_CLOSE);
        return -1;
    }
    return 0;
}

static int on_receive(gw_ws *c, void *in, size_t len)
{
    if (gw_buf_append(&c->rx, in, len) != GW_OK) {
        gw_ws_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
        return 0;
    }
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return 0;
    int binary = lws_frame_is_binary(c->wsi);
    int rc = c->route->on_message ? c->route->on_message(c, c->rx.base ? c->rx.base : "",
                                                         c->rx.len, binary)
                                  : 0;
    gw_buf_reset(&c->rx);
    return rc ? -1 : 0;
}

int gw_ws_callback(struct lws *wsi, int reason, void **slot, void *in, size_t len)
{
    gw_ws *c = slot ? *slot : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (find_route(wsi))
            return 0;
        /* >0: we answered ourselves; lws completes the transaction */
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket endpoint here"))
            return -1;
        return 1;
    case LWS_CALLBACK_ESTABLISHED:
        if (!slot)
            return -1;
        c = gw_calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->wsi = wsi;
        c->route = find_route(wsi);
        gw_buf_init(&c->rx, WS_MAX_MESSAGE);
        *slot = c;
        if (!c->route || (c->route->on_open && c->route->on_open(c)))
            return -1;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return c ? on_receive(c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? on_writeable(c) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c) {
            if (c->route && c->route->on_close)
                c->route->on_close(c);
            c->wsi = NULL;
            ws_free(c);
            *slot = NULL;
        }
        return 0;
    default:
        return 0;
    }
}
