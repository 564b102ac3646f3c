/* test-redis-broker.c: the Redis broker against a real redis-server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two "nodes" in one process: two OwlRooms, each with a Redis broker of
 * its own on one redis-server, and members over recording transports.
 * Broadcasts across nodes, history and recovery, a Redis that answers
 * errors, oversized broadcasts.
 */

#include "owl-test-util.h"
#include "owl-test-redis.h"

#include "owl-broker-redis-private.h"

#include <string.h>


/* The "n" of each message from @from, in the order @member got them. */
static char *
sequence_from (OwlTestMember *member,
               const char    *from)
{
  g_autofree char *tag = g_strdup_printf ("\"from\":\"%s\"", from);
  GString *seq = g_string_new (NULL);

  for (guint i = 0; i < member->received->len; i++)
    {
      const char *text = g_ptr_array_index (member->received, i);
      const char *n = strstr (text, "\"n\":");

      if (strstr (text, tag) != NULL && n != NULL)
        g_string_append_printf (seq, "%d,", atoi (n + 4));
    }
  return g_string_free (seq, FALSE);
}

/* Ten broadcasts from each node, interleaved: every member gets each one
 * once, in each publisher's order; the local members are served by the
 * local fan-out (the echo from Redis is ignored), the excluded member is
 * skipped on its own node, and the counters say what crossed. */
static void
test_broadcast (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlTestNode a, b;
  OwlTestMember *a1 = owl_test_member_new ("a1"), *a2 = owl_test_member_new ("a2");
  OwlTestMember *b1 = owl_test_member_new ("b1");
  OwlTestMember *members[] = { a1, a2, b1 };
  const char *expected = "0,1,2,3,4,5,6,7,8,9,";

  owl_test_node_init (&a, redis, "node-a");
  owl_test_node_init (&b, redis, "node-b");
  g_assert_true (owl_test_member_join (a1, a.rooms, "lobby"));
  g_assert_true (owl_test_member_join (a2, a.rooms, "lobby"));
  g_assert_true (owl_test_member_join (b1, b.rooms, "lobby"));
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 2);

  for (int i = 0; i < 10; i++)
    {
      g_autofree char *from_a = g_strdup_printf ("{\"from\":\"a\",\"n\":%d}", i);
      g_autofree char *from_b = g_strdup_printf ("{\"from\":\"b\",\"n\":%d}", i);

      owl_test_node_broadcast (&a, "lobby", from_a, NULL);
      owl_test_node_broadcast (&b, "lobby", from_b, NULL);
    }
  OWL_TEST_WAIT_FOR (a1->received->len >= 20 && a2->received->len >= 20 && b1->received->len >= 20);
  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      g_autofree char *seq_a = sequence_from (members[m], "a");
      g_autofree char *seq_b = sequence_from (members[m], "b");

      g_assert_cmpstr (seq_a, ==, expected);
      g_assert_cmpstr (seq_b, ==, expected);
    }

  /* a1 excluded: its own node skips it, and so does the other's echo. */
  owl_test_node_broadcast (&a, "lobby", "{\"from\":\"a\",\"n\":10}", a1->owner);
  owl_test_node_broadcast (&b, "lobby", "{\"from\":\"b\",\"n\":10}", NULL);
  OWL_TEST_WAIT_FOR (a1->received->len == 21 && b1->received->len == 22);
  g_assert_cmpuint (a2->received->len, ==, 22);
  g_assert_cmpstr (g_ptr_array_index (a1->received, 20), ==, "{\"from\":\"b\",\"n\":10}");

  g_assert_cmpint (owl_test_broker_stat (a.broker, "published"), ==, 11);
  g_assert_cmpint (owl_test_broker_stat (b.broker, "received"), ==, 11);
  g_assert_cmpint (owl_test_broker_stat (a.broker, "received"), ==, 11);
  g_assert_cmpint (owl_test_broker_stat (a.broker, "failed"), ==, 0);
  g_assert_cmpint (owl_test_broker_stat (a.broker, "rooms"), ==, 1);

  /* The last member leaving releases the channel. */
  owl_rooms_leave_all (b.rooms, b1->owner);
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 1);
  g_assert_cmpint (owl_test_broker_stat (b.broker, "rooms"), ==, 0);

  owl_test_node_clear (&a);
  owl_test_node_clear (&b);
  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    owl_test_member_free (members[m]);
}

/* A room name with odd bytes (control, UTF-8, glob characters, spaces)
 * is a room like any other, on both nodes. */
