/* test-protect.c: the service's protective limits: connections in total and
 * per address, slow and oversized handshakes, origins, message rate,
 * graceful drain, and running out of file descriptors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test asserts the exact answer a refused client gets, and that a
 * well-behaved client of the same service is still served.
 */

#include "owl-test-util.h"

#include <stdio.h>
#include <string.h>

#define KIB 1024
#define MIB (1024 * 1024)

/* A libsoup client on @path whose message comes back unchanged. */
static void
assert_echo_works (OwlTestFixture *fixture,
                   const char     *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);
  g_autoptr(JsonNode) node = NULL;

  owl_test_client_send (client, "{\"type\":\"still-here\",\"n\":42}");
  node = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (node, "{\"type\":\"still-here\",\"n\":42}");
  owl_test_client_free (client);
}

/* A round trip on a client that is already connected: @index is the number
 * of texts it received so far. */
static void
assert_client_echoes (OwlTestClient *client,
                      guint          index)
{
  g_autoptr(JsonNode) node = NULL;

  owl_test_client_send_printf (client, "{\"type\":\"ping-pong\",\"n\":%u}", index);
  node = owl_test_client_wait_json (client, index);
  owl_test_assert_member_json (node, "type", "\"ping-pong\"");
  g_assert_cmpint (owl_test_json_get_int (node, "n"), ==, index);
}

/* The upgrade request for @path, with @extra_headers (each line ending in
 * "\r\n"; may be NULL); @terminate FALSE leaves off the blank line. */
static char *
upgrade_request (guint16     port,
                 const char *path,
                 const char *extra_headers,
                 gboolean    terminate)
{
  return g_strdup_printf ("GET %s HTTP/1.1\r\n"
                          "Host: 127.0.0.1:%u\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "%s%s",
                          path, port, extra_headers ? extra_headers : "",
                          terminate ? "\r\n" : "");
}

/* Peer: a raw TCP client of the service in this process ------------------------
 *
 * Non-blocking: it reads whatever the server sends, as it comes, while the
 * test writes, and notes when the server ends the connection. */

typedef struct
{
  GSocket  *socket;
  GSource  *read_source;
  GString  *received;
  gboolean  eof;            /* the server ended the connection: FIN or reset */
  gboolean  reset;
  gboolean  write_failed;
  gint64    opened_at;      /* monotonic, µs */
  gint64    ended_at;
  /* A slowloris: @drip goes out one byte per tick of @drip_source. */
  char     *drip;
  gsize     drip_pos;
  GSource  *drip_source;
} Peer;

static gboolean
peer_readable_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  Peer *peer = user_data;
  char buf[16 * KIB];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, &error);

      if (n > 0)
        {
          g_string_append_len (peer->received, buf, n);
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n < 0)
        {
          g_test_message ("peer: read failed: %s", error->message);
          peer->reset = TRUE;
        }
      peer->eof = TRUE;
      peer->ended_at = g_get_monotonic_time ();
      g_clear_pointer (&peer->read_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
}

static Peer *
peer_open (guint16 port)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GError) error = NULL;
  Peer *peer = g_new0 (Peer, 1);

  peer->received = g_string_new (NULL);
  peer->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                               G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  /* The kernel completes the TCP handshake from the listen backlog. */
  g_socket_connect (peer->socket, address, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (peer->socket, FALSE);
  peer->opened_at = g_get_monotonic_time ();

  peer->read_source = g_socket_create_source (peer->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (peer->read_source, G_SOURCE_FUNC (peer_readable_cb), peer, NULL);
  g_source_attach (peer->read_source, g_main_context_get_thread_default ());
  return peer;
}

static void
peer_free (Peer *peer)
{
  if (peer->drip_source != NULL)
    {
      g_source_destroy (peer->drip_source);
      g_source_unref (peer->drip_source);
    }
  if (peer->read_source != NULL)
    {
      g_source_destroy (peer->read_source);
      g_source_unref (peer->read_source);
    }
  g_socket_close (peer->socket, NULL);
  g_object_unref (peer->socket);
  g_string_free (peer->received, TRUE);
  g_free (peer->drip);
  g_free (peer);
}

static const char *
peer_head_end (Peer *peer)
{
  return strstr (peer->received->str, "\r\n\r\n");
}

/* The status of the response head, 0 while there is none. */
static guint
peer_status (Peer *peer)
{
  guint status = 0;

  if (peer_head_end (peer) == NULL ||
      sscanf (peer->received->str, "HTTP/1.1 %u", &status) != 1)
    return 0;
  return status;
}

/* Content-Length of the response head, -1 without one. */
static gssize
peer_content_length (Peer *peer)
{
  const char *end = peer_head_end (peer);
  g_autofree char *head = NULL;
  g_auto(GStrv) lines = NULL;

  if (end == NULL)
    return -1;
  head = g_strndup (peer->received->str, end - peer->received->str);
  lines = g_strsplit (head, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], "Content-Length:", 15) == 0)
      return (gssize) g_ascii_strtoll (lines[i] + 15, NULL, 10);
  return -1;
}

