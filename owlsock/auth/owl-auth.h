/* owl-auth.h: an authenticated identity
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

#define OWL_TYPE_AUTH (owl_auth_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlAuth, owl_auth, OWL, AUTH, GObject)

OWL_AVAILABLE_IN_ALL
OwlAuth            *owl_auth_new            (const char         *user_id);
OWL_AVAILABLE_IN_ALL
const char         *owl_auth_get_user_id    (OwlAuth            *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_auth_get_entity_id  (OwlAuth            *self);
OWL_AVAILABLE_IN_ALL
const char * const *owl_auth_get_scopes     (OwlAuth            *self);
OWL_AVAILABLE_IN_ALL
gboolean            owl_auth_has_scope      (OwlAuth            *self,
                                             const char         *scope);
OWL_AVAILABLE_IN_ALL
gint64              owl_auth_get_expires_at (OwlAuth            *self);
OWL_AVAILABLE_IN_ALL
JsonObject         *owl_auth_get_claims     (OwlAuth            *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_auth_get_claim_string (OwlAuth          *self,
                                               const char       *name);
OWL_AVAILABLE_IN_ALL
JsonNode           *owl_auth_get_claim      (OwlAuth            *self,
                                             const char         *name);
OWL_AVAILABLE_IN_ALL
char               *owl_auth_dup_claims_json (OwlAuth           *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_auth_get_token_id   (OwlAuth            *self);

G_END_DECLS
