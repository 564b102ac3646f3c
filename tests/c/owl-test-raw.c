/* owl-test-raw.c: raw TCP and WebSocket clients for the C tests, frame by
 * frame
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"
#include "owl-test-util-private.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Raw TCP client */

typedef struct
{
  GInputStream *input;
  GString      *head;
  char          byte;
  GError       *error;
  gboolean      done;
} RawRead;

static void raw_read_next (RawRead *rr);

static void
raw_read_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RawRead *rr = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &rr->error);

  if (n <= 0)
    {
      rr->done = TRUE;
      return;
    }
  g_string_append_c (rr->head, rr->byte);
  if (g_str_has_suffix (rr->head->str, "\r\n\r\n"))
    rr->done = TRUE;
  else
    raw_read_next (rr);
}

/* One byte at a time, so nothing after the response head is consumed. */
static void
raw_read_next (RawRead *rr)
{
  g_input_stream_read_async (rr->input, &rr->byte, 1, G_PRIORITY_DEFAULT, NULL,
                             raw_read_cb, rr);
}

GIOStream *
owl_test_raw_upgrade (guint16     port,
                      const char *path,
                      guint      *status_out)
{
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  RawRead rr = { NULL, NULL, 0, NULL, FALSE };
  guint status = 0;

  /* The kernel completes the TCP handshake from the listen backlog, so a
   * blocking connect does not need the server's main context. */
  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "\r\n", path, port);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  rr.input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  rr.head = g_string_new (NULL);
  raw_read_next (&rr);
  OWL_TEST_WAIT_FOR (rr.done);
  g_assert_no_error (rr.error);
  if (sscanf (rr.head->str, "HTTP/1.1 %u", &status) != 1)
    status = 0;
  g_string_free (rr.head, TRUE);
  *status_out = status;
  return G_IO_STREAM (g_steal_pointer (&connection));
}

/* Raw WebSocket client */

#define RAW_CHUNK (64 * 1024)

struct _OwlTestRaw
{
  GSocketConnection *connection;
  GIOStream         *tls;        /* over @connection, for wss */
  GInputStream      *input;
  GOutputStream     *output;
  GByteArray        *buffer;     /* read, not yet parsed */
  guint8            *chunk;      /* one read's worth */
  char              *response;
  gboolean           eof;
};

typedef struct
{
  gssize    n;
  gboolean  ok;
  GError   *error;
  gboolean  done;
} RawIo;

static void
raw_write_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  RawIo *io = user_data;

  io->ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &io->error);
  io->done = TRUE;
}

gboolean
owl_test_raw_write (OwlTestRaw  *raw,
                    const void  *data,
                    gsize        len,
                    GError     **error)
{
  RawIo io = { 0, FALSE, NULL, FALSE };

  g_output_stream_write_all_async (raw->output, data, len, G_PRIORITY_DEFAULT, NULL,
                                   raw_write_cb, &io);
  OWL_TEST_WAIT_FOR (io.done);
  if (!io.ok)
    {
      g_test_message ("raw client: write failed: %s", io.error ? io.error->message : "?");
      g_propagate_error (error, io.error);
    }
  return io.ok;
}

static void
raw_handshake_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RawIo *io = user_data;

  io->ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &io->error);
  io->done = TRUE;
}

/* wss: the TLS handshake runs on the main context, where the server is. */
static void
raw_start_tls (OwlTestRaw *raw)
{
  g_autoptr(GError) error = NULL;
  RawIo io = { 0, FALSE, NULL, FALSE };

  /* No database: see trust_test_certificate() in owl-test-util.c. */
  raw->tls = g_initable_new (g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()),
                             NULL, &error,
                             "base-io-stream", raw->connection,
                             "database", NULL,
                             NULL);
  g_assert_no_error (error);
  g_signal_connect (raw->tls, "accept-certificate", G_CALLBACK (owl_test_accept_any_certificate), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (raw->tls), G_PRIORITY_DEFAULT, NULL,
                                    raw_handshake_cb, &io);
  OWL_TEST_WAIT_FOR (io.done);
  g_assert_no_error (io.error);
  raw->input = g_io_stream_get_input_stream (raw->tls);
  raw->output = g_io_stream_get_output_stream (raw->tls);
}

