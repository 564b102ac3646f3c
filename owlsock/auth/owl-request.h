/* owl-request.h: the upgrade request as handlers see it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "owl-version-macros.h"
#include "owl-auth.h"

G_BEGIN_DECLS

#define OWL_TYPE_REQUEST (owl_request_get_type ())

OWL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (OwlRequest, owl_request, OWL, REQUEST, GObject)

OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_path           (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_param          (OwlRequest *self,
                                                    const char *name);
OWL_AVAILABLE_IN_ALL
GHashTable         *owl_request_get_params         (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_query_param    (OwlRequest *self,
                                                    const char *name);
OWL_AVAILABLE_IN_ALL
GHashTable         *owl_request_get_query          (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_header         (OwlRequest *self,
                                                    const char *name);
OWL_AVAILABLE_IN_ALL
SoupMessageHeaders *owl_request_get_headers        (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_origin         (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
GSocketAddress     *owl_request_get_remote_address (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_remote_host    (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
OwlAuth            *owl_request_get_auth           (OwlRequest *self);
OWL_AVAILABLE_IN_ALL
const char         *owl_request_get_token          (OwlRequest *self);

G_END_DECLS
