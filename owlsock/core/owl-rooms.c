/* owl-rooms.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In a room with history, a join waits for the broker's recover() answer
 * (at once with the in-process broker, later with one that asks Redis):
 * meanwhile the member's live broadcasts are held, then it gets what it
 * missed, its `joined` frame and the held broadcasts that come after what
 * it was given, so that nothing comes twice or out of order. A member
 * whose held broadcasts pass its max-buffered-amount is closed with 1013
 * (try again later): its client reconnects and recovers.
 */

#include "owl-json-private.h"
#include "owl-mailbox-private.h"
#include "owl-rooms-private.h"

/* A member's flags in one of its rooms. */
#define IN_ROOM     (1 << 0)
#define IN_PRESENCE (1 << 1)   /* its presence entry was added there */

/* One member: its channel and the rooms it is in. */
typedef struct
{
  GObject    *owner;     /* not owned: it leaves before it goes */
  OwlChannel *channel;
  const char *id;
  GHashTable *rooms;     /* room name (owned) -> flags */
  JsonNode   *presence;  /* its entry {id, user, node, info}, or NULL */
  gsize       max_held;  /* bytes held while a join waits */
  OwlRoomsGiveUpFunc give_up;
} Member;

/* One live broadcast held for a member whose join waits. */
typedef struct
{
  GBytes  *payload;
  guint64  offset;       /* 0: it has no position */
} Held;

typedef struct
{
  guint    serial;
  gboolean recover;      /* the member asked to recover */
  GQueue   held;         /* Held *, in delivery order */
  gsize    bytes;
} Pending;

typedef struct
{
  GHashTable    *members;  /* set of Member * */
  GHashTable    *pending;  /* Member * -> Pending *, or NULL */
  OwlRoomOptions options;  /* the larger of each of its joiners' */
} Room;

struct _OwlRooms
{
  GMainContext *context;
  GThread      *home;
  OwlMailbox   *mailbox;  /* broadcasts from other threads; lazy */
  OwlBroker    *broker;
  GHashTable   *rooms;    /* name -> Room */
  GHashTable   *members;  /* owner -> Member (owned) */
  guint         serial;   /* of the last join that waited */
  gboolean      clearing; /* the broker answers what it still owes */
};

/* What recover() is given to find its join again: the member may have
 * left, or closed, by the time the broker answers. */
typedef struct
{
  OwlRooms *rooms;        /* not a ref: the broker answers before they go */
  char     *room;
  GObject  *owner;
  guint     serial;
} Ticket;

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
  g_clear_pointer (&member->presence, json_node_unref);
  g_free (member);
}

static void
held_free (gpointer data)
{
  Held *held = data;

  g_bytes_unref (held->payload);
  g_free (held);
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_queue_clear_full (&pending->held, held_free);
  g_free (pending);
}

static void
room_free (gpointer data)
{
  Room *room = data;

  g_hash_table_unref (room->members);
  g_clear_pointer (&room->pending, g_hash_table_unref);
  g_free (room);
}

OwlRooms *
owl_rooms_new (GMainContext *context)
{
  OwlRooms *self = g_atomic_rc_box_new0 (OwlRooms);

  self->context = g_main_context_ref (context);
  self->home = g_thread_self ();
  owl_rooms_set_broker (self, owl_broker_new_local ());
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, room_free);
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

  self->clearing = TRUE;
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

OwlBroker *
owl_rooms_get_broker (OwlRooms *self)
{
  return self->broker;
}

/* Sending one member ------------------------------------------------------------ */

static void
send_bytes (OwlChannel *channel,
            GBytes     *payload)
{
  OwlSharedMessage message = { .payload = g_bytes_ref (payload) };

  owl_channel_send_shared (channel, &message);
  owl_shared_message_clear (&message);
}

/* A `system` frame: {"type":"system","event":@event,"payload":@payload}. */
static GBytes *
system_frame (const char *event,
              JsonNode   *payload)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  gsize len;
  char *data;

  json_object_set_string_member (object, "type", "system");
  json_object_set_string_member (object, "event", event);
  json_object_set_member (object, "payload", payload);
  node = json_node_init_object (json_node_alloc (), object);
  data = owl_json_to_data (node, &len);
  return g_bytes_new_take (data, len);
}

static void
append_json_string (GString    *out,
                    const char *value)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), value);
  gsize len;
  g_autofree char *text = owl_json_to_data (node, &len);

  g_string_append_len (out, text, len);
}

