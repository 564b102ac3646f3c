/* owld-daemon.h: owlsockd's service, built from its configuration
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

#include "owld-config.h"

G_BEGIN_DECLS

#define OWLD_TYPE_DAEMON (owld_daemon_get_type ())
G_DECLARE_FINAL_TYPE (OwldDaemon, owld_daemon, OWLD, DAEMON, GObject)

/* What a bus module's connections need from the bus side (owld-handlers.c);
 * without one, their messages and calls are answered `unavailable`. */
typedef struct
{
  void (*connection) (gpointer data, OwldModuleConfig *module, OwlConnection *connection);
  OwlGuard *(*new_guard) (gpointer data, const char *module);
  gpointer data;
} OwldBusHooks;

OwldDaemon       *owld_daemon_new            (const char     *config_path);
gboolean          owld_daemon_start          (OwldDaemon     *self,
                                              GError        **error);
gboolean          owld_daemon_reload         (OwldDaemon     *self,
                                              GError        **error);
void              owld_daemon_stop           (OwldDaemon     *self);
void              owld_daemon_set_bus_hooks  (OwldDaemon         *self,
                                              const OwldBusHooks *hooks);
OwlSocketService *owld_daemon_get_service    (OwldDaemon     *self);
OwldConfig       *owld_daemon_get_config     (OwldDaemon     *self);
OwldModuleConfig *owld_daemon_lookup_module  (OwldDaemon     *self,
                                              const char     *name);
char            **owld_daemon_dup_addresses  (OwldDaemon     *self);
char            **owld_daemon_dup_modules    (OwldDaemon     *self);
/* Something happened that keeps the daemon alive (a bus call, a handler). */
void              owld_daemon_touch          (OwldDaemon     *self);
void              owld_daemon_set_busy       (OwldDaemon     *self,
                                              guint           n_handlers);

/* Behaviours (owld-behaviour.c) */
void              owld_behaviour_attach      (OwldDaemon       *self,
                                              OwldModuleConfig *module,
                                              OwlConnection    *connection);

/* Structured log lines, with the connection's id as OWLSOCK_CONNECTION. */
#define owld_log(level, connection_id, ...) \
  g_log_structured ("owlsockd", level, "OWLSOCK_CONNECTION", (connection_id) ? (connection_id) : "", \
                    "MESSAGE", __VA_ARGS__)

G_END_DECLS
