/* Model names as the reference matches them against its tables. */
#ifndef GW_RELAY_MODEL_NAME_H
#define GW_RELAY_MODEL_NAME_H

/* The reference's FormatMatchingModelName (used by routing, as the fallback
 * when no channel serves the exact name, and by billing, to find a price):
 * gemini-2.5-{flash-lite,flash,pro} names containing "-thinking-" become
 * "gemini-2.5-<x>-thinking-*", and gpt-4-gizmo* / gpt-4o-gizmo* become
 * "gpt-4-gizmo-*" / "gpt-4o-gizmo-*". Returns model itself (NULL for NULL)
 * or a static string; never allocates. */
const char *gw_model_matching_name(const char *model);

#endif
