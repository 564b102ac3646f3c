/* owl-guard.h: authentication of upgrade requests
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

#define OWL_TYPE_GUARD (owl_guard_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (OwlGuard, owl_guard, OWL, GUARD, GObject)

/**
 * OwlGuardClass:
 * @parent_class: the parent class
 * @match: whether this guard applies to a request (it carries the kind of
 *   credentials the guard reads); the default says yes
 * @authenticate: decides the attempt: accept it with an [class@Owlsock.Auth]
 *   or reject it, now or later
 *
 * The class of guards; subclass it to authenticate in your own way.
 *
 * Since: 0.1
 */
struct _OwlGuardClass
{
  GObjectClass parent_class;

  gboolean (*match)        (OwlGuard   *self,
                            OwlRequest *request);
  void     (*authenticate) (OwlGuard   *self,
                            OwlAttempt *attempt);

  /*< private >*/
  gpointer _reserved[8];
};

OWL_AVAILABLE_IN_ALL
gboolean  owl_guard_match               (OwlGuard             *self,
                                         OwlRequest           *request);
OWL_AVAILABLE_IN_ALL
void      owl_guard_authenticate_async  (OwlGuard             *self,
                                         OwlRequest           *request,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
OWL_AVAILABLE_IN_ALL
OwlAuth  *owl_guard_authenticate_finish (OwlGuard             *self,
                                         GAsyncResult         *result,
                                         GError              **error);

G_END_DECLS
