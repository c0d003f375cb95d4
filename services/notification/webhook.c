/* webhook.c — webhook delivery: one thread with its own Redis connection and a
 * libcurl multi handle. Each turn it claims due deliveries origin by origin (reading
 * the due origins from ls:wh:next, then leasing up to each origin's free slots in one
 * Lua step, so that its Redis work per delivery does not grow with the deliveries
 * waiting), starts their requests, waits briefly for network activity, and records
 * each finished request's outcome in one Lua step, which also claims the next due
 * delivery of the same origin. Also the dead-letter list and replay used by the
 * notification service's API. */
#include "webhook.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

#define S_POLL_MS 50            /* longest network wait: how late new work or a stop is seen */
#define S_LEASE_EXTRA_MS 5000   /* a lease is the request timeout plus this */
#define S_REDIS_RETRY_MS 1000   /* pause after a Redis failure */
#define S_RESPONSE_MAX 65536    /* response bytes read before hanging up */
#define S_ERROR_MAX 256         /* stored text of a failure */
#define S_DEAD_LIST_DEFAULT 100 /* dead letters listed when the caller names no limit */
#define S_DEAD_LIST_MAX 1000    /* dead letters listed at most */
#define S_DEAD_FIELDS 8         /* values per letter in the dead-list script's reply */
#define S_RECORD_FIELDS 7       /* values per delivery in a claim reply (S_CLAIM_LUA) */
#define S_MIGRATE_PAGE 100      /* deliveries of the legacy due set moved per read */

/* One request in flight. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *id; /* the delivery id, id_len bytes, NUL-ended */
    size_t id_len;
    char origin[WEBHOOK_ORIGIN_MAX]; /* the due set it was claimed from */
    long attempts;                   /* attempts made before this one */
    size_t received;
    bool cut; /* the response was longer than S_RESPONSE_MAX: hung up after its status */
    char error[CURL_ERROR_SIZE];
} s_request_t;

/* A due origin below its cap, in a claim round. */
typedef struct {
    const char *origin; /* in the round's ZRANGEBYSCORE reply */
    long busy;          /* requests in flight to it */
    size_t at;          /* its place in the reply: the earlier due first */
    char room[24];      /* the requests it may still take, as text */
} s_candidate_t;

struct _webhook_t {
    ls_config_t config;
    ls_store_t *store;    /* the thread's own */
    CURLM *multi;         /* the thread's; curl_multi_wakeup is safe from any thread */
    s_request_t **flight; /* config.webhook_concurrency slots */
    size_t flight_count;
    const char **round_argv;   /* 3 + 2 * candidate_max: the claim round's ARGV */
    const char **sorted;       /* config.webhook_concurrency: the flight's origins, sorted */
    s_candidate_t *candidates; /* candidate_max */
    size_t candidate_max;      /* config.webhook_concurrency */
    int64_t next_scan_ms;      /* monotonic */
    bool finished;             /* a slot was left free since the last round */
    bool migrated;             /* the legacy due set was emptied since the start */
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t attempts_failed;
    atomic_uint_fast64_t retries_scheduled;
    atomic_uint_fast64_t dead;
    atomic_uint_fast64_t dropped;
    atomic_uint in_flight;
};

/* Lua defining wh_claim(origin, room, now, now_text, lease_text, out): leases up to
 * room due deliveries of origin (scored at most now) until the lease end, and
 * leaves ls:wh:next holding the lowest score left in the origin's set (room 0 only
 * does that). Appends S_RECORD_FIELDS values per delivery looked at to out: what,
 * id, origin, then for 'claimed' url, body, attempts, secret; for 'dropped' (the
 * subscription's secret is gone: it was deleted, the delivery is removed) the
 * subscription; for 'dead' (a hash missing fields, made a dead letter) the error;
 * 'gone' is a due entry without its hash (removed). Returns the deliveries leased
 * and those looked at; fewer looked at than room means none due are left. Its
 * Redis work is a few commands per call plus three per delivery, whatever the
 * length of the set. */
