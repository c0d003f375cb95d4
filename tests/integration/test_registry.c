/* test_registry.c — the registry as a system of record, against a real redis-server
 * and the real registry binary: idempotent replay (also across a restart), version
 * conflicts, ownership, partial updates, withdrawal, erasure with no personal data
 * left anywhere in Redis, filtered lists with stable pagination across changes, and
 * taxonomy lookups. */
#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_client.h"
#include "ls_entity.h"
#include "ls_json.h"
#include "ls_keys.h"
#include "ls_store.h"

static ls_test_proc_t *s_redis, *s_registry;
static char s_redis_url[128], s_endpoint[64]; /* the admin user's; the registry's */
static ls_test_env_t s_env;
static ls_store_t *s_store;

static int s_start_registry(void)
{
    s_registry = ls_test_spawn("registry", getenv("LS_TEST_REGISTRY"), s_env.env);
    if (s_registry && ls_test_await_ping(s_endpoint) == 0)
        return 0;
    if (s_registry)
        ls_test_dump_log(s_registry);
    return -1;
}

static int s_group_setup(void **state)
{
    (void)state;
    s_redis = ls_test_redis_start(NULL, s_redis_url, sizeof s_redis_url);
    if (!s_redis || !getenv("LS_TEST_REGISTRY"))
        return -1;
    char ignored[64], err[256];
    ls_test_env_redis(&s_env, s_redis_url, "registry");
    ls_test_env_set(&s_env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&s_env, "LODESTONE_TRUSTED_PUBLISHERS", "lapland, asturias, admin");
    ls_test_env_set(&s_env, "LODESTONE_ADMIN_PUBLISHER", "admin");
    ls_test_env_socket(&s_env, "REGISTRY", s_endpoint, sizeof s_endpoint);
    ls_test_env_socket(&s_env, "REGISTRY_PUB", ignored, sizeof ignored);
    s_store = ls_store_new(s_redis_url, 2000, err, sizeof err);
    return s_store ? s_start_registry() : -1;
}

static int s_group_teardown(void **state)
{
    (void)state;
    int status = s_registry ? ls_test_stop(&s_registry) : 0;
    ls_store_destroy(&s_store);
    ls_test_stop(&s_redis);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------------------
 * Requests */

static ls_client_t *s_as(const char *publisher)
{
    ls_client_t *client = ls_client_new(s_endpoint, 5000);
    ls_client_set_publisher(client, publisher);
    return client;
}

static ls_entity_pb *s_entity(const char *text)
{
    return ls_test_entity(text, NULL, 0);
}

static ls_reply_pb *s_call(const char *publisher, ls_envelope_pb *env)
{
    ls_client_t *client = s_as(publisher);
    ls_reply_pb *reply = ls_client_call(client, env);
    if (!reply)
        fail_msg("no reply: %s", ls_client_error(client));
    ls_client_destroy(&client);
    return reply;
}

static ls_reply_pb *s_put(const char *publisher, const char *request_id, const char *json,
                          uint64_t expected)
{
    ls_entity_pb *entity = s_entity(json);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
    put.entity = entity;
    put.expected_version = expected;
    env.request_id = (char *)request_id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &put;
    ls_reply_pb *reply = s_call(publisher, &env);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return reply;
}

static ls_reply_pb *s_get(const char *publisher, const char *id)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetEntity get = LODESTONE__V1__GET_ENTITY__INIT;
    get.id = (char *)id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_GET;
    env.get = &get;
    return s_call(publisher, &env);
}

static ls_reply_pb *s_state(const char *publisher, const char *id, bool erase, uint64_t expected)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__WithdrawEntity withdraw = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    Lodestone__V1__EraseEntity erasure = LODESTONE__V1__ERASE_ENTITY__INIT;
    if (erase) {
        erasure.id = (char *)id;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_ERASE;
        env.erase = &erasure;
    } else {
        withdraw.id = (char *)id;
        withdraw.expected_version = expected;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
        env.withdraw = &withdraw;
    }
    return s_call(publisher, &env);
}

