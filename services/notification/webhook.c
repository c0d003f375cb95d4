/* webhook.c — webhook delivery: one thread with its own Redis connection and a
 * libcurl multi handle. Each turn it claims due deliveries (leasing them), starts
 * their requests within the total and per-origin caps, waits briefly for network
 * activity, and records each finished request's outcome in one Lua step. Also the
 * dead-letter list and replay used by the notification service's API. */
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

#define S_POLL_MS 50     /* longest network wait: bounds how late new work or a stop is seen */
#define S_SCAN_PAGE 64   /* due deliveries read per Redis step */
#define S_SKIP_MAX 256   /* due deliveries of busy origins passed over before pushing them back */
#define S_ROUND_PAGES 16 /* pages read per turn at most: bounds a turn's work */
#define S_DEFER_MS 250   /* how far those are pushed back, so that others come forward */
#define S_LEASE_EXTRA_MS 5000   /* a lease is the request timeout plus this */
#define S_REDIS_RETRY_MS 1000   /* pause after a Redis failure */
#define S_RESPONSE_MAX 65536    /* response bytes read before hanging up */
#define S_ORIGIN_MAX 320        /* "https://" + a 253-byte host name + ":65535", with room */
#define S_ID_MAX 200            /* longest delivery id sent in a header */
#define S_ERROR_MAX 256         /* stored text of a failure */
#define S_DEAD_LIST_DEFAULT 100 /* dead letters listed when the caller names no limit */
#define S_DEAD_LIST_MAX 1000    /* dead letters listed at most */
#define S_DEAD_FIELDS 8         /* values per letter in the dead-list script's reply */

/* One request in flight. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *id; /* the delivery id, id_len bytes, NUL-ended */
    size_t id_len;
    char origin[S_ORIGIN_MAX];
    long attempts; /* attempts made before this one */
    size_t received;
    bool cut; /* the response was longer than S_RESPONSE_MAX: hung up after its status */
    char error[CURL_ERROR_SIZE];
} s_request_t;

struct _webhook_t {
    ls_config_t config;
    ls_store_t *store;    /* the thread's own */
    CURLM *multi;         /* the thread's; curl_multi_wakeup is safe from any thread */
    s_request_t **flight; /* config.webhook_concurrency slots */
    size_t flight_count;
    int64_t next_scan_ms; /* monotonic */
    bool finished;        /* a request ended since the last scan: slots are free */
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t attempts_failed;
    atomic_uint_fast64_t retries_scheduled;
    atomic_uint_fast64_t dead;
    atomic_uint_fast64_t dropped;
    atomic_uint in_flight;
};

/* ARGV: now, offset, count. The due deliveries as id, url ("" when missing) pairs. */
static ls_script_t s_scan_script =
    LS_SCRIPT("local ids = redis.call('ZRANGEBYSCORE', '" LS_KEY_WEBHOOK_DUE "', '-inf', ARGV[1],\n"
              "                       'LIMIT', ARGV[2], ARGV[3])\n"
              "local out = {}\n"
              "for _, id in ipairs(ids) do\n"
              "  out[#out + 1] = id\n"
              "  out[#out + 1] = redis.call('HGET', '" LS_KEY_WEBHOOK "' .. id, 'url') or ''\n"
              "end\n"
              "return out\n");

/* ARGV: id, now, lease end. Claims a delivery that is still due by moving its score
 * to the lease end. Replies {'claimed', url, body, attempts, secret}; {'busy'} when
 * it is no longer due (another worker has it); {'gone'} for a due entry without its
 * hash (removed); {'dead', error} for a hash missing fields (made a dead letter);
 * {'dropped', sub} when the subscription's secret is gone (it was deleted). */
