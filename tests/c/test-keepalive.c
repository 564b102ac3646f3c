/* test-keepalive.c: server pings, the pong deadline, the idle timeout and
 * client pings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Timeouts run off the service's one-second tick: with a 1 s interval and a
 * 1 s deadline a silent client is closed within about 2-3 s, well inside the
 * 10 s watchdog of every wait. The pong deadline and the idle timeout run
 * over both transports (OWL_TEST_TRANSPORTS).
 */

#include "owl-test-util.h"

#include <string.h>

static void
assert_echo (OwlTestClient *client,
             const char    *text)
{
  guint index = client->texts->len;
  g_autoptr(JsonNode) node = NULL;

  owl_test_client_send (client, text);
  node = owl_test_client_wait_json (client, index);
  owl_test_assert_json_equal (node, text);
}

static void
assert_echo_works (OwlTestFixture *fixture,
                   const char     *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);

  assert_echo (client, "{\"type\":\"still-here\",\"n\":42}");
  owl_test_client_free (client);
}

static void
set_service (OwlTestFixture *fixture,
             gint            ping_interval,
             gint            pong_timeout,
             gint            idle_timeout)
{
  g_object_set (fixture->service,
                "ping-interval", ping_interval,
                "pong-timeout", pong_timeout,
                "idle-timeout", idle_timeout,
                NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
}

/* A raw client that never answers pings gets pings, then 4408 once the
 * deadline passed; a libsoup client, which answers them, stays open the
 * whole time. */
static void
test_pong_deadline (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *client_conn;
  OwlConnection *raw_conn;
  OwlTestRaw *raw;
  g_autofree char *reason = NULL;
  guint n_pings = 0;
  gint64 start, accepted;
  gint64 ping_ms;
  gint64 elapsed_ms;
  gint code;

  set_service (fixture, 1, 1, 0);
  client = owl_test_client_connect (fixture, "/ws/echo");
  client_conn = owl_test_fixture_wait_accepted (fixture, 0);

  /* The server's connection begins between the two: a TLS handshake
   * takes a while, longer under a sanitizer. */
  start = g_get_monotonic_time ();
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  raw_conn = owl_test_fixture_wait_accepted (fixture, 1);
  accepted = g_get_monotonic_time ();

  /* The first thing to arrive is a ping, after the interval. */
  {
    g_autoptr(OwlTestFrame) ping = owl_test_raw_read_frame (raw);

    g_assert_nonnull (ping);
    g_assert_cmpuint (ping->opcode, ==, 0x9);
    g_assert_false (ping->masked);
    n_pings++;
  }
  ping_ms = (g_get_monotonic_time () - start) / 1000;

  code = owl_test_raw_read_close (raw, &reason, &n_pings);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("first ping after %" G_GINT64_FORMAT " ms; close %d \"%s\" after %"
                  G_GINT64_FORMAT " ms and %u pings", ping_ms, code, reason, elapsed_ms, n_pings);
  g_assert_cmpint (code, ==, 4408);
  g_assert_cmpint (ping_ms, >=, 900);
  g_assert_cmpint (ping_ms - (accepted - start) / 1000, <, 2500);
  /* The deadline runs from the ping: 1 s, plus up to a tick. */
  g_assert_cmpint (elapsed_ms - ping_ms, >=, 900);
  g_assert_cmpint (elapsed_ms - ping_ms, <, 2500);

  /* The close handshake completes when we answer. */
  g_assert_true (owl_test_raw_send_close (raw, 4408, NULL));
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (raw_conn);
  g_assert_cmpuint (owl_test_record_get (raw_conn)->close_code, ==, 4408);
  owl_test_raw_free (raw);

  /* The libsoup client saw the same pings and answered them. */
  g_assert_cmpuint (client->n_closed, ==, 0);
  g_assert_cmpuint (owl_test_record_get (client_conn)->n_closed, ==, 0);
  g_assert_cmpint (owl_connection_get_state (client_conn), ==, OWL_CONNECTION_OPEN);
  assert_echo (client, "{\"type\":\"after-pong-deadline\"}");
  assert_echo_works (fixture, "/ws/echo");
}

/* Pings answered, by hand and by libsoup, keep connections open through
 * several intervals. */
static void
test_pings_answered (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *client_conn;
  OwlConnection *raw_conn;
  OwlTestRaw *raw;
  guint n_pings = 0;

  set_service (fixture, 1, 1, 0);
  client = owl_test_client_connect (fixture, "/ws/echo");
  client_conn = owl_test_fixture_wait_accepted (fixture, 0);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  raw_conn = owl_test_fixture_wait_accepted (fixture, 1);

  /* Three pings: at least two intervals, each with a deadline that
   * passed without a close. */
  while (n_pings < 3)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);
      gsize len;
      const void *payload;

      g_assert_nonnull (frame);
      g_assert_cmpuint (frame->opcode, ==, 0x9);
      g_assert_true (frame->fin);
      g_assert_false (frame->masked);
      payload = g_bytes_get_data (frame->payload, &len);
      g_assert_true (owl_test_raw_send_frame (raw, 0x8a, TRUE, payload, len));
      n_pings++;
    }

  g_assert_cmpuint (client->n_closed, ==, 0);
  g_assert_cmpuint (owl_test_record_get (client_conn)->n_closed, ==, 0);
  g_assert_cmpuint (owl_test_record_get (raw_conn)->n_closed, ==, 0);
  assert_echo (client, "{\"type\":\"kept-alive\"}");

  g_assert_true (owl_test_raw_send_text (raw, "{\"type\":\"raw-kept-alive\"}"));
  for (;;)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);

      g_assert_nonnull (frame);
      if (frame->opcode == 0x9)
        continue;
      g_assert_cmpuint (frame->opcode, ==, 0x1);
      g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                       "{\"type\":\"raw-kept-alive\"}", strlen ("{\"type\":\"raw-kept-alive\"}"));
      break;
    }
  owl_test_raw_free (raw);
  assert_echo_works (fixture, "/ws/echo");
}

