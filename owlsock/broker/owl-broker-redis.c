/* owl-broker-redis.c: rooms across processes through Redis
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two connections: one for commands, one for subscriptions (a subscribed
 * connection takes nothing else). A room's channel P.room.R is subscribed
 * while the room has local members; what other nodes publish there is
 * delivered here, and a node ignores its own publications (its members
 * were served locally). A room with history publishes through one Lua
 * script that numbers, records and publishes atomically; the local
 * members are served when its answer gives the position. While Redis is
 * away, local delivery goes on and what could not cross is counted as
 * failed.
 *
 * A pub/sub message is "N:NODE" "N:EXCEPT" "OFFSET:" "N:EPOCH" then the
 * payload (N: a decimal byte count; offset 0 and no epoch: no history).
 *
 * The liveness probe re-subscribes a channel of this node's own on the
 * subscription connection every heartbeat, against the command deadline:
 * a PING there is answered as ["pong", ""], which hiredis 0.14 cannot hand
 * to its callback (and would keep a callback per PING until the
 * connection goes).
 */

#include "config.h"

#include <string.h>

#include "owl-broker-redis-private.h"
#include "owl-redis-private.h"

/* KEYS: meta, history, channel. ARGV: payload, message header (node and
 * except fields), size, ttl, an epoch for a history that has none. Size 0:
 * the publishing node does not know the room (no local member), so the
 * room's own meta decides: recorded with the size and ttl the members'
 * nodes stored, or published plainly when the room keeps no history. */
static const char publish_lua[] =
  "local size, ttl = ARGV[3], ARGV[4]\n"
  "if size == '0' then\n"
  "  local m = redis.call('HMGET', KEYS[1], 'size', 'ttl')\n"
  "  if not m[1] or m[1] == '0' then\n"
  "    redis.call('PUBLISH', KEYS[3], ARGV[2] .. '0:0:' .. ARGV[1])\n"
  "    return {0, ''}\n"
  "  end\n"
  "  size, ttl = m[1], m[2] or '300'\n"
  "end\n"
  "local epoch = redis.call('HGET', KEYS[1], 'epoch')\n"
  "if not epoch then\n"
  "  epoch = ARGV[5]\n"
  "  redis.call('DEL', KEYS[2])\n"
  "  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)\n"
  "end\n"
  "local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)\n"
  "redis.call('HSET', KEYS[1], 'size', size, 'ttl', ttl)\n"
  "redis.call('XADD', KEYS[2], 'MAXLEN', size, offset .. '-1', 'd', ARGV[1])\n"
  "redis.call('EXPIRE', KEYS[1], ttl)\n"
  "redis.call('EXPIRE', KEYS[2], ttl)\n"
  "redis.call('PUBLISH', KEYS[3], ARGV[2] .. offset .. ':' .. string.len(epoch) .. ':' .. epoch .. ARGV[1])\n"
  "return {offset, epoch}\n";

/* KEYS: meta, history. ARGV: the first stream id wanted. */
static const char recover_lua[] =
  "local meta = redis.call('HMGET', KEYS[1], 'offset', 'epoch')\n"
  "local entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+')\n"
  "return {meta[1] or '0', meta[2] or '', entries}\n";

/* KEYS: meta. ARGV: size, ttl. A node with members keeps its rooms' meta
 * (the larger size and ttl any node asked for) while they are joined, so a
 * node without members records what it publishes there too. */
static const char meta_lua[] =
  "local m = redis.call('HMGET', KEYS[1], 'size', 'ttl')\n"
  "local size = math.max(tonumber(m[1]) or 0, tonumber(ARGV[1]))\n"
  "local ttl = math.max(tonumber(m[2]) or 0, tonumber(ARGV[2]))\n"
  "redis.call('HSET', KEYS[1], 'size', size, 'ttl', ttl)\n"
  "redis.call('EXPIRE', KEYS[1], ttl)\n"
  "return 1\n";

