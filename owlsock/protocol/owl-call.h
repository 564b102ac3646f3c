/* owl-call.h: one incoming `call` or `request` waiting for its answer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "owl-version-macros.h"
#include "owl-error.h"

G_BEGIN_DECLS

#define OWL_TYPE_CALL (owl_call_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlCall, owl_call, OWL, CALL, GObject)

typedef struct _OwlConnection OwlConnection;

OWL_AVAILABLE_IN_ALL
const char    *owl_call_get_id             (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
const char    *owl_call_get_method         (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
JsonNode      *owl_call_get_params         (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
OwlConnection *owl_call_get_connection     (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
GObject       *owl_call_get_owner          (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
gboolean       owl_call_is_request         (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
gboolean       owl_call_is_answered        (OwlCall    *self);
OWL_AVAILABLE_IN_ALL
void           owl_call_return_value       (OwlCall    *self,
                                            JsonNode   *result);
OWL_AVAILABLE_IN_ALL
void           owl_call_return_error       (OwlCall      *self,
                                            const GError *error);
OWL_AVAILABLE_IN_ALL
void           owl_call_return_error_literal (OwlCall    *self,
                                              OwlError    code,
                                              const char *message);

G_END_DECLS
