/* owl-schema-private.h: what the connection needs to build an error frame
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-schema.h"

G_BEGIN_DECLS

/* The most a schema nests (subschemas inside subschemas, and JSON inside a
 * `const` or `enum` value), and the longest chain of `$ref`, `allOf`, `anyOf`
 * and `oneOf` that stays on one instance location. */
#define OWL_SCHEMA_MAX_DEPTH 64

/* FALSE when @instance fails @self. Then *pointer is the JSON pointer
 * (RFC 6901; "" for the root) of the failing instance location, *keyword the
 * failing keyword (a static string) and *message a short text that quotes
 * nothing of the instance. On success each is set to NULL. Any of them may be
 * NULL; with all three NULL nothing at all is allocated. */
gboolean owl_schema_check (OwlSchema   *self,
                           JsonNode    *instance,
                           char       **pointer,
                           const char **keyword,
                           char       **message);

G_END_DECLS
