/* test-type-schemas.c: a schema per message type, beside the module's
 * message-schema and with strict-types, over real libsoup clients
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

/* Every message needs a string type; subscribe needs a short room; publish
 * a room and a text. */
#define MESSAGE_SCHEMA "{\"required\":[\"type\"],\"properties\":{\"type\":{\"type\":\"string\"}}}"
#define SUBSCRIBE_SCHEMA \
  "{\"required\":[\"room\"],\"properties\":{\"room\":{\"type\":\"string\",\"maxLength\":8}}}"
#define PUBLISH_SCHEMA \
  "{\"required\":[\"room\",\"text\"],\"properties\":{\"room\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"}}}"

static void
add_type_schema (OwlModule  *module,
                 const char *type,
                 const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) compiled = owl_schema_new_from_string (text, &error);

  g_assert_no_error (error);
  owl_module_set_type_schema (module, type, compiled);
  g_assert_true (owl_module_get_type_schema (module, type) == compiled);
}

/* A message and its answer: the message echoed when @keyword is NULL, else
 * a `validation` error naming @type (NULL: no `type` in the details),
 * @pointer and @keyword. */
typedef struct
{
  const char *message;
  const char *type;
  const char *pointer;
  const char *keyword;
} Case;

static void
assert_cases (OwlTestClient *client,
              guint         *index,
              const Case    *cases,
              gsize          n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(JsonNode) frame = NULL;
      JsonObject *details;

      owl_test_client_send (client, cases[i].message);
      frame = owl_test_client_wait_json (client, (*index)++);
      if (cases[i].keyword == NULL)
        {
          owl_test_assert_json_equal (frame, cases[i].message);
          continue;
        }
      owl_test_assert_error_frame (frame, NULL, "validation", "ValidationError|||");
      details = json_object_get_object_member (json_node_get_object (frame), "details");
      g_assert_nonnull (details);
      if (cases[i].type != NULL)
        g_assert_cmpstr (json_object_get_string_member (details, "type"), ==, cases[i].type);
      else
        g_assert_false (json_object_has_member (details, "type"));
      g_assert_cmpstr (json_object_get_string_member (details, "pointer"), ==, cases[i].pointer);
      g_assert_cmpstr (json_object_get_string_member (details, "keyword"), ==, cases[i].keyword);
    }
}

static OwlModule *
add_typed_echo (OwlTestFixture *fixture,
                gboolean        strict)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) message = owl_schema_new_from_string (MESSAGE_SCHEMA, &error);
  OwlModule *module;

  g_assert_no_error (error);
  module = owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "message-schema", message,
                                                  "strict-types", strict, NULL);
  add_type_schema (module, "subscribe", SUBSCRIBE_SCHEMA);
  add_type_schema (module, "publish", PUBLISH_SCHEMA);
  owl_test_fixture_listen (fixture);
  return module;
}

/* Good and bad messages of two types: each bad one is answered with the
 * type, pointer and keyword and never reaches the handler; message-schema
 * checks first (no type in its details); a type without a schema passes;
 * another client is not disturbed. */
static void
test_type_schemas_messages (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  static const Case bad[] = {
    { "{\"type\":\"subscribe\"}", "subscribe", "", "required" },
    { "{\"type\":\"subscribe\",\"room\":\"much-too-long\"}", "subscribe", "/room", "maxLength" },
    { "{\"type\":\"publish\",\"room\":5,\"text\":\"hi\"}", "publish", "/room", "type" },
    { "{\"type\":\"publish\",\"room\":\"lobby\"}", "publish", "", "required" },
    /* message-schema first: no type there, and a number is not one. */
    { "{\"room\":\"lobby\"}", NULL, "", "required" },
    { "{\"type\":7}", NULL, "/type", "type" },
  };
  static const Case good[] = {
    { "{\"type\":\"subscribe\",\"room\":\"lobby\"}" },
    { "{\"type\":\"publish\",\"room\":\"lobby\",\"text\":\"hi\"}" },
    /* A type without a schema of its own. */
    { "{\"type\":\"other\",\"anything\":[1,2]}" },
  };
  OwlTestClient *client, *bystander;
  OwlConnection *connection;
  guint index = 0, bystander_index = 0;

  add_typed_echo (fixture, FALSE);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  client = owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 1);

  assert_cases (client, &index, bad, G_N_ELEMENTS (bad));
  g_assert_cmpuint (owl_test_record_get (connection)->messages->len, ==, 0);
  assert_cases (client, &index, good, G_N_ELEMENTS (good));
  g_assert_cmpuint (owl_test_record_get (connection)->messages->len, ==, G_N_ELEMENTS (good));

  assert_cases (bystander, &bystander_index, good + 1, 1);
}

