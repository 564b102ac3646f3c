/* owl-transport-soup.c: OwlTransport over SoupWebsocketConnection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one case owlsock leaves to libsoup's WebSocket code: a SoupServer
 * given to attach() that does TLS itself, whose stream owlsock cannot take
 * over. libsoup 3.2 shows neither its send queue nor when a pong is due,
 * so owlsock puts a GIOStream of its own between libsoup and that stream
 * (owl-soup-stream.c), whose output queue owlsock counts, bounds with the
 * limit's policy and sees drain, and which carries owlsock's own pings and
 * close frames between libsoup's frames.
 *
 * Keepalive, the pong deadline and the idle timeout run off the service's
 * one-second tick, as on owlsock's own frame layer; libsoup's keepalive is
 * off.
 */

#include "config.h"

#include "owl-close.h"
#include "owl-frame-private.h"
#include "owl-soup-stream-private.h"
#include "owl-transport-private.h"

/* See owl-transport-ws.c: the tick may come a little early. */
#define OWL_SOUP_TICK_SLACK (50 * 1000)

typedef struct
{
  OwlTransport                 parent;
  SoupWebsocketConnection     *conn;
  OwlSoupStream               *stream;
  OwlTransportLimits           limits;
  GMainContext                *context;
  gulong                       message_id;
  gulong                       pong_id;
  gulong                       error_id;
  gulong                       closed_id;

  gboolean                     closed;        /* `closed` is due or done */
  gboolean                     close_sent;    /* we started the close */
  guint16                      close_code;    /* ours, once we sent one */
  char                        *close_reason;
  GSource                     *closed_idle;   /* when owlsock ended it */

  guint64                      dropped;
  gint64                       created;
  gint64                       ping_sent;     /* 0: no ping outstanding */
  gint64                       next_ping;
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

  /* As on owlsock's frame layer: nothing more once we started the close. */
  if (self->close_sent)
    return;
  self->parent.callbacks->message (self->parent.user_data, type == SOUP_WEBSOCKET_DATA_BINARY, data, len);
}

static void
on_soup_pong (SoupWebsocketConnection *conn,
              GBytes                  *message,
              gpointer                 user_data)
{
  OwlTransportSoup *self = user_data;

  self->ping_sent = 0;
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
  const char *reason;

  if (self->closed)
    return;
  self->closed = TRUE;

  /* Our own code when we started the close, as on owlsock's frame layer.
   * libsoup reports 0 when no close frame arrived (TCP drop) and 1005 when
   * the close frame had no code. */
  code = soup_websocket_connection_get_close_code (conn);
  reason = soup_websocket_connection_get_close_data (conn);
  if (self->close_sent)
    {
      code = self->close_code;
      reason = self->close_reason;
    }
  else if (code == 0)
    code = OWL_CLOSE_ABNORMAL;

  self->parent.callbacks->closed (self->parent.user_data, code, reason);
}

static void
soup_disconnect (OwlTransportSoup *self)
{
  g_clear_signal_handler (&self->message_id, self->conn);
  g_clear_signal_handler (&self->pong_id, self->conn);
  g_clear_signal_handler (&self->error_id, self->conn);
  g_clear_signal_handler (&self->closed_id, self->conn);
}

static gboolean
closed_idle_cb (gpointer user_data)
{
  OwlTransportSoup *self = user_data;

  g_clear_pointer (&self->closed_idle, g_source_unref);
  /* libsoup closes the stream when its connection goes; the stream sends
   * what it can of its queue first. */
  g_clear_object (&self->conn);
  /* Last thing: the callback may free the transport. */
  self->parent.callbacks->closed (self->parent.user_data, self->close_code, self->close_reason);
  return G_SOURCE_REMOVE;
}

/* owlsock ends the connection without waiting for the peer: `closed` comes
 * from the main loop, with @code. */
static void
soup_finish (OwlTransportSoup *self,
             guint16           code,
             const char       *reason)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  soup_disconnect (self);
  self->close_code = code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason ? reason : "");

  self->closed_idle = g_idle_source_new ();
  g_source_set_callback (self->closed_idle, closed_idle_cb, self, NULL);
  g_source_attach (self->closed_idle, self->context);
}

