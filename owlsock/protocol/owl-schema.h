/* owl-schema.h: JSON Schema validation of incoming messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "owl-version-macros.h"

G_BEGIN_DECLS

#define OWL_TYPE_SCHEMA (owl_schema_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlSchema, owl_schema, OWL, SCHEMA, GObject)

OWL_AVAILABLE_IN_ALL
OwlSchema *owl_schema_new_from_string (const char  *json,
                                       GError     **error);
OWL_AVAILABLE_IN_ALL
OwlSchema *owl_schema_new_from_node   (JsonNode    *node,
                                       GError     **error);
OWL_AVAILABLE_IN_ALL
gboolean   owl_schema_validate        (OwlSchema   *self,
                                       JsonNode    *instance,
                                       GError     **error);

G_END_DECLS
