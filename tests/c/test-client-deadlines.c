/* test-client-deadlines.c: the ping timeout of many clients on one main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The clients of a main context keep their connections' deadlines
 * (ping-timeout, stable-after) on one source, the context poller's
 * (owlsock/wire/owl-poller.c), instead of two GLib timers each. Checked
 * on the source itself (a deadline armed earlier than the others moves
 * its wake-up, one moved or disarmed does not fire, callbacks remove and
 * add deadlines of the batch being dispatched) and through clients: 50 of
 * them whose server went silent are each cut with 4408 within the
 * deadline, clients finalised meanwhile leave the others' deadlines
 * intact, and clients that hear from their server are never cut. The
 * ASan run checks that nothing removed is touched.
 */

#include "owl-poller-private.h"
#include "owl-test-client.h"
#include "owl-test-util.h"

/* How late past its deadline a silent server may be noticed: the loaded
 * machine and ASan, not the source, make it late. */
#define SLACK_MS 1500

/* The source --------------------------------------------------------------------------- */

typedef struct _Probe Probe;

struct _Probe
{
  OwlPoller         *poller;
  OwlPollerDeadline *deadline;
  guint              n_fired;
  gint64             fired_at;
  gint64             rearm_us;   /* > 0: arms itself again once, this much later */
  Probe             *victim;     /* removed by this one's callback */
  gboolean           remove_self;
  Probe             *spawn;      /* added and armed at once by this one's callback */
};

static void probe_fired (gpointer data, gint64 now);

static void
probe_add (Probe     *probe,
           OwlPoller *poller)
{
  probe->poller = poller;
  probe->deadline = owl_poller_add_deadline (poller, probe_fired, probe);
}

static void
probe_remove (Probe *probe)
{
  owl_poller_remove_deadline (probe->poller, g_steal_pointer (&probe->deadline));
}

static void
probe_fired (gpointer data,
             gint64   now)
{
  Probe *probe = data;

  probe->n_fired++;
  probe->fired_at = now;
  if (probe->victim != NULL && probe->victim->deadline != NULL)
    probe_remove (probe->victim);
  if (probe->spawn != NULL && probe->spawn->deadline == NULL)
    {
      probe_add (probe->spawn, probe->poller);
      owl_poller_set_deadline (probe->poller, probe->spawn->deadline, now);
    }
  if (probe->rearm_us > 0)
    {
      owl_poller_set_deadline (probe->poller, probe->deadline, now + probe->rearm_us);
      probe->rearm_us = 0;
    }
  if (probe->remove_self)
    probe_remove (probe);
}

static OwlPoller *
context_poller (void)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  return owl_poller_ref_for_context (context);
}

/* A deadline armed after a later one fires at its own time, not at the
 * other's; one disarmed never fires; one moved later fires at the new
 * time; each fires once. */
static void
test_source_order (void)
{
  g_autoptr(OwlPoller) poller = context_poller ();
  Probe late = { 0, }, early = { 0, }, disarmed = { 0, }, moved = { 0, };
  gint64 start = g_get_monotonic_time ();

  probe_add (&late, poller);
  probe_add (&early, poller);
  probe_add (&disarmed, poller);
  probe_add (&moved, poller);
  owl_poller_set_deadline (poller, late.deadline, start + 1000 * 1000);
  owl_poller_set_deadline (poller, early.deadline, start + 50 * 1000);
  owl_poller_set_deadline (poller, disarmed.deadline, start + 100 * 1000);
  owl_poller_set_deadline (poller, disarmed.deadline, -1);
  owl_poller_set_deadline (poller, moved.deadline, start + 150 * 1000);
  owl_poller_set_deadline (poller, moved.deadline, start + 300 * 1000);
  g_assert_cmpuint (owl_poller_count_deadlines (poller), ==, 4);

  OWL_TEST_WAIT_FOR (late.n_fired > 0);
  owl_test_drain ();
  g_assert_cmpuint (early.n_fired, ==, 1);
  g_assert_cmpint (early.fired_at, >=, start + 50 * 1000);
  g_assert_cmpint (early.fired_at, <, start + 1000 * 1000);
  g_assert_cmpuint (moved.n_fired, ==, 1);
  g_assert_cmpint (moved.fired_at, >=, start + 300 * 1000);
  g_assert_cmpuint (late.n_fired, ==, 1);
  g_assert_cmpint (late.fired_at, >=, start + 1000 * 1000);
  g_assert_cmpuint (disarmed.n_fired, ==, 0);

  probe_remove (&late);
  probe_remove (&early);
  probe_remove (&disarmed);
  probe_remove (&moved);
  g_assert_cmpuint (owl_poller_count_deadlines (poller), ==, 0);
}

