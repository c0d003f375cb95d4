/* notification.c — the match-journal consumer: inbox write + checkpoint in one
 * Lua step, then the live feed. */
#include "notification.h"

#include <czmq.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_follower.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_util.h"

#define S_CHECKPOINT LS_KEY_CHECKPOINT "notification"

struct _notification_t {
    const ls_config_t *config;
    ls_store_t *store;
    ls_follower_t *follower;
    zsock_t *router;
    zsock_t *pull;
    zsock_t *pub;
    uint64_t delivered;
};

/* KEYS: checkpoint, inbox. ARGV: seq, packed notification. Writes the inbox entry
 * unless this seq was applied before (a restart between the write and the live
 * publish); returns 1 when written, 0 when it was already there. */
static ls_script_t s_deliver_script =
    LS_SCRIPT("local done = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
              "if done >= tonumber(ARGV[1]) then return 0 end\n"
              "redis.call('XADD', KEYS[2], '*', 'n', ARGV[2])\n"
              "redis.call('SET', KEYS[1], ARGV[1])\n"
              "return 1\n");

static const char *s_kind_word(Lodestone__V1__MatchEvent__Kind kind)
{
    switch (kind) {
    case LODESTONE__V1__MATCH_EVENT__KIND__NEW:
        return "New match";
    case LODESTONE__V1__MATCH_EVENT__KIND__CHANGED:
        return "Match updated";
    default:
        return "Match withdrawn";
    }
}

/* Builds the notification for one event; the caller frees the text. */
static char *s_text(const ls_match_event_pb *event)
{
    const ls_match_pb *m = event->match;
    if (event->kind == LODESTONE__V1__MATCH_EVENT__KIND__GONE)
        return zsys_sprintf("%s: %s (%s) is no longer a match", s_kind_word(event->kind),
                            *m->candidate_name ? m->candidate_name : m->candidate_id,
                            m->candidate_id);
    return zsys_sprintf("%s: %s (%s), score %.2f. %s", s_kind_word(event->kind),
                        *m->candidate_name ? m->candidate_name : m->candidate_id, m->candidate_id,
                        m->score, m->summary);
}

static int s_apply(ls_follower_t *follower, uint64_t seq, const uint8_t *payload, size_t len,
                   void *arg)
{
    notification_t *self = arg;
    const char *reason = NULL;
    ls_match_event_pb *event =
        (ls_match_event_pb *)ls_codec_unpack(&lodestone__v1__match_event__descriptor, payload, len,
                                             (size_t)self->config->max_message_bytes, &reason);
    if (!event || !event->match || !*event->match->subject_id) {
        /* Nothing can be delivered from it; record it as done so the journal moves on. */
        LS_ERROR("match journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 event ? "no match in it" : reason);
        if (event)
            lodestone__v1__match_event__free_unpacked(event, NULL);
        return ls_follower_commit(follower, seq);
    }
    char id[32];
    snprintf(id, sizeof id, "n-%llu", (unsigned long long)seq);
    char *text = s_text(event);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.recipient = event->match->subject_id;
    note.match_seq = seq;
    note.event = event;
    note.text = text;
    note.at = ls_now_ms();
    size_t note_len = 0;
    uint8_t *packed = ls_codec_pack_buffer(&note.base, &note_len);

    char seq_text[24], inbox[160];
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)seq);
    snprintf(inbox, sizeof inbox, LS_KEY_INBOX "%s", note.recipient);
    const char *argv[] = {ls_follower_checkpoint_key(follower), inbox, seq_text,
                          (const char *)packed};
    size_t lens[] = {strlen(argv[0]), strlen(inbox), strlen(seq_text), note_len};
    redisReply *reply = ls_store_eval(self->store, &s_deliver_script, 2, 4, argv, lens);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, note.recipient);
        zmsg_addmem(msg, packed, note_len);
        zmsg_send(&msg, self->pub);
        self->delivered++;
        LS_DEBUG("notification %s to %s", id, note.recipient);
    } else
        LS_WARN("delivering match %llu failed: %s", (unsigned long long)seq,
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                          : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    free(packed);
    zstr_free(&text);
    lodestone__v1__match_event__free_unpacked(event, NULL);
    return rc;
}

static void s_handle(notification_t *self, ls_rpc_request_t *req)
{
    if (req->request->body_case != LODESTONE__V1__ENVELOPE__BODY_PING) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "notification does not serve this request");
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "notification";
    pong.version = LS_VERSION_TEXT;
    pong.seq = ls_follower_position(self->follower);
    pong.instances = 1;
    if (ls_journal_latest(self->store, &LS_JOURNAL_MATCHES, &pong.journal_latest)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable");
        return;
    }
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

notification_t *notification_new(const ls_config_t *config)
{
    notification_t *self = calloc(1, sizeof *self);
    char err[512];
    self->config = config;
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    if (!self->store) {
        LS_ERROR("%s", err);
        notification_destroy(&self);
        return NULL;
    }
    self->follower = ls_follower_new(self->store, &LS_JOURNAL_MATCHES, S_CHECKPOINT, s_apply, self);
    self->router = zsock_new(ZMQ_ROUTER);
    self->pull = zsock_new(ZMQ_PULL);
    self->pub = zsock_new(ZMQ_PUB);
    if (!self->follower || !self->router || !self->pull || !self->pub) {
        notification_destroy(&self);
        return NULL;
    }
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_maxmsgsize(self->pull, config->max_message_bytes);
    zsock_set_sndhwm(self->pub, 100000);
    if (zsock_bind(self->router, "%s", config->notification_bind) < 0 ||
        zsock_bind(self->pull, "%s", config->notification_pull_bind) < 0 ||
        zsock_bind(self->pub, "%s", config->notification_pub_bind) < 0) {
        LS_ERROR("cannot bind %s, %s, %s: %s", config->notification_bind,
                 config->notification_pull_bind, config->notification_pub_bind,
                 zmq_strerror(zmq_errno()));
        notification_destroy(&self);
        return NULL;
    }
    LS_INFO("notification ready: requests on %s, match events on %s, feed on %s",
            config->notification_bind, config->notification_pull_bind,
            config->notification_pub_bind);
    return self;
}

void notification_destroy(notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notification_t *self = *self_p;
    zsock_destroy(&self->router);
    zsock_destroy(&self->pull);
    zsock_destroy(&self->pub);
    ls_follower_destroy(&self->follower);
    ls_store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_handle(arg, req);
}

static void s_on_input(void *arg, zmsg_t *msg)
{
    notification_t *self = arg;
    ls_follower_on_message(self->follower, msg);
}

static int s_on_tick(void *arg)
{
    notification_t *self = arg;
    return ls_follower_tick(self->follower) > 0;
}

int notification_run(notification_t *self)
{
    /* The Clone pattern: the PULL socket is bound before the catch-up, so nothing
     * pushed meanwhile is missed; duplicates are dropped by the follower. */
    while (!zsys_interrupted && ls_follower_start(self->follower))
        zclock_sleep(1000);
    ls_service_loop_t loop = {.router = self->router,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .input = self->pull,
                              .on_input = s_on_input,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self};
    int rc = ls_service_run(&loop);
    LS_INFO("notification stopping after %llu notifications", (unsigned long long)self->delivered);
    return rc;
}
