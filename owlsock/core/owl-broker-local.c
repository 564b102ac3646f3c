/* owl-broker-local.c: the in-process broker, the default
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every member of every room lives in this process, and OwlRooms serves
 * them itself: there is nothing to subscribe to and nobody to publish for,
 * so a publication is delivered at once, with its position when the room
 * keeps a history.
 *
 * A room's record holds its options, its history (a ring of history-size
 * publications, offsets from 1, an epoch made with the first publication)
 * and its presence entries. It outlives its last local member while it
 * holds a history, until history-ttl seconds after its last publication:
 * a room found expired (looked up, or swept, at most once a second, when
 * a room empties) is dropped with its history, so its next publication
 * starts a new epoch. No timer: the broker needs no main context. A room
 * that keeps neither history nor presence goes with its last local member.
 */

#include <unistd.h>

#include "owl-broker-private.h"

typedef struct
{
  OwlRoomOptions options;
  gboolean       joined;         /* has local members */
  GQueue         history;        /* OwlPublication *, oldest first */
  guint64        top;            /* the latest offset; 0: none yet */
  char          *epoch;          /* NULL until the first publication */
  gint64         last_publish;   /* monotonic, microseconds */
  GHashTable    *presence;       /* id -> JsonNode entry (owned) */
} LocalRoom;

typedef struct
{
  OwlBroker   parent;
  GHashTable *rooms;             /* name -> LocalRoom (owned) */
  gint64      last_sweep;        /* monotonic, microseconds */
} LocalBroker;

static void
local_room_free (gpointer data)
{
  LocalRoom *room = data;

  g_queue_clear_full (&room->history, owl_publication_free);
  g_free (room->epoch);
  g_hash_table_unref (room->presence);
  g_free (room);
}

/* A room nobody here is in whose history is past its TTL (or that keeps
 * nothing at all) is gone. */
static gboolean
local_room_expired (LocalRoom *room,
                    gint64     now)
{
  if (room->joined || g_hash_table_size (room->presence) > 0)
    return FALSE;
  if (room->options.history_size == 0 || room->epoch == NULL)
    return TRUE;
  return now - room->last_publish >= (gint64) room->options.history_ttl * G_USEC_PER_SEC;
}

static LocalRoom *
local_lookup (LocalBroker *self,
              const char  *name)
{
  LocalRoom *room = g_hash_table_lookup (self->rooms, name);

  if (room != NULL && local_room_expired (room, g_get_monotonic_time ()))
    {
      g_hash_table_remove (self->rooms, name);
      return NULL;
    }
  return room;
}

static gboolean
sweep_one (gpointer key,
           gpointer value,
           gpointer user_data)
{
  return local_room_expired (value, *(gint64 *) user_data);
}

static void
local_free (OwlBroker *broker)
{
  LocalBroker *self = (LocalBroker *) broker;

  g_hash_table_unref (self->rooms);
  g_free (broker->node);
  g_free (self);
}

static void
local_join (OwlBroker            *broker,
            const char           *name,
            const OwlRoomOptions *options)
{
  LocalBroker *self = (LocalBroker *) broker;
  LocalRoom *room = local_lookup (self, name);

  if (room == NULL)
    {
      room = g_new0 (LocalRoom, 1);
      g_queue_init (&room->history);
      room->presence = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) json_node_unref);
      g_hash_table_insert (self->rooms, g_strdup (name), room);
    }
  room->joined = TRUE;
  room->options.history_size = MAX (room->options.history_size, options->history_size);
  room->options.history_ttl = MAX (room->options.history_ttl, options->history_ttl);
  room->options.presence = room->options.presence || options->presence;
}

static void
local_leave (OwlBroker  *broker,
             const char *name)
{
  LocalBroker *self = (LocalBroker *) broker;
  LocalRoom *room = g_hash_table_lookup (self->rooms, name);
  gint64 now = g_get_monotonic_time ();

  if (room != NULL)
    {
      room->joined = FALSE;
      if (local_room_expired (room, now))
        g_hash_table_remove (self->rooms, name);
    }
  /* Rooms left with a history are dropped by a sweep at most once a
   * second, so that a leave costs no walk over every room. */
  if (now - self->last_sweep >= G_USEC_PER_SEC)
    {
      self->last_sweep = now;
      g_hash_table_foreach_remove (self->rooms, sweep_one, &now);
    }
}

