/* webhook_receiver.h — a webhook receiver for the tests and the notification bench:
 * an HTTP server on a free loopback port (libmicrohttpd, a pool of threads) that
 * counts every request, keeps the first ones whole, and can be told to fail or to
 * answer slowly. A slow answer suspends its connection rather than holding a thread,
 * so how many requests are open at once is up to the sender alone, as with a slow
 * real receiver. Also an independent check of the Lodestone-Signature header, as a
 * subscriber would write it. */
#ifndef WEBHOOK_RECEIVER_H
#define WEBHOOK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _webhook_receiver_t webhook_receiver_t;

#define WEBHOOK_RECEIVER_BODY_MAX (1 << 20) /* body bytes kept; the rest is read and dropped */
#define WEBHOOK_RECEIVER_THREADS 4          /* webhook_receiver_new's pool */

/* One request as received. */
typedef struct {
    char id[256];        /* Lodestone-Delivery-Id ("" when absent) */
    char signature[128]; /* Lodestone-Signature */
    char content_type[64];
    char user_agent[64];
    const char *body; /* NUL-ended; the receiver's, valid until it is destroyed */
    size_t body_len;
    bool body_cut; /* the body was longer than WEBHOOK_RECEIVER_BODY_MAX: this is its start */
    int status;    /* the status answered (or to be, while delayed) */
    bool answered; /* the response was handed over */
    int64_t at_ms; /* when the whole request had arrived (Unix ms) */
} webhook_received_t;

/* What the receiver has seen so far, at one instant. */
typedef struct {
    size_t requests;         /* received whole */
    size_t answered;         /* responses handed over */
    size_t accepted;         /* answered 2xx */
    size_t distinct;         /* distinct delivery ids received */
    size_t accepted_ids;     /* distinct delivery ids answered 2xx at least once */
    size_t no_id;            /* requests without a Lodestone-Delivery-Id */
    unsigned max_concurrent; /* the most requests open at one time */
    int64_t first_ms;        /* the first request's headers (ls_mono_ms); 0: none yet */
    int64_t last_new_ms;     /* an id was first accepted, the last time (ls_mono_ms); 0: none */
} webhook_receiver_stats_t;

/* Starts listening on 127.0.0.1 on a free port with WEBHOOK_RECEIVER_THREADS
 * threads; NULL on failure. */
webhook_receiver_t *webhook_receiver_new(void);
/* The same with a pool of threads (1 to 64). */
webhook_receiver_t *webhook_receiver_new_threads(unsigned threads);
/* Stops the server (a delayed answer is given at once); nulls *self_p. */
void webhook_receiver_destroy(webhook_receiver_t **self_p);

/* "http://127.0.0.1:<port>/hook" */
const char *webhook_receiver_url(const webhook_receiver_t *self);

/* Keeps only the first n requests whole (webhook_receiver_get); later ones are
 * counted, their bodies dropped unread. Every request is kept until this is called. */
void webhook_receiver_keep(webhook_receiver_t *self, size_t n);
/* Answers the next n requests with status. */
void webhook_receiver_fail_next(webhook_receiver_t *self, unsigned n, int status);
/* Answers every request with status; 0 = accept again (200), clearing fail_next. */
void webhook_receiver_fail_always(webhook_receiver_t *self, int status);
/* Waits ms (from its arrival) before each answer. */
void webhook_receiver_delay(webhook_receiver_t *self, int ms);

/* Every count below at one instant. */
void webhook_receiver_stats(webhook_receiver_t *self, webhook_receiver_stats_t *out);
/* Requests received so far (stats.requests). */
size_t webhook_receiver_count(webhook_receiver_t *self);
/* Responses handed over so far (stats.answered). */
size_t webhook_receiver_answered(webhook_receiver_t *self);
/* Requests answered 2xx with this delivery id (NULL = any: stats.accepted). */
size_t webhook_receiver_accepted(webhook_receiver_t *self, const char *id);
/* Distinct delivery ids received (stats.distinct). */
size_t webhook_receiver_distinct(webhook_receiver_t *self);
/* The most requests that were being handled at one time (stats.max_concurrent). */
unsigned webhook_receiver_max_concurrent(webhook_receiver_t *self);
/* Copies kept request number index (0 = first); -1 when there is no such request. */
int webhook_receiver_get(webhook_receiver_t *self, size_t index, webhook_received_t *out);

/* Checks a Lodestone-Signature value "t=<t>,v1=<hex>" against the HMAC-SHA256 of
 * "<t>.<body>" under secret. Returns t, or -1 when the value is malformed or does
 * not match. */
long long webhook_receiver_verify(const char *signature, const char *secret, const void *body,
                                  size_t len);

#endif