static void
test_odd_room (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  const char *room = "odd \x01\xc3\xa9*?[x]\n\x7f";
  g_autofree char *channel = g_strconcat (OWL_TEST_REDIS_PREFIX ".room.", room, NULL);
  OwlTestMember *a1 = owl_test_member_new ("a1"), *b1 = owl_test_member_new ("b1");
  OwlTestNode a, b;

  owl_test_node_init (&a, redis, "node-a");
  owl_test_node_init (&b, redis, "node-b");
  owl_test_member_join (a1, a.rooms, room);
  owl_test_member_join (b1, b.rooms, room);
  owl_test_redis_wait_subscribers (redis, channel, 2);
  owl_test_node_broadcast (&a, room, "{\"odd\":true}", NULL);
  OWL_TEST_WAIT_FOR (b1->received->len == 1);
  g_assert_cmpstr (g_ptr_array_index (b1->received, 0), ==, "{\"odd\":true}");
  g_assert_cmpuint (a1->received->len, ==, 1);

  owl_test_node_clear (&a);
  owl_test_node_clear (&b);
  owl_test_member_free (a1);
  owl_test_member_free (b1);
}

/* Left and joined again before Redis confirmed either: the UNSUBSCRIBE's
 * confirmation must not cost the new subscription its messages. */
static void
test_rejoin (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlTestMember *a1 = owl_test_member_new ("a1"), *b1 = owl_test_member_new ("b1");
  OwlTestNode a, b;

  owl_test_node_init (&a, redis, "node-a");
  owl_test_node_init (&b, redis, "node-b");
  owl_test_member_join (b1, b.rooms, "flip");
  owl_test_member_join (a1, a.rooms, "flip");
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.flip", 2);
  g_assert_true (owl_rooms_leave (a.rooms, "flip", a1->owner));
  g_assert_true (owl_test_member_join (a1, a.rooms, "flip"));
  g_assert_true (owl_rooms_leave (a.rooms, "flip", a1->owner));
  g_assert_true (owl_test_member_join (a1, a.rooms, "flip"));
  owl_test_drain ();
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.flip", 2);
  owl_test_node_broadcast (&b, "flip", "{\"n\":1}", NULL);
  OWL_TEST_WAIT_FOR (a1->received->len == 1);
  g_assert_cmpstr (g_ptr_array_index (a1->received, 0), ==, "{\"n\":1}");
  /* Not by a reconnection after a lost confirmation. */
  g_assert_cmpint (owl_test_broker_stat (a.broker, "reconnects"), ==, 0);

  owl_test_node_clear (&a);
  owl_test_node_clear (&b);
  owl_test_member_free (a1);
  owl_test_member_free (b1);
}

/* History and recovery, at the broker ----------------------------------------------- */

/* What a broker delivered: "payload@offset" (0: no position). */
typedef struct
{
  GPtrArray *items;
  char      *epoch;
} Seen;

static void
seen_deliver (gpointer           user_data,
              const char        *room,
              GBytes            *payload,
              const OwlPosition *pos,
              const char        *except_id)
{
  Seen *seen = user_data;
  gsize len;
  const char *data = g_bytes_get_data (payload, &len);

  g_ptr_array_add (seen->items, g_strdup_printf ("%.*s@%" G_GUINT64_FORMAT, (int) len, data,
                                                 pos ? pos->offset : 0));
  if (pos != NULL)
    {
      g_free (seen->epoch);
      seen->epoch = g_strdup (pos->epoch);
    }
}

static OwlBroker *
seen_broker (OwlTestRedis *redis,
             const char   *node,
             Seen         *seen)
{
  OwlBroker *broker = owl_broker_new_redis (redis->address, OWL_TEST_REDIS_PREFIX,
                                            OWL_TEST_REDIS_HEARTBEAT_S, node,
                                            g_main_context_default ());

  seen->items = g_ptr_array_new_with_free_func (g_free);
  broker->deliver = seen_deliver;
  broker->deliver_data = seen;
  OWL_TEST_WAIT_FOR (owl_test_broker_stat (broker, "connected"));
  return broker;
}

static void
seen_clear (Seen *seen)
{
  g_ptr_array_unref (seen->items);
  g_free (seen->epoch);
}

static void
publish (OwlBroker  *broker,
         const char *room,
         const char *text)
{
  g_autoptr(GBytes) payload = g_bytes_new (text, strlen (text));

  broker->klass->publish (broker, room, payload, NULL);
}

typedef struct
{
  gboolean  done;
  gboolean  recovered;
  GString  *pubs;    /* "payload@offset," */
  guint64   top;
  char     *epoch;
  GError   *error;
} Recovery;

