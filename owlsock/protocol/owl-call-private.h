/* owl-call-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-call.h"

G_BEGIN_DECLS

OwlCall *owl_call_new (OwlConnection *connection,
                       JsonNode      *id,
                       const char    *method,
                       JsonNode      *params,
                       gboolean       is_request);

G_END_DECLS
