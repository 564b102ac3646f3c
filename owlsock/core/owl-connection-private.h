/* owl-connection-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "owl-connection.h"
#include "owl-deflate-private.h"
#include "owl-limits-private.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

typedef struct _OwlSocketService OwlSocketService;

OwlConnection *owl_connection_new            (OwlSocketService        *service,
                                              OwlModule               *module,
                                              OwlRequest              *request,
                                              GIOStream               *stream,
                                              GUri                    *uri,
                                              const OwlLimits         *limits,
                                              const OwlDeflateParams  *deflate);
void           owl_connection_tick           (OwlConnection           *self,
                                              gint64                   now_us);
void           owl_connection_start          (OwlConnection           *self);
void           owl_connection_detach_service (OwlConnection           *self);
/* Takes @data (g_free) and sends it as one text frame, from any thread. */
gboolean       owl_connection_send_take      (OwlConnection           *self,
                                              char                    *data,
                                              gsize                    len,
                                              GError                 **error);
/* On the service's context: one message of a broadcast. */
void           owl_connection_send_shared    (OwlConnection           *self,
                                              OwlSharedMessage        *message);
GHashTable    *owl_connection_get_room_set   (OwlConnection           *self);
/* How many messages wait for the connection handler to return (tests). */
guint          owl_connection_get_n_early    (OwlConnection           *self);

G_END_DECLS