typedef struct
{
  RedisBroker          *self;
  char                 *room;
  guint64               since;
  char                 *epoch;
  gboolean              top_only;  /* since was NULL: the top alone */
  OwlBrokerRecoverFunc  func;
  gpointer              data;
} Recover;

char *
owl_broker_redis_key (RedisBroker *self,
                      const char  *kind,
                      const char  *room)
{
  return g_strconcat (self->prefix, ".", kind, ".", room, NULL);
}

void
owl_broker_redis_args_add_key (GPtrArray   *args,
                               RedisBroker *self,
                               const char  *kind,
                               const char  *room)
{
  g_autofree char *key = owl_broker_redis_key (self, kind, room);

  owl_redis_args_add (args, key, -1);
}

GPtrArray *
owl_broker_redis_args_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

/* Rooms and subscriptions --------------------------------------------------------- */

static void
room_free (gpointer data)
{
  Room *room = data;

  g_assert (room->waiting->len == 0);
  g_ptr_array_unref (room->waiting);
  g_free (room->name);
  g_free (room);
}

static void
subscribe_room (RedisBroker *self,
                Room        *room,
                gboolean     subscribe)
{
  g_autofree char *channel = owl_broker_redis_key (self, "room", room->name);

  room->subscribed = FALSE;
  room->unsubscribing = !subscribe && owl_redis_subscribe (self->sub, FALSE, channel, strlen (channel));
  if (subscribe)
    owl_redis_subscribe (self->sub, TRUE, channel, strlen (channel));
}

static void recover_read (Recover *r);
static void recover_fail (Recover *r, GIOErrorEnum code, const char *message);

/* Reads the history of every recovery waiting for @room's subscription,
 * or fails them with @code (0: read). */
static void
room_flush_waiting (Room         *room,
                    GIOErrorEnum  code,
                    const char   *message)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&room->waiting);

  room->waiting = g_ptr_array_new ();
  for (guint i = 0; i < waiting->len; i++)
    {
      if (message == NULL)
        recover_read (g_ptr_array_index (waiting, i));
      else
        recover_fail (g_ptr_array_index (waiting, i), code, message);
    }
}

void
owl_broker_redis_debug_cb (gpointer          user_data,
                           const redisReply *reply,
                           const GError     *error)
{
  if (error != NULL)
    g_debug ("redis: %s: %s", (const char *) user_data, error->message);
}

/* Keeps @room's size and ttl in its meta while it has members here. */
static void
touch_meta (RedisBroker *self,
            Room        *room)
{
  GPtrArray *args;
  g_autofree char *size = NULL;
  g_autofree char *ttl = NULL;

  if (room->options.history_size == 0 || !owl_redis_is_connected (self->cmd))
    return;
  args = owl_broker_redis_args_new ();
  size = g_strdup_printf ("%u", room->options.history_size);
  ttl = g_strdup_printf ("%u", MAX (room->options.history_ttl, 1));
  owl_broker_redis_args_add_key (args, self, "meta", room->name);
  owl_redis_args_add (args, size, -1);
  owl_redis_args_add (args, ttl, -1);
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_META], 1, args, owl_broker_redis_debug_cb, "room meta");
}

static void
touch_all_meta (RedisBroker *self)
{
  GHashTableIter iter;
  gpointer room;

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &room))
    if (((Room *) room)->active)
      touch_meta (self, room);
}

static void
redis_join (OwlBroker            *broker,
            const char           *name,
            const OwlRoomOptions *options)
{
  RedisBroker *self = (RedisBroker *) broker;
  Room *room = g_hash_table_lookup (self->rooms, name);

  if (room == NULL)
    {
      room = g_new0 (Room, 1);
      room->name = g_strdup (name);
      room->waiting = g_ptr_array_new ();
      g_hash_table_insert (self->rooms, room->name, room);
    }
  room->options.history_size = MAX (room->options.history_size, options->history_size);
  room->options.history_ttl = MAX (room->options.history_ttl, options->history_ttl);
  room->options.presence |= options->presence;
  touch_meta (self, room);
  if (room->active)
    return;
  room->active = TRUE;
  /* Rejoined while its UNSUBSCRIBE is on its way: subscribe again when it
   * is confirmed (hiredis forgets the channel's callback then). */
  if (!room->unsubscribing)
    subscribe_room (self, room, TRUE);
}

