/* ctl_registry.c — lodestonectl's registry commands beyond put and get: patch,
 * withdraw, erase, list and taxonomy. */
#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ls_json.h"

/* Parses "--expect N"; returns 0, or 2 (usage) after saying why. */
static int s_expect(const char *text, uint64_t *version)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || !*text || text[0] == '-' || v == 0) {
        fprintf(stderr, "lodestonectl: --expect takes a version, 1 or more\n");
        return 2;
    }
    *version = v;
    return 0;
}

/* Sends env to the registry, prints the write's result; returns the exit code. */
static int s_write(const char *what, ls_envelope_pb *env)
{
    ls_reply_pb *reply = ctl_call("registry", what, env, LODESTONE__V1__REPLY__BODY__NOT_SET);
    if (!reply)
        return 1;
    if (reply->body_case == LODESTONE__V1__REPLY__BODY_PUT)
        ctl_print(&reply->put->base, false);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return 0;
}

int ctl_patch(int argc, char **argv)
{
    uint64_t expected = 0;
    if (argc == 4 && strcmp(argv[2], "--expect") == 0) {
        if (s_expect(argv[3], &expected))
            return 2;
    } else if (argc != 2) {
        fprintf(stderr, "usage: lodestonectl patch ID JSON|@FILE [--expect VERSION]\n");
        return 2;
    }
    json_t *json = ctl_load_json(argv[1]);
    if (!json)
        return 1;
    /* The fields given are the fields changed: {"sme": {"trl": 7, "website": null}}. */
    json_t *inner =
        json_object_size(json) == 1 ? json_object_iter_value(json_object_iter(json)) : NULL;
    if (!json_is_object(inner)) {
        fprintf(stderr, "lodestonectl: patch takes {\"sme\"|\"investor\"|\"opportunity\": "
                        "{fields}}\n");
        json_decref(json);
        return 2;
    }
    char err[512];
    ls_entity_pb *entity = (ls_entity_pb *)ls_json_to_message(&lodestone__v1__entity__descriptor,
                                                              json, err, sizeof err);
    if (!entity) {
        fprintf(stderr, "lodestonectl: %s\n", err);
        json_decref(json);
        return 1;
    }
    size_t n = json_object_size(inner), i = 0;
    char **paths = calloc(n ? n : 1, sizeof *paths);
    const char *key;
    json_t *value;
    json_object_foreach(inner, key, value) paths[i++] = (char *)key;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PatchEntity patch = LODESTONE__V1__PATCH_ENTITY__INIT;
    patch.id = argv[0];
    patch.entity = entity;
    patch.paths = paths;
    patch.n_paths = n;
    patch.expected_version = expected;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PATCH;
    env.patch = &patch;
    int rc = s_write(argv[0], &env);
    free(paths);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    json_decref(json);
    return rc;
}

