/* owl-transport.c: which transport a stream gets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-fd-stream-private.h"
#include "owl-transport-private.h"

OwlTransport *
owl_transport_new (GIOStream                   *stream,
                   GUri                        *uri,
                   const char                  *origin,
                   const OwlTransportLimits    *limits,
                   const OwlTransportCallbacks *callbacks,
                   gpointer                     user_data)
{
  OwlTransport *transport = owl_transport_new_ws (stream, limits, callbacks, user_data);

  if (transport != NULL)
    return transport;

  /* A stream owlsock cannot take over (an application's own TLS): libsoup
   * keeps it, so the handshake bounds end here. */
  owl_fd_stream_mark_upgraded (stream);
  return owl_transport_new_soup (stream, uri, origin, limits, callbacks, user_data);
}
