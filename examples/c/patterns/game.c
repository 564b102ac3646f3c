/* game.c: the game session, /ws/game/:sessionId?player=NAME
 *
 *   <- on connect: {"type":"game-state","sessionId":"S","state":{"moves":0,"players":{ID:{"name","x","y"}}}}
 *   <- to the others: {"type":"player-joined","player":{"id":ID,"name":NAME}}
 *   -> {"type":"player-move","move":{"dx":1,"dy":0}}     (dx and dy: -1, 0 or 1)
 *   <- to the mover: {"type":"move-accepted","moves":N,"position":{"x","y"}}
 *   <- to the others: {"type":"game-state","sessionId":"S","state":{...},"lastMove":{"player":ID,"dx","dy"}}
 *   <- to the others when one goes: {"type":"player-left","player":{"id":ID,"name":NAME}}
 *
 * A session is a room ("game:S"). A move is checked by the module's schema
 * for its type before it reaches the handler: a bad one gets a `validation`
 * error and the game goes on; with strict-types, so does a type the game does
 * not know. The state goes to everyone in the session but the mover, who
 * knows its own move. The join and leave notices come from `joined` and
 * `left`, which also fire when a player's connection ends. The session id
 * and the player's name are checked before the upgrade (HTTP 400).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "patterns.h"

#define BOARD_SIZE 10

static const char *const type_schemas[] = {
  "player-move",
  "{\"required\": [\"move\"], \"properties\": {\"move\": {\"type\": \"object\","
  " \"required\": [\"dx\", \"dy\"], \"additionalProperties\": false,"
  " \"properties\": {\"dx\": {\"enum\": [-1, 0, 1]}, \"dy\": {\"enum\": [-1, 0, 1]}}}}}",
  NULL
};

#define PARAMS_SCHEMA \
  "{\"properties\": {\"sessionId\": {\"type\": \"string\", \"pattern\": \"^[A-Za-z0-9-]{1,64}$\"}}}"
#define QUERY_SCHEMA \
  "{\"required\": [\"player\"]," \
  " \"properties\": {\"player\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 32}}}"

typedef struct
{
  char *name;
  gint  x, y;
} Player;

typedef struct
{
  GHashTable *players;   /* connection id -> Player */
  gint64      moves;
} Session;

typedef struct
{
  OwlSocketService *service;
  GHashTable       *sessions;   /* session id -> Session */
} Game;

static void
player_free (gpointer data)
{
  Player *player = data;

  g_free (player->name);
  g_free (player);
}

static void
session_free (gpointer data)
{
  Session *session = data;

  g_hash_table_unref (session->players);
  g_free (session);
}

static const char *
session_id_of (OwlConnection *connection)
{
  return owl_request_get_param (owl_connection_get_request (connection), "sessionId");
}

static char *
room_of (OwlConnection *connection)
{
  return g_strconcat ("game:", session_id_of (connection), NULL);
}

static Player *
player_of (Game          *game,
           OwlConnection *connection)
{
  Session *session = g_hash_table_lookup (game->sessions, session_id_of (connection));

  return g_hash_table_lookup (session->players, owl_connection_get_id (connection));
}

/* {"type":"game-state","sessionId":S,"state":{"moves":N,"players":{...}}} */
static JsonObject *
state_frame (Game          *game,
             OwlConnection *connection)
{
  Session *session = g_hash_table_lookup (game->sessions, session_id_of (connection));
  JsonObject *frame = example_frame_new ("game-state");
  JsonObject *state = json_object_new (), *players = json_object_new ();
  GHashTableIter iter;
  gpointer id, value;

  g_hash_table_iter_init (&iter, session->players);
  while (g_hash_table_iter_next (&iter, &id, &value))
    {
      const Player *player = value;
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "name", player->name);
      json_object_set_int_member (entry, "x", player->x);
      json_object_set_int_member (entry, "y", player->y);
      json_object_set_object_member (players, id, entry);
    }
  json_object_set_int_member (state, "moves", session->moves);
  json_object_set_object_member (state, "players", players);
  json_object_set_string_member (frame, "sessionId", session_id_of (connection));
  json_object_set_object_member (frame, "state", state);
  return frame;
}

