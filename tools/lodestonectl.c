/* lodestonectl — the command-line client for every Lodestone request, for people
 * and for scripts. Exit codes: 0 ok, 1 error (said on stderr), 2 usage. */
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ls_client.h"
#include "ls_codec.h"
#include "ls_config.h"
#include "ls_entity.h"
#include "ls_json.h"
#include "ls_rpc.h"
#include "ls_security.h"
#include "ls_util.h"

ls_config_t ctl_config;

static int s_usage(void)
{
    fprintf(
        stderr,
        "usage: lodestonectl COMMAND [ARGS]\n"
        "  put FILE.json...            create or update entities (one per file or an array;\n"
        "                              - reads stdin); sent pipelined, so the result lines\n"
        "                              may come in another order than the input\n"
        "  get ID                      print an entity as JSON\n"
        "  matches ID [--limit N] [--text]\n"
        "                              print an entity's matches with explanations\n"
        "  watch [RECIPIENT|region/NUTS]  print live notifications as JSON lines: every\n"
        "                              recipient's, one recipient's, or a region's\n"
        "  ping registry|matching|notification\n"
        "  wait [--timeout SECONDS]    wait until matching and notification have caught up\n"
        "  patch ID JSON               change only the fields given: '{\"sme\": {\"trl\": 7}}'\n"
        "                              (null clears a field; JSON may be @FILE)\n"
        "  withdraw ID                 take an entity out of matching; it stays readable\n"
        "  erase ID                    erase an entity and its personal data (GDPR)\n"
        "  list [--kind K] [--region R] [--stage S] [--material M] [--theme T]\n"
        "       [--nace PREFIX] [--text T] [--page-size N] [--cursor C] [--all] [--withdrawn]\n"
        "                              entities as JSON lines, in creation order\n"
        "  taxonomy regions|materials|stages|themes|nace|trl [QUERY]\n"
        "                              the reference vocabularies (NACE: code or word)\n"
        "  explain SUBJECT CANDIDATE   why a pair matches, or which filter excludes it\n"
        "  rematch [--refresh]         recompute every match list (--refresh: new IDF snapshot)\n"
        "  stats                       the matching engine's statistics\n"
        "  report map|demos [--material M] [--limit N] [--json | --csv | --svg FILE]\n"
        "                              the regional capability map (--svg: a heat map) or\n"
        "                              joint-demonstration suggestions (--material, --limit)\n"
        "  subscribe JSON|@FILE        create a subscription (docs/notification.md)\n"
        "  subscriptions [--recipient NAME]  the publisher's subscriptions as JSON lines\n"
        "  unsubscribe ID              delete a subscription\n"
        "  inbox RECIPIENT [--since CURSOR] [--ack CURSOR] [--limit N]\n"
        "                              read (and acknowledge) a recipient's inbox\n"
        "  deadletters [--sub ID] [--limit N]  webhook deliveries that gave up\n"
        "  replay [--sub ID] [DELIVERY_ID...]  send dead letters again\n"
        "  interest SUBJECT CANDIDATE [yes|no]  say whether SUBJECT is interested in a\n"
        "                              match (without yes/no: the pair's state)\n"
        "  status                      every service's health, journal lag and key counters\n"
        "                              (from /healthz and /metrics); exit 1 unless all healthy\n"
        "  config                      print the environment variables and their defaults\n"
        "  keygen NAME [--file BASE]   make a CURVE key pair for publisher NAME: BASE.key\n"
        "                              (public: into the services' LODESTONE_PUBLISHER_KEYS)\n"
        "                              and BASE.key_secret (the client's\n"
        "                              LODESTONE_CLIENT_SECRET_KEY); BASE defaults to NAME\n"
        "Expected versions: patch and withdraw take --expect VERSION.\n"
        "LODESTONE_PUBLISHER, when set, names the publisher the requests act as.\n");
    return 2;
}

static const char *s_endpoint(const char *service)
{
    if (strcmp(service, "registry") == 0)
        return ctl_config.registry_endpoint;
    if (strcmp(service, "matching") == 0)
        return ctl_config.matching_endpoint;
    if (strcmp(service, "notification") == 0)
        return ctl_config.notification_endpoint;
    return NULL;
}

void ctl_print(const ProtobufCMessage *msg, bool indent)
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