/* Due together: two that remove each other (only the first called
 * fires), one that removes itself and adds a new one due at once, one
 * that arms itself again. */
static void
test_source_reentrant (void)
{
  g_autoptr(OwlPoller) poller = context_poller ();
  Probe a = { 0, }, b = { 0, }, self_removing = { 0, }, spawned = { 0, }, again = { 0, };
  gint64 due = g_get_monotonic_time () + 20 * 1000;

  a.victim = &b;
  b.victim = &a;
  self_removing.remove_self = TRUE;
  self_removing.spawn = &spawned;
  again.rearm_us = 20 * 1000;
  probe_add (&a, poller);
  probe_add (&b, poller);
  probe_add (&self_removing, poller);
  probe_add (&again, poller);
  owl_poller_set_deadline (poller, a.deadline, due);
  owl_poller_set_deadline (poller, b.deadline, due);
  owl_poller_set_deadline (poller, self_removing.deadline, due);
  owl_poller_set_deadline (poller, again.deadline, due);

  OWL_TEST_WAIT_FOR (again.n_fired == 2 && spawned.n_fired == 1);
  owl_test_drain ();
  g_assert_cmpuint (a.n_fired + b.n_fired, ==, 1);
  g_assert_cmpuint (self_removing.n_fired, ==, 1);
  g_assert_null (self_removing.deadline);
  g_assert_cmpuint (spawned.n_fired, ==, 1);
  g_assert_cmpuint (again.n_fired, ==, 2);
  /* the survivor of a and b, spawned, again */
  g_assert_cmpuint (owl_poller_count_deadlines (poller), ==, 3);

  probe_remove (a.deadline != NULL ? &a : &b);
  probe_remove (&spawned);
  probe_remove (&again);
  g_assert_cmpuint (owl_poller_count_deadlines (poller), ==, 0);
}

/* Clients ------------------------------------------------------------------------------ */

typedef struct
{
  OwlTestWatch *watch;
  gint64        connected_at;
  gint64        closed_at;
} Timed;

static void
on_timed_state (OwlSocketClient      *client,
                OwlSocketClientState  old_state,
                OwlSocketClientState  new_state,
                Timed                *timed)
{
  if (new_state == OWL_SOCKET_CLIENT_CONNECTED)
    timed->connected_at = g_get_monotonic_time ();
  else if (new_state == OWL_SOCKET_CLIENT_CLOSED)
    timed->closed_at = g_get_monotonic_time ();
}

static void
timed_free (Timed *timed)
{
  g_signal_handlers_disconnect_by_data (timed->watch->client, timed);
  owl_test_watch_free (timed->watch);
  g_free (timed);
}

/* @n clients of @uri with @ping_timeout and no reconnect, opened. */
static GPtrArray *
timed_open (const char *uri,
            guint       n,
            guint       ping_timeout)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) timed_free);

  for (guint i = 0; i < n; i++)
    {
      Timed *timed = g_new0 (Timed, 1);

      timed->watch = owl_test_watch_new (uri);
      g_object_set (timed->watch->client, "reconnect", FALSE, "ping-timeout", ping_timeout, NULL);
      g_signal_connect (timed->watch->client, "state-changed", G_CALLBACK (on_timed_state), timed);
      owl_socket_client_open (timed->watch->client);
      g_ptr_array_add (all, timed);
    }
  return all;
}

