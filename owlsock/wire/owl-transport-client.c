/* owl-transport-client.c: the client role of the frame layer, over any GIOStream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On a plain socket the input is watched by the context's OwlPoller (one
 * epoll source for every socket, as the server's connections); on another
 * pollable stream (TLS over a socket) by one pollable source for the whole
 * connection; either way it is read without blocking. Frames are written at
 * once without blocking; only what the socket does not take then waits in
 * the queue for g_output_stream_write_all_async(). A plain socket (not
 * TLS, nor a wrapper around another stream) is read with recv() and
 * written with send() on its descriptor, a frame built on the stack when
 * nothing waits before it, as the server's connections do: through
 * GSocket's streams and a GBytes in the queue, the client spent a fifth
 * more instructions per echoed message than with them. A GTask and a GSource
 * per read and per write, or even a GSource per connection (GLib signals
 * its wakeup descriptor each time a source with a descriptor is
 * dispatched), cost the client more per message than the whole server
 * spends on it (tests/bench/run-client.sh).
 * Other streams: one read is always pending, and the queue is written one
 * frame at a time with g_output_stream_write_all_async(). Sources and async
 * operations hold a reference, so the owner may free the transport at any
 * time (even from a callback): a freed transport's operations are
 * cancelled and finish quietly.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "owl-close.h"
#include "owl-frame-private.h"
#include "owl-poller-private.h"
#include "owl-transport-client-private.h"

#define OWL_CLIENT_READ_SIZE      (16 * 1024)
/* reads per dispatch of the input source, so that one busy connection
 * lets the others (and timers) have the main loop */
#define OWL_CLIENT_READS_PER_TURN 4
#define OWL_CLIENT_CLOSE_TIMEOUT_MS 5000
/* Frames up to this size are built on the stack when they may go out at once. */
#define OWL_CLIENT_STACK_FRAME    4096

typedef enum
{
  CLIENT_OPEN,
  CLIENT_CLOSE_SENT,  /* we sent a close frame and wait for the peer's */
  CLIENT_DONE,        /* over: `closed` is due or done */
} ClientState;

typedef struct
{
  OwlTransport    parent;

  guint           refs;
  guint           freed : 1;
  guint           writing : 1;
  guint           stream_closed : 1;
  ClientState     state;

  GIOStream      *stream;
  int             fd;                 /* a plain socket's, read and written directly; else -1 */
  GCancellable   *read_cancellable;   /* cancelled when the connection ends */
  GCancellable   *cancellable;        /* cancelled when the transport is freed */
  GMainContext   *context;
  OwlFrameReader *reader;
  OwlDeflate     *deflate;
  guint64         mask_state;         /* xorshift64*, never 0 */
  guint8         *buf;
  GBytes         *leftover;

  GQueue          queue;              /* GBytes, whole frames */
  gsize           queued;

  guint16         close_code;         /* ours, once sent */
  char           *close_reason;
  guint16         closed_code;        /* what `closed` reports */
  char           *closed_reason;

  GSource        *start_idle;
  GSource        *read_source;        /* pollable streams: input is readable */
  OwlPoller      *poller;             /* plain sockets: the watch on it */
  OwlPollerWatch *watch;
  GSource        *close_timer;
  GSource        *closed_idle;
  gint64          last_rx;
} OwlTransportClient;

/* Life ------------------------------------------------------------------------- */

static OwlTransportClient *
client_ref (OwlTransportClient *self)
{
  self->refs++;
  return self;
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void client_unref (gpointer data);

/* The poller's watch holds a reference, dropped here. */
static void
stop_watch (OwlTransportClient *self)
{
  if (self->watch == NULL)
    return;
  owl_poller_remove (self->poller, self->watch);
  self->watch = NULL;
  client_unref (self);
}

static void
client_unref (gpointer data)
{
  OwlTransportClient *self = data;

  if (--self->refs > 0)
    return;
  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->reader, owl_frame_reader_free);
  g_clear_pointer (&self->deflate, owl_deflate_free);
  g_clear_pointer (&self->leftover, g_bytes_unref);
  g_clear_pointer (&self->poller, owl_poller_unref);
  g_clear_object (&self->stream);
  g_clear_object (&self->read_cancellable);
  g_clear_object (&self->cancellable);
  g_main_context_unref (self->context);
  g_free (self->buf);
  g_free (self->close_reason);
  g_free (self->closed_reason);
  g_free (self);
}

static GSource *
client_attach (OwlTransportClient *self,
               GSource            *source,
               GSourceFunc         func)
{
  g_source_set_callback (source, func, client_ref (self), client_unref);
  g_source_attach (source, self->context);
  return source;
}

