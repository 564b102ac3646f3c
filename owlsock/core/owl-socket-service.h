/* owl-socket-service.h: the WebSocket service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "owl-version-macros.h"
#include "owl-connection.h"
#include "owl-module.h"
#include "owl-guard.h"
#include "owl-gate.h"

G_BEGIN_DECLS

#define OWL_TYPE_SOCKET_SERVICE (owl_socket_service_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlSocketService, owl_socket_service, OWL, SOCKET_SERVICE, GObject)

/**
 * OWL_SOCKET_SERVICE_DEFAULT_ALIAS:
 *
 * The alias of a service created without one, as `DEFAULT_ALIAS` in
 * <code>&#64;owlmeans/server-socket</code>.
 *
 * Since: 0.1
 */
#define OWL_SOCKET_SERVICE_DEFAULT_ALIAS "socket-server"

OWL_AVAILABLE_IN_ALL
OwlSocketService *owl_socket_service_new             (const char        *alias);
OWL_AVAILABLE_IN_ALL
const char       *owl_socket_service_get_alias       (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_listen          (OwlSocketService  *self,
                                                      const char        *host,
                                                      guint16            port,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_listen_socket   (OwlSocketService  *self,
                                                      GSocket           *socket,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
guint16           owl_socket_service_get_port        (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_attach          (OwlSocketService  *self,
                                                      SoupServer        *server,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
SoupServer       *owl_socket_service_get_server      (OwlSocketService  *self);

OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_add_module      (OwlSocketService  *self,
                                                      OwlModule         *module,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_remove_module   (OwlSocketService  *self,
                                                      OwlModule         *module);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_add_guard       (OwlSocketService  *self,
                                                      const char        *alias,
                                                      OwlGuard          *guard,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_add_gate        (OwlSocketService  *self,
                                                      const char        *alias,
                                                      OwlGate           *gate,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_remove_guard    (OwlSocketService  *self,
                                                      const char        *alias);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_remove_gate     (OwlSocketService  *self,
                                                      const char        *alias);
OWL_AVAILABLE_IN_ALL
OwlGuard         *owl_socket_service_lookup_guard    (OwlSocketService  *self,
                                                      const char        *alias);
OWL_AVAILABLE_IN_ALL
OwlGate          *owl_socket_service_lookup_gate     (OwlSocketService  *self,
                                                      const char        *alias);
OWL_AVAILABLE_IN_ALL
OwlModule        *owl_socket_service_lookup_module   (OwlSocketService  *self,
                                                      const char        *alias);

OWL_AVAILABLE_IN_ALL
guint             owl_socket_service_get_n_connections (OwlSocketService *self);
OWL_AVAILABLE_IN_ALL
OwlConnection    *owl_socket_service_lookup_connection (OwlSocketService *self,
                                                        const char       *id);
OWL_AVAILABLE_IN_ALL
GList            *owl_socket_service_list_connections  (OwlSocketService *self);

OWL_AVAILABLE_IN_ALL
void              owl_socket_service_broadcast       (OwlSocketService  *self,
                                                      const char        *room,
                                                      JsonNode          *message,
                                                      OwlConnection     *except);
OWL_AVAILABLE_IN_ALL
void              owl_socket_service_broadcast_text  (OwlSocketService  *self,
                                                      const char        *room,
                                                      const char        *text,
                                                      OwlConnection     *except);
OWL_AVAILABLE_IN_ALL
GList            *owl_socket_service_list_room_members (OwlSocketService *self,
                                                        const char       *room);
OWL_AVAILABLE_IN_ALL
char            **owl_socket_service_dup_rooms        (OwlSocketService *self);
OWL_AVAILABLE_IN_ALL
void              owl_socket_service_presence_async   (OwlSocketService    *self,
                                                       const char          *room,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
OWL_AVAILABLE_IN_ALL
JsonNode         *owl_socket_service_presence_finish  (OwlSocketService    *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

OWL_AVAILABLE_IN_ALL
void              owl_socket_service_stop            (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
void              owl_socket_service_stop_async      (OwlSocketService    *self,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_stop_finish     (OwlSocketService  *self,
                                                      GAsyncResult      *result,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_is_stopping     (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_run             (OwlSocketService  *self,
                                                      GCancellable      *cancellable,
                                                      GError           **error);

OWL_AVAILABLE_IN_ALL
void              owl_socket_service_set_tls_certificate (OwlSocketService *self,
                                                          GTlsCertificate  *certificate);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_load_tls_files  (OwlSocketService  *self,
                                                      const char        *cert_file,
                                                      const char        *key_file,
                                                      GError           **error);

OWL_AVAILABLE_IN_ALL
GVariant         *owl_socket_service_dup_stats       (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
char             *owl_socket_service_dup_metrics     (OwlSocketService  *self);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_listen_metrics  (OwlSocketService  *self,
                                                      const char        *host,
                                                      guint16            port,
                                                      GError           **error);
OWL_AVAILABLE_IN_ALL
guint16           owl_socket_service_get_metrics_port (OwlSocketService *self);
OWL_AVAILABLE_IN_ALL
gboolean          owl_socket_service_serve_static    (OwlSocketService  *self,
                                                      const char        *prefix,
                                                      const char        *directory,
                                                      GError           **error);

G_END_DECLS
