/* ls_service.c — service start-up and the one poll loop every service runs. */
#include "ls_service.h"

#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

int ls_service_init(int argc, char **argv, const char *name, ls_config_t *config)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s\n(configured by environment variables:)\n\n", argv[0]);
        ls_config_describe(stderr);
        return 2;
    }
    char err[512];
    if (ls_config_load(config, err, sizeof err)) {
        fprintf(stderr, "lodestone-%s: %s\n", name, err);
        return 2;
    }
    ls_log_init(name, config->log_level);
    zsys_init(); /* installs the SIGINT/SIGTERM handler that sets zsys_interrupted */
    return 0;
}

static bool s_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t item = strcspn(p, ",");
        while (item && p[item - 1] == ' ')
            item--;
        if ((item == 1 && *p == '*') || (item == len && strncmp(p, name, len) == 0))
            return true;
        p += strcspn(p, ",");
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

const char *ls_service_publisher(const ls_config_t *config, const ls_envelope_pb *request)
{
    const char *named = request->publisher;
    const char *publisher = *named ? named : config->publisher;
    if (strcmp(publisher, config->publisher) != 0 &&
        !s_listed(config->trusted_publishers, publisher))
        return NULL;
    return publisher;
}

int ls_service_run(const ls_service_loop_t *loop)
{
    zpoller_t *poller = zpoller_new(loop->router, NULL);
    if (loop->input)
        zpoller_add(poller, loop->input);
    if (loop->input2)
        zpoller_add(poller, loop->input2);
    int64_t next_tick = ls_mono_ms();
    while (!zsys_interrupted) {
        int64_t now = ls_mono_ms();
        bool more = false;
        if (now >= next_tick) {
            more = loop->on_tick(loop->arg) > 0;
            next_tick = more ? now : ls_mono_ms() + loop->tick_ms;
        }
        /* With a backlog, only look at the sockets (requests, health checks) and go on. */
        int64_t wait = more ? 0 : next_tick - ls_mono_ms();
        void *which = zpoller_wait(poller, (int)(wait > 0 ? wait : 0));
        if (zpoller_terminated(poller))
            break;
        if (which && (which == loop->input || which == loop->input2)) {
            zmsg_t *msg = zmsg_recv(which);
            if (msg)
                (which == loop->input ? loop->on_input : loop->on_input2)(loop->arg, msg);
            zmsg_destroy(&msg);
        } else if (which == loop->router) {
            ls_rpc_request_t req;
            int rc = ls_rpc_recv(loop->router, loop->max_bytes, &req);
            if (rc < 0)
                break;
            if (rc == 0) {
                loop->on_request(loop->arg, &req);
                ls_rpc_request_free(&req);
            }
        }
    }
    zpoller_destroy(&poller);
    return 0;
}
