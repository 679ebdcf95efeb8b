/* The format layer: the four client-facing wire formats (OpenAI chat
 * completions, Anthropic Messages, Gemini generateContent, OpenAI
 * Responses), each one file under adapters/formats/ exporting one const
 * struct gw_format. The same struct serves both sides:
 *  - inbound (the client's format): read the request's facts, render the
 *    response, the stream and every error in the client's shape;
 *  - upstream (the wire an adapter speaks): parse the provider's response,
 *    stream events and error bodies.
 *
 * Conversion between two different formats goes through ONE intermediate
 * form, the hub (see docs/ARCHITECTURE.md, "Format layer"):
 *  - requests and non-streamed responses: an OpenAI chat completions body
 *    (request) or chat.completion object (response) as a jansson tree, with
 *    the documented "gw_" extension fields below for what chat cannot hold;
 *  - streams: typed events (struct gw_ev), decoded from the upstream's SSE
 *    events by the upstream wire's decoder and encoded into the client's
 *    events by the client format's encoder, each with per-stream state.
 * So 4 codecs make the 12 directions; a new wire format is one more codec.
 *
 * When the client's format is the upstream's wire (the same-format fast
 * path) nothing is converted: the client's body goes up with only model
 * mapping and overrides applied, and response bytes and stream events are
 * forwarded untouched; the decoder still runs on each event, into the
 * meter only (usage, delivered text), never into an encoder.
 *
 * Every function here is pure: no I/O, no logging, no global state. They
 * may allocate (jansson, gw_alloc); a failure is a return code. */
#ifndef GW_ADAPTERS_FORMAT_H
#define GW_ADAPTERS_FORMAT_H

#include <stddef.h>
#include <jansson.h>
#include "gateway/core/str.h"
#include "gateway/http/sse.h"
#include "gateway/relay/billing.h"

enum gw_wire {
    GW_WIRE_CHAT = 1,  /* POST /v1/chat/completions (also the hub's shape) */
    GW_WIRE_MESSAGES,  /* POST /v1/messages (Anthropic) */
    GW_WIRE_GEMINI,    /* POST /v1beta/models/{model}:generateContent / :streamGenerateContent */
    GW_WIRE_RESPONSES, /* POST /v1/responses (OpenAI) */
};

/* ---- the hub (request and response), an OpenAI chat tree plus: ----------------
 * request, top level:
 *   "gw_thinking_budget": int   thinking budget in tokens when the source
 *                               had one (Claude thinking.budget_tokens,
 *                               Gemini thinkingConfig.thinkingBudget); beside
 *                               the derived "reasoning_effort"
 *   "gw_top_k": int             Claude top_k / Gemini topK
 *   "gw_metadata_user": string  Claude metadata.user_id (chat "user")
 * request and response, message level:
 *   "reasoning_content": string the thinking text (new-api's extension)
 *   "gw_thinking": [ {"thinking": s, "signature": s} | {"redacted": s} ]
 *                               the thinking blocks as Claude signed them, in
 *                               order, so a signature survives a round trip
 * request, content parts: "cache_control" kept on text/image parts and on
 *   tools; chat's req_from_hub drops it (OpenAI does not know it)
 * request, parts: {"type":"file","file":{"file_data":"data:…;base64,…" or
 *   "file_url"}} for documents (Claude document, Gemini inline/file data)
 * response, usage (chat names; every count is a token count):
 *   prompt_tokens (all input, cached and cache writes included),
 *   completion_tokens (reasoning included), total_tokens,
 *   prompt_tokens_details.{cached_tokens, cached_creation_tokens,
 *     audio_tokens, image_tokens, text_tokens},
 *   completion_tokens_details.{reasoning_tokens, audio_tokens, text_tokens},
 *   "gw_cache_write_1h": the part of cached_creation_tokens written with
 *     the 1-hour TTL (Claude cache_creation.ephemeral_1h_input_tokens)
 * response, choice: "finish_reason" in chat's words: stop, length,
 *   tool_calls, content_filter. */

/* What the relay needs to know about the client's request before routing. */
struct gw_req_facts {
    char model[192];      /* non-empty; bytes with the NUL = GW_RELAY_MODEL_MAX */
    int stream;           /* the client wants a stream */
    int client_usage;     /* chat: stream_options.include_usage */
    long long max_tokens; /* 0 when unset; 0..1e8 */
};

/* The relay-side path facts of an inbound call (Gemini carries model and
 * stream in the path: /v1beta/models/{model}:streamGenerateContent). */
struct gw_path_facts {
    const char *model;    /* NULL when the body names it */
    int stream;           /* the path says stream */
    int gemini_sse;       /* ?alt=sse: SSE framing, else a JSON array */
};

