/* notification.c — the match-journal consumer: inbox writes + checkpoint of a
 * batch of match events in one Lua step, then the live feed. */
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

#define S_BATCH_MAX 256 /* journal entries delivered per Redis step */

/* KEYS: checkpoint. ARGV[1]: the batch's last seq; then per notification: seq, inbox
 * key, packed notification. Writes the inbox entries of the seqs after the stored
 * checkpoint (a restart between the write and the live publish hands a batch over
 * again) and records ARGV[1]; returns how many it wrote. */
static ls_script_t s_deliver_script =
    LS_SCRIPT("local done = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
              "local written = 0\n"
              "for i = 2, #ARGV, 3 do\n"
              "  if tonumber(ARGV[i]) > done then\n"
              "    redis.call('XADD', ARGV[i + 1], '*', 'n', ARGV[i + 2])\n"
              "    written = written + 1\n"
              "  end\n"
              "end\n"
              "if tonumber(ARGV[1]) > done then redis.call('SET', KEYS[1], ARGV[1]) end\n"
              "return written\n");

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

/* One notification of a batch, packed, with the texts its script arguments point to. */
typedef struct {
    char recipient[128];
    char seq_text[24];
    char inbox[160];
    uint8_t *packed;
    size_t len;
} s_outgoing_t;

/* Builds the notification of journal entry seq; false when the entry is unusable
 * (logged: it is recorded as done with its batch, so the journal moves on). */
static bool s_build(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                    s_outgoing_t *out)
{
    const char *reason = NULL;
    ls_match_event_pb *event =
        (ls_match_event_pb *)ls_codec_unpack(&lodestone__v1__match_event__descriptor, payload, len,
                                             (size_t)self->config->max_message_bytes, &reason);
    if (!event || !event->match || !*event->match->subject_id ||
        strlen(event->match->subject_id) >= sizeof out->recipient) {
        LS_ERROR("match journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 event ? "no usable recipient in it" : reason);
        if (event)
            lodestone__v1__match_event__free_unpacked(event, NULL);
        return false;
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
    out->packed = ls_codec_pack_buffer(&note.base, &out->len);
    snprintf(out->recipient, sizeof out->recipient, "%s", note.recipient);
    snprintf(out->seq_text, sizeof out->seq_text, "%llu", (unsigned long long)seq);
    snprintf(out->inbox, sizeof out->inbox, LS_KEY_INBOX "%s", note.recipient);
    zstr_free(&text);
    lodestone__v1__match_event__free_unpacked(event, NULL);
    return true;
}

/* Delivers a batch of match events: every inbox entry and the checkpoint in one
 * Lua step, then each notification on the live feed. */
static int s_apply_batch(ls_follower_t *follower, const ls_follower_entry_t *entries, size_t count,
                         void *arg)
{
    notification_t *self = arg;
    s_outgoing_t *out = calloc(count, sizeof *out);
    const char **argv = calloc(3 * count + 2, sizeof *argv);
    size_t *lens = calloc(3 * count + 2, sizeof *lens);
    char last[24];
    snprintf(last, sizeof last, "%llu", (unsigned long long)entries[count - 1].seq);
    size_t argc = 0, built = 0;
    argv[argc] = ls_follower_checkpoint_key(follower);
    lens[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = last;
    lens[argc] = strlen(last);
    argc++;
    for (size_t i = 0; i < count; i++) {
        s_outgoing_t *o = &out[built];
        if (!s_build(self, entries[i].seq, entries[i].payload, entries[i].len, o))
            continue;
        built++;
        const char *args[] = {o->seq_text, o->inbox, (const char *)o->packed};
        size_t arg_lens[] = {strlen(o->seq_text), strlen(o->inbox), o->len};
        for (size_t a = 0; a < 3; a++, argc++) {
            argv[argc] = args[a];
            lens[argc] = arg_lens[a];
        }
    }
    redisReply *reply = ls_store_eval(self->store, &s_deliver_script, 1, (int)argc, argv, lens);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0)
        for (size_t i = 0; i < built; i++) {
            zmsg_t *msg = zmsg_new();
            zmsg_addstr(msg, out[i].recipient);
            zmsg_addmem(msg, out[i].packed, out[i].len);
            zmsg_send(&msg, self->pub);
            self->delivered++;
        }
    else
        LS_WARN(
            "delivering match events %llu..%s failed: %s", (unsigned long long)entries[0].seq, last,
            reply && reply->type == REDIS_REPLY_ERROR ? reply->str : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    for (size_t i = 0; i < built; i++)
        free(out[i].packed);
    free(out);
    free(argv);
    free(lens);
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
    self->follower = ls_follower_new(self->store, &LS_JOURNAL_MATCHES, S_CHECKPOINT, NULL, self);
    if (self->follower)
        ls_follower_set_batch(self->follower, s_apply_batch, S_BATCH_MAX);
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

/* Feeds the live message and those already waiting behind it, then delivers them
 * as one batch: under load one Redis step carries many events. */
static void s_on_input(void *arg, zmsg_t *msg)
{
    notification_t *self = arg;
    ls_follower_on_message(self->follower, msg);
    for (size_t n = 1; n < S_BATCH_MAX && (zsock_events(self->pull) & ZMQ_POLLIN); n++) {
        zmsg_t *next = zmsg_recv(self->pull);
        if (!next)
            break;
        ls_follower_on_message(self->follower, next);
        zmsg_destroy(&next);
    }
    ls_follower_flush(self->follower);
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
