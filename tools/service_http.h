/* service_http.h — the client side of a service's HTTP door for operators
 * (ls_http.h: GET /healthz and /metrics): one request with libcurl, its body
 * collected up to a bound, and the sum of a metric's samples in the Prometheus text
 * that /metrics serves. lodestonectl status reads the services with it, and so does
 * test_health. The caller runs curl_global_init once before the first request. */
#ifndef SERVICE_HTTP_H
#define SERVICE_HTTP_H

#include <stddef.h>

#define SERVICE_HTTP_BODY_MAX (8 * 1024 * 1024) /* a longer body: no answer (-1) */

/* Sends method ("GET", "HEAD", "POST", ...; no request body) to url, waiting at
 * most timeout_ms. Returns the HTTP status, or -1 when nothing answered. When body
 * is not NULL, *body gets the response body, NUL-ended and "" at least, for the
 * caller to free (NULL on -1). When content_type is not NULL it gets the
 * Content-Type ("" when none). */
long service_http_request(const char *method, const char *url, long timeout_ms, char **body,
                          char *content_type, size_t type_len);

/* The sum of the samples of metric name in text (the Prometheus text format) whose
 * labels contain has (NULL: any) and do not contain lacks (NULL: none); -1 when
 * there is no such sample. */
double service_http_metric(const char *text, const char *name, const char *has, const char *lacks);

#endif
