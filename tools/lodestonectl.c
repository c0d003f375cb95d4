/* lodestonectl — the command-line client for every Lodestone request, for people
 * and for scripts. Exit codes: 0 ok, 1 error (said on stderr), 2 usage. */
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_client.h"
#include "ls_codec.h"
#include "ls_config.h"
#include "ls_json.h"
#include "ls_rpc.h"
#include "ls_util.h"

static ls_config_t s_config;

static int s_usage(void)
{
    fprintf(
        stderr,
        "usage: lodestonectl COMMAND [ARGS]\n"
        "  put FILE.json...            create or update entities (one per file or an array)\n"
        "  get ID                      print an entity as JSON\n"
        "  matches ID [--limit N] [--text]\n"
        "                              print an entity's matches with explanations\n"
        "  watch [TOPIC]               print notifications as JSON lines (TOPIC: recipient id)\n"
        "  ping registry|matching|notification\n"
        "  wait [--timeout SECONDS]    wait until matching and notification have caught up\n"
        "  config                      print the environment variables and their defaults\n");
    return 2;
}

static const char *s_endpoint(const char *service)
{
    if (strcmp(service, "registry") == 0)
        return s_config.registry_endpoint;
    if (strcmp(service, "matching") == 0)
        return s_config.matching_endpoint;
    if (strcmp(service, "notification") == 0)
        return s_config.notification_endpoint;
    return NULL;
}

/* Prints msg as JSON on one line (compact) or indented. */
static void s_print(const ProtobufCMessage *msg, bool indent)
{
    json_t *json = ls_json_from_message(msg);
    char *text =
        json ? json_dumps(json, JSON_PRESERVE_ORDER | (indent ? JSON_INDENT(2) : JSON_COMPACT))
             : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(json);
}

/* Says why a reply is not OK on stderr. Returns 0 when it is OK. */
static int s_check(const char *what, ls_client_t *client, ls_reply_pb *reply)
{
    if (!reply) {
        fprintf(stderr, "lodestonectl: %s: %s\n", what, ls_client_error(client));
        return -1;
    }
    if (!reply->status || reply->status->code == LODESTONE__V1__STATUS__CODE__OK)
        return 0;
    fprintf(stderr, "lodestonectl: %s: %s: %s\n", what, ls_status_name(reply->status->code),
            reply->status->message);
    for (size_t i = 0; i < reply->status->n_errors; i++)
        fprintf(stderr, "  %s: %s\n", reply->status->errors[i]->field,
                reply->status->errors[i]->reason);
    return -1;
}

static ls_client_t *s_client(const char *service)
{
    const char *endpoint = s_endpoint(service);
    ls_client_t *client = endpoint ? ls_client_new(endpoint, s_config.timeout_ms) : NULL;
    if (!client)
        fprintf(stderr, "lodestonectl: cannot reach %s at %s\n", service,
                endpoint ? endpoint : "?");
    return client;
}

/* Puts one entity; prints {"ref","id","version","seq","created","unchanged"} on
 * success. Returns 0, -1 when it was refused, -2 when the registry did not answer. */
static int s_put_one(ls_client_t *client, const char *where, const json_t *json)
{
    char err[512];
    ls_entity_pb *entity = (ls_entity_pb *)ls_json_to_message(&lodestone__v1__entity__descriptor,
                                                              json, err, sizeof err);
    if (!entity) {
        fprintf(stderr, "lodestonectl: %s: %s\n", where, err);
        return -1;
    }
    ls_reply_pb *reply = ls_client_put(client, entity, 0);
    int rc = s_check(where, client, reply);
    if (rc == 0 && reply->body_case == LODESTONE__V1__REPLY__BODY_PUT) {
        const json_t *inner = json_object_iter_value(json_object_iter((json_t *)json));
        const char *ref = json_string_value(json_object_get(inner, "ref"));
        json_t *line = json_pack("{s:s, s:s, s:I, s:I, s:b, s:b}", "ref", ref ? ref : "", "id",
                                 reply->put->id, "version", (json_int_t)reply->put->version, "seq",
                                 (json_int_t)reply->put->seq, "created", reply->put->created,
                                 "unchanged", reply->put->unchanged);
        char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(line);
    } else if (!reply)
        rc = -2;
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return rc;
}

/* Puts every entity of one parsed file; counts into ok and failed. Returns -2 when
 * the registry stopped answering. */
