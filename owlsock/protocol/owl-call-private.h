/* owl-call-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-call.h"

G_BEGIN_DECLS

typedef struct _OwlChannel OwlChannel;

/* A `call` (@method) or `request` (@method NULL) that came on @channel,
 * whose owner (@owner, a GObject) is what owl_call_get_connection() gives. */
OwlCall *owl_call_new (OwlChannel *channel,
                       gpointer    owner,
                       JsonNode   *id,
                       const char *method,
                       JsonNode   *params,
                       gboolean    is_request);

G_END_DECLS
