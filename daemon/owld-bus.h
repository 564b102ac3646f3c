/* owld-bus.h: owlsockd on the bus, org.owlmeans.Owlsock1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owld-daemon.h"
#include "owld-dbus-generated.h"

G_BEGIN_DECLS

#define OWLD_BUS_OBJECT_PATH "/org/owlmeans/Owlsock1"
#define OWLD_BUS_NAME        "org.owlmeans.Owlsock1"

#define OWLD_BUS_ERROR (owld_bus_error_quark ())
GQuark owld_bus_error_quark (void);

/* In the order of the names in owld-bus.c's table. */
typedef enum
{
  OWLD_BUS_ERROR_INVALID_JSON,
  OWLD_BUS_ERROR_UNKNOWN_CONNECTION,
  OWLD_BUS_ERROR_UNKNOWN_ROOM,
  OWLD_BUS_ERROR_UNKNOWN_MODULE,
  OWLD_BUS_ERROR_INVALID_CLOSE_CODE,
  OWLD_BUS_ERROR_TOO_LARGE,
  OWLD_BUS_ERROR_HANDLER_EXISTS,
  OWLD_BUS_ERROR_NOT_HANDLER,
  OWLD_BUS_ERROR_INVALID_CONFIG,
  OWLD_BUS_ERROR_UNAVAILABLE,
} OwldBusError;

typedef struct _OwldBus OwldBus;

OwldBus  *owld_bus_new      (OwldDaemon      *daemon,
                             GDBusConnection *connection,
                             GError         **error);
void      owld_bus_free     (OwldBus         *self);
/* Sets the properties again (after the daemon started listening). */
void      owld_bus_update   (OwldBus         *self);
GVariant *owld_bus_describe (OwlConnection   *connection);
GVariant *owld_bus_string_dict (GHashTable   *table);

/* owld-handlers.c: the handlers of bus modules, and bus guards */
typedef struct _OwldHandlers OwldHandlers;

OwldHandlers *owld_handlers_new        (OwldDaemon            *daemon,
                                        GDBusConnection       *connection);
void          owld_handlers_free       (OwldHandlers          *self);
gboolean      owld_handlers_register   (OwldHandlers          *self,
                                        const char            *module,
                                        const char            *sender,
                                        const char            *path,
                                        gboolean               batch,
                                        GError               **error);
gboolean      owld_handlers_unregister (OwldHandlers          *self,
                                        const char            *module,
                                        const char            *sender,
                                        GError               **error);

gboolean      owld_handlers_lookup     (OwldHandlers          *self,
                                        const char            *module,
                                        GDBusConnection      **connection,
                                        const char           **owner,
                                        const char           **path);

OwlSocketService *owld_handlers_get_service (OwldHandlers *self);

/* owld-bus-guard.c: a guard that asks the handler of @module */
OwlGuard     *owld_bus_guard_new       (OwldHandlers          *handlers,
                                        const char            *module);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwldBus, owld_bus_free)

G_END_DECLS