/* Appends @payload to @room's history: its position. */
static OwlPosition
local_record (LocalRoom *room,
              GBytes    *payload)
{
  OwlPublication *publication = g_new0 (OwlPublication, 1);

  if (room->epoch == NULL)
    room->epoch = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  publication->offset = ++room->top;
  publication->payload = g_bytes_ref (payload);
  g_queue_push_tail (&room->history, publication);
  while (g_queue_get_length (&room->history) > room->options.history_size)
    owl_publication_free (g_queue_pop_head (&room->history));
  room->last_publish = g_get_monotonic_time ();
  return (OwlPosition) { publication->offset, room->epoch };
}

static void
local_publish (OwlBroker  *broker,
               const char *name,
               GBytes     *payload,
               const char *except_id)
{
  LocalRoom *room = local_lookup ((LocalBroker *) broker, name);
  OwlPosition pos;

  if (room == NULL || room->options.history_size == 0)
    {
      broker->deliver (broker->deliver_data, name, payload, NULL, except_id);
      return;
    }
  pos = local_record (room, payload);
  broker->deliver (broker->deliver_data, name, payload, &pos, except_id);
}

/* Whether what follows @since is all in @room's history. An empty epoch
 * at offset 0 is the position of a client that joined before the first
 * publication: it follows the start of whatever epoch came next. */
static gboolean
local_can_recover (LocalRoom         *room,
                   const OwlPosition *since)
{
  const OwlPublication *oldest = g_queue_peek_head (&room->history);
  guint64 first = oldest != NULL ? oldest->offset : room->top + 1;
  gboolean from_start = since->offset == 0 && (since->epoch == NULL || since->epoch[0] == '\0');

  if (room->epoch == NULL)
    return since->offset == 0;
  if (!from_start && g_strcmp0 (since->epoch, room->epoch) != 0)
    return FALSE;
  return since->offset <= room->top && since->offset + 1 >= first;
}

static void
local_recover (OwlBroker            *broker,
               const char           *name,
               const OwlPosition    *since,
               OwlBrokerRecoverFunc  func,
               gpointer              data)
{
  LocalRoom *room = local_lookup ((LocalBroker *) broker, name);
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  OwlPosition top = { 0, "" };
  gboolean recovered = FALSE;

  if (room != NULL && room->epoch != NULL)
    top = (OwlPosition) { room->top, room->epoch };
  if (room != NULL && since != NULL && local_can_recover (room, since))
    {
      recovered = TRUE;
      for (GList *l = room->history.head; l != NULL; l = l->next)
        if (((OwlPublication *) l->data)->offset > since->offset)
          g_ptr_array_add (found, l->data);
    }
  else if (room == NULL && since != NULL)
    recovered = since->offset == 0;
  func (data, recovered, found, &top, NULL);
}

static void
local_presence_add (OwlBroker  *broker,
                    const char *name,
                    const char *id,
                    JsonNode   *entry)
{
  LocalRoom *room = local_lookup ((LocalBroker *) broker, name);

  if (room != NULL)
    g_hash_table_insert (room->presence, g_strdup (id), json_node_copy (entry));
}

static void
local_presence_remove (OwlBroker  *broker,
                       const char *name,
                       const char *id)
{
  LocalRoom *room = g_hash_table_lookup (((LocalBroker *) broker)->rooms, name);

  if (room != NULL)
    g_hash_table_remove (room->presence, id);
}

static void
local_presence_query (OwlBroker            *broker,
                      const char           *name,
                      OwlBrokerPresenceFunc func,
                      gpointer              data)
{
  LocalRoom *room = local_lookup ((LocalBroker *) broker, name);
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(JsonNode) members = NULL;

  if (room != NULL)
    {
      GHashTableIter iter;
      gpointer entry;

      g_hash_table_iter_init (&iter, room->presence);
      while (g_hash_table_iter_next (&iter, NULL, &entry))
        json_array_add_element (array, json_node_copy (entry));
    }
  members = json_node_init_array (json_node_alloc (), array);
  func (data, members, NULL);
}

static void
local_add_stats (OwlBroker   *broker,
                 JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "local");
}

static const OwlBrokerClass local_class = {
  .free = local_free,
  .join = local_join,
  .leave = local_leave,
  .publish = local_publish,
  .recover = local_recover,
  .presence_add = local_presence_add,
  .presence_remove = local_presence_remove,
  .presence_query = local_presence_query,
  .add_stats = local_add_stats,
};

OwlBroker *
owl_broker_new_local (void)
{
  LocalBroker *self = g_new0 (LocalBroker, 1);

  self->parent.klass = &local_class;
  self->parent.node = g_strdup_printf ("%s-%d", g_get_host_name (), (int) getpid ());
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, local_room_free);
  return &self->parent;
}