/* ---- streams: the typed intermediate events --------------------------------- */

enum gw_ev_kind {
    GW_EV_START = 1,  /* the message begins: id, model (either may be empty) */
    GW_EV_TEXT,       /* a piece of answer text: text */
    GW_EV_REASONING,  /* a piece of thinking text: text */
    GW_EV_SIGNATURE,  /* the signature of the current thinking block: text */
    GW_EV_TOOL_START, /* a tool call begins: index (0-based among tool calls), id, name */
    GW_EV_TOOL_ARGS,  /* a piece of a tool call's JSON arguments: index, text */
    GW_EV_FINISH,     /* the stop reason in chat words: finish */
    GW_EV_USAGE,      /* usage so far, merged over the whole stream: usage */
    GW_EV_ERROR,      /* the upstream reported an error mid-stream: text (message), name (type) */
    GW_EV_END,        /* the upstream's stream ended normally ([DONE], message_stop, ...) */
};

struct gw_ev {
    enum gw_ev_kind kind;
    int index;
    gw_str text, id, name;
    const char *finish;            /* "stop", "length", "tool_calls", "content_filter" */
    const struct gw_usage *usage;  /* GW_EV_USAGE: complete, not a delta */
};

/* What the fast path does with the raw upstream event that was decoded. */
enum gw_dec_action {
    GW_DEC_PASS = 0, /* forward it untouched */
    GW_DEC_DROP,     /* swallow it (chat: the usage-only chunk the client did not ask for) */
    GW_DEC_DONE,     /* the terminal event: forward it, then end */
};

/* Receives the decoded events; a non-zero return stops the decoder, which
 * returns that value. */
typedef int (*gw_ev_cb)(const struct gw_ev *ev, void *ctx);
/* Receives one rendered client event: SSE event name (NULL for none) and
 * data; the relay frames it (SSE, or Gemini's JSON array). Non-zero stops. */
typedef int (*gw_out_cb)(const char *event, const char *data, size_t len, void *ctx);

/* Per-stream state: fixed-size, zeroed by the relay, never grows except
 * where a format must (Responses' final response.completed repeats the
 * whole output, so its encoder keeps the text). */
#define GW_STREAM_STATE_MAX 512
struct gw_stream_state {
    _Alignas(max_align_t) unsigned char bytes[GW_STREAM_STATE_MAX];
};

/* The options a conversion may need. */
struct gw_conv_opts {
    const char *upstream_model; /* after model mapping: goes into the body/URL */
    int stream;
    int include_usage;          /* chat target: ask for stream_options.include_usage */
};

struct gw_format {
    enum gw_wire wire;
    const char *name; /* "chat", "messages", "gemini", "responses" */

    /* -- inbound: the client's request -- */
    /* Facts of a parsed client body (an object); path facts win where set.
     * GW_EINVAL with a client-facing message (a 400) when a needed field is
     * missing or of the wrong type. */
    int (*facts)(const json_t *body, const struct gw_path_facts *pf, struct gw_req_facts *out,
                 char *msg, size_t msglen);

    /* -- conversion through the hub (NULL for chat where it is the identity) -- */
    /* Client body → hub request (new tree). GW_EINVAL + message (a 400)
     * when the request cannot be expressed (e.g. n > 1 where the target has
     * no such thing is refused by req_from_hub, not here). */
    int (*req_to_hub)(const json_t *body, const struct gw_path_facts *pf, json_t **hub, char *msg,
                      size_t msglen);
    /* Hub request → this wire's request body (new tree), model set to
     * o->upstream_model (Gemini: none, the model goes in the URL).
     * GW_EINVAL + message when a field would change the answer if dropped. */
    int (*req_from_hub)(const json_t *hub, const struct gw_conv_opts *o, json_t **out, char *msg,
                        size_t msglen);
    /* This wire's non-streamed response → hub response (new tree).
     * GW_EINVAL when it is not such a response. */
    int (*resp_to_hub)(const json_t *resp, json_t **hub);
    /* Hub response → this format's response for the client (new tree);
     * model is the client's model name. */
    int (*resp_from_hub)(const json_t *hub, const char *model, json_t **out);

