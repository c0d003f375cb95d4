/* registry.c — the registry's request handlers: who is asking (publisher), border
 * validation, then the one-step writes of store.c and the reads of query.c. A write
 * is answered first and published after, with its journal sequence number. */
#include "registry.h"

#include <czmq.h>
#include <string.h>

#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_metrics.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "patch.h"
#include "query.h"
#include "store.h"
#include "validate.h"

#define S_MAX_ID 64

struct _registry_t {
    const ls_config_t *config;
    ls_store_t *store;
    ls_taxonomy_t *taxonomy;
    ls_guard_t *guard;
    zsock_t *router;
    zsock_t *pub;
    uint64_t requests;
    ls_metrics_t *metrics;
    ls_metric_t *writes; /* by op and outcome */
};

/* ---------------------------------------------------------------------------
 * Who is asking */

/* Fills write with the request's publisher; answers FORBIDDEN and returns -1 when
 * the client may not act as the publisher it names. */
static int s_writer(registry_t *self, ls_rpc_request_t *req, registry_write_t *write)
{
    const char *publisher = ls_service_publisher(self->config, req);
    if (!publisher) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "publisher: this connection may not act as '%.64s'",
                            req->request->publisher);
        return -1;
    }
    memset(write, 0, sizeof *write);
    write->publisher = publisher;
    write->admin = strcmp(publisher, self->config->admin_publisher) == 0;
    write->request_id = req->request->request_id;
    return 0;
}

static bool s_id_ok(registry_t *self, ls_rpc_request_t *req, const char *field, const char *id)
{
    if (*id && strlen(id) <= S_MAX_ID && ls_text_valid(id, strlen(id)))
        return true;
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                        "%s: is required, at most %d bytes", field, S_MAX_ID);
    return false;
}

/* ---------------------------------------------------------------------------
 * Writes */

/* The outcome label of lodestone_registry_writes_total (docs/metrics.md). */
static const char *s_outcome(const registry_result_t *result)
{
    if (result->code != LODESTONE__V1__STATUS__CODE__OK)
        return ls_status_name(result->code);
    if (result->replayed)
        return "replayed";
    if (result->unchanged)
        return "unchanged";
    return result->created ? "created" : "changed";
}

/* Answers a write, then publishes its change when it made one. */
static void s_finish(registry_t *self, ls_rpc_request_t *req, registry_result_t *result)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    ls_status_pb status = LODESTONE__V1__STATUS__INIT;
    Lodestone__V1__PutResult put = LODESTONE__V1__PUT_RESULT__INIT;
    status.code = result->code;
    status.message = result->message;
    status.current_version =
        result->code == LODESTONE__V1__STATUS__CODE__CONFLICT ? result->current_version : 0;
    reply.status = &status;
    if (result->code == LODESTONE__V1__STATUS__CODE__OK) {
        put.id = result->id;
        put.version = result->version;
        put.seq = result->seq;
        put.created = result->created;
        put.unchanged = result->unchanged;
        reply.body_case = LODESTONE__V1__REPLY__BODY_PUT;
        reply.put = &put;
    }
    ls_rpc_reply(self->router, req, &reply);
    ls_series_add(
        ls_metric_with(self->writes, ls_service_request_type(req->request), s_outcome(result)), 1);
    if (result->seq && result->event && !result->replayed &&
        ls_journal_send(self->pub, &LS_JOURNAL_CHANGES, result->seq, result->event,
                        result->event_len))
        LS_WARN("publishing change %llu failed; followers read it from the journal",
                (unsigned long long)result->seq);
    if (result->code == LODESTONE__V1__STATUS__CODE__INTERNAL)
        LS_ERROR("%s", result->message);
    registry_result_free(result);
}

/* Validates entity; answers INVALID with every field error and returns -1 when bad. */
static int s_validate(registry_t *self, ls_rpc_request_t *req, ls_entity_pb *entity)
{
    char today[16];
    ls_today(today, sizeof today);
    ls_errors_t *errors = ls_errors_new();
    validate_entity(entity, self->taxonomy, today, errors);
    int rc = 0;
    if (ls_errors_count(errors)) {
        ls_rpc_reply_errors(self->router, req, errors);
        rc = -1;
    }
    ls_errors_destroy(&errors);
    return rc;
}

