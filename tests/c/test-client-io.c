/* test-client-io.c: how OwlSocketClient reads and writes its socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On a socket (and TLS over one) the client reads from one pollable
 * source, a bounded number of reads per main loop turn, and writes each
 * frame at once without blocking; only what the socket does not take waits
 * for an async write. These tests give that path what can go wrong: a
 * message larger than the socket takes at once (the rest of a partly
 * written frame must follow, before the next frame), and more messages at
 * once than one turn reads, over ws:// and wss://, with a second client
 * served alongside; and one message in flight at a time, each echo in a
 * read of its own that does not fill the buffer (on a plain socket such a
 * read ends the turn, and the next echo must still wake the client).
 */

#include <string.h>

#include "owl-test-client.h"
#include "owl-test-util.h"

#define N_BURST 400
#define N_ROUND_TRIPS 200
/* under the server's 1 MiB max-message-size; far more than a loopback
 * socket takes in one write while the server (same thread) cannot read */
#define BIG_SIZE (900 * 1024)

/* One more client, connected to the fixture's echo service. */
static OwlTestWatch *
connect_client (OwlTestFixture *fixture)
{
  OwlTestWatch *watch = owl_test_echo_watch (fixture);

  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  return watch;
}

/* An echo service (ws://, or wss:// when @data is TRUE) that does not
 * rate-limit, and a connected client on it. */
static OwlTestWatch *
start (OwlTestFixture *fixture,
       gconstpointer   data)
{
  owl_test_echo_service (fixture, GPOINTER_TO_INT (data));
  return connect_client (fixture);
}

/* A message far larger than one write takes comes back whole, and the
 * small ones sent before and after it come back around it in order: the
 * rest of the partly written frame went out before the next frame. */
static void
test_large (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = start (fixture, data);
  g_autofree char *text = g_strnfill (BIG_SIZE, 'q');
  g_autofree char *big = g_strdup_printf ("{\"type\":\"big\",\"text\":\"%s\"}", text);
  g_autoptr(GError) error = NULL;

  g_assert_true (owl_socket_client_send_text (watch->client, "{\"type\":\"s\",\"text\":\"before\"}", &error));
  g_assert_true (owl_socket_client_send_text (watch->client, big, &error));
  g_assert_true (owl_socket_client_send_text (watch->client, "{\"type\":\"s\",\"text\":\"after\"}", &error));
  g_assert_no_error (error);
  OWL_TEST_WAIT_FOR (watch->messages->len == 3);
  g_assert_cmpstr (owl_test_watch_text (watch, 0), ==, "before");
  g_assert_cmpuint (strlen (owl_test_watch_text (watch, 1)), ==, BIG_SIZE);
  g_assert_cmpstr (owl_test_watch_text (watch, 1), ==, text);
  g_assert_cmpstr (owl_test_watch_text (watch, 2), ==, "after");
  g_assert_cmpuint (watch->n_errors, ==, 0);
  g_assert_cmpint (owl_socket_client_get_state (watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
}

/* N_BURST messages sent at once come back, all of them and in order,
 * although their echoes arrive faster than one main loop turn reads; a
 * second client connected meanwhile gets its echo too. */
static void
test_burst (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = start (fixture, data);
  g_autoptr(OwlTestWatch) other = NULL;
  g_autofree char *pad = g_strnfill (200, 'p');
  guint i;

  for (i = 0; i < N_BURST; i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"type\":\"n\",\"text\":\"%u\",\"pad\":\"%s\"}", i, pad);

      g_assert_true (owl_socket_client_send_text (watch->client, json, NULL));
    }
  other = connect_client (fixture);
  g_assert_true (owl_socket_client_send_text (other->client, "{\"type\":\"o\",\"text\":\"other\"}", NULL));

  OWL_TEST_WAIT_FOR (watch->messages->len == N_BURST && other->messages->len == 1);
  for (i = 0; i < N_BURST; i++)
    {
      g_autofree char *expected = g_strdup_printf ("%u", i);

      g_assert_cmpstr (owl_test_watch_text (watch, i), ==, expected);
    }
  g_assert_cmpstr (owl_test_watch_text (other, 0), ==, "other");
  g_assert_cmpuint (watch->n_errors + other->n_errors, ==, 0);
}

/* N_ROUND_TRIPS messages, each sent once the echo of the one before came
 * back, by two clients in turn: every echo arrives, in order, although
 * each is read alone and short of the read buffer. */
static void
test_round_trips (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = start (fixture, data);
  g_autoptr(OwlTestWatch) other = connect_client (fixture);
  guint i;

  for (i = 0; i < N_ROUND_TRIPS; i++)
    {
      OwlTestWatch *w = i % 2 == 0 ? watch : other;
      g_autofree char *json = g_strdup_printf ("{\"type\":\"n\",\"text\":\"%u\"}", i);
      g_autofree char *expected = g_strdup_printf ("%u", i);

      g_assert_true (owl_socket_client_send_text (w->client, json, NULL));
      OWL_TEST_WAIT_FOR (w->messages->len == i / 2 + 1);
      g_assert_cmpstr (owl_test_watch_text (w, i / 2), ==, expected);
    }
  g_assert_cmpuint (watch->messages->len + other->messages->len, ==, N_ROUND_TRIPS);
  g_assert_cmpuint (watch->n_errors + other->n_errors, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);
  OWL_TEST_WS_WSS ("/owl/client/io/large", test_large);
  OWL_TEST_WS_WSS ("/owl/client/io/burst", test_burst);
  OWL_TEST_WS_WSS ("/owl/client/io/round-trips", test_round_trips);
  return g_test_run ();
}