static guint
count_ever_connected (GPtrArray *all)
{
  guint n = 0;

  for (guint i = 0; i < all->len; i++)
    n += ((Timed *) g_ptr_array_index (all, i))->connected_at != 0;
  return n;
}

static guint
count_state (GPtrArray            *all,
             OwlSocketClientState  state)
{
  guint n = 0;

  for (guint i = 0; i < all->len; i++)
    {
      Timed *timed = g_ptr_array_index (all, i);

      n += owl_socket_client_get_state (timed->watch->client) == state;
    }
  return n;
}

/* Each was cut by itself with 4408 once @ping_timeout passed since its
 * connection (less the moment between the handshake, from which the
 * silence counts, and the state change), not much later. */
static void
assert_cut_in_time (GPtrArray *all,
                    guint      ping_timeout)
{
  for (guint i = 0; i < all->len; i++)
    {
      Timed *timed = g_ptr_array_index (all, i);
      gint64 elapsed_ms = (timed->closed_at - timed->connected_at) / 1000;

      g_assert_cmpuint (timed->watch->n_closed, ==, 1);
      g_assert_cmpuint (timed->watch->close_code, ==, OWL_CLOSE_PONG_TIMEOUT);
      g_assert_cmpint (elapsed_ms, >=, (gint64) ping_timeout - 20);
      g_assert_cmpint (elapsed_ms, <, (gint64) ping_timeout + SLACK_MS);
    }
}

static char *
raw_uri (OwlTestRawServer *server)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/ws/raw", server->port);
}

/* A server that stays silent after the upgrade, and the poller of the
 * clients' context. */
typedef struct
{
  OwlTestRawServer *server;
  char             *uri;
  OwlPoller        *poller;
} Silent;

static void
silent_setup (Silent *silent)
{
  silent->server = owl_test_raw_server_new (FALSE, NULL, 0);
  silent->uri = raw_uri (silent->server);
  silent->poller = context_poller ();
}

