/* The two routing policies between chat completions and the Responses API
 * (the reference's model_setting.ChatCompletionsToResponsesPolicy, and our
 * option of the same shape for the other direction):
 *   global.chat_completions_to_responses_policy — a chat (or Messages) client
 *     goes upstream as Responses;
 *   global.responses_to_chat_completions_policy — a Responses client goes to
 *     an OpenAI or Azure channel as chat completions.
 * Value: {"enabled": bool, "all_channels": bool, "channel_ids": [int],
 *         "channel_types": [int], "model_patterns": ["regex", ...]}.
 * A policy applies when enabled, the channel is named (all_channels, its id
 * or its type), and one pattern matches the client's model name (a search,
 * as Go's MatchString; POSIX extended syntax, which covers the reference's
 * examples such as "^gpt-5.*$"). No pattern: never. */
#ifndef GW_ADAPTERS_RESPONSES_POLICY_H
#define GW_ADAPTERS_RESPONSES_POLICY_H

#include <stddef.h>

struct gw_resp_policy;

/* Parses the option text. GW_EINVAL with a message (for the option API's
 * 400) when it is not such an object or a pattern does not compile;
 * GW_ENOMEM. *out is freed with gw_resp_policy_free. */
int gw_resp_policy_parse(const char *text, struct gw_resp_policy **out, char *err,
                         size_t errlen);
void gw_resp_policy_free(struct gw_resp_policy *p);
/* 1 when p applies to this channel and client model (p NULL: 0). */
int gw_resp_policy_match(const struct gw_resp_policy *p, long long channel_id, int channel_type,
                         const char *model);
/* gw_resp_policy_match on the option text, parsed once and kept (a few
 * texts per process, reparsed when the text changes). A text that does not
 * parse never applies. Not thread-safe: the worker's loop thread only. */
int gw_resp_policy_applies(const char *text, long long channel_id, int channel_type,
                           const char *model);

#endif