/* Checked by the type schema: "move" has integers dx and dy in -1..1. */
static void
on_player_move (OwlConnection *connection,
                JsonNode      *message,
                gpointer       user_data)
{
  Game *game = user_data;
  Session *session = g_hash_table_lookup (game->sessions, session_id_of (connection));
  Player *player = player_of (game, connection);
  JsonObject *move = json_object_get_object_member (json_node_get_object (message), "move");
  gint64 dx = json_object_get_int_member (move, "dx"), dy = json_object_get_int_member (move, "dy");
  g_autofree char *room = room_of (connection);
  JsonObject *ack = example_frame_new ("move-accepted"), *position = json_object_new ();
  JsonObject *state, *last = json_object_new ();

  player->x = CLAMP (player->x + dx, 0, BOARD_SIZE - 1);
  player->y = CLAMP (player->y + dy, 0, BOARD_SIZE - 1);
  session->moves++;

  json_object_set_int_member (ack, "moves", session->moves);
  json_object_set_int_member (position, "x", player->x);
  json_object_set_int_member (position, "y", player->y);
  json_object_set_object_member (ack, "position", position);
  example_send_take (connection, ack);

  state = state_frame (game, connection);
  json_object_set_string_member (last, "player", owl_connection_get_id (connection));
  json_object_set_int_member (last, "dx", dx);
  json_object_set_int_member (last, "dy", dy);
  json_object_set_object_member (state, "lastMove", last);
  example_broadcast_take (game->service, room, state, connection);   /* all but the mover */
}

/* {"type":TYPE,"player":{"id":ID,"name":NAME}} to the session but @connection. */
static void
tell_others (Game          *game,
             OwlConnection *connection,
             const char    *room,
             const char    *type)
{
  JsonObject *frame = example_frame_new (type), *who = json_object_new ();

  json_object_set_string_member (who, "id", owl_connection_get_id (connection));
  json_object_set_string_member (who, "name", player_of (game, connection)->name);
  json_object_set_object_member (frame, "player", who);
  example_broadcast_take (game->service, room, frame, connection);
}

static void
on_joined (OwlConnection *connection,
           const char    *room,
           gpointer       game)
{
  tell_others (game, connection, room, "player-joined");
}

/* After `closing`, or leave(): the player is out of the room already. */
static void
on_left (OwlConnection *connection,
         const char    *room,
         gpointer       user_data)
{
  Game *game = user_data;
  const char *session_id = session_id_of (connection);
  Session *session = g_hash_table_lookup (game->sessions, session_id);

  tell_others (game, connection, room, "player-left");
  g_hash_table_remove (session->players, owl_connection_get_id (connection));
  if (g_hash_table_size (session->players) == 0)
    g_hash_table_remove (game->sessions, session_id);
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  Game *game = user_data;
  OwlRequest *request = owl_connection_get_request (connection);
  const char *session_id = session_id_of (connection);
  g_autofree char *room = room_of (connection);
  Session *session = g_hash_table_lookup (game->sessions, session_id);
  Player *player = g_new0 (Player, 1);

  if (session == NULL)
    {
      session = g_new0 (Session, 1);
      session->players = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, player_free);
      g_hash_table_insert (game->sessions, g_strdup (session_id), session);
    }
  player->name = g_strdup (owl_request_get_query_param (request, "player"));  /* required by the query schema */
  g_hash_table_insert (session->players, g_strdup (owl_connection_get_id (connection)), player);

  g_signal_connect (connection, "message::player-move", G_CALLBACK (on_player_move), game);
  g_signal_connect (connection, "joined", G_CALLBACK (on_joined), game);
  g_signal_connect (connection, "left", G_CALLBACK (on_left), game);
  example_send_take (connection, state_frame (game, connection));
  owl_connection_join (connection, room);
}

static void
game_free (gpointer  data,
           GClosure *closure)
{
  Game *game = data;

  g_hash_table_unref (game->sessions);
  g_free (game);
}

gboolean
patterns_add_game (OwlSocketService       *service,
                   const PatternsOptions  *options,
                   GError                **error)
{
  g_autoptr(OwlModule) module = NULL;
  g_autoptr(OwlSchema) params = NULL;
  g_autoptr(OwlSchema) query = NULL;
  Game *game;

  if (!(module = patterns_module_new ("game", "/ws/game/:sessionId", type_schemas, error)) ||
      !(params = owl_schema_new_from_string (PARAMS_SCHEMA, error)) ||
      !(query = owl_schema_new_from_string (QUERY_SCHEMA, error)))
    return FALSE;
  g_object_set (module, "params-schema", params, "query-schema", query, NULL);
  game = g_new0 (Game, 1);
  game->service = service;
  game->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, session_free);
  g_signal_connect_data (module, "connection", G_CALLBACK (on_connection), game, game_free, 0);
  return owl_socket_service_add_module (service, module, error);
}