#define S_CLAIM_LUA                                                                                \
    "local wh_secrets = {}\n"                                                                      \
    "local function wh_push(out, what, id, origin, a, b, c, d)\n"                                  \
    "  local n = #out\n"                                                                           \
    "  out[n + 1], out[n + 2], out[n + 3] = what, id, origin\n"                                    \
    "  out[n + 4], out[n + 5], out[n + 6], out[n + 7] = a or '', b or '', c or '', d or ''\n"      \
    "end\n"                                                                                        \
    "local function wh_claim(origin, room, now, now_text, lease_text, out)\n"                      \
    "  local set = '" LS_KEY_WEBHOOK_DUE "' .. origin\n"                                           \
    "  local first = redis.call('ZRANGE', set, 0, room, 'WITHSCORES')\n"                           \
    "  local leases, looked, i = {}, 0, 1\n"                                                       \
    "  while looked < room and i < #first and tonumber(first[i + 1]) <= now do\n"                  \
    "    looked = looked + 1\n"                                                                    \
    "    local id = first[i]\n"                                                                    \
    "    local key = '" LS_KEY_WEBHOOK "' .. id\n"                                                 \
    "    local f = redis.call('HMGET', key, 'url', 'body', 'sub', 'attempts')\n"                   \
    "    local missing = {}\n"                                                                     \
    "    if not f[1] then missing[#missing + 1] = 'url' end\n"                                     \
    "    if not f[2] then missing[#missing + 1] = 'body' end\n"                                    \
    "    if not f[3] then missing[#missing + 1] = 'sub' end\n"                                     \
    "    if #missing == 3 and not f[4] and redis.call('EXISTS', key) == 0 then\n"                  \
    "      redis.call('ZREM', set, id)\n"                                                          \
    "      wh_push(out, 'gone', id, origin)\n"                                                     \
    "    elseif #missing > 0 then\n"                                                               \
    "      local err = 'malformed delivery: no ' .. table.concat(missing, ', ')\n"                 \
    "      redis.call('HSET', key, 'error', err)\n"                                                \
    "      redis.call('ZREM', set, id)\n"                                                          \
    "      redis.call('ZADD', '" LS_KEY_WEBHOOK_DEAD "', now_text, id)\n"                          \
    "      wh_push(out, 'dead', id, origin, err)\n"                                                \
    "    else\n"                                                                                   \
    "      local secret = wh_secrets[f[3]]\n"                                                      \
    "      if secret == nil then\n"                                                                \
    "        secret = redis.call('GET', '" LS_KEY_SUB_SECRET "' .. f[3])\n"                        \
    "        wh_secrets[f[3]] = secret\n"                                                          \
    "      end\n"                                                                                  \
    "      if not secret then\n"                                                                   \
    "        redis.call('DEL', key)\n"                                                             \
    "        redis.call('ZREM', set, id)\n"                                                        \
    "        wh_push(out, 'dropped', id, origin, f[3])\n"                                          \
    "      else\n"                                                                                 \
    "        leases[#leases + 1] = lease_text\n"                                                   \
    "        leases[#leases + 1] = id\n"                                                           \
    "        wh_push(out, 'claimed', id, origin, f[1], f[2], f[4] or '0', secret)\n"               \
    "      end\n"                                                                                  \
    "    end\n"                                                                                    \
    "    i = i + 2\n"                                                                              \
    "  end\n"                                                                                      \
    "  if #leases > 0 then redis.call('ZADD', set, unpack(leases)) end\n"                          \
    "  local low = first[i + 1]\n"                                                                 \
    "  if #leases > 0 and (not low or tonumber(lease_text) < tonumber(low)) then\n"                \
    "    low = lease_text\n"                                                                       \
    "  end\n"                                                                                      \
    "  if low then redis.call('ZADD', '" LS_KEY_WEBHOOK_NEXT "', low, origin)\n"                   \
    "  else redis.call('ZREM', '" LS_KEY_WEBHOOK_NEXT "', origin) end\n"                           \
    "  return #leases / 2, looked\n"                                                               \
    "end\n"

/* ARGV: now, lease end, free slots, then origin, room pairs: due origins below
 * their cap in the order they are served (fewer requests in flight first, then the
 * earlier due), with the requests each may still take. Deals the free slots out
 * one per origin in turn and claims each origin's share in one wh_claim; an origin
 * that had fewer due than its share leaves the rest to the others. Replies the
 * records of wh_claim. */
static ls_script_t s_round_script = LS_SCRIPT(
    S_CLAIM_LUA
    "local now_text, lease_text = ARGV[1], ARGV[2]\n"
    "local now, free = tonumber(ARGV[1]), tonumber(ARGV[3])\n"
    "local active = {}\n"
    "for i = 4, #ARGV - 1, 2 do\n"
    "  active[#active + 1] = {origin = ARGV[i], room = tonumber(ARGV[i + 1])}\n"
    "end\n"
    "local out = {}\n"
    "while free > 0 and #active > 0 do\n"
    "  local share, left, more = {}, free, true\n"
    "  for j = 1, #active do share[j] = 0 end\n"
    "  while left > 0 and more do\n"
    "    more = false\n"
    "    for j = 1, #active do\n"
    "      if left > 0 and share[j] < active[j].room then\n"
    "        share[j], left, more = share[j] + 1, left - 1, true\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  local kept = {}\n"
    "  for j, a in ipairs(active) do\n"
    "    if share[j] > 0 then\n"
    "      local leased, looked = wh_claim(a.origin, share[j], now, now_text, lease_text, out)\n"
    "      free, a.room = free - leased, a.room - leased\n"
    "      if looked == share[j] and a.room > 0 then kept[#kept + 1] = a end\n"
    "    end\n"
    "  end\n"
    "  active = kept\n"
    "end\n"
    "return out\n");

/* ARGV: id, now, verdict ('ok', 'retry', 'dead'), error, next attempt time, the
 * attempts allowed, origin (the due set), room, lease end. Records the outcome,
 * then claims up to room due deliveries of the same origin (room 0: none, only
 * ls:wh:next is brought up to date). Replies {what, attempts, records of wh_claim}
 * with what 'delivered', 'retry', 'dead', or 'gone' when the delivery was finished
 * elsewhere (a lease that ran out; nothing else is done then). */
static ls_script_t s_outcome_script = LS_SCRIPT(
    S_CLAIM_LUA
    "local id, origin = ARGV[1], ARGV[7]\n"
    "local key = '" LS_KEY_WEBHOOK "' .. id\n"
    "local set = '" LS_KEY_WEBHOOK_DUE "' .. origin\n"
    "local out\n"
    "if ARGV[3] == 'ok' then\n"
    "  if redis.call('DEL', key) == 0 then return {'gone', 0} end\n"
    "  redis.call('ZREM', set, id)\n"
    "  out = {'delivered', 0}\n"
    "else\n"
    "  if redis.call('EXISTS', key) == 0 then return {'gone', 0} end\n"
    "  local attempts = math.floor(tonumber(redis.call('HGET', key, 'attempts')) or 0) + 1\n"
    "  redis.call('HSET', key, 'attempts', attempts, 'error', ARGV[4])\n"
    "  if ARGV[3] == 'dead' or attempts >= tonumber(ARGV[6]) then\n"
    "    redis.call('ZREM', set, id)\n"
    "    redis.call('ZADD', '" LS_KEY_WEBHOOK_DEAD "', ARGV[2], id)\n"
    "    out = {'dead', attempts}\n"
    "  else\n"
    "    redis.call('ZADD', set, ARGV[5], id)\n"
    "    out = {'retry', attempts}\n"
    "  end\n"
    "end\n"
    "wh_claim(origin, tonumber(ARGV[8]), tonumber(ARGV[2]), ARGV[2], ARGV[9], out)\n"
    "return out\n");

