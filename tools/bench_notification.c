/* bench_notification.c — lodestone-bench-notification: how fast the notification
 * service delivers, against a running Redis and notification (nothing else):
 *   inbox:   appends match events to the match journal in Redis as matching does
 *            (one Lua step per batch, contiguous seqs) and sends each live to
 *            notification's PULL socket; times them until notification's checkpoint
 *            reaches the last one (every inbox entry written), counts what the feed
 *            (topic "to/") carries, and checks a sample of inboxes;
 *   webhook: runs an HTTP receiver in-process (webhook_receiver.h), creates a filter
 *            subscription whose webhook points at it, appends events only that
 *            filter takes, and times them until the receiver has accepted every
 *            delivery id once; a delayed receiver shows what concurrency gives.
 * With --backlog the events are all written first and notification learns of them
 * at once, so that its catch-up is timed without the bench's appends alongside.
 * docs/benchmarks.md ("Notification") says how to run it and what it measured. */
#include <ctype.h>
#include <czmq.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "ls_client.h"
#include "ls_codec.h"
#include "ls_config.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_rpc.h"
#include "ls_store.h"
#include "ls_util.h"
#include "webhook_receiver.h"

#define S_NAME "lodestone-bench-notification"
#define S_CHECKPOINT LS_KEY_CHECKPOINT "notification"
#define S_HOOK_MATERIAL "helium" /* carried by the webhook events only */
#define S_HOOK_RECIPIENT "bench-hooks"
#define S_HOOK_DELAYS_MAX 8
#define S_SAMPLE 100            /* inboxes whose length is checked */
#define S_FACETS 8              /* facet scores per match, as the supply model has */
#define S_POLL_MS 10            /* how often a wait looks at Redis */
#define S_PROGRESS_US 3000000   /* a progress line on long waits */
#define S_FEED_GRACE_US 3000000 /* the feed's last messages after the checkpoint */
#define S_VERIFY_MAX 5          /* webhook requests whose signature is checked */

typedef enum { S_PHASE_ALL, S_PHASE_INBOX, S_PHASE_WEBHOOK } s_phase_t;

typedef struct {
    long events, recipients, rate, batch, hook_events, timeout_s, receiver_threads;
    long hook_delays[S_HOOK_DELAYS_MAX];
    size_t n_hook_delays;
    long notification_pid; /* 0: unknown, no CPU figure */
    uint64_t seed;
    s_phase_t phase;
    bool backlog; /* append everything first, then tell notification */
    bool json;
} s_options_t;

/* Packed match events, generated before any clock starts. */
typedef struct {
    uint8_t *data;
    size_t used, capacity;
    size_t *ends; /* event i is data[ends[i - 1] .. ends[i]) */
    size_t count;
} s_events_t;

typedef struct {
    bool ran, measured, complete; /* measured: the clock started */
    bool checked;                 /* the sample of inboxes was looked at */
    size_t events, delivered;     /* delivered: up to the checkpoint at the end */
    uint64_t first_seq, last_seq;
    double send_seconds;     /* first append to last send */
    double seconds;          /* first send (--backlog: the heartbeat) to the checkpoint */
    size_t feed_received;    /* messages on "to/" */
    double feed_seconds;     /* first send to the last of them */
    size_t feed_checked;     /* of which unpacked and found right */
    size_t feed_wrong;       /* unpacked and found wrong */
    double cpu_notification; /* -1: unknown */
    double cpu_redis, cpu_bench;
    double redis_commands;    /* commands Redis ran, scripts' calls included; -1 unknown */
    double memory_per_event;  /* Redis used_memory growth / events; -1 unknown */
    double inbox_entry_bytes; /* MEMORY USAGE of the sample / its entries; -1 unknown */
    size_t sample_expected, sample_found;
    bool sample_ok;
    double event_bytes; /* mean packed MatchEvent */
} s_inbox_result_t;

typedef struct {
    bool ran, measured, complete;
    long delay_ms;
    size_t events;
    char sub_id[32];
    double seconds;         /* first send to the last new id accepted */
    double queued_seconds;  /* first send to the checkpoint at the last seq */
    double first_request_s; /* first send to the first request */
    size_t distinct, requests, no_id;
    size_t verified, bad_signatures;
    unsigned max_concurrent;
    double cpu_notification, cpu_redis;
    double redis_commands;
    long long due_left, dead; /* ls:wh:due and ls:wh:dead afterwards; -1 unknown */
} s_hook_result_t;

typedef struct {
    s_options_t options;
    ls_config_t config;
    ls_store_t *store;
    ls_client_t *client;
    zsock_t *push;
    zsock_t *feed;         /* SUB on "to/" during the inbox phase, else NULL */
    uint64_t backlog_next; /* --backlog: the seq the next appended event takes */
    uint32_t *sent_to;     /* events per recipient in the phase */
    /* The feed as it arrives. */
    size_t feed_received, feed_checked, feed_wrong;
    int64_t feed_last_us;
} s_bench_t;

/* ---------------------------------------------------------------------------
 * Clocks and processes */

static double s_since(int64_t started_us)
{
    return (double)(bench_now_us() - started_us) / 1e6;
}

static double s_delta(double after, double before)
{
    return after < 0 || before < 0 ? -1 : after - before;
}

/* ---------------------------------------------------------------------------
 * Options */

static int s_usage(void)
{
    fprintf(stderr,
            "usage: " S_NAME " [--events N] [--recipients N] [--rate R] [--batch B]\n"
            "       [--hook-events M] [--hook-delay-ms D[,D...]] [--phase all|inbox|webhook]\n"
            "       [--notification-pid PID] [--timeout S] [--receiver-threads T] [--seed S]\n"
            "       [--backlog] [--json]\n"
            "Against a running Redis (LODESTONE_REDIS_URL) and notification service\n"
            "(LODESTONE_NOTIFICATION_ENDPOINT, _PULL_ENDPOINT, _PUB_ENDPOINT), nothing else:\n"
            "  --events N        match events for the inbox phase [100000]\n"
            "  --recipients N    entity ids they go to, sme-1 .. sme-N [10000]\n"
            "  --rate R          events per second, paced by the clock; 0 = as fast as the\n"
            "                    PULL socket takes them [0]\n"
            "  --batch B         events appended per Lua step, as matching does [256]\n"
            "  --backlog         append every event first, untimed, then time notification\n"
            "                    from one heartbeat: its catch-up alone, without the bench\n"
            "  --hook-events M   events the webhook subscription takes, per round [20000]\n"
            "  --hook-delay-ms D the receiver answers after D ms; a list runs one round\n"
            "                    per delay, e.g. 0,20 [0]\n"
            "  --phase P         inbox: inboxes and feed; webhook: webhooks; all [all]\n"
            "  --notification-pid PID  report the service's CPU (from /proc/PID/stat)\n"
            "  --timeout S       give up when nothing progresses for S seconds [30]\n"
            "  --receiver-threads T  the receiver's thread pool [4]\n"
            "  --seed S          event generator seed [1]\n"
            "  --json            also print the results as one JSON object\n");
    return 2;
}

static int s_delays_arg(const char *text, s_options_t *o)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", text);
    o->n_hook_delays = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (o->n_hook_delays == S_HOOK_DELAYS_MAX ||
            bench_long_arg(item, 0, &o->hook_delays[o->n_hook_delays]) ||
            o->hook_delays[o->n_hook_delays] > 60000)
            return -1;
        o->n_hook_delays++;
    }
    return o->n_hook_delays ? 0 : -1;
}

static int s_phase_arg(const char *text, s_phase_t *phase)
{
    if (strcmp(text, "all") == 0)
        *phase = S_PHASE_ALL;
    else if (strcmp(text, "inbox") == 0)
        *phase = S_PHASE_INBOX;
    else if (strcmp(text, "webhook") == 0)
        *phase = S_PHASE_WEBHOOK;
    else
        return -1;
    return 0;
}

