/* main.c — the registry process: configuration, then registry_run until SIGTERM. */
#include "ls_service.h"
#include "registry.h"

int main(int argc, char **argv)
{
    ls_config_t config;
    int rc = ls_service_init(argc, argv, "registry", &config);
    if (rc)
        return rc;
    registry_t *service = registry_new(&config);
    if (!service)
        return 1;
    rc = registry_run(service);
    registry_destroy(&service);
    return rc ? 1 : 0;
}