/* Output ----------------------------------------------------------------------- */

static void pump (OwlTransportClient *self);

static void
close_stream (OwlTransportClient *self)
{
  if (self->stream_closed)
    return;
  self->stream_closed = TRUE;
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static void client_finish (OwlTransportClient *self, guint16 code, const char *reason);

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  OwlTransportClient *self = data;
  g_autoptr(GError) error = NULL;
  gsize len = g_bytes_get_size (g_queue_peek_head (&self->queue));

  self->writing = FALSE;
  g_bytes_unref (g_queue_pop_head (&self->queue));
  self->queued -= len;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
      self->queued = 0;
      if (!self->freed)
        client_finish (self, OWL_CLOSE_ABNORMAL, "");
    }
  if (!self->freed)
    pump (self);
  client_unref (self);
}

/* Writes the queue's head without blocking, if the stream can: TRUE when
 * all of it went. What is left of it (the socket is full, or an error that
 * the async write then meets and reports) stays at the head. */
static gboolean
write_head_now (OwlTransportClient *self)
{
  GOutputStream *output = g_io_stream_get_output_stream (self->stream);
  GBytes *head = g_queue_peek_head (&self->queue);
  gsize len;
  const guint8 *data = g_bytes_get_data (head, &len);
  gssize n;

  if (!G_IS_POLLABLE_OUTPUT_STREAM (output) ||
      !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)))
    return FALSE;
  n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output), data, len,
                                                  self->cancellable, NULL);
  if (n <= 0)
    return FALSE;
  self->queued -= n;
  g_queue_pop_head (&self->queue);
  if ((gsize) n < len)
    g_queue_push_head (&self->queue, g_bytes_new_from_bytes (head, n, len - n));
  g_bytes_unref (head);
  return (gsize) n == len;
}

static void
pump (OwlTransportClient *self)
{
  GBytes *head;

  if (self->writing || self->stream_closed)
    return;
  while (g_queue_peek_head (&self->queue) != NULL && write_head_now (self))
    ;
  head = g_queue_peek_head (&self->queue);
  if (head == NULL)
    {
      /* Everything (our close frame last) went out. */
      if (self->state == CLIENT_DONE)
        close_stream (self);
      return;
    }
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream),
                                   g_bytes_get_data (head, NULL), g_bytes_get_size (head),
                                   G_PRIORITY_DEFAULT, self->cancellable, on_written, client_ref (self));
}

guint64
owl_transport_client_mask_seed (void)
{
  guint64 seed;

  do
    seed = ((guint64) g_random_int () << 32) | g_random_int ();
  while (seed == 0);
  return seed;
}

void
owl_transport_client_mask_key (guint64 *state,
                               guint8   key[4])
{
  guint64 x = *state;
  guint32 bits;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  bits = (guint32) ((x * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D)) >> 32);
  memcpy (key, &bits, 4);
}

/* Writes @data straight to a plain socket, without blocking, while
 * nothing waits before it: how much went. What did not (the socket is
 * full, or an error: the queue's write meets the error again and reports
 * it) is the caller's to queue. Through GSocket's output stream and a
 * queued GBytes, a small frame costs the client more than the server
 * spends to send its echo (tests/bench/run-client.sh). */