/* A whole response: a 101's head, or a head and its body. */
static gboolean
peer_response_complete (Peer *peer)
{
  const char *end = peer_head_end (peer);
  gssize length;

  if (end == NULL)
    return FALSE;
  if (peer_status (peer) == 101)
    return TRUE;
  length = peer_content_length (peer);
  if (length < 0)
    return peer->eof;
  return (gssize) (peer->received->len - (end + 4 - peer->received->str)) >= length;
}

static char *
peer_body (Peer *peer)
{
  const char *end = peer_head_end (peer);
  gssize length = peer_content_length (peer);

  if (end == NULL)
    return NULL;
  end += 4;
  if (length < 0)
    return g_strdup (end);
  return g_strndup (end, MIN ((gsize) length, peer->received->len - (end - peer->received->str)));
}

static gboolean
set_flag_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Writes @data until it is all written, the server ended the connection, a
 * write failed or (with @stop_at_head) a response head arrived; the main
 * context runs while the socket pushes back. Returns the bytes written. */
static gsize
peer_write (Peer       *peer,
            const void *data,
            gsize       len,
            gboolean    stop_at_head)
{
  gsize done = 0;

  while (done < len && !peer->eof && !peer->write_failed &&
         !(stop_at_head && peer_head_end (peer) != NULL))
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (peer->socket, (const char *) data + done, len - done, NULL, &error);

      if (n > 0)
        {
          done += n;
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          gboolean writable = FALSE;
          GSource *source = g_socket_create_source (peer->socket, G_IO_OUT | G_IO_HUP | G_IO_ERR, NULL);

          g_source_set_callback (source, G_SOURCE_FUNC (set_flag_cb), &writable, NULL);
          g_source_attach (source, g_main_context_get_thread_default ());
          OWL_TEST_WAIT_FOR (writable || peer->eof ||
                             (stop_at_head && peer_head_end (peer) != NULL));
          g_source_destroy (source);
          g_source_unref (source);
          continue;
        }
      g_test_message ("peer: write failed after %" G_GSIZE_FORMAT " bytes: %s",
                      done, error != NULL ? error->message : "nothing written");
      peer->write_failed = TRUE;
    }
  return done;
}

static void
peer_wait_response (Peer *peer)
{
  OWL_TEST_WAIT_FOR (peer_response_complete (peer) || peer->eof);
}

/* One upgrade request on a fresh TCP connection: the status of the answer
 * (0 when the connection ended without one), its body in @body_out. The
 * connection is closed afterwards. */
static guint
try_upgrade (OwlTestFixture  *fixture,
             const char      *path,
             const char      *extra_headers,
             char           **body_out)
{
  g_autofree char *request = upgrade_request (fixture->port, path, extra_headers, TRUE);
  Peer *peer = peer_open (fixture->port);
  guint status;

  peer_write (peer, request, strlen (request), FALSE);
  peer_wait_response (peer);
  status = peer_status (peer);
  g_test_message ("upgrade of %s%s%.60s: %u", path,
                  extra_headers ? " with " : "", extra_headers ? extra_headers : "", status);
  if (body_out != NULL)
    *body_out = peer_body (peer);
  peer_free (peer);
  return status;
}

/* The upgrade is refused with @status and the JSON body {"code": @code,
 * "message": "..."}; no connection is accepted. */
static void
assert_refused (OwlTestFixture *fixture,
                const char     *path,
                const char     *extra_headers,
                guint           status,
                const char     *code)
{
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint n_accepted = fixture->accepted->len;

  g_assert_cmpuint (try_upgrade (fixture, path, extra_headers, &body), ==, status);
  g_test_message ("body: %s", body ? body : "(none)");
  g_assert_nonnull (body);
  node = owl_test_json_parse (body);
  g_assert_cmpstr (owl_test_json_get_string (node, "code"), ==, code);
  g_assert_cmpstr (owl_test_json_get_string (node, "message"), !=, "");
  owl_test_drain ();
  g_assert_cmpuint (fixture->accepted->len, ==, n_accepted);
}

