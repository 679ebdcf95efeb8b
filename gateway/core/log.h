/* Levelled logging to stderr. Each line is formatted into a stack buffer
 * and written with a single write(2), so lines from the supervisor and the
 * workers sharing one stderr do not interleave. Lines look like
 *
 *   2026-11-26T08:00:00.123Z INFO  [w0] message rid=<id>
 *
 * (UTC, milliseconds; " rid=<id>" only while a request id is set on the
 * calling thread). Lines longer than GW_LOG_LINE_MAX are truncated and
 * end with "...". Control characters in the message (a trailing newline
 * included) become spaces or are dropped, so one call is exactly one line.
 *
 * Library-like modules (adapters, persist) should return errors and let
 * their caller log with context; this module is for the edges. */
#ifndef GW_CORE_LOG_H
#define GW_CORE_LOG_H
#include <stddef.h>

enum {
    GW_LOG_DEBUG = 0,
    GW_LOG_INFO,
    GW_LOG_WARN,
    GW_LOG_ERROR
};

#define GW_LOG_LINE_MAX 4096

/* Messages below this level are dropped before formatting. Default INFO.
 * Set once at start-up (from config LOG_LEVEL); not synchronised. */
extern int gw_log_level;

/* Access lines (gw_log_access) are written only when this is non-zero and
 * gw_log_level <= GW_LOG_INFO. Default 1 (config ACCESS_LOG). */
extern int gw_log_access_enabled;

/* "debug", "info", "warn", "error" (ASCII case-insensitive; "warning" is
 * accepted too) -> *out. GW_EINVAL for anything else (*out untouched). */
int gw_log_level_parse(const char *name, int *out);

/* Upper-case name of a level ("INFO"); "?" if out of range. */
const char *gw_log_level_name(int level);

/* Attach a request id to log lines from the calling thread. Only the
 * pointer is stored (thread-local): the caller keeps the string alive
 * until it clears it with NULL. */
void gw_log_set_request_id(const char *id);

/* The calling thread's request id, or NULL. */
const char *gw_log_request_id(void);

/* Process tag shown in brackets, e.g. "sup" or "w0". Copied (truncated to
 * 15 bytes); NULL or "" removes the bracket field. Call at start-up and
 * after fork, before other threads log. */
void gw_log_set_process(const char *tag);

/* Format and write one line unconditionally (the level test is done by the
 * macros). file/line are accepted for future use and not printed today.
 * Never fails; write errors are ignored. Preserves errno. */
void gw__log(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Check the level before evaluating any argument or formatting. */
#define GW_LOG(level, ...)                                               \
    do {                                                                 \
        if ((level) >= gw_log_level)                                     \
            gw__log((level), __FILE__, __LINE__, __VA_ARGS__);           \
    } while (0)

#define GW_DEBUG(...) GW_LOG(GW_LOG_DEBUG, __VA_ARGS__)
#define GW_INFO(...)  GW_LOG(GW_LOG_INFO, __VA_ARGS__)
#define GW_WARN(...)  GW_LOG(GW_LOG_WARN, __VA_ARGS__)
#define GW_ERROR(...) GW_LOG(GW_LOG_ERROR, __VA_ARGS__)

/* One access line at INFO level, if enabled:
 *
 *   2026-11-26T08:00:00.123Z ACCESS [w0] GET /api/status 200 123B 456us rid=<id>
 *
 * rid is the explicit request id (may be NULL: then the thread's id, if
 * any, is used; if neither, the field is omitted). Control characters and
 * spaces in method/path are escaped as %XX so one request is one line. */
void gw_log_access(const char *method, const char *path, int status,
                   size_t bytes, long long usec, const char *rid);

#endif