static void
recovery_cb (gpointer           user_data,
             gboolean           recovered,
             GPtrArray         *publications,
             const OwlPosition *top,
             const GError      *error)
{
  Recovery *r = user_data;

  r->done = TRUE;
  r->recovered = recovered;
  r->error = error ? g_error_copy (error) : NULL;
  if (error != NULL)
    return;
  r->top = top->offset;
  r->epoch = g_strdup (top->epoch);
  for (guint i = 0; i < publications->len; i++)
    {
      OwlPublication *pub = g_ptr_array_index (publications, i);
      gsize len;
      const char *data = g_bytes_get_data (pub->payload, &len);

      g_string_append_printf (r->pubs, "%.*s@%" G_GUINT64_FORMAT ",", (int) len, data, pub->offset);
    }
}

/* @epoch NULL: recover() without a position (the top alone). */
static void
recover (OwlBroker  *broker,
         const char *room,
         guint64     offset,
         const char *epoch,
         Recovery   *r)
{
  OwlPosition since = { offset, epoch };

  g_free (r->epoch);
  g_clear_error (&r->error);
  if (r->pubs == NULL)
    r->pubs = g_string_new (NULL);
  g_string_truncate (r->pubs, 0);
  r->done = FALSE;
  r->epoch = NULL;
  broker->klass->recover (broker, room, epoch ? &since : NULL, recovery_cb, r);
  OWL_TEST_WAIT_FOR (r->done);
}

static void
recovery_clear (Recovery *r)
{
  g_string_free (r->pubs, TRUE);
  g_free (r->epoch);
  g_clear_error (&r->error);
}

/* Offsets count from 1 in an epoch, on both nodes; recovery answers what
 * was missed when it is all kept, recovered=FALSE when the gap left the
 * history or the epoch changed (FLUSHALL starts a new one). */
static void
test_history (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlRoomOptions options = { .history_size = 3, .history_ttl = 60 };
  Seen seen_a = { 0 }, seen_b = { 0 };
  OwlBroker *a = seen_broker (redis, "node-a", &seen_a);
  OwlBroker *b = seen_broker (redis, "node-b", &seen_b);
  Recovery r = { 0 };
  g_autofree char *epoch = NULL;

  a->klass->join (a, "news", &options);
  b->klass->join (b, "news", &options);
  /* Asked before the subscription is confirmed: answered after it. */
  recover (b, "news", 0, "", &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.top, ==, 0);
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.news", 2);

  for (int i = 1; i <= 5; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"n\":%d}", i);

      publish (a, "news", text);
    }
  OWL_TEST_WAIT_FOR (seen_a.items->len == 5 && seen_b.items->len == 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *item = g_strdup_printf ("{\"n\":%u}@%u", i + 1, i + 1);

      g_assert_cmpstr (g_ptr_array_index (seen_a.items, i), ==, item);
      g_assert_cmpstr (g_ptr_array_index (seen_b.items, i), ==, item);
    }
  g_assert_nonnull (seen_a.epoch);
  g_assert_cmpstr (seen_a.epoch, ==, seen_b.epoch);
  epoch = g_strdup (seen_a.epoch);

  recover (b, "news", 3, epoch, &r);
  g_assert_no_error (r.error);
  g_assert_true (r.recovered);
  g_assert_cmpstr (r.pubs->str, ==, "{\"n\":4}@4,{\"n\":5}@5,");
  g_assert_cmpuint (r.top, ==, 5);
  g_assert_cmpstr (r.epoch, ==, epoch);

  recover (b, "news", 5, epoch, &r);
  g_assert_true (r.recovered);
  g_assert_cmpstr (r.pubs->str, ==, "");

  /* 3 kept (3, 4, 5): the gap after 1 is gone. */
  recover (b, "news", 1, epoch, &r);
  g_assert_no_error (r.error);
  g_assert_false (r.recovered);
  g_assert_cmpstr (r.pubs->str, ==, "");
  g_assert_cmpuint (r.top, ==, 5);

  recover (b, "news", 4, "another", &r);
  g_assert_false (r.recovered);

  /* The history lost: a new epoch, offsets from 1. */
  freeReplyObject (owl_test_redis_command (redis, "FLUSHALL"));
  publish (a, "news", "{\"n\":6}");
  OWL_TEST_WAIT_FOR (seen_b.items->len == 6);
  g_assert_cmpstr (g_ptr_array_index (seen_b.items, 5), ==, "{\"n\":6}@1");
  g_assert_cmpstr (seen_b.epoch, !=, epoch);
  recover (b, "news", 4, epoch, &r);
  g_assert_false (r.recovered);
  g_assert_cmpstr (r.epoch, ==, seen_b.epoch);

  recovery_clear (&r);
  owl_broker_free (a);
  owl_broker_free (b);
  seen_clear (&seen_a);
  seen_clear (&seen_b);
}