    /* -- upstream side: reading what the provider sent -- */
    /* Usage of a non-streamed response body of this wire (u zeroed first;
     * u->present = 0 when absent or all zero; counts clamped to
     * [0, GW_USAGE_TOKENS_MAX]). GW_EINVAL when the body is not a JSON
     * object of this wire. */
    int (*usage)(const char *body, size_t len, struct gw_usage *u);
    /* Error body → message and code, both always NUL-terminated (maybe
     * empty, cut on a UTF-8 boundary, one line). 0 when recognised,
     * GW_EINVAL otherwise (msg then holds the start of the raw body). */
    int (*parse_error)(const char *body, size_t len, char *msg, size_t msgcap, char *code,
                       size_t codecap);
    /* One upstream SSE event → zero or more gw_ev, with state st (zeroed
     * before the first event). client_usage is the chat client's
     * include_usage (for GW_DEC_DROP). Events that do not parse are passed
     * (GW_DEC_PASS) without output. Usage is emitted as GW_EV_USAGE merged
     * over the stream (Anthropic splits it over message_start and
     * message_delta: the decoder keeps both). Returns a gw_dec_action (>= 0),
     * or emit's non-zero return (a negative GW_E* code) when it stopped. */
    int (*decode)(struct gw_stream_state *st, const struct gw_sse_event *ev, int client_usage,
                  gw_ev_cb emit, void *ctx);

    /* -- inbound: rendering for the client -- */
    /* One hub stream event → zero or more client events through out, with
     * state st (zeroed before the first event). model is the client's model
     * name. At GW_EV_END the encoder emits its closing events (chat
     * "[DONE]", Anthropic message_stop, Responses response.completed); the
     * relay sends GW_EV_END itself when the upstream ended without one, and
     * a second END emits nothing. An encoder must cope with any order (a
     * TEXT before START: it starts the message itself; USAGE after FINISH;
     * no FINISH at all). Returns 0 or out's non-zero return. */
    int (*encode)(struct gw_stream_state *st, const struct gw_ev *ev, const char *model,
                  gw_out_cb out, void *ctx);
    /* Releases what encode kept (NULL when it keeps nothing). */
    void (*stream_free)(struct gw_stream_state *st);
    /* The error body for the client: a new tree. type is the OpenAI-style
     * error type ("invalid_request_error", "rate_limit_error", ...), code a
     * short code, msg the text (request id already appended). */
    json_t *(*error_body)(int status, const char *type, const char *code, const char *msg);
    /* An error after the stream began (budget cut, upstream failure): the
     * closing events in this format (chat: an error chunk then [DONE];
     * Anthropic: event "error"; Gemini: a final chunk with "error";
     * Responses: "error" then "response.failed"). */
    int (*stream_error)(struct gw_stream_state *st, const char *type, const char *code,
                        const char *msg, gw_out_cb out, void *ctx);
};

extern const struct gw_format gw_format_chat;
extern const struct gw_format gw_format_messages;
extern const struct gw_format gw_format_gemini;
extern const struct gw_format gw_format_responses;

/* The format of a wire (never NULL for a valid enum value). */
const struct gw_format *gw_format_of(enum gw_wire w);

/* Client request → request body for wire `to`: the hub when from != to
 * (from->req_to_hub then to->req_from_hub), else a deep copy with the
 * model set (the fast path). *out is a new tree. */
int gw_format_convert_request(const struct gw_format *from, const struct gw_format *to,
                              const json_t *body, const struct gw_path_facts *pf,
                              const struct gw_conv_opts *o, json_t **out, char *msg,
                              size_t msglen);
/* Upstream non-stream response body of wire `from` → client response tree
 * of format `to` (from != to). GW_EINVAL when the body does not parse. */
int gw_format_convert_response(const struct gw_format *from, const struct gw_format *to,
                               const char *body, size_t len, const char *model, json_t **out);

/* Shared helpers for the codecs (adapters/formats/common.c). */
/* A token count read from a JSON number: [0, GW_USAGE_TOKENS_MAX]. */
long long gw_fmt_count(const json_t *v);
/* Hub usage object ↔ struct gw_usage. */
void gw_fmt_usage_read(const json_t *hub_usage, struct gw_usage *u);
json_t *gw_fmt_usage_json(const struct gw_usage *u);
/* Copies text into a fixed buffer: cut on a UTF-8 boundary, CR/LF/NUL as
 * spaces (for error messages and codes). */
void gw_fmt_copy_line(char *dst, size_t cap, const char *src, size_t len);
/* Unicode code points in s (for the meter's delivered text). */
size_t gw_fmt_code_points(gw_str s);
/* An OpenAI file part ({"file_data": "data:<mime>;base64,…"}, chat's
 * "file" object or a Responses input_file) without "filename" gets one,
 * "document.<ext>" from the mime type: OpenAI refuses inline file data
 * without a name (a converted Claude document or Gemini inlineData has
 * none). Returns GW_OK or GW_ENOMEM. */
int gw_fmt_file_name(json_t *file);

#endif
