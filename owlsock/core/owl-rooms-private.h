/* owl-rooms-private.h: who is in which room, and broadcasts to them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one place room membership is kept (both ways: a room's members and a
 * member's rooms). A broadcast is serialised by the caller once and framed
 * once for all local members (OwlSharedMessage), then handed to the broker
 * for members elsewhere. Members are the owners of channels (connections),
 * which leave every room when they close.
 */

#pragma once

#include <glib-object.h>

#include "owl-broker-private.h"
#include "owl-channel-private.h"

G_BEGIN_DECLS

typedef struct _OwlRooms OwlRooms;

/* Created on @context's thread, where everything but broadcasts runs. */
OwlRooms   *owl_rooms_new             (GMainContext *context);
OwlRooms   *owl_rooms_ref             (OwlRooms     *self);
void        owl_rooms_unref           (OwlRooms     *self);
/* Replaces the in-process broker (taken); its deliver function is set to
 * serve this object's local members. */
void        owl_rooms_set_broker      (OwlRooms     *self,
                                       OwlBroker    *broker);

/* The broker in use (not owned). */
OwlBroker  *owl_rooms_get_broker      (OwlRooms     *self);

/* How a member is told its held broadcasts passed @max_held: the
 * connection closes itself (1013), so OwlRooms needs to know no more of
 * it than a GObject. */
typedef void (*OwlRoomsGiveUpFunc) (GObject *owner);

/* What a connection brings to a join. */
typedef struct
{
  OwlRoomOptions     options;   /* its module's */
  const OwlPosition *recover;   /* (nullable): where it asks to recover from */
  JsonNode          *presence;  /* (nullable): its entry {id, user, info}; the
                                 * node is added; used when the room keeps presence */
  gsize              max_held;  /* bytes of broadcasts held while the join
                                 * waits for history; past it: give_up. 0: no bound */
  OwlRoomsGiveUpFunc give_up;   /* (nullable) */
} OwlJoinOptions;

/* @owner: the member (an OwlConnection); @channel: where its frames go;
 * @id: its connection id, for the broker (borrowed: members leave before
 * they go). FALSE if it was a member already. */
gboolean    owl_rooms_join            (OwlRooms     *self,
                                       const char   *room,
                                       GObject      *owner,
                                       OwlChannel   *channel,
                                       const char   *id);
/* A join with what the connection brings: in a room with history, the
 * member gets (after any replay) a `joined` frame; in one with presence,
 * its entry is added and `presence-join` published. */
gboolean    owl_rooms_join_full       (OwlRooms     *self,
                                       const char   *room,
                                       GObject      *owner,
                                       OwlChannel   *channel,
                                       const char   *id,
                                       const OwlJoinOptions *join);
gboolean    owl_rooms_leave           (OwlRooms     *self,
                                       const char   *room,
                                       GObject      *owner);
void        owl_rooms_leave_all       (OwlRooms     *self,
                                       GObject      *owner);
gboolean    owl_rooms_has_member      (OwlRooms     *self,
                                       const char   *room,
                                       GObject      *owner);
/* (transfer container): the owners in @room. */
GList      *owl_rooms_list_members    (OwlRooms     *self,
                                       const char   *room);
/* (transfer full): the rooms with members; those of @owner. */
char      **owl_rooms_dup_names       (OwlRooms     *self);
char      **owl_rooms_dup_rooms_of    (OwlRooms     *self,
                                       GObject      *owner);

/* Who is in @room, on every node (through the broker). */
void        owl_rooms_presence        (OwlRooms     *self,
                                       const char   *room,
                                       OwlBrokerPresenceFunc func,
                                       gpointer      data);
/* @payload with `"pos": {room, offset, epoch}` as its first member when it
 * is a JSON object; else @payload itself (a new reference). */
GBytes     *owl_rooms_splice_pos      (GBytes       *payload,
                                       const char   *room,
                                       const OwlPosition *pos);

/* Sends @data (JSON text, taken) to every member of @room but @except
 * (nullable). Safe from any thread: handed to the context then. */
void        owl_rooms_broadcast_take  (OwlRooms     *self,
                                       const char   *room,
                                       char         *data,
                                       gsize         len,
                                       GObject      *except);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRooms, owl_rooms_unref)

G_END_DECLS
