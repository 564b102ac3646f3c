/* test-validation.c: module schemas for messages, the upgrade query and the
 * route params, over real libsoup clients
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-checks.h"

static OwlSchema *
schema (const char *text)
{
  g_autoptr(GError) error = NULL;
  OwlSchema *compiled = owl_schema_new_from_string (text, &error);

  g_assert_no_error (error);
  return compiled;
}

/* A bad message gets a `validation` error with the pointer and keyword; the
 * handler (an echo) never sees it, the connection stays open, and another
 * client is not disturbed. */
static void
test_validation_messages (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autoptr(OwlSchema) message_schema =
    schema ("{\"type\":\"object\",\"required\":[\"type\",\"data\"],"
            "\"properties\":{\"type\":{\"const\":\"echo\"},"
            "\"data\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":16},"
            "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]}}}}");
  static const struct { const char *message; const char *pointer; const char *keyword; } bad[] = {
    { "{\"type\":\"echo\"}", "", "required" },
    { "{\"type\":\"echo\",\"data\":\"x\"}", "/data", "minLength" },
    { "{\"type\":\"echo\",\"data\":7}", "/data", "type" },
    { "{\"type\":\"other\",\"data\":\"xy\"}", "/type", "const" },
    { "{\"type\":\"echo\",\"data\":\"xy\",\"tags\":[\"a\",\"c\"]}", "/tags/1", "enum" },
  };
  OwlTestClient *client, *bystander;
  OwlConnection *connection;
  guint index = 0;

  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "message-schema", message_schema, NULL);
  owl_test_fixture_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  client = owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 1);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) error = NULL;
      JsonObject *details;

      owl_test_client_send (client, bad[i].message);
      error = owl_test_client_wait_json (client, index++);
      g_assert_cmpstr (owl_test_json_get_string (error, "type"), ==, "error");
      g_assert_cmpstr (owl_test_json_get_string (error, "code"), ==, "validation");
      g_assert_true (json_object_get_boolean_member (json_node_get_object (error), "recoverable"));
      details = json_object_get_object_member (json_node_get_object (error), "details");
      g_assert_nonnull (details);
      g_assert_cmpstr (json_object_get_string_member (details, "pointer"), ==, bad[i].pointer);
      g_assert_cmpstr (json_object_get_string_member (details, "keyword"), ==, bad[i].keyword);
    }
  g_assert_cmpuint (owl_test_record_get (connection)->messages->len, ==, 0);

  /* A good message goes through, on the same connection. */
  owl_test_client_send (client, "{\"type\":\"echo\",\"data\":\"fine\",\"tags\":[\"b\"]}");
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (client, index++);

    g_assert_cmpstr (owl_test_json_get_string (echo, "data"), ==, "fine");
  }
  g_assert_cmpuint (owl_test_record_get (connection)->messages->len, ==, 1);

  /* Protocol messages are not the application's: ping still answers. */
  owl_test_client_send (client, "{\"type\":\"ping\"}");
  {
    g_autoptr(JsonNode) pong = owl_test_client_wait_json (client, index++);

    g_assert_cmpstr (owl_test_json_get_string (pong, "type"), ==, "pong");
  }

  owl_test_client_send (bystander, "{\"type\":\"echo\",\"data\":\"other\"}");
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (bystander, 0);

    g_assert_cmpstr (owl_test_json_get_string (echo, "data"), ==, "other");
  }
}

/* The two shapes that once made a check slow enough to stall every
 * client: a pattern that backtracks in other engines, and nested anyOf over
 * a recursive $ref. Each message is answered (`pattern`, `budget`), the
 * connection stays open, and a bystander's message sent after the burst is
 * answered too. Not timed: before, 30 of the first took 6.5 s. */