static int s_put_file(ls_client_t *client, const char *name, json_t *root, size_t *ok,
                      size_t *failed)
{
    char where[600];
    size_t count = json_is_array(root) ? json_array_size(root) : 1;
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_is_array(root) ? json_array_get(root, i) : root;
        if (json_is_array(root))
            snprintf(where, sizeof where, "%s[%zu]", name, i);
        else
            snprintf(where, sizeof where, "%s", name);
        int rc = s_put_one(client, where, item);
        rc == 0 ? (*ok)++ : (*failed)++;
        if (rc == -2)
            return -2;
    }
    return 0;
}

static int s_cmd_put(int argc, char **argv)
{
    if (argc < 1)
        return s_usage();
    ls_client_t *client = s_client("registry");
    if (!client)
        return 1;
    /* Fail at once, not one timeout per entity, when the registry is not there. */
    ls_reply_pb *pong = ls_client_ping(client);
    int rc = s_check("registry", client, pong);
    if (pong)
        lodestone__v1__reply__free_unpacked(pong, NULL);
    if (rc) {
        ls_client_destroy(&client);
        return 1;
    }
    size_t ok = 0, failed = 0;
    for (int f = 0; f < argc && rc == 0; f++) {
        json_error_t error;
        json_t *root = strcmp(argv[f], "-") == 0 ? json_loadf(stdin, 0, &error)
                                                 : json_load_file(argv[f], 0, &error);
        if (!root) {
            fprintf(stderr, "lodestonectl: %s:%d:%d: %s\n", argv[f], error.line, error.column,
                    error.text);
            failed++;
            continue;
        }
        rc = s_put_file(client, argv[f], root, &ok, &failed);
        json_decref(root);
    }
    if (rc == -2)
        fprintf(stderr, "lodestonectl: the registry stopped answering; the rest was not sent\n");
    fprintf(stderr, "lodestonectl: %zu entities stored, %zu failed\n", ok, failed);
    ls_client_destroy(&client);
    return failed ? 1 : 0;
}

static int s_cmd_get(int argc, char **argv)
{
    if (argc != 1)
        return s_usage();
    ls_client_t *client = s_client("registry");
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_get(client, argv[0]);
    int rc = s_check(argv[0], client, reply);
    if (rc == 0)
        s_print(&reply->entity->base, true);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    return rc ? 1 : 0;
}

static void s_print_text(const Lodestone__V1__MatchList *list)
{
    if (list->n_matches == 0) {
        printf("%s has no matches yet.\n", list->entity_id);
        return;
    }
    printf("Matches for %s:\n", list->entity_id);
    for (size_t i = 0; i < list->n_matches; i++) {
        const ls_match_pb *m = list->matches[i];
        printf("%2zu. %.2f  %s  %s\n", i + 1, m->score, m->candidate_id, m->candidate_name);
        for (size_t f = 0; f < m->n_facets; f++) {
            const ls_facet_score_pb *fs = m->facets[f];
            printf("      %-10s %.2f x %.2f = %.2f  %s\n", fs->facet, fs->weight, fs->similarity,
                   fs->contribution, fs->reason);
        }
    }
}

static int s_cmd_matches(int argc, char **argv)
{
    const char *id = NULL;
    long limit = 0;
    bool text = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0)
            text = true;
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 1 || limit > 1000) {
                fprintf(stderr, "lodestonectl: --limit takes a number from 1 to 1000\n");
                return 2;
            }
        } else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            return s_usage();
    }
    if (!id)
        return s_usage();
    ls_client_t *client = s_client("matching");
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_matches(client, id, (uint32_t)limit);
    int rc = s_check(id, client, reply);
    if (rc == 0 && reply->body_case == LODESTONE__V1__REPLY__BODY_MATCHES) {
        if (text)
            s_print_text(reply->matches);
        else
            s_print(&reply->matches->base, true);
    }
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    return rc ? 1 : 0;
}

static int s_cmd_watch(int argc, char **argv)
{
    if (argc > 1)
        return s_usage();
    zsock_t *sub = zsock_new(ZMQ_SUB);
    zsock_set_maxmsgsize(sub, s_config.max_message_bytes);
    zsock_set_rcvhwm(sub, 100000);
    if (!sub || zsock_connect(sub, "%s", s_config.notification_pub_endpoint)) {
        fprintf(stderr, "lodestonectl: cannot connect to %s\n", s_config.notification_pub_endpoint);
        zsock_destroy(&sub);
        return 1;
    }
    zsock_set_subscribe(sub, argc == 1 ? argv[0] : "");
    fprintf(stderr, "lodestonectl: watching %s for %s (Ctrl-C to stop)\n",
            s_config.notification_pub_endpoint, argc == 1 ? argv[0] : "every recipient");
    while (!zsys_interrupted) {
        zmsg_t *msg = zmsg_recv(sub);
        if (!msg)
            break;
        zframe_t *body = zmsg_last(msg);
        const char *reason = NULL;
        ProtobufCMessage *note =
            zmsg_size(msg) == 2
                ? ls_codec_unpack(&lodestone__v1__notification__descriptor, zframe_data(body),
                                  zframe_size(body), (size_t)s_config.max_message_bytes, &reason)
                : NULL;
        if (note) {
            s_print(note, false);
            fflush(stdout);
            protobuf_c_message_free_unpacked(note, NULL);
        } else
            fprintf(stderr, "lodestonectl: skipped a malformed notification\n");
        zmsg_destroy(&msg);
    }
    zsock_destroy(&sub);
    return 0;
}

