/* owl-transport-soup.c: OwlTransport over SoupWebsocketConnection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one case owlsock leaves to libsoup's WebSocket code: a SoupServer
 * given to attach() that does TLS itself, whose stream owlsock cannot take
 * over. libsoup 3.2 shows neither its send queue nor when a pong is due,
 * so owlsock puts a GIOStream of its own between libsoup and that stream:
 *
 *  - its output takes every frame libsoup writes at once, so libsoup's own
 *    queue (invisible from outside) stays empty, and keeps what the TLS
 *    stream does not take yet in a queue owlsock counts, bounds with the
 *    limit's policy and sees drain. libsoup writes a frame in one call, so
 *    owlsock can put its own pings, and a close frame with any code,
 *    between libsoup's frames;
 *  - its input notes when bytes arrive, for the idle timeout.
 *
 * Keepalive, the pong deadline and the idle timeout run off the service's
 * one-second tick, as on owlsock's own frame layer; libsoup's keepalive is
 * off.
 */

#include "config.h"

#include "owl-close.h"
#include "owl-frame-private.h"
#include "owl-transport-private.h"

/* A closing stream tries this long to send what is queued (the close
 * frame); then the TCP connection is cut. As owl-transport-ws.c. */
#define OWL_SOUP_LINGER_MS 2000
/* See owl-transport-ws.c: the tick may come a little early. */
#define OWL_SOUP_TICK_SLACK (50 * 1000)

/* Input ------------------------------------------------------------------------ */

#define OWL_TYPE_SOUP_INPUT (owl_soup_input_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupInput, owl_soup_input, OWL, SOUP_INPUT, GInputStream)

struct _OwlSoupInput
{
  GInputStream          parent_instance;
  GPollableInputStream *base;
  gint64                last_rx;   /* monotonic time bytes last came */
};

static void owl_soup_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OwlSoupInput, owl_soup_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      owl_soup_input_pollable_init))

static gssize
owl_soup_input_note (OwlSoupInput *self,
                     gssize        n)
{
  if (n > 0)
    self->last_rx = g_get_monotonic_time ();
  return n;
}

static gssize
owl_soup_input_read (GInputStream  *stream,
                     void          *buffer,
                     gsize          count,
                     GCancellable  *cancellable,
                     GError       **error)
{
  OwlSoupInput *self = OWL_SOUP_INPUT (stream);

  return owl_soup_input_note (self, g_input_stream_read (G_INPUT_STREAM (self->base), buffer, count,
                                                         cancellable, error));
}

static gssize
owl_soup_input_read_nonblocking (GPollableInputStream  *stream,
                                 void                  *buffer,
                                 gsize                  count,
                                 GError               **error)
{
  OwlSoupInput *self = OWL_SOUP_INPUT (stream);

  return owl_soup_input_note (self, g_pollable_input_stream_read_nonblocking (self->base, buffer, count,
                                                                              NULL, error));
}

/* The GIOStream closes the base stream. */
static gboolean
owl_soup_input_close (GInputStream  *stream,
                      GCancellable  *cancellable,
                      GError       **error)
{
  return TRUE;
}

static gboolean
owl_soup_input_can_poll (GPollableInputStream *stream)
{
  return g_pollable_input_stream_can_poll (OWL_SOUP_INPUT (stream)->base);
}

static gboolean
owl_soup_input_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (OWL_SOUP_INPUT (stream)->base);
}

static GSource *
owl_soup_input_create_source (GPollableInputStream *stream,
                              GCancellable         *cancellable)
{
  g_autoptr(GSource) child = g_pollable_input_stream_create_source (OWL_SOUP_INPUT (stream)->base, NULL);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static void
owl_soup_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = owl_soup_input_can_poll;
  iface->is_readable = owl_soup_input_is_readable;
  iface->create_source = owl_soup_input_create_source;
  iface->read_nonblocking = owl_soup_input_read_nonblocking;
}

static void
owl_soup_input_finalize (GObject *object)
{
  g_object_unref (OWL_SOUP_INPUT (object)->base);
  G_OBJECT_CLASS (owl_soup_input_parent_class)->finalize (object);
}

static void
owl_soup_input_class_init (OwlSoupInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_soup_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = owl_soup_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = owl_soup_input_close;
}

static void
owl_soup_input_init (OwlSoupInput *self)
{
  self->last_rx = g_get_monotonic_time ();
}

/* Output ----------------------------------------------------------------------- */

#define OWL_TYPE_SOUP_OUTPUT (owl_soup_output_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupOutput, owl_soup_output, OWL, SOUP_OUTPUT, GOutputStream)

typedef struct
{
  GBytes   *bytes;
  gsize     offset;
  /* A write of it was refused: TLS may hold part of it in a record sent
   * in part, so it counts as begun, and is offered again as it was. */
  gboolean  tried;
} SoupChunk;

