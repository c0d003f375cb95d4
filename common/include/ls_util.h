/* ls_util.h — small pieces of plumbing shared by every part: clocks, hashing for
 * partitions, bounded string checks. Nothing domain-specific lives here. */
#ifndef LS_UTIL_H
#define LS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock in Unix milliseconds. */
int64_t ls_now_ms(void);
/* Today's date in UTC, "YYYY-MM-DD", into out (at least 11 bytes). */
void ls_today(char *out, size_t len);
/* Monotonic clock in milliseconds, for timeouts. */
int64_t ls_mono_ms(void);

/* FNV-1a 64-bit hash of a string: stable across processes and machines, used to
 * assign an entity id to a matching partition. */
uint64_t ls_hash64(const char *text);
/* Which of `count` partitions owns id. */
unsigned ls_partition_of(const char *id, unsigned count);

/* True when s is well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF). */
bool ls_utf8_valid(const char *s, size_t len);
/* True when s is well-formed UTF-8 without control characters other than \t \n \r:
 * what a person's text may hold. */
bool ls_text_valid(const char *s, size_t len);

/* Parses a base-10 unsigned integer that fills the whole string. */
int ls_parse_u64(const char *text, size_t len, uint64_t *out);

#endif
