/* owl-gate.h: authorization of authenticated upgrade requests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <gio/gio.h>

#include "owl-version-macros.h"
#include "owl-attempt.h"
#include "owl-auth.h"
#include "owl-request.h"

G_BEGIN_DECLS

#define OWL_TYPE_GATE (owl_gate_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (OwlGate, owl_gate, OWL, GATE, GObject)

/**
 * OwlGateClass:
 * @parent_class: the parent class
 * @authorize: decides the attempt, whose [method@Owlsock.Attempt.get_auth]
 *   is the identity the module's guard accepted: accept it or reject it,
 *   now or later
 *
 * The class of gates; subclass it to authorize in your own way.
 *
 * Since: 0.1
 */
struct _OwlGateClass
{
  GObjectClass parent_class;

  void (*authorize) (OwlGate    *self,
                     OwlAttempt *attempt);

  /*< private >*/
  gpointer _reserved[8];
};

OWL_AVAILABLE_IN_ALL
void      owl_gate_authorize_async  (OwlGate              *self,
                                     OwlRequest           *request,
                                     OwlAuth              *auth,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
OWL_AVAILABLE_IN_ALL
gboolean  owl_gate_authorize_finish (OwlGate              *self,
                                     GAsyncResult         *result,
                                     GError              **error);

#define OWL_TYPE_SCOPE_GATE (owl_scope_gate_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlScopeGate, owl_scope_gate, OWL, SCOPE_GATE, OwlGate)

OWL_AVAILABLE_IN_ALL
OwlGate  *owl_scope_gate_new        (const char * const   *scopes);

#define OWL_TYPE_PARAM_GATE (owl_param_gate_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlParamGate, owl_param_gate, OWL, PARAM_GATE, OwlGate)

OWL_AVAILABLE_IN_ALL
OwlGate  *owl_param_gate_new        (const char           *param,
                                     const char           *claim);

G_END_DECLS
