/* main.c — the matching process: configuration, then matching_run. */
#include <czmq.h>

#include "ls_config.h"
#include "ls_log.h"
#include "matching.h"

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s (configured by environment variables:)\n\n", argv[0]);
        ls_config_describe(stderr);
        return 2;
    }
    ls_config_t config;
    char err[512];
    if (ls_config_load(&config, err, sizeof err)) {
        fprintf(stderr, "lodestone-matching: %s\n", err);
        return 2;
    }
    ls_log_init("matching", config.log_level);
    zsys_init();
    matching_t *service = matching_new(&config);
    if (!service)
        return 1;
    int rc = matching_run(service);
    matching_destroy(&service);
    return rc ? 1 : 0;
}
