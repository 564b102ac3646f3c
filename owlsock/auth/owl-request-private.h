/* owl-request-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-request.h"
#include "owl-uri-private.h"

G_BEGIN_DECLS

OwlRequest *owl_request_new (SoupServerMessage *msg,
                             GHashTable        *params);
OwlRequest *owl_request_new_bare       (const char *path,
                                        const char *header,
                                        const char *value,
                                        const char *remote_host);
OwlRequest *owl_request_new_with_token (OwlRequest *base,
                                        const char *token);
void        owl_request_set_auth       (OwlRequest *self,
                                        OwlAuth    *auth);
gboolean    owl_request_check_text     (OwlRequest  *self,
                                        GError     **error);
GError     *owl_request_new_param_error (const char *param);

const char *owl_request_choose_protocol (OwlRequest         *self,
                                         const char * const *ours);

G_END_DECLS
