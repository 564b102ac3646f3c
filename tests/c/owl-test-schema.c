/* owl-test-schema.c: compiling schemas and checking instances, for the
 * OwlSchema tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-schema.h"
#include "owl-json-private.h"
#include "owl-schema-private.h"

OwlSchema *
owl_test_schema_new (const char *json)
{
  g_autoptr(GError) error = NULL;
  OwlSchema *schema = owl_schema_new_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_nonnull (schema);
  g_test_queue_unref (schema);
  return schema;
}

JsonNode *
owl_test_schema_parse (const char *text)
{
  OwlError code = OWL_ERROR_FAILED;
  JsonNode *node = owl_json_parse (text, strlen (text), 256, &code);

  g_assert_nonnull (node);
  g_test_queue_destroy ((GDestroyNotify) json_node_unref, node);
  return node;
}

const char *
owl_test_schema_failure (OwlSchema   *schema,
                         const char  *text,
                         char       **message_out)
{
  JsonNode *instance = owl_test_schema_parse (text);
  g_autofree char *pointer = NULL;
  g_autofree char *message = NULL;
  const char *keyword = NULL;
  gboolean valid = owl_schema_check (schema, instance, G_MAXINT64, &pointer, &keyword, &message);
  char *result;

  g_assert_cmpint (owl_schema_check (schema, instance, G_MAXINT64, NULL, NULL, NULL), ==, valid);
  g_assert_cmpint (owl_schema_validate (schema, instance, NULL), ==, valid);
  if (valid)
    {
      g_assert_null (pointer);
      g_assert_null (keyword);
      g_assert_null (message);
      return NULL;
    }
  g_assert_nonnull (message);
  result = g_strdup_printf ("%s at '%s'", keyword, pointer);
  g_test_queue_free (result);
  if (message_out != NULL)
    *message_out = g_steal_pointer (&message);
  return result;
}

const char *
owl_test_schema_message (OwlSchema  *schema,
                         const char *text)
{
  char *message = NULL;

  g_assert_nonnull (owl_test_schema_failure (schema, text, &message));
  g_test_queue_free (message);
  return message;
}

void
owl_test_schema_refused (const char *json,
                         const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) schema = owl_schema_new_from_string (json, &error);

  g_assert_null (schema);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, needle) == NULL)
    g_assert_cmpstr (error->message, ==, needle);  /* fails, showing both */
}

void
owl_test_schema_wait_refusal (OwlTestClient *client,
                              guint          index,
                              const char    *pointer,
                              const char    *keyword)
{
  g_autoptr(JsonNode) error = owl_test_client_wait_json (client, index);
  JsonObject *details;

  g_assert_cmpstr (owl_test_json_get_string (error, "type"), ==, "error");
  g_assert_cmpstr (owl_test_json_get_string (error, "code"), ==, "validation");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (error), "recoverable"));
  details = json_object_get_object_member (json_node_get_object (error), "details");
  g_assert_nonnull (details);
  g_assert_cmpstr (json_object_get_string_member (details, "pointer"), ==, pointer);
  g_assert_cmpstr (json_object_get_string_member (details, "keyword"), ==, keyword);
}
