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

/* @owner: the member (an OwlConnection); @channel: where its frames go;
 * @id: its connection id, for the broker (borrowed: members leave before
 * they go). FALSE if it was a member already. */
gboolean    owl_rooms_join            (OwlRooms     *self,
                                       const char   *room,
                                       GObject      *owner,
                                       OwlChannel   *channel,
                                       const char   *id);
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

/* Sends @data (JSON text, taken) to every member of @room but @except
 * (nullable). Safe from any thread: handed to the context then. */
void        owl_rooms_broadcast_take  (OwlRooms     *self,
                                       const char   *room,
                                       char         *data,
                                       gsize         len,
                                       GObject      *except);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRooms, owl_rooms_unref)

G_END_DECLS
