/* owl-soup-stream.c: the stream owlsock puts between libsoup and a TLS stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See owl-soup-stream-private.h: its output takes every frame libsoup writes
 * at once and queues and counts what the base stream does not take yet;
 * its input notes when bytes arrive.
 */

#include "config.h"

#include "owl-frame-private.h"
#include "owl-soup-stream-private.h"

/* A closing stream tries this long to send what is queued (the close
 * frame); then the TCP connection is cut. As owl-transport-ws-linger.c. */
#define OWL_SOUP_LINGER_MS 2000

/* Input ------------------------------------------------------------------------ */

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

typedef struct
{
  GBytes   *bytes;
  gsize     offset;
  /* A write of it was refused: TLS may hold part of it in a record sent
   * in part, so it counts as begun, and is offered again as it was. */
  gboolean  tried;
} SoupChunk;

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
void
owl_soup_output_inject (OwlSoupOutput *self,
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
void
owl_soup_output_end_with (OwlSoupOutput *self,
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

OwlSoupStream *
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