/* A node with no member in a room publishes as well: the room's meta in
 * Redis, kept by its members' nodes from their join on, decides that the
 * publication is recorded; a room without history is published plainly.
 * A join that recovers nothing asks for the top alone; an empty epoch at
 * offset 0 follows from the start of the current epoch. */
static gboolean
meta_has_size (OwlTestRedis *redis,
               const char   *key)
{
  redisReply *reply = owl_test_redis_command (redis, "HGET %s size", key);
  gboolean found = reply != NULL && reply->type == REDIS_REPLY_STRING;

  freeReplyObject (reply);
  return found;
}

static void
test_history_elsewhere (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlRoomOptions options = { .history_size = 10, .history_ttl = 60 };
  OwlRoomOptions plain = { 0, };
  Seen seen_a = { 0 }, seen_c = { 0 };
  OwlBroker *a = seen_broker (redis, "node-a", &seen_a);
  OwlBroker *c = seen_broker (redis, "node-c", &seen_c);
  Recovery r = { 0 };

  a->klass->join (a, "kept", &options);
  a->klass->join (a, "plain", &plain);
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.kept", 1);
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.plain", 1);
  OWL_TEST_WAIT_FOR (meta_has_size (redis, OWL_TEST_REDIS_PREFIX ".meta.kept"));
  g_assert_false (meta_has_size (redis, OWL_TEST_REDIS_PREFIX ".meta.plain"));

  publish (c, "kept", "{\"n\":1}");
  publish (c, "plain", "{\"n\":2}");
  OWL_TEST_WAIT_FOR (seen_a.items->len == 2);  /* order is per publisher */
  publish (a, "kept", "{\"n\":3}");
  OWL_TEST_WAIT_FOR (seen_a.items->len == 3);
  g_assert_cmpstr (g_ptr_array_index (seen_a.items, 0), ==, "{\"n\":1}@1");
  g_assert_cmpstr (g_ptr_array_index (seen_a.items, 1), ==, "{\"n\":2}@0");
  g_assert_cmpstr (g_ptr_array_index (seen_a.items, 2), ==, "{\"n\":3}@2");
  g_assert_cmpint (owl_test_broker_stat (c, "failed"), ==, 0);

  recover (a, "kept", 0, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_false (r.recovered);
  g_assert_cmpstr (r.pubs->str, ==, "");
  g_assert_cmpuint (r.top, ==, 2);
  g_assert_cmpstr (r.epoch, ==, seen_a.epoch);

  recover (a, "kept", 0, "", &r);
  g_assert_true (r.recovered);
  g_assert_cmpstr (r.pubs->str, ==, "{\"n\":1}@1,{\"n\":3}@2,");

  recovery_clear (&r);
  owl_broker_free (a);
  owl_broker_free (c);
  seen_clear (&seen_a);
  seen_clear (&seen_c);
}

/* Bad input and a Redis that answers errors -------------------------------------- */

typedef struct
{
  gboolean  done;
  GString  *ids;
  GError   *error;
} Presence;

static void
presence_cb (gpointer      user_data,
             JsonNode     *members,
             const GError *error)
{
  Presence *p = user_data;

  p->done = TRUE;
  p->error = error ? g_error_copy (error) : NULL;
  if (members != NULL)
    for (guint i = 0; i < json_array_get_length (json_node_get_array (members)); i++)
      g_string_append_printf (p->ids, "%s,", json_object_get_string_member (
                                json_array_get_object_element (json_node_get_array (members), i), "id"));
}

/* A key of the wrong type where the broker keeps a room's history or
 * presence: the publication is still served locally (without a position)
 * and counted failed, recovery and the presence query answer an error,
 * and other rooms go on. */
static void
test_wrong_type (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlRoomOptions options = { .history_size = 10, .history_ttl = 60 };
  Seen seen = { 0 };
  OwlBroker *a = seen_broker (redis, "node-a", &seen);
  Recovery r = { 0 };
  Presence p = { FALSE, g_string_new (NULL), NULL };

  freeReplyObject (owl_test_redis_command (redis, "SET %s x", OWL_TEST_REDIS_PREFIX ".meta.bad"));
  freeReplyObject (owl_test_redis_command (redis, "SET %s x", OWL_TEST_REDIS_PREFIX ".presence.bad"));
  a->klass->join (a, "bad", &options);
  a->klass->join (a, "good", &options);
  publish (a, "bad", "{\"n\":1}");
  OWL_TEST_WAIT_FOR (seen.items->len == 1);
  g_assert_cmpstr (g_ptr_array_index (seen.items, 0), ==, "{\"n\":1}@0");
  g_assert_cmpint (owl_test_broker_stat (a, "failed"), ==, 1);

  recover (a, "bad", 0, "", &r);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (r.error->message, "WRONGTYPE"));

  a->klass->presence_query (a, "bad", presence_cb, &p);
  OWL_TEST_WAIT_FOR (p.done);
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_FAILED);

  publish (a, "good", "{\"n\":2}");
  OWL_TEST_WAIT_FOR (seen.items->len == 2);
  g_assert_cmpstr (g_ptr_array_index (seen.items, 1), ==, "{\"n\":2}@1");
  g_assert_true (owl_test_broker_stat (a, "connected"));

  g_string_free (p.ids, TRUE);
  g_clear_error (&p.error);
  recovery_clear (&r);
  owl_broker_free (a);
  seen_clear (&seen);
}