struct _OwlSoupOutput
{
  GOutputStream          parent_instance;
  GPollableOutputStream *base;
  GMainContext          *context;

  GQueue                 queue;        /* SoupChunk: what the base did not take yet */
  gsize                  queued;
  GSource               *writable;     /* while the queue is not empty */
  gboolean               pushed_back;  /* the queue was used since the last drain */
  gboolean               sealed;       /* ended (by owlsock, or a failure): writes are dropped */
  gboolean               broken;  /* the base failed */
  GBytes                *close_frame;  /* sent instead of libsoup's next close frame */

  /* Set by the transport while it lives. */
  void                 (*drained) (gpointer user_data);
  void                 (*failed)  (gpointer user_data);
  gpointer               hook_data;

  /* Closing: waits for the queue to empty, at most the linger time. */
  void                 (*settled) (gpointer user_data);
  gpointer               settled_data;
  GSource               *linger;
};

static void owl_soup_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (OwlSoupOutput, owl_soup_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      owl_soup_output_pollable_init))

static void
soup_chunk_free (gpointer data)
{
  SoupChunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_free (chunk);
}

static void
output_clear_queue (OwlSoupOutput *self)
{
  g_queue_clear_full (&self->queue, soup_chunk_free);
  self->queued = 0;
  if (self->writable != NULL)
    {
      g_source_destroy (self->writable);
      g_clear_pointer (&self->writable, g_source_unref);
    }
}

static void
output_enqueue (OwlSoupOutput *self,
                const guint8  *data,
                gsize          len,
                gboolean       tried)
{
  SoupChunk *chunk = g_new (SoupChunk, 1);

  chunk->bytes = g_bytes_new (data, len);
  chunk->offset = 0;
  chunk->tried = tried;
  g_queue_push_tail (&self->queue, chunk);
  self->queued += len;
  self->pushed_back = TRUE;
}

/* The base failed: nothing more is sent, and the transport hears of it
 * (it only takes note; `closed` comes from the main loop). libsoup never
 * sees the error: its writes are dropped from now on. */
static void
output_fail (OwlSoupOutput *self)
{
  self->broken = TRUE;
  self->sealed = TRUE;
  output_clear_queue (self);
  if (self->failed != NULL)
    self->failed (self->hook_data);
}

/* Writes the queue, head first, as far as the base takes it: always the
 * same bytes again after a refusal, as TLS wants. */
static void
output_flush (OwlSoupOutput *self)
{
  while (self->queue.length > 0)
    {
      SoupChunk *chunk = g_queue_peek_head (&self->queue);
      gsize size;
      const guint8 *data = g_bytes_get_data (chunk->bytes, &size);
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (self->base, data + chunk->offset,
                                                             size - chunk->offset, NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            chunk->tried = TRUE;
          else
            output_fail (self);
          return;
        }
      self->queued -= n;
      chunk->offset += n;
      if (chunk->offset == size)
        soup_chunk_free (g_queue_pop_head (&self->queue));
    }
}

static void output_settle_now (OwlSoupOutput *self);

static gboolean
on_base_writable (GObject  *base,
                  gpointer  user_data)
{
  OwlSoupOutput *self = user_data;

  output_flush (self);
  if (self->queue.length > 0)
    return G_SOURCE_CONTINUE;
  /* Emptied, or dropped by a failure (which destroyed this source). */
  g_clear_pointer (&self->writable, g_source_unref);

  if (self->settled != NULL)
    output_settle_now (self);
  else if (self->pushed_back && !self->broken)
    {
      self->pushed_back = FALSE;
      if (self->drained != NULL)
        self->drained (self->hook_data);
    }
  return G_SOURCE_REMOVE;
}

static void
output_watch (OwlSoupOutput *self)
{
  if (self->queue.length == 0 || self->writable != NULL)
    return;
  self->writable = g_pollable_output_stream_create_source (self->base, NULL);
  g_source_set_callback (self->writable, G_SOURCE_FUNC (on_base_writable), self, NULL);
  g_source_attach (self->writable, self->context);
}

/* One whole frame: straight to the base while nothing is queued, else (and
 * what the base did not take) behind the queue. */
static void
output_push (OwlSoupOutput *self,
             const guint8  *data,
             gsize          len)
{
  gsize written = 0;
  gboolean tried = FALSE;

  if (self->sealed)
    return;

  /* TLS takes a record at a time: on until the socket pushes back. */
  while (self->queue.length == 0 && written < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (self->base, data + written, len - written,
                                                             NULL, &error);

      if (n < 0)
        {
          tried = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          if (tried)
            break;
          output_fail (self);
          return;
        }
      written += n;
    }
  if (written == len)
    return;

  output_enqueue (self, data + written, len - written, tried);
  output_watch (self);
}

