/* ls_log.h — the logger: one JSON object per line on stderr, filtered by level.
 * The macros test the level before formatting, so a debug line costs nothing
 * when debug is off. */
#ifndef LS_LOG_H
#define LS_LOG_H

typedef enum { LS_LOG_DEBUG = 0, LS_LOG_INFO, LS_LOG_WARN, LS_LOG_ERROR } ls_log_level_t;

/* Sets the service name written in every line and the minimum level. */
void ls_log_init(const char *service, ls_log_level_t level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int ls_log_level_parse(const char *text, ls_log_level_t *level);
ls_log_level_t ls_log_level(void);
void ls_log_write(ls_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LS_LOG_AT(lvl, ...)                                                                        \
    do {                                                                                           \
        if ((lvl) >= ls_log_level())                                                               \
            ls_log_write((lvl), __VA_ARGS__);                                                      \
    } while (0)
#define LS_DEBUG(...) LS_LOG_AT(LS_LOG_DEBUG, __VA_ARGS__)
#define LS_INFO(...) LS_LOG_AT(LS_LOG_INFO, __VA_ARGS__)
#define LS_WARN(...) LS_LOG_AT(LS_LOG_WARN, __VA_ARGS__)
#define LS_ERROR(...) LS_LOG_AT(LS_LOG_ERROR, __VA_ARGS__)

#endif
