/* owl-transport-ws-private.h: what the files of owlsock's own WebSocket connection share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlTransportWs is one connection, in three files by job:
 *
 *  - owl-transport-ws.c: the connection itself: taking the socket over,
 *    input with the per-turn time budget and the reader's backlog, the
 *    deadlines of the tick, ending, and the transport class;
 *  - owl-transport-ws-output.c: the outgoing path: framing messages and
 *    shared broadcast frames, write coalescing (the cork), the queue and
 *    its flushing, the backpressure policy;
 *  - owl-transport-ws-linger.c: a closing socket kept a little while so
 *    the peer reads our close frame.
 *
 * A message's path runs from the socket's callback through the reader to
 * the frame callbacks (owl-transport-ws.c), and from the transport's send
 * through the cork to the socket (owl-transport-ws-output.c); what joins
 * the two on every dispatch (the cork's depth) is inline here.
 */

#pragma once

#include <gio/gio.h>

#include "owl-frame-private.h"
#include "owl-poller-private.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

typedef enum
{
  WS_OPEN,
  WS_CLOSE_SENT,   /* we sent a close frame and wait for the peer's */
  WS_DONE,         /* the socket is closed; `closed` is due or done */
} WsState;

typedef struct
{
  GBytes  *bytes;
  gsize    offset;
  /* Continues a frame part of which went out before it was queued:
   * dropping it would cut that frame. */
  gboolean continues;
} WsChunk;

typedef struct
{
  OwlTransport        parent;

  /* Flags and small numbers first, packed: an idle connection's size is
   * what lets a server hold many. Everything here is the home thread's. */
  int                 fd;
  WsState             state;
  guint16             close_code;      /* ours once we sent one */
  guint16             closed_code;     /* what `closed` reports */
  /* > 0 while inside a poller callback: free and `closed` wait for it. */
  guint               busy;
  guint               freed : 1;
  guint               closed_due : 1;
  guint               closed_emitted : 1;
  guint               head_pending : 1; /* TLS may hold the queue head's bytes */
  guint               in_dirty : 1;
  guint               pushed_back : 1;  /* the queue was used since the last drain */

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
  OwlTransportLimits  limits;          /* its deflate member unused */

  char               *close_reason;
  char               *closed_reason;
  GSource            *closed_idle;

  GQueue              queue;           /* WsChunk */
  gsize               queued;
  GByteArray         *cork;            /* frames written during a dispatch */
  guint64             dropped;

  gint64              turn_start;      /* when this turn's work began */
  guint64             turn_serial;     /* the poller dispatch it belongs to */

  gint64              last_rx;
  gint64              ping_sent;       /* 0: no ping outstanding */
  gint64              next_ping;
  gint64              close_deadline;
} OwlTransportWs;

static inline void
ws_chunk_free (gpointer data)
{
  WsChunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_free (chunk);
}

/* Write coalescing. While a socket's input is being handled, every frame
 * written to any connection is appended to that connection's cork buffer;
 * when the handling ends, each corked connection gets one write. Frames
 * written outside any dispatch are corked until the end of the main loop
 * turn (up to OWL_WS_CORK_OUTSIDE_MAX per connection), so that many
 * broadcasts made from a timer or a D-Bus call still leave in one write per
 * member. A pipelined
 * client's 16 answers leave in one segment, and a subscriber gets all the
 * broadcasts of one read of the publisher in one write, instead of a
 * syscall (and, with TCP_NODELAY, a packet) per frame. */
typedef struct
{
  guint           depth;
  GPtrArray      *dirty;       /* OwlTransportWs with a non-empty cork */
  OwlTransportWs *carrier;     /* ended its dispatch by its turn budget */
  gint64          carry_since; /* when the corks were first kept, or 0 */
  /* Frames written outside any dispatch (a broadcast from a timer, a bus
   * call, another thread's send handed over) wait for the end of the main
   * loop turn: this idle source, in the context of the first of them. */
  GSource        *turn_end;
  GMainContext   *turn_end_context;
} WsCork;

