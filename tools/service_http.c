/* service_http.c — requests to a service's HTTP door and its metrics text
 * (service_http.h). */
#include "service_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
} s_body_t;

static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
    s_body_t *body = arg;
    size_t more = size * n;
    if (body->len + more > SERVICE_HTTP_BODY_MAX)
        return 0; /* abandons the transfer */
    char *grown = realloc(body->data, body->len + more + 1);
    if (!grown)
        return 0;
    memcpy(grown + body->len, data, more);
    body->data = grown;
    body->len += more;
    body->data[body->len] = 0;
    return more;
}

long service_http_request(const char *method, const char *url, long timeout_ms, char **body,
                          char *content_type, size_t type_len)
{
    s_body_t got = {calloc(1, 1), 0};
    CURL *curl = got.data ? curl_easy_init() : NULL;
    long status = -1;
    if (content_type && type_len)
        content_type[0] = 0;
    if (curl) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        if (strcmp(method, "HEAD") == 0)
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        else
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
        if (curl_easy_perform(curl) == CURLE_OK) {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
            char *type = NULL;
            curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
            if (content_type && type_len)
                snprintf(content_type, type_len, "%s", type ? type : "");
        }
        curl_easy_cleanup(curl);
    }
    if (status < 0 || !body) {
        free(got.data);
        got.data = NULL;
    }
    if (body)
        *body = got.data;
    return status;
}

double service_http_metric(const char *text, const char *name, const char *has, const char *lacks)
{
    double sum = -1;
    size_t len = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (*line != '#' && line_len > len && strncmp(line, name, len) == 0 &&
            (line[len] == '{' || line[len] == ' ')) {
            char sample[1024];
            snprintf(sample, sizeof sample, "%.*s", (int)line_len, line);
            const char *value = strrchr(sample, ' ');
            char *labels_end = strrchr(sample, '}');
            if (labels_end)
                *labels_end = 0; /* has and lacks look at the labels only */
            if ((!has || strstr(sample, has)) && (!lacks || !strstr(sample, lacks)) && value)
                sum = (sum < 0 ? 0 : sum) + strtod(value + 1, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return sum;
}