/* Masked text frames, all in one write: the server reads them at once, so
 * no token comes back in between. */
static void
send_batch (OwlTestRaw        *raw,
            const char *const *texts,
            guint              n)
{
  g_autoptr(GByteArray) batch = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, texts[i], strlen (texts[i]));

      g_byte_array_append (batch, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }
  g_assert_true (owl_test_raw_write (raw, batch->data, batch->len, NULL));
}

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

  assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");
  assert_refused (fixture, "/ws/other", NULL, 503, "unavailable");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 503);
  assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");

  /* The three are served all the while. */
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    assert_client_echoes (clients[i], 0);

  owl_test_client_free (clients[1]);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);
  client = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (client, 0);
  assert_refused (fixture, "/ws/other", NULL, 503, "unavailable");
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

  assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 429);
  assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
  assert_client_echoes (a, 0);
  assert_client_echoes (b, 0);

  owl_test_client_free (a);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 1);
  c = owl_test_client_connect (fixture, "/ws/echo");
  assert_client_echoes (c, 0);
  assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
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

      assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
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
  assert_refused (fixture, "/ws/echo", NULL, 429, "rate-limited");
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

/* Origins ------------------------------------------------------------------------- */

static guint
client_try_origin (OwlTestFixture *fixture,
                   const char     *path,
                   const char     *origin)
{
  OwlTestClient *client = owl_test_client_connect_begin (fixture, fixture->port, path, origin);

  owl_test_client_wait_done (client);
  return client->ws != NULL ? 101 : client->status;
}

static char *
origin_header (const char *origin)
{
  return g_strdup_printf ("Origin: %s\r\n", origin);
}

static void
assert_origin_allowed (OwlTestFixture *fixture,
                       const char     *path,
                       const char     *origin)
{
  g_autofree char *header = origin ? origin_header (origin) : NULL;

  g_assert_cmpuint (try_upgrade (fixture, path, header, NULL), ==, 101);
}

static void
assert_origin_forbidden (OwlTestFixture *fixture,
                         const char     *path,
                         const char     *origin)
{
  g_autofree char *header = origin_header (origin);

  assert_refused (fixture, path, header, 403, "forbidden");
}

/* A list: its origins pass, others get 403; no Origin passes, and so does
 * the request's own origin, http://<Host>. */
static void
test_origins (OwlTestFixture *fixture,
              gconstpointer   data)
{
  const char *allowed[] = { "https://app.example", NULL };
  g_auto(GStrv) read_back = NULL;
  g_autofree char *same = NULL;
  OwlTestClient *client;

  g_object_set (fixture->service, "allowed-origins", allowed, NULL);
  g_object_get (fixture->service, "allowed-origins", &read_back, NULL);
  g_assert_nonnull (read_back);
  g_assert_cmpstr (read_back[0], ==, "https://app.example");
  g_assert_null (read_back[1]);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_allowed (fixture, "/ws/echo", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/echo", "https://evil.example");
  /* Look-alikes are other origins. */
  assert_origin_forbidden (fixture, "/ws/echo", "https://app.example.evil");
  assert_origin_forbidden (fixture, "/ws/echo", "http://app.example");
  assert_origin_forbidden (fixture, "/ws/echo", "https://app.example:8443");
  /* The same host on another port is another origin. */
  assert_origin_forbidden (fixture, "/ws/echo", "http://127.0.0.1:1");
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  assert_origin_allowed (fixture, "/ws/echo", same);

  /* libsoup's client sends the origin it is given. */
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 403);
  client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/echo", "https://app.example");
  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);
  assert_client_echoes (client, 0);
  assert_echo_works (fixture, "/ws/echo");
}

/* The default list is empty: only the same origin, or none. */
static void
test_origins_default (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autofree char *same = NULL;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_forbidden (fixture, "/ws/echo", "https://evil.example");
  assert_origin_forbidden (fixture, "/ws/echo", "null");
  assert_origin_allowed (fixture, "/ws/echo", same);
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 403);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", same), ==, 101);
  assert_echo_works (fixture, "/ws/echo");
}

