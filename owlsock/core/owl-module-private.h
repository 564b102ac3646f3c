/* owl-module-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-module.h"
#include "owl-schema.h"
#include "owl-broker-private.h"
#include "owl-limits-private.h"
#include "owl-message-schemas-private.h"
#include "owl-route-private.h"

G_BEGIN_DECLS

typedef struct _OwlSocketService OwlSocketService;

OwlRoute         *owl_module_get_route       (OwlModule        *self);
const GError     *owl_module_get_route_error (OwlModule        *self);
OwlSocketService *owl_module_get_service     (OwlModule        *self);
const OwlLimits  *owl_module_get_limits      (OwlModule        *self);
gboolean          owl_module_get_deflate     (OwlModule        *self);
GStrv             owl_module_get_allowed_origins (OwlModule    *self);
const char * const *owl_module_get_guards    (OwlModule        *self);
const char * const *owl_module_get_gates     (OwlModule        *self);
const char * const *owl_module_get_protocols (OwlModule        *self);
/* What an application message is checked against; NULL: nothing. */
OwlMessageSchemas *owl_module_get_message_schemas (OwlModule    *self);
OwlSchema        *owl_module_get_query_schema   (OwlModule     *self);
OwlSchema        *owl_module_get_params_schema  (OwlModule     *self);
/* What the rooms its connections join keep (presence, history). */
const OwlRoomOptions *owl_module_get_room_options (OwlModule   *self);
void              owl_module_set_service     (OwlModule        *self,
                                              OwlSocketService *service);
void              owl_module_emit_connection (OwlModule        *self,
                                              OwlConnection    *connection);

G_END_DECLS