GBytes *
owl_rooms_splice_pos (GBytes            *payload,
                      const char        *room,
                      const OwlPosition *pos)
{
  gsize len, i = 0, j;
  const char *data = g_bytes_get_data (payload, &len);
  GString *out;

  while (i < len && g_ascii_isspace (data[i]))
    i++;
  if (i >= len || data[i] != '{')
    return g_bytes_ref (payload);
  for (j = i + 1; j < len && g_ascii_isspace (data[j]); j++)
    ;

  out = g_string_sized_new (len + strlen (room) + 64);
  g_string_append (out, "{\"pos\":{\"room\":");
  append_json_string (out, room);
  g_string_append_printf (out, ",\"offset\":%" G_GUINT64_FORMAT ",\"epoch\":", pos->offset);
  append_json_string (out, pos->epoch);
  g_string_append_c (out, '}');
  if (j < len && data[j] != '}')
    g_string_append_c (out, ',');
  g_string_append_len (out, data + i + 1, len - i - 1);
  return g_string_free_to_bytes (out);
}

/* Joins that wait for history ------------------------------------------------------ */

static void
ticket_free (Ticket *ticket)
{
  g_free (ticket->room);
  g_free (ticket);
}

static JsonNode *
joined_payload (const char        *room,
                const OwlPosition *top,
                const Pending     *pending,
                gboolean           recovered,
                guint              missed)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "room");
  json_builder_add_string_value (builder, room);
  json_builder_set_member_name (builder, "epoch");
  json_builder_add_string_value (builder, top->epoch);
  json_builder_set_member_name (builder, "offset");
  json_builder_add_int_value (builder, (gint64) top->offset);
  if (pending->recover)
    {
      json_builder_set_member_name (builder, "recovered");
      json_builder_add_boolean_value (builder, recovered);
      json_builder_set_member_name (builder, "missed");
      json_builder_add_int_value (builder, missed);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* What a waiting join gets once the broker answered: the missed
 * publications, `joined`, then the held broadcasts past the top. */
static void
finish_join (const char        *room,
             Member            *member,
             Pending           *pending,
             gboolean           recovered,
             GPtrArray         *publications,
             const OwlPosition *top)
{
  g_autoptr(GBytes) frame = NULL;
  guint missed = 0;

  for (guint i = 0; recovered && i < publications->len; i++)
    {
      OwlPublication *publication = g_ptr_array_index (publications, i);
      OwlPosition pos = { publication->offset, top->epoch };
      g_autoptr(GBytes) spliced = owl_rooms_splice_pos (publication->payload, room, &pos);

      send_bytes (member->channel, spliced);
      missed++;
    }
  frame = system_frame ("joined", joined_payload (room, top, pending, recovered, missed));
  send_bytes (member->channel, frame);
  for (GList *l = pending->held.head; l != NULL; l = l->next)
    {
      Held *held = l->data;

      if (held->offset == 0 || held->offset > top->offset)
        send_bytes (member->channel, held->payload);
    }
}

static void
on_recovered (gpointer           user_data,
              gboolean           recovered,
              GPtrArray         *publications,
              const OwlPosition *top,
              const GError      *error)
{
  Ticket *ticket = user_data;
  OwlRooms *self = ticket->rooms;
  Room *room = self->clearing ? NULL : g_hash_table_lookup (self->rooms, ticket->room);
  Member *member = g_hash_table_lookup (self->members, ticket->owner);
  Pending *pending = room && room->pending ? g_hash_table_lookup (room->pending, ticket->owner) : NULL;

  if (pending != NULL && member != NULL && pending->serial == ticket->serial)
    {
      OwlPosition unknown = { 0, "" };

      g_hash_table_steal (room->pending, ticket->owner);
      /* The broker could not answer: what the member gets is live. */
      if (error != NULL)
        finish_join (ticket->room, member, pending, FALSE, NULL, &unknown);
      else
        finish_join (ticket->room, member, pending, recovered, publications, top);
      pending_free (pending);
    }
  ticket_free (ticket);
}

/* Holds @payload for a waiting join; FALSE when that passed its bound. */
static gboolean
hold (Pending           *pending,
      Member            *member,
      GBytes            *payload,
      const OwlPosition *pos)
{
  Held *held = g_new0 (Held, 1);

  held->payload = g_bytes_ref (payload);
  held->offset = pos ? pos->offset : 0;
  g_queue_push_tail (&pending->held, held);
  pending->bytes += g_bytes_get_size (payload);
  return pending->bytes <= member->max_held;
}

static void
wait_for_history (OwlRooms          *self,
                  const char        *name,
                  Room              *room,
                  Member            *member,
                  const OwlPosition *recover)
{
  Pending *pending = g_new0 (Pending, 1);
  Ticket *ticket = g_new0 (Ticket, 1);

  pending->serial = ++self->serial;
  pending->recover = recover != NULL;
  g_queue_init (&pending->held);
  if (room->pending == NULL)
    room->pending = g_hash_table_new_full (NULL, NULL, NULL, pending_free);
  g_hash_table_insert (room->pending, member->owner, pending);

  ticket->rooms = self;
  ticket->room = g_strdup (name);
  ticket->owner = member->owner;
  ticket->serial = pending->serial;
  self->broker->klass->recover (self->broker, name, recover, on_recovered, ticket);
}

/* Presence ----------------------------------------------------------------------- */

/* Publishes `presence-join` (@joined) or `presence-leave` into @name. */
static void
publish_presence (OwlRooms   *self,
                  const char *name,
                  JsonNode   *entry,
                  gboolean    joined)
{
  JsonObject *from = json_node_get_object (entry);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(GBytes) frame = NULL;
  static const char * const members[] = { "id", "user", "node", "info" };

  json_object_set_string_member (object, "room", name);
  for (guint i = 0; i < G_N_ELEMENTS (members) - (joined ? 0 : 1); i++)
    if (json_object_has_member (from, members[i]))
      json_object_set_member (object, members[i], json_object_dup_member (from, members[i]));
  frame = system_frame (joined ? "presence-join" : "presence-leave",
                        json_node_init_object (json_node_alloc (), object));
  self->broker->klass->publish (self->broker, name, frame, NULL);
}

static void
presence_join (OwlRooms   *self,
               const char *name,
               Member     *member,
               JsonNode   *entry)
{
  JsonObject *object = json_object_new ();
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  json_object_iter_init (&iter, json_node_get_object (entry));
  while (json_object_iter_next (&iter, &key, &value))
    json_object_set_member (object, key, json_node_copy (value));
  json_object_set_string_member (object, "node", self->broker->node);
  g_clear_pointer (&member->presence, json_node_unref);
  member->presence = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);

  g_hash_table_insert (member->rooms, g_strdup (name), GINT_TO_POINTER (IN_ROOM | IN_PRESENCE));
  self->broker->klass->presence_add (self->broker, name, member->id, member->presence);
  publish_presence (self, name, member->presence, TRUE);
}

