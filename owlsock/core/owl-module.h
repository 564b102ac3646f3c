/* owl-module.h: one endpoint, a route alias and a path pattern
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <glib-object.h>

#include "owl-version-macros.h"
#include "owl-connection.h"
#include "owl-schema.h"

G_BEGIN_DECLS

#define OWL_TYPE_MODULE (owl_module_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlModule, owl_module, OWL, MODULE, GObject)

/**
 * OwlConnectionHandler:
 * @module: the module that accepted the connection
 * @connection: the new connection
 * @user_data: the data given to [method@Owlsock.Module.set_handler]
 *
 * A C handler for accepted connections, the counterpart of
 * `handleConnection` in the TypeScript package
 * <code>&#64;owlmeans/server-socket</code>. It runs before the handlers of
 * [signal@Owlsock.Module::connection].
 *
 * Since: 0.1
 */
/**
 * OwlBackpressure:
 * @OWL_BACKPRESSURE_INHERIT: the service's policy (for modules)
 * @OWL_BACKPRESSURE_CLOSE: close the connection with 1013
 * @OWL_BACKPRESSURE_DROP: drop the message and count it in
 *   [property@Owlsock.Connection:dropped-messages]
 *
 * What happens to a message for a connection whose queued outgoing bytes
 * would pass [property@Owlsock.SocketService:max-buffered-amount]: the peer
 * does not read fast enough.
 *
 * Since: 0.1
 */
typedef enum
{
  OWL_BACKPRESSURE_INHERIT,
  OWL_BACKPRESSURE_CLOSE,
  OWL_BACKPRESSURE_DROP,
} OwlBackpressure;

typedef void (*OwlConnectionHandler) (OwlModule     *module,
                                      OwlConnection *connection,
                                      gpointer       user_data);

OWL_AVAILABLE_IN_ALL
OwlModule  *owl_module_new          (const char           *alias,
                                     const char           *path);
OWL_AVAILABLE_IN_ALL
const char *owl_module_get_alias    (OwlModule            *self);
OWL_AVAILABLE_IN_ALL
const char *owl_module_get_path     (OwlModule            *self);
OWL_AVAILABLE_IN_ALL
void        owl_module_set_handler  (OwlModule            *self,
                                     OwlConnectionHandler  handler,
                                     gpointer              user_data,
                                     GDestroyNotify        destroy);
OWL_AVAILABLE_IN_ALL
void        owl_module_set_type_schema  (OwlModule        *self,
                                         const char       *type,
                                         OwlSchema        *schema);
OWL_AVAILABLE_IN_ALL
OwlSchema  *owl_module_get_type_schema  (OwlModule        *self,
                                         const char       *type);
OWL_AVAILABLE_IN_ALL
void        owl_module_set_type_schemas (OwlModule        *self,
                                         GHashTable       *schemas);

G_END_DECLS
