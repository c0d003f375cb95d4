/* main.c — the registry process: configuration, then registry_run until SIGTERM. */
#include <czmq.h>

#include "ls_config.h"
#include "ls_log.h"
#include "registry.h"

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
        fprintf(stderr, "lodestone-registry: %s\n", err);
        return 2;
    }
    ls_log_init("registry", config.log_level);
    zsys_init();
    registry_t *registry = registry_new(&config);
    if (!registry)
        return 1;
    int rc = registry_run(registry);
    registry_destroy(&registry);
    return rc ? 1 : 0;
}