static void s_handle_put(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__PutEntity *put = req->request->put;
    registry_write_t write;
    if (s_writer(self, req, &write))
        return;
    if (!put->entity) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "put.entity: is required");
        return;
    }
    if (s_validate(self, req, put->entity))
        return;
    write.expected_version = put->expected_version;
    registry_result_t result;
    registry_store_put(self->store, self->taxonomy, put->entity, &write, &result);
    s_finish(self, req, &result);
}

static void s_handle_patch(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__PatchEntity *patch = req->request->patch;
    registry_write_t write;
    if (s_writer(self, req, &write) || !s_id_ok(self, req, "patch.id", patch->id))
        return;
    if (!patch->entity) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "patch.entity: is required");
        return;
    }
    ls_entity_pb *current = NULL;
    int rc = ls_entity_load(self->store, patch->id, true, &current);
    if (rc > 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "no entity %s (never created, or erased)", patch->id);
        return;
    }
    if (rc < 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        return;
    }
    ls_entity_meta_t meta;
    ls_entity_meta(current, &meta);
    ls_errors_t *errors = ls_errors_new();
    if (patch_apply(current, patch->entity, patch->paths, patch->n_paths, errors)) {
        ls_rpc_reply_errors(self->router, req, errors);
    } else if (s_validate(self, req, current) == 0) {
        /* The version read is the one expected: a change in between gets CONFLICT. */
        write.expected_version = patch->expected_version ? patch->expected_version : *meta.version;
        registry_result_t result;
        registry_store_put(self->store, self->taxonomy, current, &write, &result);
        s_finish(self, req, &result);
    }
    ls_errors_destroy(&errors);
    lodestone__v1__entity__free_unpacked(current, NULL);
}

static void s_handle_withdraw(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__WithdrawEntity *w = req->request->withdraw;
    registry_write_t write;
    if (s_writer(self, req, &write) || !s_id_ok(self, req, "withdraw.id", w->id))
        return;
    write.expected_version = w->expected_version;
    registry_result_t result;
    registry_store_withdraw(self->store, w->id, &write, &result);
    s_finish(self, req, &result);
}

static void s_handle_erase(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__EraseEntity *e = req->request->erase;
    registry_write_t write;
    if (s_writer(self, req, &write) || !s_id_ok(self, req, "erase.id", e->id))
        return;
    registry_result_t result;
    registry_store_erase(self->store, e->id, &write, &result);
    if (result.code == LODESTONE__V1__STATUS__CODE__OK && !result.unchanged)
        LS_INFO("erased %s for publisher %s", e->id, write.publisher);
    s_finish(self, req, &result);
}

/* ---------------------------------------------------------------------------
 * Reads */

static void s_handle_get(registry_t *self, ls_rpc_request_t *req)
{
    const char *id = req->request->get->id;
    registry_write_t reader;
    if (s_writer(self, req, &reader) || !s_id_ok(self, req, "get.id", id))
        return;
    ls_entity_pb *entity = NULL;
    int rc = ls_entity_load(self->store, id, true, &entity);
    if (rc == 1)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "no entity %s (never created, or erased)", id);
    else if (rc < 0)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
    else {
        ls_entity_meta_t meta;
        ls_entity_meta(entity, &meta);
        /* Contact details are personal data: only their owner and the admin see them. */
        if (*meta.contact && !reader.admin && strcmp(*meta.owner, reader.publisher) != 0) {
            lodestone__v1__contact__free_unpacked(*meta.contact, NULL);
            *meta.contact = NULL;
        }
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        reply.body_case = LODESTONE__V1__REPLY__BODY_ENTITY;
        reply.entity = entity;
        ls_rpc_reply(self->router, req, &reply);
        lodestone__v1__entity__free_unpacked(entity, NULL);
    }
}

