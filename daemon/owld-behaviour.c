/* owld-behaviour.c: what a module without code does with its connections:
 * echo, or relay within a room
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "owld-daemon.h"

static void
on_echo_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       user_data)
{
  owl_connection_send (connection, message, NULL);
}

/* The room's message, stamped with who sent it: the client cannot claim
 * another identity, the "from" it sent is replaced. */
static JsonNode *
stamp (OwlConnection *connection,
       JsonNode      *message)
{
  JsonNode *out = json_node_copy (message);
  JsonObject *from = json_object_new ();
  OwlAuth *auth = owl_connection_get_auth (connection);

  if (auth != NULL && owl_auth_get_user_id (auth) != NULL)
    json_object_set_string_member (from, "user", owl_auth_get_user_id (auth));
  else
    json_object_set_null_member (from, "user");
  json_object_set_string_member (from, "connection", owl_connection_get_id (connection));
  json_object_set_object_member (json_node_get_object (out), "from", from);
  return out;
}

static void
on_room_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       user_data)
{
  OwldDaemon *daemon = user_data;
  const char *room = g_object_get_data (G_OBJECT (connection), "owld-room");
  g_autoptr(JsonNode) out = stamp (connection, message);

  /* Built once, framed once for every member but the sender. */
  owl_socket_service_broadcast (owld_daemon_get_service (daemon), room, out, connection);
}

void
owld_behaviour_attach (OwldDaemon       *self,
                       OwldModuleConfig *module,
                       OwlConnection    *connection)
{
  const char *room;

  switch (module->behaviour)
    {
    case OWLD_BEHAVIOUR_ECHO:
      g_signal_connect (connection, "message", G_CALLBACK (on_echo_message), NULL);
      break;
    case OWLD_BEHAVIOUR_ROOM:
      room = owl_request_get_param (owl_connection_get_request (connection), module->room_param);
      if (room == NULL)
        {
          owl_connection_close (connection, OWL_CLOSE_INTERNAL, "No room");
          return;
        }
      g_object_set_data_full (G_OBJECT (connection), "owld-room", g_strdup (room), g_free);
      owl_connection_join (connection, room);
      g_signal_connect_object (connection, "message", G_CALLBACK (on_room_message), self, 0);
      break;
    case OWLD_BEHAVIOUR_BUS:
    default:
      break;
    }
}