/* What libsoup writes: always taken whole, so libsoup never queues. */
static gssize
owl_soup_output_write_nonblocking (GPollableOutputStream  *stream,
                                   const void             *buffer,
                                   gsize                   count,
                                   GError                **error)
{
  OwlSoupOutput *self = OWL_SOUP_OUTPUT (stream);
  const guint8 *data = buffer;

  /* libsoup's close frame carries the code owlsock chose (libsoup refuses
   * some, 1013 among them). */
  if (self->close_frame != NULL && count >= 2 && data[0] == (0x80 | OWL_FRAME_CLOSE))
    {
      g_autoptr(GBytes) frame = g_steal_pointer (&self->close_frame);
      gsize len;
      const guint8 *ours = g_bytes_get_data (frame, &len);

      output_push (self, ours, len);
      return count;
    }

  output_push (self, data, count);
  return count;
}

static gssize
owl_soup_output_write (GOutputStream  *stream,
                       const void     *buffer,
                       gsize           count,
                       GCancellable   *cancellable,
                       GError        **error)
{
  return owl_soup_output_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (stream), buffer, count, error);
}

static gboolean
owl_soup_output_close (GOutputStream  *stream,
                       GCancellable   *cancellable,
                       GError        **error)
{
  return TRUE;
}

static gboolean
owl_soup_output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
owl_soup_output_is_writable (GPollableOutputStream *stream)
{
  return TRUE;
}

/* Always writable: ready at once. */
static GSource *
owl_soup_output_create_source (GPollableOutputStream *stream,
                               GCancellable          *cancellable)
{
  g_autoptr(GSource) child = g_idle_source_new ();

  return g_pollable_source_new_full (stream, child, cancellable);
}

static void
owl_soup_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = owl_soup_output_can_poll;
  iface->is_writable = owl_soup_output_is_writable;
  iface->create_source = owl_soup_output_create_source;
  iface->write_nonblocking = owl_soup_output_write_nonblocking;
}

static void
owl_soup_output_finalize (GObject *object)
{
  OwlSoupOutput *self = OWL_SOUP_OUTPUT (object);

  output_clear_queue (self);
  if (self->linger != NULL)
    {
      g_source_destroy (self->linger);
      g_source_unref (self->linger);
    }
  g_clear_pointer (&self->close_frame, g_bytes_unref);
  g_object_unref (self->base);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (owl_soup_output_parent_class)->finalize (object);
}

static void
owl_soup_output_class_init (OwlSoupOutputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_soup_output_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = owl_soup_output_write;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn = owl_soup_output_close;
}

static void
owl_soup_output_init (OwlSoupOutput *self)
{
  g_queue_init (&self->queue);
}

/* A frame of owlsock's own (a ping) between libsoup's frames. */
static void
output_inject (OwlSoupOutput *self,
               GBytes        *frame)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  output_push (self, data, len);
}

/* The peer does not read: what was not begun is dropped (cutting the frame
 * on the wire would corrupt the stream; one TLS took part of counts as
 * begun), @last goes behind it, and nothing libsoup writes from now on is
 * sent. */
static void
output_end_with (OwlSoupOutput *self,
                 GBytes        *last)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (last, &len);

  while (self->queue.length > 1 ||
         (self->queue.length == 1 && ((SoupChunk *) self->queue.head->data)->offset == 0 &&
          !((SoupChunk *) self->queue.head->data)->tried))
    {
      SoupChunk *chunk = g_queue_pop_tail (&self->queue);

      self->queued -= g_bytes_get_size (chunk->bytes) - chunk->offset;
      soup_chunk_free (chunk);
    }
  output_push (self, data, len);
  self->sealed = TRUE;
}

static void
output_settle_now (OwlSoupOutput *self)
{
  void (*settled) (gpointer) = self->settled;

  if (self->linger != NULL)
    {
      g_source_destroy (self->linger);
      g_clear_pointer (&self->linger, g_source_unref);
    }
  output_clear_queue (self);
  self->settled = NULL;
  settled (self->settled_data);
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  output_settle_now (user_data);
  return G_SOURCE_REMOVE;
}

/* Calls @settled once the queue is sent, or after the linger time with
 * the rest dropped; never from inside this call. */
static void
output_settle (OwlSoupOutput *self,
               void         (*settled) (gpointer),
               gpointer       user_data)
{
  self->sealed = TRUE;
  self->settled = settled;
  self->settled_data = user_data;
  self->linger = g_timeout_source_new (self->queue.length > 0 ? OWL_SOUP_LINGER_MS : 0);
  g_source_set_callback (self->linger, on_linger_timeout, self, NULL);
  g_source_attach (self->linger, self->context);
}