static void
redis_leave (OwlBroker  *broker,
             const char *name)
{
  RedisBroker *self = (RedisBroker *) broker;
  Room *room = g_hash_table_lookup (self->rooms, name);

  if (room == NULL || !room->active)
    return;
  room->active = FALSE;
  room_flush_waiting (room, 0, NULL);
  subscribe_room (self, room, FALSE);
  if (!room->unsubscribing)
    g_hash_table_remove (self->rooms, name);
}

static void
sub_state_cb (gpointer user_data,
              gboolean connected)
{
  RedisBroker *self = user_data;
  GHashTableIter iter;
  Room *room;

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    {
      room->subscribed = room->unsubscribing = FALSE;
      if (!room->active)
        g_hash_table_iter_remove (&iter);
      else if (connected)
        subscribe_room (self, room, TRUE);
      else
        room_flush_waiting (room, G_IO_ERROR_NOT_CONNECTED, "The connection to Redis was lost");
    }
  if (connected)
    owl_redis_subscribe (self->sub, TRUE, self->probe, strlen (self->probe));
}

/* Incoming messages ------------------------------------------------------------ */

static gboolean
read_number (const char **p,
             const char  *end,
             guint64     *n)
{
  const char *q = *p;

  *n = 0;
  while (q < end && g_ascii_isdigit (*q) && q - *p < 19)
    *n = *n * 10 + (guint64) (*q++ - '0');
  if (q == *p || q >= end || *q != ':')
    return FALSE;
  *p = q + 1;
  return TRUE;
}

static gboolean
read_field (const char **p,
            const char  *end,
            char       **field)
{
  guint64 len;

  if (!read_number (p, end, &len) || len > (guint64) (end - *p) || memchr (*p, 0, len) != NULL)
    return FALSE;
  *field = g_strndup (*p, len);
  *p += len;
  return TRUE;
}

static void
message_received (RedisBroker *self,
                  const char  *room,
                  const char  *data,
                  gsize        len)
{
  const char *p = data, *end = data + len;
  g_autofree char *node = NULL, *except = NULL, *epoch = NULL;
  g_autoptr(GBytes) payload = NULL;
  OwlPosition pos = { 0, NULL };

  if (!read_field (&p, end, &node) || !read_field (&p, end, &except) ||
      !read_number (&p, end, &pos.offset) || !read_field (&p, end, &epoch))
    {
      g_debug ("redis: a message in %s is not owlsock's: ignored", room);
      return;
    }
  if (g_str_equal (node, self->parent.node))
    return;  /* ours: the local members were served already */
  self->received++;
  pos.epoch = epoch;
  payload = g_bytes_new (p, end - p);
  self->parent.deliver (self->parent.deliver_data, room, payload, pos.offset > 0 ? &pos : NULL,
                        except[0] ? except : NULL);
}