/* A module's ping-interval 0 turns pings off for its connections only. */
static void
test_module_overrides_ping (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  OwlModule *quiet;
  OwlTestRaw *raw;
  OwlTestRaw *loud;
  OwlConnection *quiet_conn;
  gint code;
  guint n_pings = 0;

  quiet = owl_test_fixture_add_echo_module (fixture, "quiet", "/ws/quiet");
  g_object_set (quiet, "ping-interval", 0, NULL);
  set_service (fixture, 1, 1, 0);

  raw = owl_test_raw_connect (fixture->port, "/ws/quiet");
  quiet_conn = owl_test_fixture_wait_accepted (fixture, 0);
  loud = owl_test_raw_connect (fixture->port, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 1);

  /* The service's connection is closed for its unanswered ping... */
  code = owl_test_raw_read_close (loud, NULL, &n_pings);
  g_assert_cmpint (code, ==, 4408);
  g_assert_cmpuint (n_pings, >=, 1);
  owl_test_raw_free (loud);

  /* ...while the quiet module's got no ping and is open. */
  g_assert_cmpuint (owl_test_record_get (quiet_conn)->n_closed, ==, 0);
  g_assert_true (owl_test_raw_send_frame (raw, 0x89, TRUE, "q", 1));
  {
    g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);

    g_assert_nonnull (frame);
    g_assert_cmpuint (frame->opcode, ==, 0xA);
  }
  owl_test_raw_free (raw);
  assert_echo_works (fixture, "/ws/quiet");
}

typedef struct
{
  OwlTestClient *client;
  guint          n_sent;
} Chatter;

static gboolean
chatter_cb (gpointer user_data)
{
  Chatter *chatter = user_data;

  if (chatter->client->ws != NULL &&
      soup_websocket_connection_get_state (chatter->client->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      owl_test_client_send_printf (chatter->client, "{\"type\":\"chatter\",\"n\":%u}",
                                   chatter->n_sent);
      chatter->n_sent++;
    }
  return G_SOURCE_CONTINUE;
}

/* A client that sends nothing is closed with 1001 after the idle timeout;
 * one that keeps talking is not. */
static void
test_idle_timeout (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  Chatter chatter = { NULL, 0 };
  OwlConnection *chatter_conn;
  OwlConnection *raw_conn;
  OwlTestRaw *raw;
  g_autofree char *reason = NULL;
  guint n_pings = 0;
  gint64 start, elapsed_ms;
  guint chatter_id;
  gint code;

  set_service (fixture, 0, 1, 1);
  chatter.client = owl_test_client_connect (fixture, "/ws/echo");
  chatter_conn = owl_test_fixture_wait_accepted (fixture, 0);
  chatter_id = g_timeout_add (200, chatter_cb, &chatter);

  start = g_get_monotonic_time ();
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  raw_conn = owl_test_fixture_wait_accepted (fixture, 1);

  code = owl_test_raw_read_close (raw, &reason, &n_pings);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("close %d \"%s\" after %" G_GINT64_FORMAT " ms", code, reason, elapsed_ms);
  g_assert_cmpint (code, ==, OWL_CLOSE_GOING_AWAY);
  g_assert_cmpuint (n_pings, ==, 0);
  g_assert_cmpint (elapsed_ms, >=, 900);
  g_assert_cmpint (elapsed_ms, <, 5000);
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_GOING_AWAY, NULL));
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (raw_conn);
  g_assert_cmpuint (owl_test_record_get (raw_conn)->close_code, ==, OWL_CLOSE_GOING_AWAY);
  owl_test_raw_free (raw);

  /* The chatty client lived through the same period. */
  g_source_remove (chatter_id);
  g_test_message ("the chatty client sent %u messages", chatter.n_sent);
  g_assert_cmpuint (chatter.n_sent, >=, 4);
  g_assert_cmpuint (chatter.client->n_closed, ==, 0);
  g_assert_cmpuint (owl_test_record_get (chatter_conn)->n_closed, ==, 0);
  /* Every chatter echo first: one still on its way would land where the
   * next echo is awaited. */
  OWL_TEST_WAIT_FOR (chatter.client->texts->len == chatter.n_sent);
  assert_echo (chatter.client, "{\"type\":\"after-idle\"}");
  assert_echo_works (fixture, "/ws/echo");
}

