/* FormatMatchingModelName, the one copy (model_name.h). */
#include <string.h>
#include "gateway/relay/model_name.h"

const char *gw_model_matching_name(const char *model)
{
    static const struct { const char *prefix, *wildcard; } thinking[] = {
        /* flash-lite first: "gemini-2.5-flash" is its prefix too */
        { "gemini-2.5-flash-lite", "gemini-2.5-flash-lite-thinking-*" },
        { "gemini-2.5-flash", "gemini-2.5-flash-thinking-*" },
        { "gemini-2.5-pro", "gemini-2.5-pro-thinking-*" },
    };
    if (model == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof thinking / sizeof thinking[0]; i++) {
        if (strncmp(model, thinking[i].prefix, strlen(thinking[i].prefix)) == 0) {
            if (strstr(model, "-thinking-"))
                return thinking[i].wildcard;
            break;
        }
    }
    if (strncmp(model, "gpt-4-gizmo", 11) == 0)
        return "gpt-4-gizmo-*";
    if (strncmp(model, "gpt-4o-gizmo", 12) == 0)
        return "gpt-4o-gizmo-*";
    return model;
}
