/* owl-json-private.h: a strict, bounded JSON reader for incoming messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-error.h"

G_BEGIN_DECLS

/* Parses RFC 8259 JSON text into a JsonNode tree. Nesting deeper than
 * @max_depth fails with OWL_ERROR_TOO_DEEP before anything deeper is read
 * (json-glib 1.6 recurses without a limit); any other defect fails with
 * OWL_ERROR_MALFORMED. @data need not be NUL-terminated. */
JsonNode *owl_json_parse (const char *data,
                          gsize       len,
                          guint       max_depth,
                          OwlError   *error_code);

/* A new node holding a new, empty array (json_node_init_array() would take
 * a second reference to the array). */
JsonNode *owl_json_node_new_empty_array (void);

G_END_DECLS
