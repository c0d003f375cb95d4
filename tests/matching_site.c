/* matching_site.c — one deployment of the pipeline for integration tests that
 * compare matching set-ups: starting and stopping its processes, feeding it
 * synthetic changes, and reading back how far matching got and what it stored
 * (matching_site.h). */
#include "matching_site.h"

#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_client.h"
#include "ls_entity.h"
#include "ls_keys.h"
#include "ls_util.h"

/* ---------------------------------------------------------------------------
 * Processes */

void matching_site_env(const matching_site_t *site, const char *service, ls_test_env_t *out)
{
    ls_test_env_copy(out, &site->env);
    ls_test_env_redis(out, site->url, service);
}

/* Starts service (registry, matching, notification: its binary is LS_TEST_<SERVICE>)
 * with env, its log named "<label>-<name>". */
static ls_test_proc_t *s_spawn(const matching_site_t *site, const char *service, const char *name,
                               const ls_test_env_t *env)
{
    char bin[32] = "LS_TEST_", log_name[64];
    for (size_t i = 0; service[i] && i + 9 < sizeof bin; i++)
        bin[8 + i] = (char)toupper((unsigned char)service[i]);
    snprintf(log_name, sizeof log_name, "%s-%s", site->label, name);
    return ls_test_spawn(log_name, getenv(bin), env->env);
}

static ls_test_proc_t *s_spawn_service(const matching_site_t *site, const char *service)
{
    ls_test_env_t env;
    matching_site_env(site, service, &env);
    return s_spawn(site, service, service, &env);
}