static void s_handle_list(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__EntityList list = LODESTONE__V1__ENTITY_LIST__INIT;
    char problem[256];
    Lodestone__V1__Status__Code code =
        query_list(self->store, self->taxonomy, req->request->list, &list, problem, sizeof problem);
    if (code != LODESTONE__V1__STATUS__CODE__OK) {
        ls_rpc_reply_status(self->router, req, code, "%s", problem);
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_LIST;
    reply.list = &list;
    ls_rpc_reply(self->router, req, &reply);
    query_list_free(&list);
}

static void s_handle_taxonomy(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__TermList terms = LODESTONE__V1__TERM_LIST__INIT;
    char problem[256];
    Lodestone__V1__Status__Code code =
        query_taxonomy(self->taxonomy, req->request->taxonomy, &terms, problem, sizeof problem);
    if (code != LODESTONE__V1__STATUS__CODE__OK) {
        ls_rpc_reply_status(self->router, req, code, "%s", problem);
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_TERMS;
    reply.terms = &terms;
    ls_rpc_reply(self->router, req, &reply);
    query_terms_free(&terms);
}

static void s_handle_ping(registry_t *self, ls_rpc_request_t *req)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable");
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "registry";
    pong.version = LS_VERSION_TEXT;
    pong.seq = latest;
    pong.instances = 1;
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

static void s_dispatch(registry_t *self, ls_rpc_request_t *req)
{
    self->requests++;
    switch (req->request->body_case) {
    case LODESTONE__V1__ENVELOPE__BODY_PING:
        s_handle_ping(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_PUT:
        s_handle_put(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_PATCH:
        s_handle_patch(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_WITHDRAW:
        s_handle_withdraw(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_ERASE:
        s_handle_erase(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_GET:
        s_handle_get(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_LIST:
        s_handle_list(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_TAXONOMY:
        s_handle_taxonomy(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "the registry does not serve this request");
    }
}

/* ---------------------------------------------------------------------------
 * Life cycle */

static void s_heartbeat(registry_t *self)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest) == 0)
        ls_journal_send_heartbeat(self->pub, &LS_JOURNAL_CHANGES, latest);
}

registry_t *registry_new(const ls_config_t *config)
{
    registry_t *self = calloc(1, sizeof *self);
    char err[512];
    self->config = config;
    self->taxonomy = ls_taxonomy_load(config->data_dir, err, sizeof err);
    if (!self->taxonomy) {
        LS_ERROR("cannot load taxonomies: %s", err);
        registry_destroy(&self);
        return NULL;
    }
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    if (!self->store) {
        LS_ERROR("%s", err);
        registry_destroy(&self);
        return NULL;
    }
    self->guard = ls_guard_new(config, err, sizeof err);
    if (!self->guard) {
        LS_ERROR("%s", err);
        registry_destroy(&self);
        return NULL;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    self->pub = zsock_new(ZMQ_PUB);
    self->metrics = ls_metrics_new("registry");
    self->writes = ls_metrics_counter(self->metrics, "lodestone_registry_writes_total",
                                      "Writes that reached the store, by request type and outcome",
                                      "op,outcome");
    if (!self->router || !self->pub || !self->writes) {
        registry_destroy(&self);
        return NULL;
    }
    ls_guard_secure(self->guard, self->router);
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_sndhwm(self->pub, 100000);
    zsock_set_rcvhwm(self->router, 10000);
    if (zsock_bind(self->router, "%s", config->registry_bind) < 0 ||
        zsock_bind(self->pub, "%s", config->registry_pub_bind) < 0) {
        LS_ERROR("cannot bind %s and %s: %s", config->registry_bind, config->registry_pub_bind,
                 zmq_strerror(zmq_errno()));
        registry_destroy(&self);
        return NULL;
    }
    if (strcmp(config->security, "plain") == 0)
        LS_WARN("plain TCP on %s: default publisher '%s', trusted publishers '%s'",
                config->registry_bind, config->publisher, config->trusted_publishers);
    LS_INFO("registry ready: requests on %s, changes published on %s", config->registry_bind,
            config->registry_pub_bind);
    return self;
}

void registry_destroy(registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    registry_t *self = *self_p;
    zsock_destroy(&self->router);
    zsock_destroy(&self->pub);
    ls_guard_destroy(&self->guard);
    ls_store_destroy(&self->store);
    ls_taxonomy_destroy(&self->taxonomy);
    ls_metrics_destroy(&self->metrics);
    free(self);
    *self_p = NULL;
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_dispatch(arg, req);
}

static int s_on_tick(void *arg)
{
    s_heartbeat(arg);
    return 0;
}

int registry_run(registry_t *self)
{
    ls_service_loop_t loop = {.router = self->router,
                              .config = self->config,
                              .guard = self->guard,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self,
                              .metrics = self->metrics,
                              .http_bind = self->config->registry_http_bind,
                              .store = self->store};
    int rc = ls_service_run(&loop);
    LS_INFO("registry stopping after %llu requests", (unsigned long long)self->requests);
    return rc;
}
