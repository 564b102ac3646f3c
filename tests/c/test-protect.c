/* test-protect.c: the service's protective limits: connections in total and
 * per address, slow and oversized handshakes (origins, message rate and
 * drain are in test-protect-policy.c, descriptors in test-protect-fd.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test asserts the exact answer a refused client gets, and that a
 * well-behaved client of the same service is still served.
 */

#include "owl-test-protect.h"

#include <string.h>

#define KIB 1024
#define MIB (1024 * 1024)

/* Defaults --------------------------------------------------------------------- */

static void
test_defaults (OwlTestFixture *fixture,
               gconstpointer   data)
{
  g_autoptr(OwlModule) module = owl_module_new ("m", "/ws/m");
  g_auto(GStrv) origins = NULL;
  g_auto(GStrv) module_origins = NULL;
  gint max_connections = 0, per_ip = 0, handshake_timeout = 0, handshake_size = 0;
  gint burst = 0, module_burst = 0;
  gdouble rate = 0, module_rate = 0;

  g_object_get (fixture->service,
                "max-connections", &max_connections,
                "max-connections-per-ip", &per_ip,
                "handshake-timeout", &handshake_timeout,
                "max-handshake-size", &handshake_size,
                "allowed-origins", &origins,
                "rate-limit", &rate,
                "rate-burst", &burst,
                NULL);
  g_assert_cmpint (max_connections, ==, 10000);
  g_assert_cmpint (per_ip, ==, 100);
  g_assert_cmpint (handshake_timeout, ==, 10);
  g_assert_cmpint (handshake_size, ==, 16384);
  g_assert_true (origins == NULL || origins[0] == NULL);
  g_assert_cmpfloat (rate, ==, 100.0);
  g_assert_cmpint (burst, ==, 200);

  g_object_get (module,
                "allowed-origins", &module_origins,
                "rate-limit", &module_rate,
                "rate-burst", &module_burst,
                NULL);
  g_assert_null (module_origins);
  g_assert_cmpfloat (module_rate, ==, -1.0);
  g_assert_cmpint (module_burst, ==, -1);
}

/* Connections in total and per address ----------------------------------------- */

/* max-connections 3: the fourth upgrade gets 503 with a JSON body, on any
 * module, as often as it is tried; once one leaves, exactly one more fits. */
static void
test_max_connections (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  OwlTestClient *clients[3];
  OwlTestClient *client;

  g_object_set (fixture->service, "max-connections", 3, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_add_echo_module (fixture, "other", "/ws/other");
  owl_test_fixture_listen (fixture);

  clients[0] = owl_test_client_connect (fixture, "/ws/echo");
  clients[1] = owl_test_client_connect (fixture, "/ws/echo");
  clients[2] = owl_test_client_connect (fixture, "/ws/other");
  owl_test_fixture_wait_accepted (fixture, 2);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 3);

  protect_assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");
  protect_assert_refused (fixture, "/ws/other", NULL, 503, "unavailable");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 503);
  protect_assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");

  /* The three are served all the while. */
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    assert_client_echoes (clients[i], 0);

  owl_test_client_free (clients[1]);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);
  client = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (client, 0);
  protect_assert_refused (fixture, "/ws/other", NULL, 503, "unavailable");
  g_assert_cmpuint (fixture->accepted->len, ==, 4);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 3);
  assert_client_echoes (clients[0], 1);
}

/* max-connections-per-ip 2: a third from 127.0.0.1 gets 429. */
static void
test_max_connections_per_ip (OwlTestFixture *fixture,
                             gconstpointer   data)
{
  OwlTestClient *a, *b, *c;

  g_object_set (fixture->service, "max-connections-per-ip", 2, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  a = owl_test_client_connect (fixture, "/ws/echo");
  b = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 1);

  protect_assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 429);
  protect_assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  assert_client_echoes (a, 0);
  assert_client_echoes (b, 0);

  owl_test_client_free (a);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 1);
  c = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (c, 0);
  protect_assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  assert_client_echoes (b, 1);
  g_assert_cmpuint (fixture->accepted->len, ==, 3);
}

/* Upgrades that arrive together: the caps count each as it is let through,
 * not once its 101 is written, so no burst gets past them. */