/* A peer that never answers the server's close frame is cut off after
 * the close handshake timeout (5 s), and `closed` reports the server's
 * code. */
static void
test_close_handshake_timeout (OwlTestFixture *fixture,
                              gconstpointer   data)
{
  OwlTestRaw *raw;
  OwlConnection *conn;
  g_autofree char *reason = NULL;
  gint64 start, elapsed_ms;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  start = g_get_monotonic_time ();
  owl_connection_close (conn, 4000, "server is done");
  g_assert_cmpint (owl_test_raw_read_close (raw, &reason, NULL), ==, 4000);
  g_assert_cmpstr (reason, ==, "server is done");
  g_assert_cmpuint (owl_test_record_get (conn)->n_closed, ==, 0);

  /* No answer from us: the server hangs up by itself. */
  g_assert_true (owl_test_raw_wait_eof (raw));
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("the server hung up %" G_GINT64_FORMAT " ms after its close frame", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 4500);
  g_assert_cmpint (elapsed_ms, <, 8000);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, 4000);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
  owl_test_raw_free (raw);
  assert_echo_works (fixture, "/ws/echo");
}

/* A client ping gets a pong with the same payload, empty and at the
 * 125-byte maximum too, also between the fragments of a message. */
static void
test_client_ping (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  const char *payloads[] = { "owl-ping-1234", "", NULL };
  g_autofree char *longest = g_strnfill (125, 'p');
  OwlTestRaw *raw;
  OwlConnection *conn;

  payloads[2] = longest;
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr(OwlTestFrame) frame = NULL;

      g_assert_true (owl_test_raw_send_frame (raw, 0x89, TRUE, payloads[i], strlen (payloads[i])));
      frame = owl_test_raw_read_frame (raw);
      g_assert_nonnull (frame);
      g_assert_cmpuint (frame->opcode, ==, 0xA);
      g_assert_true (frame->fin);
      g_assert_false (frame->masked);
      g_assert_cmpuint (frame->rsv, ==, 0);
      g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                       payloads[i], strlen (payloads[i]));
    }

  /* Between fragments: the pong first, then the whole message. */
  g_assert_true (owl_test_raw_send_frame (raw, 0x01, TRUE, "{\"type\":", 8));
  g_assert_true (owl_test_raw_send_frame (raw, 0x89, TRUE, "between", 7));
  g_assert_true (owl_test_raw_send_frame (raw, 0x80, TRUE, "\"frag\"}", 7));
  {
    g_autoptr(OwlTestFrame) pong = owl_test_raw_read_frame (raw);
    g_autoptr(OwlTestFrame) echo = owl_test_raw_read_frame (raw);

    g_assert_nonnull (pong);
    g_assert_cmpuint (pong->opcode, ==, 0xA);
    g_assert_cmpmem (g_bytes_get_data (pong->payload, NULL), g_bytes_get_size (pong->payload),
                     "between", 7);
    g_assert_nonnull (echo);
    g_assert_cmpuint (echo->opcode, ==, 0x1);
    g_assert_cmpmem (g_bytes_get_data (echo->payload, NULL), g_bytes_get_size (echo->payload),
                     "{\"type\":\"frag\"}", 15);
  }
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 1);
  g_assert_cmpuint (owl_test_record_get (conn)->n_closed, ==, 0);

  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_NORMAL, "bye"));
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, OWL_CLOSE_NORMAL);
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_raw_free (raw);
  assert_echo_works (fixture, "/ws/echo");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST_TRANSPORTS ("/owl/keepalive/pong-deadline", test_pong_deadline);
  OWL_TEST ("/owl/keepalive/pings-answered", test_pings_answered);
  OWL_TEST ("/owl/keepalive/module-override", test_module_overrides_ping);
  OWL_TEST_TRANSPORTS ("/owl/keepalive/idle-timeout", test_idle_timeout);
  OWL_TEST ("/owl/keepalive/client-ping", test_client_ping);
  OWL_TEST ("/owl/keepalive/close-handshake-timeout", test_close_handshake_timeout);

  return g_test_run ();
}
