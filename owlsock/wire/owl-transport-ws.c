/* owl-transport-ws.c: owlsock's own WebSocket connection on a raw socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * After the 101, SoupServer hands over its stream; from there the bytes are
 * ours. The socket joins the context's poller (one epoll set for every
 * connection), is read at most OWL_WS_READ_BUDGET bytes per main loop turn so
 * a pipelining client cannot hold the others, and is written directly while
 * nothing is queued; only what the kernel did not take is queued, counted,
 * and bounded by the limit's policy (owl-transport-ws-output.c). Keepalive,
 * the pong deadline, the idle timeout and the close handshake timeout run
 * off the service's one-second tick, so an idle connection owns no GSource.
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "owl-close.h"
#include "owl-fd-stream-private.h"
#include "owl-transport-ws-private.h"

#define OWL_WS_READ_BUDGET   (64 * 1024)
/* Time one connection's messages may take in one main loop turn; past it,
 * the rest of what was read waits for the next turn, so a client sending
 * a burst of costly messages delays the others by this much at most (plus
 * one message). */
#define OWL_WS_TURN_BUDGET_US 1000
#define OWL_WS_CLOSE_TIMEOUT (5 * G_USEC_PER_SEC)

/* recv() with errno, through TLS when there is a stream. */
static ssize_t
io_recv (OwlTransportWs *self,
         guint8         *buf,
         gsize           len)
{
  g_autoptr(GError) error = NULL;
  gssize n;

  if (self->in == NULL)
    return recv (self->fd, buf, len, 0);

  n = g_pollable_input_stream_read_nonblocking (self->in, buf, len, NULL, &error);
  if (n < 0)
    errno = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? EAGAIN : EIO;
  return n;
}

/* Ending ---------------------------------------------------------------------- */

static void
ws_emit_closed (OwlTransportWs *self)
{
  if (self->closed_emitted || !self->closed_due)
    return;
  self->closed_emitted = TRUE;
  if (self->closed_idle != NULL)
    {
      g_source_destroy (self->closed_idle);
      g_clear_pointer (&self->closed_idle, g_source_unref);
    }

  /* Last thing: the callback may free the transport. */
  self->parent.callbacks->closed (self->parent.user_data, self->closed_code, self->closed_reason);
}

static gboolean
closed_idle_cb (gpointer data)
{
  OwlTransportWs *self = data;

  g_source_unref (self->closed_idle);
  self->closed_idle = NULL;
  ws_emit_closed (self);
  return G_SOURCE_REMOVE;
}

/* The socket goes: to a linger (owl-transport-ws-linger.c) when the peer
 * may still send or something is queued, else closed at once. */
static void
ws_release_socket (OwlTransportWs *self,
                   gboolean        linger)
{
  if (self->watch != NULL)
    {
      owl_poller_remove (self->poller, self->watch);
      self->watch = NULL;
    }
  if (self->fd >= 0 && (linger || self->queue.length > 0))
    owl_transport_ws_linger (self);
  if (self->stream != NULL)
    {
      /* TLS: the descriptor is the OwlFdStream's; closing the stream
       * closes it. */
      if (self->fd >= 0)
        shutdown (self->fd, SHUT_RDWR);
      self->fd = -1;
      g_io_stream_close (self->stream, NULL, NULL);
      self->in = NULL;
      self->out = NULL;
      g_clear_object (&self->stream);
    }
  if (self->fd >= 0)
    {
      /* shutdown() ends the TCP connection even if another descriptor of
       * the socket is still open somewhere. */
      shutdown (self->fd, SHUT_RDWR);
      close (self->fd);
      self->fd = -1;
    }
  g_queue_clear_full (&self->queue, ws_chunk_free);
  self->queued = 0;
}

/* The connection is over: flush what we can (the close frame), hand the
 * socket to a linger when the peer may still send or something is queued,
 * and report `closed` from the main loop, never from inside a call. The
 * frame reader lives on until the transport is freed: this may run from
 * inside one of its callbacks. */