static void
on_output_drained (gpointer user_data)
{
  OwlTransportSoup *self = user_data;

  if (!self->closed && self->parent.callbacks->drain != NULL)
    self->parent.callbacks->drain (self->parent.user_data);
}

/* The TLS stream failed under a write no libsoup call saw. */
static void
on_output_failed (gpointer user_data)
{
  OwlTransportSoup *self = user_data;

  soup_finish (self, self->close_sent ? self->close_code : OWL_CLOSE_ABNORMAL,
               self->close_sent ? self->close_reason : "");
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
owl_transport_new_soup (GIOStream                   *stream,
                        GUri                        *uri,
                        const char                  *origin,
                        const OwlTransportLimits    *limits,
                        const OwlTransportCallbacks *callbacks,
                        gpointer                     user_data)
{
  OwlTransportSoup *self = g_new0 (OwlTransportSoup, 1);
  OwlSoupOutput *output;

  self->parent.klass = &soup_class;
  self->parent.callbacks = callbacks;
  self->parent.user_data = user_data;
  self->limits = *limits;
  self->limits.deflate = NULL;
  self->context = g_main_context_ref_thread_default ();
  self->created = g_get_monotonic_time ();
  self->next_ping = self->created + (gint64) limits->ping_interval_s * G_USEC_PER_SEC;

  self->stream = owl_soup_stream_new (stream);
  output = self->stream->output;
  output->drained = on_output_drained;
  output->failed = on_output_failed;
  output->hook_data = self;

  self->conn = soup_websocket_connection_new (G_IO_STREAM (self->stream), uri,
                                              SOUP_WEBSOCKET_CONNECTION_SERVER, origin, NULL, NULL);
  /* libsoup caps frames, not messages: the closest it can do. owlsock
   * sends the pings itself, to know when a pong is late. */
  g_object_set (self->conn,
                "max-incoming-payload-size", limits->max_message_size,
                "keepalive-interval", 0,
                NULL);

  self->message_id = g_signal_connect (self->conn, "message", G_CALLBACK (on_soup_message), self);
  self->pong_id = g_signal_connect (self->conn, "pong", G_CALLBACK (on_soup_pong), self);
  self->error_id = g_signal_connect (self->conn, "error", G_CALLBACK (on_soup_error), self);
  self->closed_id = g_signal_connect (self->conn, "closed", G_CALLBACK (on_soup_closed), self);

  return &self->parent;
}

static void
soup_free (OwlTransport *transport)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;
  OwlSoupOutput *output = self->stream->output;

  output->drained = NULL;
  output->failed = NULL;
  output->hook_data = NULL;

  if (self->closed_idle != NULL)
    {
      g_source_destroy (self->closed_idle);
      g_source_unref (self->closed_idle);
    }

  if (self->conn != NULL)
    {
      soup_disconnect (self);
      if (soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->conn, OWL_CLOSE_GOING_AWAY, NULL);
      g_object_unref (self->conn);
    }

  g_object_unref (self->stream);
  g_main_context_unref (self->context);
  g_free (self->close_reason);
  g_free (self);
}