/* A connection that stops reading because its turn budget ran out (its
 * frames wait for the next turn) leaves the corks as they are: whatever
 * dispatch ends next without running out sends them, or the carrier's own
 * next one, so a publisher's burst still reaches each subscriber in a few
 * writes while other connections get their turns in between. A frame stays
 * corked this long at most. */
#define OWL_WS_CORK_CARRY_MAX_US (10 * 1000)

/* This thread's cork; defined in owl-transport-ws-output.c. */
extern GPrivate owl_transport_ws_cork_key;

static inline WsCork *
ws_cork_get (void)
{
  WsCork *cork = g_private_get (&owl_transport_ws_cork_key);

  if (cork == NULL)
    {
      cork = g_new0 (WsCork, 1);
      cork->dirty = g_ptr_array_new ();
      g_private_set (&owl_transport_ws_cork_key, cork);
    }
  return cork;
}

/* Output (owl-transport-ws-output.c) ------------------------------------------- */

/* Sends what the cork holds, before anything written after it. */
void     owl_transport_ws_uncork       (OwlTransportWs   *self);
/* Writes as much of the queue as the socket takes. FALSE on a fatal error. */
gboolean owl_transport_ws_flush        (OwlTransportWs   *self);
void     owl_transport_ws_send_control (OwlTransportWs   *self,
                                        guint8            opcode,
                                        const guint8     *data,
                                        gsize             len);
void     owl_transport_ws_send_close   (OwlTransportWs   *self,
                                        guint16           code,
                                        const char       *reason);

/* The class's outgoing entry points. */
void     owl_transport_ws_send         (OwlTransport     *transport,
                                        gboolean          binary,
                                        GBytes           *bytes);
void     owl_transport_ws_send_data    (OwlTransport     *transport,
                                        gboolean          binary,
                                        const char       *data,
                                        gsize             len);
void     owl_transport_ws_send_shared  (OwlTransport     *transport,
                                        OwlSharedMessage *message);
gsize    owl_transport_ws_get_buffered (OwlTransport     *transport);
guint64  owl_transport_ws_get_dropped  (OwlTransport     *transport);

/* Sends every cork: flushing may end a connection, which may add nothing
 * here (the depth is 0, so its writes go straight out). */
static inline void
ws_cork_flush (WsCork *cork)
{
  cork->carrier = NULL;
  cork->carry_since = 0;
  for (guint i = 0; i < cork->dirty->len; i++)
    {
      OwlTransportWs *self = g_ptr_array_index (cork->dirty, i);

      self->in_dirty = FALSE;
      owl_transport_ws_uncork (self);
    }
  g_ptr_array_set_size (cork->dirty, 0);
}

static inline void
ws_cork_end (WsCork *cork)
{
  if (--cork->depth > 0)
    return;

  if (cork->carrier != NULL)
    {
      gint64 now = g_get_monotonic_time ();

      if (cork->carry_since == 0)
        cork->carry_since = now;
      if (now - cork->carry_since < OWL_WS_CORK_CARRY_MAX_US)
        return;
    }
  ws_cork_flush (cork);
}

/* A carrier that ends or goes away will not come back for the corks it
 * kept: they go now. */
static inline void
ws_cork_drop_carrier (OwlTransportWs *self)
{
  WsCork *cork = ws_cork_get ();

  if (cork->carrier != self)
    return;
  cork->carrier = NULL;
  if (cork->depth == 0)
    ws_cork_flush (cork);
}

/* Lingering (owl-transport-ws-linger.c) ----------------------------------------- */

/* Hands the socket, its TLS stream and what is queued to a linger, which
 * sends the queue and reads and drops what the peer still sends, for a
 * little while; @self keeps no socket. */
void     owl_transport_ws_linger       (OwlTransportWs   *self);

/* The connection (owl-transport-ws.c) ------------------------------------------- */

/* The connection is over: `closed` follows from the main loop. */
void     owl_transport_ws_finish       (OwlTransportWs   *self,
                                        guint16           code,
                                        const char       *reason,
                                        gboolean          drain_input);

G_END_DECLS