void
owl_transport_ws_finish (OwlTransportWs *self,
                         guint16         code,
                         const char     *reason,
                         gboolean        drain_input)
{
  if (self->state == WS_DONE)
    return;

  /* What is corked was written before whatever ends the connection. */
  owl_transport_ws_uncork (self);
  if (self->state == WS_DONE)
    return;
  self->state = WS_DONE;

  owl_transport_ws_flush (self);
  ws_release_socket (self, drain_input);
  ws_cork_drop_carrier (self);

  self->closed_due = TRUE;
  self->closed_code = code;
  self->closed_reason = g_strdup (reason ? reason : "");

  if (self->busy == 0)
    {
      self->closed_idle = g_idle_source_new ();
      g_source_set_callback (self->closed_idle, closed_idle_cb, self, NULL);
      g_source_attach (self->closed_idle, self->context);
    }
}

/* Input ------------------------------------------------------------------------ */

static void
on_frame_message (gpointer      user_data,
                  gboolean      binary,
                  const guint8 *data,
                  gsize         len)
{
  OwlTransportWs *self = user_data;

  if (self->state != WS_OPEN || self->freed)
    return;
  self->parent.callbacks->message (self->parent.user_data, binary, data, len);
  /* Not while the bytes libsoup read past the request are taken over (no
   * watch yet): those must be parsed before its stream goes. */
  if (self->watch != NULL && g_get_monotonic_time () - self->turn_start >= OWL_WS_TURN_BUDGET_US)
    owl_frame_reader_pause (self->reader);
}

static void
on_frame_ping (gpointer      user_data,
               const guint8 *data,
               gsize         len)
{
  OwlTransportWs *self = user_data;

  if (self->state == WS_OPEN)
    owl_transport_ws_send_control (self, OWL_FRAME_PONG, data, len);
}

static void
on_frame_pong (gpointer      user_data,
               const guint8 *data,
               gsize         len)
{
  OwlTransportWs *self = user_data;

  self->ping_sent = 0;
}

static void
on_frame_close (gpointer    user_data,
                guint16     code,
                const char *reason)
{
  OwlTransportWs *self = user_data;

  if (self->state == WS_OPEN)
    {
      /* Echo the peer's code (RFC 6455 5.5.1); 1005 means none was given. */
      if (code == OWL_CLOSE_NO_STATUS)
        owl_transport_ws_send_control (self, OWL_FRAME_CLOSE, NULL, 0);
      else
        owl_transport_ws_send_close (self, code, NULL);
      owl_transport_ws_finish (self, code, reason, FALSE);
    }
  else if (self->state == WS_CLOSE_SENT)
    owl_transport_ws_finish (self, self->close_code, self->close_reason, FALSE);
}

static const OwlFrameCallbacks frame_callbacks = {
  .message = on_frame_message,
  .ping = on_frame_ping,
  .pong = on_frame_pong,
  .close = on_frame_close,
};

/* One buffer per thread: frames are unmasked in place and delivered from it. */
static GPrivate read_buffer_key = G_PRIVATE_INIT (g_free);

static guint8 *
read_buffer (void)
{
  guint8 *buf = g_private_get (&read_buffer_key);

  if (buf == NULL)
    {
      buf = g_malloc (OWL_WS_READ_BUDGET);
      g_private_set (&read_buffer_key, buf);
    }
  return buf;
}

/* A frame reader's verdict: a protocol error closes with its code. */
static void
ws_check_reader (OwlTransportWs *self,
                 gboolean        ok,
                 guint16         code,
                 const char     *reason)
{
  if (!ok && (self->state == WS_OPEN || self->state == WS_CLOSE_SENT))
    {
      owl_transport_ws_send_close (self, code, reason);
      owl_transport_ws_finish (self, code, reason, TRUE);
    }
}

