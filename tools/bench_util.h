/* bench_util.h — what the two benchmark tools (lodestone-bench and
 * lodestone-bench-notification) share: clocks, CPU time, and parsing a number. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

/* Monotonic microseconds. */
int64_t bench_now_us(void);
/* User + system CPU seconds of this process so far. */
double bench_self_cpu_seconds(void);
/* User + system CPU seconds (every thread) of process pid so far; -1 when unknown. */
double bench_process_cpu_seconds(long pid);
/* A decimal number of at least min into *out; -1 when text is not one. */
int bench_long_arg(const char *text, long min, long *out);

#endif
