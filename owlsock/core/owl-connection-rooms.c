/* owl-connection-rooms.c: a connection's rooms, and `joined` and `left`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Membership itself is kept by OwlRooms; here the connection joins and
 * leaves, and tells its handlers of each change that happened, so that an
 * application sends presence notices without keeping its own lists.
 */

#include "owl-connection-private.h"

/* At the end: every room, each told with `left` once it is gone. */
void
owl_connection_leave_all (OwlConnection *self)
{
  g_auto(GStrv) rooms = owl_rooms_dup_rooms_of (self->host->rooms, G_OBJECT (self));

  owl_rooms_leave_all (self->host->rooms, G_OBJECT (self));
  for (guint i = 0; rooms != NULL && rooms[i] != NULL; i++)
    owl_connection_emit_room (self, rooms[i], FALSE);
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
 * Since: 0.1
 */
void
owl_connection_join (OwlConnection *self,
                     const char    *room)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (room != NULL);

  if (owl_connection_get_state (self) != OWL_CONNECTION_OPEN)
    return;
  if (owl_rooms_join (self->host->rooms, room, G_OBJECT (self), self->channel, self->id))
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
