/* owl-attempt.h: one pending authentication or authorization decision
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <gio/gio.h>

#include "owl-version-macros.h"
#include "owl-auth.h"
#include "owl-error.h"
#include "owl-request.h"

G_BEGIN_DECLS

#define OWL_TYPE_ATTEMPT (owl_attempt_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlAttempt, owl_attempt, OWL, ATTEMPT, GObject)

OWL_AVAILABLE_IN_ALL
OwlRequest   *owl_attempt_get_request     (OwlAttempt   *self);
OWL_AVAILABLE_IN_ALL
OwlAuth      *owl_attempt_get_auth        (OwlAttempt   *self);
OWL_AVAILABLE_IN_ALL
GCancellable *owl_attempt_get_cancellable (OwlAttempt   *self);
OWL_AVAILABLE_IN_ALL
gboolean      owl_attempt_is_answered     (OwlAttempt   *self);
OWL_AVAILABLE_IN_ALL
void          owl_attempt_accept          (OwlAttempt   *self,
                                           OwlAuth      *auth);
OWL_AVAILABLE_IN_ALL
void          owl_attempt_reject          (OwlAttempt   *self,
                                           OwlError      code,
                                           const char   *message);
OWL_AVAILABLE_IN_ALL
void          owl_attempt_reject_error    (OwlAttempt   *self,
                                           const GError *error);

G_END_DECLS
