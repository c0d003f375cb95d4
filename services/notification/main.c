/* main.c — the notification process: configuration, then notification_run. */
#include <czmq.h>

#include "ls_config.h"
#include "ls_log.h"
#include "notification.h"

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
        fprintf(stderr, "lodestone-notification: %s\n", err);
        return 2;
    }
    ls_log_init("notification", config.log_level);
    zsys_init();
    notification_t *service = notification_new(&config);
    if (!service)
        return 1;
    int rc = notification_run(service);
    notification_destroy(&service);
    return rc ? 1 : 0;
}
