/* ls_log.c — the logger: one JSON object per line on stderr.
 * {"ts":"2026-11-29T16:04:05.123Z","level":"info","service":"registry","msg":"..."} */
#include "ls_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static ls_log_level_t s_level = LS_LOG_INFO;
static char s_service[64] = "lodestone";
static const char *s_names[] = {"debug", "info", "warn", "error"};

void ls_log_init(const char *service, ls_log_level_t level)
{
    snprintf(s_service, sizeof s_service, "%s", service ? service : "lodestone");
    s_level = level;
}

int ls_log_level_parse(const char *text, ls_log_level_t *level)
{
    for (int i = LS_LOG_DEBUG; i <= LS_LOG_ERROR; i++)
        if (text && strcmp(text, s_names[i]) == 0) {
            *level = (ls_log_level_t)i;
            return 0;
        }
    return -1;
}

ls_log_level_t ls_log_level(void)
{
    return s_level;
}

/* Appends text to out as the inside of a JSON string; stops before overflowing. */
static size_t s_escape(char *out, size_t pos, size_t cap, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p && pos + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)*p;
        } else if (*p == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
        } else if (*p < 0x20) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", *p);
        } else
            out[pos++] = (char)*p;
    }
    return pos;
}

void ls_log_write(ls_log_level_t level, const char *fmt, ...)
{
    char msg[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[4608];
    size_t pos =
        (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":\"",
                         ts, (long)(tv.tv_usec / 1000), s_names[level]);
    pos = s_escape(line, pos, sizeof line, s_service);
    pos += (size_t)snprintf(line + pos, sizeof line - pos, "\",\"msg\":\"");
    pos = s_escape(line, pos, sizeof line - 3, msg);
    line[pos++] = '"';
    line[pos++] = '}';
    line[pos++] = '\n';
    /* One write per line so that lines from several processes do not interleave. */
    fwrite(line, 1, pos, stderr);
    fflush(stderr);
}
