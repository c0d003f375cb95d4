/* ls_journal.c — the journals' keys, the Lua append step, range reads and the
 * live wire format [journal][seq: 8 bytes big-endian][payload]. */
#include "ls_journal.h"

#include <string.h>

#include "ls_keys.h"
#include "ls_log.h"
#include "ls_util.h"

const ls_journal_t LS_JOURNAL_CHANGES = {"changes", LS_KEY_JOURNAL_CHANGES, LS_KEY_SEQ_CHANGES,
                                         LS_KEY_JOURNAL_READERS "changes"};
const ls_journal_t LS_JOURNAL_MATCHES = {"matches", LS_KEY_JOURNAL_MATCHES, LS_KEY_SEQ_MATCHES,
                                         LS_KEY_JOURNAL_READERS "matches"};
const ls_journal_t LS_JOURNAL_INTEREST = {"interest", LS_KEY_JOURNAL_INTEREST, LS_KEY_SEQ_INTEREST,
                                          LS_KEY_JOURNAL_READERS "interest"};

static int s_parse_id(const char *id, size_t len, uint64_t *seq)
{
    const char *dash = memchr(id, '-', len);
    return dash ? ls_parse_u64(id, (size_t)(dash - id), seq) : -1;
}

long ls_journal_read(ls_store_t *store, const ls_journal_t *journal, uint64_t from, uint64_t to,
                     size_t count, ls_journal_entry_fn *fn, void *arg)
{
    char start[32], end[32], limit[32];
    snprintf(start, sizeof start, "%llu-0", (unsigned long long)(from ? from : 1));
    if (to)
        snprintf(end, sizeof end, "%llu-0", (unsigned long long)to);
    else
        strcpy(end, "+");
    snprintf(limit, sizeof limit, "%zu", count);
    const char *argv[] = {"XRANGE", journal->stream, start, end, "COUNT", limit};
    redisReply *reply = ls_store_argv(store, 6, argv, NULL);
    if (!reply)
        return -1;
    long read = 0;
    if (reply->type != REDIS_REPLY_ARRAY)
        read = -1;
    for (size_t i = 0; read >= 0 && i < reply->elements; i++) {
        redisReply *entry = reply->element[i];
        uint64_t seq;
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
            s_parse_id(entry->element[0]->str, entry->element[0]->len, &seq)) {
            read = -1;
            break;
        }
        redisReply *fields = entry->element[1];
        const uint8_t *payload = NULL;
        size_t len = 0;
        for (size_t f = 0; f + 1 < fields->elements; f += 2)
            if (fields->element[f]->len == 1 && fields->element[f]->str[0] == 'd') {
                payload = (const uint8_t *)fields->element[f + 1]->str;
                len = fields->element[f + 1]->len;
            }
        int rc = payload ? fn(seq, payload, len, arg) : -1;
        if (rc < 0) {
            read = -1;
            break;
        }
        read++;
        if (rc > 0)
            break;
    }
    freeReplyObject(reply);
    return read;
}

int ls_journal_latest(ls_store_t *store, const ls_journal_t *journal, uint64_t *latest)
{
    return ls_store_get_u64(store, journal->seq_key, latest);
}

static void s_put_seq(uint8_t *out, uint64_t seq)
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        out[i] = (uint8_t)(seq & 0xff);
}

int ls_journal_send(zsock_t *sock, const ls_journal_t *journal, uint64_t seq, const void *payload,
                    size_t len)
{
    uint8_t seq_bytes[8];
    s_put_seq(seq_bytes, seq);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, journal->name);
    zmsg_addmem(msg, seq_bytes, 8);
    zmsg_addmem(msg, payload, len);
    return zmsg_send(&msg, sock);
}

int ls_journal_send_heartbeat(zsock_t *sock, const ls_journal_t *journal, uint64_t latest)
{
    uint8_t seq_bytes[8];
    s_put_seq(seq_bytes, latest);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, journal->name);
    zmsg_addmem(msg, seq_bytes, 8);
    return zmsg_send(&msg, sock);
}

int ls_journal_parse(zmsg_t *msg, const ls_journal_t *journal, uint64_t *seq,
                     const uint8_t **payload, size_t *len)
{
    size_t frames = zmsg_size(msg);
    if (frames < 2 || frames > 3)
        return -1;
    zframe_t *topic = zmsg_first(msg);
    if (!zframe_streq(topic, journal->name))
        return -1;
    zframe_t *seq_frame = zmsg_next(msg);
    if (zframe_size(seq_frame) != 8)
        return -1;
    const uint8_t *bytes = zframe_data(seq_frame);
    *seq = 0;
    for (int i = 0; i < 8; i++)
        *seq = (*seq << 8) | bytes[i];
    if (frames == 2)
        return 1;
    zframe_t *body = zmsg_next(msg);
    *payload = zframe_data(body);
    *len = zframe_size(body);
    return 0;
}

/* KEYS: readers set, stream, sequence counter. ARGV: entries to keep below the
 * slowest reader. Removes the entries at or below (slowest checkpoint - keep); a
 * reader without a checkpoint yet counts as 0 (nothing is removed). With no
 * readers at all, keeps the last `keep` entries. Returns how many were removed. */
static ls_script_t s_trim_script =
    LS_SCRIPT("local slowest = nil\n"
              "for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
              "  local at = tonumber(redis.call('GET', key) or '0')\n"
              "  if not slowest or at < slowest then slowest = at end\n"
              "end\n"
              "if not slowest then slowest = tonumber(redis.call('GET', KEYS[3]) or '0') end\n"
              "local upto = slowest - tonumber(ARGV[1])\n"
              "if upto <= 0 then return 0 end\n"
              "return redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', upto + 1))\n");

long ls_journal_trim(ls_store_t *store, const ls_journal_t *journal, uint64_t keep_below)
{
    char keep[24];
    snprintf(keep, sizeof keep, "%llu", (unsigned long long)keep_below);
    const char *argv[] = {journal->readers, journal->stream, journal->seq_key, keep};
    redisReply *reply = ls_store_eval(store, &s_trim_script, 3, 4, argv, NULL);
    long removed = reply && reply->type == REDIS_REPLY_INTEGER ? (long)reply->integer : -1;
    if (removed < 0)
        LS_WARN("%s journal: trimming failed: %s", journal->name,
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str : ls_store_error(store));
    else if (removed > 0)
        LS_INFO("%s journal: trimmed %ld entries below the slowest reader", journal->name, removed);
    if (reply)
        freeReplyObject(reply);
    return removed;
}