/* A broadcast over 1 MiB is served to the local members only, counted
 * failed, with one warning (not one per broadcast); the next
 * broadcast crosses as usual. */
static void
test_oversized (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlTestMember *a1 = owl_test_member_new ("a1"), *b1 = owl_test_member_new ("b1");
  GString *big = g_string_new ("{\"big\":\"");
  OwlTestNode a, b;

  owl_test_node_init (&a, redis, "node-a");
  owl_test_node_init (&b, redis, "node-b");
  owl_test_member_join (a1, a.rooms, "lobby");
  owl_test_member_join (b1, b.rooms, "lobby");
  owl_test_redis_wait_subscribers (redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 2);
  while (big->len <= OWL_BROKER_REDIS_MAX_PUBLISH)
    g_string_append (big, "xxxxxxxxxxxxxxxx");
  g_string_append (big, "\"}");

  owl_test_expect_warning ("larger than the Redis broker carries");
  owl_test_node_broadcast (&a, "lobby", big->str, NULL);
  owl_test_node_broadcast (&a, "lobby", big->str, NULL);
  owl_test_assert_expected_warnings ();
  /* Once: the second went without a word. */
  g_assert_null (strstr (strstr (owl_test_get_log (), "larger than the Redis broker carries") + 1,
                         "larger than the Redis broker carries"));
  g_assert_cmpuint (a1->received->len, ==, 2);
  g_assert_cmpint (owl_test_broker_stat (a.broker, "failed"), ==, 2);

  owl_test_node_broadcast (&a, "lobby", "{\"small\":1}", NULL);
  OWL_TEST_WAIT_FOR (b1->received->len == 1);
  g_assert_cmpstr (g_ptr_array_index (b1->received, 0), ==, "{\"small\":1}");

  g_string_free (big, TRUE);
  owl_test_node_clear (&a);
  owl_test_node_clear (&b);
  owl_test_member_free (a1);
  owl_test_member_free (b1);
}

/* Freeing the broker answers what waits: a recovery waiting for its
 * room's subscription and a presence query in flight, both cancelled. */
static void
test_free_cancels (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlRoomOptions options = { .history_size = 10, .history_ttl = 60 };
  OwlPosition since = { 0, "" };
  Seen seen = { 0 };
  OwlBroker *a = seen_broker (redis, "node-a", &seen);
  Recovery r = { 0 };
  Presence p = { FALSE, g_string_new (NULL), NULL };

  r.pubs = g_string_new (NULL);
  a->klass->join (a, "room", &options);
  a->klass->recover (a, "room", &since, recovery_cb, &r);
  a->klass->presence_query (a, "room", presence_cb, &p);
  g_assert_false (r.done);
  g_assert_false (p.done);
  owl_broker_free (a);
  g_assert_true (r.done);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (p.done);
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_string_free (p.ids, TRUE);
  g_clear_error (&p.error);
  recovery_clear (&r);
  seen_clear (&seen);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  owl_test_capture_logs ();
  g_test_add_func ("/redis/broadcast", test_broadcast);
  g_test_add_func ("/redis/odd-room", test_odd_room);
  g_test_add_func ("/redis/rejoin", test_rejoin);
  g_test_add_func ("/redis/history", test_history);
  g_test_add_func ("/redis/history-elsewhere", test_history_elsewhere);
  g_test_add_func ("/redis/wrong-type", test_wrong_type);
  g_test_add_func ("/redis/oversized", test_oversized);
  g_test_add_func ("/redis/free-cancels", test_free_cancels);
  return g_test_run ();
}
