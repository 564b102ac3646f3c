/* owl-rooms.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-mailbox-private.h"
#include "owl-rooms-private.h"

/* One member: its channel and the rooms it is in. */
typedef struct
{
  GObject    *owner;     /* not owned: it leaves before it goes */
  OwlChannel *channel;
  const char *id;
  GHashTable *rooms;     /* set of room names (owned strings) */
} Member;

struct _OwlRooms
{
  GMainContext *context;
  GThread      *home;
  OwlMailbox   *mailbox;  /* broadcasts from other threads; lazy */
  OwlBroker    *broker;
  GHashTable   *rooms;    /* name -> GHashTable set of Member* */
  GHashTable   *members;  /* owner -> Member (owned) */
};

static void deliver (gpointer           user_data,
                     const char        *room,
                     GBytes            *payload,
                     const OwlPosition *pos,
                     const char        *except_id);

static void
member_free (gpointer data)
{
  Member *member = data;

  owl_channel_unref (member->channel);
  g_hash_table_unref (member->rooms);
  g_free (member);
}

OwlRooms *
owl_rooms_new (GMainContext *context)
{
  OwlRooms *self = g_atomic_rc_box_new0 (OwlRooms);

  self->context = g_main_context_ref (context);
  self->home = g_thread_self ();
  owl_rooms_set_broker (self, owl_broker_new_local ());
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  self->members = g_hash_table_new_full (NULL, NULL, NULL, member_free);
  return self;
}

OwlRooms *
owl_rooms_ref (OwlRooms *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
rooms_clear (gpointer data)
{
  OwlRooms *self = data;

  owl_broker_free (self->broker);
  g_hash_table_unref (self->rooms);
  g_hash_table_unref (self->members);
  g_clear_pointer (&self->mailbox, owl_mailbox_unref);
  g_main_context_unref (self->context);
}

void
owl_rooms_unref (OwlRooms *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, rooms_clear);
}

void
owl_rooms_set_broker (OwlRooms  *self,
                      OwlBroker *broker)
{
  owl_broker_free (self->broker);
  self->broker = broker;
  broker->deliver = deliver;
  broker->deliver_data = self;
}

/* Membership ------------------------------------------------------------------ */

gboolean
owl_rooms_join (OwlRooms   *self,
                const char *room,
                GObject    *owner,
                OwlChannel *channel,
                const char *id)
{
  Member *member = g_hash_table_lookup (self->members, owner);
  GHashTable *set;

  if (member == NULL)
    {
      member = g_new0 (Member, 1);
      member->owner = owner;
      member->channel = owl_channel_ref (channel);
      member->id = id;
      member->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->members, owner, member);
    }
  if (g_hash_table_contains (member->rooms, room))
    return FALSE;
  g_hash_table_add (member->rooms, g_strdup (room));

  set = g_hash_table_lookup (self->rooms, room);
  if (set == NULL)
    {
      set = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (self->rooms, g_strdup (room), set);
      self->broker->klass->join (self->broker, room, &(OwlRoomOptions) { 0, });
    }
  g_hash_table_add (set, member);
  return TRUE;
}

/* Takes @member out of @room's set (not out of its own list). */
static void
remove_from_room (OwlRooms   *self,
                  const char *room,
                  Member     *member)
{
  GHashTable *set = g_hash_table_lookup (self->rooms, room);

  if (set == NULL || !g_hash_table_remove (set, member) || g_hash_table_size (set) > 0)
    return;
  self->broker->klass->leave (self->broker, room);
  g_hash_table_remove (self->rooms, room);
}

gboolean
owl_rooms_leave (OwlRooms   *self,
                 const char *room,
                 GObject    *owner)
{
  Member *member = g_hash_table_lookup (self->members, owner);

  if (member == NULL || !g_hash_table_contains (member->rooms, room))
    return FALSE;
  remove_from_room (self, room, member);
  g_hash_table_remove (member->rooms, room);
  if (g_hash_table_size (member->rooms) == 0)
    g_hash_table_remove (self->members, owner);
  return TRUE;
}