int ctl_check(const char *what, ls_client_t *client, ls_reply_pb *reply)
{
    if (!reply) {
        fprintf(stderr, "lodestonectl: %s: %s\n", what, ls_client_error(client));
        return -1;
    }
    if (!reply->status || reply->status->code == LODESTONE__V1__STATUS__CODE__OK)
        return 0;
    fprintf(stderr, "lodestonectl: %s: %s: %s\n", what, ls_status_name(reply->status->code),
            reply->status->message);
    /* A single error is already the message ("field: reason"); list several. */
    for (size_t i = 0; reply->status->n_errors > 1 && i < reply->status->n_errors; i++)
        fprintf(stderr, "  %s: %s\n", reply->status->errors[i]->field,
                reply->status->errors[i]->reason);
    return -1;
}

ls_reply_pb *ctl_call(const char *service, const char *what, ls_envelope_pb *env,
                      Lodestone__V1__Reply__BodyCase want)
{
    ls_client_t *client = ctl_client(service);
    if (!client)
        return NULL;
    ls_reply_pb *reply = ls_client_call(client, env);
    int rc = ctl_check(what, client, reply);
    if (rc == 0 && want != LODESTONE__V1__REPLY__BODY__NOT_SET && reply->body_case != want) {
        fprintf(stderr, "lodestonectl: %s: %s answered without the result asked for\n", what,
                service);
        rc = -1;
    }
    if (rc && reply) {
        lodestone__v1__reply__free_unpacked(reply, NULL);
        reply = NULL;
    }
    ls_client_destroy(&client);
    return reply;
}

int ctl_limit(const char *text, uint32_t *out)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*end || value < 1 || value > 1000) {
        fprintf(stderr, "lodestonectl: --limit takes a number from 1 to 1000\n");
        return -1;
    }
    *out = (uint32_t)value;
    return 0;
}

json_t *ctl_load_json(const char *arg)
{
    json_error_t error;
    json_t *json = arg[0] == '@' ? json_load_file(arg + 1, 0, &error) : json_loads(arg, 0, &error);
    if (!json)
        fprintf(stderr, "lodestonectl: %s:%d:%d: %s\n", arg[0] == '@' ? arg + 1 : "JSON",
                error.line, error.column, error.text);
    return json;
}

ls_client_t *ctl_client(const char *service)
{
    const char *endpoint = s_endpoint(service);
    char err[512] = "unknown service";
    ls_client_t *client = endpoint ? ls_client_new_secure(endpoint, ctl_config.timeout_ms,
                                                          &ctl_config, err, sizeof err)
                                   : NULL;
    /* Only a publisher the user named: otherwise the key's (CURVE) or the registry's
     * default (plain) applies. */
    if (client && getenv("LODESTONE_PUBLISHER"))
        ls_client_set_publisher(client, ctl_config.publisher);
    if (!client)
        fprintf(stderr, "lodestonectl: cannot reach %s at %s: %s\n", service,
                endpoint ? endpoint : "?", err);
    return client;
}

/* ---------------------------------------------------------------------------
 * put: pipelined. Up to S_PUT_WINDOW requests are in flight; replies come back in
 * any order and are matched to their items by request_id. */

#define S_PUT_WINDOW 128
#define S_PUT_PROGRESS_ITEMS 1000 /* show progress past this many, even off a terminal */

/* An item sent and not yet answered. */
typedef struct {
    char *where; /* "FILE[index]", or "FILE" for a file of one entity */
    char *ref;
} s_put_item_t;

/* One put command, across all its files. */
typedef struct {
    ls_client_t *client;
    zhashx_t *in_flight; /* request_id -> s_put_item_t */
    size_t total;        /* items in the files read so far */
    size_t sent, answered, created, updated, unchanged, failed;
    bool stopped; /* the registry stopped answering */
    bool progress;
    int64_t started_ms, shown_ms;
} s_put_t;

static void s_put_item_destroy(void **item_p)
{
    s_put_item_t *item = *item_p;
    if (item) {
        free(item->where);
        free(item->ref);
        free(item);
        *item_p = NULL;
    }
}

/* At most once a second, when stderr is a terminal or the load is large. */
static void s_put_progress(s_put_t *put)
{
    int64_t now = ls_mono_ms();
    if (!(put->progress || put->total > S_PUT_PROGRESS_ITEMS) || now - put->shown_ms < 1000)
        return;
    put->shown_ms = now;
    double seconds = (double)(now - put->started_ms) / 1000.0;
    fprintf(stderr, "lodestonectl: put: %zu of %zu sent, %zu answered, %.0f/s\n", put->sent,
            put->total, put->answered, seconds > 0 ? (double)put->answered / seconds : 0.0);
}