static gsize
write_direct (OwlTransportClient *self,
              const guint8       *data,
              gsize               len)
{
  gssize n;

  if (self->fd < 0 || self->writing || self->stream_closed || !g_queue_is_empty (&self->queue))
    return 0;
  do
    n = send (self->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n > 0 ? (gsize) n : 0;
}

/* One whole masked frame: written at once when the socket takes it, the
 * rest queued. */
static void
send_frame (OwlTransportClient *self,
            guint8              opcode,
            gboolean            rsv1,
            const guint8       *payload,
            gsize               len)
{
  guint8 stack[OWL_CLIENT_STACK_FRAME];
  guint8 key[4];
  gsize header_len;
  gsize total;
  gsize sent;
  guint8 *frame;
  GBytes *rest;

  if (self->state == CLIENT_DONE || self->stream_closed)
    return;
  owl_transport_client_mask_key (&self->mask_state, key);
  frame = OWL_FRAME_MAX_HEADER + len <= sizeof stack ? stack : g_malloc (OWL_FRAME_MAX_HEADER + len);
  header_len = owl_frame_write_header (frame, opcode, TRUE, rsv1, len, key);
  total = header_len + len;
  if (len > 0)
    {
      memcpy (frame + header_len, payload, len);
      owl_frame_mask (frame + header_len, len, key, 0);
    }

  sent = write_direct (self, frame, total);
  if (sent == total)
    {
      if (frame != stack)
        g_free (frame);
      return;
    }
  if (frame == stack)
    rest = g_bytes_new (frame + sent, total - sent);
  else
    {
      g_autoptr(GBytes) whole = g_bytes_new_take (frame, total);

      rest = g_bytes_new_from_bytes (whole, sent, total - sent);
    }
  g_queue_push_tail (&self->queue, rest);
  self->queued += total - sent;
  pump (self);
}

static void
send_close_frame (OwlTransportClient *self,
                  guint16             code,
                  const char         *reason)
{
  g_autoptr(GBytes) payload = owl_frame_build_close (code, reason);

  send_frame (self, OWL_FRAME_CLOSE, FALSE, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
}

/* Ending ----------------------------------------------------------------------- */

static gboolean
closed_idle_cb (gpointer data)
{
  OwlTransportClient *self = data;

  g_clear_pointer (&self->closed_idle, g_source_unref);
  if (!self->freed)
    self->parent.callbacks->closed (self->parent.user_data, self->closed_code, self->closed_reason);
  return G_SOURCE_REMOVE;
}

/* The connection is over: no more reading; what is queued (a close frame)
 * is still written, then the stream is closed; `closed` comes from the
 * main loop. */
static void
client_finish (OwlTransportClient *self,
               guint16             code,
               const char         *reason)
{
  if (self->state == CLIENT_DONE)
    return;
  self->state = CLIENT_DONE;
  self->closed_code = code;
  self->closed_reason = g_strdup (reason ? reason : "");
  destroy_source (&self->close_timer);
  destroy_source (&self->read_source);
  stop_watch (self);
  g_cancellable_cancel (self->read_cancellable);
  pump (self);
  self->closed_idle = client_attach (self, g_idle_source_new (), closed_idle_cb);
}

static gboolean
close_timeout_cb (gpointer data)
{
  OwlTransportClient *self = data;

  g_clear_pointer (&self->close_timer, g_source_unref);
  client_finish (self, self->close_code, self->close_reason);
  return G_SOURCE_REMOVE;
}

/* Input ------------------------------------------------------------------------ */

static void
on_frame_message (gpointer      user_data,
                  gboolean      binary,
                  const guint8 *data,
                  gsize         len)
{
  OwlTransportClient *self = user_data;

  if (self->state == CLIENT_OPEN && !self->freed)
    self->parent.callbacks->message (self->parent.user_data, binary, data, len);
}

static void
on_frame_ping (gpointer      user_data,
               const guint8 *data,
               gsize         len)
{
  OwlTransportClient *self = user_data;

  if (self->state == CLIENT_OPEN)
    send_frame (self, OWL_FRAME_PONG, FALSE, data, len);
}

static void
on_frame_close (gpointer    user_data,
                guint16     code,
                const char *reason)
{
  OwlTransportClient *self = user_data;

  if (self->state == CLIENT_OPEN)
    {
      /* Echo the peer's code (RFC 6455 5.5.1); 1005 means none was given. */
      if (code == OWL_CLOSE_NO_STATUS)
        send_frame (self, OWL_FRAME_CLOSE, FALSE, NULL, 0);
      else
        send_close_frame (self, code, NULL);
      client_finish (self, code, reason);
    }
  else if (self->state == CLIENT_CLOSE_SENT)
    client_finish (self, self->close_code, self->close_reason);
}

static const OwlFrameCallbacks frame_callbacks = {
  .message = on_frame_message,
  .ping = on_frame_ping,
  .close = on_frame_close,
};

static void
feed (OwlTransportClient *self,
      guint8             *data,
      gsize               len)
{
  guint16 code = 0;
  const char *reason = NULL;

  self->last_rx = g_get_monotonic_time ();
  if (!owl_frame_reader_feed (self->reader, data, len, &code, &reason) &&
      !self->freed && self->state != CLIENT_DONE)
    {
      send_close_frame (self, code, reason);
      client_finish (self, code, reason);
    }
}

static void start_read (OwlTransportClient *self);

/* The input ended (end of stream, or an error) */
static void
read_ended (OwlTransportClient *self)
{
  if (self->state == CLIENT_CLOSE_SENT)
    client_finish (self, self->close_code, self->close_reason);
  else
    client_finish (self, OWL_CLOSE_ABNORMAL, "");
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  OwlTransportClient *self = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (self->freed || self->state == CLIENT_DONE)
    ;
  else if (n > 0)
    {
      feed (self, self->buf, n);
      start_read (self);
    }
  else
    read_ended (self);
  client_unref (self);
}

/* One read without blocking, into the buffer: recv() on a plain socket
 * (as the server's connections read; GSocket's input stream costs more
 * per read than the rest of the turn), else from @input. *would_block
 * when it returned -1 for that. */
static gssize
read_some (OwlTransportClient   *self,
           GPollableInputStream *input,
           gboolean             *would_block)
{
  g_autoptr(GError) error = NULL;
  gssize n;

  if (self->fd >= 0)
    {
      do
        n = recv (self->fd, self->buf, OWL_CLIENT_READ_SIZE, MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      *would_block = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      return n;
    }
  n = g_pollable_input_stream_read_nonblocking (input, self->buf, OWL_CLIENT_READ_SIZE,
                                                self->read_cancellable, &error);
  *would_block = n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  return n;
}

/* Reads and feeds until @input would block, a few times at the most (it
 * is still readable then, and is called again next turn); FALSE once the
 * connection is over. With @stop_short (a plain socket on the poller,
 * which watches it level-triggered, as the server's connections), a read
 * that did not fill the buffer ends the turn: the socket was drained, and
 * whatever came since makes the poller call again. Reading on to the
 * would-block answer costs one more recv() (and a GError) per message.
 * A TLS stream may hold decrypted data the socket no longer shows, so it
 * is read until it would block. */
static gboolean
read_available (OwlTransportClient   *self,
                GPollableInputStream *input,
                gboolean              stop_short)
{
  guint i;

  for (i = 0; i < OWL_CLIENT_READS_PER_TURN && !self->freed && self->state != CLIENT_DONE; i++)
    {
      gboolean would_block;
      gssize n = read_some (self, input, &would_block);

      if (n > 0)
        {
          feed (self, self->buf, n);
          if (stop_short && n < OWL_CLIENT_READ_SIZE)
            break;
        }
      else if (would_block)
        break;
      else
        read_ended (self);
    }
  return !self->freed && self->state != CLIENT_DONE;
}

static gboolean
on_readable (GObject  *stream,
             gpointer  data)
{
  /* once over, client_finish() or client_free() destroyed the source */
  return read_available (data, G_POLLABLE_INPUT_STREAM (stream), FALSE) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_socket_ready (gpointer user_data,
                 guint    events)
{
  OwlTransportClient *self = client_ref (user_data);   /* the owner may free it meanwhile */

  read_available (self, G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream)), TRUE);
  client_unref (self);
}

static void
start_read (OwlTransportClient *self)
{
  GInputStream *input = g_io_stream_get_input_stream (self->stream);

  if (self->freed || self->state == CLIENT_DONE || self->watch != NULL || self->read_source != NULL)
    return;
  if (G_IS_SOCKET_CONNECTION (self->stream) && G_IS_POLLABLE_INPUT_STREAM (input))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));

      self->poller = owl_poller_ref_for_context (self->context);
      self->watch = owl_poller_add (self->poller, g_socket_get_fd (socket), OWL_POLL_IN, on_socket_ready,
                                    client_ref (self));
      return;
    }
  if (G_IS_POLLABLE_INPUT_STREAM (input) &&
      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)))
    {
      GSource *source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input),
                                                               self->read_cancellable);

      self->read_source = client_attach (self, source, G_SOURCE_FUNC (on_readable));
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->buf, OWL_CLIENT_READ_SIZE,
                             G_PRIORITY_DEFAULT, self->read_cancellable, on_read, client_ref (self));
}