/* ARGV: id, origin. Moves a delivery of the legacy single due set to its origin's
 * set with its score, and notes the origin in its hash. 1 when it did. */
static ls_script_t s_move_script =
    LS_SCRIPT("local id, origin = ARGV[1], ARGV[2]\n"
              "local score = redis.call('ZSCORE', '" LS_KEY_WEBHOOK_DUE_LEGACY "', id)\n"
              "if not score then return 0 end\n"
              "redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE_LEGACY "', id)\n"
              "local key = '" LS_KEY_WEBHOOK "' .. id\n"
              "if redis.call('EXISTS', key) == 0 then return 0 end\n"
              "redis.call('HSET', key, 'origin', origin)\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "' .. origin, score, id)\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_NEXT "', 'LT', score, origin)\n"
              "return 1\n");

/* ARGV: subscription ("" = all), limit. Replies {total, then per letter: id, dead
 * at, sub, url, attempts, error, first, nid}, newest first. Filtering by
 * subscription reads every dead letter's hash: dead letters are few. */
static ls_script_t s_dead_list_script = LS_SCRIPT(
    "local sub, limit = ARGV[1], tonumber(ARGV[2])\n"
    "local out = {0}\n"
    "local function add(id, at, f)\n"
    "  out[#out + 1] = id\n"
    "  out[#out + 1] = at\n"
    "  for i = 1, 6 do out[#out + 1] = f[i] end\n"
    "end\n"
    "local function fields(id)\n"
    "  return redis.call('HMGET', '" LS_KEY_WEBHOOK "' .. id,\n"
    "                    'sub', 'url', 'attempts', 'error', 'first', 'nid')\n"
    "end\n"
    "if sub == '' then\n"
    "  out[1] = redis.call('ZCARD', '" LS_KEY_WEBHOOK_DEAD "')\n"
    "  local ids = redis.call('ZREVRANGE', '" LS_KEY_WEBHOOK_DEAD "', 0, limit - 1, 'WITHSCORES')\n"
    "  for i = 1, #ids, 2 do add(ids[i], ids[i + 1], fields(ids[i])) end\n"
    "  return out\n"
    "end\n"
    "local ids = redis.call('ZREVRANGE', '" LS_KEY_WEBHOOK_DEAD "', 0, -1, 'WITHSCORES')\n"
    "for i = 1, #ids, 2 do\n"
    "  local f = fields(ids[i])\n"
    "  if f[1] == sub then\n"
    "    out[1] = out[1] + 1\n"
    "    if out[1] <= limit then add(ids[i], ids[i + 1], f) end\n"
    "  end\n"
    "end\n"
    "return out\n");

/* ARGV: id, subscription ("" = any), now, origin ("" = the hash's). Moves one dead
 * letter back to its origin's due set with its attempts reset; the last error stays
 * for the record. 1 when it did, 0 when skipped, {url} when the hash names no
 * origin (written before there were per-origin sets): run again with the origin. */
static ls_script_t s_replay_script =
    LS_SCRIPT("local id = ARGV[1]\n"
              "local key = '" LS_KEY_WEBHOOK "' .. id\n"
              "if not redis.call('ZSCORE', '" LS_KEY_WEBHOOK_DEAD "', id) then return 0 end\n"
              "if redis.call('EXISTS', key) == 0 then return 0 end\n"
              "local f = redis.call('HMGET', key, 'sub', 'origin', 'url')\n"
              "if ARGV[2] ~= '' and f[1] ~= ARGV[2] then return 0 end\n"
              "local origin = ARGV[4] ~= '' and ARGV[4] or f[2]\n"
              "if not origin then return {f[3] or ''} end\n"
              "redis.call('HSET', key, 'attempts', 0, 'origin', origin)\n"
              "redis.call('ZREM', '" LS_KEY_WEBHOOK_DEAD "', id)\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "' .. origin, ARGV[3], id)\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_NEXT "', 'LT', ARGV[3], origin)\n"
              "return 1\n");

/* libcurl and libsodium keep global state that must be set up once per process. */
static pthread_once_t s_library_once = PTHREAD_ONCE_INIT;
static bool s_library_ready;

static void s_library_init(void)
{
    bool curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    bool sodium_ok = sodium_init() >= 0;
    s_library_ready = curl_ok && sodium_ok;
}

static bool s_library(void)
{
    pthread_once(&s_library_once, s_library_init);
    return s_library_ready;
}

void webhook_signature(const char *secret, size_t secret_len, long long t, const void *body,
                       size_t len, char *out)
{
    s_library();
    char stamp[24];
    int stamp_len = snprintf(stamp, sizeof stamp, "%lld.", t);
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&state, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)stamp, (size_t)stamp_len);
    crypto_auth_hmacsha256_update(&state, body, len);
    crypto_auth_hmacsha256_final(&state, mac);
    char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, WEBHOOK_SIGNATURE_MAX, "t=%lld,v1=%s", t, hex);
    sodium_memzero(&state, sizeof state);
}

/* Delay before the next attempt after `attempts` were made: equal jitter over
 * d = min(max, base * 2^(attempts-1)), so that retries of many deliveries to one
 * receiver that failed together spread out. */
static int64_t s_backoff_ms(const ls_config_t *config, long attempts)
{
    int64_t d = config->webhook_backoff_ms;
    for (long i = 1; i < attempts && d < config->webhook_backoff_max_ms; i++)
        d *= 2;
    if (d > config->webhook_backoff_max_ms)
        d = config->webhook_backoff_max_ms;
    if (d < 2)
        return d > 0 ? d : 0;
    return d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2) + 1);
}