static void s_put_success(s_put_t *put, const s_put_item_t *item, const Lodestone__V1__PutResult *r)
{
    json_t *line = json_pack("{s:s, s:s, s:I, s:I, s:b, s:b}", "ref", item->ref, "id", r->id,
                             "version", (json_int_t)r->version, "seq", (json_int_t)r->seq,
                             "created", r->created, "unchanged", r->unchanged);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(line);
    if (r->created)
        put->created++;
    else if (r->unchanged)
        put->unchanged++;
    else
        put->updated++;
}

/* "FILE[index] (ref R): CODE: message", then one line per field error. */
static void s_put_failure(s_put_t *put, const s_put_item_t *item, const ls_reply_pb *reply)
{
    const ls_status_pb *status = reply->status;
    fprintf(stderr, "lodestonectl: %s%s%s%s: %s: %s\n", item->where, *item->ref ? " (ref " : "",
            item->ref, *item->ref ? ")" : "", status ? ls_status_name(status->code) : "INTERNAL",
            status ? status->message : "the reply holds no put result");
    for (size_t i = 0; status && i < status->n_errors; i++)
        fprintf(stderr, "  %s: %s\n", status->errors[i]->field, status->errors[i]->reason);
    put->failed++;
}

/* Waits for one reply and settles its item. Returns -1 when none came in time. */
static int s_put_await(s_put_t *put)
{
    ls_reply_pb *reply = ls_client_recv(put->client, ctl_config.timeout_ms);
    if (!reply) {
        put->stopped = true;
        return -1;
    }
    s_put_item_t *item = zhashx_lookup(put->in_flight, reply->request_id);
    if (item) { /* else a late answer to an earlier command: not ours */
        bool ok = (!reply->status || reply->status->code == LODESTONE__V1__STATUS__CODE__OK) &&
                  reply->body_case == LODESTONE__V1__REPLY__BODY_PUT;
        if (ok)
            s_put_success(put, item, reply->put);
        else
            s_put_failure(put, item, reply);
        put->answered++;
        zhashx_delete(put->in_flight, reply->request_id);
    }
    lodestone__v1__reply__free_unpacked(reply, NULL);
    s_put_progress(put);
    return 0;
}

/* Sends one entity once the window has room. Returns -1 when the registry stopped
 * answering or the request could not be sent. */