static void
push_cb (gpointer          user_data,
         const redisReply *reply)
{
  RedisBroker *self = user_data;
  const redisReply *channel = reply->element[1];
  const char *kind = reply->element[0]->str;
  gsize skip = strlen (self->prefix) + strlen (".room.");
  g_autofree char *name = NULL;
  Room *room;

  if (channel->type != REDIS_REPLY_STRING || channel->len < skip ||
      memcmp (channel->str, self->prefix, skip - 6) != 0 || memcmp (channel->str + skip - 6, ".room.", 6) != 0)
    return;  /* the probe's */
  name = g_strndup (channel->str + skip, channel->len - skip);
  room = g_hash_table_lookup (self->rooms, name);
  if (g_ascii_strcasecmp (kind, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING)
    message_received (self, name, reply->element[2]->str, reply->element[2]->len);
  else if (room == NULL)
    return;
  else if (g_ascii_strcasecmp (kind, "subscribe") == 0 && room->active)
    {
      room->subscribed = TRUE;
      room_flush_waiting (room, 0, NULL);
    }
  else if (g_ascii_strcasecmp (kind, "unsubscribe") == 0 && room->unsubscribing)
    {
      room->unsubscribing = FALSE;
      if (room->active)
        subscribe_room (self, room, TRUE);
      else
        g_hash_table_remove (self->rooms, name);
    }
}

/* Publishing ------------------------------------------------------------------- */

typedef struct
{
  RedisBroker *self;
  char        *room;
  GBytes      *payload;
  char        *except;
} Publish;

static void
publish_free (Publish *p)
{
  g_free (p->room);
  g_bytes_unref (p->payload);
  g_free (p->except);
  g_free (p);
}

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
count_failed (RedisBroker  *self,
              const GError *error)
{
  self->failed++;
  g_debug ("redis: a publication did not cross: %s", error->message);
}

/* The node and except fields that start every message of this node. */
static char *
message_header (RedisBroker *self,
                const char  *except_id)
{
  gsize len = except_id ? strlen (except_id) : 0;

  return g_strdup_printf ("%s%" G_GSIZE_FORMAT ":%s", self->header, len, except_id ? except_id : "");
}

static void
published_cb (gpointer          user_data,
              const redisReply *reply,
              const GError     *error)
{
  RedisBroker *self = user_data;

  if (error == NULL)
    self->published++;
  else if (!is_cancelled (error))
    count_failed (self, error);
}

static void
publish_plain (RedisBroker *self,
               const char  *room,
               GBytes      *payload,
               const char  *except_id)
{
  g_autofree char *channel = owl_broker_redis_key (self, "room", room);
  g_autofree char *header = message_header (self, except_id);
  gsize size;
  const char *data = g_bytes_get_data (payload, &size);
  g_autoptr(GString) message = g_string_sized_new (strlen (header) + 4 + size);
  const char *argv[3] = { "PUBLISH", channel, NULL };
  size_t lens[3] = { 7, strlen (channel), 0 };

  self->parent.deliver (self->parent.deliver_data, room, payload, NULL, except_id);
  g_string_append (message, header);
  g_string_append (message, "0:0:");
  g_string_append_len (message, data ? data : "", size);
  argv[2] = message->str;
  lens[2] = message->len;
  owl_redis_command (self->cmd, published_cb, self, 3, argv, lens);
}

static void
recorded_cb (gpointer          user_data,
             const redisReply *reply,
             const GError     *error)
{
  Publish *p = user_data;
  RedisBroker *self = p->self;
  OwlPosition pos = { 0, NULL };

  if (is_cancelled (error))
    {
      publish_free (p);
      return;
    }
  if (error == NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                        reply->element[0]->type != REDIS_REPLY_INTEGER ||
                        reply->element[1]->type != REDIS_REPLY_STRING))
    {
      g_autoptr(GError) odd = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                                   "Unexpected answer to the publish script");

      count_failed (self, odd);
    }
  else if (error != NULL)
    count_failed (self, error);
  else
    {
      self->published++;
      pos.offset = (guint64) reply->element[0]->integer;
      pos.epoch = pos.offset > 0 ? reply->element[1]->str : NULL;
    }
  self->parent.deliver (self->parent.deliver_data, p->room, p->payload, pos.epoch ? &pos : NULL, p->except);
  publish_free (p);
}

