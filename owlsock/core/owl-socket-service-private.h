/* owl-socket-service-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-socket-service.h"

G_BEGIN_DECLS

GMainContext *owl_socket_service_get_context         (OwlSocketService *self);
void          owl_socket_service_connection_closed   (OwlSocketService *self,
                                                      OwlConnection    *connection);
void          owl_socket_service_check_stopped       (OwlSocketService *self);
/* Statistics: one message of @len bytes in (@incoming) or out. */
void          owl_socket_service_count               (OwlSocketService *self,
                                                      gboolean          incoming,
                                                      gsize             len);
void          owl_socket_service_room_add            (OwlSocketService *self,
                                                      const char       *room,
                                                      OwlConnection    *connection);
void          owl_socket_service_room_remove         (OwlSocketService *self,
                                                      const char       *room,
                                                      OwlConnection    *connection);

OwlGuard     *owl_socket_service_match_guard         (OwlSocketService *self,
                                                      OwlModule        *module,
                                                      OwlRequest       *request);
gint64        owl_socket_service_get_auth_expiry_notice (OwlSocketService *self);

/* Structured logging with the connection id as a field; formats nothing when
 * the default writer would drop the line. */
#define OWL_CONN_LOG(level, conn_id, ...)                                  \
  G_STMT_START {                                                           \
    if ((level) != G_LOG_LEVEL_DEBUG ||                                    \
        !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) \
      g_log_structured (G_LOG_DOMAIN, (level),                             \
                        "OWL_CONNECTION_ID", (conn_id),              \
                        "MESSAGE", __VA_ARGS__);                           \
  } G_STMT_END

G_END_DECLS
