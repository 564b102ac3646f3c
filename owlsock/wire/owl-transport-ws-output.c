/* owl-transport-ws-output.c: the outgoing path of owlsock's own WebSocket connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Messages and shared broadcast frames are framed here and written directly
 * while nothing is queued; during a dispatch they are coalesced in the
 * connection's cork and leave in one write when it ends. Only what the
 * kernel did not take is queued, counted, and bounded by the limit's
 * policy. The per-message path (send, framing, cork, write) stays in this
 * file, so its calls stay static.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "owl-close.h"
#include "owl-transport-ws-private.h"

#define OWL_WS_IOV_MAX       32
/* Frames up to this size are copied into the write-coalescing buffer. */
#define OWL_WS_CORK_MAX      (16 * 1024)
/* What one connection's cork holds at most outside a dispatch: past it, the
 * cork is written at once (the socket's buffer takes it, as it would each
 * frame), so a burst of sends between turns does not count against
 * max-buffered-amount more than it used to. */
#define OWL_WS_CORK_OUTSIDE_MAX (64 * 1024)

/* writev() with errno, through TLS when there is a stream. */
static ssize_t
io_writev (OwlTransportWs     *self,
           const struct iovec *iov,
           int                 n_iov)
{
  GOutputVector vectors[32];
  g_autoptr(GError) error = NULL;
  gsize written = 0;
  gsize total = 0;

  if (self->out == NULL)
    {
      /* sendmsg() for MSG_NOSIGNAL: a peer gone must not raise SIGPIPE. */
      struct msghdr msg = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n_iov };

      return sendmsg (self->fd, &msg, MSG_NOSIGNAL);
    }

  n_iov = MIN (n_iov, (int) G_N_ELEMENTS (vectors));
  for (int i = 0; i < n_iov; i++)
    {
      vectors[i] = (GOutputVector) { iov[i].iov_base, iov[i].iov_len };
      total += iov[i].iov_len;
    }

  /* GnuTLS keeps a record it could not send whole and sends it again on
   * the next call, whatever that call passes: the bytes after what was
   * written must stay the next ones written (never dropped for a close
   * frame), or the stream is corrupt. */
  switch (g_pollable_output_stream_writev_nonblocking (self->out, vectors, n_iov, &written, NULL, &error))
    {
    case G_POLLABLE_RETURN_OK:
      self->head_pending = written < total;
      return written;
    case G_POLLABLE_RETURN_WOULD_BLOCK:
      self->head_pending = TRUE;
      errno = EAGAIN;
      return -1;
    case G_POLLABLE_RETURN_FAILED:
    default:
      errno = EIO;
      return -1;
    }
}

/* Writes @iov (at most two pieces) while the stream takes it: one call on
 * a plain socket (less than all means its buffer is full), as many as make
 * progress under TLS (GnuTLS sends a record, 16 KiB at most, per call).
 * Returns what was written, or -1 on a fatal error. */
static gssize
io_write_all (OwlTransportWs *self,
              struct iovec    iov[2],
              int             n_iov)
{
  gsize total = 0, written = 0;

  for (int i = 0; i < n_iov; i++)
    total += iov[i].iov_len;

  while (written < total)
    {
      ssize_t n = io_writev (self, iov, n_iov);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? (gssize) written : -1;
      written += n;
      /* Step over what went out. */
      while (n > 0 && n_iov > 0)
        {
          gsize step = MIN ((gsize) n, iov[0].iov_len);

          iov[0].iov_base = (guint8 *) iov[0].iov_base + step;
          iov[0].iov_len -= step;
          n -= step;
          if (iov[0].iov_len == 0)
            {
              iov[0] = iov[1];
              n_iov--;
            }
        }
      if (self->out == NULL)
        break;
    }
  return written;
}

/* The cork ------------------------------------------------------------------ */

static void
ws_cork_free (gpointer data)
{
  WsCork *cork = data;

  if (cork->turn_end != NULL)
    g_source_destroy (cork->turn_end);
  g_clear_pointer (&cork->turn_end, g_source_unref);
  g_ptr_array_unref (cork->dirty);
  g_free (cork);
}

GPrivate owl_transport_ws_cork_key = G_PRIVATE_INIT (ws_cork_free);

/* The queue ------------------------------------------------------------------ */

static void
ws_enqueue (OwlTransportWs *self,
            GBytes         *bytes,
            gsize           offset,
            gboolean        continues)
{
  WsChunk *chunk = g_new (WsChunk, 1);

  chunk->bytes = g_bytes_ref (bytes);
  chunk->offset = offset;
  chunk->continues = continues;
  g_queue_push_tail (&self->queue, chunk);
  self->queued += g_bytes_get_size (bytes) - offset;
  self->pushed_back = TRUE;
}