int webhook_origin(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        int n = snprintf(out, len, "%s://%s:%s", scheme, host, port);
        if (n > 0 && (size_t)n < len) {
            for (char *p = out; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            rc = strncmp(out, "http://", 7) == 0 || strncmp(out, "https://", 8) == 0 ? 0 : -1;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* Whether an id can travel in a header: printable ASCII without spaces. */
static bool s_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > WEBHOOK_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return false;
    return true;
}

static bool s_is(const redisReply *reply, int type)
{
    return reply && reply->type == type;
}

static bool s_is_text(const redisReply *reply, const char *text)
{
    return s_is(reply, REDIS_REPLY_STRING) && strcmp(reply->str, text) == 0;
}

/* Logs a failed or unexpected store reply and frees it. */
static void s_store_failed(ls_store_t *store, const char *what, redisReply *reply)
{
    if (s_is(reply, REDIS_REPLY_ERROR))
        LS_ERROR("webhook: %s: %s", what, reply->str);
    else if (reply)
        LS_ERROR("webhook: %s: unexpected reply type %d", what, reply->type);
    else
        LS_ERROR("webhook: %s: %s", what, ls_store_error(store));
    if (reply)
        freeReplyObject(reply);
}

static size_t s_take(webhook_t *self, const redisReply *reply, size_t from);

/* Whether the elements of reply from `from` on are whole records of strings. */
static bool s_records_ok(const redisReply *reply, size_t from)
{
    if (reply->elements < from || (reply->elements - from) % S_RECORD_FIELDS != 0)
        return false;
    for (size_t i = from; i < reply->elements; i++)
        if (!s_is(reply->element[i], REDIS_REPLY_STRING))
            return false;
    return true;
}

static void s_lease_text(const webhook_t *self, int64_t now, char *out, size_t len)
{
    snprintf(out, len, "%lld",
             (long long)(now + self->config.webhook_timeout_ms + S_LEASE_EXTRA_MS));
}

/* Runs the outcome script for one delivery of origin after `attempts` attempts
 * (this one included), counts the result, and starts up to room deliveries of the
 * same origin that the script claimed. Returns the requests started. */
static size_t s_record(webhook_t *self, const char *id, size_t id_len, const char *origin,
                       const char *verdict, const char *error, long attempts, long room)
{
    int64_t now = ls_now_ms();
    char now_text[24], next_text[24], max_text[24], room_text[24], lease_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(next_text, sizeof next_text, "%lld",
             (long long)(now + s_backoff_ms(&self->config, attempts)));
    snprintf(max_text, sizeof max_text, "%ld", self->config.webhook_attempts);
    snprintf(room_text, sizeof room_text, "%ld", room);
    s_lease_text(self, now, lease_text, sizeof lease_text);
    const char *argv[] = {id,       now_text, verdict,   error,     next_text,
                          max_text, origin,   room_text, lease_text};
    size_t lens[] = {id_len,         strlen(now_text),  strlen(verdict),
                     strlen(error),  strlen(next_text), strlen(max_text),
                     strlen(origin), strlen(room_text), strlen(lease_text)};
    redisReply *reply = ls_store_eval(self->store, &s_outcome_script, 0, 9, argv, lens);
    if (!s_is(reply, REDIS_REPLY_ARRAY) || reply->elements < 2 || !s_records_ok(reply, 2)) {
        /* The lease runs out and the delivery is sent again: at least once. */
        s_store_failed(self->store, "recording an outcome", reply);
        return 0;
    }
    long long made = s_is(reply->element[1], REDIS_REPLY_INTEGER) ? reply->element[1]->integer : 0;
    if (s_is_text(reply->element[0], "retry"))
        atomic_fetch_add(&self->retries_scheduled, 1);
    else if (s_is_text(reply->element[0], "dead")) {
        atomic_fetch_add(&self->dead, 1);
        LS_WARN("webhook %.*s is a dead letter (attempts: %lld): %s", (int)id_len, id, made, error);
    }
    size_t started = s_take(self, reply, 2);
    freeReplyObject(reply);
    return started;
}

/* Response bodies are not used: count and drop them, and hang up on a long one. */
static size_t s_discard(char *data, size_t size, size_t count, void *arg)
{
    (void)data;
    s_request_t *request = arg;
    request->received += size * count;
    if (request->received > S_RESPONSE_MAX) {
        request->cut = true;
        return 0;
    }
    return size * count;
}

static void s_request_destroy(s_request_t **request_p)
{
    s_request_t *request = *request_p;
    if (!request)
        return;
    if (request->easy)
        curl_easy_cleanup(request->easy);
    curl_slist_free_all(request->headers);
    free(request->id);
    free(request);
    *request_p = NULL;
}

/* Appends one header line; -1 when out of memory. */
static int s_header(s_request_t *request, const char *line)
{
    struct curl_slist *list = curl_slist_append(request->headers, line);
    if (!list)
        return -1;
    request->headers = list;
    return 0;
}

static int s_headers(s_request_t *request, const char *secret, size_t secret_len, const char *body,
                     size_t body_len)
{
    char signature[WEBHOOK_SIGNATURE_MAX];
    webhook_signature(secret, secret_len, (long long)(ls_now_ms() / 1000), body, body_len,
                      signature);
    char id_line[WEBHOOK_ID_MAX + 32], signature_line[WEBHOOK_SIGNATURE_MAX + 32];
    snprintf(id_line, sizeof id_line, "Lodestone-Delivery-Id: %s", request->id);
    snprintf(signature_line, sizeof signature_line, "Lodestone-Signature: %s", signature);
    /* "Expect:" turns off 100-continue, which would hold bodies over 1 KiB back for
     * up to a second waiting for the receiver's go-ahead. */
    if (s_header(request, "Content-Type: application/json") || s_header(request, id_line) ||
        s_header(request, signature_line) || s_header(request, "Expect:"))
        return -1;
    return 0;
}

/* The curl handle of one POST; -1 when curl refuses an option or memory runs out. */
static int s_easy(webhook_t *self, s_request_t *request, const char *url, const char *body,
                  size_t body_len)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return -1;
    request->easy = easy;
    int bad = 0;
    bad |= curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
           CURLE_OK;
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
    /* A request abandoned while its host name is being resolved must not wait for
     * the resolver thread: that would stall every other delivery. */
    bad |= curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, self->config.webhook_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_USERAGENT, "lodestone/" LS_VERSION_TEXT) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_discard) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_WRITEDATA, request) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error) != CURLE_OK;
    bad |= curl_easy_setopt(easy, CURLOPT_PRIVATE, request) != CURLE_OK;
    return bad ? -1 : 0;
}