static void
assert_burst_capped (OwlTestFixture *fixture,
                     guint           cap,
                     guint           refused_status)
{
  Peer *peers[8];
  guint n_upgraded = 0, n_refused = 0;
  g_autofree char *request = upgrade_request (fixture->port, "/ws/echo", NULL, TRUE);

  /* All the requests are written before the service runs once. */
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      peers[i] = peer_open (fixture->port);
      g_assert_cmpuint (peer_write (peers[i], request, strlen (request), FALSE), ==, strlen (request));
    }
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      guint status;

      peer_wait_response (peers[i]);
      status = peer_status (peers[i]);
      if (status == 101)
        n_upgraded++;
      else if (status == refused_status)
        n_refused++;
      else
        g_test_message ("peer %u: unexpected answer \"%s\"", i, peers[i]->received->str);
    }
  g_test_message ("%u of %u upgraded at once, %u refused with %u (cap %u)",
                  n_upgraded, (guint) G_N_ELEMENTS (peers), n_refused, refused_status, cap);
  g_assert_cmpuint (n_upgraded, ==, cap);
  g_assert_cmpuint (n_refused, ==, G_N_ELEMENTS (peers) - cap);
  g_assert_cmpuint (fixture->accepted->len, ==, cap);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), <=, cap);

  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    peer_free (peers[i]);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 0);
  assert_echo_works (fixture, "/ws/echo");
}

static void
test_max_connections_burst (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  g_object_set (fixture->service, "max-connections", 3, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  assert_burst_capped (fixture, 3, 503);
}

static void
test_max_connections_per_ip_burst (OwlTestFixture *fixture,
                                   gconstpointer   data)
{
  g_object_set (fixture->service, "max-connections-per-ip", 2, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  assert_burst_capped (fixture, 2, 429);
}

typedef enum
{
  END_CLIENT_CLOSE,     /* the client's close frame */
  END_CLIENT_DROP,      /* the client's TCP goes, without a close */
  END_SERVER_CLOSE,     /* owl_connection_close() */
  END_PROTOCOL_ERROR,   /* an unmasked frame: 1002 */
  END_TOO_BIG,          /* over max-message-size: 1009 */
  END_RATE_LIMIT,       /* over the rate: 1008 */
  N_ENDS
} ConnectionEnd;

/* max-connections-per-ip 1: however a connection ends, its place is given
 * back, once: the next upgrade is accepted, and a second at once is not. */
static void
test_max_connections_per_ip_released (OwlTestFixture *fixture,
                                      gconstpointer   data)
{
  g_autofree char *big = g_strdup_printf ("{\"type\":\"big\",\"pad\":\"%0100d\"}", 0);
  const char *burst[] = { "{\"type\":\"a\"}", "{\"type\":\"b\"}", "{\"type\":\"c\"}" };
  OwlTestClient *client;

  g_object_set (fixture->service,
                "max-connections-per-ip", 1,
                "max-message-size", (gint64) 64,
                "rate-limit", 1.0,
                "rate-burst", 1,
                NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint end = 0; end < N_ENDS; end++)
    {
      OwlTestRaw *raw = owl_test_raw_connect (fixture->port, "/ws/echo");
      OwlConnection *conn = owl_test_fixture_wait_accepted (fixture, end);
      gint code = -1;

      protect_assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
      switch ((ConnectionEnd) end)
        {
        case END_CLIENT_CLOSE:
          g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_NORMAL, NULL));
          code = owl_test_raw_read_close (raw, NULL, NULL);
          break;
        case END_CLIENT_DROP:
          break;
        case END_SERVER_CLOSE:
          owl_connection_close (conn, OWL_CLOSE_NORMAL, "bye");
          code = owl_test_raw_read_close (raw, NULL, NULL);
          g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_NORMAL, NULL));
          break;
        case END_PROTOCOL_ERROR:
          g_assert_true (owl_test_raw_send_frame (raw, 0x81, FALSE, "{}", 2));
          code = owl_test_raw_read_close (raw, NULL, NULL);
          break;
        case END_TOO_BIG:
          g_assert_true (owl_test_raw_send_text (raw, big));
          code = owl_test_raw_read_close (raw, NULL, NULL);
          g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_TOO_BIG, NULL));
          break;
        case END_RATE_LIMIT:
          send_batch (raw, burst, G_N_ELEMENTS (burst));
          code = owl_test_raw_read_close (raw, NULL, NULL);
          g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_POLICY, NULL));
          break;
        case N_ENDS:
        default:
          g_assert_not_reached ();
        }
      g_test_message ("end %u: close code %d", end, code);
      if (end == END_CLIENT_DROP)
        owl_test_raw_free (g_steal_pointer (&raw));
      owl_test_record_wait_closed (conn);
      g_test_message ("end %u: the server closed with %u", end, owl_test_record_get (conn)->close_code);
      owl_test_raw_free (raw);
      OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 0);
    }

  client = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (client, 0);
  protect_assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  g_assert_cmpuint (fixture->accepted->len, ==, N_ENDS + 1);
}

