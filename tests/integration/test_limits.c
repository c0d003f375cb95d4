/* test_limits.c — the per-publisher request rate: beyond the burst a publisher gets
 * RATE_LIMITED (and nothing is served), pings always pass, publishers are limited
 * apart, and the rate refills the allowance; and every service stops on SIGTERM in
 * time. */
#include "harness.h"
#include "pipeline.h"

#include <czmq.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_util.h"

static const char *const s_env[] = {
    "LODESTONE_RATE_LIMIT", "0.5", /* a second: one every 2 s */
    "LODESTONE_RATE_BURST", "3",   "LODESTONE_TRUSTED_PUBLISHERS", "*", NULL};

static int s_setup(void **state)
{
    (void)state;
    return ls_pipe_setup_with(s_env);
}

/* A GetEntity as publisher; returns the reply's status code. */
static int s_get(ls_client_t *client, const char *publisher, char *message, size_t len)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetEntity q = LODESTONE__V1__GET_ENTITY__INIT;
    q.id = "sme-404";
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_GET;
    env.get = &q;
    env.publisher = (char *)publisher;
    ls_reply_pb *reply = ls_client_call(client, &env);
    assert_non_null(reply);
    int code = (int)reply->status->code;
    if (message)
        snprintf(message, len, "%s", reply->status->message);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return code;
}

static void test_rate_limit_per_publisher(void **state)
{
    (void)state;
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    /* Fresh publishers start with a full burst. */
    char message[512];
    /* The burst: three served (the entity does not exist), the fourth refused. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_get(client, "fi-agency", NULL, 0),
                         LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    assert_int_equal(s_get(client, "fi-agency", message, sizeof message),
                     LODESTONE__V1__STATUS__CODE__RATE_LIMITED);
    assert_non_null(strstr(message, "fi-agency"));
    assert_non_null(strstr(message, "LODESTONE_RATE_LIMIT"));
    /* Pings pass: health checks must not be refused. */
    for (int i = 0; i < 10; i++) {
        ls_reply_pb *pong = ls_client_ping(client);
        assert_non_null(pong);
        assert_int_equal(pong->status->code, LODESTONE__V1__STATUS__CODE__OK);
        lodestone__v1__reply__free_unpacked(pong, NULL);
    }
    /* Another publisher has an allowance of its own. */
    assert_int_equal(s_get(client, "se-agency", NULL, 0), LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    /* At one every 2 s, a little more than 2 s later there is room for one again. */
    zclock_sleep(2200);
    assert_int_equal(s_get(client, "fi-agency", NULL, 0), LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    ls_client_destroy(&client);
}

/* SIGTERM: every service finishes what it holds and exits 0 well within Compose's
 * 15 s grace period; started again, it serves. */
static void test_sigterm_stops_in_time(void **state)
{
    (void)state;
    for (int service = 0; service < LS_PIPE_SERVICES; service++) {
        int64_t start = ls_mono_ms();
        int status = ls_test_stop(&ls_pipe.procs[service]);
        int64_t took = ls_mono_ms() - start;
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(took < 5000);
        assert_int_equal(ls_pipe_start(service), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit_per_publisher),
        cmocka_unit_test(test_sigterm_stops_in_time),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, ls_pipe_teardown);
    return failed || ls_pipe.teardown_failed ? 1 : 0;
}
