/* owl-transport-ws.c: owlsock's own WebSocket connection on a raw socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * After the 101, SoupServer hands over its stream; from there the bytes are
 * ours. The socket joins the context's poller (one epoll set for every
 * connection), is read at most OWL_WS_READ_BUDGET bytes per main loop turn so
 * a pipelining client cannot hold the others, and is written directly while
 * nothing is queued; only what the kernel did not take is queued, counted,
 * and bounded by the limit's policy. Keepalive, the pong deadline, the idle
 * timeout and the close handshake timeout run off the service's one-second
 * tick, so an idle connection owns no GSource.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "owl-close.h"
#include "owl-fd-stream-private.h"
#include "owl-frame-private.h"
#include "owl-poller-private.h"
#include "owl-transport-private.h"

#define OWL_WS_READ_BUDGET   (64 * 1024)
/* Time one connection's messages may take in one main loop turn; past it,
 * the rest of what was read waits for the next turn, so a client sending
 * a burst of costly messages delays the others by this much at most (plus
 * one message). */
#define OWL_WS_TURN_BUDGET_US 1000
#define OWL_WS_CLOSE_TIMEOUT (5 * G_USEC_PER_SEC)
#define OWL_WS_IOV_MAX       32
/* A closing socket whose peer still sends is read and discarded this long,
 * or this much, so the peer reads our close frame instead of a reset. */
#define OWL_WS_LINGER_MS     2000
#define OWL_WS_LINGER_BYTES  (1024 * 1024)
/* Frames up to this size are copied into the write-coalescing buffer. */
#define OWL_WS_CORK_MAX      (16 * 1024)

typedef enum
{
  WS_OPEN,
  WS_CLOSE_SENT,   /* we sent a close frame and wait for the peer's */
  WS_DONE,         /* the socket is closed; `closed` is due or done */
} WsState;

typedef struct
{
  GBytes *bytes;
  gsize   offset;
} WsChunk;

typedef struct
{
  OwlTransport        parent;

  int                 fd;
  /* TLS: bytes go through the stream libsoup handed over (its filter and
   * the GTlsConnection); the descriptor, still the OwlFdStream's, only
   * tells readiness. NULL: plain, straight on the descriptor. */
  GIOStream            *stream;
  GPollableInputStream *in;
  GPollableOutputStream *out;
  GMainContext       *context;
  OwlPoller          *poller;
  OwlPollerWatch     *watch;
  OwlFrameReader     *reader;
  OwlDeflate         *deflate;
  OwlTransportLimits  limits;
  OwlDeflateParams    deflate_params;

  WsState             state;
  guint16             close_code;      /* ours once we sent one */
  char               *close_reason;
  guint16             closed_code;     /* what `closed` reports */
  char               *closed_reason;
  gboolean            closed_due;
  gboolean            closed_emitted;
  GSource            *closed_idle;

  GQueue              queue;           /* WsChunk */
  gboolean            head_pending;    /* TLS may hold the head's bytes */
  gsize               queued;
  GByteArray         *cork;            /* frames written during a dispatch */
  gboolean            in_dirty;
  guint64             dropped;
  gboolean            pushed_back;     /* the queue was used since the last drain */

  gint64              turn_start;      /* when this turn's work began */
  guint64             turn_serial;     /* the poller dispatch it belongs to */

  gint64              last_rx;
  gint64              ping_sent;       /* 0: no ping outstanding */
  gint64              next_ping;
  gint64              close_deadline;

  /* > 0 while inside a poller callback: free and `closed` wait for it. */
  guint               busy;
  gboolean            freed;
} OwlTransportWs;

/* recv() and writev() with errno, through TLS when there is a stream. */
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

static void ws_finish       (OwlTransportWs *self,
                             guint16         code,
                             const char     *reason,
                             gboolean        drain_input);
static void ws_send_close   (OwlTransportWs *self,
                             guint16         code,
                             const char     *reason);

/* Output -------------------------------------------------------------------- */

/* Write coalescing. While a socket's input is being handled, every frame
 * written to any connection is appended to that connection's cork buffer;
 * when the handling ends, each corked connection gets one write. A pipelined
 * client's 16 answers leave in one segment, and a subscriber gets all the
 * broadcasts of one read of the publisher in one write, instead of a
 * syscall (and, with TCP_NODELAY, a packet) per frame. */
typedef struct
{
  guint      depth;
  GPtrArray *dirty;   /* OwlTransportWs with a non-empty cork */
} WsCork;

static void
ws_cork_free (gpointer data)
{
  WsCork *cork = data;

  g_ptr_array_unref (cork->dirty);
  g_free (cork);
}