static ls_script_t s_claim_script =
    LS_SCRIPT("local id, now = ARGV[1], tonumber(ARGV[2])\n"
              "local score = redis.call('ZSCORE', '" LS_KEY_WEBHOOK_DUE "', id)\n"
              "if not score or tonumber(score) > now then return {'busy'} end\n"
              "local key = '" LS_KEY_WEBHOOK "' .. id\n"
              "if redis.call('EXISTS', key) == 0 then\n"
              "  redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE "', id)\n"
              "  return {'gone'}\n"
              "end\n"
              "local f = redis.call('HMGET', key, 'url', 'body', 'sub', 'attempts')\n"
              "local missing = {}\n"
              "if not f[1] then missing[#missing + 1] = 'url' end\n"
              "if not f[2] then missing[#missing + 1] = 'body' end\n"
              "if not f[3] then missing[#missing + 1] = 'sub' end\n"
              "if #missing > 0 then\n"
              "  local err = 'malformed delivery: no ' .. table.concat(missing, ', ')\n"
              "  redis.call('HSET', key, 'error', err)\n"
              "  redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE "', id)\n"
              "  redis.call('ZADD', '" LS_KEY_WEBHOOK_DEAD "', ARGV[2], id)\n"
              "  return {'dead', err}\n"
              "end\n"
              "local secret = redis.call('GET', '" LS_KEY_SUB_SECRET "' .. f[3])\n"
              "if not secret then\n"
              "  redis.call('DEL', key)\n"
              "  redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE "', id)\n"
              "  return {'dropped', f[3]}\n"
              "end\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "', ARGV[3], id)\n"
              "return {'claimed', f[1], f[2], f[4] or '0', secret}\n");

/* ARGV: ids... with ARGV[1] = now, ARGV[2] = the new score. Pushes back the ids
 * that are still due (not claimed meanwhile). */
static ls_script_t s_defer_script =
    LS_SCRIPT("local now = tonumber(ARGV[1])\n"
              "for i = 3, #ARGV do\n"
              "  local score = redis.call('ZSCORE', '" LS_KEY_WEBHOOK_DUE "', ARGV[i])\n"
              "  if score and tonumber(score) <= now then\n"
              "    redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "', ARGV[2], ARGV[i])\n"
              "  end\n"
              "end\n"
              "return 0\n");

/* ARGV: id, now, verdict ('ok', 'retry', 'dead'), error, next attempt time, the
 * attempts allowed. Replies {what, attempts} with what 'delivered', 'retry', 'dead',
 * or 'gone' when the delivery was finished elsewhere (a lease that ran out). */
static ls_script_t s_outcome_script = LS_SCRIPT(
    "local id = ARGV[1]\n"
    "local key = '" LS_KEY_WEBHOOK "' .. id\n"
    "if redis.call('EXISTS', key) == 0 then return {'gone', 0} end\n"
    "if ARGV[3] == 'ok' then\n"
    "  redis.call('DEL', key)\n"
    "  redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE "', id)\n"
    "  return {'delivered', 0}\n"
    "end\n"
    "local attempts = math.floor(tonumber(redis.call('HGET', key, 'attempts')) or 0) + 1\n"
    "redis.call('HSET', key, 'attempts', attempts, 'error', ARGV[4])\n"
    "if ARGV[3] == 'dead' or attempts >= tonumber(ARGV[6]) then\n"
    "  redis.call('ZREM', '" LS_KEY_WEBHOOK_DUE "', id)\n"
    "  redis.call('ZADD', '" LS_KEY_WEBHOOK_DEAD "', ARGV[2], id)\n"
    "  return {'dead', attempts}\n"
    "end\n"
    "redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "', ARGV[5], id)\n"
    "return {'retry', attempts}\n");

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

/* ARGV: id, subscription ("" = any), now. Moves one dead letter back to the due
 * set with its attempts reset; the last error stays for the record. 1 when it did. */
