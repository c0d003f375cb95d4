/* ctl.h — what the parts of lodestonectl share: the configuration, the client for
 * a service, reply checking and JSON printing; and the commands that live in
 * ctl_registry.c, ctl_matching.c, ctl_notification.c, ctl_report.c and
 * ctl_status.c. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "ls_client.h"
#include "ls_config.h"

extern ls_config_t ctl_config;

/* A client of "registry", "matching" or "notification"; NULL (said on stderr) when
 * it cannot be made. The caller destroys it. */
ls_client_t *ctl_client(const char *service);
/* Says on stderr why reply is missing or not OK, with its field errors; 0 when OK. */
int ctl_check(const char *what, ls_client_t *client, ls_reply_pb *reply);
/* Sends env to service ("registry", "matching", "notification") and waits for the
 * reply. Returns it when OK and holding body want (LODESTONE__V1__REPLY__BODY__NOT_SET:
 * any), for the caller to free; NULL after saying why on stderr (what names the
 * request). */
ls_reply_pb *ctl_call(const char *service, const char *what, ls_envelope_pb *env,
                      Lodestone__V1__Reply__BodyCase want);
/* Parses a --limit value, 1 to 1000; -1 after saying so on stderr. */
int ctl_limit(const char *text, uint32_t *out);
/* Parses arg as JSON, or the file it names after '@'; NULL after saying why on
 * stderr. The caller json_decrefs it. */
json_t *ctl_load_json(const char *arg);
/* Prints msg as JSON on one line, or indented. */
void ctl_print(const ProtobufCMessage *msg, bool indent);

/* Registry commands; each returns the exit code (0 ok, 1 error, 2 usage). */
int ctl_patch(int argc, char **argv);
int ctl_withdraw(int argc, char **argv);
int ctl_erase(int argc, char **argv);
int ctl_list(int argc, char **argv);
int ctl_taxonomy(int argc, char **argv);

/* Matching commands (ctl_matching.c). */
int ctl_explain(int argc, char **argv);
int ctl_rematch(int argc, char **argv);
int ctl_stats(int argc, char **argv);

/* The capability map and demonstration suggestions (ctl_report.c). */
int ctl_report(int argc, char **argv);

/* Notification commands (ctl_notification.c). */
int ctl_subscribe(int argc, char **argv);
int ctl_subscriptions(int argc, char **argv);
int ctl_unsubscribe(int argc, char **argv);
int ctl_inbox(int argc, char **argv);
int ctl_dead_letters(int argc, char **argv);
int ctl_replay(int argc, char **argv);
int ctl_interest(int argc, char **argv);

/* Every service's health, lag and key counters over HTTP (ctl_status.c): exit 0
 * when all three are healthy, 1 otherwise. */
int ctl_status(int argc, char **argv);

#endif
