/* main.c — the matching process: configuration, then matching_run until SIGTERM. */
#include "ls_service.h"
#include "matching.h"

int main(int argc, char **argv)
{
    ls_config_t config;
    int rc = ls_service_init(argc, argv, "matching", &config);
    if (rc)
        return rc;
    matching_t *service = matching_new(&config);
    if (!service)
        return 1;
    rc = matching_run(service);
    matching_destroy(&service);
    return rc ? 1 : 0;
}
