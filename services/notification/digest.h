/* digest.h — the periods of digests: a day starts at UTC midnight, a week on
 * Monday 00:00 UTC (ISO weeks). The length of a day is a parameter so that tests
 * can shorten it (LODESTONE_DIGEST_DAY_S); with a real day the labels are dates. */
#ifndef NOTIFICATION_DIGEST_H
#define NOTIFICATION_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length of a period, ms. */
int64_t digest_period_ms(int64_t day_ms, bool weekly);
/* The end (exclusive, Unix ms) of the period that holds now. */
int64_t digest_period_end(int64_t day_ms, bool weekly, int64_t now);
/* "2026-11-29" (daily) or "2026-W48" (weekly) for a period starting at start. */
void digest_period_label(bool weekly, int64_t start, char *out, size_t len);

#endif
