/* bench_util.c — shared by the benchmark tools (bench_util.h). */
#include "bench_util.h"

#include <czmq.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ls_rpc.h"
#include "ls_util.h"

int bench_config_load(ls_config_t *config, const char *name)
{
    char err[512];
    if (ls_config_load(config, err, sizeof err) == 0 &&
        ls_store_use_password_file(config, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", name, err);
    return -1;
}

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double bench_self_cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

double bench_process_cpu_seconds(long pid)
{
    if (pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long utime = 0, stime = 0;
    /* Fields after the command: utime is the 14th, stime the 15th. */
    int n =
        fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    fclose(f);
    return n == 2 ? (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK) : -1;
}

double bench_redis_info(ls_store_t *store, const char *section, const char *field)
{
    redisReply *r = store ? ls_store_command(store, "INFO %s", section) : NULL;
    double value = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        char key[64];
        snprintf(key, sizeof key, "\n%s:", field);
        const char *at = strstr(r->str, key);
        if (at)
            value = strtod(at + strlen(key), NULL);
    }
    if (r)
        freeReplyObject(r);
    return value;
}

double bench_redis_cpu(ls_store_t *store)
{
    double sys = bench_redis_info(store, "cpu", "used_cpu_sys");
    double user = bench_redis_info(store, "cpu", "used_cpu_user");
    return sys < 0 || user < 0 ? -1 : sys + user;
}

int bench_await_caught_up(ls_client_t *client, const char *endpoint, long timeout_s)
{
    int64_t deadline = bench_now_us() + (int64_t)timeout_s * 1000000;
    char last[256] = "no answer";
    while (!zsys_interrupted) {
        ls_reply_pb *pong = ls_client_ping(client);
        bool ok = pong && pong->body_case == LODESTONE__V1__REPLY__BODY_PONG;
        if (ok && pong->pong->seq >= pong->pong->journal_latest) {
            lodestone__v1__reply__free_unpacked(pong, NULL);
            return 0;
        }
        if (ok)
            snprintf(last, sizeof last, "at %llu of %llu", (unsigned long long)pong->pong->seq,
                     (unsigned long long)pong->pong->journal_latest);
        else
            snprintf(last, sizeof last, "%s",
                     !pong          ? ls_client_error(client)
                     : pong->status ? pong->status->message
                                    : "an unexpected reply");
        if (pong)
            lodestone__v1__reply__free_unpacked(pong, NULL);
        if (bench_now_us() > deadline)
            break;
        zclock_sleep(200);
    }
    fprintf(stderr, "notification at %s did not catch up with the match journal in %ld s: %s\n",
            endpoint, timeout_s, last);
    return -1;
}

void bench_print_json(json_t *root)
{
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(root);
}

int bench_long_arg(const char *text, long min, long *out)
{
    uint64_t value;
    if (ls_parse_u64(text, strlen(text), &value) || value > (uint64_t)LONG_MAX || (long)value < min)
        return -1;
    *out = (long)value;
    return 0;
}
