/* owl-transport-soup.c: OwlTransport over SoupWebsocketConnection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-close.h"
#include "owl-transport-private.h"

typedef struct
{
  OwlTransport                 parent;
  SoupWebsocketConnection     *conn;
  gulong                       message_id;
  gulong                       error_id;
  gulong                       closed_id;
  gboolean                     closed;
} OwlTransportSoup;

static void
on_soup_message (SoupWebsocketConnection *conn,
                 gint                     type,
                 GBytes                  *message,
                 gpointer                 user_data)
{
  OwlTransportSoup *self = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  self->parent.callbacks->message (self->parent.user_data, type == SOUP_WEBSOCKET_DATA_BINARY, data, len);
}

static void
on_soup_error (SoupWebsocketConnection *conn,
               GError                  *error,
               gpointer                 user_data)
{
  OwlTransportSoup *self = user_data;

  self->parent.callbacks->error (self->parent.user_data, error);
}

static void
on_soup_closed (SoupWebsocketConnection *conn,
                gpointer                 user_data)
{
  OwlTransportSoup *self = user_data;
  guint16 code;

  if (self->closed)
    return;
  self->closed = TRUE;

  code = soup_websocket_connection_get_close_code (conn);
  /* libsoup reports 0 when no close frame arrived (TCP drop) and 1005 when
   * the close frame had no code. */
  if (code == 0)
    code = OWL_CLOSE_ABNORMAL;

  self->parent.callbacks->closed (self->parent.user_data, code,
                           soup_websocket_connection_get_close_data (conn));
}

static void     soup_free         (OwlTransport *transport);
static void     soup_send         (OwlTransport *transport, gboolean binary, GBytes *bytes);
static void     soup_send_shared  (OwlTransport *transport, OwlSharedMessage *message);
static void     soup_send_data    (OwlTransport *transport, gboolean binary, const char *data, gsize len);
static void     soup_close        (OwlTransport *transport, guint16 code, const char *reason);
static gsize    soup_get_buffered (OwlTransport *transport);
static guint64  soup_get_dropped  (OwlTransport *transport);
static void     soup_tick         (OwlTransport *transport, gint64 now_us);

static const OwlTransportClass soup_class = {
  .free = soup_free,
  .send = soup_send,
  .send_shared = soup_send_shared,
  .send_data = soup_send_data,
  .close = soup_close,
  .get_buffered = soup_get_buffered,
  .get_dropped = soup_get_dropped,
  .tick = soup_tick,
};

OwlTransport *
owl_transport_new_soup (SoupWebsocketConnection     *conn,
                        const OwlTransportLimits    *limits,
                        const OwlTransportCallbacks *callbacks,
                        gpointer                     user_data)
{
  OwlTransportSoup *self = g_new0 (OwlTransportSoup, 1);

  self->parent.klass = &soup_class;
  self->parent.callbacks = callbacks;
  self->parent.user_data = user_data;
  self->conn = g_object_ref (conn);

  /* libsoup caps frames, not messages: the closest it can do. */
  g_object_set (conn,
                "max-incoming-payload-size", limits->max_message_size,
                "keepalive-interval", limits->ping_interval_s,
                NULL);

  self->message_id = g_signal_connect (conn, "message", G_CALLBACK (on_soup_message), self);
  self->error_id = g_signal_connect (conn, "error", G_CALLBACK (on_soup_error), self);
  self->closed_id = g_signal_connect (conn, "closed", G_CALLBACK (on_soup_closed), self);

  return &self->parent;
}

static void
soup_free (OwlTransport *transport)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;

  g_clear_signal_handler (&self->message_id, self->conn);
  g_clear_signal_handler (&self->error_id, self->conn);
  g_clear_signal_handler (&self->closed_id, self->conn);

  if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->conn, OWL_CLOSE_GOING_AWAY, NULL);

  g_object_unref (self->conn);
  g_free (self);
}

static gboolean
transport_is_open (OwlTransportSoup *self)
{
  return !self->closed &&
         soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

static void
soup_send (OwlTransport *transport,
           gboolean      binary,
           GBytes       *bytes)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;

  if (!transport_is_open (self))
    return;

  soup_websocket_connection_send_message (self->conn,
                                          binary ? SOUP_WEBSOCKET_DATA_BINARY : SOUP_WEBSOCKET_DATA_TEXT,
                                          bytes);
}

static void
soup_send_shared (OwlTransport     *transport,
                  OwlSharedMessage *message)
{
  soup_send (transport, FALSE, message->payload);
}

static void
soup_send_data (OwlTransport *transport,
                gboolean      binary,
                const char   *data,
                gsize         len)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;
  /* libsoup copies the payload into its frame: wrap without copying. */
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, len);

  if (!transport_is_open (self))
    return;

  soup_websocket_connection_send_message (self->conn,
                                          binary ? SOUP_WEBSOCKET_DATA_BINARY : SOUP_WEBSOCKET_DATA_TEXT,
                                          bytes);
}

static void
soup_close (OwlTransport *transport,
            guint16       code,
            const char   *reason)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;

  if (!transport_is_open (self))
    return;

  soup_websocket_connection_close (self->conn, code, reason);
}

/* libsoup 3.2 does not show its queue. */
static gsize
soup_get_buffered (OwlTransport *transport)
{
  return 0;
}

static guint64
soup_get_dropped (OwlTransport *transport)
{
  return 0;
}

static void
soup_tick (OwlTransport *transport,
           gint64        now_us)
{
}
