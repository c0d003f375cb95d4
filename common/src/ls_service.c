/* ls_service.c — service start-up and the one poll loop every service runs. */
#include "ls_service.h"

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

int ls_service_run(const ls_service_loop_t *loop)
{
    zpoller_t *poller = zpoller_new(loop->router, NULL);
    if (loop->input)
        zpoller_add(poller, loop->input);
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
        if (which && which == loop->input) {
            zmsg_t *msg = zmsg_recv(loop->input);
            if (msg)
                loop->on_input(loop->arg, msg);
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
