/* owl-socket-client.h: the client side of owlsock's protocol
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
#include "owl-error.h"

G_BEGIN_DECLS

/**
 * OwlSocketClientState:
 * @OWL_SOCKET_CLIENT_DISCONNECTED: not connected and not trying: the
 *   state of a new client
 * @OWL_SOCKET_CLIENT_CONNECTING: the first attempt after
 *   [method@Owlsock.SocketClient.open] is under way (the token, the
 *   TCP and TLS connection, the handshake)
 * @OWL_SOCKET_CLIENT_CONNECTED: the WebSocket is open
 * @OWL_SOCKET_CLIENT_RECONNECTING: the connection was lost, or an attempt
 *   failed, and the next attempt is waiting for its delay or under way
 * @OWL_SOCKET_CLIENT_CLOSED: over for good: the application closed the
 *   client, the server closed it with a final code, or the server refused
 *   the upgrade; [method@Owlsock.SocketClient.open] starts again
 *
 * The states of an [class@Owlsock.SocketClient], as centrifuge-js and
 * <code>&#64;owlmeans/client-socket</code> name them.
 *
 * Since: 0.1
 */
typedef enum
{
  OWL_SOCKET_CLIENT_DISCONNECTED,
  OWL_SOCKET_CLIENT_CONNECTING,
  OWL_SOCKET_CLIENT_CONNECTED,
  OWL_SOCKET_CLIENT_RECONNECTING,
  OWL_SOCKET_CLIENT_CLOSED,
} OwlSocketClientState;

#define OWL_TYPE_SOCKET_CLIENT_STATE (owl_socket_client_state_get_type ())
OWL_AVAILABLE_IN_ALL
GType owl_socket_client_state_get_type (void) G_GNUC_CONST;

#define OWL_TYPE_SOCKET_CLIENT (owl_socket_client_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlSocketClient, owl_socket_client, OWL, SOCKET_CLIENT, GObject)

/**
 * OwlSocketClientTokenFunc:
 * @client: the client that needs a token
 * @user_data: the data given to [method@Owlsock.SocketClient.set_token_func]
 *
 * Asked for a token before each connection attempt and when the server
 * says `auth-expiring`. It answers, now or later, with
 * [method@Owlsock.SocketClient.provide_token].
 *
 * Since: 0.1
 */
typedef void (*OwlSocketClientTokenFunc) (OwlSocketClient *client,
                                          gpointer         user_data);

OWL_AVAILABLE_IN_ALL
OwlSocketClient      *owl_socket_client_new              (const char               *uri);
OWL_AVAILABLE_IN_ALL
const char           *owl_socket_client_get_uri          (OwlSocketClient          *self);
OWL_AVAILABLE_IN_ALL
OwlSocketClientState  owl_socket_client_get_state        (OwlSocketClient          *self);
OWL_AVAILABLE_IN_ALL
const char           *owl_socket_client_get_protocol     (OwlSocketClient          *self);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_set_protocols    (OwlSocketClient          *self,
                                                          const char * const       *protocols);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_add_header       (OwlSocketClient          *self,
                                                          const char               *name,
                                                          const char               *value);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_set_token        (OwlSocketClient          *self,
                                                          const char               *token);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_set_token_func   (OwlSocketClient          *self,
                                                          OwlSocketClientTokenFunc  func,
                                                          gpointer                  user_data,
                                                          GDestroyNotify            destroy);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_provide_token    (OwlSocketClient          *self,
                                                          const char               *token);
OWL_AVAILABLE_IN_ALL
guint                 owl_socket_client_get_reconnect_delay (OwlSocketClient       *self);

OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_open          (OwlSocketClient          *self);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_close            (OwlSocketClient          *self,
                                                          guint16                   code,
                                                          const char               *reason);

OWL_AVAILABLE_IN_ALL
gboolean              owl_socket_client_send             (OwlSocketClient          *self,
                                                          JsonNode                 *message,
                                                          GError                  **error);
OWL_AVAILABLE_IN_ALL
gboolean              owl_socket_client_send_text        (OwlSocketClient          *self,
                                                          const char               *text,
                                                          GError                  **error);
OWL_AVAILABLE_IN_ALL
gboolean              owl_socket_client_send_event       (OwlSocketClient          *self,
                                                          const char               *event,
                                                          JsonNode                 *payload,
                                                          GError                  **error);

OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_call_async       (OwlSocketClient          *self,
                                                          const char               *method,
                                                          JsonNode                 *params,
                                                          guint                     timeout_ms,
                                                          GCancellable             *cancellable,
                                                          GAsyncReadyCallback       callback,
                                                          gpointer                  user_data);
OWL_AVAILABLE_IN_ALL
JsonNode             *owl_socket_client_call_finish      (OwlSocketClient          *self,
                                                          GAsyncResult             *result,
                                                          GError                  **error);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_request_async    (OwlSocketClient          *self,
                                                          JsonNode                 *payload,
                                                          guint                     timeout_ms,
                                                          GCancellable             *cancellable,
                                                          GAsyncReadyCallback       callback,
                                                          gpointer                  user_data);
OWL_AVAILABLE_IN_ALL
JsonNode             *owl_socket_client_request_finish   (OwlSocketClient          *self,
                                                          GAsyncResult             *result,
                                                          GError                  **error);

OWL_AVAILABLE_IN_ALL
JsonNode             *owl_socket_client_dup_positions    (OwlSocketClient          *self);
OWL_AVAILABLE_IN_ALL
void                  owl_socket_client_set_position     (OwlSocketClient          *self,
                                                          const char               *room,
                                                          const char               *epoch,
                                                          guint64                   offset);

G_END_DECLS