static void
ws_feed (OwlTransportWs *self,
         guint8         *data,
         gsize           len)
{
  guint16 code = 0;
  const char *reason = NULL;
  gboolean ok;

  self->last_rx = g_get_monotonic_time ();
  ok = owl_frame_reader_feed (self->reader, data, len, &code, &reason);
  ws_check_reader (self, ok, code, reason);
}

/* What a pause left from an earlier read, before anything new is read. */
static void
ws_resume (OwlTransportWs *self)
{
  guint16 code = 0;
  const char *reason = NULL;
  gboolean ok = owl_frame_reader_resume (self->reader, &code, &reason);

  ws_check_reader (self, ok, code, reason);
}

static void
ws_read (OwlTransportWs *self)
{
  guint8 *buf = read_buffer ();
  ssize_t n;

  if (owl_frame_reader_has_backlog (self->reader))
    {
      ws_resume (self);
      return;
    }

  do
    n = io_recv (self, buf, OWL_WS_READ_BUDGET);
  while (n < 0 && errno == EINTR);

  if (n > 0)
    ws_feed (self, buf, n);
  else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
    owl_transport_ws_finish (self, self->state == WS_CLOSE_SENT ? self->close_code : OWL_CLOSE_ABNORMAL,
                             self->state == WS_CLOSE_SENT ? self->close_reason : "", FALSE);
}

/* One budget per connection per dispatch of the poller, however many
 * times it calls this connection in it (an event and a kick). */
static void
ws_start_turn (OwlTransportWs *self)
{
  guint64 serial = owl_poller_get_serial (self->poller);

  if (serial != self->turn_serial)
    {
      self->turn_serial = serial;
      self->turn_start = g_get_monotonic_time ();
    }
}

static void ws_really_free (OwlTransportWs *self);

/* Come back on the next dispatch for what the descriptor no longer shows
 * (epoll is level-triggered on the socket only): the reader's backlog
 * after a pause, and decrypted bytes TLS holds. */
static void
ws_kick_if_buffered (OwlTransportWs *self)
{
  if (self->watch == NULL || self->state == WS_DONE)
    return;
  if (owl_frame_reader_has_backlog (self->reader) ||
      (self->in != NULL && g_pollable_input_stream_is_readable (self->in)))
    owl_poller_kick (self->poller, self->watch);
}

static void
on_socket_ready (gpointer user_data,
                 guint    events)
{
  OwlTransportWs *self = user_data;
  WsCork *cork = ws_cork_get ();

  self->busy++;
  cork->depth++;
  ws_start_turn (self);

  if ((events & OWL_POLL_OUT) && self->state != WS_DONE)
    {
      if (!owl_transport_ws_flush (self))
        owl_transport_ws_finish (self, self->state == WS_CLOSE_SENT ? self->close_code : OWL_CLOSE_ABNORMAL, "", FALSE);
      else if (self->queued == 0 && self->pushed_back && !self->freed)
        {
          self->pushed_back = FALSE;
          if (self->parent.callbacks->drain != NULL)
            self->parent.callbacks->drain (self->parent.user_data);
        }
    }

  /* Whoever ends a dispatch decides for the corks: a carrier keeps them. */
  cork->carrier = NULL;
  if ((events & OWL_POLL_IN) && self->state != WS_DONE)
    {
      ws_read (self);
      ws_kick_if_buffered (self);
      if (self->state != WS_DONE && self->watch != NULL &&
          owl_frame_reader_has_backlog (self->reader))
        cork->carrier = self;
    }

  ws_cork_end (cork);
  self->busy--;

  if (self->freed)
    ws_really_free (self);
  else
    ws_emit_closed (self);
}

/* Public entry points ------------------------------------------------------------- */

static void
ws_free (OwlTransport *transport)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;

  if (self->busy > 0)
    {
      self->freed = TRUE;
      return;
    }
  ws_really_free (self);
}

