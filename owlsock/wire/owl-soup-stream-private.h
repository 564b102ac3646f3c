/* owl-soup-stream-private.h: a GIOStream of owlsock's under libsoup's WebSocket code
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libsoup 3.2 shows neither its send queue nor when a pong is due, so
 * owl-transport-soup.c puts this stream between libsoup and the stream it
 * cannot take over (a SoupServer's own TLS):
 *
 *  - its output takes every frame libsoup writes at once, so libsoup's own
 *    queue (invisible from outside) stays empty, and keeps what the TLS
 *    stream does not take yet in a queue owlsock counts, bounds with the
 *    limit's policy and sees drain. libsoup writes a frame in one call, so
 *    owlsock can put its own pings, and a close frame with any code,
 *    between libsoup's frames;
 *  - its input notes when bytes arrive, for the idle timeout.
 *
 * Closing sends what is queued (the close frame) first, for at most a
 * linger time, and cuts the TCP connection before the TLS close.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define OWL_TYPE_SOUP_INPUT (owl_soup_input_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupInput, owl_soup_input, OWL, SOUP_INPUT, GInputStream)

struct _OwlSoupInput
{
  GInputStream          parent_instance;
  GPollableInputStream *base;
  gint64                last_rx;   /* monotonic time bytes last came */
};

#define OWL_TYPE_SOUP_OUTPUT (owl_soup_output_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupOutput, owl_soup_output, OWL, SOUP_OUTPUT, GOutputStream)

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

#define OWL_TYPE_SOUP_STREAM (owl_soup_stream_get_type ())
G_DECLARE_FINAL_TYPE (OwlSoupStream, owl_soup_stream, OWL, SOUP_STREAM, GIOStream)

struct _OwlSoupStream
{
  GIOStream      parent_instance;
  GIOStream     *base;
  OwlSoupInput  *input;
  OwlSoupOutput *output;
};

/* Wraps @base, whose streams are pollable. */
OwlSoupStream *owl_soup_stream_new      (GIOStream     *base);

/* A frame of owlsock's own (a ping) between libsoup's frames. */
void           owl_soup_output_inject   (OwlSoupOutput *self,
                                         GBytes        *frame);
/* The peer does not read: what was not begun is dropped, @last goes behind
 * it, and nothing libsoup writes from now on is sent. */
void           owl_soup_output_end_with (OwlSoupOutput *self,
                                         GBytes        *last);

G_END_DECLS
