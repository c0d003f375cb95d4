/* ctl.h — what the parts of lodestonectl share: the configuration, the client for
 * a service, reply checking and JSON printing; and the commands that live in
 * ctl_registry.c, ctl_matching.c, ctl_notification.c, ctl_report.c and
 * ctl_status.c. */
#ifndef CTL_H
#define CTL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "ls_client.h"
#include "ls_config.h"

extern ls_config_t ctl_config;

/* A client of "registry", "matching" or "notification"; NULL (said on stderr) when
 * it cannot be made. The caller destroys it. */
ls_client_t *ctl_client(const char *service);
/* Says on stderr why reply is missing or not OK, with its field errors; 0 when OK. */
int ctl_check(const char *what, ls_client_t *client, ls_reply_pb *reply);
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
