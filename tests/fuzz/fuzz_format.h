/* Shared by the codec targets (fuzz_format_*.c): the driver code every one
 * of them runs the same way. Targets that do not touch the format layer
 * include only fuzz.h. */
#ifndef GW_TESTS_FUZZ_FORMAT_H
#define GW_TESTS_FUZZ_FORMAT_H

#include "tests/fuzz/fuzz.h"
#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/http/sse.h"

/* An upstream SSE body split into events as the relay does (lines up to
 * 64 KiB, events up to 1 MiB), each handed to cb. */
static inline void fuzz_sse_feed(const char *body, size_t len, gw_sse_event_cb cb, void *ctx)
{
    struct gw_sse_parser p;
    gw_sse_parser_init(&p, 64u << 10, 1u << 20, cb, ctx);
    if (gw_sse_parser_feed(&p, body, len) == GW_OK)
        gw_sse_parser_finish(&p);
    gw_sse_parser_free(&p);
}

/* What an encoder wrote is one JSON object. */
static inline void fuzz_check_json_object(const char *data, size_t len)
{
    json_t *j = gw_json_parse(data, len, 0, NULL, 0);
    FUZZ_CHECK(json_is_object(j));
    json_decref(j);
}

/* A decoder's hub event for an upstream event of data_len bytes: a known
 * kind, texts no longer than the event, a known finish reason, a tool
 * index not negative. */
static inline void fuzz_check_hub_event(const struct gw_ev *ev, size_t data_len)
{
    FUZZ_CHECK(ev->kind >= GW_EV_START && ev->kind <= GW_EV_END);
    FUZZ_CHECK(ev->text.len <= data_len && ev->id.len <= data_len && ev->name.len <= data_len);
    if (ev->kind == GW_EV_FINISH)
        FUZZ_CHECK(ev->finish && (!strcmp(ev->finish, "stop") || !strcmp(ev->finish, "length") ||
                                  !strcmp(ev->finish, "tool_calls") ||
                                  !strcmp(ev->finish, "content_filter")));
    if (ev->kind == GW_EV_TOOL_START || ev->kind == GW_EV_TOOL_ARGS)
        FUZZ_CHECK(ev->index >= 0);
}

#endif