static long s_attempts_of(const redisReply *reply)
{
    uint64_t attempts = 0;
    if (ls_parse_u64(reply->str, reply->len, &attempts) || attempts > 1000000)
        return 0;
    return (long)attempts;
}

/* Starts the request of a claimed delivery; r = the record {'claimed', id, origin,
 * url, body, attempts, secret}. One that cannot be sent becomes a dead letter.
 * Returns 0 when the request started. */
static int s_start(webhook_t *self, redisReply *const *r)
{
    const char *id = r[1]->str, *origin = r[2]->str;
    size_t id_len = r[1]->len;
    const redisReply *url = r[3], *body = r[4], *secret = r[6];
    long attempts = s_attempts_of(r[5]);
    char parsed[WEBHOOK_ORIGIN_MAX];
    const char *problem = NULL;
    if (strlen(url->str) != url->len || webhook_origin(url->str, parsed, sizeof parsed) ||
        r[2]->len >= WEBHOOK_ORIGIN_MAX)
        problem = "invalid URL (http or https only)";
    else if (!s_id_valid(id, id_len))
        problem = "invalid delivery id";
    if (problem) {
        atomic_fetch_add(&self->attempts_failed, 1);
        s_record(self, id, id_len, origin, "dead", problem, attempts + 1, 0);
        return -1;
    }
    s_request_t *request = NULL;
    if (self->flight_count < (size_t)self->config.webhook_concurrency)
        request = calloc(1, sizeof *request);
    if (request) {
        request->id = strndup(id, id_len);
        request->id_len = id_len;
        request->attempts = attempts;
        snprintf(request->origin, sizeof request->origin, "%s", origin);
    }
    if (!request || !request->id ||
        s_headers(request, secret->str, secret->len, body->str, body->len) ||
        s_easy(self, request, url->str, body->str, body->len) ||
        curl_multi_add_handle(self->multi, request->easy) != CURLM_OK) {
        /* Left leased: it is tried again when the lease runs out. */
        LS_ERROR("webhook %.*s: cannot start the request (out of memory?)", (int)id_len, id);
        s_request_destroy(&request);
        return -1;
    }
    self->flight[self->flight_count++] = request;
    atomic_store(&self->in_flight, (unsigned)self->flight_count);
    return 0;
}

/* Acts on the records of a claim reply from element `from` on (checked by
 * s_records_ok): starts the claimed deliveries, counts and logs the others. A
 * delivery looked at but not started leaves its slot free: another round follows.
 * Returns the requests started. */
static size_t s_take(webhook_t *self, const redisReply *reply, size_t from)
{
    size_t started = 0;
    for (size_t i = from; i + S_RECORD_FIELDS <= reply->elements; i += S_RECORD_FIELDS) {
        redisReply *const *r = reply->element + i;
        const char *id = r[1]->str;
        int id_len = (int)r[1]->len;
        if (s_is_text(r[0], "claimed") && s_start(self, r) == 0) {
            started++;
            continue;
        }
        self->finished = true;
        if (s_is_text(r[0], "dropped")) {
            atomic_fetch_add(&self->dropped, 1);
            LS_INFO("webhook %.*s dropped: subscription %s was deleted", id_len, id, r[3]->str);
        } else if (s_is_text(r[0], "gone"))
            LS_WARN("webhook %.*s was due but has no delivery hash: removed", id_len, id);
        else if (s_is_text(r[0], "dead")) {
            atomic_fetch_add(&self->dead, 1);
            LS_WARN("webhook %.*s is a dead letter: %s", id_len, id, r[3]->str);
        }
    }
    return started;
}

/* Moves one delivery of the legacy single due set to its origin's set; -1 on a
 * store failure. */
static int s_move(webhook_t *self, const redisReply *id)
{
    redisReply *url =
        ls_store_command(self->store, "HGET %s%b url", LS_KEY_WEBHOOK, id->str, id->len);
    if (!url || s_is(url, REDIS_REPLY_ERROR)) {
        s_store_failed(self->store, "moving a delivery to its origin", url);
        return -1;
    }
    char origin[WEBHOOK_ORIGIN_MAX] = "invalid";
    if (s_is(url, REDIS_REPLY_STRING) && strlen(url->str) == url->len &&
        webhook_origin(url->str, origin, sizeof origin))
        snprintf(origin, sizeof origin, "invalid");
    freeReplyObject(url);
    const char *argv[] = {id->str, origin};
    size_t lens[] = {id->len, strlen(origin)};
    redisReply *reply = ls_store_eval(self->store, &s_move_script, 0, 2, argv, lens);
    if (!s_is(reply, REDIS_REPLY_INTEGER)) {
        s_store_failed(self->store, "moving a delivery to its origin", reply);
        return -1;
    }
    freeReplyObject(reply);
    return 0;
}

/* Moves what an earlier version left in the single due set ls:wh:due to the
 * per-origin sets, once per start. -1 on a store failure (tried again later). */
static int s_migrate(webhook_t *self)
{
    size_t moved = 0;
    while (!atomic_load(&self->stop)) {
        redisReply *page = ls_store_command(self->store, "ZRANGE %s 0 %d",
                                            LS_KEY_WEBHOOK_DUE_LEGACY, S_MIGRATE_PAGE - 1);
        if (!s_is(page, REDIS_REPLY_ARRAY)) {
            s_store_failed(self->store, "reading the legacy due set", page);
            return -1;
        }
        size_t n = page->elements;
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (s_is(page->element[i], REDIS_REPLY_STRING)) {
                rc = s_move(self, page->element[i]);
                moved += rc == 0;
            }
        freeReplyObject(page);
        if (rc)
            return -1;
        if (n == 0)
            break;
    }
    if (moved)
        LS_INFO("webhook: moved %zu deliveries to the per-origin due sets", moved);
    self->migrated = true;
    return 0;
}

