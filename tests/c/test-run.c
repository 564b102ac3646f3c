/* test-run.c: owl_socket_service_run(), until SIGINT or SIGTERM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The signals are raised at this process from a source that runs inside
 * run(), as a shell's kill or Ctrl-C would send them; the clients are
 * libsoup's on the same main context. Every run is bounded by a watchdog.
 */

#include "owl-test-util.h"

#include <signal.h>

static volatile sig_atomic_t own_handler_calls;

static void
own_handler (int signum)
{
  own_handler_calls++;
}

static gboolean
watchdog_cb (gpointer data)
{
  g_error ("owl_socket_service_run() did not return in time");
  return G_SOURCE_REMOVE;
}

/* run() under a watchdog; how long it took, in ms. */
static gint64
run_bounded (OwlSocketService  *service,
             GCancellable      *cancellable,
             gboolean          *ok,
             GError           **error)
{
  guint watchdog = g_timeout_add (OWL_TEST_TIMEOUT_MS, watchdog_cb, NULL);
  gint64 start = g_get_monotonic_time ();

  *ok = owl_socket_service_run (service, cancellable, error);
  g_source_remove (watchdog);
  return (g_get_monotonic_time () - start) / 1000;
}

static gboolean
raise_cb (gpointer data)
{
  raise (GPOINTER_TO_INT (data));
  return G_SOURCE_REMOVE;
}

/* The client got the shutdown notice, then 1001. */
static void
assert_shut_down (OwlTestClient *client)
{
  g_autoptr(JsonNode) notice = NULL;

  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 1001);
  g_assert_cmpuint (client->texts->len, ==, 1);
  notice = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (notice, "system", NULL);
  g_assert_cmpstr (owl_test_json_get_string (notice, "event"), ==, "shutdown");
}

/* SIGTERM or SIGINT: a graceful stop, run() returns TRUE, and the
 * disposition the process had (its own handler here) is back. */
static void
test_signal (OwlTestFixture *fixture,
             gconstpointer   data)
{
  int signum = GPOINTER_TO_INT (data);
  struct sigaction own = { .sa_handler = own_handler }, saved, after;
  OwlTestClient *first, *second;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  sigemptyset (&own.sa_mask);
  sigaction (signum, &own, &saved);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  first = owl_test_client_connect (fixture, "/ws/echo");
  second = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 1);

  g_idle_add (raise_cb, GINT_TO_POINTER (signum));
  run_bounded (fixture->service, NULL, &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (fixture->n_stopped, ==, 1);
  assert_shut_down (first);
  assert_shut_down (second);
  g_assert_cmpint (own_handler_calls, ==, 0);

  sigaction (signum, NULL, &after);
  g_assert_true (after.sa_handler == own_handler);
  raise (signum);
  g_assert_cmpint (own_handler_calls, ==, 1);
  own_handler_calls = 0;
  sigaction (signum, &saved, NULL);
}

/* A second signal while the stop waits for a client that never answers
 * its close frame: run() returns at once, not after the 5 s close timeout. */
static void
on_closing_raise_again (OwlConnection *connection,
                        guint          code,
                        const char    *reason,
                        gpointer       data)
{
  g_idle_add (raise_cb, GINT_TO_POINTER (SIGINT));
}

static void
test_second_signal (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  OwlConnection *connection;
  OwlTestRaw *raw;
  gboolean ok;
  gint64 ms;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_signal_connect (connection, "closing", G_CALLBACK (on_closing_raise_again), NULL);

  g_idle_add (raise_cb, GINT_TO_POINTER (SIGINT));
  ms = run_bounded (fixture->service, NULL, &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (ms, <, 4000);
  g_assert_true (owl_socket_service_is_stopping (fixture->service));
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, 1001);
  owl_test_raw_send_close (raw, 1001, NULL);
  OWL_TEST_WAIT_FOR (fixture->n_stopped == 1);
  owl_test_raw_free (raw);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_cb (gpointer data)
{
  owl_socket_service_stop (data);
  return G_SOURCE_REMOVE;
}

/* The cancellable stops it as a signal does, and says so; a stop from
 * the application ends the run too. */
static void
test_cancel_and_stop (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  OwlTestClient *client;
  gboolean ok;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 0);

  g_idle_add (cancel_cb, cancellable);
  run_bounded (fixture->service, cancellable, &ok, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (ok);
  assert_shut_down (client);
  g_clear_error (&error);

  /* The service stopped listening; a stop of it again ends a run. */
  g_idle_add (stop_cb, fixture->service);
  run_bounded (fixture->service, NULL, &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (fixture->n_stopped, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  g_test_add ("/owl/run/sigterm", OwlTestFixture, GINT_TO_POINTER (SIGTERM),
              owl_test_fixture_setup, test_signal, owl_test_fixture_teardown);
  g_test_add ("/owl/run/sigint", OwlTestFixture, GINT_TO_POINTER (SIGINT),
              owl_test_fixture_setup, test_signal, owl_test_fixture_teardown);
  OWL_TEST ("/owl/run/second-signal", test_second_signal);
  OWL_TEST ("/owl/run/cancel-and-stop", test_cancel_and_stop);

  return g_test_run ();
}