/* @room NULL: no local member; the room's meta in Redis decides. */
static void
publish_recorded (RedisBroker *self,
                  const char  *name,
                  Room        *room,
                  GBytes      *payload,
                  const char  *except_id)
{
  Publish *p = g_new0 (Publish, 1);
  GPtrArray *args = owl_broker_redis_args_new ();
  g_autofree char *header = message_header (self, except_id);
  g_autofree char *size = g_strdup_printf ("%u", room ? room->options.history_size : 0);
  g_autofree char *ttl = g_strdup_printf ("%u", room ? MAX (room->options.history_ttl, 1) : 1);
  g_autofree char *epoch = g_strdup_printf ("%08x%04x", g_random_int (), g_random_int () & 0xffff);

  p->self = self;
  p->room = g_strdup (name);
  p->payload = g_bytes_ref (payload);
  p->except = g_strdup (except_id);
  owl_broker_redis_args_add_key (args, self, "meta", name);
  owl_broker_redis_args_add_key (args, self, "history", name);
  owl_broker_redis_args_add_key (args, self, "room", name);
  g_ptr_array_add (args, g_bytes_ref (payload));
  owl_redis_args_add (args, header, -1);
  owl_redis_args_add (args, size, -1);
  owl_redis_args_add (args, ttl, -1);
  owl_redis_args_add (args, epoch, -1);
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_PUBLISH], 3, args, recorded_cb, p);
}

static void
redis_publish (OwlBroker  *broker,
               const char *name,
               GBytes     *payload,
               const char *except_id)
{
  RedisBroker *self = (RedisBroker *) broker;
  Room *room = g_hash_table_lookup (self->rooms, name);

  if (g_bytes_get_size (payload) > OWL_BROKER_REDIS_MAX_PUBLISH)
    {
      if (!self->warned_large)
        g_warning ("A broadcast of %" G_GSIZE_FORMAT " bytes in a room is larger than the Redis "
                   "broker carries (%d): served to this process's members only",
                   g_bytes_get_size (payload), OWL_BROKER_REDIS_MAX_PUBLISH);
      self->warned_large = TRUE;
      self->failed++;
      self->parent.deliver (self->parent.deliver_data, name, payload, NULL, except_id);
      return;
    }
  /* A room known here without history publishes plainly; one not known
   * here may keep history on the nodes of its members: the script asks. */
  if (room == NULL || room->options.history_size > 0)
    publish_recorded (self, name, room, payload, except_id);
  else
    publish_plain (self, name, payload, except_id);
}

/* Recovery --------------------------------------------------------------------- */

static void
recover_free (Recover *r)
{
  g_free (r->room);
  g_free (r->epoch);
  g_free (r);
}

static void
recover_fail (Recover      *r,
              GIOErrorEnum  code,
              const char   *message)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, code, message);

  r->func (r->data, FALSE, NULL, NULL, error);
  recover_free (r);
}

/* One stream entry [ID, [field, value, ...]]: its offset and field d. */
static OwlPublication *
read_entry (const redisReply *entry)
{
  const redisReply *fields;
  OwlPublication *pub;

  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
      entry->element[0]->type != REDIS_REPLY_STRING || entry->element[1]->type != REDIS_REPLY_ARRAY)
    return NULL;
  fields = entry->element[1];
  for (gsize i = 0; i + 1 < fields->elements; i += 2)
    {
      if (fields->element[i]->type != REDIS_REPLY_STRING || g_strcmp0 (fields->element[i]->str, "d") != 0 ||
          fields->element[i + 1]->type != REDIS_REPLY_STRING)
        continue;
      pub = g_new0 (OwlPublication, 1);
      pub->offset = g_ascii_strtoull (entry->element[0]->str, NULL, 10);
      pub->payload = g_bytes_new (fields->element[i + 1]->str, fields->element[i + 1]->len);
      return pub;
    }
  return NULL;
}

