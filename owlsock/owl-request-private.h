/* owl-request-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-request.h"

G_BEGIN_DECLS

OwlRequest *owl_request_new (SoupServerMessage *msg,
                             GHashTable        *params);

G_END_DECLS