static void
silent_clear (Silent *silent)
{
  g_clear_pointer (&silent->poller, owl_poller_unref);
  g_clear_pointer (&silent->uri, g_free);
  g_clear_pointer (&silent->server, owl_test_raw_server_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Silent, silent_clear)

/* 50 clients of a server that went silent, opened after 10 with a far
 * deadline: each is cut at its own deadline, not at the far one; the
 * far ones stay connected. One deadline per connected client. */
static void
test_many_silent (void)
{
  g_auto(Silent) silent = { 0, };
  g_autoptr(GPtrArray) far = NULL;
  g_autoptr(GPtrArray) near = NULL;

  silent_setup (&silent);
  far = timed_open (silent.uri, 10, 30000);
  OWL_TEST_WAIT_FOR (count_state (far, OWL_SOCKET_CLIENT_CONNECTED) == far->len);
  near = timed_open (silent.uri, 50, 300);
  OWL_TEST_WAIT_FOR (count_state (near, OWL_SOCKET_CLIENT_CLOSED) == near->len);
  assert_cut_in_time (near, 300);
  g_assert_cmpuint (count_state (far, OWL_SOCKET_CLIENT_CONNECTED), ==, far->len);
  g_assert_cmpuint (owl_poller_count_deadlines (silent.poller), ==, far->len);

  g_clear_pointer (&far, g_ptr_array_unref);
  g_assert_cmpuint (owl_poller_count_deadlines (silent.poller), ==, 0);
}

/* Every other client finalised while the others wait for their
 * deadline: the rest are still cut in time, and the deadlines of those
 * finalised go with them. */
static void
test_finalized_meanwhile (void)
{
  g_auto(Silent) silent = { 0, };
  g_autoptr(GPtrArray) all = NULL;

  silent_setup (&silent);
  all = timed_open (silent.uri, 40, 1000);

  /* The first may be cut already when the last connects, on a loaded
   * machine. */
  OWL_TEST_WAIT_FOR (count_ever_connected (all) == all->len);
  g_assert_cmpuint (owl_poller_count_deadlines (silent.poller), ==, count_state (all, OWL_SOCKET_CLIENT_CONNECTED));
  for (guint i = 0; i < all->len; i++)
    g_ptr_array_remove_index (all, i);
  g_assert_cmpuint (all->len, ==, 20);
  g_assert_cmpuint (owl_poller_count_deadlines (silent.poller), ==, count_state (all, OWL_SOCKET_CLIENT_CONNECTED));

  OWL_TEST_WAIT_FOR (count_state (all, OWL_SOCKET_CLIENT_CLOSED) == all->len);
  assert_cut_in_time (all, 1000);
  g_assert_cmpuint (owl_poller_count_deadlines (silent.poller), ==, 0);
}

typedef struct
{
  GPtrArray *clients;
  guint      n_sent;
} Sender;

static gboolean
send_all (gpointer data)
{
  Sender *sender = data;

  for (guint i = 0; i < sender->clients->len; i++)
    {
      Timed *timed = g_ptr_array_index (sender->clients, i);

      if (owl_socket_client_get_state (timed->watch->client) == OWL_SOCKET_CLIENT_CONNECTED)
        g_assert_true (owl_socket_client_send_text (timed->watch->client, "{\"type\":\"alive\"}", NULL));
    }
  sender->n_sent++;
  return G_SOURCE_CONTINUE;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Clients whose server echoes every 60 ms stay connected through four of
 * their 300 ms deadlines, while those of a silent server on the same
 * context are cut. */
static void
test_kept_alive (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  g_auto(Silent) quiet = { 0, };
  g_autofree char *echo_uri = NULL;
  g_autoptr(GPtrArray) silent = NULL;
  Sender sender = { NULL, 0 };
  gboolean done = FALSE;
  guint send_id;

  silent_setup (&quiet);
  owl_test_echo_service (fixture, FALSE);
  echo_uri = owl_test_client_uri (fixture, "/ws/echo");
  sender.clients = timed_open (echo_uri, 5, 300);
  OWL_TEST_WAIT_FOR (count_state (sender.clients, OWL_SOCKET_CLIENT_CONNECTED) == 5);
  send_id = g_timeout_add (60, send_all, &sender);
  g_timeout_add (1200, set_flag, &done);
  silent = timed_open (quiet.uri, 5, 300);

  OWL_TEST_WAIT_FOR (done && count_state (silent, OWL_SOCKET_CLIENT_CLOSED) == 5);
  g_source_remove (send_id);
  assert_cut_in_time (silent, 300);
  g_assert_cmpuint (sender.n_sent, >=, 4);
  for (guint i = 0; i < sender.clients->len; i++)
    {
      Timed *timed = g_ptr_array_index (sender.clients, i);

      g_assert_cmpint (owl_socket_client_get_state (timed->watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
      g_assert_cmpuint (timed->watch->n_closed, ==, 0);
      g_assert_cmpuint (timed->watch->messages->len, >, 0);
    }
  g_ptr_array_unref (sender.clients);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  g_test_add_func ("/owl/client/deadlines/source/order", test_source_order);
  g_test_add_func ("/owl/client/deadlines/source/reentrant", test_source_reentrant);
  g_test_add_func ("/owl/client/deadlines/many-silent", test_many_silent);
  g_test_add_func ("/owl/client/deadlines/finalized-meanwhile", test_finalized_meanwhile);
  g_test_add ("/owl/client/deadlines/kept-alive", OwlTestFixture, NULL,
              owl_test_fixture_setup, test_kept_alive, owl_test_fixture_teardown);

  return g_test_run ();
}