/* Handshake timeout -------------------------------------------------------------- */

#define HANDSHAKE_TIMEOUT 2   /* s */

static gboolean
drip_cb (gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr(GError) error = NULL;

  if (peer->eof || peer->drip[peer->drip_pos] == '\0')
    {
      g_clear_pointer (&peer->drip_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  if (g_socket_send (peer->socket, peer->drip + peer->drip_pos, 1, NULL, &error) == 1)
    peer->drip_pos++;
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_test_message ("slowloris: write failed after %" G_GSIZE_FORMAT " bytes: %s",
                      peer->drip_pos, error->message);
      peer->write_failed = TRUE;
      g_clear_pointer (&peer->drip_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gint64
peer_lifetime_ms (Peer *peer)
{
  return (peer->ended_at - peer->opened_at) / 1000;
}

/* handshake-timeout 2: a client sending its request one byte per 200 ms, and
 * one sending nothing, are dropped by the server within 2 + 2 s, while a
 * normal client connecting meanwhile is served, and stays served past the
 * timeout. */
static void
test_slowloris (OwlTestFixture *fixture,
                gconstpointer   data)
{
  g_autofree char *padding = g_strnfill (200, 's');
  g_autofree char *slow_header = g_strdup_printf ("X-Slow: %s\r\n", padding);
  Peer *slow, *silent;
  OwlTestClient *good;
  gint64 slow_ms, silent_ms;

  g_object_set (fixture->service, "handshake-timeout", HANDSHAKE_TIMEOUT, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  /* About 380 bytes at 5 a second: over a minute to send it all. */
  slow = peer_open (fixture->port);
  slow->drip = upgrade_request (fixture->port, "/ws/echo", slow_header, TRUE);
  slow->drip_source = g_timeout_source_new (200);
  g_source_set_callback (slow->drip_source, drip_cb, slow, NULL);
  g_source_attach (slow->drip_source, g_main_context_get_thread_default ());
  silent = peer_open (fixture->port);

  good = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (good, 0);
  g_assert_false (slow->eof);
  g_assert_false (silent->eof);

  OWL_TEST_WAIT_FOR_MS (slow->eof && silent->eof, (HANDSHAKE_TIMEOUT + 4) * 1000);
  slow_ms = peer_lifetime_ms (slow);
  silent_ms = peer_lifetime_ms (silent);
  g_test_message ("slowloris dropped after %" G_GINT64_FORMAT " ms (%" G_GSIZE_FORMAT
                  " bytes sent; answer \"%s\"), the silent one after %" G_GINT64_FORMAT
                  " ms (answer \"%s\")", slow_ms, slow->drip_pos, slow->received->str,
                  silent_ms, silent->received->str);
  g_assert_cmpint (slow_ms, >=, (HANDSHAKE_TIMEOUT - 1) * 1000);
  g_assert_cmpint (slow_ms, <=, (HANDSHAKE_TIMEOUT + 2) * 1000);
  g_assert_cmpint (silent_ms, >=, (HANDSHAKE_TIMEOUT - 1) * 1000);
  g_assert_cmpint (silent_ms, <=, (HANDSHAKE_TIMEOUT + 2) * 1000);
  g_assert_false (g_str_has_prefix (slow->received->str, "HTTP/1.1 101"));
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
  peer_free (slow);
  peer_free (silent);

  /* The upgraded client is past the timeout by now, and beyond a tick
   * more: the handshake timer ended with its handshake. */
  owl_test_run_for (1500);
  g_assert_cmpuint (good->n_closed, ==, 0);
  g_assert_cmpint (owl_connection_get_state (g_ptr_array_index (fixture->accepted, 0)),
                   ==, OWL_CONNECTION_OPEN);
  assert_client_echoes (good, 1);
  assert_echo_works (fixture, "/ws/echo");
}

/* Handshake size ------------------------------------------------------------------ */

/* @n header lines of @size bytes each, "\r\n" included. */
static char *
padding_headers (guint n,
                 gsize size)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      gsize start = s->len;

      g_string_append_printf (s, "X-Pad-%06u: ", i);
      while (s->len - start < size - 2)
        g_string_append_c (s, 'p');
      g_string_append (s, "\r\n");
    }
  return g_string_free (s, FALSE);
}

/* max-handshake-size 2048: a request of about 1.4 KiB is upgraded; one of
 * about 4.2 KiB is answered 431 and dropped. */
static void
test_handshake_size (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  g_autofree char *small = padding_headers (1, 1200);
  g_autofree char *big = padding_headers (4, 1000);
  g_autofree char *request = NULL;
  Peer *peer;

  g_object_set (fixture->service, "max-handshake-size", 2048, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (try_upgrade (fixture, "/ws/echo", small, NULL), ==, 101);
  owl_test_fixture_wait_accepted (fixture, 0);

  request = upgrade_request (fixture->port, "/ws/echo", big, TRUE);
  g_test_message ("request of %" G_GSIZE_FORMAT " bytes", strlen (request));
  peer = peer_open (fixture->port);
  peer_write (peer, request, strlen (request), FALSE);
  peer_wait_response (peer);
  g_test_message ("answer: %s", peer->received->str);
  g_assert_cmpuint (peer_status (peer), ==, 431);
  OWL_TEST_WAIT_FOR (peer->eof);
  peer_free (peer);

  owl_test_drain ();
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
  assert_echo_works (fixture, "/ws/echo");
}

/* Up to 4 MiB of header lines: the client gets a 431 or the connection is
 * closed, and the server (this process) never buffers them: its peak RSS
 * grows by less than half of that (room for a sanitizer's own growth).
 * 12 KiB of headers are under the default 16 KiB. */
#define FLOOD_SIZE (4 * MIB)

static void
test_handshake_flood (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autofree char *fits = padding_headers (12, 1000);
  g_autofree char *prefix = NULL;
  char line[KIB + 1];
  Peer *peer;
  gsize written, rss_before, peak_after;
  gboolean peak_reset;
  guint status;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (try_upgrade (fixture, "/ws/echo", fits, NULL), ==, 101);
  owl_test_fixture_wait_accepted (fixture, 0);

  owl_test_drain ();
  peak_reset = owl_test_reset_peak_rss ();
  rss_before = owl_test_get_rss_kib ("VmRSS");

  prefix = upgrade_request (fixture->port, "/ws/echo", NULL, FALSE);
  peer = peer_open (fixture->port);
  written = peer_write (peer, prefix, strlen (prefix), FALSE);
  for (guint i = 0; written < FLOOD_SIZE && !peer->eof && !peer->write_failed &&
                    peer_head_end (peer) == NULL; i++)
    {
      g_snprintf (line, sizeof line, "X-Flood-%08u: %0*d\r\n", i, KIB - 20, 0);
      g_assert_cmpuint (strlen (line), ==, KIB);
      written += peer_write (peer, line, KIB, TRUE);
      /* Let the server read as it comes. */
      g_main_context_iteration (g_main_context_get_thread_default (), FALSE);
    }
  g_test_message ("wrote %" G_GSIZE_FORMAT " bytes of request", written);

  /* Either it answered, or it hung up; it neither waits for more nor upgrades. */
  peer_wait_response (peer);
  status = peer_status (peer);
  g_test_message ("answer: %u \"%.200s\"%s", status, peer->received->str,
                  peer->reset ? " (reset)" : "");
  if (status != 0)
    g_assert_cmpuint (status, ==, 431);
  else
    g_assert_true (peer->eof);
  OWL_TEST_WAIT_FOR (peer->eof);
  peer_free (peer);

  peak_after = owl_test_get_rss_kib (peak_reset ? "VmHWM" : "VmRSS");
  g_test_message ("RSS before %" G_GSIZE_FORMAT " KiB, %s after %" G_GSIZE_FORMAT " KiB",
                  rss_before, peak_reset ? "peak" : "RSS", peak_after);
  g_assert_cmpuint (peak_after, <, rss_before + FLOOD_SIZE / KIB / 2);

  owl_test_drain ();
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
  assert_echo_works (fixture, "/ws/echo");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/protect/defaults", test_defaults);
  OWL_TEST ("/owl/protect/max-connections", test_max_connections);
  OWL_TEST ("/owl/protect/max-connections-per-ip", test_max_connections_per_ip);
  OWL_TEST ("/owl/protect/max-connections/burst", test_max_connections_burst);
  OWL_TEST ("/owl/protect/max-connections-per-ip/burst", test_max_connections_per_ip_burst);
  OWL_TEST ("/owl/protect/max-connections-per-ip/released", test_max_connections_per_ip_released);
  OWL_TEST ("/owl/protect/handshake-timeout", test_slowloris);
  OWL_TEST ("/owl/protect/handshake-size/limit", test_handshake_size);
  OWL_TEST ("/owl/protect/handshake-size/flood", test_handshake_flood);

  return g_test_run ();
}
