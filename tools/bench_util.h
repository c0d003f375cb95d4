/* bench_util.h — what the two benchmark tools (lodestone-bench and
 * lodestone-bench-notification) share: the configuration, clocks, CPU time,
 * Redis's INFO, waiting for notification to catch up, printing the results as JSON,
 * and parsing a number. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <jansson.h>
#include <stdint.h>

#include "ls_client.h"
#include "ls_config.h"
#include "ls_store.h"

/* The configuration as the services read it (LODESTONE_*), with the Redis password
 * from its file; -1 after saying why on stderr, prefixed with name. */
int bench_config_load(ls_config_t *config, const char *name);

/* Monotonic microseconds. */
int64_t bench_now_us(void);
/* User + system CPU seconds of this process so far. */
double bench_self_cpu_seconds(void);
/* User + system CPU seconds (every thread) of process pid so far; -1 when unknown. */
double bench_process_cpu_seconds(long pid);

/* A number field of Redis's INFO section (e.g. "memory", "used_memory"); -1 when it
 * cannot be read. */
double bench_redis_info(ls_store_t *store, const char *section, const char *field);
/* Redis's CPU seconds (its whole process: main thread and background threads); -1
 * when unknown. */
double bench_redis_cpu(ls_store_t *store);

/* Pings notification (client, at endpoint) until it has applied the whole match
 * journal. Returns 0, or -1 after saying why on stderr when it has not within
 * timeout_s seconds (it may not answer at first: it may be starting). */
int bench_await_caught_up(ls_client_t *client, const char *endpoint, long timeout_s);

/* Prints root (NULL: nothing) as one line of JSON, keys in their order, and
 * releases it. */
void bench_print_json(json_t *root);

/* A decimal number of at least min into *out; -1 when text is not one. */
int bench_long_arg(const char *text, long min, long *out);

#endif