/* "*" allows any origin. */
static void
test_origins_wildcard (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  const char *any[] = { "*", NULL };

  g_object_set (fixture->service, "allowed-origins", any, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  assert_origin_allowed (fixture, "/ws/echo", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/echo", "http://localhost:3000");
  assert_origin_allowed (fixture, "/ws/echo", "null");
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 101);
  assert_echo_works (fixture, "/ws/echo");
}

/* A module's list replaces the service's; NULL keeps it. */
static void
test_origins_module (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  const char *service_list[] = { "https://app.example", NULL };
  const char *any[] = { "*", NULL };
  const char *strict_list[] = { "https://other.example", NULL };
  g_autofree char *same = NULL;

  g_object_set (fixture->service, "allowed-origins", service_list, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "open", "/ws/open", "allowed-origins", any, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "strict", "/ws/strict", "allowed-origins", strict_list, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "inherit", "/ws/inherit", "allowed-origins", NULL, NULL);
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_allowed (fixture, "/ws/open", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/open", "https://app.example");

  assert_origin_allowed (fixture, "/ws/strict", "https://other.example");
  assert_origin_forbidden (fixture, "/ws/strict", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/strict", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/strict", same);
  assert_origin_allowed (fixture, "/ws/strict", NULL);

  assert_origin_allowed (fixture, "/ws/inherit", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/inherit", "https://other.example");
  assert_origin_forbidden (fixture, "/ws/inherit", "https://evil.example");

  assert_echo_works (fixture, "/ws/strict");
  assert_echo_works (fixture, "/ws/inherit");
}

/* Message rate --------------------------------------------------------------------- */

static gboolean
call_sum_cb (OwlConnection *conn,
             OwlCall       *call,
             gpointer       user_data)
{
  guint *n_calls = user_data;
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_VALUE);

  (*n_calls)++;
  json_node_set_int (result, 3);
  owl_call_return_value (call, result);
  return TRUE;
}

static void
rate_connection_cb (OwlModule     *module,
                    OwlConnection *conn,
                    gpointer       user_data)
{
  g_signal_connect (conn, "call::sum", G_CALLBACK (call_sum_cb), user_data);
}

static JsonNode *
read_json_frame (OwlTestRaw *raw)
{
  g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);
  g_autofree char *text = NULL;
  gsize len;
  const guint8 *data;

  g_assert_nonnull (frame);
  data = g_bytes_get_data (frame->payload, &len);
  if (frame->opcode == 0x8)
    g_test_message ("unexpected close frame: %d", len >= 2 ? (data[0] << 8) | data[1] : 1005);
  g_assert_cmpuint (frame->opcode, ==, 0x1);
  text = g_strndup ((const char *) data, len);
  return owl_test_json_parse (text);
}

static void
assert_rate_limited (JsonNode *node)
{
  owl_test_assert_error_frame (node, NULL, "rate-limited", "");
}

/* rate-limit 5, rate-burst 5: of ten messages at once the first five are
 * handled (four echoed, one call answered), the next five refused with a
 * `rate-limited` error frame (the call among them not dispatched); one more
 * refusal in a row closes with 1008. Another connection is unaffected. */
static void
test_rate_limit (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  const char *messages[] = {
    "{\"type\":\"n\",\"n\":0}",
    "{\"type\":\"n\",\"n\":1}",
    "{\"type\":\"call\",\"id\":\"c0\",\"method\":\"sum\",\"payload\":[1,2]}",
    "{\"type\":\"n\",\"n\":3}",
    "{\"type\":\"n\",\"n\":4}",
    "{\"type\":\"n\",\"n\":5}",
    "{\"type\":\"n\",\"n\":6}",
    "{\"type\":\"call\",\"id\":\"c1\",\"method\":\"sum\",\"payload\":[1,2]}",
    "{\"type\":\"n\",\"n\":8}",
    "{\"type\":\"n\",\"n\":9}",
  };
  guint n_calls = 0;
  OwlModule *module;
  OwlTestClient *other;
  OwlTestRaw *raw;
  OwlConnection *conn;
  OwlTestRecord *record;
  gint64 sent_at;
  gint code;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  module = owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_signal_connect (module, "connection", G_CALLBACK (rate_connection_cb), &n_calls);
  owl_test_fixture_listen (fixture);

  other = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 0);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  record = owl_test_record_get (conn);

  sent_at = g_get_monotonic_time ();
  send_batch (raw, messages, G_N_ELEMENTS (messages));
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      if (i == 2)
        {
          owl_test_assert_frame (node, "result", "c0");
          owl_test_assert_member_json (node, "payload", "3");
        }
      else
        owl_test_assert_json_equal (node, messages[i]);
    }
  for (guint i = 5; i < 10; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      assert_rate_limited (node);
    }
  g_assert_cmpuint (n_calls, ==, 1);
  g_assert_cmpuint (record->messages->len, ==, 4);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (record->n_closed, ==, 0);

  /* A token comes back every 200 ms; this is well within that. */
  g_test_message ("the sixth refusal %" G_GINT64_FORMAT " ms after the batch",
                  (g_get_monotonic_time () - sent_at) / 1000);
  g_assert_true (owl_test_raw_send_text (raw, "{\"type\":\"n\",\"n\":10}"));
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_POLICY);
  /* Answered, the close ends at once. */
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_POLICY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (record->close_code, ==, OWL_CLOSE_POLICY);
  g_assert_cmpuint (record->messages->len, ==, 4);
  g_assert_cmpuint (n_calls, ==, 1);
  owl_test_raw_free (raw);

  /* Every connection has its own bucket. */
  assert_client_echoes (other, 0);
  g_assert_cmpuint (other->n_closed, ==, 0);
  assert_echo_works (fixture, "/ws/echo");
}