static GPrivate cork_key = G_PRIVATE_INIT (ws_cork_free);

static WsCork *
ws_cork_get (void)
{
  WsCork *cork = g_private_get (&cork_key);

  if (cork == NULL)
    {
      cork = g_new0 (WsCork, 1);
      cork->dirty = g_ptr_array_new ();
      g_private_set (&cork_key, cork);
    }
  return cork;
}

static void ws_uncork (OwlTransportWs *self);

static void
ws_cork_end (WsCork *cork)
{
  if (--cork->depth > 0)
    return;

  /* Flushing may end a connection, which may add nothing here: the depth
   * is 0, so its writes go straight out. */
  for (guint i = 0; i < cork->dirty->len; i++)
    {
      OwlTransportWs *self = g_ptr_array_index (cork->dirty, i);

      self->in_dirty = FALSE;
      ws_uncork (self);
    }
  g_ptr_array_set_size (cork->dirty, 0);
}

static void
ws_chunk_free (gpointer data)
{
  WsChunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_free (chunk);
}

static void
ws_enqueue (OwlTransportWs *self,
            GBytes         *bytes,
            gsize           offset)
{
  WsChunk *chunk = g_new (WsChunk, 1);

  chunk->bytes = g_bytes_ref (bytes);
  chunk->offset = offset;
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
static gboolean
ws_flush (OwlTransportWs *self)
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
static void
ws_uncork (OwlTransportWs *self)
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
          ws_finish (self, OWL_CLOSE_ABNORMAL, "", FALSE);
          return;
        }
      written = n;
      if (written == buf->len)
        return;
    }

  {
    g_autoptr(GBytes) rest = g_bytes_new (buf->data + written, buf->len - written);

    ws_enqueue (self, rest, 0);
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
  gsize total = header_len + len;
  gsize written = 0;
  gsize corked = self->cork ? self->cork->len : 0;
  WsCork *cork;

  if (self->state == WS_DONE)
    return;

  if (!control && self->limits.max_buffered > 0 &&
      self->queued + corked + total > self->limits.max_buffered && self->queued + corked > 0)
    {
      if (self->limits.full_policy == OWL_TRANSPORT_FULL_DROP)
        {
          self->dropped++;
          return;
        }
      /* The peer does not read: nothing more is sent but the frame on the
       * wire (cutting it would corrupt the stream) and a close frame. */
      while (self->queue.length > 1 ||
             (self->queue.length == 1 && ((WsChunk *) self->queue.head->data)->offset == 0 &&
              !self->head_pending))
        {
          WsChunk *chunk = g_queue_pop_tail (&self->queue);

          self->queued -= g_bytes_get_size (chunk->bytes) - chunk->offset;
          ws_chunk_free (chunk);
        }
      g_clear_pointer (&self->cork, g_byte_array_unref);
      ws_send_close (self, OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read");
      ws_finish (self, OWL_CLOSE_TRY_AGAIN_LATER, "Peer does not read", TRUE);
      return;
    }

  if (bytes != NULL)
    data = g_bytes_get_data (bytes, NULL);

  cork = ws_cork_get ();
  if (cork->depth > 0 && total <= OWL_WS_CORK_MAX)
    {
      if (self->cork == NULL)
        self->cork = g_byte_array_sized_new (MAX (total, 2048));
      g_byte_array_append (self->cork, header, header_len);
      g_byte_array_append (self->cork, data, len);
      if (!self->in_dirty)
        {
          self->in_dirty = TRUE;
          g_ptr_array_add (cork->dirty, self);
        }
      return;
    }
  ws_uncork (self);
  if (self->state == WS_DONE)
    return;

  if (self->queue.length == 0)
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
        {
          ws_finish (self, OWL_CLOSE_ABNORMAL, "", FALSE);
          return;
        }
      written = n;
      if (written == total)
        return;
    }

  /* Queue what is left: the header remainder is copied, the payload is
   * shared when it came as bytes. */
  if (written < header_len)
    {
      g_autoptr(GBytes) rest = g_bytes_new (header + written, header_len - written);

      ws_enqueue (self, rest, 0);
      written = header_len;
    }
  if (len > 0)
    {
      gsize offset = written - header_len;

      if (bytes != NULL)
        ws_enqueue (self, bytes, offset);
      else
        {
          g_autoptr(GBytes) copy = g_bytes_new (data + offset, len - offset);

          ws_enqueue (self, copy, 0);
        }
    }

  ws_update_events (self);
}

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
static void
ws_send_shared (OwlTransport     *transport,
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
      guint bits = self->deflate_params.server_max_window_bits;

      if (!self->deflate_params.server_no_context_takeover || bits >= G_N_ELEMENTS (message->deflated))
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

static void
ws_send_control (OwlTransportWs *self,
                 guint8          opcode,
                 const guint8   *data,
                 gsize           len)
{
  guint8 header[14];
  gsize header_len = owl_frame_write_header (header, opcode, TRUE, FALSE, len, NULL);

  ws_write_frame (self, header, header_len, NULL, data, len, TRUE);
}

static void
ws_send_close (OwlTransportWs *self,
               guint16         code,
               const char     *reason)
{
  g_autoptr(GBytes) payload = owl_frame_build_close (code, reason);
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  ws_send_control (self, OWL_FRAME_CLOSE, data, len);
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

/* Lingering: a socket the connection is done with, kept a little while to
 * send what is queued (the close frame) and to read and drop what the peer
 * still sends; closing at once would answer its data with a reset that
 * may destroy our close frame before the peer reads it. */
typedef struct
{
  int             fd;
  OwlPoller      *poller;
  OwlPollerWatch *watch;
  GSource        *timeout;
  GQueue          queue;
  gsize           discarded;
  gboolean        shut;
  /* TLS: bytes go through the stream; the descriptor is the stream's. */
  GIOStream             *stream;
  GPollableInputStream  *in;
  GPollableOutputStream *out;
} WsLinger;

static void
linger_end (WsLinger *linger)
{
  owl_poller_remove (linger->poller, linger->watch);
  owl_poller_unref (linger->poller);
  g_source_destroy (linger->timeout);
  g_source_unref (linger->timeout);
  g_queue_clear_full (&linger->queue, ws_chunk_free);
  shutdown (linger->fd, SHUT_RDWR);
  if (linger->stream != NULL)
    {
      g_io_stream_close (linger->stream, NULL, NULL);
      g_object_unref (linger->stream);
    }
  else
    close (linger->fd);
  g_free (linger);
}

static gboolean
linger_timeout_cb (gpointer data)
{
  linger_end (data);
  return G_SOURCE_REMOVE;
}

static void
on_linger_ready (gpointer user_data,
                 guint    events)
{
  WsLinger *linger = user_data;
  guint8 scratch[4096];

  while (linger->queue.length > 0)
    {
      WsChunk *chunk = g_queue_peek_head (&linger->queue);
      gsize size;
      const guint8 *data = g_bytes_get_data (chunk->bytes, &size);
      g_autoptr(GError) error = NULL;
      ssize_t n;

      if (linger->out != NULL)
        {
          n = g_pollable_output_stream_write_nonblocking (linger->out, data + chunk->offset,
                                                          size - chunk->offset, NULL, &error);
          if (n < 0)
            errno = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? EAGAIN : EIO;
        }
      else
        n = send (linger->fd, data + chunk->offset, size - chunk->offset, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          linger_end (linger);
          return;
        }
      chunk->offset += n;
      if (chunk->offset == size)
        ws_chunk_free (g_queue_pop_head (&linger->queue));
    }

  if (linger->queue.length == 0 && !linger->shut)
    {
      shutdown (linger->fd, SHUT_WR);
      linger->shut = TRUE;
      owl_poller_set_events (linger->poller, linger->watch, OWL_POLL_IN);
    }

  if (events & OWL_POLL_IN)
    {
      g_autoptr(GError) error = NULL;
      ssize_t n;

      if (linger->in != NULL)
        {
          n = g_pollable_input_stream_read_nonblocking (linger->in, scratch, sizeof scratch, NULL, &error);
          if (n < 0)
            errno = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? EAGAIN : EIO;
        }
      else
        n = recv (linger->fd, scratch, sizeof scratch, 0);

      if (n > 0)
        linger->discarded += n;
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
          linger->discarded > OWL_WS_LINGER_BYTES)
        linger_end (linger);
    }
}

static void
ws_linger (OwlTransportWs *self)
{
  WsLinger *linger = g_new0 (WsLinger, 1);

  linger->fd = self->fd;
  linger->stream = g_steal_pointer (&self->stream);
  linger->in = g_steal_pointer (&self->in);
  linger->out = g_steal_pointer (&self->out);
  linger->poller = owl_poller_ref_for_context (self->context);
  linger->queue = self->queue;
  g_queue_init (&self->queue);
  self->queued = 0;
  self->fd = -1;

  linger->timeout = g_timeout_source_new (OWL_WS_LINGER_MS);
  g_source_set_callback (linger->timeout, linger_timeout_cb, linger, NULL);
  g_source_attach (linger->timeout, self->context);
  linger->watch = owl_poller_add (linger->poller, linger->fd,
                                  OWL_POLL_IN | (linger->queue.length > 0 ? OWL_POLL_OUT : 0),
                                  on_linger_ready, linger);
  on_linger_ready (linger, 0);
}

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
    ws_linger (self);
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
static void
ws_finish (OwlTransportWs *self,
           guint16         code,
           const char     *reason,
           gboolean        drain_input)
{
  if (self->state == WS_DONE)
    return;

  /* What is corked was written before whatever ends the connection. */
  ws_uncork (self);
  if (self->state == WS_DONE)
    return;
  self->state = WS_DONE;

  ws_flush (self);
  ws_release_socket (self, drain_input);

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
    ws_send_control (self, OWL_FRAME_PONG, data, len);
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
        ws_send_control (self, OWL_FRAME_CLOSE, NULL, 0);
      else
        ws_send_close (self, code, NULL);
      ws_finish (self, code, reason, FALSE);
    }
  else if (self->state == WS_CLOSE_SENT)
    ws_finish (self, self->close_code, self->close_reason, FALSE);
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
      ws_send_close (self, code, reason);
      ws_finish (self, code, reason, TRUE);
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
    ws_finish (self, self->state == WS_CLOSE_SENT ? self->close_code : OWL_CLOSE_ABNORMAL,
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
      if (!ws_flush (self))
        ws_finish (self, self->state == WS_CLOSE_SENT ? self->close_code : OWL_CLOSE_ABNORMAL, "", FALSE);
      else if (self->queued == 0 && self->pushed_back && !self->freed)
        {
          self->pushed_back = FALSE;
          if (self->parent.callbacks->drain != NULL)
            self->parent.callbacks->drain (self->parent.user_data);
        }
    }

  if ((events & OWL_POLL_IN) && self->state != WS_DONE)
    {
      ws_read (self);
      ws_kick_if_buffered (self);
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
  if (self->state != WS_DONE && self->fd >= 0)
    {
      ws_uncork (self);
      ws_send_close (self, OWL_CLOSE_GOING_AWAY, "Going away");
      ws_flush (self);
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
ws_send (OwlTransport *transport,
         gboolean      binary,
         GBytes       *bytes)
{
  ws_send_message ((OwlTransportWs *) transport, binary, bytes, NULL, 0);
}

static void
ws_send_data (OwlTransport *transport,
              gboolean      binary,
              const char   *data,
              gsize         len)
{
  ws_send_message ((OwlTransportWs *) transport, binary, NULL, (const guint8 *) data, len);
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
  ws_send_close (self, code, reason);
  if (self->state == WS_OPEN)
    {
      self->state = WS_CLOSE_SENT;
      self->close_deadline = g_get_monotonic_time () + OWL_WS_CLOSE_TIMEOUT;
    }
}

static gsize
ws_get_buffered (OwlTransport *transport)
{
  OwlTransportWs *self = (OwlTransportWs *) transport;

  return self->queued + (self->cork ? self->cork->len : 0);
}

static guint64
ws_get_dropped (OwlTransport *transport)
{
  return ((OwlTransportWs *) transport)->dropped;
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
        ws_finish (self, self->close_code, self->close_reason, FALSE);
      break;

    case WS_OPEN:
      if (self->ping_sent != 0 && now - self->ping_sent >= (gint64) limits->pong_timeout_s * G_USEC_PER_SEC)
        {
          ws_close (transport, OWL_CLOSE_PONG_TIMEOUT, "Pong timeout");
          break;
        }
      if (limits->idle_timeout_s > 0 &&
          now - self->last_rx >= (gint64) limits->idle_timeout_s * G_USEC_PER_SEC)
        {
          ws_close (transport, OWL_CLOSE_GOING_AWAY, "Idle timeout");
          break;
        }
      if (limits->ping_interval_s > 0 && self->ping_sent == 0 && now >= self->next_ping)
        {
          ws_send_control (self, OWL_FRAME_PING, NULL, 0);
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
  .send = ws_send,
  .send_shared = ws_send_shared,
  .send_data = ws_send_data,
  .close = ws_close,
  .get_buffered = ws_get_buffered,
  .get_dropped = ws_get_dropped,
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
  if (limits->deflate != NULL)
    {
      self->deflate_params = *limits->deflate;
      self->limits.deflate = &self->deflate_params;
      self->deflate = owl_deflate_new (&self->deflate_params, TRUE);
    }
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
