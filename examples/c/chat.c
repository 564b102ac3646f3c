/* chat.c: chat rooms with presence, after the chat example of @owlmeans/server-socket
 *
 *   build/examples/chat --port 8080
 *   ws://127.0.0.1:8080/ws/chat/ROOM?name=NAME      (name defaults to "anonymous")
 *
 *   <- {"type":"welcome","room":"ROOM","name":"NAME"}
 *   -> {"type":"chat-message","content":"hi"}
 *   <- to the others in ROOM: {"type":"room-message","room":"ROOM","sender":"NAME","content":"hi"}
 *   <- to the others in ROOM: {"type":"presence","event":"join"|"leave","sender":"NAME"}
 *   -> {"type":"event","event":"typing"}
 *   <- to the others in ROOM: {"type":"event","event":"typing","payload":{"sender":"NAME"}}
 *   -> {"type":"call","id":"1","method":"members","payload":[]}
 *   <- {"type":"result","id":"1","payload":["NAME","OTHER"]}
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "common.h"

static const char *
room_of (OwlConnection *connection)
{
  return owl_request_get_param (owl_connection_get_request (connection), "room");
}

static const char *
name_of (OwlConnection *connection)
{
  const char *name = owl_request_get_query_param (owl_connection_get_request (connection), "name");

  return name != NULL ? name : "anonymous";
}

/* A frame {"type": TYPE} to fill in; json_builder_* would be longer. */
static JsonObject *
frame_new (const char *type)
{
  JsonObject *frame = json_object_new ();

  json_object_set_string_member (frame, "type", type);
  return frame;
}

/* Sends @frame (consumed) to everyone in @room but @from. */
static void
tell_room (OwlSocketService *service,
           const char       *room,
           OwlConnection    *from,
           JsonObject       *frame)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, frame);
  owl_socket_service_broadcast (service, room, node, from);
}

/* "joined" and "left": the others in @room hear who came and went. "left"
 * comes for leave() and when the connection closes, once it is out of the
 * room. */
static void
announce (OwlConnection *connection,
          const char    *room,
          gpointer       service,
          const char    *event)
{
  JsonObject *frame = frame_new ("presence");

  json_object_set_string_member (frame, "event", event);
  json_object_set_string_member (frame, "sender", name_of (connection));
  tell_room (service, room, connection, frame);
}

static void
on_joined (OwlConnection *connection,
           const char    *room,
           gpointer       service)
{
  announce (connection, room, service, "join");
}

static void
on_left (OwlConnection *connection,
         const char    *room,
         gpointer       service)
{
  announce (connection, room, service, "leave");
}

/* Connected as "message::chat-message": only messages of that type come
 * here, always JSON objects (owlsock answers anything else with an error
 * frame). */
static void
on_chat_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       service)
{
  JsonNode *content = json_object_get_member (json_node_get_object (message), "content");
  JsonObject *frame;

  frame = frame_new ("room-message");
  json_object_set_string_member (frame, "room", room_of (connection));
  json_object_set_string_member (frame, "sender", name_of (connection));
  json_object_set_member (frame, "content",
                          content != NULL ? json_node_copy (content) : json_node_new (JSON_NODE_NULL));
  tell_room (service, room_of (connection), connection, frame);
}

/* {"type":"event","event":"typing"}, connected as "event::typing" */
static void
on_typing (OwlConnection *connection,
           const char    *event,
           JsonNode      *payload,
           gpointer       service)
{
  JsonObject *frame = frame_new ("event");
  JsonObject *who = json_object_new ();

  json_object_set_string_member (who, "sender", name_of (connection));
  json_object_set_string_member (frame, "event", "typing");
  json_object_set_object_member (frame, "payload", who);
  tell_room (service, room_of (connection), connection, frame);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (name_of ((OwlConnection *) a), name_of ((OwlConnection *) b));
}

/* {"type":"call","method":"members"}: the names in the caller's room, sorted */
static gboolean
on_call_members (OwlConnection *connection,
                 OwlCall       *call,
                 gpointer       service)
{
  GList *members = owl_socket_service_list_room_members (service, room_of (connection));
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_ARRAY);
  JsonArray *names = json_array_new ();

  members = g_list_sort (members, compare_names);
  for (GList *l = members; l != NULL; l = l->next)
    json_array_add_string_element (names, name_of (l->data));
  g_list_free (members);

  json_node_take_array (result, names);
  owl_call_return_value (call, result);
  return TRUE;
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       service)
{
  g_autoptr(JsonNode) welcome = json_node_new (JSON_NODE_OBJECT);
  JsonObject *frame = frame_new ("welcome");

  g_signal_connect (connection, "message::chat-message", G_CALLBACK (on_chat_message), service);
  g_signal_connect (connection, "event::typing", G_CALLBACK (on_typing), service);
  g_signal_connect (connection, "call::members", G_CALLBACK (on_call_members), service);
  g_signal_connect (connection, "joined", G_CALLBACK (on_joined), service);
  g_signal_connect (connection, "left", G_CALLBACK (on_left), service);

  json_object_set_string_member (frame, "room", room_of (connection));
  json_object_set_string_member (frame, "name", name_of (connection));
  json_node_take_object (welcome, frame);
  owl_connection_send (connection, welcome, NULL);
  owl_connection_join (connection, room_of (connection));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  g_autoptr(OwlModule) chat = owl_module_new ("chat", "/ws/chat/:room");
  g_autoptr(GError) error = NULL;

  g_signal_connect (chat, "connection", G_CALLBACK (on_connection), service);
  if (!owl_socket_service_add_module (service, chat, &error))
    {
      g_printerr ("chat: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return example_main (service, argc, argv);
}