typedef struct
{
  OwlTestClient *client;
  guint          n_sent;    /* every message, paced or not */
} Pacer;

static void
pacer_send (Pacer      *pacer,
            const char *type)
{
  owl_test_client_send_printf (pacer->client, "{\"type\":\"%s\",\"n\":%u}", type, pacer->n_sent++);
}

static gboolean
pace_cb (gpointer user_data)
{
  pacer_send (user_data, "again");
  return G_SOURCE_CONTINUE;
}

static gboolean
client_got_type (OwlTestClient *client,
                 guint          from,
                 const char    *type)
{
  for (guint i = from; i < client->texts->len; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (client->texts, i));

      if (g_strcmp0 (owl_test_json_get_string (node, "type"), type) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Every message is answered, by its echo or by an error: waits for all. */
static guint
count_refused (Pacer *pacer,
               guint  from)
{
  guint n = 0;

  OWL_TEST_WAIT_FOR (pacer->client->texts->len >= pacer->n_sent || pacer->client->n_closed > 0);
  for (guint i = from; i < pacer->client->texts->len; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (pacer->client->texts, i));

      if (g_strcmp0 (owl_test_json_get_string (node, "type"), "error") == 0)
        {
          assert_rate_limited (node);
          n++;
        }
    }
  return n;
}

/* rate-limit 5, rate-burst 5: refusals only close when more than five come
 * in a row. Three rounds of three messages at once (refused: the bucket is
 * empty), each followed by messages paced at 10 a second until one is
 * served again: more than five refusals in all, never six in a row, and
 * the connection stays open. */
static void
test_rate_recovery (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlConnection *conn;
  Pacer pacer = { NULL, 0 };
  guint n_refused = 0;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  pacer.client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  /* The whole burst at once is served. */
  for (guint i = 0; i < 5; i++)
    pacer_send (&pacer, "n");
  g_assert_cmpuint (count_refused (&pacer, 0), ==, 0);

  for (guint round = 0; round < 3; round++)
    {
      guint from = pacer.client->texts->len;
      guint refused;
      GSource *source;

      for (guint i = 0; i < 3; i++)
        pacer_send (&pacer, "n");
      source = g_timeout_source_new (100);
      g_source_set_callback (source, pace_cb, &pacer, NULL);
      g_source_attach (source, g_main_context_get_thread_default ());
      OWL_TEST_WAIT_FOR (client_got_type (pacer.client, from, "again") ||
                         pacer.client->n_closed > 0);
      g_source_destroy (source);
      g_source_unref (source);

      refused = count_refused (&pacer, from);
      g_test_message ("round %u: %u refused before a paced message was served", round, refused);
      g_assert_cmpuint (pacer.client->n_closed, ==, 0);
      g_assert_cmpuint (refused, >=, 3);
      g_assert_cmpuint (refused, <=, 5);
      n_refused += refused;
    }

  g_test_message ("%u messages, %u refused", pacer.n_sent, n_refused);
  g_assert_cmpuint (n_refused, >, 5);
  g_assert_cmpuint (pacer.client->n_closed, ==, 0);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, pacer.n_sent - n_refused);
}

