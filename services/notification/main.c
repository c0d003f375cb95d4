/* main.c — the notification process: configuration, then notification_run until SIGTERM. */
#include "ls_service.h"
#include "notification.h"

int main(int argc, char **argv)
{
    ls_config_t config;
    int rc = ls_service_init(argc, argv, "notification", &config);
    if (rc)
        return rc;
    notification_t *service = notification_new(&config);
    if (!service)
        return 1;
    rc = notification_run(service);
    notification_destroy(&service);
    return rc ? 1 : 0;
}
