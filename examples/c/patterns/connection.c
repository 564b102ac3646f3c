/* connection.c: connection management, /ws/connection
 *
 *   <- on connect: {"type":"connection-established","connectionId":ID,"serverTime":MS}
 *   <- every --stats-interval ms: {"type":"server-stats","activeConnections":N,"serverUptime":S}
 *   -> {"type":"ping","id":"p1"}     <- {"type":"pong","id":"p1"}   (answered by owlsock)
 *
 * The connection's id is owlsock's own (owl_connection_get_id()), and the
 * service keeps the registry of open connections (get_n_connections(),
 * lookup_connection(), list_connections()): no map of your own to keep
 * in step. The framework answers the envelope's `ping` itself, before any
 * handler, and sends WebSocket pings of its own (`ping-interval`), closing
 * a peer that stops answering with 4408. The stats timer starts on connect
 * and stops in `closing`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "patterns.h"

typedef struct
{
  OwlSocketService *service;
  guint             interval;  /* ms */
  gint64            started;   /* monotonic µs */
} Registry;

static void
send_stats (OwlConnection *connection,
            gpointer       user_data)
{
  const Registry *registry = user_data;
  JsonObject *frame = example_frame_new ("server-stats");

  json_object_set_int_member (frame, "activeConnections",
                              owl_socket_service_get_n_connections (registry->service));
  json_object_set_double_member (frame, "serverUptime",
                                 (double) (g_get_monotonic_time () - registry->started) / G_USEC_PER_SEC);
  example_send_take (connection, frame);
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  Registry *registry = user_data;
  JsonObject *frame = example_frame_new ("connection-established");

  json_object_set_string_member (frame, "connectionId", owl_connection_get_id (connection));
  json_object_set_int_member (frame, "serverTime", g_get_real_time () / 1000);
  example_send_take (connection, frame);
  example_every (connection, registry->interval, send_stats, registry);
}

static void
registry_free (gpointer  data,
               GClosure *closure)
{
  g_free (data);
}

gboolean
patterns_add_connection (OwlSocketService       *service,
                         const PatternsOptions  *options,
                         GError                **error)
{
  g_autoptr(OwlModule) module = owl_module_new ("connection", "/ws/connection");
  Registry *registry = g_new0 (Registry, 1);

  registry->service = service;
  registry->interval = (guint) options->stats_interval;
  registry->started = g_get_monotonic_time ();
  g_signal_connect_data (module, "connection", G_CALLBACK (on_connection), registry, registry_free, 0);
  return owl_socket_service_add_module (service, module, error);
}