/* Module overrides: rate-limit 0 switches the limit off; rate-burst 2 with
 * the service's rate refuses the third message and closes on the fifth. */
static void
test_rate_module (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  OwlTestRaw *raw;
  OwlConnection *conn;
  gint code;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "free", "/ws/free", "rate-limit", 0.0, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "tight", "/ws/tight", "rate-burst", 2, NULL);
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < 30; i++)
    g_ptr_array_add (texts, g_strdup_printf ("{\"type\":\"n\",\"n\":%u}", i));

  raw = owl_test_raw_connect (fixture->port, "/ws/free");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  send_batch (raw, (const char *const *) texts->pdata, 30);
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      owl_test_assert_json_equal (node, g_ptr_array_index (texts, i));
    }
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 30);
  owl_test_raw_free (raw);

  /* 2 handled, 2 refused, and the third refusal in a row closes. */
  raw = owl_test_raw_connect (fixture->port, "/ws/tight");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  send_batch (raw, (const char *const *) texts->pdata, 5);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      owl_test_assert_json_equal (node, g_ptr_array_index (texts, i));
    }
  for (guint i = 2; i < 4; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      assert_rate_limited (node);
    }
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_POLICY);
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_POLICY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_POLICY);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 2);
  owl_test_raw_free (raw);

  assert_echo_works (fixture, "/ws/tight");
  assert_echo_works (fixture, "/ws/free");
}

/* Graceful drain --------------------------------------------------------------------- */

static void
assert_shutdown_frame (JsonNode *node)
{
  owl_test_assert_frame (node, "system", NULL);
  g_assert_cmpstr (owl_test_json_get_string (node, "event"), ==, "shutdown");
  g_assert_true (owl_test_json_has (node, "payload"));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (node),
                                                                 "payload")));
}

/* stop(): every client gets the system shutdown event, then a close with
 * 1001; upgrades meanwhile get 503. */
static void
test_drain (OwlTestFixture *fixture,
            gconstpointer   data)
{
  OwlTestClient *clients[2];
  OwlTestRaw *raw;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    clients[i] = owl_test_client_connect (fixture, "/ws/echo");
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 2);
  assert_client_echoes (clients[0], 0);

  owl_socket_service_stop (fixture->service);

  /* On the wire: the event frame, then at once the close frame. */
  {
    g_autoptr(JsonNode) node = read_json_frame (raw);
    g_autoptr(OwlTestFrame) frame = NULL;
    const guint8 *payload;
    gsize len;

    assert_shutdown_frame (node);
    frame = owl_test_raw_read_frame (raw);
    g_assert_nonnull (frame);
    g_assert_cmpuint (frame->opcode, ==, 0x8);
    payload = g_bytes_get_data (frame->payload, &len);
    g_assert_cmpuint (len, >=, 2);
    g_assert_cmpuint ((payload[0] << 8) | payload[1], ==, OWL_CLOSE_GOING_AWAY);
  }

  /* libsoup drops what comes after a close: the event came before it. */
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      guint before = i == 0 ? 1 : 0;
      g_autoptr(JsonNode) node = NULL;

      owl_test_client_wait_closed (clients[i]);
      g_assert_cmpuint (clients[i]->close_code, ==, OWL_CLOSE_GOING_AWAY);
      g_assert_cmpuint (clients[i]->texts->len, ==, before + 1);
      node = owl_test_json_parse (g_ptr_array_index (clients[i]->texts, before));
      assert_shutdown_frame (node);
    }

  /* The raw client has not answered the close: the stop is under way. */
  g_assert_cmpuint (fixture->n_stopped, ==, 0);
  assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");

  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_GOING_AWAY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_raw_free (raw);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0);
  for (guint i = 0; i < fixture->accepted->len; i++)
    {
      OwlConnection *conn = g_ptr_array_index (fixture->accepted, i);

      owl_test_record_wait_closed (conn);
      g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_GOING_AWAY);
    }
  g_assert_cmpuint (fixture->accepted->len, ==, 3);
}

/* Descriptors ---------------------------------------------------------------------- *
 *
 * The server runs in a helper process (owl-protect-server) whose descriptor
 * limit is small; this process talks to it over blocking sockets whose
 * timeouts are the watchdogs. */

