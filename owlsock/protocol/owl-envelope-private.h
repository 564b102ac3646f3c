/* owl-envelope-private.h: the JSON envelope of @owlmeans/socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-error.h"

G_BEGIN_DECLS


typedef enum
{
  OWL_ENVELOPE_APP,       /* no type, or one the protocol does not own */
  OWL_ENVELOPE_PING,
  OWL_ENVELOPE_PONG,
  OWL_ENVELOPE_CALL,
  OWL_ENVELOPE_RESULT,
  OWL_ENVELOPE_ERROR,
  OWL_ENVELOPE_REQUEST,
  OWL_ENVELOPE_RESPONSE,
  OWL_ENVELOPE_EVENT,
  OWL_ENVELOPE_AUTH,
} OwlEnvelopeType;

OwlEnvelopeType  owl_envelope_classify     (JsonObject  *object);
const char      *owl_json_object_get_string (JsonObject *object,
                                             const char *name);
char            *owl_json_to_data          (JsonNode    *node,
                                            gsize       *len);
char            *owl_envelope_error_frame  (JsonNode    *id,
                                            OwlError     code,
                                            const char  *message,
                                            gsize       *len);
char            *owl_envelope_error_frame_with_details (JsonNode   *id,
                                                        OwlError    code,
                                                        const char *message,
                                                        JsonNode   *details,
                                                        gsize      *len);
char            *owl_envelope_error_frame_from_gerror (JsonNode     *id,
                                                       const GError *error,
                                                       gsize        *len);
GError          *owl_envelope_parse_error  (JsonObject  *object);
char            *owl_envelope_frame        (const char  *type,
                                            JsonNode    *id,
                                            const char  *name_field,
                                            const char  *name,
                                            JsonNode    *payload,
                                            guint        timeout_ms,
                                            gsize       *len);
const char      *owl_json_object_get_id    (JsonObject  *object,
                                            char         buf[32],
                                            JsonNode   **id_node);

G_END_DECLS