OwlTestRaw *
owl_test_raw_connect_full (guint16     port,
                           const char *path,
                           const char *extra_headers,
                           int         rcvbuf,
                           guint      *status_out)
{
  return owl_test_raw_connect_with (port, path, extra_headers, rcvbuf, FALSE, status_out);
}

OwlTestRaw *
owl_test_raw_connect_with (guint16     port,
                           const char *path,
                           const char *extra_headers,
                           int         rcvbuf,
                           gboolean    tls,
                           guint      *status_out)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  RawRead rr = { NULL, NULL, 0, NULL, FALSE };
  OwlTestRaw *raw;
  guint status = 0;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  if (rcvbuf > 0)
    {
      /* Before connect, so the window the client announces is small too. */
      g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, rcvbuf, &error);
      g_assert_no_error (error);
    }
  address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  /* The kernel completes the TCP handshake from the listen backlog. */
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);

  raw = g_new0 (OwlTestRaw, 1);
  raw->connection = g_socket_connection_factory_create_connection (socket);
  raw->input = g_io_stream_get_input_stream (G_IO_STREAM (raw->connection));
  raw->output = g_io_stream_get_output_stream (G_IO_STREAM (raw->connection));
  raw->buffer = g_byte_array_new ();
  raw->chunk = g_malloc (RAW_CHUNK);
  if (tls)
    raw_start_tls (raw);

  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "%s"
                             "\r\n", path, port, extra_headers ? extra_headers : "");
  owl_test_raw_write (raw, request, strlen (request), &error);
  g_assert_no_error (error);

  rr.input = raw->input;
  rr.head = g_string_new (NULL);
  raw_read_next (&rr);
  OWL_TEST_WAIT_FOR (rr.done);
  g_assert_no_error (rr.error);
  if (sscanf (rr.head->str, "HTTP/1.1 %u", &status) != 1)
    status = 0;
  raw->response = g_string_free (rr.head, FALSE);
  if (status_out != NULL)
    *status_out = status;
  return raw;
}

OwlTestRaw *
owl_test_raw_connect (guint16     port,
                      const char *path)
{
  guint status = 0;
  OwlTestRaw *raw = owl_test_raw_connect_full (port, path, NULL, 0, &status);

  g_assert_cmpuint (status, ==, 101);
  return raw;
}

OwlTestRaw *
owl_test_fixture_raw_connect (OwlTestFixture *fixture,
                              const char     *path,
                              int             rcvbuf)
{
  guint status = 0;
  OwlTestRaw *raw = owl_test_raw_connect_with (fixture->port, path, NULL, rcvbuf, fixture->tls, &status);

  g_assert_cmpuint (status, ==, 101);
  return raw;
}

void
owl_test_raw_free (OwlTestRaw *raw)
{
  if (raw == NULL)
    return;
  if (raw->tls != NULL)
    {
      /* No close_notify exchange: the server may be gone already. */
      g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (raw->tls), FALSE);
      g_io_stream_close (raw->tls, NULL, NULL);
      g_object_unref (raw->tls);
    }
  g_io_stream_close (G_IO_STREAM (raw->connection), NULL, NULL);
  g_object_unref (raw->connection);
  g_byte_array_unref (raw->buffer);
  g_free (raw->chunk);
  g_free (raw->response);
  g_free (raw);
}

const char *
owl_test_raw_get_response (OwlTestRaw *raw)
{
  return raw->response;
}

GSocket *
owl_test_raw_get_socket (OwlTestRaw *raw)
{
  return g_socket_connection_get_socket (raw->connection);
}