static void
recovered_cb (gpointer          user_data,
              const redisReply *reply,
              const GError     *error)
{
  Recover *r = user_data;
  g_autoptr(GPtrArray) pubs = g_ptr_array_new_with_free_func (owl_publication_free);
  const redisReply *entries;
  OwlPosition top = { 0, NULL };
  gboolean recovered;

  if (error != NULL)
    {
      recover_fail (r, error->domain == G_IO_ERROR ? error->code : G_IO_ERROR_FAILED, error->message);
      return;
    }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
      reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING ||
      reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
      recover_fail (r, G_IO_ERROR_INVALID_DATA, "Unexpected answer to the recover script");
      return;
    }
  top.offset = g_ascii_strtoull (reply->element[0]->str, NULL, 10);
  top.epoch = reply->element[1]->str;
  entries = reply->element[2];
  for (gsize i = 0; i < entries->elements; i++)
    {
      OwlPublication *pub = read_entry (entries->element[i]);

      if (pub != NULL)
        g_ptr_array_add (pubs, pub);
    }
  /* Everything after since is there: the epoch is the same (an empty one
   * at offset 0 follows from the start of the current epoch), and the
   * first kept publication is the next one (or none was made since). */
  recovered = !r->top_only &&
              (g_str_equal (top.epoch, r->epoch) || (r->since == 0 && r->epoch[0] == '\0')) &&
              r->since <= top.offset &&
              (r->since == top.offset ||
               (pubs->len > 0 && ((OwlPublication *) pubs->pdata[0])->offset == r->since + 1));
  if (!recovered)
    g_ptr_array_set_size (pubs, 0);
  r->func (r->data, recovered, pubs, &top, NULL);
  recover_free (r);
}

static void
recover_read (Recover *r)
{
  RedisBroker *self = r->self;
  GPtrArray *args = owl_broker_redis_args_new ();
  /* The top alone: a start after every stream id reads no entry. */
  g_autofree char *start = r->top_only ? g_strdup ("18446744073709551615-18446744073709551615")
                                       : g_strdup_printf ("%" G_GUINT64_FORMAT "-1", r->since + 1);

  owl_broker_redis_args_add_key (args, self, "meta", r->room);
  owl_broker_redis_args_add_key (args, self, "history", r->room);
  owl_redis_args_add (args, start, -1);
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_RECOVER], 2, args, recovered_cb, r);
}

static void
redis_recover (OwlBroker            *broker,
               const char           *name,
               const OwlPosition    *since,
               OwlBrokerRecoverFunc  func,
               gpointer              data)
{
  RedisBroker *self = (RedisBroker *) broker;
  Room *room = g_hash_table_lookup (self->rooms, name);
  Recover *r = g_new0 (Recover, 1);

  r->self = self;
  r->room = g_strdup (name);
  r->top_only = since == NULL;
  r->since = since != NULL ? since->offset : 0;
  r->epoch = g_strdup (since != NULL && since->epoch != NULL ? since->epoch : "");
  r->func = func;
  r->data = data;
  if (!owl_redis_is_connected (self->sub))
    recover_fail (r, G_IO_ERROR_NOT_CONNECTED, "Not connected to Redis");
  else if (room != NULL && room->active && !room->subscribed)
    g_ptr_array_add (room->waiting, r);  /* race-free: read once subscribed */
  else
    recover_read (r);
}

/* Connections, heartbeat, statistics --------------------------------------------- */

static void
cmd_state_cb (gpointer user_data,
              gboolean connected)
{
  RedisBroker *self = user_data;

  if (!connected)
    return;
  for (guint i = 0; i < N_SCRIPTS; i++)
    owl_redis_script_load (self->cmd, &self->scripts[i]);
  owl_broker_redis_presence_refresh_all (self);
  touch_all_meta (self);
}

static gboolean
heartbeat_cb (gpointer data)
{
  RedisBroker *self = data;

  /* The probe: its confirmation must come within the deadline. */
  owl_redis_subscribe (self->sub, TRUE, self->probe, strlen (self->probe));
  owl_broker_redis_presence_refresh_all (self);
  touch_all_meta (self);
  return G_SOURCE_CONTINUE;
}