void
owl_rooms_presence (OwlRooms              *self,
                    const char            *room,
                    OwlBrokerPresenceFunc  func,
                    gpointer               data)
{
  self->broker->klass->presence_query (self->broker, room, func, data);
}

/* Membership ------------------------------------------------------------------ */

static Room *
room_find_or_add (OwlRooms             *self,
                  const char           *name,
                  const OwlRoomOptions *options)
{
  Room *room = g_hash_table_lookup (self->rooms, name);
  OwlRoomOptions merged;

  if (room == NULL)
    {
      room = g_new0 (Room, 1);
      room->members = g_hash_table_new (NULL, NULL);
      room->options = *options;
      g_hash_table_insert (self->rooms, g_strdup (name), room);
      self->broker->klass->join (self->broker, name, options);
      return room;
    }
  merged.history_size = MAX (room->options.history_size, options->history_size);
  merged.history_ttl = MAX (room->options.history_ttl, options->history_ttl);
  merged.presence = room->options.presence || options->presence;
  if (memcmp (&merged, &room->options, sizeof merged) != 0)
    {
      /* A module with more to keep: the broker keeps the larger too. */
      room->options = merged;
      self->broker->klass->join (self->broker, name, &merged);
    }
  return room;
}

gboolean
owl_rooms_join (OwlRooms   *self,
                const char *room,
                GObject    *owner,
                OwlChannel *channel,
                const char *id)
{
  static const OwlJoinOptions none = { { 0, }, };

  return owl_rooms_join_full (self, room, owner, channel, id, &none);
}

