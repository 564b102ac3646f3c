/* owl-transport-client-private.h: the client role of the frame layer, over any GIOStream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What an OwlSocketClient speaks once its handshake was answered with a
 * 101: the same frame codec (owl-frame.c) and permessage-deflate
 * (owl-deflate.c) as the server's transport, in the client role: every
 * frame we send is masked with a key from a per-connection xorshift64*,
 * every frame we read must not be (else 1002). The stream is any
 * GIOStream (a GSocketConnection, a GTlsClientConnection over one) on the
 * thread-default context; a plain socket is read and written with
 * recv() and send() on its descriptor, as the server's connections are.
 */

#pragma once

#include <gio/gio.h>

#include "owl-transport-private.h"

G_BEGIN_DECLS

/* Takes over @stream (a reference). @leftover (nullable) is what was read
 * past the handshake's answer: it is parsed first. Of @limits, only
 * max_message_size and deflate are used. */
OwlTransport *owl_transport_new_client          (GIOStream                   *stream,
                                                 GBytes                      *leftover,
                                                 const OwlTransportLimits    *limits,
                                                 const OwlTransportCallbacks *callbacks,
                                                 gpointer                     user_data);

/* When a frame (any: data, ping, pong, close) last arrived, in
 * g_get_monotonic_time() microseconds; the handshake counts as one. */
gint64        owl_transport_client_get_last_rx  (OwlTransport                *transport);

/* Ends the connection at once, without waiting for the peer (which is
 * gone, or misbehaves): a close frame with @code is written if the
 * socket takes it, and `closed` reports @code from the main loop. */
void          owl_transport_client_abort        (OwlTransport                *transport,
                                                 guint16                      code,
                                                 const char                  *reason);

/* The masking key source, exposed for the tests: a connection's state
 * (never 0) seeded from GLib's global generator, and the next 4 bytes
 * from it (xorshift64*). */
guint64       owl_transport_client_mask_seed    (void);
void          owl_transport_client_mask_key     (guint64                     *state,
                                                 guint8                       key[4]);

G_END_DECLS