static void
ws_really_free (OwlTransportWs *self)
{
  if (self->closed_idle != NULL)
    {
      g_source_destroy (self->closed_idle);
      g_source_unref (self->closed_idle);
    }
  if (self->in_dirty)
    g_ptr_array_remove_fast (ws_cork_get ()->dirty, self);
  ws_cork_drop_carrier (self);
  if (self->state != WS_DONE && self->fd >= 0)
    {
      owl_transport_ws_uncork (self);
      owl_transport_ws_send_close (self, OWL_CLOSE_GOING_AWAY, "Going away");
      owl_transport_ws_flush (self);
    }
  g_clear_pointer (&self->cork, g_byte_array_unref);
  ws_release_socket (self, FALSE);
  g_clear_pointer (&self->reader, owl_frame_reader_free);
  g_clear_pointer (&self->deflate, owl_deflate_free);
  owl_poller_unref (self->poller);
  g_main_context_unref (self->context);
  g_free (self->close_reason);
  g_free (self->closed_reason);
  g_free (self);
}

static void
ws_close (OwlTransport *transport,
          guint16       code,
          const char   *reason)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;

  if (self->state != WS_OPEN)
    return;

  self->close_code = code;
  self->close_reason = g_strdup (reason ? reason : "");
  owl_transport_ws_send_close (self, code, reason);
  if (self->state == WS_OPEN)
    {
      self->state = WS_CLOSE_SENT;
      self->close_deadline = g_get_monotonic_time () + OWL_WS_CLOSE_TIMEOUT;
    }
}

/* The tick comes once a second, give or take a few milliseconds: without
 * slack, a deadline met by a tick that came early waits a whole second. */
#define OWL_WS_TICK_SLACK (50 * 1000)

static void
ws_tick (OwlTransport *transport,
         gint64        now)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;
  const OwlTransportLimits *limits = &self->limits;

  now += OWL_WS_TICK_SLACK;

  switch (self->state)
    {
    case WS_CLOSE_SENT:
      if (now >= self->close_deadline)
        owl_transport_ws_finish (self, self->close_code, self->close_reason, FALSE);
      break;

    case WS_OPEN:
      if (self->ping_sent != 0 && now - self->ping_sent >= (gint64) limits->pong_timeout_s * G_USEC_PER_SEC)
        {
          owl_transport_close_on_tick (transport, OWL_CLOSE_PONG_TIMEOUT, "Pong timeout");
          break;
        }
      if (limits->idle_timeout_s > 0 &&
          now - self->last_rx >= (gint64) limits->idle_timeout_s * G_USEC_PER_SEC)
        {
          owl_transport_close_on_tick (transport, OWL_CLOSE_GOING_AWAY, "Idle timeout");
          break;
        }
      if (limits->ping_interval_s > 0 && self->ping_sent == 0 && now >= self->next_ping)
        {
          owl_transport_ws_send_control (self, OWL_FRAME_PING, NULL, 0);
          self->ping_sent = now;
          self->next_ping = now + (gint64) limits->ping_interval_s * G_USEC_PER_SEC;
        }
      break;

    case WS_DONE:
    default:
      break;
    }
}

static const OwlTransportClass ws_class = {
  .free = ws_free,
  .send = owl_transport_ws_send,
  .send_shared = owl_transport_ws_send_shared,
  .send_data = owl_transport_ws_send_data,
  .close = ws_close,
  .get_buffered = owl_transport_ws_get_buffered,
  .get_dropped = owl_transport_ws_get_dropped,
  .tick = ws_tick,
};

/* The descriptor behind a stream SoupServer handed over, if it is a plain
 * socket, owned by the caller from now on (-1 if not: a TLS stream keeps
 * going through libsoup). owlsock's listener gives libsoup OwlFdStreams,
 * whose descriptor is simply taken back. libsoup's own listener tags a
 * stolen stream with its GSocket: duplicate that descriptor, and close the
 * stream after reading what it buffered. */