static gboolean
transport_is_open (OwlTransportSoup *self)
{
  return !self->closed &&
         soup_websocket_connection_get_state (self->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* The limit's policy, as on owlsock's frame layer: a message that would
 * push the queued bytes past it is dropped, or ends the connection with
 * 1013; one message always passes an empty queue. */
static gboolean
soup_admit (OwlTransportSoup *self,
            gsize             len)
{
  gsize queued = self->stream->output->queued;
  gsize frame = len + (len < 126 ? 2 : len <= G_MAXUINT16 ? 4 : 10);
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) close_frame = NULL;

  if (self->limits.max_buffered == 0 || queued + frame <= self->limits.max_buffered || queued == 0)
    return TRUE;

  if (self->limits.full_policy == OWL_TRANSPORT_FULL_DROP)
    {
      self->dropped++;
      return FALSE;
    }

  payload = owl_frame_build_close (OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read");
  close_frame = owl_frame_build (OWL_FRAME_CLOSE, FALSE, g_bytes_get_data (payload, NULL),
                                 g_bytes_get_size (payload));
  owl_soup_output_end_with (self->stream->output, close_frame);
  soup_finish (self, OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read");
  return FALSE;
}

static void
soup_send_bytes (OwlTransportSoup *self,
                 gboolean          binary,
                 GBytes           *bytes)
{
  if (!transport_is_open (self) || !soup_admit (self, g_bytes_get_size (bytes)))
    return;

  soup_websocket_connection_send_message (self->conn,
                                          binary ? SOUP_WEBSOCKET_DATA_BINARY : SOUP_WEBSOCKET_DATA_TEXT,
                                          bytes);
}

static void
soup_send (OwlTransport *transport,
           gboolean      binary,
           GBytes       *bytes)
{
  soup_send_bytes ((OwlTransportSoup *) transport, binary, bytes);
}

static void
soup_send_shared (OwlTransport     *transport,
                  OwlSharedMessage *message)
{
  soup_send_bytes ((OwlTransportSoup *) transport, FALSE, message->payload);
}

static void
soup_send_data (OwlTransport *transport,
                gboolean      binary,
                const char   *data,
                gsize         len)
{
  /* libsoup copies the payload into its frame: wrap without copying. */
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, len);

  soup_send_bytes ((OwlTransportSoup *) transport, binary, bytes);
}

/* libsoup refuses to send some codes (1012-1014 among them): it is asked
 * for a plain close, and the stream sends owlsock's frame in its place. */
static void
soup_close (OwlTransport *transport,
            guint16       code,
            const char   *reason)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;
  g_autoptr(GBytes) payload = NULL;
  OwlSoupOutput *output = self->stream->output;

  if (!transport_is_open (self))
    return;

  self->close_sent = TRUE;
  self->close_code = code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason ? reason : "");

  payload = owl_frame_build_close (code, reason);
  g_clear_pointer (&output->close_frame, g_bytes_unref);
  output->close_frame = owl_frame_build (OWL_FRAME_CLOSE, FALSE, g_bytes_get_data (payload, NULL),
                                         g_bytes_get_size (payload));
  soup_websocket_connection_close (self->conn, OWL_CLOSE_NORMAL, NULL);
}

static gsize
soup_get_buffered (OwlTransport *transport)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;

  return self->closed ? 0 : self->stream->output->queued;
}

static guint64
soup_get_dropped (OwlTransport *transport)
{
  return ((OwlTransportSoup *) transport)->dropped;
}

static void
soup_tick (OwlTransport *transport,
           gint64        now)
{
  OwlTransportSoup *self = (OwlTransportSoup *) transport;
  const OwlTransportLimits *limits = &self->limits;
  gint64 last_rx = MAX (self->created, self->stream->input->last_rx);

  /* A close we started ends with libsoup's own timeout (5 s). */
  if (!transport_is_open (self) || self->close_sent)
    return;

  now += OWL_SOUP_TICK_SLACK;
  if (self->ping_sent != 0 && now - self->ping_sent >= (gint64) limits->pong_timeout_s * G_USEC_PER_SEC)
    owl_transport_close_on_tick (transport, OWL_CLOSE_PONG_TIMEOUT, "Pong timeout");
  else if (limits->idle_timeout_s > 0 && now - last_rx >= (gint64) limits->idle_timeout_s * G_USEC_PER_SEC)
    owl_transport_close_on_tick (transport, OWL_CLOSE_GOING_AWAY, "Idle timeout");
  else if (limits->ping_interval_s > 0 && self->ping_sent == 0 && now >= self->next_ping)
    {
      static const guint8 ping[] = { 0x80 | OWL_FRAME_PING, 0 };
      g_autoptr(GBytes) frame = g_bytes_new_static (ping, sizeof ping);

      owl_soup_output_inject (self->stream->output, frame);
      self->ping_sent = now;
      self->next_ping = now + (gint64) limits->ping_interval_s * G_USEC_PER_SEC;
    }
}
