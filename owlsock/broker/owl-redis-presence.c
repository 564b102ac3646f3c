/* owl-redis-presence.c: the Redis broker's presence
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Per room, a ZSET P.presence.R scored by expiry (ms since the epoch) and
 * a hash P.presence-data.R (id -> the JSON entry). Each node rewrites its
 * own entries every heartbeat with an expiry two heartbeats ahead, so the
 * entries of a node that stops vanish; a query drops the expired ones and
 * reads the rest.
 */

#include "config.h"

#include "owl-broker-redis-private.h"
#include "owl-redis-private.h"

/* KEYS: zset, hash. ARGV: expiry (ms), ttl (s), then id, entry pairs. */
static const char presence_add_lua[] =
  "for i = 3, #ARGV, 2 do\n"
  "  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])\n"
  "  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])\n"
  "end\n"
  "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
  "redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
  "return 1\n";

/* KEYS: zset, hash. ARGV: id. */
static const char presence_remove_lua[] =
  "redis.call('ZREM', KEYS[1], ARGV[1])\n"
  "redis.call('HDEL', KEYS[2], ARGV[1])\n"
  "return 1\n";

/* KEYS: zset, hash. ARGV: now (ms). The entries of those not expired. */
static const char presence_query_lua[] =
  "local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])\n"
  "for _, id in ipairs(gone) do redis.call('HDEL', KEYS[2], id) end\n"
  "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])\n"
  "local out = {}\n"
  "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n"
  "  local entry = redis.call('HGET', KEYS[2], id)\n"
  "  if entry then out[#out + 1] = entry end\n"
  "end\n"
  "return out\n";


void
owl_broker_redis_presence_scripts (const char **texts)
{
  texts[SCRIPT_PRESENCE_ADD] = presence_add_lua;
  texts[SCRIPT_PRESENCE_REMOVE] = presence_remove_lua;
  texts[SCRIPT_PRESENCE_QUERY] = presence_query_lua;
}

/* Presence --------------------------------------------------------------------- */

/* Writes @entries (id -> JSON text) of @room with a fresh expiry: now and
 * two heartbeats. */
static void
presence_refresh (RedisBroker *self,
                  const char  *room,
                  GHashTable  *entries)
{
  GPtrArray *args = owl_broker_redis_args_new ();
  g_autofree char *expiry = g_strdup_printf ("%" G_GINT64_FORMAT,
                                             g_get_real_time () / 1000 + 2000 * (gint64) self->heartbeat_s);
  g_autofree char *ttl = g_strdup_printf ("%u", 2 * self->heartbeat_s + 1);
  GHashTableIter iter;
  gpointer id, entry;

  owl_broker_redis_args_add_key (args, self, "presence", room);
  owl_broker_redis_args_add_key (args, self, "presence-data", room);
  owl_redis_args_add (args, expiry, -1);
  owl_redis_args_add (args, ttl, -1);
  g_hash_table_iter_init (&iter, entries);
  while (g_hash_table_iter_next (&iter, &id, &entry))
    {
      owl_redis_args_add (args, id, -1);
      owl_redis_args_add (args, entry, -1);
    }
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_PRESENCE_ADD], 2, args, owl_broker_redis_debug_cb, "presence");
}

void
owl_broker_redis_presence_add (OwlBroker  *broker,
                               const char *room,
                               const char *id,
                               JsonNode   *entry)
{
  RedisBroker *self = (RedisBroker *) broker;
  GHashTable *entries = g_hash_table_lookup (self->presence, room);
  g_autoptr(GHashTable) one = g_hash_table_new (g_str_hash, g_str_equal);
  char *text = json_to_string (entry, FALSE);

  if (entries == NULL)
    {
      entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (self->presence, g_strdup (room), entries);
    }
  g_hash_table_insert (entries, g_strdup (id), text);
  g_hash_table_insert (one, (gpointer) id, text);
  presence_refresh (self, room, one);
}

void
owl_broker_redis_presence_remove (OwlBroker  *broker,
                                  const char *room,
                                  const char *id)
{
  RedisBroker *self = (RedisBroker *) broker;
  GHashTable *entries = g_hash_table_lookup (self->presence, room);
  GPtrArray *args;

  if (entries == NULL || !g_hash_table_remove (entries, id))
    return;
  if (g_hash_table_size (entries) == 0)
    g_hash_table_remove (self->presence, room);
  args = owl_broker_redis_args_new ();
  owl_broker_redis_args_add_key (args, self, "presence", room);
  owl_broker_redis_args_add_key (args, self, "presence-data", room);
  owl_redis_args_add (args, id, -1);
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_PRESENCE_REMOVE], 2, args, owl_broker_redis_debug_cb, "presence");
}

typedef struct
{
  OwlBrokerPresenceFunc func;
  gpointer              data;
} Query;

static void
queried_cb (gpointer          user_data,
            const redisReply *reply,
            const GError     *error)
{
  g_autofree Query *q = user_data;
  g_autoptr(JsonNode) members = NULL;
  JsonArray *array;

  if (error == NULL && reply->type != REDIS_REPLY_ARRAY)
    {
      g_autoptr(GError) odd = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                                   "Unexpected answer to the presence query");

      q->func (q->data, NULL, odd);
      return;
    }
  if (error != NULL)
    {
      q->func (q->data, NULL, error);
      return;
    }
  array = json_array_new ();
  members = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (members, array);
  for (gsize i = 0; i < reply->elements; i++)
    {
      const redisReply *entry = reply->element[i];
      g_autoptr(JsonNode) node = NULL;

      if (entry->type == REDIS_REPLY_STRING)
        node = json_from_string (entry->str, NULL);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        json_array_add_element (array, g_steal_pointer (&node));
    }
  q->func (q->data, members, NULL);
}

void
owl_broker_redis_presence_query (OwlBroker            *broker,
                                 const char           *room,
                                 OwlBrokerPresenceFunc func,
                                 gpointer              data)
{
  RedisBroker *self = (RedisBroker *) broker;
  GPtrArray *args = owl_broker_redis_args_new ();
  Query *q = g_new0 (Query, 1);
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / 1000);

  q->func = func;
  q->data = data;
  owl_broker_redis_args_add_key (args, self, "presence", room);
  owl_broker_redis_args_add_key (args, self, "presence-data", room);
  owl_redis_args_add (args, now, -1);
  owl_redis_eval (self->cmd, &self->scripts[SCRIPT_PRESENCE_QUERY], 2, args, queried_cb, q);
}

void
owl_broker_redis_presence_refresh_all (RedisBroker *self)
{
  GHashTableIter iter;
  gpointer room, entries;

  g_hash_table_iter_init (&iter, self->presence);
  while (g_hash_table_iter_next (&iter, &room, &entries))
    presence_refresh (self, room, entries);
}