static int s_put_send(s_put_t *put, const char *where, ls_entity_pb *entity)
{
    while (zhashx_size(put->in_flight) >= S_PUT_WINDOW)
        if (s_put_await(put))
            return -1;
    ls_entity_meta_t meta;
    s_put_item_t *item = calloc(1, sizeof *item);
    if (item) {
        item->where = strdup(where);
        item->ref = strdup(ls_entity_meta(entity, &meta) == 0 ? *meta.ref : "");
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity body = LODESTONE__V1__PUT_ENTITY__INIT;
    body.entity = entity;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &body;
    char request_id[LS_CLIENT_MAX_REQUEST_ID + 1];
    if (!item || !item->where || !item->ref || ls_client_send(put->client, &env, request_id)) {
        fprintf(stderr, "lodestonectl: %s: %s\n", where,
                item ? ls_client_error(put->client) : "out of memory");
        s_put_item_destroy((void **)&item);
        put->stopped = true;
        return -1;
    }
    zhashx_insert(put->in_flight, request_id, item);
    put->sent++;
    return 0;
}

/* Sends one item of a file. A JSON error is reported here and counted as failed. */
static int s_put_one(s_put_t *put, const char *where, const json_t *json)
{
    char err[512];
    ls_entity_pb *entity = (ls_entity_pb *)ls_json_to_message(&lodestone__v1__entity__descriptor,
                                                              json, err, sizeof err);
    if (!entity) {
        fprintf(stderr, "lodestonectl: %s: %s\n", where, err);
        put->failed++;
        return 0;
    }
    int rc = s_put_send(put, where, entity);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    s_put_progress(put);
    return rc;
}

/* Sends every entity of one parsed file. Returns -1 when the registry stopped
 * answering. */
static int s_put_file(s_put_t *put, const char *name, json_t *root)
{
    char where[600];
    bool array = json_is_array(root);
    size_t count = array ? json_array_size(root) : 1;
    put->total += count;
    for (size_t i = 0; i < count; i++) {
        if (array)
            snprintf(where, sizeof where, "%s[%zu]", name, i);
        else
            snprintf(where, sizeof where, "%s", name);
        if (s_put_one(put, where, array ? json_array_get(root, i) : root))
            return -1;
    }
    return 0;
}

/* The registry's silence, then "N entities stored (...), F failed". */
static void s_put_summary(s_put_t *put)
{
    size_t unanswered = zhashx_size(put->in_flight);
    if (put->stopped) {
        fprintf(stderr,
                "lodestonectl: the registry stopped answering (%s): %zu sent were not "
                "answered; the rest was not sent\n",
                ls_client_error(put->client), unanswered);
        put->failed += unanswered;
    }
    fprintf(stderr,
            "lodestonectl: %zu entities stored (%zu created, %zu updated, %zu unchanged), "
            "%zu failed\n",
            put->created + put->updated + put->unchanged, put->created, put->updated,
            put->unchanged, put->failed);
}

/* Fails at once, not one timeout per entity, when the registry is not there. */
static int s_put_ping(ls_client_t *client)
{
    ls_reply_pb *pong = ls_client_ping(client);
    int rc = ctl_check("registry", client, pong);
    if (pong)
        lodestone__v1__reply__free_unpacked(pong, NULL);
    return rc;
}

static int s_cmd_put(int argc, char **argv)
{
    if (argc < 1)
        return s_usage();
    s_put_t put = {.client = ctl_client("registry"), .in_flight = zhashx_new()};
    if (!put.client || !put.in_flight || s_put_ping(put.client)) {
        ls_client_destroy(&put.client);
        zhashx_destroy(&put.in_flight);
        return 1;
    }
    zhashx_set_destructor(put.in_flight, s_put_item_destroy);
    put.progress = isatty(STDERR_FILENO);
    put.started_ms = put.shown_ms = ls_mono_ms();
    for (int f = 0; f < argc && !put.stopped; f++) {
        json_error_t error;
        json_t *root = strcmp(argv[f], "-") == 0 ? json_loadf(stdin, 0, &error)
                                                 : json_load_file(argv[f], 0, &error);
        if (!root) {
            fprintf(stderr, "lodestonectl: %s:%d:%d: %s\n", argv[f], error.line, error.column,
                    error.text);
            put.failed++;
            continue;
        }
        s_put_file(&put, argv[f], root);
        json_decref(root);
    }
    while (!put.stopped && zhashx_size(put.in_flight) > 0)
        s_put_await(&put);
    s_put_summary(&put);
    int rc = put.failed ? 1 : 0;
    zhashx_destroy(&put.in_flight);
    ls_client_destroy(&put.client);
    return rc;
}

static int s_cmd_get(int argc, char **argv)
{
    if (argc != 1)
        return s_usage();
    ls_client_t *client = ctl_client("registry");
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_get(client, argv[0]);
    int rc = ctl_check(argv[0], client, reply);
    if (rc == 0)
        ctl_print(&reply->entity->base, true);
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
            printf("      %-12s %.2f x %.2f = %.2f  %s\n", fs->facet, fs->weight, fs->similarity,
                   fs->contribution, fs->reason);
        }
    }
}

