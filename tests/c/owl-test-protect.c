/* owl-test-protect.c: a raw TCP peer of the service in this process, and
 * the round trips and refused upgrades the protect tests assert
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-protect.h"

#include <stdio.h>
#include <string.h>

#define KIB 1024

/* A libsoup client on @path whose message comes back unchanged. */
void
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
void
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
char *
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

Peer *
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

void
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

const char *
peer_head_end (Peer *peer)
{
  return strstr (peer->received->str, "\r\n\r\n");
}

/* The status of the response head, 0 while there is none. */
guint
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
gsize
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

void
peer_wait_response (Peer *peer)
{
  OWL_TEST_WAIT_FOR (peer_response_complete (peer) || peer->eof);
}

/* One upgrade request on a fresh TCP connection: the status of the answer
 * (0 when the connection ended without one), its body in @body_out. The
 * connection is closed afterwards. */
guint
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
void
protect_assert_refused (OwlTestFixture *fixture,
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
void
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
