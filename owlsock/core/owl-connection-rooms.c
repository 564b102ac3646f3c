/* owl-connection-rooms.c: a connection's rooms, and `joined` and `left`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Membership itself is kept by OwlRooms; here the connection joins and
 * leaves, and tells its handlers of each change that happened, so that an
 * application sends presence notices without keeping its own lists.
 */

#include "owl-connection-private.h"
#include "owl-module-private.h"
#include "owl-recover-private.h"

/* Rarely set, so kept off the structure: the info of its presence entry,
 * and the positions of its `recover` parameter not used yet. */
static GQuark
presence_info_quark (void)
{
  return g_quark_from_static_string ("owl-connection-presence-info");
}

static GQuark
recover_quark (void)
{
  return g_quark_from_static_string ("owl-connection-recover");
}

/* The position @room is to be recovered from (freed by the caller), once:
 * a second join of the same room is a plain one. */
static OwlPosition *
take_recover (OwlConnection *self,
              const char    *room)
{
  GHashTable *positions = g_object_get_qdata (G_OBJECT (self), recover_quark ());
  gpointer key = NULL, pos = NULL;

  if (positions == NULL)
    {
      const char *value = owl_request_get_query_param (self->request, "recover");

      /* The upgrade refused a bad value: this one parses. */
      positions = value != NULL ? owl_recover_parse (value) : NULL;
      if (positions == NULL)
        positions = g_hash_table_new (g_str_hash, g_str_equal);
      g_object_set_qdata_full (G_OBJECT (self), recover_quark (), positions,
                               (GDestroyNotify) g_hash_table_unref);
    }
  if (!g_hash_table_steal_extended (positions, room, &key, &pos))
    return NULL;
  g_free (key);
  return pos;
}

/* The connection's presence entry: {id, user, info}. */
static JsonNode *
presence_entry (OwlConnection *self)
{
  JsonNode *info = g_object_get_qdata (G_OBJECT (self), presence_info_quark ());
  OwlAuth *auth = owl_connection_get_auth (self);
  const char *user = auth != NULL ? owl_auth_get_user_id (auth) : NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, self->id);
  json_builder_set_member_name (builder, "user");
  if (user != NULL)
    json_builder_add_string_value (builder, user);
  else
    json_builder_add_null_value (builder);
  if (info != NULL)
    {
      json_builder_set_member_name (builder, "info");
      json_builder_add_value (builder, json_node_copy (info));
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* At the end: every room, each told with `left` once it is gone. */
void
owl_connection_leave_all (OwlConnection *self)
{
  g_auto(GStrv) rooms = owl_rooms_dup_rooms_of (self->host->rooms, G_OBJECT (self));

  owl_rooms_leave_all (self->host->rooms, G_OBJECT (self));
  for (guint i = 0; rooms != NULL && rooms[i] != NULL; i++)
    owl_connection_emit_room (self, rooms[i], FALSE);
}

/* Its broadcasts held while a join waited for history passed
 * max-buffered-amount: 1013, the client reconnects and recovers. */
static void
give_up (GObject *owner)
{
  owl_connection_close (OWL_CONNECTION (owner), OWL_CLOSE_TRY_AGAIN_LATER, "Too much to hold while joining");
}

/**
 * owl_connection_join:
 * @self: a connection
 * @room: a room name
 *
 * Adds the connection to @room, so that broadcasts to @room reach it, and
 * emits [signal@Owlsock.Connection::joined]; joining a room the connection
 * is in already does nothing. A connection that is closing or closed joins
 * nothing; one that closes leaves every room. Call on the service's main
 * context.
 *
 * When the module keeps history ([property@Owlsock.Module:history-size]),
 * the client gets a `joined` system frame with the room's position, after
 * what it missed when its handshake asked to recover @room (the `recover`
 * query parameter, used by the first join of each room). When the module
 * keeps presence ([property@Owlsock.Module:presence]), the connection's
 * entry is added to the room and `presence-join` is sent to its members.
 *
 * Since: 0.1
 */
void
owl_connection_join (OwlConnection *self,
                     const char    *room)
{
  OwlJoinOptions join = { { 0, }, };
  g_autofree OwlPosition *recover = NULL;
  g_autoptr(JsonNode) presence = NULL;

  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (room != NULL);

  if (owl_connection_get_state (self) != OWL_CONNECTION_OPEN ||
      owl_rooms_has_member (self->host->rooms, room, G_OBJECT (self)))
    return;

  /* Taken whatever the module keeps: the room may keep history for
   * another module's connections. */
  join.options = *owl_module_get_room_options (self->module);
  recover = take_recover (self, room);
  join.recover = recover;
  if (join.options.presence)
    presence = presence_entry (self);
  join.presence = presence;
  join.max_held = self->host->limits.max_buffered_amount > 0 ? self->host->limits.max_buffered_amount : 0;
  join.give_up = give_up;
  if (owl_rooms_join_full (self->host->rooms, room, G_OBJECT (self), self->channel, self->id, &join))
    owl_connection_emit_room (self, room, TRUE);
}

/**
 * owl_connection_leave:
 * @self: a connection
 * @room: a room name
 *
 * Removes the connection from @room and emits
 * [signal@Owlsock.Connection::left]; does nothing if it was not in @room.
 *
 * Since: 0.1
 */
void
owl_connection_leave (OwlConnection *self,
                      const char    *room)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (room != NULL);

  if (owl_rooms_leave (self->host->rooms, room, G_OBJECT (self)))
    owl_connection_emit_room (self, room, FALSE);
}

/**
 * owl_connection_in_room:
 * @self: a connection
 * @room: a room name
 *
 * Tells whether the connection is a member of @room.
 *
 * Returns: whether the connection is in @room
 *
 * Since: 0.1
 */
gboolean
owl_connection_in_room (OwlConnection *self,
                        const char    *room)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (room != NULL, FALSE);

  return owl_rooms_has_member (self->host->rooms, room, G_OBJECT (self));
}

/**
 * owl_connection_dup_rooms:
 * @self: a connection
 *
 * Lists the rooms the connection is a member of.
 *
 * Returns: (transfer full) (array zero-terminated=1): the rooms the
 *   connection is in
 *
 * Since: 0.1
 */
char **
owl_connection_dup_rooms (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return owl_rooms_dup_rooms_of (self->host->rooms, G_OBJECT (self));
}

/**
 * owl_connection_set_presence_info:
 * @self: a connection
 * @info: (nullable): a JSON object, or %NULL for none
 *
 * Sets what the connection's presence entry says besides its id, user and
 * node (its `info` member), in the rooms it joins from now on whose module
 * keeps presence ([property@Owlsock.Module:presence]). Set it in the
 * connection handler, before joining.
 *
 * Since: 0.1
 */
void
owl_connection_set_presence_info (OwlConnection *self,
                                  JsonNode      *info)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (info == NULL || JSON_NODE_HOLDS_OBJECT (info));

  g_object_set_qdata_full (G_OBJECT (self), presence_info_quark (),
                           info != NULL ? json_node_copy (info) : NULL,
                           (GDestroyNotify) json_node_unref);
}