void
owl_test_raw_write_now (OwlTestRaw *raw,
                        const void *data,
                        gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (raw->output, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

void
owl_test_raw_reset (OwlTestRaw *raw)
{
  struct linger hard = { 1, 0 };
  int fd = g_socket_get_fd (owl_test_raw_get_socket (raw));

  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), ==, 0);
  /* close(), not shutdown(): with a zero linger it sends the reset. */
  g_socket_close (owl_test_raw_get_socket (raw), NULL);
}

gboolean
owl_test_raw_is_eof (OwlTestRaw *raw)
{
  return raw->eof;
}

GBytes *
owl_test_frame_build (guint8      first_byte,
                      gboolean    mask,
                      const void *payload,
                      gsize       len)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 header[14];
  gsize n = 0;
  guint8 *frame;

  header[n++] = first_byte;
  if (len < 126)
    header[n++] = (mask ? 0x80 : 0) | (guint8) len;
  else if (len <= 0xffff)
    {
      header[n++] = (mask ? 0x80 : 0) | 126;
      header[n++] = (guint8) (len >> 8);
      header[n++] = (guint8) len;
    }
  else
    {
      header[n++] = (mask ? 0x80 : 0) | 127;
      for (guint i = 0; i < 8; i++)
        header[n++] = (guint8) ((guint64) len >> (56 - 8 * i));
    }
  if (mask)
    {
      memcpy (header + n, key, 4);
      n += 4;
    }

  frame = g_malloc (n + len);
  memcpy (frame, header, n);
  if (len > 0)
    memcpy (frame + n, payload, len);
  if (mask)
    for (gsize i = 0; i < len; i++)
      frame[n + i] ^= key[i & 3];
  return g_bytes_new_take (frame, n + len);
}

gboolean
owl_test_raw_send_frame (OwlTestRaw *raw,
                         guint8      first_byte,
                         gboolean    mask,
                         const void *payload,
                         gsize       len)
{
  g_autoptr(GBytes) frame = owl_test_frame_build (first_byte, mask, payload, len);
  gsize size;
  const void *data = g_bytes_get_data (frame, &size);

  return owl_test_raw_write (raw, data, size, NULL);
}

gboolean
owl_test_raw_send_text (OwlTestRaw *raw,
                        const char *text)
{
  return owl_test_raw_send_frame (raw, 0x81, TRUE, text, strlen (text));
}

gboolean
owl_test_raw_send_close (OwlTestRaw *raw,
                         guint16     code,
                         const char *reason)
{
  guint8 payload[125];
  gsize len = 0;

  if (code != 0)
    {
      gsize reason_len = reason ? strlen (reason) : 0;

      g_assert_cmpuint (reason_len, <=, 123);
      payload[0] = (guint8) (code >> 8);
      payload[1] = (guint8) code;
      if (reason_len > 0)
        memcpy (payload + 2, reason, reason_len);
      len = 2 + reason_len;
    }
  return owl_test_raw_send_frame (raw, 0x88, TRUE, payload, len);
}

static void
raw_read_some_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RawIo *io = user_data;

  io->n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &io->error);
  io->done = TRUE;
}

/* One read into the buffer. FALSE at EOF or on an error (a reset). */
static gboolean
raw_fill (OwlTestRaw *raw,
          guint       timeout_ms,
          const char *file,
          int         line)
{
  RawIo io = { 0, FALSE, NULL, FALSE };

  if (raw->eof)
    return FALSE;
  g_input_stream_read_async (raw->input, raw->chunk, RAW_CHUNK, G_PRIORITY_DEFAULT, NULL,
                             raw_read_some_cb, &io);
  OWL_TEST_WAIT_FOR_AT (io.done, timeout_ms, file, line);
  if (io.n <= 0)
    {
      if (io.error != NULL)
        g_test_message ("raw client: read failed: %s", io.error->message);
      g_clear_error (&io.error);
      raw->eof = TRUE;
      return FALSE;
    }
  g_byte_array_append (raw->buffer, raw->chunk, (guint) io.n);
  return TRUE;
}

