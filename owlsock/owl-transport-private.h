/* owl-transport-private.h: the one interface between a connection and its frames
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlConnection speaks JSON envelopes; an OwlTransport moves whole messages and
 * close frames. Today the only transport wraps libsoup's SoupWebsocketConnection;
 * owlsock's own frame layer replaces it behind this same interface, and the
 * connection tests prove the swap.
 *
 * All functions run on the service's main context. Callbacks never run from
 * inside a call into the transport: a send or a close that fails reports
 * through `closed`/`error` from the main loop, so callers may iterate rooms
 * while sending.
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _OwlTransport OwlTransport;

typedef struct
{
  /* A whole message arrived. @data is owned by the transport for the call. */
  void (*message) (gpointer     user_data,
                   gboolean     binary,
                   const guint8 *data,
                   gsize         len);
  /* A non-fatal or fatal error; `closed` follows a fatal one. */
  void (*error)   (gpointer      user_data,
                   const GError *error);
  /* The connection ended; called exactly once. @code is 1006 when it ended
   * without a close frame. */
  void (*closed)  (gpointer      user_data,
                   guint16       code,
                   const char   *reason);
} OwlTransportCallbacks;

OwlTransport *owl_transport_new_soup  (SoupWebsocketConnection     *conn,
                                       const OwlTransportCallbacks *callbacks,
                                       gpointer                     user_data);
void          owl_transport_free      (OwlTransport                *self);

/* Sends one message; @bytes is not modified and may be shared between many
 * transports (a broadcast frames once). Ignored once closing. */
void          owl_transport_send      (OwlTransport                *self,
                                       gboolean                     binary,
                                       GBytes                      *bytes);
void          owl_transport_send_data (OwlTransport                *self,
                                       gboolean                     binary,
                                       const char                  *data,
                                       gsize                        len);
/* Starts the close handshake. @reason is at most 123 bytes. */
void          owl_transport_close     (OwlTransport                *self,
                                       guint16                      code,
                                       const char                  *reason);
/* Drops the connection at once, without a handshake. */
void          owl_transport_abort     (OwlTransport                *self);

G_END_DECLS