static void
test_validation_costly (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  g_autoptr(OwlSchema) message_schema =
    schema ("{\"$defs\": {\"t\": {\"anyOf\": ["
            "  {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}, \"minItems\": 2},"
            "  {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}}]}},"
            " \"properties\": {\"w\": {\"type\": \"string\", \"pattern\": \"^(\\\\w+\\\\s?)*$\"},"
            "                \"tree\": {\"$ref\": \"#/$defs/t\"}}}");
  g_autoptr(GString) tree = g_string_new ("{\"tree\":");
  OwlTestClient *client, *bystander;
  guint index = 0;

  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "message-schema", message_schema,
                                         "rate-limit", 0, NULL);
  owl_test_fixture_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  client = owl_test_client_connect (fixture, "/ws/echo");

  for (guint i = 0; i < 22; i++)
    g_string_append_c (tree, '[');
  g_string_append_c (tree, '1');
  for (guint i = 0; i < 22; i++)
    g_string_append_c (tree, ']');
  g_string_append_c (tree, '}');

  for (guint i = 0; i < 30; i++)
    owl_test_client_send (client, "{\"w\":\"aaaaaaaaaaaaaaaaaaaaaaaaa!\"}");
  for (guint i = 0; i < 5; i++)
    owl_test_client_send (client, tree->str);
  owl_test_client_send (bystander, "{\"w\":\"hello world\"}");

  for (; index < 35; index++)
    {
      g_autoptr(JsonNode) error = owl_test_client_wait_json (client, index);
      JsonObject *details = json_object_get_object_member (json_node_get_object (error), "details");

      g_assert_cmpstr (owl_test_json_get_string (error, "code"), ==, "validation");
      g_assert_cmpstr (json_object_get_string_member (details, "keyword"), ==, index < 30 ? "pattern" : "budget");
    }
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (bystander, 0);

    g_assert_cmpstr (owl_test_json_get_string (echo, "w"), ==, "hello world");
  }
  owl_test_client_send (client, "{\"w\":\"still open\",\"tree\":[[],[[],[]]]}");
  {
    g_autoptr(JsonNode) echo = owl_test_client_wait_json (client, index);

    g_assert_cmpstr (owl_test_json_get_string (echo, "w"), ==, "still open");
  }
}

/* Query and params schemas answer 400 before the upgrade. */
static void
test_validation_upgrade (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  g_autoptr(OwlSchema) params = schema ("{\"type\":\"object\",\"properties\":"
                                        "{\"id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}}}");
  g_autoptr(OwlSchema) query = schema ("{\"type\":\"object\",\"required\":[\"room\"],"
                                       "\"properties\":{\"room\":{\"type\":\"string\",\"maxLength\":8}},"
                                       "\"additionalProperties\":false}");
  OwlTestClient *client;

  owl_test_fixture_add_echo_module_with (fixture, "game", "/ws/game/:id",
                                         "params-schema", params, "query-schema", query, NULL);
  owl_test_fixture_listen (fixture);

  owl_test_assert_upgrade_refused (fixture, "/ws/game/abc?room=a", 400, "\"validation\"");
  owl_test_assert_upgrade_refused (fixture, "/ws/game/abc?room=a", 400, "/id: pattern");
  owl_test_assert_upgrade_refused (fixture, "/ws/game/42", 400, "required");
  owl_test_assert_upgrade_refused (fixture, "/ws/game/42?room=much-too-long", 400, "/room: maxLength");
  owl_test_assert_upgrade_refused (fixture, "/ws/game/42?room=a&extra=1", 400, "additionalProperties");

  client = owl_test_client_connect (fixture, "/ws/game/42?room=lobby");
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
}

/* A schema with a keyword owlsock does not know fails where it is written. */
static void
test_validation_refused_at_set_time (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) bad = owl_schema_new_from_string ("{\"type\":\"object\",\"propertees\":{}}", &error);

  g_assert_null (bad);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "propertees"));
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/validation/messages", test_validation_messages);
  OWL_TEST ("/owl/validation/upgrade", test_validation_upgrade);
  OWL_TEST ("/owl/validation/costly", test_validation_costly);
  g_test_add_func ("/owl/validation/refused-at-set-time", test_validation_refused_at_set_time);

  return g_test_run ();
}
