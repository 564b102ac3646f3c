/* test-redis-presence.c: presence across nodes through Redis
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two nodes on one redis-server: the query answers the union of both
 * nodes' entries; the entries of a node that stops heartbeating vanish
 * within two heartbeats, those of a live node stay.
 */

#include "owl-test-util.h"
#include "owl-test-redis.h"

#include <string.h>

typedef struct
{
  gboolean  done;
  GString  *ids;    /* "id," in the order of the answer */
  char     *first;  /* the first entry, as JSON */
  GError   *error;
} Query;

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static void
query_cb (gpointer      user_data,
          JsonNode     *members,
          const GError *error)
{
  Query *q = user_data;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  JsonArray *array;

  q->done = TRUE;
  q->error = error ? g_error_copy (error) : NULL;
  if (members == NULL)
    return;
  array = json_node_get_array (members);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (ids, (gpointer) json_object_get_string_member (json_array_get_object_element (array, i),
                                                                    "id"));
  g_ptr_array_sort (ids, compare_ids);
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (q->ids, "%s,", (char *) g_ptr_array_index (ids, i));
  if (json_array_get_length (array) > 0)
    q->first = json_to_string (json_array_get_element (array, 0), FALSE);
}

/* The ids present in @room, sorted, as @broker answers. */
static char *
query (OwlBroker  *broker,
       const char *room)
{
  Query q = { FALSE, g_string_new (NULL), NULL, NULL };

  broker->klass->presence_query (broker, room, query_cb, &q);
  OWL_TEST_WAIT_FOR (q.done);
  g_assert_no_error (q.error);
  g_free (q.first);
  return g_string_free (q.ids, FALSE);
}

static void
add (OwlBroker  *broker,
     const char *room,
     const char *id)
{
  g_autofree char *text = g_strdup_printf ("{\"id\":\"%s\",\"user\":null,\"node\":\"%s\"}", id, broker->node);
  g_autoptr(JsonNode) entry = owl_test_json_parse (text);

  broker->klass->presence_add (broker, room, id, entry);
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Asks again every 100 ms until @room holds exactly @expected. */
static void
wait_presence (OwlBroker  *broker,
               const char *room,
               const char *expected)
{
  OwlTestWatchdog *watchdog = owl_test_watchdog_new (OWL_TEST_TIMEOUT_MS);

  for (;;)
    {
      g_autofree char *ids = query (broker, room);
      gboolean next = FALSE;

      if (g_str_equal (ids, expected))
        break;
      if (owl_test_watchdog_fired (watchdog))
        owl_test_watchdog_fail (expected, __FILE__, __LINE__);
      g_timeout_add (100, set_flag_cb, &next);
      OWL_TEST_WAIT_FOR (next);
    }
  owl_test_watchdog_free (watchdog);
}

static void
test_presence (void)
{
  g_autoptr(OwlTestRedis) redis = owl_test_redis_start ();
  OwlTestNode a, b;
  g_autofree char *both = NULL, *after_remove = NULL, *empty = NULL, *kept = NULL;
  Query q = { FALSE, g_string_new (NULL), NULL, NULL };
  gint64 added, stopped, gone;
  gboolean later = FALSE;

  owl_test_node_init (&a, redis, "node-a");
  owl_test_node_init (&b, redis, "node-b");
  add (a.broker, "room", "a1");
  add (a.broker, "room", "a2");
  add (b.broker, "room", "b1");
  added = g_get_monotonic_time ();
  /* b's entry went through b's connection: it may come a little later. */
  wait_presence (a.broker, "room", "a1,a2,b1,");
  both = query (b.broker, "room");
  g_assert_cmpstr (both, ==, "a1,a2,b1,");
  empty = query (a.broker, "elsewhere");
  g_assert_cmpstr (empty, ==, "");

  b.broker->klass->presence_remove (b.broker, "room", "b1");
  add (b.broker, "room", "b2");
  a.broker->klass->presence_remove (a.broker, "room", "a2");
  wait_presence (b.broker, "room", "a1,b2,");
  after_remove = query (a.broker, "room");
  g_assert_cmpstr (after_remove, ==, "a1,b2,");

  /* The entry is what the node gave. */
  a.broker->klass->presence_query (a.broker, "room", query_cb, &q);
  OWL_TEST_WAIT_FOR (q.done);
  g_assert_true (g_str_equal (q.first, "{\"id\":\"a1\",\"user\":null,\"node\":\"node-a\"}") ||
                 g_str_equal (q.first, "{\"id\":\"b2\",\"user\":null,\"node\":\"node-b\"}"));

  /* b stops: no more heartbeats; its entry expires within two. */
  owl_test_node_clear (&b);
  stopped = g_get_monotonic_time ();
  wait_presence (a.broker, "room", "a1,");
  gone = g_get_monotonic_time ();
  g_assert_cmpint (gone - stopped, <, (2 * OWL_TEST_REDIS_HEARTBEAT_S + 1) * G_USEC_PER_SEC);

  /* a's, refreshed every heartbeat, outlive their first expiry. */
  g_timeout_add ((guint) (MAX (0, 3 * OWL_TEST_REDIS_HEARTBEAT_S * G_USEC_PER_SEC - (gone - added)) / 1000) + 1,
                 set_flag_cb, &later);
  OWL_TEST_WAIT_FOR (later);
  kept = query (a.broker, "room");
  g_assert_cmpstr (kept, ==, "a1,");

  g_string_free (q.ids, TRUE);
  g_free (q.first);
  owl_test_node_clear (&a);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  owl_test_capture_logs ();
  g_test_add_func ("/redis/presence", test_presence);
  return g_test_run ();
}