#define FD_LIMIT 64

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  guint16           port;
  guint64           soft;
  guint64           hard;
} Server;

typedef struct
{
  char     *line;
  GError   *error;
  gboolean  done;
} LineRead;

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineRead *lr = user_data;

  lr->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result,
                                                   NULL, &lr->error);
  lr->done = TRUE;
}

static char *
server_read_line (Server *server)
{
  LineRead lr = { NULL, NULL, FALSE };

  g_data_input_stream_read_line_async (server->out, G_PRIORITY_DEFAULT, NULL, read_line_cb, &lr);
  OWL_TEST_WAIT_FOR (lr.done);
  g_assert_no_error (lr.error);
  g_assert_nonnull (lr.line);
  g_test_message ("server: %s", lr.line);
  return lr.line;
}

static void
server_start (Server *server,
              guint   soft,
              guint   hard)
{
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, "owl-protect-server", NULL);
  g_autofree char *soft_arg = g_strdup_printf ("%u", soft);
  g_autofree char *hard_arg = g_strdup_printf ("%u", hard);
  g_autofree char *nofile = NULL;
  g_autofree char *listening = NULL;
  g_autoptr(GError) error = NULL;
  guint port = 0;

  memset (server, 0, sizeof *server);
  server->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                      &error, path, soft_arg, hard_arg, NULL);
  g_assert_no_error (error);
  server->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));

  nofile = server_read_line (server);
  g_assert_cmpint (sscanf (nofile, "nofile %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                           &server->soft, &server->hard), ==, 2);
  listening = server_read_line (server);
  g_assert_cmpint (sscanf (listening, "listening on %u", &port), ==, 1);
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (port, <=, G_MAXUINT16);
  server->port = (guint16) port;
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* Its standard input ends: it exits, with status 0 unless it crashed. */
static void
server_stop (Server *server)
{
  gboolean done = FALSE;

  g_output_stream_close (g_subprocess_get_stdin_pipe (server->process), NULL, NULL);
  g_subprocess_wait_async (server->process, NULL, wait_cb, &done);
  OWL_TEST_WAIT_FOR (done);
  g_assert_true (g_subprocess_get_if_exited (server->process));
  g_assert_cmpint (g_subprocess_get_exit_status (server->process), ==, 0);
  g_clear_object (&server->out);
  g_clear_object (&server->process);
}

static GSocket *
fd_connect (guint16 port)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 10);
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);
  return socket;
}

static void
fd_close (gpointer data)
{
  GSocket *socket = data;

  g_socket_close (socket, NULL);
  g_object_unref (socket);
}

