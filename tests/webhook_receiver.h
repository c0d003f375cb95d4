/* webhook_receiver.h — a webhook receiver for tests: an HTTP server on a free
 * loopback port (libmicrohttpd, a thread per connection) that records every request
 * and can be told to fail or to answer slowly. Also an independent check of the
 * Lodestone-Signature header, as a subscriber would write it. */
#ifndef WEBHOOK_RECEIVER_H
#define WEBHOOK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _webhook_receiver_t webhook_receiver_t;

#define WEBHOOK_RECEIVER_BODY_MAX 4096

/* One request as received. */
typedef struct {
    char id[256];        /* Lodestone-Delivery-Id */
    char signature[128]; /* Lodestone-Signature */
    char content_type[64];
    char user_agent[64];
    char body[WEBHOOK_RECEIVER_BODY_MAX]; /* NUL-ended; cut at the size */
    size_t body_len;
    int status;    /* the status answered (or to be, while delayed) */
    bool answered; /* the response was handed over */
    int64_t at_ms; /* when the whole request had arrived (Unix ms) */
} webhook_received_t;

/* Starts listening on 127.0.0.1 on a free port; NULL on failure. */
webhook_receiver_t *webhook_receiver_new(void);
/* Stops the server (a delayed answer is cut short); nulls *self_p. */
void webhook_receiver_destroy(webhook_receiver_t **self_p);

/* "http://127.0.0.1:<port>/hook" */
const char *webhook_receiver_url(const webhook_receiver_t *self);

/* Answers the next n requests with status. */
void webhook_receiver_fail_next(webhook_receiver_t *self, unsigned n, int status);
/* Answers every request with status; 0 = accept again (200), clearing fail_next. */
void webhook_receiver_fail_always(webhook_receiver_t *self, int status);
/* Waits ms before each answer. */
void webhook_receiver_delay(webhook_receiver_t *self, int ms);

/* Requests received so far. */
size_t webhook_receiver_count(webhook_receiver_t *self);
/* Responses handed over so far. */
size_t webhook_receiver_answered(webhook_receiver_t *self);
/* Requests answered 2xx with this delivery id (NULL = any). */
size_t webhook_receiver_accepted(webhook_receiver_t *self, const char *id);
/* Distinct delivery ids received. */
size_t webhook_receiver_distinct(webhook_receiver_t *self);
/* The most requests that were being handled at one time. */
unsigned webhook_receiver_max_concurrent(webhook_receiver_t *self);
/* Copies request number index (0 = first); -1 when there is no such request. */
int webhook_receiver_get(webhook_receiver_t *self, size_t index, webhook_received_t *out);

/* Checks a Lodestone-Signature value "t=<t>,v1=<hex>" against the HMAC-SHA256 of
 * "<t>.<body>" under secret. Returns t, or -1 when the value is malformed or does
 * not match. */
long long webhook_receiver_verify(const char *signature, const char *secret, const void *body,
                                  size_t len);

#endif