/* What came with the handshake's answer is parsed from the main loop, so
 * that no callback runs from inside owl_transport_new_client(). */
static gboolean
start_idle_cb (gpointer data)
{
  OwlTransportClient *self = data;

  g_clear_pointer (&self->start_idle, g_source_unref);
  if (self->leftover != NULL)
    {
      g_autoptr(GBytes) leftover = g_steal_pointer (&self->leftover);
      gsize len;
      g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (leftover), &len);

      feed (self, copy, len);
    }
  start_read (self);
  return G_SOURCE_REMOVE;
}

/* The class ---------------------------------------------------------------------- */

static void
client_free (OwlTransport *transport)
{
  OwlTransportClient *self = (OwlTransportClient *) transport;

  self->freed = TRUE;
  destroy_source (&self->start_idle);
  destroy_source (&self->read_source);
  stop_watch (self);
  destroy_source (&self->close_timer);
  destroy_source (&self->closed_idle);
  g_cancellable_cancel (self->read_cancellable);
  g_cancellable_cancel (self->cancellable);
  if (!self->writing)
    close_stream (self);
  client_unref (self);
}

static void
client_send (OwlTransport *transport,
             gboolean      binary,
             GBytes       *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  transport->klass->send_data (transport, binary, (const char *) data, len);
}