static void
fd_send_all (GSocket    *socket,
             const void *data,
             gsize       len)
{
  gsize done = 0;

  g_socket_set_timeout (socket, 10);
  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data + done, len - done, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

static void
fd_read_exact (GSocket *socket,
               void    *buf,
               gsize    len)
{
  gsize done = 0;

  g_socket_set_timeout (socket, 10);
  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (char *) buf + done, len - done, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

/* Reads the response head into @head, within @timeout s of silence. FALSE
 * with @timed_out when nothing came, FALSE alone when the connection ended. */
static gboolean
fd_read_head (GSocket  *socket,
              GString  *head,
              guint     timeout,
              gboolean *timed_out)
{
  *timed_out = FALSE;
  g_socket_set_timeout (socket, timeout);
  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      g_autoptr(GError) error = NULL;
      char c;
      gssize n = g_socket_receive (socket, &c, 1, NULL, &error);

      if (n == 1)
        {
          g_string_append_c (head, c);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        *timed_out = TRUE;
      else
        g_test_message ("connection ended: %s", error ? error->message : "EOF");
      return FALSE;
    }
  return TRUE;
}

static guint
head_status (GString *head)
{
  guint status = 0;

  if (sscanf (head->str, "HTTP/1.1 %u", &status) != 1)
    return 0;
  return status;
}

static void
fd_send_upgrade (GSocket *socket,
                 guint16  port)
{
  g_autofree char *request = upgrade_request (port, "/ws/echo", NULL, TRUE);

  fd_send_all (socket, request, strlen (request));
}

/* A round trip of a small text frame. */
static void
fd_assert_echo (GSocket    *socket,
                const char *text)
{
  g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, text, strlen (text));
  guint8 header[2];
  char payload[125];
  gsize len = strlen (text);

  g_assert_cmpuint (len, <, 126);
  fd_send_all (socket, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  fd_read_exact (socket, header, 2);
  g_assert_cmpuint (header[0], ==, 0x81);
  g_assert_cmpuint (header[1], ==, len);
  fd_read_exact (socket, payload, len);
  g_assert_cmpmem (payload, len, text, len);
}

/* A new client is upgraded and echoes. */
static void
fd_assert_served (guint16 port)
{
  GSocket *socket = fd_connect (port);
  g_autoptr(GString) head = g_string_new (NULL);
  gboolean timed_out;

  fd_send_upgrade (socket, port);
  g_assert_true (fd_read_head (socket, head, 10, &timed_out));
  g_assert_cmpuint (head_status (head), ==, 101);
  fd_assert_echo (socket, "{\"type\":\"served\"}");
  fd_close (socket);
}

/* listen() raises the soft descriptor limit to the hard one. */
static void
test_fd_rlimit_raised (void)
{
  Server server;

  server_start (&server, FD_LIMIT / 2, FD_LIMIT);
  g_assert_cmpuint (server.hard, ==, FD_LIMIT);
  g_assert_cmpuint (server.soft, ==, FD_LIMIT);
  fd_assert_served (server.port);
  server_stop (&server);
}

/* A server limited to 64 descriptors is given connections until it stops
 * accepting; those it has are served meanwhile. Once they close, the one
 * that waited in the backlog is accepted and served, and so is a new one:
 * the listener did not give up on EMFILE. */
static void
test_fd_exhaustion (void)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (fd_close);
  g_autoptr(GString) pending_head = g_string_new (NULL);
  GSocket *pending = NULL;
  gboolean limit_reached = FALSE;
  Server server;

  server_start (&server, FD_LIMIT, FD_LIMIT);
  g_assert_cmpuint (server.soft, ==, FD_LIMIT);

  for (guint i = 0; i < 2 * FD_LIMIT && !limit_reached; i++)
    {
      GSocket *socket = fd_connect (server.port);
      g_autoptr(GString) head = g_string_new (NULL);
      gboolean timed_out;

      fd_send_upgrade (socket, server.port);
      if (fd_read_head (socket, head, 1, &timed_out) && head_status (head) == 101)
        {
          g_ptr_array_add (open, socket);
          continue;
        }

      limit_reached = TRUE;
      if (timed_out && head->len == 0)
        {
          g_test_message ("connection %u waits in the backlog", i);
          pending = socket;
        }
      else
        {
          g_test_message ("connection %u: \"%s\"%s", i, head->str,
                          timed_out ? " (then nothing)" : " (then the end)");
          fd_close (socket);
        }
    }
  g_test_message ("%u connections open when the server stopped accepting", open->len);
  g_assert_true (limit_reached);
  g_assert_cmpuint (open->len, >=, 8);
  g_assert_cmpuint (open->len, <, FD_LIMIT);

  /* Those it has are served. */
  fd_assert_echo (g_ptr_array_index (open, 0), "{\"type\":\"full\"}");
  fd_assert_echo (g_ptr_array_index (open, open->len - 1), "{\"type\":\"full\"}");

  g_ptr_array_set_size (open, 0);
  if (pending != NULL)
    {
      gboolean timed_out;

      g_assert_true (fd_read_head (pending, pending_head, 10, &timed_out));
      g_assert_cmpuint (head_status (pending_head), ==, 101);
      fd_assert_echo (pending, "{\"type\":\"waited\"}");
      fd_close (pending);
    }
  fd_assert_served (server.port);
  fd_assert_served (server.port);
  server_stop (&server);
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
  OWL_TEST ("/owl/protect/origins/list", test_origins);
  OWL_TEST ("/owl/protect/origins/default", test_origins_default);
  OWL_TEST ("/owl/protect/origins/wildcard", test_origins_wildcard);
  OWL_TEST ("/owl/protect/origins/module", test_origins_module);
  OWL_TEST ("/owl/protect/rate/limit", test_rate_limit);
  OWL_TEST ("/owl/protect/rate/recovery", test_rate_recovery);
  OWL_TEST ("/owl/protect/rate/module", test_rate_module);
  OWL_TEST ("/owl/protect/drain", test_drain);
  g_test_add_func ("/owl/protect/fd/rlimit-raised", test_fd_rlimit_raised);
  g_test_add_func ("/owl/protect/fd/exhaustion", test_fd_exhaustion);

  return g_test_run ();
}