static void
add_uint (JsonBuilder *builder,
          const char  *name,
          guint64      value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, (gint64) value);
}

static void
redis_add_stats (OwlBroker   *broker,
                 JsonBuilder *builder)
{
  RedisBroker *self = (RedisBroker *) broker;
  GHashTableIter iter;
  Room *room;
  guint active = 0;

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    active += room->active;
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "redis");
  json_builder_set_member_name (builder, "connected");
  json_builder_add_boolean_value (builder, owl_redis_is_connected (self->cmd) && owl_redis_is_connected (self->sub));
  add_uint (builder, "published", self->published);
  add_uint (builder, "received", self->received);
  add_uint (builder, "failed", self->failed);
  add_uint (builder, "reconnects", owl_redis_get_attempts (self->cmd) + owl_redis_get_attempts (self->sub) - 2);
  add_uint (builder, "rooms", active);
}

static void
redis_free (OwlBroker *broker)
{
  RedisBroker *self = (RedisBroker *) broker;
  GHashTableIter iter;
  Room *room;

  g_source_destroy (self->heartbeat);
  g_source_unref (self->heartbeat);
  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    room_flush_waiting (room, G_IO_ERROR_CANCELLED, "The broker is going away");
  /* What is in flight is answered, G_IO_ERROR_CANCELLED. */
  owl_redis_free (self->cmd);
  owl_redis_free (self->sub);
  for (guint i = 0; i < N_SCRIPTS; i++)
    owl_redis_script_clear (&self->scripts[i]);
  g_hash_table_unref (self->rooms);
  g_hash_table_unref (self->presence);
  g_main_context_unref (self->context);
  g_free (self->prefix);
  g_free (self->probe);
  g_free (self->header);
  g_free (self->parent.node);
  g_free (self);
}

static const OwlBrokerClass redis_class = {
  .free = redis_free,
  .join = redis_join,
  .leave = redis_leave,
  .publish = redis_publish,
  .recover = redis_recover,
  .presence_add = owl_broker_redis_presence_add,
  .presence_remove = owl_broker_redis_presence_remove,
  .presence_query = owl_broker_redis_presence_query,
  .add_stats = redis_add_stats,
};

OwlBroker *
owl_broker_new_redis (const char   *address,
                      const char   *prefix,
                      guint         heartbeat_s,
                      const char   *node,
                      GMainContext *context)
{
  RedisBroker *self = g_new0 (RedisBroker, 1);
  /* The probe must be answered before the next one goes. */
  guint deadline_ms = CLAMP (heartbeat_s, 1, 5) * 1000;
  const char *texts[N_SCRIPTS] = { publish_lua, recover_lua, meta_lua, };

  self->parent.klass = &redis_class;
  self->parent.node = g_strdup (node);
  self->prefix = g_strdup (prefix);
  self->heartbeat_s = MAX (heartbeat_s, 1);
  self->context = g_main_context_ref (context);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, room_free);
  self->presence = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_hash_table_unref);
  owl_broker_redis_presence_scripts (texts);
  for (guint i = 0; i < N_SCRIPTS; i++)
    owl_redis_script_init (&self->scripts[i], texts[i]);
  self->probe = g_strconcat (prefix, ".probe.", node, NULL);
  self->header = g_strdup_printf ("%" G_GSIZE_FORMAT ":%s", strlen (node), node);
  self->cmd = owl_redis_new (address, deadline_ms, context, cmd_state_cb, NULL, self);
  self->sub = owl_redis_new (address, deadline_ms, context, sub_state_cb, push_cb, self);
  self->heartbeat = g_timeout_source_new_seconds (self->heartbeat_s);
  g_source_set_callback (self->heartbeat, heartbeat_cb, self, NULL);
  g_source_attach (self->heartbeat, context);
  return &self->parent;
}