/* Stream ----------------------------------------------------------------------- */

#define OWL_TYPE_SOUP_STREAM (owl_soup_stream_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupStream, owl_soup_stream, OWL, SOUP_STREAM, GIOStream)

struct _OwlSoupStream
{
  GIOStream      parent_instance;
  GIOStream     *base;
  OwlSoupInput  *input;
  OwlSoupOutput *output;
};

G_DEFINE_FINAL_TYPE (OwlSoupStream, owl_soup_stream, G_TYPE_IO_STREAM)

static GInputStream *
owl_soup_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (OWL_SOUP_STREAM (stream)->input);
}

static GOutputStream *
owl_soup_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (OWL_SOUP_STREAM (stream)->output);
}

/* Ends the TCP connection before the TLS close, as owl-transport-ws.c does:
 * a TLS close waits to write its close_notify, for ever if the peer does
 * not read. libsoup's listener tags a stolen stream with its GSocket. */
static void
owl_soup_stream_cut (OwlSoupStream *self)
{
  GSocket *socket = g_object_get_data (G_OBJECT (self->base), "GSocket");

  if (G_IS_SOCKET (socket))
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

static gboolean
owl_soup_stream_close (GIOStream     *stream,
                       GCancellable  *cancellable,
                       GError       **error)
{
  OwlSoupStream *self = OWL_SOUP_STREAM (stream);

  output_flush (self->output);
  output_clear_queue (self->output);
  self->output->sealed = TRUE;
  owl_soup_stream_cut (self);
  g_io_stream_close_async (self->base, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  return TRUE;
}

static void
on_base_closed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* The connection is over either way. */
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
on_output_settled (gpointer user_data)
{
  GTask *task = user_data;
  OwlSoupStream *self = g_task_get_source_object (task);

  owl_soup_stream_cut (self);
  g_io_stream_close_async (self->base, g_task_get_priority (task), NULL, on_base_closed, task);
}

/* libsoup closes after the close handshake: what is queued (the close
 * frame) goes out first. */
static void
owl_soup_stream_close_async (GIOStream           *stream,
                             int                  io_priority,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  OwlSoupStream *self = OWL_SOUP_STREAM (stream);
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, owl_soup_stream_close_async);
  g_task_set_priority (task, io_priority);
  output_settle (self->output, on_output_settled, task);
}

static gboolean
owl_soup_stream_close_finish (GIOStream     *stream,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
owl_soup_stream_finalize (GObject *object)
{
  OwlSoupStream *self = OWL_SOUP_STREAM (object);

  g_object_unref (self->input);
  g_object_unref (self->output);
  g_object_unref (self->base);
  G_OBJECT_CLASS (owl_soup_stream_parent_class)->finalize (object);
}

static void
owl_soup_stream_class_init (OwlSoupStreamClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = owl_soup_stream_finalize;
  stream_class->get_input_stream = owl_soup_stream_get_input_stream;
  stream_class->get_output_stream = owl_soup_stream_get_output_stream;
  stream_class->close_fn = owl_soup_stream_close;
  stream_class->close_async = owl_soup_stream_close_async;
  stream_class->close_finish = owl_soup_stream_close_finish;
}

static void
owl_soup_stream_init (OwlSoupStream *self)
{
}

static OwlSoupStream *
owl_soup_stream_new (GIOStream *base)
{
  OwlSoupStream *self = g_object_new (OWL_TYPE_SOUP_STREAM, NULL);

  self->base = g_object_ref (base);
  self->input = g_object_new (OWL_TYPE_SOUP_INPUT, NULL);
  self->input->base = g_object_ref (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (base)));
  self->output = g_object_new (OWL_TYPE_SOUP_OUTPUT, NULL);
  self->output->base = g_object_ref (G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (base)));
  self->output->context = g_main_context_ref_thread_default ();
  return self;
}

/* Transport ---------------------------------------------------------------------- */

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
  output_end_with (self->stream->output, close_frame);
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
    soup_close (transport, OWL_CLOSE_PONG_TIMEOUT, "Pong timeout");
  else if (limits->idle_timeout_s > 0 && now - last_rx >= (gint64) limits->idle_timeout_s * G_USEC_PER_SEC)
    soup_close (transport, OWL_CLOSE_GOING_AWAY, "Idle timeout");
  else if (limits->ping_interval_s > 0 && self->ping_sent == 0 && now >= self->next_ping)
    {
      static const guint8 ping[] = { 0x80 | OWL_FRAME_PING, 0 };
      g_autoptr(GBytes) frame = g_bytes_new_static (ping, sizeof ping);

      output_inject (self->stream->output, frame);
      self->ping_sent = now;
      self->next_ping = now + (gint64) limits->ping_interval_s * G_USEC_PER_SEC;
    }
}