/* Requests in flight to origin. */
static long s_in_flight_to(const webhook_t *self, const char *origin)
{
    long count = 0;
    for (size_t i = 0; i < self->flight_count; i++)
        count += strcmp(self->flight[i]->origin, origin) == 0;
    return count;
}

static void s_flight_remove(webhook_t *self, s_request_t *request)
{
    for (size_t i = 0; i < self->flight_count; i++)
        if (self->flight[i] == request) {
            self->flight[i] = self->flight[--self->flight_count];
            break;
        }
    atomic_store(&self->in_flight, (unsigned)self->flight_count);
    curl_multi_remove_handle(self->multi, request->easy);
}

static int s_text_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Requests in flight to origin, given the flight's origins sorted. */
static long s_busy(const char *const *sorted, size_t n, const char *origin)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first not below origin */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sorted[mid], origin) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    long count = 0;
    while (lo < n && strcmp(sorted[lo++], origin) == 0)
        count++;
    return count;
}

static int s_candidate_order(const void *a, const void *b)
{
    const s_candidate_t *x = a, *y = b;
    if (x->busy != y->busy)
        return x->busy < y->busy ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* The due origins (a ZRANGEBYSCORE reply) below their cap into self->candidates,
 * in the order they are served: fewer requests in flight first, then the earlier
 * due. Returns how many. */
static size_t s_candidates(webhook_t *self, const redisReply *due)
{
    for (size_t i = 0; i < self->flight_count; i++)
        self->sorted[i] = self->flight[i]->origin;
    qsort(self->sorted, self->flight_count, sizeof *self->sorted, s_text_order);
    size_t n = 0;
    for (size_t i = 0; i < due->elements && n < self->candidate_max; i++) {
        const redisReply *origin = due->element[i];
        if (!s_is(origin, REDIS_REPLY_STRING) || strlen(origin->str) != origin->len)
            continue;
        long busy = s_busy(self->sorted, self->flight_count, origin->str);
        if (busy >= self->config.webhook_per_host)
            continue; /* at its cap: costs nothing more */
        s_candidate_t *c = &self->candidates[n++];
        c->origin = origin->str;
        c->busy = busy;
        c->at = i;
        snprintf(c->room, sizeof c->room, "%ld", self->config.webhook_per_host - busy);
    }
    qsort(self->candidates, n, sizeof *self->candidates, s_candidate_order);
    return n;
}

/* Claims for the candidates in one Lua step and starts what it claimed; -1 on a
 * store failure. */
static int s_claim_for(webhook_t *self, size_t n)
{
    int64_t now = ls_now_ms();
    char now_text[24], lease_text[24], free_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    s_lease_text(self, now, lease_text, sizeof lease_text);
    snprintf(free_text, sizeof free_text, "%zu",
             (size_t)self->config.webhook_concurrency - self->flight_count);
    const char **argv = self->round_argv;
    argv[0] = now_text;
    argv[1] = lease_text;
    argv[2] = free_text;
    for (size_t i = 0; i < n; i++) {
        argv[3 + 2 * i] = self->candidates[i].origin;
        argv[4 + 2 * i] = self->candidates[i].room;
    }
    redisReply *reply =
        ls_store_eval(self->store, &s_round_script, 0, (int)(3 + 2 * n), argv, NULL);
    if (!s_is(reply, REDIS_REPLY_ARRAY) || !s_records_ok(reply, 0)) {
        s_store_failed(self->store, "claiming deliveries", reply);
        return -1;
    }
    s_take(self, reply, 0);
    freeReplyObject(reply);
    return 0;
}

/* One claim round: reads the due origins (ls:wh:next), and hands the free slots to
 * those below their cap in one Lua step. An origin at its cap costs nothing here
 * beyond its name in that read: its deliveries wait in its own set, and its next
 * one is claimed when one of its requests finishes (s_conclude). */
static void s_claim_due(webhook_t *self)
{
    size_t capacity = (size_t)self->config.webhook_concurrency;
    int rc = self->migrated ? 0 : s_migrate(self);
    if (rc == 0 && self->flight_count < capacity) {
        char now_text[24], limit_text[24];
        snprintf(now_text, sizeof now_text, "%lld", (long long)ls_now_ms());
        /* Each origin in flight can hide one that is not: room for the free slots. */
        snprintf(limit_text, sizeof limit_text, "%zu", capacity);
        redisReply *due = ls_store_command(self->store, "ZRANGEBYSCORE %s -inf %s LIMIT 0 %s",
                                           LS_KEY_WEBHOOK_NEXT, now_text, limit_text);
        if (!s_is(due, REDIS_REPLY_ARRAY)) {
            s_store_failed(self->store, "reading the due origins", due);
            rc = -1;
        } else {
            size_t n = s_candidates(self, due);
            if (n > 0)
                rc = s_claim_for(self, n);
            freeReplyObject(due);
        }
    }
    self->next_scan_ms = ls_mono_ms() + (rc ? S_REDIS_RETRY_MS : S_POLL_MS);
}

/* Records the outcome of one finished request (already out of the flight) and
 * hands its slot to the next due delivery of the same origin in the same Lua step,
 * unless it is the last free slot: that one goes to a claim round, which shares it
 * fairly between the due origins. A slot left empty also calls for a round. */
static void s_conclude(webhook_t *self, s_request_t *request, CURLcode result, long status)
{
    long capacity = self->config.webhook_concurrency;
    long room = self->config.webhook_per_host - s_in_flight_to(self, request->origin);
    if (room > capacity - (long)self->flight_count - 1)
        room = capacity - (long)self->flight_count - 1;
    if (room < 0)
        room = 0;
    const char *verdict = "ok";
    char error[S_ERROR_MAX] = "";
    bool answered = result == CURLE_OK || (result == CURLE_WRITE_ERROR && request->cut);
    if (answered && status >= 200 && status < 300)
        atomic_fetch_add(&self->delivered, 1);
    else {
        /* A 4xx other than 408 (timeout) and 429 (slow down) is the receiver refusing
         * this delivery for good: retrying cannot help. */
        bool refused = answered && status >= 400 && status < 500 && status != 408 && status != 429;
        if (answered)
            snprintf(error, sizeof error, "HTTP %ld", status);
        else
            snprintf(error, sizeof error, "%s",
                     request->error[0] ? request->error : curl_easy_strerror(result));
        atomic_fetch_add(&self->attempts_failed, 1);
        verdict = refused ? "dead" : "retry";
    }
    size_t started = s_record(self, request->id, request->id_len, request->origin, verdict, error,
                              request->attempts + 1, room);
    if (started == 0 || (long)started < room)
        self->finished = true;
}

static void s_finish_done(webhook_t *self)
{
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        char *private = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        s_request_t *request = (s_request_t *)private;
        if (!request)
            continue;
        s_flight_remove(self, request);
        s_conclude(self, request, result, status);
        s_request_destroy(&request);
    }
}

