/* owl-test-json.c: JSON parsing and assertions for the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

/* JSON */

JsonNode *
owl_test_json_parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_test_message ("not JSON: %s", text);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

char *
owl_test_json_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static JsonObject *
json_object_of (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

gboolean
owl_test_json_has (JsonNode   *node,
                   const char *member)
{
  return json_object_has_member (json_object_of (node), member);
}

static JsonNode *
json_member (JsonNode   *node,
             const char *member)
{
  JsonNode *value = json_object_get_member (json_object_of (node), member);

  if (value == NULL)
    {
      g_autofree char *text = owl_test_json_to_string (node);

      g_test_message ("member '%s' missing in %s", member, text);
    }
  g_assert_nonnull (value);
  return value;
}

const char *
owl_test_json_get_string (JsonNode   *node,
                          const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_STRING);
  return json_node_get_string (value);
}

gint64
owl_test_json_get_int (JsonNode   *node,
                       const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_true (JSON_NODE_HOLDS_VALUE (value));
  return json_node_get_int (value);
}

gboolean
owl_test_json_get_bool (JsonNode   *node,
                        const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (value);
}

void
owl_test_assert_json_equal (JsonNode   *node,
                            const char *expected)
{
  g_autoptr(JsonNode) want = owl_test_json_parse (expected);
  g_autofree char *got = owl_test_json_to_string (node);
  g_autofree char *want_text = owl_test_json_to_string (want);

  if (!json_node_equal (node, want))
    g_assert_cmpstr (got, ==, want_text);
}

void
owl_test_assert_error_frame (JsonNode   *node,
                             const char *id,
                             const char *code,
                             const char *payload_prefix)
{
  g_autofree char *text = owl_test_json_to_string (node);

  g_test_message ("error frame: %s", text);
  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, "error");
  if (id != NULL)
    g_assert_cmpstr (owl_test_json_get_string (node, "id"), ==, id);
  g_assert_cmpstr (owl_test_json_get_string (node, "code"), ==, code);
  g_assert_true (g_str_has_prefix (owl_test_json_get_string (node, "payload"), payload_prefix));
  g_assert_true (owl_test_json_get_bool (node, "recoverable"));
}

void
owl_test_assert_member_json (JsonNode   *node,
                             const char *member,
                             const char *expected)
{
  owl_test_assert_json_equal (json_member (node, member), expected);
}

void
owl_test_assert_frame (JsonNode   *node,
                       const char *type,
                       const char *id)
{
  g_autofree char *text = owl_test_json_to_string (node);

  g_test_message ("frame: %s", text);
  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, type);
  if (id != NULL)
    g_assert_cmpstr (owl_test_json_get_string (node, "id"), ==, id);
}