static int s_parse_args(int argc, char **argv, s_options_t *o)
{
    *o = (s_options_t){.events = 100000,
                       .recipients = 10000,
                       .batch = 256,
                       .hook_events = 20000,
                       .n_hook_delays = 1,
                       .timeout_s = 30,
                       .receiver_threads = 4,
                       .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(flag, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(flag, "--backlog") == 0) {
            o->backlog = true;
            continue;
        }
        if (!value)
            return -1;
        int rc = -1;
        if (strcmp(flag, "--events") == 0)
            rc = bench_long_arg(value, 1, &o->events);
        else if (strcmp(flag, "--recipients") == 0)
            rc = bench_long_arg(value, 1, &o->recipients);
        else if (strcmp(flag, "--rate") == 0)
            rc = bench_long_arg(value, 0, &o->rate);
        else if (strcmp(flag, "--batch") == 0)
            rc = bench_long_arg(value, 1, &o->batch);
        else if (strcmp(flag, "--hook-events") == 0)
            rc = bench_long_arg(value, 1, &o->hook_events);
        else if (strcmp(flag, "--hook-delay-ms") == 0)
            rc = s_delays_arg(value, o);
        else if (strcmp(flag, "--phase") == 0)
            rc = s_phase_arg(value, &o->phase);
        else if (strcmp(flag, "--notification-pid") == 0)
            rc = bench_long_arg(value, 1, &o->notification_pid);
        else if (strcmp(flag, "--timeout") == 0)
            rc = bench_long_arg(value, 1, &o->timeout_s);
        else if (strcmp(flag, "--receiver-threads") == 0)
            rc = bench_long_arg(value, 1, &o->receiver_threads);
        else if (strcmp(flag, "--seed") == 0)
            rc = ls_parse_u64(value, strlen(value), &o->seed);
        if (rc) {
            fprintf(stderr, S_NAME ": bad %s '%s'\n", flag, value);
            return -1;
        }
        i++;
    }
    if (o->batch > 4096 || o->receiver_threads > 64 || o->recipients > 100000000) {
        fprintf(stderr, S_NAME ": --batch at most 4096, --receiver-threads at most 64, "
                               "--recipients at most 100000000\n");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Events that look like matching's: an SME's match with an opportunity, eight
 * facet scores with their sentences, a summary, and both parties' facets for the
 * subscription filters. The vocabularies are the taxonomy's (data/reference). */

static const char *const s_regions[][2] = {{"FI1D7", "Lapland"},        {"FI1D3", "North Karelia"},
                                           {"FI1D8", "Kainuu"},         {"SE331", "Västerbotten"},
                                           {"ES41", "Castilla y León"}, {"ES12", "Asturias"},
                                           {"EL64", "Sterea Ellada"}};
static const char *const s_stages[] = {"exploration",   "extraction", "beneficiation", "refining",
                                       "manufacturing", "recycling",  "mets"};
/* Not S_HOOK_MATERIAL, and no group that takes it. */
static const char *const s_materials[] = {"cobalt",   "nickel", "lithium",  "copper", "graphite",
                                          "hree",     "lree",   "zinc",     "gold",   "tungsten",
                                          "vanadium", "pgm",    "manganese"};
static const char *const s_themes[][2] = {
    {"crm-production", "Critical raw material production"},
    {"sme-gvc", "Empowerment of SMEs in global value chains"},
    {"sustainable-mining", "New technologies and sustainable mining"},
    {"social-acceptance", "Social acceptance of mining through stakeholder involvement"},
    {"education", "Education and skills"}};
static const char *const s_titles[] = {
    "Pilot-scale hydrometallurgical recovery of cobalt and nickel from tailings",
    "Supplier sought for graphite anode material qualification",
    "Joint demonstration of sensor-based ore sorting at an operating mine",
    "Investment case: lithium hydroxide refinery expansion, phase 2",
    "Training programme on rare earth separation for process engineers",
    "Consultation on permitting and stakeholder engagement for a new open pit",
    "Recycling partner wanted for end-of-life permanent magnets",
    "Drone-borne geophysics for early-stage exploration targets"};
static const char *const s_capabilities[] = {
    "hydrometallurgy",    "flotation",          "ore sorting",      "life-cycle assessment",
    "drill core logging", "solvent extraction", "magnet recycling", "process simulation"};
#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t s_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* One event's random numbers: a splitmix64 stream of its own. */
typedef struct {
    uint64_t state;
} s_rng_t;

static uint64_t s_next(s_rng_t *rng)
{
    rng->state = s_mix(rng->state);
    return rng->state;
}

static size_t s_pick(s_rng_t *rng, size_t n)
{
    return (size_t)(s_next(rng) % n);
}

static double s_unit(s_rng_t *rng)
{
    return (double)(s_next(rng) >> 11) / (double)(1ULL << 53);
}

/* The strings of one party's facets (three materials, two stages, two themes). */
typedef struct {
    char *stages[2], *materials[3], *themes[2];
} s_party_text_t;

static void s_party(s_rng_t *rng, ls_match_party_pb *p, s_party_text_t *t, const char *region,
                    const char *extra_material)
{
    size_t stage = s_pick(rng, S_COUNT(s_stages)), material = s_pick(rng, S_COUNT(s_materials));
    size_t theme = s_pick(rng, S_COUNT(s_themes));
    for (size_t i = 0; i < 2; i++) {
        t->stages[i] = (char *)s_stages[(stage + i * 3) % S_COUNT(s_stages)];
        t->themes[i] = (char *)s_themes[(theme + i * 2) % S_COUNT(s_themes)][0];
    }
    for (size_t i = 0; i < 3; i++)
        t->materials[i] = (char *)s_materials[(material + i * 5) % S_COUNT(s_materials)];
    if (extra_material)
        t->materials[2] = (char *)extra_material;
    p->region = (char *)region;
    p->stages = t->stages;
    p->n_stages = 2;
    p->materials = t->materials;
    p->n_materials = 3;
    p->themes = t->themes;
    p->n_themes = 2;
}

/* The sentences of the eight facets, as score.c words them. */
static void s_reasons(s_rng_t *rng, const s_party_text_t *sme, const s_party_text_t *opp,
                      const char *sme_region, const char *opp_region, char reasons[][200])
{
    const char *const *cap = s_capabilities;
    size_t c = s_pick(rng, S_COUNT(s_capabilities));
    unsigned trl = 4 + (unsigned)s_pick(rng, 4);
    snprintf(reasons[0], 200, "both work in %s and %s", sme->stages[0], opp->stages[1]);
    snprintf(reasons[1], 200,
             "both work with %s, %s and %s; %s and %s are strategic and critical raw "
             "materials (crma-2024)",
             sme->materials[0], opp->materials[1], opp->materials[2], sme->materials[0],
             opp->materials[1]);
    snprintf(reasons[2], 200,
             "the SME has 3 of the 4 required capabilities: %s, %s and %s; it lacks %s", cap[c],
             cap[(c + 1) % S_COUNT(s_capabilities)], cap[(c + 2) % S_COUNT(s_capabilities)],
             cap[(c + 5) % S_COUNT(s_capabilities)]);
    snprintf(reasons[3], 200,
             "activities in the same NACE group 24.4 (Manufacture of basic precious and other "
             "non-ferrous metals)");
    snprintf(reasons[4], 200, "both pursue %s", s_themes[s_pick(rng, S_COUNT(s_themes))][1]);
    snprintf(reasons[5], 200, "interregional link within the partnership: %s and %s", sme_region,
             opp_region);
    snprintf(reasons[6], 200,
             "the SME states TRL %u (Technology demonstrated in relevant environment), within "
             "the range TRL %u to %u",
             trl, trl - 1, trl + 2);
    snprintf(reasons[7], 200,
             "the opportunity offers co-funding of 250k to 1.5m as a grant or loan, the SME "
             "seeks 400k");
}

/* Packs match event `index` for recipient sme-<recipient>; hook events also carry
 * S_HOOK_MATERIAL on the candidate's side. The caller frees the buffer. */
static uint8_t *s_event(uint64_t seed, uint64_t index, long recipient, bool hook, size_t *len)
{
    static const char *const facet_names[S_FACETS] = {
        "stages", "materials", "capabilities", "nace", "themes", "region", "trl", "funding"};
    static const double weights[S_FACETS] = {0.2, 0.25, 0.15, 0.05, 0.1, 0.1, 0.1, 0.05};
    s_rng_t rng = {s_mix(seed * 0x100000001b3ULL + index * 2 + hook)};
    char subject_id[32], candidate_id[32], reasons[S_FACETS][200], summary[420];
    snprintf(subject_id, sizeof subject_id, "sme-%ld", recipient);
    snprintf(candidate_id, sizeof candidate_id, "opp-%zu", 1 + s_pick(&rng, 10000));
    const char *const *sme_region = s_regions[s_pick(&rng, S_COUNT(s_regions))];
    const char *const *opp_region = s_regions[s_pick(&rng, S_COUNT(s_regions))];

    ls_match_party_pb subject = LODESTONE__V1__MATCH_PARTY__INIT;
    ls_match_party_pb candidate = LODESTONE__V1__MATCH_PARTY__INIT;
    s_party_text_t subject_text, candidate_text;
    s_party(&rng, &subject, &subject_text, sme_region[0], NULL);
    s_party(&rng, &candidate, &candidate_text, opp_region[0], hook ? S_HOOK_MATERIAL : NULL);
    subject.kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
    candidate.kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY;
    candidate.opportunity_kind = (Lodestone__V1__Opportunity__Kind)(1 + s_pick(&rng, 5));

    s_reasons(&rng, &subject_text, &candidate_text, sme_region[1], opp_region[1], reasons);
    ls_facet_score_pb facets[S_FACETS], *facet_list[S_FACETS];
    double score = 0;
    for (size_t i = 0; i < S_FACETS; i++) {
        lodestone__v1__facet_score__init(&facets[i]);
        facets[i].facet = (char *)facet_names[i];
        facets[i].weight = weights[i];
        facets[i].similarity = 0.3 + 0.7 * s_unit(&rng);
        facets[i].contribution = weights[i] * facets[i].similarity; /* weights sum to 1 */
        facets[i].reason = reasons[i];
        facet_list[i] = &facets[i];
        score += facets[i].contribution;
    }
    /* score.c's summary: the two largest contributions' sentences. */
    snprintf(summary, sizeof summary, "%s; %s.", reasons[1], reasons[0]);
    summary[0] = (char)toupper((unsigned char)summary[0]);

    ls_match_pb match = LODESTONE__V1__MATCH__INIT;
    match.subject_id = subject_id;
    match.candidate_id = candidate_id;
    match.candidate_kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY;
    match.candidate_name = (char *)s_titles[s_pick(&rng, S_COUNT(s_titles))];
    match.score = score;
    match.model_version = "v1";
    match.facets = facet_list;
    match.n_facets = S_FACETS;
    match.summary = summary;
    match.at = ls_now_ms();

    ls_match_event_pb event = LODESTONE__V1__MATCH_EVENT__INIT;
    event.kind = s_pick(&rng, 5) == 0 ? LODESTONE__V1__MATCH_EVENT__KIND__CHANGED
                                      : LODESTONE__V1__MATCH_EVENT__KIND__NEW;
    event.match = &match;
    event.change_seq = index + 1;
    event.subject = &subject;
    event.candidate = &candidate;
    return ls_codec_pack_buffer(&event.base, len);
}

static int s_events_add(s_events_t *ev, const uint8_t *data, size_t len)
{
    if (ev->used + len > ev->capacity) {
        size_t capacity = ev->capacity ? ev->capacity * 2 : 1 << 20;
        while (capacity < ev->used + len)
            capacity *= 2;
        uint8_t *grown = realloc(ev->data, capacity);
        if (!grown)
            return -1;
        ev->data = grown;
        ev->capacity = capacity;
    }
    memcpy(ev->data + ev->used, data, len);
    ev->used += len;
    ev->ends[ev->count++] = ev->used;
    return 0;
}

static const uint8_t *s_event_at(const s_events_t *ev, size_t i, size_t *len)
{
    size_t start = i ? ev->ends[i - 1] : 0;
    *len = ev->ends[i] - start;
    return ev->data + start;
}

static void s_events_free(s_events_t *ev)
{
    free(ev->data);
    free(ev->ends);
    memset(ev, 0, sizeof *ev);
}

/* Generates n events, recipients spread uniformly; counts them in bench->sent_to.
 * first_index keeps the phases' events apart. */
static int s_generate(s_bench_t *bench, size_t n, uint64_t first_index, bool hook, s_events_t *ev)
{
    const s_options_t *o = &bench->options;
    memset(ev, 0, sizeof *ev);
    memset(bench->sent_to, 0, (size_t)o->recipients * sizeof *bench->sent_to);
    ev->ends = calloc(n, sizeof *ev->ends);
    if (!ev->ends)
        return -1;
    int64_t started = bench_now_us();
    for (size_t i = 0; i < n; i++) {
        s_rng_t rng = {s_mix(o->seed ^ (first_index + i) * 0x2545f4914f6cdd1dULL)};
        long recipient = 1 + (long)s_pick(&rng, (size_t)o->recipients);
        size_t len;
        uint8_t *packed = s_event(o->seed, first_index + i, recipient, hook, &len);
        int rc = packed ? s_events_add(ev, packed, len) : -1;
        free(packed);
        if (rc) {
            fprintf(stderr, S_NAME ": out of memory generating events\n");
            return -1;
        }
        bench->sent_to[recipient - 1]++;
    }
    fprintf(stderr, "generated %zu %sevents, %.0f bytes each on average (%.1f MB), in %.2f s\n", n,
            hook ? "webhook " : "", (double)ev->used / (double)n, (double)ev->used / 1e6,
            s_since(started));
    return 0;
}

/* ---------------------------------------------------------------------------
 * The journal, as matching writes it */

/* KEYS: the match stream, its counter. ARGV: packed events. Takes their seqs at once
 * and returns the first. */
static ls_script_t s_append_script = LS_SCRIPT(
    LS_JOURNAL_LUA "local seq = journal_reserve(KEYS[2], #ARGV)\n"
                   "for i = 1, #ARGV do journal_append_at(KEYS[1], seq + i, ARGV[i]) end\n"
                   "return seq + 1\n");

/* --backlog. KEYS: the match stream. ARGV: the first seq, then packed events. Writes
 * the entries under their seqs but leaves the counter, which the follower's tick
 * reads: notification does not see them until s_reveal_script moves it. */
static ls_script_t s_append_hidden_script = LS_SCRIPT(
    LS_JOURNAL_LUA "local first = tonumber(ARGV[1])\n"
                   "for i = 2, #ARGV do journal_append_at(KEYS[1], first + i - 2, ARGV[i]) end\n"
                   "return first\n");

/* --backlog. KEYS: the match counter. ARGV: its value before, the last seq written.
 * Returns 1, or 0 when someone else appended meanwhile (the seqs would clash). */
static ls_script_t s_reveal_script =
    LS_SCRIPT("if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then\n"
              "  return 0\n"
              "end\n"
              "redis.call('SET', KEYS[1], ARGV[2])\n"
              "return 1\n");

/* Counts the feed messages waiting; the first few are unpacked and checked: a
 * notification n-<seq> to the recipient its topic names. */
static void s_feed_drain(s_bench_t *bench)
{
    while (bench->feed && (zsock_events(bench->feed) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv(bench->feed);
        if (!msg)
            return;
        bench->feed_received++;
        bench->feed_last_us = bench_now_us();
        if (bench->feed_checked + bench->feed_wrong < 3) {
            char *topic = zmsg_popstr(msg);
            zframe_t *body = zmsg_first(msg);
            ls_notification_pb *note =
                body ? (ls_notification_pb *)ls_codec_unpack(
                           &lodestone__v1__notification__descriptor, zframe_data(body),
                           zframe_size(body), SIZE_MAX, NULL)
                     : NULL;
            char want[160];
            snprintf(want, sizeof want, "to/%s/", note ? note->recipient : "?");
            bool right = note && topic && strcmp(topic, want) == 0 &&
                         strncmp(note->id, "n-", 2) == 0 && note->event && note->event->match &&
                         note->event->match->n_facets == S_FACETS;
            bench->feed_checked += right;
            bench->feed_wrong += !right;
            if (!right)
                fprintf(stderr, "feed: a message on %s is not the notification expected\n",
                        topic ? topic : "?");
            if (note)
                lodestone__v1__notification__free_unpacked(note, NULL);
            zstr_free(&topic);
        }
        zmsg_destroy(&msg);
    }
}

/* Waits up to timeout_ms for the feed (when open), draining it. */
static void s_feed_wait(s_bench_t *bench, long timeout_ms)
{
    if (!bench->feed) {
        zclock_sleep((int)timeout_ms);
        return;
    }
    zmq_pollitem_t item = {zsock_resolve(bench->feed), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, timeout_ms);
    s_feed_drain(bench);
}

/* Waits until the PUSH socket takes a message (notification's PULL has room),
 * draining the feed meanwhile. Returns -1 when it takes none for the timeout. */
static int s_wait_writable(s_bench_t *bench)
{
    int64_t deadline = bench_now_us() + (int64_t)bench->options.timeout_s * 1000000;
    while (!(zsock_events(bench->push) & ZMQ_POLLOUT)) {
        if (zsys_interrupted)
            return -1;
        if (bench_now_us() > deadline) {
            fprintf(stderr, "send: notification's PULL socket at %s took nothing for %ld s\n",
                    bench->config.notification_pull_endpoint, bench->options.timeout_s);
            return -1;
        }
        zmq_pollitem_t items[2] = {
            {zsock_resolve(bench->push), 0, ZMQ_POLLOUT, 0},
            {bench->feed ? zsock_resolve(bench->feed) : NULL, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, bench->feed ? 2 : 1, 100);
        s_feed_drain(bench);
    }
    return 0;
}

/* Appends events [from, from + n) in one Lua step and, when live, sends each to
 * notification. Sets *first to the first one's seq. Returns -1 on a failure (said
 * on stderr). */
static int s_append_batch(s_bench_t *bench, const s_events_t *ev, size_t from, size_t n, bool live,
                          uint64_t *first)
{
    const char **argv = calloc(n + 2, sizeof *argv);
    size_t *lens = calloc(n + 2, sizeof *lens);
    if (!argv || !lens) {
        free(argv);
        free(lens);
        return -1;
    }
    char next[24];
    snprintf(next, sizeof next, "%llu", (unsigned long long)bench->backlog_next);
    argv[0] = LS_JOURNAL_MATCHES.stream;
    argv[1] = live ? LS_JOURNAL_MATCHES.seq_key : next;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = (const char *)s_event_at(ev, from + i, &lens[2 + i]);
    redisReply *r = ls_store_eval(bench->store, live ? &s_append_script : &s_append_hidden_script,
                                  live ? 2 : 1, (int)(n + 2), argv, lens);
    bench->backlog_next += live ? 0 : n;
    int rc = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? 0 : -1;
    if (rc)
        fprintf(stderr, "send: appending to the match journal failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : ls_store_error(bench->store));
    else
        *first = (uint64_t)r->integer;
    if (r)
        freeReplyObject(r);
    for (size_t i = 0; rc == 0 && live && i < n; i++) {
        rc = s_wait_writable(bench);
        if (rc == 0)
            rc = ls_journal_send(bench->push, &LS_JOURNAL_MATCHES, *first + i, argv[2 + i],
                                 lens[2 + i]);
    }
    free(argv);
    free(lens);
    return rc;
}

/* Appends (and when live sends) every event of ev, in batches, paced by --rate when
 * given. Sets the seqs of the first and the last. */
static int s_send_all(s_bench_t *bench, const s_events_t *ev, bool live, int64_t started_us,
                      uint64_t *first, uint64_t *last)
{
    const s_options_t *o = &bench->options;
    int64_t progress_us = started_us;
    for (size_t from = 0; from < ev->count; from += (size_t)o->batch) {
        size_t n = ev->count - from < (size_t)o->batch ? ev->count - from : (size_t)o->batch;
        if (o->rate > 0) {
            int64_t due = started_us + (int64_t)((double)from * 1e6 / (double)o->rate);
            for (int64_t now = bench_now_us(); now < due && !zsys_interrupted; now = bench_now_us())
                s_feed_wait(bench, (long)((due - now) / 1000) + 1);
        }
        uint64_t seq = 0;
        if (zsys_interrupted || s_append_batch(bench, ev, from, n, live, &seq))
            return -1;
        if (from == 0)
            *first = seq;
        *last = seq + n - 1;
        s_feed_drain(bench);
        if (bench_now_us() - progress_us >= S_PROGRESS_US) {
            progress_us = bench_now_us();
            fprintf(stderr, "send: %zu of %zu events appended%s, %.0f/s\n", from + n, ev->count,
                    live ? " and sent" : "", (double)(from + n) / s_since(started_us));
        }
    }
    return 0;
}

/* --backlog: moves the match counter over the entries written, in one step. */
static int s_reveal(s_bench_t *bench, uint64_t before, uint64_t last)
{
    char before_text[24], last_text[24];
    snprintf(before_text, sizeof before_text, "%llu", (unsigned long long)before);
    snprintf(last_text, sizeof last_text, "%llu", (unsigned long long)last);
    const char *argv[] = {LS_JOURNAL_MATCHES.seq_key, before_text, last_text};
    redisReply *r = ls_store_eval(bench->store, &s_reveal_script, 1, 3, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0 : -1;
    if (rc)
        fprintf(stderr, "send: %s moved while the backlog was written: another writer?\n",
                LS_JOURNAL_MATCHES.seq_key);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* Puts ev before notification: live, each event sent as soon as its batch is in
 * the journal, the clock started before the first; or with --backlog all of them
 * appended first and the clock started when a heartbeat tells notification of
 * them, so that what is timed is notification's catch-up alone. Sets *started_us,
 * the seqs of the first and the last event, and *send_seconds (the appending). */
static int s_publish(s_bench_t *bench, const s_events_t *ev, int64_t *started_us, uint64_t *first,
                     uint64_t *last, double *send_seconds)
{
    bool live = !bench->options.backlog;
    uint64_t before = 0;
    if (!live && ls_journal_latest(bench->store, &LS_JOURNAL_MATCHES, &before)) {
        fprintf(stderr, "send: reading %s failed\n", LS_JOURNAL_MATCHES.seq_key);
        return -1;
    }
    bench->backlog_next = before + 1;
    int64_t appending = bench_now_us();
    *started_us = appending;
    bench->feed_last_us = appending;
    int rc = s_send_all(bench, ev, live, appending, first, last);
    *send_seconds = s_since(appending);
    if (rc == 0 && !live)
        rc = s_reveal(bench, before, *last);
    if (rc == 0 && !live) {
        *started_us = bench_now_us();
        bench->feed_last_us = *started_us;
    }
    /* As matching's heartbeat does: the follower learns the latest seq at once. */
    if (rc == 0)
        ls_journal_send_heartbeat(bench->push, &LS_JOURNAL_MATCHES, *last);
    return rc;
}

static int s_checkpoint(s_bench_t *bench, uint64_t *at)
{
    if (ls_store_get_u64(bench->store, S_CHECKPOINT, at) == 0)
        return 0;
    fprintf(stderr, "reading %s failed: %s\n", S_CHECKPOINT, ls_store_error(bench->store));
    return -1;
}

/* Waits until notification's checkpoint reaches last; fails when it does not move
 * for the timeout. *seconds: from started_us to then. */
static int s_await_checkpoint(s_bench_t *bench, const char *label, uint64_t first, uint64_t last,
                              int64_t started_us, double *seconds)
{
    uint64_t at = 0, seen = 0;
    int64_t moved_us = bench_now_us(), progress_us = bench_now_us();
    while (!zsys_interrupted) {
        if (s_checkpoint(bench, &at))
            return -1;
        if (at >= last) {
            *seconds = s_since(started_us);
            return 0;
        }
        int64_t now = bench_now_us();
        if (at != seen) {
            seen = at;
            moved_us = now;
        }
        if (now - moved_us > bench->options.timeout_s * 1000000) {
            size_t done = at >= first ? (size_t)(at - first + 1) : 0;
            fprintf(stderr,
                    "%s: notification's checkpoint stayed at %llu for %ld s: %zu of %llu "
                    "events not delivered\n",
                    label, (unsigned long long)at, bench->options.timeout_s,
                    (size_t)(last - first + 1) - done, (unsigned long long)(last - first + 1));
            return -1;
        }
        if (now - progress_us >= S_PROGRESS_US) {
            progress_us = now;
            size_t done = at >= first ? (size_t)(at - first + 1) : 0;
            fprintf(stderr, "%s: %zu of %llu delivered to inboxes, %.0f/s; feed %zu\n", label, done,
                    (unsigned long long)(last - first + 1), (double)done / s_since(started_us),
                    bench->feed_received);
        }
        s_feed_wait(bench, S_POLL_MS);
    }
    return -1;
}

/* ---------------------------------------------------------------------------
 * Inboxes and feed */

static size_t s_sample_count(const s_bench_t *bench)
{
    return bench->options.recipients < S_SAMPLE ? (size_t)bench->options.recipients : S_SAMPLE;
}

/* Sampled inbox i of s_sample_count: spread evenly over the recipients, each once. */
static long s_sample_recipient(const s_bench_t *bench, size_t i)
{
    return 1 + (long)((uint64_t)i * (uint64_t)bench->options.recipients / s_sample_count(bench));
}

/* XLEN of each sampled inbox into lens; -1 on a failure. */
static int s_sample_lengths(s_bench_t *bench, long long *lens)
{
    for (size_t i = 0; i < s_sample_count(bench); i++) {
        redisReply *r = ls_store_command(bench->store, "XLEN %ssme-%ld", LS_KEY_INBOX,
                                         s_sample_recipient(bench, i));
        bool ok = r && r->type == REDIS_REPLY_INTEGER;
        lens[i] = ok ? r->integer : -1;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            fprintf(stderr, "inbox: XLEN failed: %s\n", ls_store_error(bench->store));
            return -1;
        }
    }
    return 0;
}

/* The sample's check: each inbox grew by what was sent to it (up to the bound), and
 * what an entry costs in Redis. */
static void s_sample_check(s_bench_t *bench, const long long *before, s_inbox_result_t *r)
{
    long long after[S_SAMPLE];
    if (s_sample_lengths(bench, after))
        return;
    long long bytes = 0, entries = 0;
    for (size_t i = 0; i < s_sample_count(bench); i++) {
        long recipient = s_sample_recipient(bench, i);
        long long want = before[i] + bench->sent_to[recipient - 1];
        if (want > bench->config.inbox_max)
            want = bench->config.inbox_max;
        r->sample_expected += (size_t)(want - before[i]);
        r->sample_found += (size_t)(after[i] - before[i]);
        redisReply *m = ls_store_command(bench->store, "MEMORY USAGE %ssme-%ld SAMPLES 0",
                                         LS_KEY_INBOX, recipient);
        if (m && m->type == REDIS_REPLY_INTEGER) {
            bytes += m->integer;
            entries += after[i];
        }
        if (m)
            freeReplyObject(m);
    }
    r->checked = true;
    r->sample_ok = r->sample_found == r->sample_expected;
    r->inbox_entry_bytes = entries ? (double)bytes / (double)entries : -1;
}

static int s_feed_open(s_bench_t *bench)
{
    bench->feed = zsock_new(ZMQ_SUB);
    if (!bench->feed)
        return -1;
    zsock_set_rcvhwm(bench->feed, 0); /* count what notification sent, not what a queue held */
    zsock_set_subscribe(bench->feed, "to/");
    if (zsock_connect(bench->feed, "%s", bench->config.notification_pub_endpoint) < 0) {
        fprintf(stderr, "inbox: cannot connect to the feed at %s\n",
                bench->config.notification_pub_endpoint);
        return -1;
    }
    zclock_sleep(300); /* the subscription reaches the PUB before the first message */
    bench->feed_received = bench->feed_checked = bench->feed_wrong = 0;
    return 0;
}

/* The feed's last messages are published after the step that moved the
 * checkpoint: wait for them, or until nothing comes for the grace period. */
static void s_feed_finish(s_bench_t *bench, size_t expected)
{
    int64_t quiet_from = bench_now_us();
    size_t seen = bench->feed_received;
    while (bench->feed_received < expected && !zsys_interrupted &&
           bench_now_us() - quiet_from < S_FEED_GRACE_US) {
        s_feed_wait(bench, 50);
        if (bench->feed_received != seen) {
            seen = bench->feed_received;
            quiet_from = bench_now_us();
        }
    }
}

static int s_inbox_measure(s_bench_t *bench, const s_events_t *ev, s_inbox_result_t *r)
{
    const s_options_t *o = &bench->options;
    long long before[S_SAMPLE];
    if (s_sample_lengths(bench, before))
        return -1;
    double mem0 = bench_redis_info(bench->store, "memory", "used_memory");
    double redis0 = bench_redis_cpu(bench->store);
    double cpu0 = bench_process_cpu_seconds(o->notification_pid), bench0 = bench_self_cpu_seconds();
    fprintf(stderr, "inbox: %zu events to %ld recipients, %s\n", ev->count, o->recipients,
            o->backlog ? "as a backlog"
            : o->rate  ? "paced"
                       : "as fast as notification takes them");
    double commands0 = bench_redis_info(bench->store, "stats", "total_commands_processed");
    int64_t started = 0;
    int rc = s_publish(bench, ev, &started, &r->first_seq, &r->last_seq, &r->send_seconds);
    r->measured = true;
    if (rc == 0)
        rc = s_await_checkpoint(bench, "inbox", r->first_seq, r->last_seq, started, &r->seconds);
    uint64_t at = 0;
    if (r->first_seq && s_checkpoint(bench, &at) == 0 && at >= r->first_seq)
        r->delivered = (size_t)((at < r->last_seq ? at : r->last_seq) - r->first_seq + 1);
    double cpu1 = bench_process_cpu_seconds(o->notification_pid), bench1 = bench_self_cpu_seconds();
    double redis1 = bench_redis_cpu(bench->store);
    if (rc == 0)
        s_feed_finish(bench, ev->count);
    r->feed_received = bench->feed_received;
    r->feed_checked = bench->feed_checked;
    r->feed_wrong = bench->feed_wrong;
    r->feed_seconds = (double)(bench->feed_last_us - started) / 1e6;
    r->cpu_notification = s_delta(cpu1, cpu0);
    r->cpu_redis = s_delta(redis1, redis0);
    r->cpu_bench = bench1 - bench0;
    r->redis_commands =
        s_delta(bench_redis_info(bench->store, "stats", "total_commands_processed"), commands0);
    double mem1 = bench_redis_info(bench->store, "memory", "used_memory");
    r->memory_per_event = mem0 < 0 || mem1 < 0 ? -1 : (mem1 - mem0) / (double)ev->count;
    if (rc == 0)
        s_sample_check(bench, before, r);
    r->complete = rc == 0 && r->sample_ok;
    if (rc == 0 && r->feed_received < ev->count)
        fprintf(stderr,
                "inbox: the feed carried %zu of %zu notifications within %d s of the last "
                "checkpoint\n",
                r->feed_received, ev->count, S_FEED_GRACE_US / 1000000);
    if (rc == 0 && !r->sample_ok)
        fprintf(stderr, "inbox: the %zu sampled inboxes hold %zu new entries, %zu expected\n",
                s_sample_count(bench), r->sample_found, r->sample_expected);
    return rc;
}

static int s_inbox_phase(s_bench_t *bench, s_inbox_result_t *r)
{
    s_events_t ev;
    r->ran = true;
    r->events = (size_t)bench->options.events;
    r->memory_per_event = r->inbox_entry_bytes = -1;
    if (s_generate(bench, r->events, 0, false, &ev)) {
        s_events_free(&ev);
        return -1;
    }
    r->event_bytes = (double)ev.used / (double)ev.count;
    int rc = s_feed_open(bench);
    if (rc == 0)
        rc = bench_await_caught_up(bench->client, bench->config.notification_endpoint,
                                   bench->options.timeout_s);
    if (rc == 0)
        rc = s_inbox_measure(bench, &ev, r);
    zsock_destroy(&bench->feed);
    s_events_free(&ev);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Webhooks */

/* A Subscribe or Unsubscribe; NULL after saying why on stderr. */
static ls_reply_pb *s_call(s_bench_t *bench, const char *what, ls_envelope_pb *env)
{
    ls_reply_pb *reply = ls_client_call(bench->client, env);
    if (!reply) {
        fprintf(stderr, "webhook: %s: %s\n", what, ls_client_error(bench->client));
        return NULL;
    }
    if (reply->status && reply->status->code != LODESTONE__V1__STATUS__CODE__OK) {
        fprintf(stderr, "webhook: %s: %s: %s\n", what, ls_status_name(reply->status->code),
                reply->status->message);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        return NULL;
    }
    return reply;
}

/* A filter subscription taking the webhook events alone, delivered by webhook only. */
static int s_subscribe(s_bench_t *bench, const char *url, const char *secret, char *id, size_t len)
{
    char *materials[] = {S_HOOK_MATERIAL};
    ls_filter_pb filter = LODESTONE__V1__SUBSCRIPTION_FILTER__INIT;
    filter.matches = true;
    filter.materials = materials;
    filter.n_materials = 1;
    ls_channels_pb channels = LODESTONE__V1__CHANNELS__INIT;
    channels.webhook_url = (char *)url;
    channels.webhook_secret = (char *)secret;
    ls_subscription_pb sub = LODESTONE__V1__SUBSCRIPTION__INIT;
    sub.recipient = S_HOOK_RECIPIENT;
    sub.filter = &filter;
    sub.channels = &channels;
    Lodestone__V1__Subscribe q = LODESTONE__V1__SUBSCRIBE__INIT;
    q.subscription = &sub;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_SUBSCRIBE;
    env.subscribe = &q;
    ls_reply_pb *reply = s_call(bench, "subscribe", &env);
    if (!reply)
        return -1;
    int rc = reply->body_case == LODESTONE__V1__REPLY__BODY_SUBSCRIPTION ? 0 : -1;
    if (rc == 0)
        snprintf(id, len, "%s", reply->subscription->id);
    else
        fprintf(stderr, "webhook: subscribe: the reply holds no subscription\n");
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return rc;
}

static void s_unsubscribe(s_bench_t *bench, const char *id)
{
    Lodestone__V1__Unsubscribe q = LODESTONE__V1__UNSUBSCRIBE__INIT;
    q.id = (char *)id;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_UNSUBSCRIBE;
    env.unsubscribe = &q;
    ls_reply_pb *reply = s_call(bench, "unsubscribe", &env);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
}

static long long s_zcard(s_bench_t *bench, const char *key)
{
    redisReply *r = ls_store_command(bench->store, "ZCARD %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* Webhook deliveries still queued: over every origin with some (ls:wh:next), the
 * size of its due set. */
static long long s_due(s_bench_t *bench)
{
    redisReply *origins = ls_store_command(bench->store, "ZRANGE %s 0 -1", LS_KEY_WEBHOOK_NEXT);
    long long n = origins && origins->type == REDIS_REPLY_ARRAY ? 0 : -1;
    for (size_t i = 0; n >= 0 && i < origins->elements; i++) {
        char key[512];
        snprintf(key, sizeof key, LS_KEY_WEBHOOK_DUE "%s", origins->element[i]->str);
        long long in = s_zcard(bench, key);
        n = in < 0 ? -1 : n + in;
    }
    if (origins)
        freeReplyObject(origins);
    return n;
}

/* Waits until the receiver has accepted every delivery; fails when no new one
 * comes for the timeout. The checkpoint is read on the way (queued_seconds). */
static int s_await_hooks(s_bench_t *bench, webhook_receiver_t *receiver, uint64_t last,
                         int64_t started, s_hook_result_t *r)
{
    size_t seen = 0;
    int64_t moved_us = bench_now_us(), progress_us = bench_now_us();
    while (!zsys_interrupted) {
        webhook_receiver_stats_t c;
        webhook_receiver_stats(receiver, &c);
        uint64_t at = 0;
        if (r->queued_seconds == 0 && s_checkpoint(bench, &at) == 0 && at >= last)
            r->queued_seconds = s_since(started);
        if (c.accepted_ids >= r->events)
            return 0;
        int64_t now = bench_now_us();
        if (c.accepted_ids != seen) {
            seen = c.accepted_ids;
            moved_us = now;
        }
        if (now - moved_us > bench->options.timeout_s * 1000000) {
            fprintf(stderr,
                    "webhook: no new delivery for %ld s: %zu of %zu did not arrive (%lld still "
                    "queued, %lld dead letters)\n",
                    bench->options.timeout_s, r->events - c.accepted_ids, r->events, s_due(bench),
                    s_zcard(bench, LS_KEY_WEBHOOK_DEAD));
            return -1;
        }
        if (now - progress_us >= S_PROGRESS_US) {
            progress_us = now;
            fprintf(stderr, "webhook: %zu of %zu accepted (%zu requests), %.0f/s%s\n",
                    c.accepted_ids, r->events, c.requests,
                    (double)c.accepted_ids / s_since(started),
                    r->queued_seconds ? "; all queued" : "");
        }
        zclock_sleep(S_POLL_MS);
    }
    return -1;
}

/* Seconds from started (bench_now_us) to a receiver's ls_mono_ms stamp; 0 for none.
 * Both read CLOCK_MONOTONIC. */
static double s_since_stamp(int64_t started, int64_t mono_ms)
{
    return mono_ms ? (double)(mono_ms * 1000 - started) / 1e6 : 0;
}

/* Checks the signatures of the requests the receiver kept whole (S_VERIFY_MAX). */
static void s_hook_verify(webhook_receiver_t *receiver, const char *secret, s_hook_result_t *r)
{
    webhook_received_t got;
    for (size_t i = 0; webhook_receiver_get(receiver, i, &got) == 0; i++) {
        bool ok = webhook_receiver_verify(got.signature, secret, got.body, got.body_len) >= 0;
        r->verified += ok;
        r->bad_signatures += !ok;
        if (!ok)
            fprintf(stderr, "webhook: delivery %s has a wrong Lodestone-Signature\n",
                    *got.id ? got.id : "(no id)");
    }
}

static void s_hook_finish(s_bench_t *bench, webhook_receiver_t *receiver, const char *secret,
                          int64_t started, s_hook_result_t *r)
{
    webhook_receiver_stats_t c;
    webhook_receiver_stats(receiver, &c);
    r->distinct = c.accepted_ids;
    r->requests = c.requests;
    r->no_id = c.no_id;
    r->max_concurrent = c.max_concurrent;
    r->seconds = s_since_stamp(started, c.last_new_ms);
    r->first_request_s = s_since_stamp(started, c.first_ms);
    s_hook_verify(receiver, secret, r);
    r->due_left = s_due(bench);
    r->dead = s_zcard(bench, LS_KEY_WEBHOOK_DEAD);
}

static int s_hook_measure(s_bench_t *bench, webhook_receiver_t *receiver, const char *secret,
                          const s_events_t *ev, s_hook_result_t *r)
{
    double redis0 = bench_redis_cpu(bench->store);
    double cpu0 = bench_process_cpu_seconds(bench->options.notification_pid);
    fprintf(stderr, "webhook: %zu events to %s, the receiver answers after %ld ms\n", ev->count,
            webhook_receiver_url(receiver), r->delay_ms);
    double commands0 = bench_redis_info(bench->store, "stats", "total_commands_processed");
    int64_t started = 0;
    uint64_t first = 0, last = 0;
    double send_seconds = 0;
    int rc = s_publish(bench, ev, &started, &first, &last, &send_seconds);
    r->measured = true;
    if (rc == 0)
        rc = s_await_hooks(bench, receiver, last, started, r);
    r->cpu_notification = s_delta(bench_process_cpu_seconds(bench->options.notification_pid), cpu0);
    r->cpu_redis = s_delta(bench_redis_cpu(bench->store), redis0);
    r->redis_commands =
        s_delta(bench_redis_info(bench->store, "stats", "total_commands_processed"), commands0);
    s_hook_finish(bench, receiver, secret, started, r);
    r->complete = rc == 0 && r->bad_signatures == 0 && r->verified > 0;
    if (rc == 0 && r->verified == 0)
        fprintf(stderr, "webhook: no signature could be checked\n");
    return rc;
}

/* A receiver in this process that answers after delay_ms and keeps the first
 * S_VERIFY_MAX requests whole for their signatures; NULL after saying why. */
static webhook_receiver_t *s_hook_receiver(const s_bench_t *bench, long delay_ms)
{
    webhook_receiver_t *receiver =
        webhook_receiver_new_threads((unsigned)bench->options.receiver_threads);
    if (!receiver) {
        fprintf(stderr, "webhook: cannot start the HTTP receiver\n");
        return NULL;
    }
    webhook_receiver_keep(receiver, S_VERIFY_MAX);
    webhook_receiver_delay(receiver, (int)delay_ms);
    return receiver;
}

static int s_hook_round(s_bench_t *bench, long delay_ms, uint64_t first_index, s_hook_result_t *r)
{
    r->ran = true;
    r->delay_ms = delay_ms;
    r->events = (size_t)bench->options.hook_events;
    r->due_left = r->dead = -1;
    unsigned char key[24];
    char secret[2 * sizeof key + 1];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(secret, sizeof secret, key, sizeof key);
    s_events_t ev;
    if (s_generate(bench, r->events, first_index, true, &ev)) {
        s_events_free(&ev);
        return -1;
    }
    webhook_receiver_t *receiver = s_hook_receiver(bench, delay_ms);
    const char *url = receiver ? webhook_receiver_url(receiver) : NULL;
    int rc = receiver ? bench_await_caught_up(bench->client, bench->config.notification_endpoint,
                                              bench->options.timeout_s)
                      : -1;
    if (rc == 0)
        rc = s_subscribe(bench, url, secret, r->sub_id, sizeof r->sub_id);
    if (rc == 0) {
        fprintf(stderr, "webhook: subscription %s for %s, materials [%s], webhook %s\n", r->sub_id,
                S_HOOK_RECIPIENT, S_HOOK_MATERIAL, url);
        rc = s_hook_measure(bench, receiver, secret, &ev, r);
        s_unsubscribe(bench, r->sub_id); /* drops what is still pending */
    }
    webhook_receiver_destroy(&receiver);
    s_events_free(&ev);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Report */

static double s_per_s(size_t n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : 0.0;
}

/* "12.3 s" or "-" when unknown. */
static const char *s_cpu_text(double seconds, char *out, size_t len)
{
    if (seconds < 0)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%.1f s", seconds);
    return out;
}

/* Per event or delivery; -1 (unknown) stays -1. */
static double s_each(double total, size_t n)
{
    return total < 0 || n == 0 ? -1 : total / (double)n;
}

static void s_print_inbox(const s_bench_t *bench, const s_inbox_result_t *r)
{
    const s_options_t *o = &bench->options;
    char a[32], b[32];
    char pace[64] = "live, as fast as notification takes them";
    if (o->backlog)
        snprintf(pace, sizeof pace, "as a backlog (appended first, untimed)");
    else if (o->rate)
        snprintf(pace, sizeof pace, "live, paced at %ld/s", o->rate);
    printf("\nInboxes and feed: %zu match events (journal seqs %llu-%llu) to %ld recipients, "
           "batches of %ld, %s\n",
           r->events, (unsigned long long)r->first_seq, (unsigned long long)r->last_seq,
           o->recipients, o->batch, pace);
    if (!r->measured) {
        printf("  not measured (see the messages above)\n");
        return;
    }
    printf("  %-34s %zu B packed, %d facet scores\n", "event size (mean)", (size_t)r->event_bytes,
           S_FACETS);
    printf("  %-34s %.2f s, %.0f/s\n", o->backlog ? "appended" : "appended and sent",
           r->send_seconds, s_per_s(r->events, r->send_seconds));
    if (r->seconds > 0)
        printf("  %-34s %.2f s, %.0f notifications/s\n", "delivered to inboxes (checkpoint)",
               r->seconds, s_per_s(r->events, r->seconds));
    else
        printf("  %-34s %zu of %zu: INCOMPLETE (see the messages above)\n",
               "delivered to inboxes (checkpoint)", r->delivered, r->events);
    printf("  %-34s %zu of %zu, %zu lost, %.2f s, %.0f/s (checked %zu, wrong %zu)\n",
           "feed received (to/)", r->feed_received, r->events,
           r->feed_received < r->events ? r->events - r->feed_received : 0, r->feed_seconds,
           s_per_s(r->feed_received, r->feed_seconds), r->feed_checked, r->feed_wrong);
    if (r->checked)
        printf("  %-34s %zu new entries in %zu sampled inboxes, %zu expected: %s\n", "inbox check",
               r->sample_found, s_sample_count(bench), r->sample_expected,
               r->sample_ok ? "ok" : "MISMATCH");
    else
        printf("  %-34s not made: the phase did not finish\n", "inbox check");
    printf("  %-34s notification %s, Redis %s, bench %.1f s\n", "CPU during the phase",
           s_cpu_text(r->cpu_notification, a, sizeof a), s_cpu_text(r->cpu_redis, b, sizeof b),
           r->cpu_bench);
    printf("  %-34s notification %.0f us, Redis %.0f us and %.1f commands (the bench's appends "
           "included)\n",
           "per event", s_each(r->cpu_notification * 1e6, r->events),
           s_each(r->cpu_redis * 1e6, r->events), s_each(r->redis_commands, r->events));
    if (r->memory_per_event >= 0)
        printf("  %-34s %.0f B per event (journal + inbox + ...), %.0f B per inbox entry "
               "(MEMORY USAGE of the sample)\n",
               "Redis memory", r->memory_per_event, r->inbox_entry_bytes);
}

static void s_print_hooks(const s_bench_t *bench, const s_hook_result_t *hooks, size_t n)
{
    printf("\nWebhooks: a filter subscription (materials [%s]) with a webhook to a receiver in "
           "this process (%ld threads)%s\n",
           S_HOOK_MATERIAL, bench->options.receiver_threads,
           bench->options.backlog ? ", events as a backlog" : "");
    printf("  %6s %7s %8s %8s %8s %8s %8s %7s %9s %9s %9s %6s %4s %4s\n", "delay", "events",
           "accepted", "requests", "queued s", "total s", "per sec", "max par", "notif us",
           "redis us", "redis cmd", "signed", "due", "dead");
    for (size_t i = 0; i < n; i++) {
        const s_hook_result_t *r = &hooks[i];
        if (!r->ran)
            continue;
        if (!r->measured) {
            printf("  %4ldms not measured (see the messages above)\n", r->delay_ms);
            continue;
        }
        printf("  %4ldms %7zu %8zu %8zu %8.2f %8.2f %8.0f %7u %9.0f %9.0f %9.1f %3zu/%zu %4lld "
               "%4lld%s\n",
               r->delay_ms, r->events, r->distinct, r->requests, r->queued_seconds, r->seconds,
               s_per_s(r->distinct, r->seconds), r->max_concurrent,
               s_each(r->cpu_notification * 1e6, r->distinct),
               s_each(r->cpu_redis * 1e6, r->distinct), s_each(r->redis_commands, r->distinct),
               r->verified, r->verified + r->bad_signatures, r->due_left, r->dead,
               r->complete ? "" : "  (incomplete)");
    }
    printf("  accepted: distinct Lodestone-Delivery-Ids answered 200; queued: until notification's "
           "checkpoint\n  reached the last event; total: until the last id was accepted; max par: "
           "most requests open at once;\n  notif us, redis us, redis cmd: CPU and Redis commands "
           "per delivery (events and inboxes included); signed: signatures verified\n");
}

static json_t *s_inbox_json(const s_bench_t *bench, const s_inbox_result_t *r)
{
    json_t *o = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:f, s:I, s:I, s:f, s:f, s:f, "
        "s:f, s:f, s:I, s:I, s:b}",
        "complete", r->complete, "events", (json_int_t)r->events, "recipients",
        (json_int_t)bench->options.recipients, "firstSeq", (json_int_t)r->first_seq, "lastSeq",
        (json_int_t)r->last_seq, "eventBytes", r->event_bytes, "sendSeconds", r->send_seconds,
        "seconds", r->seconds, "notificationsPerSecond", s_per_s(r->events, r->seconds),
        "feedReceived", (json_int_t)r->feed_received, "feedSeconds", r->feed_seconds,
        "feedPerSecond", s_per_s(r->feed_received, r->feed_seconds), "feedLost",
        (json_int_t)(r->feed_received < r->events ? r->events - r->feed_received : 0), "feedWrong",
        (json_int_t)r->feed_wrong, "cpuNotification", r->cpu_notification, "cpuRedis", r->cpu_redis,
        "cpuBench", r->cpu_bench, "redisBytesPerEvent", r->memory_per_event, "inboxEntryBytes",
        r->inbox_entry_bytes, "sampleExpected", (json_int_t)r->sample_expected, "sampleFound",
        (json_int_t)r->sample_found, "sampleOk", r->sample_ok);
    if (o)
        json_object_set_new(o, "redisCommands", json_real(r->redis_commands));
    return o;
}

static json_t *s_hook_json(const s_hook_result_t *r)
{
    json_t *o = json_pack(
        "{s:b, s:I, s:I, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, "
        "s:f, s:f, s:I, s:I}",
        "complete", r->complete, "delayMs", (json_int_t)r->delay_ms, "events",
        (json_int_t)r->events, "subscription", r->sub_id, "accepted", (json_int_t)r->distinct,
        "requests", (json_int_t)r->requests, "withoutId", (json_int_t)r->no_id, "queuedSeconds",
        r->queued_seconds, "firstRequestSeconds", r->first_request_s, "seconds", r->seconds,
        "deliveriesPerSecond", s_per_s(r->distinct, r->seconds), "maxConcurrent",
        (json_int_t)r->max_concurrent, "signaturesVerified", (json_int_t)r->verified,
        "signaturesBad", (json_int_t)r->bad_signatures, "cpuNotification", r->cpu_notification,
        "cpuRedis", r->cpu_redis, "dueLeft", (json_int_t)r->due_left, "dead", (json_int_t)r->dead);
    if (o)
        json_object_set_new(o, "redisCommands", json_real(r->redis_commands));
    return o;
}

static void s_print_json(const s_bench_t *bench, const s_inbox_result_t *inbox,
                         const s_hook_result_t *hooks, size_t n)
{
    json_t *root = json_pack("{s:I, s:I, s:I, s:b}", "seed", (json_int_t)bench->options.seed,
                             "batch", (json_int_t)bench->options.batch, "rate",
                             (json_int_t)bench->options.rate, "backlog", bench->options.backlog);
    if (root && inbox->ran)
        json_object_set_new(root, "inbox", s_inbox_json(bench, inbox));
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (hooks[i].ran)
            json_array_append_new(list, s_hook_json(&hooks[i]));
    if (root && list && json_array_size(list))
        json_object_set_new(root, "webhooks", list);
    else
        json_decref(list);
    bench_print_json(root);
}

/* ---------------------------------------------------------------------------
 * Main */

static int s_setup(s_bench_t *bench)
{
    char err[512];
    if (bench_config_load(&bench->config, S_NAME))
        return -1;
    bench->store = ls_store_new(bench->config.redis_url, 5000, err, sizeof err);
    if (!bench->store) {
        fprintf(stderr, S_NAME ": %s\n", err);
        return -1;
    }
    bench->client = ls_client_new(bench->config.notification_endpoint, bench->config.timeout_ms);
    if (bench->client && getenv("LODESTONE_PUBLISHER"))
        ls_client_set_publisher(bench->client, bench->config.publisher);
    bench->push = zsock_new(ZMQ_PUSH);
    bench->sent_to = calloc((size_t)bench->options.recipients, sizeof *bench->sent_to);
    if (!bench->client || !bench->push || !bench->sent_to ||
        zsock_connect(bench->push, "%s", bench->config.notification_pull_endpoint) < 0) {
        fprintf(stderr, S_NAME ": cannot reach notification at %s and %s\n",
                bench->config.notification_endpoint, bench->config.notification_pull_endpoint);
        return -1;
    }
    return 0;
}

static void s_teardown(s_bench_t *bench)
{
    zsock_destroy(&bench->push);
    zsock_destroy(&bench->feed);
    ls_client_destroy(&bench->client);
    ls_store_destroy(&bench->store);
    free(bench->sent_to);
}

int main(int argc, char **argv)
{
    s_bench_t bench = {0};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return s_usage();
    if (s_parse_args(argc, argv, &bench.options))
        return s_usage();
    zsys_init();
    if (sodium_init() < 0) {
        fprintf(stderr, S_NAME ": libsodium did not initialise\n");
        return 1;
    }
    s_inbox_result_t inbox = {0};
    s_hook_result_t hooks[S_HOOK_DELAYS_MAX] = {{0}};
    if (s_setup(&bench)) {
        s_teardown(&bench);
        return 1;
    }
    int rc = 0;
    if (bench.options.phase != S_PHASE_WEBHOOK)
        rc = s_inbox_phase(&bench, &inbox);
    /* Webhook events take indexes after the inbox phase's, so no two are alike. */
    uint64_t index = (uint64_t)bench.options.events;
    for (size_t i = 0; rc == 0 && bench.options.phase != S_PHASE_INBOX &&
                       i < bench.options.n_hook_delays && !zsys_interrupted;
         i++, index += (uint64_t)bench.options.hook_events)
        rc = s_hook_round(&bench, bench.options.hook_delays[i], index, &hooks[i]);
    printf("\n" S_NAME ": notification at %s, seed %llu\n", bench.config.notification_endpoint,
           (unsigned long long)bench.options.seed);
    if (inbox.ran)
        s_print_inbox(&bench, &inbox);
    if (hooks[0].ran)
        s_print_hooks(&bench, hooks, bench.options.n_hook_delays);
    if (bench.options.json)
        s_print_json(&bench, &inbox, hooks, bench.options.n_hook_delays);
    bool complete = !inbox.ran || inbox.complete;
    for (size_t i = 0; i < bench.options.n_hook_delays; i++)
        complete = complete && (!hooks[i].ran || hooks[i].complete);
    s_teardown(&bench);
    return rc == 0 && complete ? 0 : 1;
}