void
owl_rooms_leave_all (OwlRooms *self,
                     GObject  *owner)
{
  Member *member = g_hash_table_lookup (self->members, owner);
  GHashTableIter iter;
  gpointer room;

  if (member == NULL)
    return;
  g_hash_table_iter_init (&iter, member->rooms);
  while (g_hash_table_iter_next (&iter, &room, NULL))
    remove_from_room (self, room, member);
  g_hash_table_remove (self->members, owner);
}

gboolean
owl_rooms_has_member (OwlRooms   *self,
                      const char *room,
                      GObject    *owner)
{
  Member *member = g_hash_table_lookup (self->members, owner);

  return member != NULL && g_hash_table_contains (member->rooms, room);
}

GList *
owl_rooms_list_members (OwlRooms   *self,
                        const char *room)
{
  GHashTable *set = g_hash_table_lookup (self->rooms, room);
  GList *owners = NULL;
  GHashTableIter iter;
  gpointer member;

  if (set == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &member, NULL))
    owners = g_list_prepend (owners, ((Member *) member)->owner);
  return owners;
}

static char **
dup_keys (GHashTable *table)
{
  g_autofree gpointer *keys = NULL;

  if (table == NULL)
    return g_new0 (char *, 1);
  keys = g_hash_table_get_keys_as_array (table, NULL);
  return g_strdupv ((char **) keys);
}

char **
owl_rooms_dup_names (OwlRooms *self)
{
  return dup_keys (self->rooms);
}

char **
owl_rooms_dup_rooms_of (OwlRooms *self,
                        GObject  *owner)
{
  Member *member = g_hash_table_lookup (self->members, owner);

  return dup_keys (member ? member->rooms : NULL);
}

/* Broadcasts ------------------------------------------------------------------ */

/* The frame is built once and the same bytes go to every member. Channels
 * are collected first, so a handler that closes a connection while we send
 * cannot change the set under us. */
static void
deliver (gpointer           user_data,
         const char        *room,
         GBytes            *payload,
         const OwlPosition *pos,
         const char        *except_id)
{
  OwlRooms *self = user_data;
  GHashTable *set = g_hash_table_lookup (self->rooms, room);
  g_autoptr(GPtrArray) targets = NULL;
  OwlSharedMessage message = { NULL, };
  GHashTableIter iter;
  gpointer data;

  if (set == NULL)
    return;

  targets = g_ptr_array_new_full (g_hash_table_size (set), (GDestroyNotify) owl_channel_unref);
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &data, NULL))
    {
      Member *member = data;

      if (except_id == NULL || g_strcmp0 (member->id, except_id) != 0)
        g_ptr_array_add (targets, owl_channel_ref (member->channel));
    }

  message.payload = g_bytes_ref (payload);
  for (guint i = 0; i < targets->len; i++)
    owl_channel_send_shared (g_ptr_array_index (targets, i), &message);
  owl_shared_message_clear (&message);
}

typedef struct
{
  OwlRooms *rooms;
  char     *room;
  GBytes   *payload;
  GObject  *except;
} Broadcast;

static void
broadcast_run (gpointer data)
{
  Broadcast *b = data;
  OwlRooms *self = b->rooms;
  Member *excluded = b->except ? g_hash_table_lookup (self->members, b->except) : NULL;

  self->broker->klass->publish (self->broker, b->room, b->payload, excluded ? excluded->id : NULL);
}

static void
broadcast_clear (gpointer data)
{
  Broadcast *b = data;

  owl_rooms_unref (b->rooms);
  g_free (b->room);
  g_bytes_unref (b->payload);
  g_clear_object (&b->except);
}

static const OwlMailboxClass broadcast_class = { broadcast_run, broadcast_clear };

void
owl_rooms_broadcast_take (OwlRooms   *self,
                          const char *room,
                          char       *data,
                          gsize       len,
                          GObject    *except)
{
  Broadcast b = {
    .rooms = owl_rooms_ref (self),
    .room = g_strdup (room),
    .payload = g_bytes_new_take (data, len),
    .except = except ? g_object_ref (except) : NULL,
  };

  owl_mailbox_submit (&self->mailbox, self->context, self->home, &broadcast_class, &b, sizeof b);
}