/* strict-types: a type without a schema is refused as an enum would, a
 * missing type as required; the connection stays open and typed messages
 * go through. */
static void
test_type_schemas_strict (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  static const Case cases[] = {
    { "{\"type\":\"other\"}", NULL, "/type", "enum" },
    { "{\"type\":[\"subscribe\"]}", NULL, "/type", "enum" },
    { "{\"room\":\"a\"}", NULL, "", "required" },
    { "{\"type\":\"subscribe\"}", "subscribe", "", "required" },
    { "{\"type\":\"subscribe\",\"room\":\"a\"}" },
  };
  OwlModule *module;
  OwlTestClient *client;
  guint index = 0;

  module = add_typed_echo (fixture, TRUE);
  g_object_set (module, "message-schema", NULL, NULL);
  client = owl_test_client_connect (fixture, "/ws/echo");
  assert_cases (client, &index, cases, G_N_ELEMENTS (cases));
}

/* The map setter replaces every type; NULL removes one or all; the
 * protocol's own types are refused. */
static void
test_type_schemas_api (void)
{
  g_autoptr(OwlModule) module = owl_module_new ("echo", "/ws/echo");
  g_autoptr(GHashTable) map = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  g_autoptr(GError) error = NULL;
  OwlSchema *any = owl_schema_new_from_string ("{}", &error);

  g_assert_no_error (error);
  g_assert_null (owl_module_get_type_schema (module, "subscribe"));
  add_type_schema (module, "subscribe", SUBSCRIBE_SCHEMA);
  owl_module_set_type_schema (module, "subscribe", NULL);
  g_assert_null (owl_module_get_type_schema (module, "subscribe"));

  add_type_schema (module, "subscribe", SUBSCRIBE_SCHEMA);
  g_hash_table_insert (map, "publish", any);
  owl_module_set_type_schemas (module, map);
  g_assert_null (owl_module_get_type_schema (module, "subscribe"));
  g_assert_true (owl_module_get_type_schema (module, "publish") == any);

  /* A type the protocol owns never reaches the schemas: refused, nothing changes. */
  g_test_expect_message ("Owlsock", G_LOG_LEVEL_CRITICAL, "*is_app_type*");
  owl_module_set_type_schema (module, "call", any);
  g_test_assert_expected_messages ();
  g_assert_null (owl_module_get_type_schema (module, "call"));
  g_hash_table_insert (map, "ping", g_object_ref (any));
  g_test_expect_message ("Owlsock", G_LOG_LEVEL_CRITICAL, "*is_app_type*");
  owl_module_set_type_schemas (module, map);
  g_test_assert_expected_messages ();
  g_assert_null (owl_module_get_type_schema (module, "ping"));
  g_assert_true (owl_module_get_type_schema (module, "publish") == any);

  owl_module_set_type_schemas (module, NULL);
  g_assert_null (owl_module_get_type_schema (module, "publish"));
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/type-schemas/messages", test_type_schemas_messages);
  OWL_TEST ("/owl/type-schemas/strict", test_type_schemas_strict);
  g_test_add_func ("/owl/type-schemas/api", test_type_schemas_api);

  return g_test_run ();
}
