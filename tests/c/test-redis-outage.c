/* test-redis-outage.c: the Redis broker when Redis goes away
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Redis killed and started again, and Redis paused (SIGSTOP: the socket
 * stays open and nothing answers): local rooms keep working, what could
 * not cross is counted, the liveness probe notices, reconnection backs
 * off instead of spinning, and everything comes back.
 */

#include "owl-test-util.h"
#include "owl-test-redis.h"

#include <string.h>

typedef struct
{
  OwlTestRedis  *redis;
  OwlTestNode    a, b;
  OwlTestMember *a1, *b1;
} Outage;

static void
outage_init (Outage *o)
{
  o->redis = owl_test_redis_start ();
  owl_test_node_init (&o->a, o->redis, "node-a");
  owl_test_node_init (&o->b, o->redis, "node-b");
  o->a1 = owl_test_member_new ("a1");
  o->b1 = owl_test_member_new ("b1");
  owl_test_member_join (o->a1, o->a.rooms, "lobby");
  owl_test_member_join (o->b1, o->b.rooms, "lobby");
  owl_test_redis_wait_subscribers (o->redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 2);
}

static void
outage_clear (Outage *o)
{
  owl_test_node_clear (&o->a);
  owl_test_node_clear (&o->b);
  owl_test_member_free (o->a1);
  owl_test_member_free (o->b1);
  owl_test_redis_free (o->redis);
}

