#include "gateway/core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/core/err.h"
#include "gateway/core/str.h"

int gw_log_level = GW_LOG_INFO;
int gw_log_access_enabled = 1;

static _Thread_local const char *tl_request_id;
static char process_tag[16];

/* Room kept free for " rid=<id>\n" so a long message never pushes the
 * request id off the line; longer ids are cut to fit. */
#define RID_RESERVE 80

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

int gw_log_level_parse(const char *name, int *out)
{
    gw_str s = gw_str_c(name);
    int i;

    for (i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (gw_str_ieq(s, gw_str_c(level_names[i]))) {
            *out = i;
            return GW_OK;
        }
    }
    if (gw_str_ieq(s, GW_STRLIT("warning"))) {
        *out = GW_LOG_WARN;
        return GW_OK;
    }
    return GW_EINVAL;
}

const char *gw_log_level_name(int level)
{
    if (level < GW_LOG_DEBUG || level > GW_LOG_ERROR)
        return "?";
    return level_names[level];
}

void gw_log_set_request_id(const char *id)
{
    tl_request_id = id;
}

const char *gw_log_request_id(void)
{
    return tl_request_id;
}

void gw_log_set_process(const char *tag)
{
    if (tag == NULL)
        tag = "";
    snprintf(process_tag, sizeof(process_tag), "%s", tag);
}

/* Line under construction; len never exceeds sizeof(buf) - 1. */
struct line {
    char buf[GW_LOG_LINE_MAX];
    size_t len;
};

static void line_add(struct line *l, const char *s, size_t n, size_t limit)
{
    if (limit > sizeof(l->buf) - 1)
        limit = sizeof(l->buf) - 1;
    if (l->len >= limit)
        return;
    if (n > limit - l->len)
        n = limit - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_adds(struct line *l, const char *s)
{
    line_add(l, s, strlen(s), sizeof(l->buf) - 1);
}

/* "2026-11-26T08:00:00.123Z <word> [tag] " */
static void line_start(struct line *l, const char *word)
{
    struct timespec ts;
    struct tm tm;
    char tmp[64];
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    l->len = strftime(l->buf, sizeof(l->buf), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(tmp, sizeof(tmp), ".%03ldZ %-5s ", ts.tv_nsec / 1000000L, word);
    line_add(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1,
             sizeof(l->buf) - 1);
    if (process_tag[0] != '\0') {
        line_adds(l, "[");
        line_adds(l, process_tag);
        line_adds(l, "] ");
    }
}

/* Append " rid=<id>\n" (rid optional) and write the line in one call. */
static void line_finish(struct line *l, const char *rid)
{
    ssize_t w;
    size_t off = 0;
    int saved = errno;

    while (l->len > 0 && l->buf[l->len - 1] == ' ')
        l->len--;
    if (rid != NULL && rid[0] != '\0') {
        line_add(l, " rid=", 5, sizeof(l->buf) - 2);
        line_add(l, rid, strlen(rid), sizeof(l->buf) - 2);
    }
    l->buf[l->len++] = '\n';
    /* A pipe write of <= PIPE_BUF bytes is atomic; loop only on EINTR or a
     * short write to a regular file. */
    while (off < l->len) {
        w = write(STDERR_FILENO, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved;
}

void gw__log(int level, const char *file, int line, const char *fmt, ...)
{
    struct line l;
    size_t start, limit, i;
    va_list ap;
    int n;

    line_start(&l, gw_log_level_name(level));
    start = l.len;
    limit = sizeof(l.buf) - 1 - RID_RESERVE;
    va_start(ap, fmt);
    n = vsnprintf(l.buf + start, limit + 1 - start, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > limit - start) {
        l.len = limit;
        memcpy(l.buf + limit - 3, "...", 3);
    } else {
        l.len = start + (size_t)n;
    }
    /* Keep one call == one line: no newline or other control byte leaks. */
    while (l.len > start && (l.buf[l.len - 1] == '\n' || l.buf[l.len - 1] == '\r'))
        l.len--;
    for (i = start; i < l.len; i++)
        if ((unsigned char)l.buf[i] < 0x20 || l.buf[i] == 0x7f)
            l.buf[i] = ' ';
    line_finish(&l, tl_request_id);
}

/* Copy s escaping bytes that would break the space-separated format. */
static void add_escaped(struct line *l, const char *s, size_t limit)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];

    if (s == NULL || s[0] == '\0') {
        line_add(l, "-", 1, limit);
        return;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c > 0x20 && c < 0x7f && c != '%') {
            line_add(l, s, 1, limit);
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        line_add(l, esc, 3, limit);
    }
}

void gw_log_access(const char *method, const char *path, int status,
                   size_t bytes, long long usec, const char *rid)
{
    struct line l;
    size_t limit = sizeof(l.buf) - 1 - RID_RESERVE;
    char tail[96];
    int n;

    if (!gw_log_access_enabled || gw_log_level > GW_LOG_INFO)
        return;
    line_start(&l, "ACCESS");
    add_escaped(&l, method, 32 + l.len);
    line_add(&l, " ", 1, limit);
    /* Leave room for the numbers after the path. */
    add_escaped(&l, path, limit - sizeof(tail));
    n = snprintf(tail, sizeof(tail), " %d %zuB %lldus", status, bytes, usec);
    line_add(&l, tail, (size_t)n < sizeof(tail) ? (size_t)n : sizeof(tail) - 1, limit);
    line_finish(&l, rid != NULL ? rid : tl_request_id);
}