static ls_script_t s_replay_script =
    LS_SCRIPT("local id = ARGV[1]\n"
              "local key = '" LS_KEY_WEBHOOK "' .. id\n"
              "if not redis.call('ZSCORE', '" LS_KEY_WEBHOOK_DEAD "', id) then return 0 end\n"
              "if redis.call('EXISTS', key) == 0 then return 0 end\n"
              "if ARGV[2] ~= '' and redis.call('HGET', key, 'sub') ~= ARGV[2] then return 0 end\n"
              "redis.call('HSET', key, 'attempts', 0)\n"
              "redis.call('ZREM', '" LS_KEY_WEBHOOK_DEAD "', id)\n"
              "redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "', ARGV[3], id)\n"
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

/* "scheme://host:port" of an http or https URL, lower case, into out. -1 when the
 * URL does not parse or has another scheme. */
static int s_origin(const char *url, char *out, size_t len)
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
    if (len == 0 || len > S_ID_MAX)
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

/* Runs the outcome script for one delivery after `attempts` attempts (this one
 * included) and counts the result. */
static void s_record(webhook_t *self, const char *id, size_t id_len, const char *verdict,
                     const char *error, long attempts)
{
    int64_t now = ls_now_ms();
    char now_text[24], next_text[24], max_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(next_text, sizeof next_text, "%lld",
             (long long)(now + s_backoff_ms(&self->config, attempts)));
    snprintf(max_text, sizeof max_text, "%ld", self->config.webhook_attempts);
    const char *argv[] = {id, now_text, verdict, error, next_text, max_text};
    size_t lens[] = {id_len,        strlen(now_text),  strlen(verdict),
                     strlen(error), strlen(next_text), strlen(max_text)};
    redisReply *reply = ls_store_eval(self->store, &s_outcome_script, 0, 6, argv, lens);
    if (!s_is(reply, REDIS_REPLY_ARRAY) || reply->elements != 2) {
        /* The lease runs out and the delivery is sent again: at least once. */
        s_store_failed(self->store, "recording an outcome", reply);
        return;
    }
    long long made = s_is(reply->element[1], REDIS_REPLY_INTEGER) ? reply->element[1]->integer : 0;
    if (s_is_text(reply->element[0], "retry"))
        atomic_fetch_add(&self->retries_scheduled, 1);
    else if (s_is_text(reply->element[0], "dead")) {
        atomic_fetch_add(&self->dead, 1);
        LS_WARN("webhook %.*s is a dead letter (attempts: %lld): %s", (int)id_len, id, made, error);
    }
    freeReplyObject(reply);
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
    char id_line[S_ID_MAX + 32], signature_line[WEBHOOK_SIGNATURE_MAX + 32];
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

/* Starts the request of a claimed delivery; claim = {'claimed', url, body, attempts,
 * secret}. One that cannot be sent becomes a dead letter. */
static void s_start(webhook_t *self, const char *id, size_t id_len, const redisReply *claim)
{
    const redisReply *url = claim->element[1], *body = claim->element[2];
    long attempts = s_attempts_of(claim->element[3]);
    char origin[S_ORIGIN_MAX];
    const char *problem = NULL;
    if (strlen(url->str) != url->len || s_origin(url->str, origin, sizeof origin))
        problem = "invalid URL (http or https only)";
    else if (!s_id_valid(id, id_len))
        problem = "invalid delivery id";
    if (problem) {
        atomic_fetch_add(&self->attempts_failed, 1);
        s_record(self, id, id_len, "dead", problem, attempts + 1);
        return;
    }
    s_request_t *request = calloc(1, sizeof *request);
    if (request) {
        request->id = strndup(id, id_len);
        request->id_len = id_len;
        request->attempts = attempts;
        snprintf(request->origin, sizeof request->origin, "%s", origin);
    }
    if (!request || !request->id ||
        s_headers(request, claim->element[4]->str, claim->element[4]->len, body->str, body->len) ||
        s_easy(self, request, url->str, body->str, body->len) ||
        curl_multi_add_handle(self->multi, request->easy) != CURLM_OK) {
        /* Left leased: it is tried again when the lease runs out. */
        LS_ERROR("webhook %.*s: cannot start the request (out of memory?)", (int)id_len, id);
        s_request_destroy(&request);
        return;
    }
    self->flight[self->flight_count++] = request;
    atomic_store(&self->in_flight, (unsigned)self->flight_count);
}

/* Claims one due delivery and starts it. Returns -1 on a store failure. */
static int s_claim(webhook_t *self, const char *id, size_t id_len)
{
    int64_t now = ls_now_ms();
    char now_text[24], lease_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(lease_text, sizeof lease_text, "%lld",
             (long long)(now + self->config.webhook_timeout_ms + S_LEASE_EXTRA_MS));
    const char *argv[] = {id, now_text, lease_text};
    size_t lens[] = {id_len, strlen(now_text), strlen(lease_text)};
    redisReply *reply = ls_store_eval(self->store, &s_claim_script, 0, 3, argv, lens);
    if (!s_is(reply, REDIS_REPLY_ARRAY) || reply->elements < 1) {
        s_store_failed(self->store, "claiming a delivery", reply);
        return -1;
    }
    for (size_t i = 0; i < reply->elements; i++)
        if (!s_is(reply->element[i], REDIS_REPLY_STRING)) {
            s_store_failed(self->store, "claiming a delivery", reply);
            return -1;
        }
    const redisReply *what = reply->element[0];
    if (s_is_text(what, "claimed") && reply->elements == 5)
        s_start(self, id, id_len, reply);
    else if (s_is_text(what, "dropped") && reply->elements == 2) {
        atomic_fetch_add(&self->dropped, 1);
        LS_INFO("webhook %.*s dropped: subscription %s was deleted", (int)id_len, id,
                reply->element[1]->str);
    } else if (s_is_text(what, "gone"))
        LS_WARN("webhook %.*s was due but has no delivery hash: removed", (int)id_len, id);
    else if (s_is_text(what, "dead") && reply->elements == 2) {
        atomic_fetch_add(&self->dead, 1);
        LS_WARN("webhook %.*s is a dead letter: %s", (int)id_len, id, reply->element[1]->str);
    }
    freeReplyObject(reply);
    return 0;
}

static bool s_origin_full(const webhook_t *self, const char *origin)
{
    long count = 0;
    for (size_t i = 0; i < self->flight_count; i++)
        if (strcmp(self->flight[i]->origin, origin) == 0)
            count++;
    return count >= self->config.webhook_per_host;
}

/* The due deliveries passed over in one scan because their origin was full. */
typedef struct {
    const char *ids[S_SKIP_MAX + S_SCAN_PAGE];
    size_t lens[S_SKIP_MAX + S_SCAN_PAGE];
    redisReply *pages[S_ROUND_PAGES]; /* owners of the id strings */
    size_t count;
    size_t page_count;
} s_skipped_t;

/* Pushes the skipped deliveries back by S_DEFER_MS: so many are waiting for busy
 * origins that looking past them each turn would cost more than it finds. */
static void s_defer(webhook_t *self, s_skipped_t *skipped, int64_t now)
{
    char now_text[24], later_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(later_text, sizeof later_text, "%lld", (long long)(now + S_DEFER_MS));
    const char *argv[2 + S_SKIP_MAX + S_SCAN_PAGE] = {now_text, later_text};
    size_t lens[2 + S_SKIP_MAX + S_SCAN_PAGE] = {strlen(now_text), strlen(later_text)};
    for (size_t i = 0; i < skipped->count; i++) {
        argv[2 + i] = skipped->ids[i];
        lens[2 + i] = skipped->lens[i];
    }
    redisReply *reply =
        ls_store_eval(self->store, &s_defer_script, 0, (int)(2 + skipped->count), argv, lens);
    if (!s_is(reply, REDIS_REPLY_INTEGER)) {
        s_store_failed(self->store, "deferring deliveries", reply);
        return;
    }
    freeReplyObject(reply);
}

/* Reads one page of due deliveries after `offset` of them; NULL on a failure. */
static redisReply *s_scan_page(webhook_t *self, int64_t now, size_t offset)
{
    char now_text[24], offset_text[24], count_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(offset_text, sizeof offset_text, "%zu", offset);
    snprintf(count_text, sizeof count_text, "%d", S_SCAN_PAGE);
    const char *argv[] = {now_text, offset_text, count_text};
    redisReply *reply = ls_store_eval(self->store, &s_scan_script, 0, 3, argv, NULL);
    bool ok = s_is(reply, REDIS_REPLY_ARRAY) && reply->elements % 2 == 0;
    for (size_t i = 0; ok && i < reply->elements; i++)
        ok = s_is(reply->element[i], REDIS_REPLY_STRING);
    if (!ok) {
        s_store_failed(self->store, "reading due deliveries", reply);
        return NULL;
    }
    return reply;
}

/* Goes through one page: claims what the caps allow, notes the rest in skipped.
 * Returns -1 on a store failure. */
static int s_claim_page(webhook_t *self, const redisReply *page, s_skipped_t *skipped)
{
    size_t capacity = (size_t)self->config.webhook_concurrency;
    for (size_t i = 0; i + 1 < page->elements && self->flight_count < capacity; i += 2) {
        const redisReply *id = page->element[i], *url = page->element[i + 1];
        char origin[S_ORIGIN_MAX];
        bool usable = s_origin(url->str, origin, sizeof origin) == 0;
        if (usable && s_origin_full(self, origin)) {
            skipped->ids[skipped->count] = id->str;
            skipped->lens[skipped->count++] = id->len;
            continue;
        }
        if (s_claim(self, id->str, id->len))
            return -1;
    }
    return 0;
}

/* Claims due deliveries until the caps are reached or none are left. A delivery
 * whose origin is at its cap is passed over, so that a slow receiver never holds
 * back the others. */
static void s_claim_due(webhook_t *self)
{
    s_skipped_t *skipped = calloc(1, sizeof *skipped);
    if (!skipped)
        return;
    int64_t now = ls_now_ms();
    size_t capacity = (size_t)self->config.webhook_concurrency;
    int rc = 0;
    while (rc == 0 && self->flight_count < capacity && skipped->page_count < S_ROUND_PAGES &&
           !atomic_load(&self->stop)) {
        /* Claimed deliveries leave the due range and skipped ones stay: the next
         * page starts after the skipped. */
        redisReply *page = s_scan_page(self, now, skipped->count);
        if (!page) {
            rc = -1;
            break;
        }
        skipped->pages[skipped->page_count++] = page;
        rc = s_claim_page(self, page, skipped);
        if (page->elements < 2 * S_SCAN_PAGE)
            break;
        if (skipped->count >= S_SKIP_MAX) {
            s_defer(self, skipped, now);
            break;
        }
    }
    for (size_t i = 0; i < skipped->page_count; i++)
        freeReplyObject(skipped->pages[i]);
    free(skipped);
    self->next_scan_ms = ls_mono_ms() + (rc ? S_REDIS_RETRY_MS : S_POLL_MS);
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

/* Records the outcome of one finished request. */
static void s_conclude(webhook_t *self, s_request_t *request, CURLcode result, long status)
{
    char error[S_ERROR_MAX];
    bool answered = result == CURLE_OK || (result == CURLE_WRITE_ERROR && request->cut);
    if (answered && status >= 200 && status < 300) {
        atomic_fetch_add(&self->delivered, 1);
        s_record(self, request->id, request->id_len, "ok", "", request->attempts + 1);
        return;
    }
    /* A 4xx other than 408 (timeout) and 429 (slow down) is the receiver refusing
     * this delivery for good: retrying cannot help. */
    bool refused = answered && status >= 400 && status < 500 && status != 408 && status != 429;
    if (answered)
        snprintf(error, sizeof error, "HTTP %ld", status);
    else
        snprintf(error, sizeof error, "%s",
                 request->error[0] ? request->error : curl_easy_strerror(result));
    atomic_fetch_add(&self->attempts_failed, 1);
    s_record(self, request->id, request->id_len, refused ? "dead" : "retry", error,
             request->attempts + 1);
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
        self->finished = true;
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
    self->multi = curl_multi_init();
    if (!self->store || !self->flight || !self->multi ||
        pthread_create(&self->thread, NULL, s_run, self) != 0) {
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

/* Replays one letter; 1 when replayed, 0 when skipped, -1 on a failure. */
static int s_replay_one(ls_store_t *store, const char *id, size_t id_len,
                        const char *subscription_id, const char *now_text)
{
    const char *argv[] = {id, subscription_id, now_text};
    size_t lens[] = {id_len, strlen(subscription_id), strlen(now_text)};
    redisReply *reply = ls_store_eval(store, &s_replay_script, 0, 3, argv, lens);
    if (!s_is(reply, REDIS_REPLY_INTEGER)) {
        s_store_failed(store, "replaying a dead letter", reply);
        return -1;
    }
    int replayed = reply->integer == 1;
    freeReplyObject(reply);
    return replayed;
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