/* A whole frame from the buffer, or NULL if it is not all there yet. */
static OwlTestFrame *
raw_parse (OwlTestRaw *raw)
{
  const guint8 *d = raw->buffer->data;
  gsize have = raw->buffer->len;
  gsize header_len;
  guint len7;
  guint64 len;
  OwlTestFrame *frame;
  guint8 *payload;

  if (have < 2)
    return NULL;
  len7 = d[1] & 0x7f;
  header_len = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((d[1] & 0x80) ? 4 : 0);
  if (have < header_len)
    return NULL;
  if (len7 == 126)
    len = ((guint64) d[2] << 8) | d[3];
  else if (len7 == 127)
    {
      len = 0;
      for (guint i = 2; i < 10; i++)
        len = (len << 8) | d[i];
    }
  else
    len = len7;
  if (have - header_len < len)
    return NULL;

  frame = g_new0 (OwlTestFrame, 1);
  frame->fin = (d[0] & 0x80) != 0;
  frame->rsv = d[0] & 0x70;
  frame->opcode = d[0] & 0x0f;
  frame->masked = (d[1] & 0x80) != 0;
  payload = g_memdup2 (d + header_len, (gsize) len);
  if (frame->masked)
    {
      const guint8 *key = d + header_len - 4;

      for (gsize i = 0; i < len; i++)
        payload[i] ^= key[i & 3];
    }
  frame->payload = g_bytes_new_take (payload, (gsize) len);
  g_byte_array_remove_range (raw->buffer, 0, (guint) (header_len + len));
  return frame;
}

OwlTestFrame *
owl_test_raw_read_frame_at (OwlTestRaw *raw,
                            const char *file,
                            int         line)
{
  for (;;)
    {
      OwlTestFrame *frame = raw_parse (raw);

      if (frame != NULL)
        return frame;
      if (!raw_fill (raw, OWL_TEST_TIMEOUT_MS, file, line))
        {
          if (raw->buffer->len > 0)
            g_test_message ("raw client: %u bytes of an incomplete frame at the end",
                            raw->buffer->len);
          return NULL;
        }
    }
}

void
owl_test_frame_free (OwlTestFrame *frame)
{
  if (frame == NULL)
    return;
  g_bytes_unref (frame->payload);
  g_free (frame);
}

gint
owl_test_raw_read_close_at (OwlTestRaw  *raw,
                            char       **reason_out,
                            guint       *n_pings,
                            const char  *file,
                            int          line)
{
  for (;;)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame_at (raw, file, line);
      gsize len;
      const guint8 *data;

      if (frame == NULL)
        return -1;
      data = g_bytes_get_data (frame->payload, &len);
      if (frame->opcode == 0x9)
        {
          if (n_pings != NULL)
            (*n_pings)++;
          continue;
        }
      if (frame->opcode != 0x8)
        {
          g_test_message ("raw client: skipped a frame of opcode %u, %" G_GSIZE_FORMAT " bytes",
                          frame->opcode, len);
          continue;
        }
      if (reason_out != NULL)
        *reason_out = len > 2 ? g_strndup ((const char *) data + 2, len - 2) : g_strdup ("");
      if (len < 2)
        return 1005;
      return (data[0] << 8) | data[1];
    }
}

gboolean
owl_test_raw_wait_eof_at (OwlTestRaw *raw,
                          const char *file,
                          int         line)
{
  gint64 deadline = g_get_monotonic_time () + OWL_TEST_TIMEOUT_MS * (gint64) 1000;

  while (raw_fill (raw, OWL_TEST_TIMEOUT_MS, file, line))
    {
      g_byte_array_set_size (raw->buffer, 0);
      if (g_get_monotonic_time () > deadline)
        owl_test_watchdog_fail ("the server to end the TCP connection", file, line);
    }
  g_byte_array_set_size (raw->buffer, 0);
  return raw->eof;
}