int matching_site_start(matching_site_t *site, const char *const *extra)
{
    char ignored[64], err[256];
    site->redis = ls_test_redis_start(NULL, site->url, sizeof site->url);
    if (!site->redis)
        return -1;
    ls_test_env_set(&site->env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&site->env, "LODESTONE_HEARTBEAT_MS", "200");
    for (const char *const *e = extra; e && e[0] && e[1]; e += 2)
        ls_test_env_set(&site->env, e[0], e[1]);
    ls_test_env_socket(&site->env, "REGISTRY", site->registry_ep, sizeof site->registry_ep);
    ls_test_env_socket(&site->env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION", site->notification_ep,
                       sizeof site->notification_ep);
    ls_test_env_socket(&site->env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION_PUB", ignored, sizeof ignored);
    site->registry = s_spawn_service(site, "registry");
    site->notification = s_spawn_service(site, "notification");
    if (ls_test_await_ping(site->registry_ep) || ls_test_await_ping(site->notification_ep))
        return -1;
    site->store = ls_store_new(site->url, 2000, err, sizeof err);
    return site->store ? 0 : -1;
}

int matching_site_start_matching(matching_site_t *site, int i, const ls_test_env_t *env)
{
    ls_test_env_t own;
    ls_test_env_copy(&own, env);
    ls_test_env_socket(&own, "MATCHING", site->matching_ep[i], sizeof site->matching_ep[i]);
    char name[32];
    snprintf(name, sizeof name, "matching-%d", i);
    site->matching[i] = s_spawn(site, "matching", name, &own);
    if (site->matching[i] && ls_test_await_ping(site->matching_ep[i]) == 0)
        return 0;
    if (site->matching[i])
        ls_test_dump_log(site->matching[i]);
    return -1;
}

/* Stops *proc unless it is NULL; 1 when it did not exit 0. */
static int s_stop_failed(ls_test_proc_t **proc)
{
    if (!*proc)
        return 0;
    int status = ls_test_stop(proc);
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int matching_site_stop(matching_site_t *site)
{
    int failed = 0;
    for (int i = 0; i < MATCHING_SITE_INSTANCES; i++)
        failed |= s_stop_failed(&site->matching[i]);
    failed |= s_stop_failed(&site->registry);
    failed |= s_stop_failed(&site->notification);
    ls_store_destroy(&site->store);
    ls_test_stop(&site->redis);
    return failed ? -1 : 0;
}

/* ---------------------------------------------------------------------------
 * Changes */

/* make(index), under the ref of make(ref_index) unless that is UINT64_MAX; the
 * caller frees it. */
static ls_entity_pb *s_entity(synth_t *synth, matching_site_make_fn *make, uint64_t index,
                              uint64_t ref_index)
{
    ls_entity_pb *entity = make(synth, index);
    if (ref_index != UINT64_MAX) {
        ls_entity_pb *target = make(synth, ref_index);
        ls_entity_meta_t meta, target_meta;
        ls_entity_meta(entity, &meta);
        ls_entity_meta(target, &target_meta);
        ls_entity_set_string(meta.ref, *target_meta.ref);
        lodestone__v1__entity__free_unpacked(target, NULL);
    }
    return entity;
}

/* Fails the test unless reply (which it frees) is there and OK. */
static void s_assert_ok(ls_reply_pb *reply, const char *what)
{
    assert_non_null(reply);
    if (reply->status->code != LODESTONE__V1__STATUS__CODE__OK)
        fail_msg("%s refused: %s", what, reply->status->message);
    lodestone__v1__reply__free_unpacked(reply, NULL);
}

void matching_site_put(matching_site_t *site, const ls_taxonomy_t *taxonomy,
                       matching_site_make_fn *make, uint64_t first, uint64_t count,
                       uint64_t as_ref_of, size_t window)
{
    synth_t *synth = synth_new(7, taxonomy);
    ls_client_t *client = ls_client_new(site->registry_ep, 10000);
    size_t in_flight = 0;
    for (uint64_t i = 0; i < count || in_flight;) {
        if (i < count && in_flight < window) {
            ls_entity_pb *entity = s_entity(synth, make, first + i,
                                            as_ref_of == UINT64_MAX ? UINT64_MAX : as_ref_of + i);
            ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
            Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
            put.entity = entity;
            env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
            env.put = &put;
            assert_int_equal(ls_client_send(client, &env, NULL), 0);
            lodestone__v1__entity__free_unpacked(entity, NULL);
            in_flight++;
            i++;
            continue;
        }
        s_assert_ok(ls_client_recv(client, 10000), "put");
        in_flight--;
    }
    ls_client_destroy(&client);
    synth_destroy(&synth);
}

void matching_site_withdraw(matching_site_t *site, const char *id)
{
    ls_client_t *client = ls_client_new(site->registry_ep, 10000);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__WithdrawEntity w = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    w.id = (char *)id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
    env.withdraw = &w;
    s_assert_ok(ls_client_call(client, &env), "withdrawal");
    ls_client_destroy(&client);
}

/* ---------------------------------------------------------------------------
 * What the site stores */

uint64_t matching_site_checkpoint(matching_site_t *site, int partition)
{
    char key[96];
    uint64_t at = 0;
    snprintf(key, sizeof key, LS_KEY_CHECKPOINT "matching:%d-of-%d", partition, site->partitions);
    assert_int_equal(ls_store_get_u64(site->store, key, &at), 0);
    return at;
}

void matching_site_await(matching_site_t *site, int skip, int timeout_ms)
{
    int64_t deadline = ls_mono_ms() + timeout_ms;
    while (ls_mono_ms() < deadline) {
        uint64_t latest = 0, slowest = UINT64_MAX;
        ls_store_get_u64(site->store, LS_KEY_SEQ_CHANGES, &latest);
        for (int i = 0; i < site->partitions; i++)
            if (i != skip) {
                uint64_t at = matching_site_checkpoint(site, i);
                slowest = at < slowest ? at : slowest;
            }
        if (latest && slowest >= latest)
            return;
        zclock_sleep(50);
    }
    fail_msg("the %s site's matching did not catch up within %d s", site->label, timeout_ms / 1000);
}

static int s_cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the n strings and joins them after prefix, each followed by sep; frees them.
 * The caller frees the result. */
static char *s_join(const char *prefix, char **items, size_t n, const char *sep)
{
    qsort(items, n, sizeof *items, s_cmp_text);
    size_t len = strlen(prefix) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + strlen(sep);
    char *text = calloc(1, len);
    strcpy(text, prefix);
    for (size_t i = 0; i < n; i++) {
        strcat(text, items[i]);
        strcat(text, sep);
        zstr_free(&items[i]);
    }
    return text;
}

/* One stored list as "key: candidate=score ..."; adds its matches to *matches. The
 * caller frees it. */
static char *s_list_text(matching_site_t *site, const char *key, size_t *matches)
{
    redisReply *list = ls_store_command(site->store, "HGETALL %s", key);
    assert_non_null(list);
    char **items = calloc(list->elements / 2 + 1, sizeof *items);
    size_t n = 0;
    for (size_t k = 1; k < list->elements; k += 2) {
        ls_match_pb *m = lodestone__v1__match__unpack(NULL, list->element[k]->len,
                                                      (const uint8_t *)list->element[k]->str);
        assert_non_null(m);
        items[n++] = zsys_sprintf("%s=%.12f", m->candidate_id, m->score);
        lodestone__v1__match__free_unpacked(m, NULL);
    }
    freeReplyObject(list);
    *matches += n;
    char *prefix = zsys_sprintf("%s:", key);
    char *text = s_join(prefix, items, n, " ");
    zstr_free(&prefix);
    free(items);
    return text;
}

char *matching_site_snapshot(matching_site_t *site, int partition, size_t *matches)
{
    redisReply *keys = ls_store_command(site->store, "KEYS " LS_KEY_MATCHES "*");
    assert_non_null(keys);
    char **lines = calloc(keys->elements + 1, sizeof *lines);
    size_t n = 0, total = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const char *subject = keys->element[i]->str + strlen(LS_KEY_MATCHES);
        if (partition < 0 ||
            ls_partition_of(subject, (unsigned)site->partitions) == (unsigned)partition)
            lines[n++] = s_list_text(site, keys->element[i]->str, &total);
    }
    char *text = s_join("", lines, n, "\n");
    free(lines);
    freeReplyObject(keys);
    if (matches)
        *matches = total;
    return text;
}

void matching_site_assert_same(const char *a, const char *b, const char *what)
{
    if (strcmp(a, b) == 0)
        return;
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    size_t from = i > 200 ? i - 200 : 0;
    fail_msg("%s differ near byte %zu:\n...%.400s\nversus\n...%.400s", what, i, a + from, b + from);
}
