/* secure-chat.c: chat rooms behind a JWT guard, and a monitor for admins
 *
 *   head -c 32 /dev/urandom | base64 > secret.txt
 *   build/examples/secure-chat --secret-file secret.txt --port 8080
 *     (or the secret in OWLSOCK_JWT_SECRET; at least 32 bytes, else it refuses to start)
 *   TOKEN=$(build/tools/owlsock-token --secret-file secret.txt --sub alice --scope "chat admin")
 *
 * The token goes in "Authorization: Bearer TOKEN", in ?token=TOKEN, or in the
 * subprotocol entry "owlsock.bearer.TOKEN"; without a valid one: HTTP 401.
 *
 *   ws://127.0.0.1:8080/ws/chat/ROOM
 *   <- {"type":"welcome","room":"ROOM","userId":"alice"}
 *   -> {"type":"chat-message","content":"hi"}
 *   <- to the others in ROOM: {"type":"room-message","room":"ROOM","sender":"alice","content":"hi"}
 *      (the sender is the token's subject; a "sender" the client sends is ignored;
 *      a message without a string "content" of 1 to 2000 characters gets a
 *      "validation" error frame)
 *
 *   ws://127.0.0.1:8080/ws/monitor      tokens with the scope "admin" only (HTTP 403)
 *   -> {"type":"call","id":"1","method":"stats"}
 *   <- {"type":"result","id":"1","payload":{"connections-open":2,...}}
 *   <- every --stats-interval seconds (default 5): {"type":"event","event":"stats","payload":{...}}
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "common.h"

#define MONITOR_ROOM "monitor"  /* every monitor connection, for the pushed stats */

/* What a chat client may send (filter(body(schema)) in @owlmeans/server-socket); anything
 * else is answered with a `validation` error and never reaches the room. */
#define CHAT_MESSAGE_SCHEMA \
  "{\"type\": \"object\", \"required\": [\"type\", \"content\"]," \
  " \"properties\": {\"type\": {\"const\": \"chat-message\"}," \
  "                \"content\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 2000}}}"

typedef struct
{
  char  *secret_file;
  int    stats_interval;
  guint  stats_id;        /* the timer of push_stats() */
} Options;

static const char *
room_of (OwlConnection *connection)
{
  return owl_request_get_param (owl_connection_get_request (connection), "room");
}

/* Who the guard says sent it: never a field of the message. */
static const char *
user_of (OwlConnection *connection)
{
  return owl_auth_get_user_id (owl_connection_get_auth (connection));
}

static gboolean
has_type (JsonObject *message,
          const char *type)
{
  JsonNode *node = json_object_get_member (message, "type");

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING &&
         g_str_equal (json_node_get_string (node), type);
}

/* The chat ------------------------------------------------------------------ */

static void
on_chat_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       service)
{
  JsonObject *in = json_node_get_object (message);
  JsonNode *content = json_object_get_member (in, "content");
  JsonObject *frame;

  if (!has_type (in, "chat-message"))
    return;
  frame = example_frame_new ("room-message");
  json_object_set_string_member (frame, "room", room_of (connection));
  json_object_set_string_member (frame, "sender", user_of (connection));
  json_object_set_member (frame, "content",
                          content != NULL ? json_node_copy (content) : json_node_new (JSON_NODE_NULL));
  example_broadcast_take (service, room_of (connection), frame, connection);
}

static void
on_chat_connection (OwlModule     *module,
                    OwlConnection *connection,
                    gpointer       service)
{
  JsonObject *frame = example_frame_new ("welcome");

  g_signal_connect (connection, "message", G_CALLBACK (on_chat_message), service);
  owl_connection_join (connection, room_of (connection));
  json_object_set_string_member (frame, "room", room_of (connection));
  json_object_set_string_member (frame, "userId", user_of (connection));
  example_send_take (connection, frame);
}

/* The monitor ----------------------------------------------------------------- */

static gboolean
on_call_stats (OwlConnection *connection,
               OwlCall       *call,
               gpointer       service)
{
  g_autoptr(JsonNode) stats = example_stats_json (service);

  owl_call_return_value (call, stats);
  return TRUE;
}

static gboolean
push_stats (gpointer service)
{
  JsonObject *frame = example_frame_new ("event");

  json_object_set_string_member (frame, "event", "stats");
  json_object_set_member (frame, "payload", example_stats_json (service));
  example_broadcast_take (service, MONITOR_ROOM, frame, NULL);
  return G_SOURCE_CONTINUE;
}

static void
on_monitor_connection (OwlModule     *module,
                       OwlConnection *connection,
                       gpointer       service)
{
  g_signal_connect (connection, "call::stats", G_CALLBACK (on_call_stats), service);
  owl_connection_join (connection, MONITOR_ROOM);
}

/* Setup, once the options are known -------------------------------------------- */

static gboolean
add_modules (OwlSocketService  *service,
             GError           **error)
{
  const char *guards[] = { "jwt", NULL };
  const char *gates[] = { "admin", NULL };
  g_autoptr(OwlSchema) schema = owl_schema_new_from_string (CHAT_MESSAGE_SCHEMA, error);
  g_autoptr(OwlModule) chat = NULL;
  g_autoptr(OwlModule) monitor = g_object_new (OWL_TYPE_MODULE, "alias", "monitor", "path", "/ws/monitor",
                                               "guards", guards, "gates", gates, NULL);

  if (schema == NULL)
    return FALSE;
  chat = g_object_new (OWL_TYPE_MODULE, "alias", "chat", "path", "/ws/chat/:room",
                       "guards", guards, "message-schema", schema, NULL);
  g_signal_connect (chat, "connection", G_CALLBACK (on_chat_connection), service);
  g_signal_connect (monitor, "connection", G_CALLBACK (on_monitor_connection), service);
  return owl_socket_service_add_module (service, chat, error) &&
         owl_socket_service_add_module (service, monitor, error);
}

static gboolean
setup (OwlSocketService  *service,
       gpointer           user_data,
       GError           **error)
{
  Options *options = user_data;
  g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });

  if (!example_add_jwt_secret (OWL_JWT_GUARD (guard), options->secret_file, error))
    return FALSE;
  if (options->stats_interval < 1)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "--stats-interval must be at least 1");
      return FALSE;
    }

  if (!owl_socket_service_add_guard (service, "jwt", guard, error) ||
      !owl_socket_service_add_gate (service, "admin", admin, error) ||
      !add_modules (service, error))
    return FALSE;
  options->stats_id = g_timeout_add_seconds (options->stats_interval, push_stats, service);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  Options options = { NULL, 5, 0 };
  const GOptionEntry entries[] = {
    { "secret-file", 0, 0, G_OPTION_ARG_FILENAME, &options.secret_file,
      "Read the HS256 secret from FILE (default: $OWLSOCK_JWT_SECRET); at least 32 bytes", "FILE" },
    { "stats-interval", 0, 0, G_OPTION_ARG_INT, &options.stats_interval,
      "Seconds between two stats events to the monitors (default 5)", "SECONDS" },
    G_OPTION_ENTRY_NULL
  };
  int status;

  status = example_main_full (service, entries, setup, &options, argc, argv);
  g_clear_handle_id (&options.stats_id, g_source_remove);
  g_free (options.secret_file);
  return status;
}