static void
ws_update_events (OwlTransportWs *self)
{
  if (self->watch == NULL)
    return;

  owl_poller_set_events (self->poller, self->watch,
                         OWL_POLL_IN | (self->queued > 0 ? OWL_POLL_OUT : 0));
}

/* Writes as much of the queue as the socket takes. FALSE on a fatal error. */
gboolean
owl_transport_ws_flush (OwlTransportWs *self)
{
  while (self->queue.length > 0)
    {
      struct iovec iov[OWL_WS_IOV_MAX];
      int n_iov = 0;
      ssize_t n;

      for (GList *l = self->queue.head; l != NULL && n_iov < OWL_WS_IOV_MAX; l = l->next)
        {
          WsChunk *chunk = l->data;
          gsize size;
          const guint8 *data = g_bytes_get_data (chunk->bytes, &size);

          iov[n_iov].iov_base = (void *) (data + chunk->offset);
          iov[n_iov].iov_len = size - chunk->offset;
          n_iov++;
        }

      n = io_writev (self, iov, n_iov);
      if (n < 0)
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          if (errno == EINTR)
            continue;
          return FALSE;
        }

      self->queued -= n;
      while (n > 0)
        {
          WsChunk *chunk = g_queue_peek_head (&self->queue);
          gsize left = g_bytes_get_size (chunk->bytes) - chunk->offset;

          if ((gsize) n < left)
            {
              chunk->offset += n;
              break;
            }
          n -= left;
          ws_chunk_free (g_queue_pop_head (&self->queue));
        }
    }

  ws_update_events (self);
  return TRUE;
}

/* Sends what the cork holds, before anything written after it. */
void
owl_transport_ws_uncork (OwlTransportWs *self)
{
  g_autoptr(GByteArray) buf = NULL;
  gsize written = 0;

  if (self->cork == NULL || self->cork->len == 0 || self->fd < 0)
    return;
  buf = g_steal_pointer (&self->cork);

  if (self->queue.length == 0)
    {
      struct iovec iov[2] = { { buf->data, buf->len } };
      gssize n = io_write_all (self, iov, 1);

      if (n < 0)
        {
          owl_transport_ws_finish (self, OWL_CLOSE_ABNORMAL, "", FALSE);
          return;
        }
      written = n;
      if (written == buf->len)
        return;
    }

  {
    g_autoptr(GBytes) rest = g_byte_array_free_to_bytes (g_steal_pointer (&buf));

    ws_enqueue (self, rest, written, written > 0);
  }
  ws_update_events (self);
}

/* Writing a frame ------------------------------------------------------------ */

/* The peer does not read: nothing more is sent but the frame on the
 * wire (cutting it would corrupt the stream) and a close frame. */