/* A broadcast from a reaches b1 (and a1, locally). */
static void
assert_crosses (Outage     *o,
                const char *json)
{
  guint a_before = o->a1->received->len, b_before = o->b1->received->len;

  owl_test_node_broadcast (&o->a, "lobby", json, NULL);
  g_assert_cmpuint (o->a1->received->len, ==, a_before + 1);
  OWL_TEST_WAIT_FOR (o->b1->received->len == b_before + 1);
  g_assert_cmpstr (g_ptr_array_index (o->b1->received, b_before), ==, json);
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Lets the main loop run for @ms: a window in which to count what the
 * broker does, not a synchronisation. */
static void
run_for (guint ms)
{
  gboolean over = FALSE;

  g_timeout_add (ms, set_flag_cb, &over);
  OWL_TEST_WAIT_FOR (over);
}

/* Killed: local members keep getting broadcasts, each counted as failed
 * to cross; started again: the rooms are subscribed again and broadcasts
 * cross again; reconnection attempts stayed few. */
static void
test_restart (void)
{
  Outage o = { 0 };
  gint64 failed;

  outage_init (&o);
  assert_crosses (&o, "{\"n\":1}");

  owl_test_redis_stop (o.redis);
  OWL_TEST_WAIT_FOR (!owl_test_broker_stat (o.a.broker, "connected"));
  owl_test_node_broadcast (&o.a, "lobby", "{\"n\":2}", NULL);
  owl_test_node_broadcast (&o.a, "lobby", "{\"n\":3}", NULL);
  g_assert_cmpuint (o.a1->received->len, ==, 3);
  /* At once, or when the command connection hears it lost Redis too. */
  OWL_TEST_WAIT_FOR ((failed = owl_test_broker_stat (o.a.broker, "failed")) == 2);
  run_for (2000);
  /* Backoff: 0.1 s doubling up to 5 s, from two connections. */
  g_assert_cmpint (owl_test_broker_stat (o.a.broker, "reconnects"), <=, 16);

  owl_test_redis_restart (o.redis);
  OWL_TEST_WAIT_FOR_MS (owl_test_broker_stat (o.a.broker, "connected"), 15000);
  owl_test_redis_wait_subscribers (o.redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 2);
  assert_crosses (&o, "{\"n\":4}");
  g_assert_cmpuint (o.b1->received->len, ==, 2);
  g_assert_cmpint (owl_test_broker_stat (o.a.broker, "failed"), ==, failed);
  g_assert_cmpint (owl_test_broker_stat (o.a.broker, "reconnects"), >=, 2);
  outage_clear (&o);
}

/* Paused: the probe notices within about two heartbeats (connected goes
 * FALSE), reconnection stays slow while it is paused, local delivery goes
 * on; resumed: everything crosses again. */
static void
test_pause (void)
{
  Outage o = { 0 };
  gint64 start, reconnects;

  outage_init (&o);
  assert_crosses (&o, "{\"n\":1}");

  owl_test_redis_pause (o.redis, TRUE);
  start = g_get_monotonic_time ();
  OWL_TEST_WAIT_FOR (!owl_test_broker_stat (o.b.broker, "connected"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, (2 * OWL_TEST_REDIS_HEARTBEAT_S + 2) * G_USEC_PER_SEC);

  owl_test_node_broadcast (&o.a, "lobby", "{\"n\":2}", NULL);
  g_assert_cmpuint (o.a1->received->len, ==, 2);
  reconnects = owl_test_broker_stat (o.b.broker, "reconnects");
  run_for (4000);
  /* Each attempt connects (the kernel accepts), waits a deadline (1 s)
   * and backs off: a few in 4 s, per connection. */
  g_assert_cmpint (owl_test_broker_stat (o.b.broker, "reconnects") - reconnects, <=, 10);
  g_assert_false (owl_test_broker_stat (o.b.broker, "connected"));

  owl_test_redis_pause (o.redis, FALSE);
  OWL_TEST_WAIT_FOR_MS (owl_test_broker_stat (o.a.broker, "connected") &&
                        owl_test_broker_stat (o.b.broker, "connected"), 15000);
  owl_test_redis_wait_subscribers (o.redis, OWL_TEST_REDIS_PREFIX ".room.lobby", 2);
  assert_crosses (&o, "{\"n\":3}");
  outage_clear (&o);
}

typedef struct
{
  Outage *o;
  guint   sent;
} Ticker;

static gboolean
tick_marker (gpointer data)
{
  Ticker *t = data;
  g_autofree char *json = g_strdup_printf ("{\"marker\":%u}", t->sent++);

  owl_test_node_broadcast (&t->o->a, "lobby", json, NULL);
  return G_SOURCE_CONTINUE;
}

static guint
count_markers (OwlTestMember *member)
{
  guint n = 0;

  for (guint i = 0; i < member->received->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (member->received, i), "{\"marker\":"))
      n++;
  return n;
}

/* Each marker b got, it got once, and in the order they were sent. */
static void
assert_markers_once (OwlTestMember *member,
                     guint          sent)
{
  gint64 last = -1;

  for (guint i = 0; i < member->received->len; i++)
    {
      const char *text = g_ptr_array_index (member->received, i);
      gint64 n;

      if (!g_str_has_prefix (text, "{\"marker\":"))
        continue;
      n = g_ascii_strtoll (text + strlen ("{\"marker\":"), NULL, 10);
      g_assert_cmpint (n, >, last);
      g_assert_cmpint (n, <, sent);
      last = n;
    }
}

/* Paused while broadcasts pour in: what Redis does not read stays bounded
 * (OWL_REDIS_MAX_BYTES_IN_FLIGHT); beyond it a broadcast fails at once,
 * counted, and is still served locally; the rest fail at the deadline. */
static void
test_backlog (void)
{
  Outage o = { 0 };
  g_autoptr(GString) big = g_string_new ("{\"fill\":\"");
  guint n = 40;

  outage_init (&o);
  while (big->len < 1000 * 1000)
    g_string_append (big, "0123456789abcdef");
  g_string_append (big, "\"}");

  owl_test_redis_pause (o.redis, TRUE);
  for (guint i = 0; i < n; i++)
    owl_test_node_broadcast (&o.a, "lobby", big->str, NULL);
  g_assert_cmpuint (o.a1->received->len, ==, n);
  /* 16 MiB in flight at most: the others failed at once. */
  g_assert_cmpint (owl_test_broker_stat (o.a.broker, "failed"), >=, n - 17);
  OWL_TEST_WAIT_FOR (owl_test_broker_stat (o.a.broker, "failed") == n);

  owl_test_redis_pause (o.redis, FALSE);
  OWL_TEST_WAIT_FOR_MS (owl_test_broker_stat (o.a.broker, "connected") &&
                        owl_test_broker_stat (o.b.broker, "connected"), 15000);
  /* The connections given up on while Redis was paused still had their
   * commands in the socket: Redis runs them when it wakes, so failed
   * publications may arrive late (still once), and their flood may even
   * cost b its new subscription (Redis's output buffer limit for pub/sub),
   * which it then takes again. Broadcasting goes on meanwhile: a marker
   * every 100 ms until one crosses; none twice. */
  {
    Ticker ticker = { &o, 0 };
    guint source = g_timeout_add (100, tick_marker, &ticker);

    tick_marker (&ticker);
    OWL_TEST_WAIT_FOR_MS (count_markers (o.b1) > 0, 20000);
    g_source_remove (source);
    assert_markers_once (o.b1, ticker.sent);
  }
  outage_clear (&o);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  owl_test_capture_logs ();
  g_test_add_func ("/redis/restart", test_restart);
  g_test_add_func ("/redis/pause", test_pause);
  g_test_add_func ("/redis/backlog", test_backlog);
  return g_test_run ();
}