gboolean
owl_rooms_join_full (OwlRooms             *self,
                     const char           *name,
                     GObject              *owner,
                     OwlChannel           *channel,
                     const char           *id,
                     const OwlJoinOptions *join)
{
  Member *member = g_hash_table_lookup (self->members, owner);
  Room *room;

  if (member == NULL)
    {
      member = g_new0 (Member, 1);
      member->owner = owner;
      member->channel = owl_channel_ref (channel);
      member->id = id;
      member->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->members, owner, member);
    }
  member->max_held = join->max_held > 0 ? join->max_held : G_MAXSIZE;
  member->give_up = join->give_up;
  if (g_hash_table_contains (member->rooms, name))
    return FALSE;
  g_hash_table_insert (member->rooms, g_strdup (name), GINT_TO_POINTER (IN_ROOM));

  room = room_find_or_add (self, name, &join->options);
  g_hash_table_add (room->members, member);
  if (room->options.history_size > 0)
    wait_for_history (self, name, room, member, join->recover);
  if (room->options.presence && join->presence != NULL)
    presence_join (self, name, member, join->presence);
  return TRUE;
}

/* Takes @member out of @room's set (not out of its own list). */
static void
remove_from_room (OwlRooms   *self,
                  const char *name,
                  Member     *member)
{
  Room *room = g_hash_table_lookup (self->rooms, name);
  gint flags = GPOINTER_TO_INT (g_hash_table_lookup (member->rooms, name));

  if (room == NULL || !g_hash_table_remove (room->members, member))
    return;
  if (room->pending != NULL)
    g_hash_table_remove (room->pending, member->owner);
  if ((flags & IN_PRESENCE) && member->presence != NULL)
    {
      self->broker->klass->presence_remove (self->broker, name, member->id);
      publish_presence (self, name, member->presence, FALSE);
      /* Delivering it may have closed others, and emptied the room. */
      room = g_hash_table_lookup (self->rooms, name);
    }
  if (room == NULL || g_hash_table_size (room->members) > 0)
    return;
  self->broker->klass->leave (self->broker, name);
  g_hash_table_remove (self->rooms, name);
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
  Room *found = g_hash_table_lookup (self->rooms, room);
  GList *owners = NULL;
  GHashTableIter iter;
  gpointer member;

  if (found == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, found->members);
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

/* A member whose held broadcasts passed the bound: its give_up (the
 * connection closes with 1013; its client reconnects and recovers). */
static void
give_up (OwlRooms   *self,
         const char *name,
         GObject    *owner)
{
  Room *room = g_hash_table_lookup (self->rooms, name);
  Member *member = g_hash_table_lookup (self->members, owner);

  if (room != NULL && room->pending != NULL)
    g_hash_table_remove (room->pending, owner);
  if (member != NULL && member->give_up != NULL)
    member->give_up (owner);
}

/* The frame is built once (with its position spliced in) and the same
 * bytes go to every member, or wait with those whose join waits. Channels
 * are collected first, so a handler that closes a connection while we send
 * cannot change the set under us. */
static void
deliver (gpointer           user_data,
         const char        *name,
         GBytes            *payload,
         const OwlPosition *pos,
         const char        *except_id)
{
  OwlRooms *self = user_data;
  Room *room = g_hash_table_lookup (self->rooms, name);
  g_autoptr(GPtrArray) targets = NULL;
  g_autoptr(GPtrArray) overflowed = NULL;  /* rare: made when needed */
  OwlSharedMessage message = { NULL, };
  GHashTableIter iter;
  gpointer data;

  if (room == NULL)
    return;

  message.payload = pos != NULL ? owl_rooms_splice_pos (payload, name, pos) : g_bytes_ref (payload);
  targets = g_ptr_array_new_full (g_hash_table_size (room->members), (GDestroyNotify) owl_channel_unref);
  g_hash_table_iter_init (&iter, room->members);
  while (g_hash_table_iter_next (&iter, &data, NULL))
    {
      Member *member = data;
      Pending *pending = room->pending ? g_hash_table_lookup (room->pending, member->owner) : NULL;

      if (except_id != NULL && g_strcmp0 (member->id, except_id) == 0)
        continue;
      if (pending == NULL)
        g_ptr_array_add (targets, owl_channel_ref (member->channel));
      else if (!hold (pending, member, message.payload, pos))
        {
          if (overflowed == NULL)
            overflowed = g_ptr_array_new_with_free_func (g_object_unref);
          g_ptr_array_add (overflowed, g_object_ref (member->owner));
        }
    }

  for (guint i = 0; i < targets->len; i++)
    owl_channel_send_shared (g_ptr_array_index (targets, i), &message);
  owl_shared_message_clear (&message);
  for (guint i = 0; overflowed != NULL && i < overflowed->len; i++)
    give_up (self, name, g_ptr_array_index (overflowed, i));
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