int ctl_withdraw(int argc, char **argv)
{
    Lodestone__V1__WithdrawEntity withdraw = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    if (argc == 3 && strcmp(argv[1], "--expect") == 0) {
        if (s_expect(argv[2], &withdraw.expected_version))
            return 2;
    } else if (argc != 1) {
        fprintf(stderr, "usage: lodestonectl withdraw ID [--expect VERSION]\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    withdraw.id = argv[0];
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
    env.withdraw = &withdraw;
    return s_write(argv[0], &env);
}

int ctl_erase(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: lodestonectl erase ID\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__EraseEntity erase = LODESTONE__V1__ERASE_ENTITY__INIT;
    erase.id = argv[0];
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_ERASE;
    env.erase = &erase;
    return s_write(argv[0], &env);
}

/* ---------------------------------------------------------------------------
 * list */

static const char *const s_kinds[] = {"", "sme", "investor", "opportunity"};

/* Fills q from the options; returns 0 or 2 (usage). */
static int s_list_options(int argc, char **argv, Lodestone__V1__ListEntities *q, bool *all)
{
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        char **field = strcmp(opt, "--region") == 0     ? &q->region
                       : strcmp(opt, "--stage") == 0    ? &q->stage
                       : strcmp(opt, "--material") == 0 ? &q->material
                       : strcmp(opt, "--theme") == 0    ? &q->theme
                       : strcmp(opt, "--nace") == 0     ? &q->nace_prefix
                       : strcmp(opt, "--text") == 0     ? &q->text
                       : strcmp(opt, "--cursor") == 0   ? &q->cursor
                                                        : NULL;
        if (field && value) {
            *field = (char *)value;
            i++;
        } else if (strcmp(opt, "--kind") == 0 && value) {
            q->kind = 0;
            for (int k = 1; k <= 3; k++)
                if (strcmp(value, s_kinds[k]) == 0)
                    q->kind = (Lodestone__V1__EntityKind)k;
            if (!q->kind) {
                fprintf(stderr, "lodestonectl: --kind takes sme, investor or opportunity\n");
                return 2;
            }
            i++;
        } else if (strcmp(opt, "--page-size") == 0 && value) {
            q->page_size = (uint32_t)strtoul(value, NULL, 10);
            i++;
        } else if (strcmp(opt, "--all") == 0)
            *all = true;
        else if (strcmp(opt, "--withdrawn") == 0)
            q->include_withdrawn = 1;
        else {
            fprintf(stderr, "lodestonectl: list: unknown option '%s'\n", opt);
            return 2;
        }
    }
    return 0;
}

int ctl_list(int argc, char **argv)
{
    Lodestone__V1__ListEntities q = LODESTONE__V1__LIST_ENTITIES__INIT;
    bool all = false;
    if (s_list_options(argc, argv, &q, &all))
        return 2;
    ls_client_t *client = ctl_client("registry");
    if (!client)
        return 1;
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", q.cursor ? q.cursor : "");
    int rc = 0;
    size_t listed = 0;
    do {
        q.cursor = cursor;
        ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_LIST;
        env.list = &q;
        ls_reply_pb *reply = ls_client_call(client, &env);
        rc = ctl_check("list", client, reply);
        if (rc == 0 && reply->body_case != LODESTONE__V1__REPLY__BODY_LIST) {
            fprintf(stderr, "lodestonectl: list: the registry answered without a list\n");
            rc = -1;
        }
        cursor[0] = 0;
        if (rc == 0) {
            for (size_t i = 0; i < reply->list->n_entities; i++)
                ctl_print(&reply->list->entities[i]->base, false);
            listed += reply->list->n_entities;
            snprintf(cursor, sizeof cursor, "%s", reply->list->next_cursor);
        }
        if (reply)
            lodestone__v1__reply__free_unpacked(reply, NULL);
    } while (rc == 0 && all && *cursor && !zsys_interrupted);
    if (rc == 0 && *cursor)
        fprintf(stderr, "lodestonectl: %zu listed; more with --cursor %s (or --all)\n", listed,
                cursor);
    ls_client_destroy(&client);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------------------
 * taxonomy */

int ctl_taxonomy(int argc, char **argv)
{
    static const char *const names[] = {"",     "regions", "materials", "stages",
                                        "nace", "trl",     "themes"};
    Lodestone__V1__GetTaxonomy q = LODESTONE__V1__GET_TAXONOMY__INIT;
    for (int v = 1; argc >= 1 && v <= 6; v++)
        if (strcmp(argv[0], names[v]) == 0)
            q.vocabulary = (Lodestone__V1__GetTaxonomy__Vocabulary)v;
    if (!q.vocabulary || argc > 2) {
        fprintf(stderr, "usage: lodestonectl taxonomy regions|materials|stages|themes|nace|trl "
                        "[QUERY]\n");
        return 2;
    }
    q.query = argc == 2 ? argv[1] : "";
    q.limit = 2000;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_TAXONOMY;
    env.taxonomy = &q;
    ls_reply_pb *reply = ctl_call("registry", "taxonomy", &env, LODESTONE__V1__REPLY__BODY_TERMS);
    if (!reply)
        return 1;
    for (size_t i = 0; i < reply->terms->n_terms; i++)
        ctl_print(&reply->terms->terms[i]->base, false);
    if (*reply->terms->list_version)
        fprintf(stderr, "lodestonectl: critical raw materials list %s\n",
                reply->terms->list_version);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return 0;
}
