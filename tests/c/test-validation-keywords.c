/* test-validation-keywords.c: a module's message schema with 2020-12's
 * newer keywords, over real libsoup clients
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-schema.h"

/* Each bad message is answered with a `validation` error naming the
 * pointer and keyword; a message that would take exponential work through
 * if/then is answered `budget`; the connection stays open and a bystander,
 * whose message was sent behind the burst, is answered. */
static void
test_validation_keywords (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autoptr(OwlSchema) message_schema = owl_schema_new_from_string (
    "{\"$defs\": {\"n\": {\"if\": {\"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}}},"
    "                   \"then\": {\"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}}}}},"
    " \"properties\": {\"type\": {\"const\": \"echo\"},"
    "                \"at\": {\"format\": \"date-time\"},"
    "                \"tags\": {\"uniqueItems\": true, \"contains\": {\"const\": \"main\"}},"
    "                \"tree\": {\"$ref\": \"#/$defs/n\"}},"
    " \"patternProperties\": {\"^x-\": {\"type\": \"integer\", \"multipleOf\": 5}},"
    " \"dependentRequired\": {\"at\": [\"tags\"]},"
    " \"propertyNames\": {\"maxLength\": 8}}", NULL);
  static const struct { const char *message; const char *pointer; const char *keyword; } bad[] = {
    { "{\"type\":\"echo\",\"at\":\"2026-12-03T25:00:00Z\",\"tags\":[\"main\"]}", "/at", "format" },
    { "{\"type\":\"echo\",\"tags\":[\"main\",\"b\",\"main\"]}", "/tags", "uniqueItems" },
    { "{\"type\":\"echo\",\"tags\":[\"b\"]}", "/tags", "contains" },
    { "{\"type\":\"echo\",\"x-n\":7}", "/x-n", "multipleOf" },
    { "{\"type\":\"echo\",\"at\":\"2026-12-03T18:00:00Z\"}", "", "dependentRequired" },
    { "{\"type\":\"echo\",\"much-too-long\":1}", "/much-too-long", "maxLength" },
  };
  g_autoptr(GString) tree = g_string_new ("{\"type\":\"echo\",\"tree\":");
  OwlTestClient *client, *bystander;
  guint index = 0;

  g_assert_nonnull (message_schema);
  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "message-schema", message_schema,
                                         "rate-limit", 0, NULL);
  owl_test_fixture_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  client = owl_test_client_connect (fixture, "/ws/echo");

  for (guint i = 0; i < 40; i++)
    g_string_append (tree, "{\"c\":");
  g_string_append_c (tree, '1');
  for (guint i = 0; i < 41; i++)
    g_string_append_c (tree, '}');

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    owl_test_client_send (client, bad[i].message);
  for (guint i = 0; i < 5; i++)
    owl_test_client_send (client, tree->str);
  owl_test_client_send (bystander, "{\"type\":\"echo\",\"data\":\"other\"}");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    owl_test_schema_wait_refusal (client, index++, bad[i].pointer, bad[i].keyword);
  for (guint i = 0; i < 5; i++)
    owl_test_schema_wait_refusal (client, index++, "", "budget");
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (bystander, 0);

    g_assert_cmpstr (owl_test_json_get_string (echo, "data"), ==, "other");
  }
  owl_test_client_send (client, "{\"type\":\"echo\",\"data\":\"fine\",\"at\":\"2026-12-03T18:00:00Z\","
                                "\"tags\":[\"main\",\"b\"],\"x-n\":10,\"tree\":{\"c\":{\"c\":1}}}");
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (client, index);

    g_assert_cmpstr (owl_test_json_get_string (echo, "data"), ==, "fine");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  OWL_TEST ("/owl/validation-keywords/messages", test_validation_keywords);
  return g_test_run ();
}
