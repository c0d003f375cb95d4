/* bench_util.c — shared by the benchmark tools (bench_util.h). */
#include "bench_util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ls_util.h"

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

int bench_long_arg(const char *text, long min, long *out)
{
    uint64_t value;
    if (ls_parse_u64(text, strlen(text), &value) || value > (uint64_t)LONG_MAX || (long)value < min)
        return -1;
    *out = (long)value;
    return 0;
}
