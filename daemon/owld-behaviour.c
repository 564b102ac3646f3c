/* owld-behaviour.c: what a module without code does with its connections:
 * echo, relay within a room (and list its members), or push the service's
 * statistics
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

static gint
compare_users (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* {"type":"call","method":"members"}: the user ids in the caller's room,
 * sorted, each once (a user may have several connections). */
static gboolean
on_room_members (OwlConnection *connection,
                 OwlCall       *call,
                 gpointer       user_data)
{
  OwlSocketService *service = owld_daemon_get_service (user_data);
  const char *room = g_object_get_data (G_OBJECT (connection), "owld-room");
  GList *members = owl_socket_service_list_room_members (service, room);
  g_autoptr(GPtrArray) users = g_ptr_array_new ();
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_ARRAY);
  JsonArray *array = json_array_new ();

  for (GList *l = members; l != NULL; l = l->next)
    {
      OwlAuth *auth = owl_connection_get_auth (l->data);
      const char *user = auth != NULL ? owl_auth_get_user_id (auth) : NULL;

      if (user != NULL && !g_ptr_array_find_with_equal_func (users, user, g_str_equal, NULL))
        g_ptr_array_add (users, (gpointer) user);
    }
  g_ptr_array_sort (users, compare_users);
  for (guint i = 0; i < users->len; i++)
    json_array_add_string_element (array, users->pdata[i]);
  g_list_free (members);
  json_node_take_array (result, array);
  owl_call_return_value (call, result);
  return TRUE;
}

typedef struct
{
  OwldDaemon    *daemon;
  OwlConnection *connection;   /* not owned: the timer goes with it */
} StatsPush;

/* {"type":"event","event":"stats","payload":<owl_socket_service_dup_stats()>} */
static gboolean
push_stats (gpointer data)
{
  StatsPush *push = data;
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (owld_daemon_get_service (push->daemon));
  g_autoptr(JsonNode) frame = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", "event");
  json_object_set_string_member (object, "event", "stats");
  json_object_set_member (object, "payload", json_gvariant_serialize (stats));
  json_node_take_object (frame, object);
  owl_connection_send (push->connection, frame, NULL);
  return G_SOURCE_CONTINUE;
}

static void
remove_source (gpointer id)
{
  g_source_remove (GPOINTER_TO_UINT (id));
}

static void
stop_stats (OwlConnection *connection)
{
  g_object_set_data (G_OBJECT (connection), "owld-stats", NULL);
}

static void
start_stats (OwldDaemon       *self,
             OwldModuleConfig *module,
             OwlConnection    *connection)
{
  StatsPush *push = g_new0 (StatsPush, 1);
  guint id;

  push->daemon = self;
  push->connection = connection;
  push_stats (push);
  id = g_timeout_add_full (G_PRIORITY_DEFAULT, module->stats_interval_ms, push_stats, push, g_free);
  /* Removed when the connection closes, or at the latest when it goes. */
  g_object_set_data_full (G_OBJECT (connection), "owld-stats", GUINT_TO_POINTER (id), remove_source);
  g_signal_connect (connection, "closed", G_CALLBACK (stop_stats), NULL);
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
      g_signal_connect_object (connection, "call::members", G_CALLBACK (on_room_members), self, 0);
      break;
    case OWLD_BEHAVIOUR_STATS:
      start_stats (self, module, connection);
      break;
    case OWLD_BEHAVIOUR_BUS:
    default:
      break;
    }
}
