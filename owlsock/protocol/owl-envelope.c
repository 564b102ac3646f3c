/* owl-envelope.c: frames of the envelope protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-envelope-private.h"

/* The member's string, or NULL when it is missing or not a string: the
 * client chose its type, and json-glib's getters complain loudly (fatally,
 * under G_DEBUG=fatal-criticals) about the wrong one. */
const char *
owl_json_object_get_string (JsonObject *object,
                            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

OwlEnvelopeType
owl_envelope_classify (JsonObject *object)
{
  const char *type = owl_json_object_get_string (object, "type");

  if (type == NULL)
    return OWL_ENVELOPE_APP;

  switch (type[0])
    {
    case 'a':
      if (g_str_equal (type, "auth"))
        return OWL_ENVELOPE_AUTH;
      break;
    case 'c':
      if (g_str_equal (type, "call"))
        return OWL_ENVELOPE_CALL;
      break;
    case 'e':
      if (g_str_equal (type, "event"))
        return OWL_ENVELOPE_EVENT;
      if (g_str_equal (type, "error"))
        return OWL_ENVELOPE_ERROR;
      break;
    case 'p':
      if (g_str_equal (type, "ping"))
        return OWL_ENVELOPE_PING;
      if (g_str_equal (type, "pong"))
        return OWL_ENVELOPE_PONG;
      break;
    case 'r':
      if (g_str_equal (type, "result"))
        return OWL_ENVELOPE_RESULT;
      if (g_str_equal (type, "request"))
        return OWL_ENVELOPE_REQUEST;
      if (g_str_equal (type, "response"))
        return OWL_ENVELOPE_RESPONSE;
      break;
    default:
      break;
    }

  return OWL_ENVELOPE_APP;
}

/* A JsonGenerator is a GObject; making one per message showed in profiles,
 * so each thread keeps one. */
static GPrivate generator_key = G_PRIVATE_INIT (g_object_unref);

char *
owl_json_to_data (JsonNode *node,
                  gsize    *len)
{
  JsonGenerator *gen = g_private_get (&generator_key);
  char *data;

  if (gen == NULL)
    {
      gen = json_generator_new ();
      g_private_set (&generator_key, gen);
    }

  json_generator_set_root (gen, node);
  data = json_generator_to_data (gen, len);
  json_generator_set_root (gen, NULL);

  /* json-glib writes a string's bytes as they are: text an application
   * put in a node without checking (a header, a file name) would make an
   * invalid text frame, which every client must close with 1007. Each
   * invalid sequence becomes U+FFFD, as a browser's decoder would show it. */
  if (G_UNLIKELY (!g_utf8_validate_len (data, *len, NULL)))
    {
      char *valid = g_utf8_make_valid (data, *len);

      g_free (data);
      data = valid;
      *len = strlen (valid);
    }
  return data;
}

/* Ids are strings in @owlmeans/socket, but a client may send an integer:
 * the string form is used to correlate, and @id_node (if not NULL) receives
 * the member itself, so the answer carries the id as the client wrote it. */
const char *
owl_json_object_get_id (JsonObject  *object,
                        char         buf[32],
                        JsonNode   **id_node)
{
  JsonNode *node = json_object_get_member (object, "id");

  if (id_node != NULL)
    *id_node = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  if (id_node != NULL)
    *id_node = node;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return json_node_get_string (node);
    case G_TYPE_INT64:
      g_snprintf (buf, 32, "%" G_GINT64_FORMAT, json_node_get_int (node));
      return buf;
    default:
      return NULL;
    }
}

/* "unknown-method" -> "UnknownMethodError", the <Type> of the marshalled
 * @owlmeans/error form. */
static char *
error_type_name (OwlError code)
{
  const char *s = owl_error_code_to_string (code);
  GString *name = g_string_new (NULL);
  gboolean upper = TRUE;

  for (; *s; s++)
    {
      if (*s == '-')
        upper = TRUE;
      else
        {
          g_string_append_c (name, upper ? g_ascii_toupper (*s) : *s);
          upper = FALSE;
        }
    }
  g_string_append (name, "Error");

  return g_string_free (name, FALSE);
}

char *
owl_envelope_error_frame (JsonNode   *id,
                          OwlError    code,
                          const char *message,
                          gsize      *len)
{
  return owl_envelope_error_frame_with_details (id, code, message, NULL, len);
}

/* @details: (transfer none) (nullable): structure for clients that want it,
 * such as the JSON pointer and keyword of a `validation` error. */
char *
owl_envelope_error_frame_with_details (JsonNode   *id,
                                       OwlError    code,
                                       const char *message,
                                       JsonNode   *details,
                                       gsize      *len)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *type_name = error_type_name (code);
  g_autofree char *payload = g_strdup_printf ("%s|||%s", type_name, message ? message : "");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "error");
  if (id != NULL)
    {
      json_builder_set_member_name (builder, "id");
      json_builder_add_value (builder, json_node_copy (id));
    }
  json_builder_set_member_name (builder, "payload");
  json_builder_add_string_value (builder, payload);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, owl_error_code_to_string (code));
  json_builder_set_member_name (builder, "recoverable");
  json_builder_add_boolean_value (builder, owl_error_code_is_recoverable (code));
  if (details != NULL)
    {
      json_builder_set_member_name (builder, "details");
      json_builder_add_value (builder, json_node_copy (details));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return owl_json_to_data (root, len);
}

/* Only OWL_ERROR messages are the application's words for the client; any
 * other domain is internal text and is replaced. */
char *
owl_envelope_error_frame_from_gerror (JsonNode     *id,
                                      const GError *error,
                                      gsize        *len)
{
  if (error != NULL && error->domain == OWL_ERROR && error->code != OWL_ERROR_INTERNAL)
    return owl_envelope_error_frame (id, error->code, error->message, len);

  return owl_envelope_error_frame (id, OWL_ERROR_INTERNAL, "Internal error", len);
}

/* The GError a peer's `error` frame stands for. */
GError *
owl_envelope_parse_error (JsonObject *object)
{
  const char *code_str = owl_json_object_get_string (object, "code");
  const char *payload = owl_json_object_get_string (object, "payload");
  const char *message = payload;
  OwlError code = OWL_ERROR_FAILED;

  if (payload != NULL)
    {
      const char *sep = strstr (payload, "|||");

      if (sep != NULL)
        message = sep + 3;
    }

  if (code_str == NULL || !owl_error_code_from_string (code_str, &code))
    code = OWL_ERROR_FAILED;

  return g_error_new_literal (OWL_ERROR, code, message ? message : "Remote error");
}

/* {type, id?, <name_field>: name?, payload?, timeout?} */
char *
owl_envelope_frame (const char *type,
                    JsonNode   *id,
                    const char *name_field,
                    const char *name,
                    JsonNode   *payload,
                    guint       timeout_ms,
                    gsize      *len)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (object, "type", type);
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  if (name_field != NULL && name != NULL)
    json_object_set_string_member (object, name_field, name);
  if (payload != NULL)
    json_object_set_member (object, "payload", json_node_copy (payload));
  if (timeout_ms > 0)
    json_object_set_int_member (object, "timeout", timeout_ms);

  json_node_set_object (root, object);
  return owl_json_to_data (root, len);
}
