/* owl-transport-private.h: the one interface between a connection and its frames
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlConnection speaks JSON envelopes; an OwlTransport moves whole messages
 * and close frames. Two implementations sit behind this interface:
 *
 *  - owl-transport-ws.c, owlsock's own RFC 6455 frame layer on the raw
 *    socket, with owlsock's limits, queue accounting and keepalive;
 *  - owl-transport-soup.c, libsoup's SoupWebsocketConnection, used for
 *    streams the frame layer cannot take over (a SoupServer's own TLS),
 *    over a stream of owlsock's that gives it the same queue accounting
 *    and keepalive; permessage-deflate is never negotiated there.
 *
 * All functions run on the service's main context. Callbacks never run from
 * inside a call into the transport: a send or a close that fails reports
 * through `closed` from the main loop, so callers may iterate rooms while
 * sending.
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "owl-deflate-private.h"

G_BEGIN_DECLS

typedef struct _OwlTransport OwlTransport;

typedef struct
{
  /* A whole message arrived. @data is owned by the transport for the call. */
  void (*message) (gpointer      user_data,
                   gboolean      binary,
                   const guint8 *data,
                   gsize         len);
  /* A non-fatal or fatal error; `closed` follows a fatal one. */
  void (*error)   (gpointer      user_data,
                   const GError *error);
  /* The connection ended; called exactly once, and last. @code is 1006
   * when it ended without a close handshake. */
  void (*closed)  (gpointer      user_data,
                   guint16       code,
                   const char   *reason);
  /* The outgoing queue emptied after the socket pushed back. */
  void (*drain)   (gpointer      user_data);
  /* The transport started a close of its own from owl_transport_tick()
   * (pong or idle timeout): @code went to the peer and `closed` follows
   * once it answers. May be NULL. A close that ends the connection at once
   * (the peer's close frame, a protocol error, a full queue, a lost
   * socket) is reported by `closed` only. */
  void (*closing) (gpointer      user_data,
                   guint16       code,
                   const char   *reason);
} OwlTransportCallbacks;

/* What happens to a message that would push the queued bytes past the limit. */
typedef enum
{
  OWL_TRANSPORT_FULL_CLOSE,  /* close with 1013 */
  OWL_TRANSPORT_FULL_DROP,   /* drop the message and count it */
} OwlTransportFullPolicy;

typedef struct
{
  guint64                 max_message_size;  /* 0: none */
  gsize                   max_buffered;      /* 0: none */
  const OwlDeflateParams *deflate;           /* negotiated, or NULL */
  guint                   ping_interval_s;   /* 0: no server pings */
  guint                   pong_timeout_s;
  guint                   idle_timeout_s;    /* 0: none */
  OwlTransportFullPolicy  full_policy;
} OwlTransportLimits;

/* One message for many connections (a broadcast): the frame is built once,
 * and once per deflate window size for connections whose compressor keeps
 * no context between messages, so their frames are identical too. */
typedef struct
{
  GBytes *payload;
  GBytes *frame;
  GBytes *deflated[16];  /* by server window bits */
} OwlSharedMessage;

void owl_shared_message_clear (OwlSharedMessage *message);

typedef struct
{
  void    (*free)         (OwlTransport *self);
  void    (*send_shared)  (OwlTransport *self, OwlSharedMessage *message);
  void    (*send)         (OwlTransport *self, gboolean binary, GBytes *bytes);
  void    (*send_data)    (OwlTransport *self, gboolean binary, const char *data, gsize len);
  void    (*close)        (OwlTransport *self, guint16 code, const char *reason);
  gsize   (*get_buffered) (OwlTransport *self);
  guint64 (*get_dropped)  (OwlTransport *self);
  void    (*tick)         (OwlTransport *self, gint64 now_us);
} OwlTransportClass;

struct _OwlTransport
{
  const OwlTransportClass     *klass;
  const OwlTransportCallbacks *callbacks;
  gpointer                     user_data;
};

/* The transport for a stream SoupServer handed over after a 101: owlsock's
 * own frame layer when it can take the stream over, else libsoup's. */
OwlTransport *owl_transport_new      (GIOStream                   *stream,
                                      GUri                        *uri,
                                      const char                  *origin,
                                      const OwlTransportLimits    *limits,
                                      const OwlTransportCallbacks *callbacks,
                                      gpointer                     user_data);
/* Takes over a stream SoupServer handed over after a 101; NULL if it is not
 * a plain socket stream (then use the soup transport). */
OwlTransport *owl_transport_new_ws   (GIOStream                   *stream,
                                      const OwlTransportLimits    *limits,
                                      const OwlTransportCallbacks *callbacks,
                                      gpointer                     user_data);
/* Runs libsoup's WebSocket code on @stream, whose upgrade to @uri from
 * @origin (nullable) was answered with a 101. */
OwlTransport *owl_transport_new_soup (GIOStream                   *stream,
                                      GUri                        *uri,
                                      const char                  *origin,
                                      const OwlTransportLimits    *limits,
                                      const OwlTransportCallbacks *callbacks,
                                      gpointer                     user_data);

static inline void
owl_transport_free (OwlTransport *self)
{
  if (self != NULL)
    self->klass->free (self);
}

/* Sends one message; @bytes is not modified and may be shared between many
 * transports (a broadcast serialises once). Ignored once closing. */
static inline void
owl_transport_send (OwlTransport *self,
                    gboolean      binary,
                    GBytes       *bytes)
{
  self->klass->send (self, binary, bytes);
}

static inline void
owl_transport_send_shared (OwlTransport     *self,
                           OwlSharedMessage *message)
{
  self->klass->send_shared (self, message);
}

static inline void
owl_transport_send_data (OwlTransport *self,
                         gboolean      binary,
                         const char   *data,
                         gsize         len)
{
  self->klass->send_data (self, binary, data, len);
}

/* Starts the close handshake. @reason is at most 123 bytes. */
static inline void
owl_transport_close (OwlTransport *self,
                     guint16       code,
                     const char   *reason)
{
  self->klass->close (self, code, reason);
}

static inline gsize
owl_transport_get_buffered (OwlTransport *self)
{
  return self->klass->get_buffered (self);
}

static inline guint64
owl_transport_get_dropped (OwlTransport *self)
{
  return self->klass->get_dropped (self);
}

/* For implementations: a close the transport starts from its tick, told
 * to the owner now rather than when the peer answers. */
static inline void
owl_transport_close_on_tick (OwlTransport *self,
                             guint16       code,
                             const char   *reason)
{
  self->klass->close (self, code, reason);
  if (self->callbacks->closing != NULL)
    self->callbacks->closing (self->user_data, code, reason);
}

/* About once a second, for keepalive and timeouts; may call `closing`. */
static inline void
owl_transport_tick (OwlTransport *self,
                    gint64        now_us)
{
  self->klass->tick (self, now_us);
}

G_END_DECLS
