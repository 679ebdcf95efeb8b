/* Server-sent events: a writer that frames events onto a streamed response
 * (one HTTP chunk per event, flushed at once), and an incremental, bounded
 * parser for event streams coming from upstreams.
 *
 * Writer: gw_sse_begin() starts a 200 text/event-stream response;
 * gw_sse_event() sends one event (data split into "data:" lines on '\n');
 * gw_sse_comment() sends a ": text" keep-alive line. Backpressure is the
 * stream's: see gw_resp_queued() in server.h.
 *
 * Parser: feed bytes in any split; the callback gets each complete event
 * (event name, data joined with '\n', id). Lines longer than max_line fail
 * with GW_ETOOBIG; the parser keeps no more than one pending line plus one
 * event's data (bounded by max_event). Field rules follow the WHATWG
 * EventSource spec: "field: value" with one optional space, comments start
 * with ':', CR, LF and CRLF end lines, a blank line dispatches. */
#ifndef GW_HTTP_SSE_H
#define GW_HTTP_SSE_H

#include <stddef.h>
#include "gateway/core/buf.h"
#include "gateway/http/server.h"

int gw_sse_begin(gw_req *r);
/* Appends one framed event to b ("event: x\n" then "data: line\n" per line,
 * then a blank line). */
int gw_sse_format(gw_buf *b, const char *event, const char *data, size_t len);
int gw_sse_event(gw_req *r, const char *event /* NULL: none */, const char *data, size_t len);
int gw_sse_comment(gw_req *r, const char *text);

struct gw_sse_event {
    gw_str event; /* empty when the stream named none ("message") */
    gw_str data;
    gw_str id;
};

/* Return non-zero from the callback to stop parsing (returned by feed). */
typedef int (*gw_sse_event_cb)(const struct gw_sse_event *ev, void *data);

struct gw_sse_parser {
    gw_buf line, data, event, id;
    int saw_cr;
    int has_data;
    gw_sse_event_cb cb;
    void *cb_data;
};

void gw_sse_parser_init(struct gw_sse_parser *p, size_t max_line, size_t max_event,
                        gw_sse_event_cb cb, void *data);
/* GW_OK, GW_ETOOBIG, GW_ENOMEM, or the callback's non-zero value. */
int gw_sse_parser_feed(struct gw_sse_parser *p, const char *buf, size_t len);
/* End of stream: dispatches a final event not followed by a blank line. */
int gw_sse_parser_finish(struct gw_sse_parser *p);
void gw_sse_parser_free(struct gw_sse_parser *p);

#endif