/* Pings service; fills pong fields. Returns 0 when it answered OK. */
static int s_pong(const char *service, uint64_t *seq, uint64_t *latest)
{
    ls_client_t *client = s_client(service);
    if (!client)
        return -1;
    ls_reply_pb *reply = ls_client_ping(client);
    int rc = s_check(service, client, reply);
    if (rc == 0 && reply->body_case == LODESTONE__V1__REPLY__BODY_PONG) {
        *seq = reply->pong->seq;
        *latest = reply->pong->journal_latest;
    } else
        rc = -1;
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    return rc;
}

static int s_cmd_ping(int argc, char **argv)
{
    if (argc != 1 || !s_endpoint(argv[0]))
        return s_usage();
    ls_client_t *client = s_client(argv[0]);
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_ping(client);
    int rc = s_check(argv[0], client, reply);
    if (rc == 0)
        s_print(&reply->pong->base, false);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    return rc ? 1 : 0;
}

static int s_cmd_wait(int argc, char **argv)
{
    long timeout_s = 60;
    if (argc == 2 && strcmp(argv[0], "--timeout") == 0) {
        char *end;
        timeout_s = strtol(argv[1], &end, 10);
        if (*end || timeout_s < 1 || timeout_s > 86400) {
            fprintf(stderr, "lodestonectl: --timeout takes seconds from 1 to 86400\n");
            return 2;
        }
    } else if (argc != 0)
        return s_usage();
    int64_t deadline = ls_mono_ms() + timeout_s * 1000;
    uint64_t written = 0, matched = 0, changes_latest = 0, notified = 0, matches_latest = 0;
    int64_t last_report = 0;
    while (ls_mono_ms() < deadline && !zsys_interrupted) {
        uint64_t ignored;
        bool ok = s_pong("registry", &written, &ignored) == 0 &&
                  s_pong("matching", &matched, &changes_latest) == 0 &&
                  s_pong("notification", &notified, &matches_latest) == 0;
        if (ok && matched >= written && notified >= matches_latest) {
            fprintf(stderr,
                    "lodestonectl: caught up: %llu changes matched, %llu match events "
                    "notified\n",
                    (unsigned long long)matched, (unsigned long long)notified);
            return 0;
        }
        if (ls_mono_ms() - last_report >= 1000) {
            fprintf(stderr,
                    "lodestonectl: waiting: matching at change %llu of %llu, "
                    "notification at match event %llu of %llu\n",
                    (unsigned long long)matched, (unsigned long long)written,
                    (unsigned long long)notified, (unsigned long long)matches_latest);
            last_report = ls_mono_ms();
        }
        zclock_sleep(200);
    }
    fprintf(stderr, "lodestonectl: not caught up after %ld s\n", timeout_s);
    return 1;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc < 2)
        return s_usage();
    if (ls_config_load(&s_config, err, sizeof err)) {
        fprintf(stderr, "lodestonectl: %s\n", err);
        return 2;
    }
    zsys_init();
    const char *cmd = argv[1];
    int rest = argc - 2;
    char **args = argv + 2;
    if (strcmp(cmd, "put") == 0)
        return s_cmd_put(rest, args);
    if (strcmp(cmd, "get") == 0)
        return s_cmd_get(rest, args);
    if (strcmp(cmd, "matches") == 0)
        return s_cmd_matches(rest, args);
    if (strcmp(cmd, "watch") == 0)
        return s_cmd_watch(rest, args);
    if (strcmp(cmd, "ping") == 0)
        return s_cmd_ping(rest, args);
    if (strcmp(cmd, "wait") == 0)
        return s_cmd_wait(rest, args);
    if (strcmp(cmd, "config") == 0) {
        ls_config_describe(stdout);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        s_usage();
        return 0;
    }
    fprintf(stderr, "lodestonectl: unknown command '%s'\n", cmd);
    return s_usage();
}
