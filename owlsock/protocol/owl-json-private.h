/* owl-json-private.h: a strict, bounded JSON reader for incoming messages,
 * and the writer and small helpers every JSON user shares
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

/* Serialises @node with a per-thread generator. Invalid UTF-8 an
 * application left in a string becomes U+FFFD: the text is always valid. */
char     *owl_json_to_data (JsonNode *node,
                            gsize    *len);

/* The member's string, or NULL when it is missing or not a string. */
const char *owl_json_object_get_string (JsonObject *object,
                                        const char *name);

/* The `id` member as a string (an integer is written into @buf), or NULL
 * when there is none or it is neither; *@id_node (if not NULL) gets the
 * member itself, so an answer carries the id as the peer wrote it. */
const char *owl_json_object_get_id (JsonObject  *object,
                                    char         buf[32],
                                    JsonNode   **id_node);

/* A new node holding a new, empty array (json_node_init_array() would take
 * a second reference to the array). */
JsonNode *owl_json_node_new_empty_array (void);

G_END_DECLS
