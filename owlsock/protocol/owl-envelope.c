/* owl-envelope.c: frames of the envelope protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-envelope-private.h"
#include "owl-json-private.h"

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

OwlError
owl_envelope_client_error (const GError  *error,
                           const char   **message)
{
  if (error != NULL && error->domain == OWL_ERROR && error->code != OWL_ERROR_INTERNAL)
    {
      *message = error->message;
      return error->code;
    }
  *message = "Internal error";
  return OWL_ERROR_INTERNAL;
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

/* Building ------------------------------------------------------------------ */

/* {type, id?} to which a builder adds its members. */
static JsonObject *
frame_begin (const char *type,
             JsonNode   *id)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  return object;
}

static char *
frame_end (JsonObject *object,
           gsize      *len)
{
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), object);

  json_object_unref (object);
  return owl_json_to_data (root, len);
}

static JsonNode *
string_node (const char *id)
{
  return json_node_init_string (json_node_alloc (), id);
}

char *
owl_envelope_pong (JsonNode *id,
                   gsize    *len)
{
  return frame_end (frame_begin ("pong", id), len);
}

char *
owl_envelope_call (const char *id,
                   const char *method,
                   JsonNode   *args,
                   guint       timeout_ms,
                   gsize      *len)
{
  g_autoptr(JsonNode) id_node = string_node (id);
  JsonObject *object = frame_begin ("call", id_node);

  json_object_set_string_member (object, "method", method);
  json_object_set_member (object, "payload", args ? json_node_copy (args) : owl_json_node_new_empty_array ());
  if (timeout_ms > 0)
    json_object_set_int_member (object, "timeout", timeout_ms);
  return frame_end (object, len);
}

char *
owl_envelope_request (const char *id,
                      JsonNode   *payload,
                      gsize      *len)
{
  g_autoptr(JsonNode) id_node = string_node (id);
  JsonObject *object = frame_begin ("request", id_node);

  if (payload != NULL)
    json_object_set_member (object, "payload", json_node_copy (payload));
  return frame_end (object, len);
}

char *
owl_envelope_answer (JsonNode *id,
                     gboolean  is_response,
                     JsonNode *payload,
                     gsize    *len)
{
  JsonObject *object = frame_begin (is_response ? "response" : "result", id);

  json_object_set_member (object, "payload",
                          payload ? json_node_copy (payload) : json_node_new (JSON_NODE_NULL));
  return frame_end (object, len);
}

char *
owl_envelope_event (const char *event,
                    JsonNode   *payload,
                    gsize      *len)
{
  JsonObject *object = frame_begin ("event", NULL);

  json_object_set_string_member (object, "event", event);
  if (payload != NULL)
    json_object_set_member (object, "payload", json_node_copy (payload));
  return frame_end (object, len);
}

/* {type: "error", id?, payload: "<Type>|||<message>", code, recoverable,
 * details?}: @details is taken. */
static char *
error_frame (JsonNode   *id,
             OwlError    code,
             const char *message,
             JsonObject *details,
             gsize      *len)
{
  JsonObject *object = frame_begin ("error", id);
  g_autofree char *type_name = error_type_name (code);
  g_autofree char *payload = g_strdup_printf ("%s|||%s", type_name, message ? message : "");

  json_object_set_string_member (object, "payload", payload);
  json_object_set_string_member (object, "code", owl_error_code_to_string (code));
  json_object_set_boolean_member (object, "recoverable", owl_error_code_is_recoverable (code));
  if (details != NULL)
    json_object_set_object_member (object, "details", details);
  return frame_end (object, len);
}

char *
owl_envelope_error (JsonNode   *id,
                    OwlError    code,
                    const char *message,
                    gsize      *len)
{
  return error_frame (id, code, message, NULL, len);
}

char *
owl_envelope_error_for (JsonNode     *id,
                        const GError *error,
                        gsize        *len)
{
  const char *message;
  OwlError code = owl_envelope_client_error (error, &message);

  return error_frame (id, code, message, NULL, len);
}

char *
owl_envelope_validation_error (JsonNode   *id,
                               const char *type,
                               const char *pointer,
                               const char *keyword,
                               const char *what,
                               gsize      *len)
{
  JsonObject *details = json_object_new ();
  g_autofree char *text = g_strdup_printf ("%s: %s: %s", pointer[0] ? pointer : "(root)", keyword, what);

  if (type != NULL)
    json_object_set_string_member (details, "type", type);
  json_object_set_string_member (details, "pointer", pointer);
  json_object_set_string_member (details, "keyword", keyword);
  return error_frame (id, OWL_ERROR_VALIDATION, text, details, len);
}

char *
owl_envelope_authenticated (JsonNode                  *id,
                            const OwlEnvelopeIdentity *who,
                            gsize                     *len)
{
  JsonObject *object = frame_begin ("auth", id);
  JsonObject *payload = json_object_new ();
  JsonArray *scopes = json_array_new ();

  json_object_set_string_member (object, "stage", "authenticated");
  json_object_set_string_member (payload, "userId", who->user_id);
  if (who->entity_id != NULL)
    json_object_set_string_member (payload, "entityId", who->entity_id);
  for (guint i = 0; who->scopes != NULL && who->scopes[i] != NULL; i++)
    json_array_add_string_element (scopes, who->scopes[i]);
  json_object_set_array_member (payload, "scopes", scopes);
  if (who->expires_at != 0)
    json_object_set_int_member (payload, "expiresAt", who->expires_at);
  json_object_set_object_member (object, "payload", payload);
  return frame_end (object, len);
}

/* {type: "system", event, payload} */
static char *
system_frame (const char *event,
              JsonObject *payload,
              gsize      *len)
{
  JsonObject *object = frame_begin ("system", NULL);

  json_object_set_string_member (object, "event", event);
  json_object_set_object_member (object, "payload", payload);
  return frame_end (object, len);
}

char *
owl_envelope_auth_expiring (gint64  expires_at,
                            gint64  expires_in,
                            gsize  *len)
{
  JsonObject *payload = json_object_new ();

  json_object_set_int_member (payload, "expiresAt", expires_at);
  json_object_set_int_member (payload, "expiresIn", expires_in);
  return system_frame ("auth-expiring", payload, len);
}

char *
owl_envelope_shutdown (const char *reason,
                       gsize      *len)
{
  JsonObject *payload = json_object_new ();

  json_object_set_string_member (payload, "reason", reason);
  return system_frame ("shutdown", payload, len);
}

char *
owl_envelope_refusal_body (OwlError    code,
                           const char *message,
                           gsize      *len)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "code", owl_error_code_to_string (code));
  json_object_set_string_member (object, "message", message);
  return frame_end (object, len);
}
