/* owl-transport-soup.c: OwlTransport over SoupWebsocketConnection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-transport-private.h"

/* libsoup's default per-frame cap is 128 KiB; until owlsock's own frame layer
 * caps whole messages, a frame may be 1 MiB. */
#define OWL_TRANSPORT_SOUP_MAX_PAYLOAD (1024 * 1024)

struct _OwlTransport
{
  SoupWebsocketConnection     *conn;
  const OwlTransportCallbacks *callbacks;
  gpointer                     user_data;
  gulong                       message_id;
  gulong                       error_id;
  gulong                       closed_id;
  gboolean                     closed;
};

static void
on_soup_message (SoupWebsocketConnection *conn,
                 gint                     type,
                 GBytes                  *message,
                 gpointer                 user_data)
{
  OwlTransport *self = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  self->callbacks->message (self->user_data, type == SOUP_WEBSOCKET_DATA_BINARY, data, len);
}

static void
on_soup_error (SoupWebsocketConnection *conn,
               GError                  *error,
               gpointer                 user_data)
{
  OwlTransport *self = user_data;

  self->callbacks->error (self->user_data, error);
}

static void
on_soup_closed (SoupWebsocketConnection *conn,
                gpointer                 user_data)
{
  OwlTransport *self = user_data;
  guint16 code;

  if (self->closed)
    return;
  self->closed = TRUE;

  code = soup_websocket_connection_get_close_code (conn);
  /* libsoup reports 0 when no close frame arrived (TCP drop) and 1005 when
   * the close frame had no code. */
  if (code == 0)
    code = 1006;

  self->callbacks->closed (self->user_data, code,
                           soup_websocket_connection_get_close_data (conn));
}

OwlTransport *
owl_transport_new_soup (SoupWebsocketConnection     *conn,
                        const OwlTransportCallbacks *callbacks,
                        gpointer                     user_data)
{
  OwlTransport *self = g_new0 (OwlTransport, 1);

  self->conn = g_object_ref (conn);
  self->callbacks = callbacks;
  self->user_data = user_data;

  g_object_set (conn,
                "max-incoming-payload-size", (guint64) OWL_TRANSPORT_SOUP_MAX_PAYLOAD,
                "keepalive-interval", 0,
                NULL);

  self->message_id = g_signal_connect (conn, "message", G_CALLBACK (on_soup_message), self);
  self->error_id = g_signal_connect (conn, "error", G_CALLBACK (on_soup_error), self);
  self->closed_id = g_signal_connect (conn, "closed", G_CALLBACK (on_soup_closed), self);

  return self;
}

void
owl_transport_free (OwlTransport *self)
{
  if (self == NULL)
    return;

  g_clear_signal_handler (&self->message_id, self->conn);
  g_clear_signal_handler (&self->error_id, self->conn);
  g_clear_signal_handler (&self->closed_id, self->conn);

  if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->conn, 1001, NULL);

  g_object_unref (self->conn);
  g_free (self);
}

static gboolean
transport_is_open (OwlTransport *self)
{
  return !self->closed &&
         soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

void
owl_transport_send (OwlTransport *self,
                    gboolean      binary,
                    GBytes       *bytes)
{
  if (!transport_is_open (self))
    return;

  soup_websocket_connection_send_message (self->conn,
                                          binary ? SOUP_WEBSOCKET_DATA_BINARY : SOUP_WEBSOCKET_DATA_TEXT,
                                          bytes);
}

void
owl_transport_send_data (OwlTransport *self,
                         gboolean      binary,
                         const char   *data,
                         gsize         len)
{
  if (!transport_is_open (self))
    return;

  if (binary)
    soup_websocket_connection_send_binary (self->conn, data, len);
  else
    {
      /* send_text wants a NUL-terminated string; libsoup copies the payload
       * into its frame anyway, so wrap without copying. */
      g_autoptr(GBytes) bytes = g_bytes_new_static (data, len);

      soup_websocket_connection_send_message (self->conn, SOUP_WEBSOCKET_DATA_TEXT, bytes);
    }
}

void
owl_transport_close (OwlTransport *self,
                     guint16       code,
                     const char   *reason)
{
  if (!transport_is_open (self))
    return;

  soup_websocket_connection_close (self->conn, code, reason);
}

void
owl_transport_abort (OwlTransport *self)
{
  GIOStream *stream;

  if (self->closed)
    return;

  stream = soup_websocket_connection_get_io_stream (self->conn);
  g_io_stream_close (stream, NULL, NULL);
}
