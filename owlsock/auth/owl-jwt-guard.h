/* owl-jwt-guard.h: the built-in JWT guard
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include "owl-version-macros.h"
#include "owl-guard.h"

G_BEGIN_DECLS

#define OWL_TYPE_JWT_GUARD (owl_jwt_guard_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlJwtGuard, owl_jwt_guard, OWL, JWT_GUARD, OwlGuard)

OWL_AVAILABLE_IN_ALL
OwlGuard   *owl_jwt_guard_new                  (void);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_add_secret           (OwlJwtGuard   *self,
                                                const char    *kid,
                                                const guint8  *secret,
                                                gsize          len,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_add_secret_without_kid (OwlJwtGuard  *self,
                                                const guint8  *secret,
                                                gsize          len,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_add_secret_with_kid  (OwlJwtGuard   *self,
                                                const char    *kid,
                                                const guint8  *secret,
                                                gsize          len,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_load_secret_file     (OwlJwtGuard   *self,
                                                const char    *kid,
                                                const char    *path,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_add_public_key       (OwlJwtGuard   *self,
                                                const char    *kid,
                                                const char    *pem,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
gboolean    owl_jwt_guard_load_public_key_file (OwlJwtGuard   *self,
                                                const char    *kid,
                                                const char    *path,
                                                GError       **error);
OWL_AVAILABLE_IN_ALL
OwlAuth    *owl_jwt_guard_verify               (OwlJwtGuard   *self,
                                                const char    *token,
                                                GError       **error);

G_END_DECLS