static void s_expect(ls_reply_pb *reply, Lodestone__V1__Status__Code code)
{
    if (reply->status->code != code)
        fail_msg("expected %d, got %d: %s", code, reply->status->code, reply->status->message);
}

/* Puts and returns the new id (caller frees). */
static char *s_create(const char *publisher, const char *json)
{
    ls_reply_pb *reply = s_put(publisher, "", json, 0);
    s_expect(reply, LODESTONE__V1__STATUS__CODE__OK);
    char *id = strdup(reply->put->id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return id;
}

static char *s_sme_json(const char *ref, const char *name, const char *region, const char *extra)
{
    return zsys_sprintf("{\"sme\": {\"ref\": \"%s\", \"name\": \"%s\", \"region\": \"%s\", "
                        "\"stages\": [\"beneficiation\"], \"materials\": [\"cobalt\"], "
                        "\"consentMatch\": true%s%s}}",
                        ref, name, region, *extra ? ", " : "", extra);
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_idempotent_replay_survives_restart(void **state)
{
    (void)state;
    char *json = s_sme_json("idem-1", "Replay Oy", "FI1D7", "");
    ls_reply_pb *first = s_put("lapland", "req-idem-1", json, 0);
    s_expect(first, LODESTONE__V1__STATUS__CODE__OK);
    assert_true(first->put->created);
    uint64_t seq_before = 0;
    ls_store_get_u64(s_store, LS_KEY_SEQ_CHANGES, &seq_before);

    /* The same request id with other content: the first answer, and no change. */
    char *other = s_sme_json("idem-1", "Something Else Oy", "FI1D3", "");
    ls_reply_pb *again = s_put("lapland", "req-idem-1", other, 0);
    s_expect(again, LODESTONE__V1__STATUS__CODE__OK);
    assert_string_equal(again->put->id, first->put->id);
    assert_int_equal(again->put->version, first->put->version);
    assert_int_equal(again->put->seq, first->put->seq);
    assert_true(again->put->created);

    ls_test_stop(&s_registry);
    assert_int_equal(s_start_registry(), 0);
    ls_reply_pb *after = s_put("lapland", "req-idem-1", other, 0);
    s_expect(after, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(after->put->version, 1);
    assert_int_equal(after->put->seq, first->put->seq);
    uint64_t seq_after = 0;
    ls_store_get_u64(s_store, LS_KEY_SEQ_CHANGES, &seq_after);
    assert_int_equal(seq_after, seq_before);

    ls_reply_pb *got = s_get("lapland", first->put->id);
    assert_string_equal(got->entity->sme->name, "Replay Oy");
    /* Another publisher's request with the same id is its own request. */
    ls_reply_pb *theirs = s_put("asturias", "req-idem-1", other, 0);
    s_expect(theirs, LODESTONE__V1__STATUS__CODE__OK);
    assert_string_not_equal(theirs->put->id, first->put->id);
    ls_reply_pb *replies[] = {first, again, after, got, theirs};
    for (size_t i = 0; i < 5; i++)
        lodestone__v1__reply__free_unpacked(replies[i], NULL);
    zstr_free(&json);
    zstr_free(&other);
}

static void test_stale_version_conflicts(void **state)
{
    (void)state;
    char *v1 = s_sme_json("conflict-1", "Version Oy", "FI1D8", "");
    char *v2 = s_sme_json("conflict-1", "Version Two Oy", "FI1D8", "");
    char *v3 = s_sme_json("conflict-1", "Version Three Oy", "FI1D8", "");
    char *id = s_create("lapland", v1);
    ls_reply_pb *ok = s_put("lapland", "", v2, 1);
    s_expect(ok, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(ok->put->version, 2);
    ls_reply_pb *stale = s_put("lapland", "", v3, 1);
    s_expect(stale, LODESTONE__V1__STATUS__CODE__CONFLICT);
    assert_int_equal(stale->status->current_version, 2);
    assert_non_null(strstr(stale->status->message, "current version is 2"));
    ls_reply_pb *withdraw = s_state("lapland", id, false, 1);
    s_expect(withdraw, LODESTONE__V1__STATUS__CODE__CONFLICT);
    ls_reply_pb *got = s_get("lapland", id);
    assert_string_equal(got->entity->sme->name, "Version Two Oy");
    ls_reply_pb *replies[] = {ok, stale, withdraw, got};
    for (size_t i = 0; i < 4; i++)
        lodestone__v1__reply__free_unpacked(replies[i], NULL);
    free(id);
    zstr_free(&v1);
    zstr_free(&v2);
    zstr_free(&v3);
}

static void test_publishers_change_only_their_own(void **state)
{
    (void)state;
    char *json = s_sme_json("owned-1", "Owned Oy", "FI1D7",
                            "\"contact\": {\"name\": \"Aino Omistaja\", \"email\": "
                            "\"aino@owned.example\"}");
    char *id = s_create("lapland", json);
    char *changed = zsys_sprintf("{\"sme\": {\"id\": \"%s\", \"name\": \"Taken Oy\", \"region\": "
                                 "\"ES12\", \"stages\": [\"mets\"]}}",
                                 id);
    ls_reply_pb *theft = s_put("asturias", "", changed, 0);
    s_expect(theft, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_reply_pb *withdraw = s_state("asturias", id, false, 0);
    s_expect(withdraw, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_reply_pb *erase = s_state("asturias", id, true, 0);
    s_expect(erase, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_reply_pb *stranger = s_get("mallory", id);
    s_expect(stranger, LODESTONE__V1__STATUS__CODE__FORBIDDEN);

    /* Contact details: the owner and the admin see them, others do not. */
    ls_reply_pb *mine = s_get("lapland", id), *theirs = s_get("asturias", id);
    assert_non_null(mine->entity->sme->contact);
    assert_string_equal(mine->entity->sme->contact->name, "Aino Omistaja");
    assert_null(theirs->entity->sme->contact);

    ls_reply_pb *admin = s_put("admin", "", changed, 0);
    s_expect(admin, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(admin->put->version, 2);
    ls_reply_pb *replies[] = {theft, withdraw, erase, stranger, mine, theirs, admin};
    for (size_t i = 0; i < 7; i++)
        lodestone__v1__reply__free_unpacked(replies[i], NULL);
    free(id);
    zstr_free(&json);
    zstr_free(&changed);
}

static ls_reply_pb *s_patch(const char *id, const char *json, char **paths, size_t n)
{
    ls_entity_pb *entity = s_entity(json);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PatchEntity patch = LODESTONE__V1__PATCH_ENTITY__INIT;
    patch.id = (char *)id;
    patch.entity = entity;
    patch.paths = paths;
    patch.n_paths = n;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PATCH;
    env.patch = &patch;
    ls_reply_pb *reply = s_call("lapland", &env);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return reply;
}

static void test_partial_update_changes_only_named_fields(void **state)
{
    (void)state;
    char *json = s_sme_json("patch-1", "Patch Oy", "FI1D7",
                            "\"trl\": 5, \"capabilities\": [\"flotation\"], \"contact\": "
                            "{\"email\": \"info@patch.example\"}");
    char *id = s_create("lapland", json);
    char *paths[] = {"region", "capabilities"};
    ls_reply_pb *patched = s_patch(id,
                                   "{\"sme\": {\"region\": \"SE331\", \"capabilities\": "
                                   "[\"  Mine  Automation \"]}}",
                                   paths, 2);
    s_expect(patched, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(patched->put->version, 2);
    ls_reply_pb *got = s_get("lapland", id);
    ls_sme_pb *sme = got->entity->sme;
    assert_string_equal(sme->region, "SE331");
    assert_string_equal(sme->country, "SE");
    assert_string_equal(sme->name, "Patch Oy");
    assert_int_equal(sme->trl, 5);
    assert_int_equal(sme->n_capabilities, 1);
    assert_string_equal(sme->capabilities[0], "mine automation");
    assert_string_equal(sme->contact->email, "info@patch.example");

    char *meta[] = {"version"};
    ls_reply_pb *bad = s_patch(id, "{\"sme\": {}}", meta, 1);
    s_expect(bad, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_string_equal(bad->status->errors[0]->field, "patch.paths[0]");
    char *unknown[] = {"colour"};
    ls_reply_pb *bad2 = s_patch(id, "{\"sme\": {}}", unknown, 1);
    s_expect(bad2, LODESTONE__V1__STATUS__CODE__INVALID);
    /* Clearing a required field fails validation and changes nothing. */
    char *name[] = {"name"};
    ls_reply_pb *bad3 = s_patch(id, "{\"sme\": {}}", name, 1);
    s_expect(bad3, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_string_equal(bad3->status->errors[0]->field, "sme.name");
    ls_reply_pb *replies[] = {patched, got, bad, bad2, bad3};
    for (size_t i = 0; i < 5; i++)
        lodestone__v1__reply__free_unpacked(replies[i], NULL);
    free(id);
    zstr_free(&json);
}

/* Every value of every key in Redis, as one text blob, for "is it anywhere". */
static bool s_anywhere(const char *needle)
{
    redisReply *keys = ls_store_command(s_store, "KEYS *");
    bool found = false;
    for (size_t i = 0; !found && i < keys->elements; i++) {
        const char *key = keys->element[i]->str;
        redisReply *type = ls_store_command(s_store, "TYPE %s", key);
        const char *t = type->str;
        redisReply *v = strcmp(t, "string") == 0 ? ls_store_command(s_store, "GET %s", key)
                        : strcmp(t, "hash") == 0 ? ls_store_command(s_store, "HGETALL %s", key)
                        : strcmp(t, "set") == 0  ? ls_store_command(s_store, "SMEMBERS %s", key)
                        : strcmp(t, "zset") == 0 ? ls_store_command(s_store, "ZRANGE %s 0 -1", key)
                        : strcmp(t, "stream") == 0 ? ls_store_command(s_store, "XRANGE %s - +", key)
                                                   : NULL;
        found = strstr(key, needle) != NULL;
        /* Walk the reply tree; values are binary, so search with memmem. */
        redisReply *stack[4096];
        size_t depth = 0;
        if (v)
            stack[depth++] = v;
        while (!found && depth) {
            redisReply *r = stack[--depth];
            if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
                found = memmem(r->str, r->len, needle, strlen(needle)) != NULL;
            for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements && depth < 4096; k++)
                stack[depth++] = r->element[k];
        }
        if (v)
            freeReplyObject(v);
        freeReplyObject(type);
    }
    freeReplyObject(keys);
    return found;
}

/* An integer reply, or -1 for nil. */
static long long s_count(const char *fmt, const char *arg)
{
    redisReply *r = ls_store_command(s_store, fmt, arg);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static void test_erasure_leaves_no_personal_data(void **state)
{
    (void)state;
    char *json = s_sme_json("erase-1", "Erasable Oy", "EL64",
                            "\"contact\": {\"name\": \"Eleni Diagrafi\", \"email\": "
                            "\"eleni@erasable.example\", \"phone\": \"+30 210 5550199\"}");
    char *id = s_create("lapland", json);
    assert_true(s_anywhere("eleni@erasable.example"));
    ls_reply_pb *erased = s_state("lapland", id, true, 0);
    s_expect(erased, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(erased->put->version, 2);
    const char *personal[] = {"Eleni Diagrafi", "eleni@erasable.example", "+30 210 5550199"};
    for (size_t i = 0; i < 3; i++)
        if (s_anywhere(personal[i]))
            fail_msg("'%s' is still in Redis after erasure", personal[i]);
    /* The entity itself is a tombstone: no body, no name, out of every index. */
    char key[96];
    snprintf(key, sizeof key, LS_KEY_ENTITY "%s", id);
    redisReply *fields = ls_store_command(s_store, "HKEYS %s", key);
    assert_int_equal(fields->elements, 6); /* kind owner version created updated state */
    freeReplyObject(fields);
    assert_int_equal(s_count("EXISTS " LS_KEY_ENTITY "%s" LS_KEY_INDEXES_SUFFIX, id), 0);
    assert_int_equal(s_count("ZSCORE " LS_KEY_INDEX "all:entities %s", id), -1);
    ls_reply_pb *got = s_get("lapland", id);
    s_expect(got, LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    ls_reply_pb *again = s_state("lapland", id, true, 0);
    s_expect(again, LODESTONE__V1__STATUS__CODE__OK);
    assert_true(again->put->unchanged);
    ls_reply_pb *revive = s_put("lapland", "", json, 0); /* the ref is free again */
    s_expect(revive, LODESTONE__V1__STATUS__CODE__OK);
    assert_string_not_equal(revive->put->id, id);
    ls_reply_pb *replies[] = {erased, got, again, revive};
    for (size_t i = 0; i < 4; i++)
        lodestone__v1__reply__free_unpacked(replies[i], NULL);
    free(id);
    zstr_free(&json);
}

static ls_reply_pb *s_list(Lodestone__V1__ListEntities *q)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_LIST;
    env.list = q;
    ls_reply_pb *reply = s_call("lapland", &env);
    s_expect(reply, LODESTONE__V1__STATUS__CODE__OK);
    return reply;
}

/* Lists every page of q; returns the ids seen, in order (caller destroys). */
static zlistx_t *s_list_all(Lodestone__V1__ListEntities *q, void (*between)(int page))
{
    zlistx_t *ids = zlistx_new();
    zlistx_set_destructor(ids, (zlistx_destructor_fn *)zstr_free);
    char cursor[64] = "";
    for (int page = 0; page < 1000; page++) {
        q->cursor = cursor;
        ls_reply_pb *reply = s_list(q);
        for (size_t i = 0; i < reply->list->n_entities; i++) {
            ls_entity_meta_t meta;
            ls_entity_meta(reply->list->entities[i], &meta);
            zlistx_add_end(ids, strdup(*meta.id));
        }
        snprintf(cursor, sizeof cursor, "%s", reply->list->next_cursor);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        if (!*cursor)
            break;
        if (between)
            between(page);
    }
    q->cursor = NULL;
    return ids;
}

static bool s_has(zlistx_t *ids, const char *id)
{
    for (const char *x = zlistx_first(ids); x; x = zlistx_next(ids))
        if (strcmp(x, id) == 0)
            return true;
    return false;
}

static char *s_paged[12];

static void s_change_between_pages(int page)
{
    if (page != 0)
        return;
    /* After the first page (ids 0..2): a new entity, an update of one already seen
     * and one not yet seen, a withdrawal of one not yet seen. */
    char *fresh = s_sme_json("page-new", "Paged New Oy", "ES41", "\"themes\": [\"education\"]");
    char *seen = s_sme_json("page-1", "Paged 1 Renamed Oy", "ES41", "\"themes\": [\"education\"]");
    char *ahead = s_sme_json("page-7", "Paged 7 Renamed Oy", "ES41", "\"themes\": [\"education\"]");
    free(s_create("lapland", fresh));
    ls_reply_pb *r1 = s_put("lapland", "", seen, 0), *r2 = s_put("lapland", "", ahead, 0);
    ls_reply_pb *r3 = s_state("lapland", s_paged[9], false, 0);
    s_expect(r3, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(r1, NULL);
    lodestone__v1__reply__free_unpacked(r2, NULL);
    lodestone__v1__reply__free_unpacked(r3, NULL);
    zstr_free(&fresh);
    zstr_free(&seen);
    zstr_free(&ahead);
}

static void test_list_filters_and_stable_pages(void **state)
{
    (void)state;
    for (int i = 0; i < 12; i++) {
        char ref[32], name[32];
        snprintf(ref, sizeof ref, "page-%d", i);
        snprintf(name, sizeof name, "Paged %d Oy", i);
        char *json = s_sme_json(ref, name, "ES41", "\"themes\": [\"education\"]");
        s_paged[i] = s_create("lapland", json);
        zstr_free(&json);
    }
    free(s_create("lapland", "{\"opportunity\": {\"ref\": \"page-opp\", \"kind\": \"TRAINING\", "
                             "\"title\": \"Paged course\", \"region\": \"ES41\", \"themes\": "
                             "[\"education\"], \"nace\": [\"85.59\"], \"stages\": [\"mets\"]}}"));

    Lodestone__V1__ListEntities q = LODESTONE__V1__LIST_ENTITIES__INIT;
    q.kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
    q.region = "ES41";
    q.theme = "education";
    q.page_size = 3;
    zlistx_t *ids = s_list_all(&q, s_change_between_pages);
    /* Each unchanged entity exactly once, in creation order; the withdrawn one gone;
     * the new one at the end. */
    assert_int_equal(zlistx_size(ids), 12);
    assert_string_equal(zlistx_first(ids), s_paged[0]);
    for (int i = 0; i < 12; i++)
        if ((i == 9) == s_has(ids, s_paged[i]))
            fail_msg("%s (page-%d) listed wrongly", s_paged[i], i);
    zlistx_destroy(&ids);

    q.include_withdrawn = 1;
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 13);
    zlistx_destroy(&ids);
    q.include_withdrawn = 0;

    /* Text, and filters that an SME of another region, kind or material fails. */
    q.text = "RENAMED";
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 2); /* page-1 and page-7 */
    zlistx_destroy(&ids);
    q.text = "";
    q.kind = 0;
    q.material = "cobalt";
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 12); /* the course names no material */
    zlistx_destroy(&ids);
    q.material = "";
    q.nace_prefix = "85";
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 1);
    zlistx_destroy(&ids);
    q.nace_prefix = "85.5";
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 1);
    zlistx_destroy(&ids);
    q.nace_prefix = "07";
    ids = s_list_all(&q, NULL);
    assert_int_equal(zlistx_size(ids), 0);
    zlistx_destroy(&ids);
    q.nace_prefix = "";

    /* Bad filters and cursors are refused by name. */
    q.region = "XX1";
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_LIST;
    env.list = &q;
    ls_reply_pb *bad = s_call("lapland", &env);
    s_expect(bad, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_non_null(strstr(bad->status->message, "list.region"));
    lodestone__v1__reply__free_unpacked(bad, NULL);
    q.region = "ES41";
    q.cursor = "not-a-cursor";
    bad = s_call("lapland", &env);
    s_expect(bad, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_non_null(strstr(bad->status->message, "list.cursor"));
    lodestone__v1__reply__free_unpacked(bad, NULL);
    for (int i = 0; i < 12; i++)
        free(s_paged[i]);
}

static ls_reply_pb *s_taxonomy(Lodestone__V1__GetTaxonomy__Vocabulary vocabulary, const char *query)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetTaxonomy q = LODESTONE__V1__GET_TAXONOMY__INIT;
    q.vocabulary = vocabulary;
    q.query = (char *)query;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_TAXONOMY;
    env.taxonomy = &q;
    return s_call("lapland", &env);
}

static void test_taxonomy_lookups(void **state)
{
    (void)state;
    ls_reply_pb *r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__REGIONS, "");
    s_expect(r, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(r->terms->n_terms, 7);
    assert_string_equal(r->terms->terms[0]->code, "FI1D7");
    assert_true(r->terms->terms[0]->lead);
    lodestone__v1__reply__free_unpacked(r, NULL);

    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__MATERIALS, "");
    assert_string_equal(r->terms->list_version, "crma-2024");
    bool hree = false;
    for (size_t i = 0; i < r->terms->n_terms; i++)
        if (strcmp(r->terms->terms[i]->code, "hree") == 0)
            hree = r->terms->terms[i]->n_members == 10 && r->terms->terms[i]->critical;
    assert_true(hree);
    lodestone__v1__reply__free_unpacked(r, NULL);

    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__NACE, "07.2");
    assert_true(r->terms->n_terms >= 2); /* 07.2 and its classes */
    for (size_t i = 0; i < r->terms->n_terms; i++)
        assert_true(strncmp(r->terms->terms[i]->code, "07.2", 4) == 0);
    lodestone__v1__reply__free_unpacked(r, NULL);
    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__NACE, "METAL ORES");
    assert_true(r->terms->n_terms >= 1);
    lodestone__v1__reply__free_unpacked(r, NULL);

    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__TRL, "");
    assert_int_equal(r->terms->n_terms, 9);
    lodestone__v1__reply__free_unpacked(r, NULL);
    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__STAGES, "");
    assert_int_equal(r->terms->n_terms, 7);
    lodestone__v1__reply__free_unpacked(r, NULL);
    r = s_taxonomy(LODESTONE__V1__GET_TAXONOMY__VOCABULARY__VOCABULARY_UNSPECIFIED, "");
    s_expect(r, LODESTONE__V1__STATUS__CODE__INVALID);
    lodestone__v1__reply__free_unpacked(r, NULL);
}

/* Runs lodestonectl against this registry; its stderr (messages, progress, the
 * summary) into out, its stdout (one line per entity) discarded. */
static int s_ctl(const char *args, char *out, size_t len)
{
    char command[1024];
    snprintf(command, sizeof command, "LODESTONE_REGISTRY_ENDPOINT=%s %s %s 2>&1 >/dev/null",
             s_endpoint, getenv("LS_TEST_CTL"), args);
    return ls_test_run(command, out, len);
}

static void test_bulk_put_is_pipelined_and_reports_bad_items(void **state)
{
    (void)state;
    enum { N = 3000, BAD = 1234 };
    char *dir = ls_test_tmpdir("lodestone-bulk");
    char path[300], args[400];
    snprintf(path, sizeof path, "%s/bulk.json", dir);
    FILE *file = fopen(path, "w");
    fputs("[\n", file);
    for (int i = 0; i < N; i++)
        fprintf(file,
                "%s{\"sme\": {\"ref\": \"bulk-%d\", \"name\": \"Bulk %d Oy\", \"region\": "
                "\"%s\", \"stages\": [\"mets\"], \"materials\": [\"copper\"], "
                "\"consentMatch\": true}}\n",
                i ? "," : "", i, i, i == BAD ? "FI9X9" : "SE331");
    fputs("]\n", file);
    fclose(file);
    static char out[1 << 16];
    snprintf(args, sizeof args, "put %s", path);
    assert_int_equal(s_ctl(args, out, sizeof out), 1);
    /* The bad item is named by its index, ref, status and field; the rest is stored. */
    char *line = zsys_sprintf("bulk.json[%d] (ref bulk-%d): INVALID: sme.region", BAD, BAD);
    if (!strstr(out, line))
        fail_msg("no '%s' in:\n%s", line, out);
    zstr_free(&line);
    assert_non_null(strstr(out, "2999 entities stored (2999 created, 0 updated, 0 unchanged), "
                                "1 failed"));
    assert_int_equal(s_count("ZCARD " LS_KEY_INDEX "material:%s", "copper"), 2999);
    /* Loading the same file again changes nothing. */
    assert_int_equal(s_ctl(args, out, sizeof out), 1);
    assert_non_null(
        strstr(out, "2999 entities stored (0 created, 0 updated, 2999 unchanged), 1 failed"));
    unlink(path);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent_replay_survives_restart),
        cmocka_unit_test(test_stale_version_conflicts),
        cmocka_unit_test(test_publishers_change_only_their_own),
        cmocka_unit_test(test_partial_update_changes_only_named_fields),
        cmocka_unit_test(test_erasure_leaves_no_personal_data),
        cmocka_unit_test(test_list_filters_and_stable_pages),
        cmocka_unit_test(test_taxonomy_lookups),
        cmocka_unit_test(test_bulk_put_is_pipelined_and_reports_bad_items),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