static void
ws_end_unread (OwlTransportWs *self)
{
  /* From the tail: whole frames none of which was sent. */
  while (self->queue.length > 0)
    {
      WsChunk *chunk = g_queue_peek_tail (&self->queue);

      /* Sent in part (its offset moved), continuing a frame sent in part,
       * or held by TLS: the frame on the wire goes out whole. */
      if (chunk->continues || chunk->offset > 0 || (self->queue.length == 1 && self->head_pending))
        break;
      g_queue_pop_tail (&self->queue);
      self->queued -= g_bytes_get_size (chunk->bytes) - chunk->offset;
      ws_chunk_free (chunk);
    }
  g_clear_pointer (&self->cork, g_byte_array_unref);
  owl_transport_ws_send_close (self, OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read");
  owl_transport_ws_finish (self, OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read", TRUE);
}

/* The backpressure policy: TRUE when a frame of @total bytes may not go,
 * because it would push what is queued and corked past the limit; it is
 * then dropped and counted, or the connection ends with 1013. A frame
 * always passes when nothing waits; @control frames skip the limit. */
static gboolean
ws_refuse (OwlTransportWs *self,
           gsize           total,
           gboolean        control)
{
  gsize corked = self->cork ? self->cork->len : 0;

  if (!control && self->limits.max_buffered > 0 &&
      self->queued + corked + total > self->limits.max_buffered && self->queued + corked > 0)
    {
      if (self->limits.full_policy == OWL_TRANSPORT_FULL_DROP)
        {
          self->dropped++;
          return TRUE;
        }
      ws_end_unread (self);
      return TRUE;
    }
  return FALSE;
}

/* The end of a main loop turn in which frames were written outside any
 * dispatch: they go now, unless a carrier keeps the corks (it sends them
 * within OWL_WS_CORK_CARRY_MAX_US). */
static gboolean
ws_cork_turn_end (gpointer data)
{
  WsCork *cork = data;

  g_clear_pointer (&cork->turn_end, g_source_unref);
  cork->turn_end_context = NULL;
  if (cork->depth == 0 && cork->carrier == NULL)
    ws_cork_flush (cork);
  return G_SOURCE_REMOVE;
}

/* Outside a dispatch: whether @self's frame may wait for the turn's end. */
static gboolean
ws_cork_outside (WsCork         *cork,
                 OwlTransportWs *self,
                 gsize           total)
{
  if ((self->cork ? self->cork->len : 0) + total > OWL_WS_CORK_OUTSIDE_MAX)
    return FALSE;
  if (cork->turn_end == NULL)
    {
      cork->turn_end = g_idle_source_new ();
      g_source_set_priority (cork->turn_end, G_PRIORITY_DEFAULT);
      g_source_set_callback (cork->turn_end, ws_cork_turn_end, cork, NULL);
      g_source_set_static_name (cork->turn_end, "[owlsock] writes of this turn");
      g_source_attach (cork->turn_end, self->context);
      cork->turn_end_context = self->context;
    }
  return cork->turn_end_context == self->context;
}

/* Appends a small frame to the cork, which the end of the dispatch (or,
 * outside one, of the main loop turn) sends. FALSE when the frame has to go
 * out now instead. */
static gboolean
ws_cork_append (OwlTransportWs *self,
                const guint8   *header,
                gsize           header_len,
                const guint8   *data,
                gsize           len)
{
  gsize total = header_len + len;
  WsCork *cork = ws_cork_get ();

  if (total > OWL_WS_CORK_MAX)
    return FALSE;
  if (cork->depth == 0 && (self->fd < 0 || !ws_cork_outside (cork, self, total)))
    return FALSE;

  if (self->cork == NULL)
    self->cork = g_byte_array_sized_new (MAX (total, 2048));
  g_byte_array_append (self->cork, header, header_len);
  g_byte_array_append (self->cork, data, len);
  if (!self->in_dirty)
    {
      self->in_dirty = TRUE;
      g_ptr_array_add (cork->dirty, self);
    }
  return TRUE;
}

/* Nothing is queued: the frame goes straight to the socket. Returns how
 * much of it went, or -1 when that ended the connection. */
static gssize
ws_write_now (OwlTransportWs *self,
              const guint8   *header,
              gsize           header_len,
              const guint8   *data,
              gsize           len)
{
  struct iovec iov[2];
  int n_iov = 0;
  gssize n;

  if (header_len > 0)
    iov[n_iov++] = (struct iovec) { (void *) header, header_len };
  if (len > 0)
    iov[n_iov++] = (struct iovec) { (void *) data, len };

  n = io_write_all (self, iov, n_iov);
  if (n < 0)
    owl_transport_ws_finish (self, OWL_CLOSE_ABNORMAL, "", FALSE);
  return n;
}

/* Queues what is left of a frame after its first @written bytes: the
 * header remainder is copied, the payload is shared when it came as
 * bytes. */
static void
ws_enqueue_rest (OwlTransportWs *self,
                 const guint8   *header,
                 gsize           header_len,
                 GBytes         *bytes,
                 const guint8   *data,
                 gsize           len,
                 gsize           written)
{
  /* Part of this frame is on the wire: its rest must follow. */
  gboolean started = written > 0;

  if (written < header_len)
    {
      g_autoptr(GBytes) rest = g_bytes_new (header + written, header_len - written);

      ws_enqueue (self, rest, 0, started);
      written = header_len;
    }
  if (len > 0)
    {
      gsize offset = written - header_len;

      if (bytes != NULL)
        ws_enqueue (self, bytes, offset, started);
      else
        {
          g_autoptr(GBytes) copy = g_bytes_new (data + offset, len - offset);

          ws_enqueue (self, copy, 0, started);
        }
    }

  ws_update_events (self);
}

/* Writes a frame: header, then @payload (from @bytes when it is shared, else
 * from @data). Straight to the socket while nothing is queued; the rest is
 * queued without copying shared bytes. @control frames skip the limit. */
static void
ws_write_frame (OwlTransportWs *self,
                const guint8   *header,
                gsize           header_len,
                GBytes         *bytes,
                const guint8   *data,
                gsize           len,
                gboolean        control)
{
  gsize written = 0;

  if (self->state == WS_DONE)
    return;
  if (ws_refuse (self, header_len + len, control))
    return;

  if (bytes != NULL)
    data = g_bytes_get_data (bytes, NULL);
  if (ws_cork_append (self, header, header_len, data, len))
    return;

  owl_transport_ws_uncork (self);
  if (self->state == WS_DONE)
    return;

  if (self->queue.length == 0)
    {
      gssize n = ws_write_now (self, header, header_len, data, len);

      if (n < 0)
        return;
      written = n;
      if (written == header_len + len)
        return;
    }
  ws_enqueue_rest (self, header, header_len, bytes, data, len, written);
}

/* Messages -------------------------------------------------------------------- */

static void
ws_send_message (OwlTransportWs *self,
                 gboolean        binary,
                 GBytes         *bytes,
                 const guint8   *data,
                 gsize           len)
{
  guint8 header[14];
  gsize header_len;
  guint8 opcode = binary ? OWL_FRAME_BINARY : OWL_FRAME_TEXT;

  if (self->state != WS_OPEN)
    return;

  if (self->deflate != NULL)
    {
      g_autoptr(GBytes) compressed = NULL;
      gsize clen;

      if (bytes != NULL)
        data = g_bytes_get_data (bytes, &len);
      compressed = owl_deflate_compress (self->deflate, data, len);
      clen = g_bytes_get_size (compressed);
      header_len = owl_frame_write_header (header, opcode, TRUE, TRUE, clen, NULL);
      ws_write_frame (self, header, header_len, compressed, NULL, clen, FALSE);
      return;
    }

  if (bytes != NULL)
    len = g_bytes_get_size (bytes);
  header_len = owl_frame_write_header (header, opcode, TRUE, FALSE, len, NULL);
  ws_write_frame (self, header, header_len, bytes, data, len, FALSE);
}

void
owl_shared_message_clear (OwlSharedMessage *message)
{
  g_clear_pointer (&message->payload, g_bytes_unref);
  g_clear_pointer (&message->frame, g_bytes_unref);
  for (guint i = 0; i < G_N_ELEMENTS (message->deflated); i++)
    g_clear_pointer (&message->deflated[i], g_bytes_unref);
}

/* Every member of a room gets the very same bytes: server frames are not
 * masked, and a compressor without context takeover gives the same output
 * for the same input and window. */
void
owl_transport_ws_send_shared (OwlTransport     *transport,
                              OwlSharedMessage *message)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;
  GBytes **frame = &message->frame;
  gsize len;
  const guint8 *data;

  if (self->state != WS_OPEN)
    return;

  if (self->deflate != NULL)
    {
      guint bits;

      if (!owl_deflate_compresses_alone (self->deflate, &bits) || bits >= G_N_ELEMENTS (message->deflated))
        {
          ws_send_message (self, FALSE, message->payload, NULL, 0);
          return;
        }
      frame = &message->deflated[bits];
      if (*frame == NULL)
        {
          g_autoptr(GBytes) compressed = NULL;

          data = g_bytes_get_data (message->payload, &len);
          compressed = owl_deflate_compress (self->deflate, data, len);
          data = g_bytes_get_data (compressed, &len);
          *frame = owl_frame_build (OWL_FRAME_TEXT, TRUE, data, len);
        }
    }
  else if (*frame == NULL)
    {
      data = g_bytes_get_data (message->payload, &len);
      *frame = owl_frame_build (OWL_FRAME_TEXT, FALSE, data, len);
    }

  ws_write_frame (self, NULL, 0, *frame, NULL, g_bytes_get_size (*frame), FALSE);
}

void
owl_transport_ws_send_control (OwlTransportWs *self,
                               guint8          opcode,
                               const guint8   *data,
                               gsize           len)
{
  guint8 header[14];
  gsize header_len = owl_frame_write_header (header, opcode, TRUE, FALSE, len, NULL);

  ws_write_frame (self, header, header_len, NULL, data, len, TRUE);
}

void
owl_transport_ws_send_close (OwlTransportWs *self,
                             guint16         code,
                             const char     *reason)
{
  g_autoptr(GBytes) payload = owl_frame_build_close (code, reason);
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  owl_transport_ws_send_control (self, OWL_FRAME_CLOSE, data, len);
}

void
owl_transport_ws_send (OwlTransport *transport,
                       gboolean      binary,
                       GBytes       *bytes)
{
  ws_send_message ((OwlTransportWs *) transport, binary, bytes, NULL, 0);
}

void
owl_transport_ws_send_data (OwlTransport *transport,
                            gboolean      binary,
                            const char   *data,
                            gsize         len)
{
  ws_send_message ((OwlTransportWs *) transport, binary, NULL, (const guint8 *) data, len);
}

gsize
owl_transport_ws_get_buffered (OwlTransport *transport)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;

  return self->queued + (self->cork ? self->cork->len : 0);
}

guint64
owl_transport_ws_get_dropped (OwlTransport *transport)
{
  return ((OwlTransportWs *) transport)->dropped;
}