static void *s_run(void *arg)
{
    webhook_t *self = arg;
    while (!atomic_load(&self->stop)) {
        int running = 0;
        curl_multi_perform(self->multi, &running);
        s_finish_done(self);
        if ((self->finished || ls_mono_ms() >= self->next_scan_ms) &&
            self->flight_count < (size_t)self->config.webhook_concurrency) {
            self->finished = false;
            s_claim_due(self);
        }
        curl_multi_poll(self->multi, NULL, 0, S_POLL_MS, NULL);
    }
    return NULL;
}

/* Frees everything; requests still in flight are abandoned (their leases expire). */
static void s_free(webhook_t *self)
{
    for (size_t i = 0; i < self->flight_count; i++) {
        curl_multi_remove_handle(self->multi, self->flight[i]->easy);
        s_request_destroy(&self->flight[i]);
    }
    if (self->multi)
        curl_multi_cleanup(self->multi);
    ls_store_destroy(&self->store);
    free(self->flight);
    free(self->round_argv);
    free(self->sorted);
    free(self->candidates);
    free(self);
}

/* The loader checks the ranges; a configuration filled by hand may not have been.
 * A timeout of 0 would mean none to curl, and a hung receiver would hold a slot. */
static void s_limits(ls_config_t *config)
{
    if (config->webhook_timeout_ms < 1)
        config->webhook_timeout_ms = 1;
    if (config->webhook_attempts < 1)
        config->webhook_attempts = 1;
    if (config->webhook_backoff_ms < 1)
        config->webhook_backoff_ms = 1;
    if (config->webhook_backoff_max_ms < config->webhook_backoff_ms)
        config->webhook_backoff_max_ms = config->webhook_backoff_ms;
    if (config->webhook_concurrency < 1)
        config->webhook_concurrency = 1;
    if (config->webhook_per_host < 1)
        config->webhook_per_host = 1;
}

webhook_t *webhook_new(const ls_config_t *config)
{
    if (!s_library()) {
        LS_ERROR("webhook: cannot initialise libcurl or libsodium");
        return NULL;
    }
    webhook_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    s_limits(&self->config);
    atomic_init(&self->stop, false);
    atomic_init(&self->delivered, 0);
    atomic_init(&self->attempts_failed, 0);
    atomic_init(&self->retries_scheduled, 0);
    atomic_init(&self->dead, 0);
    atomic_init(&self->dropped, 0);
    atomic_init(&self->in_flight, 0);
    char err[256] = "out of memory";
    self->store = ls_store_new(config->redis_url, 5000, err, sizeof err);
    self->flight = calloc((size_t)self->config.webhook_concurrency, sizeof *self->flight);
    self->candidate_max = (size_t)self->config.webhook_concurrency;
    self->round_argv = calloc(3 + 2 * self->candidate_max, sizeof *self->round_argv);
    self->sorted = calloc(self->candidate_max, sizeof *self->sorted);
    self->candidates = calloc(self->candidate_max, sizeof *self->candidates);
    self->multi = curl_multi_init();
    if (!self->store || !self->flight || !self->round_argv || !self->sorted || !self->candidates ||
        !self->multi || pthread_create(&self->thread, NULL, s_run, self) != 0) {
        LS_ERROR("webhook: cannot start: %s", self->store ? "out of resources" : err);
        s_free(self);
        return NULL;
    }
    return self;
}

void webhook_destroy(webhook_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    webhook_t *self = *self_p;
    atomic_store(&self->stop, true);
    curl_multi_wakeup(self->multi);
    pthread_join(self->thread, NULL);
    s_free(self);
    *self_p = NULL;
}

void webhook_stats(webhook_t *self, webhook_stats_t *out)
{
    out->delivered = atomic_load(&self->delivered);
    out->attempts_failed = atomic_load(&self->attempts_failed);
    out->retries_scheduled = atomic_load(&self->retries_scheduled);
    out->dead = atomic_load(&self->dead);
    out->dropped = atomic_load(&self->dropped);
    out->in_flight = atomic_load(&self->in_flight);
}

/* A heap copy of a string reply ("" for nil or anything else); NULL when out of
 * memory. */
static char *s_text(const redisReply *reply)
{
    if (s_is(reply, REDIS_REPLY_STRING))
        return strndup(reply->str, reply->len);
    return strdup("");
}

static long long s_number(const redisReply *reply)
{
    if (!s_is(reply, REDIS_REPLY_STRING))
        return 0;
    return (long long)strtod(reply->str, NULL);
}

