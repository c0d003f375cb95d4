/* matching_site.h — one deployment of the pipeline for integration tests that run
 * matching set-ups side by side and compare them: a private Redis, the registry,
 * notification and up to MATCHING_SITE_INSTANCES matching processes, each service
 * as its own Redis user. A test starts as many sites as it compares, feeds each the
 * same synthetic puts and withdrawals, waits until matching has applied the change
 * journal, and compares what the sites store as text. How a site's matching is
 * partitioned and configured stays with the test. */
#ifndef LS_TEST_MATCHING_SITE_H
#define LS_TEST_MATCHING_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "synth.h"

#define MATCHING_SITE_INSTANCES 4

typedef struct {
    const char *label; /* names the site in its processes' log names and in failures */
    int partitions;    /* how many partitions its matching splits the subjects into */
    ls_test_proc_t *redis, *registry, *notification, *matching[MATCHING_SITE_INSTANCES];
    char url[128], registry_ep[64], notification_ep[64];
    char matching_ep[MATCHING_SITE_INSTANCES][64];
    ls_test_env_t env; /* the services' environment but Redis's: each has its own user */
    ls_store_t *store; /* the test's own connection */
} matching_site_t;

/* Starts the site's Redis, registry and notification, with extra ("NAME", "value",
 * ..., NULL; NULL for none) added to the services' environment, and opens
 * site->store. 0 on success, -1 otherwise; matching_site_stop cleans up either way. */
int matching_site_start(matching_site_t *site, const char *const *extra);

/* The services' environment plus service's (registry, matching, notification) own
 * Redis user, into out. */
void matching_site_env(const matching_site_t *site, const char *service, ls_test_env_t *out);

/* Starts matching process i of site with env (from matching_site_env, plus what the
 * test sets) and its request socket on a free port (into site->matching_ep[i]);
 * waits until it answers a ping (a standby answers too). 0 when it does; -1, with
 * its log on stderr, when not. */
int matching_site_start_matching(matching_site_t *site, int i, const ls_test_env_t *env);

/* Stops every process of site that runs (SIGTERM) and closes site->store. -1 when a
 * service did not exit 0. */
int matching_site_stop(matching_site_t *site);

/* ---------------------------------------------------------------------------
 * Changes */

typedef ls_entity_pb *(matching_site_make_fn)(synth_t *synth, uint64_t index);

/* Puts make(first + i) for i < count (generator seed 7 over taxonomy) to the
 * site's registry, up to window puts in flight (1: one at a time); with as_ref_of
 * != UINT64_MAX, each under the ref of make(as_ref_of + i): an update with other
 * content. Fails the test when a put is refused or not answered within 10 s. */
void matching_site_put(matching_site_t *site, const ls_taxonomy_t *taxonomy,
                       matching_site_make_fn *make, uint64_t first, uint64_t count,
                       uint64_t as_ref_of, size_t window);

/* Withdraws entity id at the site's registry; fails the test when refused. */
void matching_site_withdraw(matching_site_t *site, const char *id);

/* ---------------------------------------------------------------------------
 * What the site stores */

/* The change journal entry matching partition has applied (of site->partitions). */
uint64_t matching_site_checkpoint(matching_site_t *site, int partition);

/* Waits, polling, until every matching partition but skip (-1: none) has applied
 * the whole change journal; fails the test after timeout_ms. */
void matching_site_await(matching_site_t *site, int skip, int timeout_ms);

/* Every stored match list of the subjects in partition (of site->partitions; -1:
 * all) as text, one "key: candidate=score ..." line a list, the matches and the
 * lines sorted; the number of matches into *matches unless it is NULL. The caller
 * frees the text. */
char *matching_site_snapshot(matching_site_t *site, int partition, size_t *matches);

/* Fails the test, showing where, when snapshots a and b differ; what names them. */
void matching_site_assert_same(const char *a, const char *b, const char *what);

#endif