static int
take_descriptor (GIOStream *stream,
                 gboolean  *close_stream)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  GInputStream *base;
  GSocket *socket;
  int fd;

  *close_stream = FALSE;
  if (!G_IS_FILTER_INPUT_STREAM (input))
    return -1;

  /* What libsoup buffered stays readable through its filter stream. */
  fd = owl_fd_stream_steal_fd (input);
  if (fd >= 0)
    return fd;

  base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (input));

  socket = g_object_get_data (G_OBJECT (stream), "GSocket");
  if (socket == NULL || !g_str_equal (G_OBJECT_TYPE_NAME (base), "GSocketInputStream"))
    return -1;

  *close_stream = TRUE;
  return dup (g_socket_get_fd (socket));
}

OwlTransport *
owl_transport_new_ws (GIOStream                   *stream,
                      const OwlTransportLimits    *limits,
                      const OwlTransportCallbacks *callbacks,
                      gpointer                     user_data)
{
  OwlTransportWs *self;
  GInputStream *input = g_io_stream_get_input_stream (stream);
  OwlFrameReaderConfig config = { 0, };
  gboolean close_stream;
  gboolean tls = FALSE;
  guint8 *buf;
  gssize n;
  int fd;

  /* Our own descriptor: every GIO and libsoup object of the upgrade can go,
   * which is most of an idle connection's memory. What libsoup buffered
   * past the request is read first, through the stream. TLS over owlsock's
   * listener keeps the stream and watches its descriptor. */
  fd = take_descriptor (stream, &close_stream);
  if (fd < 0)
    {
      fd = owl_fd_stream_peek_tls_fd (stream);
      if (fd < 0)
        return NULL;
      tls = TRUE;
      owl_fd_stream_mark_upgraded (stream);
    }

  self = g_new0 (OwlTransportWs, 1);
  self->parent.klass = &ws_class;
  self->parent.callbacks = callbacks;
  self->parent.user_data = user_data;
  self->fd = fd;
  if (tls)
    {
      self->stream = g_object_ref (stream);
      self->in = G_POLLABLE_INPUT_STREAM (input);
      self->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
    }
  self->limits = *limits;
  /* The parameters live on in the compressor only. */
  self->limits.deflate = NULL;
  if (limits->deflate != NULL)
    self->deflate = owl_deflate_new (limits->deflate, TRUE);
  g_queue_init (&self->queue);
  self->last_rx = g_get_monotonic_time ();
  self->next_ping = self->last_rx + (gint64) limits->ping_interval_s * G_USEC_PER_SEC;

  config.server = TRUE;
  config.max_message_size = limits->max_message_size;
  config.deflate = self->deflate;
  self->reader = owl_frame_reader_new (&config, &frame_callbacks, self);

  self->context = g_main_context_ref_thread_default ();
  self->poller = owl_poller_ref_for_context (self->context);
  ws_start_turn (self);

  /* libsoup may have read past the request: what it buffered comes first.
   * Messages found here wait in the connection until its handler returns. */
  buf = read_buffer ();
  self->busy++;
  while (self->state == WS_OPEN &&
         (n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (input), buf,
                                                        OWL_WS_READ_BUDGET, NULL, NULL)) > 0)
    {
      ws_feed (self, buf, n);
      if (n < OWL_WS_READ_BUDGET)
        break;
    }
  self->busy--;

  /* A duplicated descriptor's original may live on in libsoup's objects:
   * closing the stream keeps one descriptor per connection, lets our close
   * end the TCP connection, and lets libsoup's objects go (a stream
   * dropped without a close keeps its GSocket alive). */
  if (close_stream)
    g_io_stream_close (stream, NULL, NULL);

  if (self->state != WS_DONE)
    {
      self->watch = owl_poller_add (self->poller, self->fd, OWL_POLL_IN | (self->queued ? OWL_POLL_OUT : 0),
                                    on_socket_ready, self);
      ws_kick_if_buffered (self);
    }
  else if (self->closed_due && self->closed_idle == NULL)
    {
      self->closed_idle = g_idle_source_new ();
      g_source_set_callback (self->closed_idle, closed_idle_cb, self, NULL);
      g_source_attach (self->closed_idle, self->context);
    }

  return &self->parent;
}
