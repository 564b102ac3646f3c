/* monitor.c: monitoring, /ws/monitor, for tokens with the scope "admin" only
 *
 *   the token: Authorization: Bearer TOKEN, ?token=TOKEN or the subprotocol
 *   "owlsock.bearer.TOKEN"; none or a bad one: HTTP 401; without "admin": 403
 *   <- on connect: {"type":"system-state","data":{"connections-open":N,...}}
 *   <- whenever a connection of the service opens or closes:
 *      {"type":"system-event","event":"connection-opened","connection":{"id","module","path"}}
 *      {"type":"system-event","event":"connection-closed","connection":{...},"code":1000}
 *
 * The guard (who: a JWT) and the gate (may they: the "admin" scope) run
 * before the upgrade, so the handler never sees anyone else. The state on
 * connect is owl_socket_service_dup_stats(); the events come from the
 * service's `connection-added` and `connection-removed` signals, pushed to
 * the room of the monitors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "patterns.h"

#define MONITOR_ROOM "monitors"

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       service)
{
  JsonObject *frame = example_frame_new ("system-state");

  json_object_set_member (frame, "data", example_stats_json (service));
  example_send_take (connection, frame);
  owl_connection_join (connection, MONITOR_ROOM);
}

static void
push_event (OwlSocketService *service,
            OwlConnection    *connection,
            const char       *event)
{
  JsonObject *frame = example_frame_new ("system-event");
  JsonObject *about = json_object_new ();

  json_object_set_string_member (about, "id", owl_connection_get_id (connection));
  json_object_set_string_member (about, "module",
                                 owl_module_get_alias (owl_connection_get_module (connection)));
  json_object_set_string_member (about, "path",
                                 owl_request_get_path (owl_connection_get_request (connection)));
  json_object_set_string_member (frame, "event", event);
  json_object_set_object_member (frame, "connection", about);
  if (owl_connection_get_state (connection) == OWL_CONNECTION_CLOSED)
    json_object_set_int_member (frame, "code", owl_connection_get_close_code (connection));
  example_broadcast_take (service, MONITOR_ROOM, frame, NULL);
}

/* Before the module's `connection`: a new monitor is not in the room yet. */
static void
on_connection_added (OwlSocketService *service,
                     OwlConnection    *connection,
                     gpointer          user_data)
{
  push_event (service, connection, "connection-opened");
}

/* Out of its rooms already: a monitor that leaves is not told of itself. */
static void
on_connection_removed (OwlSocketService *service,
                       OwlConnection    *connection,
                       gpointer          user_data)
{
  push_event (service, connection, "connection-closed");
}

gboolean
patterns_add_monitor (OwlSocketService       *service,
                      const PatternsOptions  *options,
                      GError                **error)
{
  const char *guards[] = { "jwt", NULL }, *gates[] = { "admin", NULL };
  g_autoptr(OwlGuard) jwt = owl_jwt_guard_new ();
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  g_autoptr(OwlModule) module = g_object_new (OWL_TYPE_MODULE, "alias", "monitor", "path", "/ws/monitor",
                                              "guards", guards, "gates", gates, NULL);

  if (!example_add_jwt_secret (OWL_JWT_GUARD (jwt), options->secret_file, error) ||
      !owl_socket_service_add_guard (service, "jwt", jwt, error) ||
      !owl_socket_service_add_gate (service, "admin", admin, error))
    return FALSE;

  g_signal_connect (module, "connection", G_CALLBACK (on_connection), service);
  g_signal_connect (service, "connection-added", G_CALLBACK (on_connection_added), NULL);
  g_signal_connect (service, "connection-removed", G_CALLBACK (on_connection_removed), NULL);
  return owl_socket_service_add_module (service, module, error);
}
