/* digest.c — digest periods (digest.h). */
#include "digest.h"

#include <time.h>

int64_t digest_period_ms(int64_t day_ms, bool weekly)
{
    return weekly ? 7 * day_ms : day_ms;
}

int64_t digest_period_end(int64_t day_ms, bool weekly, int64_t now)
{
    /* The Unix epoch was a Thursday: weeks start 4 days after it, on a Monday. */
    int64_t origin = weekly ? 4 * day_ms : 0;
    int64_t period = digest_period_ms(day_ms, weekly);
    int64_t since = now - origin;
    int64_t index = since >= 0 ? since / period : (since - period + 1) / period;
    return origin + (index + 1) * period;
}

void digest_period_label(bool weekly, int64_t start, char *out, size_t len)
{
    time_t t = (time_t)(start / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, weekly ? "%G-W%V" : "%Y-%m-%d", &tm);
}
