/* owl-connection.h: one accepted WebSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "owl-version-macros.h"
#include "owl-close.h"
#include "owl-call.h"
#include "owl-request.h"

G_BEGIN_DECLS

#define OWL_TYPE_CONNECTION (owl_connection_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlConnection, owl_connection, OWL, CONNECTION, GObject)

typedef struct _OwlModule OwlModule;

/**
 * OwlConnectionState:
 * @OWL_CONNECTION_OPEN: messages flow both ways
 * @OWL_CONNECTION_CLOSING: a close was started (by either side, or the
 *   socket was lost) and [signal@Owlsock.Connection::closing] is being or
 *   was emitted; nothing more is sent or received
 * @OWL_CONNECTION_CLOSED: the connection ended and [signal@Owlsock.Connection::closed] is being or was emitted
 *
 * The life of an [class@Owlsock.Connection]: open, closing, closed, each
 * state reached once and in this order, and notified through
 * [property@Owlsock.Connection:state] just before the signal of the same
 * name.
 *
 * Since: 0.1
 */
typedef enum
{
  OWL_CONNECTION_OPEN,
  OWL_CONNECTION_CLOSING,
  OWL_CONNECTION_CLOSED,
} OwlConnectionState;

OWL_AVAILABLE_IN_ALL
const char         *owl_connection_get_id          (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
OwlRequest         *owl_connection_get_request     (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
OwlAuth            *owl_connection_get_auth        (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
OwlModule          *owl_connection_get_module      (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
OwlConnectionState  owl_connection_get_state       (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
guint16             owl_connection_get_close_code  (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_connection_get_close_reason (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
guint64             owl_connection_get_buffered_amount (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
guint64             owl_connection_get_dropped_messages (OwlConnection *self);

OWL_AVAILABLE_IN_ALL
gboolean            owl_connection_send            (OwlConnection *self,
                                                    JsonNode      *message,
                                                    GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean            owl_connection_send_text       (OwlConnection *self,
                                                    const char    *text,
                                                    GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean            owl_connection_send_binary     (OwlConnection *self,
                                                    GBytes        *data,
                                                    GError       **error);
OWL_AVAILABLE_IN_ALL
void                owl_connection_close           (OwlConnection *self,
                                                    guint16        code,
                                                    const char    *reason);

OWL_AVAILABLE_IN_ALL
gboolean            owl_connection_notify_event    (OwlConnection *self,
                                                    const char    *event,
                                                    JsonNode      *payload,
                                                    GError       **error);
OWL_AVAILABLE_IN_ALL
void                owl_connection_call_async      (OwlConnection       *self,
                                                    const char          *method,
                                                    JsonNode            *params,
                                                    guint                timeout_ms,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
OWL_AVAILABLE_IN_ALL
JsonNode           *owl_connection_call_finish     (OwlConnection  *self,
                                                    GAsyncResult   *result,
                                                    GError        **error);
OWL_AVAILABLE_IN_ALL
void                owl_connection_request_async   (OwlConnection       *self,
                                                    JsonNode            *payload,
                                                    guint                timeout_ms,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
OWL_AVAILABLE_IN_ALL
JsonNode           *owl_connection_request_finish  (OwlConnection  *self,
                                                    GAsyncResult   *result,
                                                    GError        **error);

OWL_AVAILABLE_IN_ALL
void                owl_connection_join            (OwlConnection *self,
                                                    const char    *room);
OWL_AVAILABLE_IN_ALL
void                owl_connection_leave           (OwlConnection *self,
                                                    const char    *room);
OWL_AVAILABLE_IN_ALL
gboolean            owl_connection_in_room         (OwlConnection *self,
                                                    const char    *room);
OWL_AVAILABLE_IN_ALL
char              **owl_connection_dup_rooms       (OwlConnection *self);
OWL_AVAILABLE_IN_ALL
void                owl_connection_set_presence_info (OwlConnection *self,
                                                      JsonNode      *info);

G_END_DECLS
