/* owl-listener-private.h: accepts connections for a SoupServer the service owns
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "owl-fd-stream-private.h"
#include "owl-poller-private.h"

G_BEGIN_DECLS

typedef struct _OwlListener OwlListener;

/* Owned by the service, read at each use. */
typedef struct
{
  gint handshake_timeout;   /* seconds until the request must have come */
  gint max_handshake_size;  /* bytes of request before the upgrade */
  GTlsCertificate *tls_certificate;  /* set: every connection is TLS */
} OwlListenerLimits;

/* @socket is a bound, listening socket; each accepted connection goes to
 * @server through soup_server_accept_iostream(). */
OwlListener *owl_listener_new  (GSocket                 *socket,
                                SoupServer              *server,
                                OwlPoller               *poller,
                                GMainContext            *context,
                                const OwlListenerLimits *limits);
void         owl_listener_free (OwlListener *self);
GSocket     *owl_listener_get_socket (OwlListener *self);
OwlFdHandle *owl_listener_hold (OwlListener    *self,
                                GSocketAddress *remote);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlListener, owl_listener_free)

G_END_DECLS
