/* owl-schema-private.h: what the connection needs to build an error frame
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-schema.h"

G_BEGIN_DECLS

/* The most a schema nests (subschemas inside subschemas, and JSON inside a
 * `const` or `enum` value), and the longest chain of `$ref`, `allOf`, `anyOf`,
 * `oneOf`, `not`, `if`/`then`/`else` and `dependentSchemas` that stays on one
 * instance location. */
#define OWL_SCHEMA_MAX_DEPTH 64

/* The work validating one message may do, in steps: one per subschema
 * applied to a value, one per 16 bytes a length or format check reads or
 * uniqueItems compares, and a pattern's own steps (code points times the
 * states it visits). Linear in the message, so no schema can make one message cost much more than
 * reading it; a message that needs more is refused (keyword "budget"). */
#define OWL_SCHEMA_BUDGET_BASE     100000
#define OWL_SCHEMA_BUDGET_PER_BYTE 16

gint64   owl_schema_budget_for_size (gsize size);

/* FALSE when @instance fails @self or needs more than @budget steps. Then
 * *pointer is the JSON pointer (RFC 6901; "" for the root) of the failing
 * instance location, member names cut to 256 bytes in all, *keyword the
 * failing keyword (a static string; "budget" when the work ran out) and
 * *message a short text that quotes nothing of the instance. On success
 * each is set to NULL. Any of them may be NULL; with all three NULL nothing
 * at all is allocated. */
gboolean owl_schema_check (OwlSchema   *self,
                           JsonNode    *instance,
                           gint64       budget,
                           char       **pointer,
                           const char **keyword,
                           char       **message);

G_END_DECLS
