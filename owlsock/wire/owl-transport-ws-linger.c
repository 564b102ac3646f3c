/* owl-transport-ws-linger.c: a closing socket, kept until the peer read our close frame
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Lingering: a socket the connection is done with, kept a little while to
 * send what is queued (the close frame) and to read and drop what the peer
 * still sends; closing at once would answer its data with a reset that
 * may destroy our close frame before the peer reads it.
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "owl-transport-ws-private.h"

/* A closing socket whose peer still sends is read and discarded this long,
 * or this much, so the peer reads our close frame instead of a reset. */
#define OWL_WS_LINGER_MS     2000
#define OWL_WS_LINGER_BYTES  (1024 * 1024)

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

void
owl_transport_ws_linger (OwlTransportWs *self)
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