static int s_cmd_matches(int argc, char **argv)
{
    const char *id = NULL;
    uint32_t limit = 0;
    bool text = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0)
            text = true;
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (ctl_limit(argv[++i], &limit))
                return 2;
        } else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            return s_usage();
    }
    if (!id)
        return s_usage();
    ls_client_t *client = ctl_client("matching");
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_matches(client, id, limit);
    int rc = ctl_check(id, client, reply);
    if (rc == 0 && reply->body_case == LODESTONE__V1__REPLY__BODY_MATCHES) {
        if (text)
            s_print_text(reply->matches);
        else
            ctl_print(&reply->matches->base, true);
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
    char err[512] = "out of memory";
    if (sub) {
        zsock_set_maxmsgsize(sub, ctl_config.max_message_bytes);
        zsock_set_rcvhwm(sub, 100000);
    }
    if (!sub || ls_security_client(sub, &ctl_config, err, sizeof err) ||
        zsock_connect(sub, "%s", ctl_config.notification_pub_endpoint)) {
        fprintf(stderr, "lodestonectl: cannot connect to %s: %s\n",
                ctl_config.notification_pub_endpoint, sub ? err : "out of memory");
        zsock_destroy(&sub);
        return 1;
    }
    /* Topics: "to/<recipient>/", "region/<NUTS>/" (docs/notification.md). */
    char topic[200];
    if (argc == 1 && strncmp(argv[0], "region/", 7) == 0)
        snprintf(topic, sizeof topic, "%s%s", argv[0],
                 argv[0][strlen(argv[0]) - 1] == '/' ? "" : "/");
    else
        snprintf(topic, sizeof topic, "to/%s%s", argc == 1 ? argv[0] : "", argc == 1 ? "/" : "");
    zsock_set_subscribe(sub, topic);
    fprintf(stderr, "lodestonectl: watching %s for %s (Ctrl-C to stop)\n",
            ctl_config.notification_pub_endpoint, argc == 1 ? argv[0] : "every recipient");
    while (!zsys_interrupted) {
        zmsg_t *msg = zmsg_recv(sub);
        if (!msg)
            break;
        zframe_t *body = zmsg_last(msg);
        const char *reason = NULL;
        ProtobufCMessage *note =
            zmsg_size(msg) == 2
                ? ls_codec_unpack(&lodestone__v1__notification__descriptor, zframe_data(body),
                                  zframe_size(body), (size_t)ctl_config.max_message_bytes, &reason)
                : NULL;
        if (note) {
            ctl_print(note, false);
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
    ls_client_t *client = ctl_client(service);
    if (!client)
        return -1;
    ls_reply_pb *reply = ls_client_ping(client);
    int rc = ctl_check(service, client, reply);
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
    ls_client_t *client = ctl_client(argv[0]);
    if (!client)
        return 1;
    ls_reply_pb *reply = ls_client_ping(client);
    int rc = ctl_check(argv[0], client, reply);
    if (rc == 0)
        ctl_print(&reply->pong->base, false);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    return rc ? 1 : 0;
}

static int s_cmd_keygen(int argc, char **argv)
{
    if (!(argc == 1 || (argc == 3 && strcmp(argv[1], "--file") == 0)))
        return s_usage();
    const char *base = argc == 3 ? argv[2] : argv[0];
    char err[1200];
    if (ls_security_keygen(argv[0], base, err, sizeof err)) {
        fprintf(stderr, "lodestonectl: keygen: %s\n", err);
        return 1;
    }
    printf("%s.key\n%s.key_secret\n", base, base);
    fprintf(stderr,
            "lodestonectl: publisher '%s': put %s.key into the services' "
            "LODESTONE_PUBLISHER_KEYS directory; give %s.key_secret to the publisher's client "
            "only (LODESTONE_CLIENT_SECRET_KEY)\n",
            argv[0], base, base);
    return 0;
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
    if (ls_config_load(&ctl_config, err, sizeof err)) {
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
    if (strcmp(cmd, "keygen") == 0)
        return s_cmd_keygen(rest, args);
    if (strcmp(cmd, "ping") == 0)
        return s_cmd_ping(rest, args);
    if (strcmp(cmd, "wait") == 0)
        return s_cmd_wait(rest, args);
    if (strcmp(cmd, "patch") == 0)
        return ctl_patch(rest, args);
    if (strcmp(cmd, "withdraw") == 0)
        return ctl_withdraw(rest, args);
    if (strcmp(cmd, "erase") == 0)
        return ctl_erase(rest, args);
    if (strcmp(cmd, "list") == 0)
        return ctl_list(rest, args);
    if (strcmp(cmd, "taxonomy") == 0)
        return ctl_taxonomy(rest, args);
    if (strcmp(cmd, "explain") == 0)
        return ctl_explain(rest, args);
    if (strcmp(cmd, "rematch") == 0)
        return ctl_rematch(rest, args);
    if (strcmp(cmd, "subscribe") == 0)
        return ctl_subscribe(rest, args);
    if (strcmp(cmd, "subscriptions") == 0)
        return ctl_subscriptions(rest, args);
    if (strcmp(cmd, "unsubscribe") == 0)
        return ctl_unsubscribe(rest, args);
    if (strcmp(cmd, "inbox") == 0)
        return ctl_inbox(rest, args);
    if (strcmp(cmd, "deadletters") == 0)
        return ctl_dead_letters(rest, args);
    if (strcmp(cmd, "replay") == 0)
        return ctl_replay(rest, args);
    if (strcmp(cmd, "interest") == 0)
        return ctl_interest(rest, args);
    if (strcmp(cmd, "stats") == 0)
        return ctl_stats(rest, args);
    if (strcmp(cmd, "report") == 0)
        return ctl_report(rest, args);
    if (strcmp(cmd, "status") == 0)
        return ctl_status(rest, args);
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