static void s_letter_free(Lodestone__V1__DeadLetter *letter)
{
    char *texts[] = {letter->delivery_id, letter->subscription_id, letter->url, letter->last_error,
                     letter->notification_id};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] != protobuf_c_empty_string)
            free(texts[i]);
    free(letter);
}

/* One letter from the dead-list reply's fields at f: id, dead at, sub, url,
 * attempts, error, first, nid. NULL when out of memory. */
static Lodestone__V1__DeadLetter *s_letter(redisReply **f)
{
    Lodestone__V1__DeadLetter *letter = malloc(sizeof *letter);
    if (!letter)
        return NULL;
    lodestone__v1__dead_letter__init(letter);
    letter->delivery_id = s_text(f[0]);
    letter->dead_at = s_number(f[1]);
    letter->subscription_id = s_text(f[2]);
    letter->url = s_text(f[3]);
    long long attempts = s_number(f[4]);
    letter->attempts = attempts < 0 ? 0 : attempts > UINT32_MAX ? UINT32_MAX : (uint32_t)attempts;
    letter->last_error = s_text(f[5]);
    letter->first_at = s_number(f[6]);
    letter->notification_id = s_text(f[7]);
    if (!letter->delivery_id || !letter->subscription_id || !letter->url || !letter->last_error ||
        !letter->notification_id) {
        /* NULLs are not the empty string: free what was copied. */
        char *texts[] = {letter->delivery_id, letter->subscription_id, letter->url,
                         letter->last_error, letter->notification_id};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            free(texts[i]);
        free(letter);
        return NULL;
    }
    return letter;
}

void webhook_dead_list_clear(Lodestone__V1__DeadLetterList *list)
{
    for (size_t i = 0; i < list->n_letters; i++)
        s_letter_free(list->letters[i]);
    free(list->letters);
    lodestone__v1__dead_letter_list__init(list);
}

int webhook_dead_list(ls_store_t *store, const char *subscription_id, size_t limit,
                      Lodestone__V1__DeadLetterList *out)
{
    lodestone__v1__dead_letter_list__init(out);
    if (limit == 0)
        limit = S_DEAD_LIST_DEFAULT;
    if (limit > S_DEAD_LIST_MAX)
        limit = S_DEAD_LIST_MAX;
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit);
    const char *argv[] = {subscription_id, limit_text};
    redisReply *reply = ls_store_eval(store, &s_dead_list_script, 0, 2, argv, NULL);
    if (!s_is(reply, REDIS_REPLY_ARRAY) || reply->elements < 1 ||
        (reply->elements - 1) % S_DEAD_FIELDS != 0 ||
        !s_is(reply->element[0], REDIS_REPLY_INTEGER)) {
        s_store_failed(store, "listing dead letters", reply);
        return -1;
    }
    size_t n = (reply->elements - 1) / S_DEAD_FIELDS;
    out->total = reply->element[0]->integer > 0 ? (uint64_t)reply->element[0]->integer : 0;
    out->letters = calloc(n ? n : 1, sizeof *out->letters);
    int rc = out->letters ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Lodestone__V1__DeadLetter *letter = s_letter(reply->element + 1 + i * S_DEAD_FIELDS);
        if (letter)
            out->letters[out->n_letters++] = letter;
        else
            rc = -1;
    }
    freeReplyObject(reply);
    if (rc) {
        LS_ERROR("webhook: listing dead letters: out of memory");
        webhook_dead_list_clear(out);
    }
    return rc;
}

/* Replays one letter; 1 when replayed, 0 when skipped, -1 on a failure. A letter
 * whose hash names no origin gets the one of its URL ("invalid" when it has none:
 * it dies again at once). */
static int s_replay_one(ls_store_t *store, const char *id, size_t id_len,
                        const char *subscription_id, const char *now_text)
{
    char origin[WEBHOOK_ORIGIN_MAX] = "";
    for (int pass = 0; pass < 2; pass++) {
        const char *argv[] = {id, subscription_id, now_text, origin};
        size_t lens[] = {id_len, strlen(subscription_id), strlen(now_text), strlen(origin)};
        redisReply *reply = ls_store_eval(store, &s_replay_script, 0, 4, argv, lens);
        if (s_is(reply, REDIS_REPLY_INTEGER)) {
            int replayed = reply->integer == 1;
            freeReplyObject(reply);
            return replayed;
        }
        if (pass > 0 || !s_is(reply, REDIS_REPLY_ARRAY) || reply->elements != 1 ||
            !s_is(reply->element[0], REDIS_REPLY_STRING)) {
            s_store_failed(store, "replaying a dead letter", reply);
            return -1;
        }
        const redisReply *url = reply->element[0];
        if (strlen(url->str) != url->len || webhook_origin(url->str, origin, sizeof origin))
            snprintf(origin, sizeof origin, "invalid");
        freeReplyObject(reply);
    }
    return -1;
}

long webhook_dead_replay(ls_store_t *store, const char *subscription_id, const char *const *ids,
                         size_t n, int64_t now_ms)
{
    char now_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now_ms);
    redisReply *all = NULL;
    if (!ids || n == 0) {
        all = ls_store_command(store, "ZRANGE %s 0 -1", LS_KEY_WEBHOOK_DEAD);
        if (!s_is(all, REDIS_REPLY_ARRAY)) {
            s_store_failed(store, "reading dead letters", all);
            return -1;
        }
        n = all->elements;
    }
    long count = 0;
    for (size_t i = 0; i < n && count >= 0; i++) {
        const char *id = all ? all->element[i]->str : ids[i];
        if (!id || (all && !s_is(all->element[i], REDIS_REPLY_STRING)))
            continue;
        size_t id_len = all ? all->element[i]->len : strlen(id);
        int rc = s_replay_one(store, id, id_len, subscription_id, now_text);
        count = rc < 0 ? -1 : count + rc;
    }
    if (all)
        freeReplyObject(all);
    return count;
}