static void
client_send_data (OwlTransport *transport,
                  gboolean      binary,
                  const char   *data,
                  gsize         len)
{
  OwlTransportClient *self = (OwlTransportClient *) transport;
  guint8 opcode = binary ? OWL_FRAME_BINARY : OWL_FRAME_TEXT;

  if (self->state != CLIENT_OPEN)
    return;
  if (self->deflate != NULL)
    {
      g_autoptr(GBytes) compressed = owl_deflate_compress (self->deflate, (const guint8 *) data, len);

      send_frame (self, opcode, TRUE, g_bytes_get_data (compressed, NULL), g_bytes_get_size (compressed));
      return;
    }
  send_frame (self, opcode, FALSE, (const guint8 *) data, len);
}

static void
client_send_shared (OwlTransport     *transport,
                    OwlSharedMessage *message)
{
  client_send (transport, FALSE, message->payload);
}

static void
client_close (OwlTransport *transport,
              guint16       code,
              const char   *reason)
{
  OwlTransportClient *self = (OwlTransportClient *) transport;

  if (self->state != CLIENT_OPEN)
    return;
  self->close_code = code;
  self->close_reason = g_strdup (reason ? reason : "");
  send_close_frame (self, code, reason);
  self->state = CLIENT_CLOSE_SENT;
  self->close_timer = client_attach (self, g_timeout_source_new (OWL_CLIENT_CLOSE_TIMEOUT_MS),
                                     close_timeout_cb);
}

static gsize
client_get_buffered (OwlTransport *transport)
{
  return ((OwlTransportClient *) transport)->queued;
}

static guint64
client_get_dropped (OwlTransport *transport)
{
  return 0;
}

static void
client_tick (OwlTransport *transport,
             gint64        now_us)
{
}

static const OwlTransportClass client_class = {
  .free = client_free,
  .send = client_send,
  .send_shared = client_send_shared,
  .send_data = client_send_data,
  .close = client_close,
  .get_buffered = client_get_buffered,
  .get_dropped = client_get_dropped,
  .tick = client_tick,
};

/* A GSocketConnection's descriptor, -1 for other streams (TLS, or a
 * wrapper around a stream that is no socket of its own). */
static int
plain_socket_fd (GIOStream *stream)
{
  if (!G_IS_SOCKET_CONNECTION (stream) || G_IS_TCP_WRAPPER_CONNECTION (stream))
    return -1;
  return g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)));
}

OwlTransport *
owl_transport_new_client (GIOStream                   *stream,
                          GBytes                      *leftover,
                          const OwlTransportLimits    *limits,
                          const OwlTransportCallbacks *callbacks,
                          gpointer                     user_data)
{
  OwlTransportClient *self = g_new0 (OwlTransportClient, 1);
  OwlFrameReaderConfig config = { 0, };

  self->parent.klass = &client_class;
  self->parent.callbacks = callbacks;
  self->parent.user_data = user_data;
  self->refs = 1;
  self->state = CLIENT_OPEN;
  self->stream = g_object_ref (stream);
  self->fd = plain_socket_fd (stream);
  self->read_cancellable = g_cancellable_new ();
  self->cancellable = g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
  /* Masking keys need not be secret, only unpredictable to a script in
   * the page that sends (RFC 6455 10.3): a xorshift64* per connection
   * (a few instructions per frame; a GRand took ten times that), seeded
   * from GLib's global generator (itself seeded from /dev/urandom). */
  self->mask_state = owl_transport_client_mask_seed ();
  self->buf = g_malloc (OWL_CLIENT_READ_SIZE);
  if (leftover != NULL && g_bytes_get_size (leftover) > 0)
    self->leftover = g_bytes_ref (leftover);
  if (limits->deflate != NULL)
    self->deflate = owl_deflate_new (limits->deflate, FALSE);
  g_queue_init (&self->queue);
  self->last_rx = g_get_monotonic_time ();

  config.server = FALSE;
  config.max_message_size = limits->max_message_size;
  config.deflate = self->deflate;
  self->reader = owl_frame_reader_new (&config, &frame_callbacks, self);

  self->start_idle = client_attach (self, g_idle_source_new (), start_idle_cb);
  return &self->parent;
}

gint64
owl_transport_client_get_last_rx (OwlTransport *transport)
{
  return ((OwlTransportClient *) transport)->last_rx;
}

void
owl_transport_client_abort (OwlTransport *transport,
                            guint16       code,
                            const char   *reason)
{
  OwlTransportClient *self = (OwlTransportClient *) transport;

  if (self->state == CLIENT_OPEN)
    send_close_frame (self, code, reason);
  client_finish (self, code, reason);
}
