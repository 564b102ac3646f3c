/* test-schema-keywords.c: OwlSchema's 2020-12 keywords beyond the first
 * subset: what each reports, the edges the suite leaves out, and what
 * hostile instances cost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>

#include "owl-test-schema.h"
#include "owl-schema-private.h"

/* Whether @text is valid against @schema_text, for tables of cases. */
static gboolean
is_valid (const char *schema_text,
          const char *text)
{
  return owl_test_schema_failure (owl_test_schema_new (schema_text), text, NULL) == NULL;
}

typedef struct
{
  const char *value;
  gboolean    valid;
} Case;

/* Each case as a JSON string against {"format": @format}. */
static void
assert_format (const char *format,
               const Case *cases,
               guint       n)
{
  g_autofree char *schema_text = g_strdup_printf ("{\"format\": \"%s\"}", format);
  OwlSchema *schema = owl_test_schema_new (schema_text);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("\"%s\"", cases[i].value);
      gboolean valid = owl_test_schema_failure (schema, text, NULL) == NULL;

      if (valid != cases[i].valid)
        g_test_fail_printf ("format %s: %s should be %s", format, text,
                            cases[i].valid ? "valid" : "invalid");
    }
}

static void
test_keywords_format (void)
{
  static const Case date_time[] = {
    { "2026-02-28T23:59:60-00:01", FALSE }, { "2024-02-29T00:00:00Z", TRUE },
    { "2023-02-29T00:00:00Z", FALSE }, { "2026-12-03T18:00:00.5+01:00", TRUE },
    { "2026-12-03T18:00:00.Z", FALSE }, { "2026-12-03 18:00:00Z", FALSE },
    { "2026-12-03T18:00:00", FALSE }, { "2026-12-03T18:00:00+0100", FALSE },
  };
  static const Case date[] = {
    { "2000-02-29", TRUE }, { "1900-02-29", FALSE }, { "2026-04-31", FALSE },
    { "2026-13-01", FALSE }, { "2026-00-10", FALSE }, { "２０２６-01-01", FALSE },
  };
  static const Case time[] = {
    { "00:00:00Z", TRUE }, { "00:29:60+00:30", TRUE }, { "00:00:60+00:30", FALSE },
    { "12:00:00", FALSE }, { "12:00Z", FALSE },
  };
  static const Case email[] = {
    { "a@b", TRUE }, { "\\\"john doe\\\"@example.com", TRUE }, { "x@[127.0.0.1]", TRUE },
    { "x@[IPv6:::1]", TRUE }, { "x@[300.0.0.1]", FALSE }, { "@example.com", FALSE },
    { "a@-b.com", FALSE }, { "a b@example.com", FALSE }, { "a@", FALSE },
  };
  static const Case uri[] = {
    { "https://user@example.com:8443/p/a?q=1#f", TRUE }, { "urn:isbn:0451450523", TRUE },
    { "http://[v1.fe80::a+en1]/", TRUE }, { "http://[::1/", FALSE },
    { "http://example.com:80a/", FALSE }, { "http://ex ample.com/", FALSE },
    { "http://example.com/%zz", FALSE }, { "1http://example.com", FALSE },
    { "http://example.com/caf\xc3\xa9", FALSE },
  };
  static const Case uuid[] = {
    { "2EB8AA08-AA98-11EA-B4AA-73B441D16380", TRUE }, { "00000000-0000-0000-0000-000000000000", TRUE },
    { "2eb8aa08aa9811eab4aa73b441d16380", FALSE }, { "2eb8aa08-aa98-11ea-b4aa-73b441d1638g", FALSE },
  };
  static const Case ipv4[] = {
    { "0.0.0.0", TRUE }, { "255.255.255.255", TRUE }, { "256.0.0.1", FALSE },
    { "01.2.3.4", FALSE }, { "1.2.3", FALSE }, { "1.2.3.4.", FALSE }, { "1.2.3.4 ", FALSE },
  };
  static const Case ipv6[] = {
    { "2001:db8::8a2e:370:7334", TRUE }, { "::ffff:1.2.3.4", TRUE },
    { "1:2:3:4:5:6:1.2.3.4", TRUE }, { "1:2:3:4:5:6:7:1.2.3.4", FALSE }, { ":::", FALSE },
  };
  static const Case hostname[] = {
    { "a", TRUE }, { "a.b-c.d", TRUE }, { "a..b", FALSE }, { "a.", FALSE }, { "", FALSE },
    { "caf\xc3\xa9.fr", FALSE },
  };
  OwlSchema *schema = owl_test_schema_new ("{\"properties\": {\"mail\": {\"format\": \"email\"}}}");

  assert_format ("date-time", date_time, G_N_ELEMENTS (date_time));
  assert_format ("date", date, G_N_ELEMENTS (date));
  assert_format ("time", time, G_N_ELEMENTS (time));
  assert_format ("email", email, G_N_ELEMENTS (email));
  assert_format ("uri", uri, G_N_ELEMENTS (uri));
  assert_format ("uuid", uuid, G_N_ELEMENTS (uuid));
  assert_format ("ipv4", ipv4, G_N_ELEMENTS (ipv4));
  assert_format ("ipv6", ipv6, G_N_ELEMENTS (ipv6));
  assert_format ("hostname", hostname, G_N_ELEMENTS (hostname));

  /* Only strings are checked; the failure names the pointer and format. */
  assert_valid (schema, "{\"mail\": 12}");
  assert_valid (schema, "{\"mail\": [\"no\"]}");
  assert_invalid (schema, "{\"mail\": \"no\"}", "/mail", "format");
  g_assert_cmpstr (owl_test_schema_message (schema, "{\"mail\": \"no\"}"), ==, "not a valid email");
  owl_test_schema_refused ("{\"format\": \"date-tme\"}",
                           "Invalid \"format\" at the root: unsupported format \"date-tme\"");
  owl_test_schema_refused ("{\"format\": 3}", "Invalid \"format\" at the root: expected a string");
}

static void
test_keywords_if_then_else (void)
{
  OwlSchema *schema = owl_test_schema_new (
    "{\"if\": {\"properties\": {\"kind\": {\"const\": \"n\"}}},"
    " \"then\": {\"properties\": {\"v\": {\"type\": \"number\"}}},"
    " \"else\": {\"properties\": {\"v\": {\"type\": \"string\"}}}}");
  OwlSchema *lone = owl_test_schema_new ("{\"then\": false, \"else\": false}");
  OwlSchema *no_else = owl_test_schema_new ("{\"if\": {\"type\": \"string\"}, \"then\": false}");

  assert_valid (schema, "{\"kind\": \"n\", \"v\": 1}");
  assert_valid (schema, "{\"kind\": \"s\", \"v\": \"x\"}");
  /* The branch's own failure is reported, where it is. */
  assert_invalid (schema, "{\"kind\": \"n\", \"v\": \"x\"}", "/v", "type");
  assert_invalid (schema, "{\"kind\": 0, \"v\": 1}", "/v", "type");
  assert_valid (schema, "{\"v\": 1}");
  /* then and else without if do nothing; if without else passes on no. */
  assert_valid (lone, "1");
  assert_valid (no_else, "1");
  assert_invalid (no_else, "\"s\"", "", "then");

  /* They apply to the same value: a cycle through them is refused. */
  owl_test_schema_refused ("{\"$defs\": {\"a\": {\"if\": {\"$ref\": \"#/$defs/a\"}}}, \"$ref\": \"#/$defs/a\"}",
                           "Circular \"$ref\" at /$defs/a/if");
  owl_test_schema_refused ("{\"else\": {\"$ref\": \"#\"}}", "Circular \"$ref\" at /else");
  owl_test_schema_refused ("{\"not\": {\"$ref\": \"#\"}}", "Circular \"$ref\" at /not");
  owl_test_schema_refused ("{\"dependentSchemas\": {\"a\": {\"$ref\": \"#\"}}}",
                           "Circular \"$ref\" at /dependentSchemas/a");
}

/* if and then both recurse into the child: twice the work per level, so
 * 2^40 for 40 levels. The budget, linear in the message, refuses it as a
 * whole, quickly; a shallow message of the same shape passes. */
static void
test_keywords_if_then_else_budget (void)
{
  OwlSchema *schema = owl_test_schema_new (
    "{\"$defs\": {\"n\": {\"if\": {\"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}}},"
    "                   \"then\": {\"properties\": {\"c\": {\"$ref\": \"#/$defs/n\"}}}}},"
    " \"$ref\": \"#/$defs/n\"}");
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autofree char *pointer = NULL;
  g_autofree char *message = NULL;
  const char *keyword = NULL;

  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "{\"c\": ");
  g_string_append (deep, "1");
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "}");
  g_assert_false (owl_schema_check (schema, owl_test_schema_parse (deep->str),
                                    owl_schema_budget_for_size (deep->len),
                                    &pointer, &keyword, &message));
  g_assert_cmpstr (keyword, ==, "budget");
  g_assert_true (owl_schema_check (schema, owl_test_schema_parse ("{\"c\": {\"c\": 1}}"),
                                   owl_schema_budget_for_size (16), NULL, NULL, NULL));
}

static void
test_keywords_dependent (void)
{
  OwlSchema *required = owl_test_schema_new (
    "{\"dependentRequired\": {\"card\": [\"expiry\", \"cvc\"], \"cvc\": []}}");
  OwlSchema *schemas = owl_test_schema_new (
    "{\"dependentSchemas\": {\"card\": {\"required\": [\"expiry\"],"
    "                                   \"properties\": {\"expiry\": {\"format\": \"date\"}}}}}");

  assert_valid (required, "{\"expiry\": 1}");
  assert_valid (required, "{\"card\": 1, \"expiry\": 2, \"cvc\": 3}");
  assert_valid (required, "[\"card\"]");
  assert_invalid (required, "{\"card\": 1, \"expiry\": 2}", "", "dependentRequired");
  g_assert_cmpstr (owl_test_schema_message (required, "{\"card\": 1, \"cvc\": 2}"), ==,
                   "missing property \"expiry\", required with \"card\"");
  assert_valid (schemas, "{\"expiry\": \"x\"}");
  assert_invalid (schemas, "{\"card\": 1}", "", "required");
  assert_invalid (schemas, "{\"card\": 1, \"expiry\": \"2026-02-30\"}", "/expiry", "format");
  owl_test_schema_refused ("{\"dependentRequired\": {\"a\": [\"b\", \"b\"]}}",
                           "Invalid \"dependentRequired\" at the root: \"b\" is listed twice");
  owl_test_schema_refused ("{\"dependentRequired\": {\"a\": \"b\"}}", "expected an array of strings");
  owl_test_schema_refused ("{\"dependentSchemas\": []}", "expected an object of schemas");
}

static void
test_keywords_object_names (void)
{
  OwlSchema *schema = owl_test_schema_new (
    "{\"properties\": {\"id\": {\"type\": \"integer\"}},"
    " \"patternProperties\": {\"^x-\": {\"type\": \"string\"}, \"-n$\": {\"type\": \"number\"}},"
    " \"additionalProperties\": false}");
  OwlSchema *names = owl_test_schema_new ("{\"propertyNames\": {\"maxLength\": 3, \"pattern\": \"^[a-z]+$\"}}");
  OwlSchema *no_names = owl_test_schema_new ("{\"propertyNames\": false}");
  OwlSchema *counts = owl_test_schema_new ("{\"minProperties\": 1, \"maxProperties\": 2}");

  assert_valid (schema, "{\"id\": 1, \"x-a\": \"s\", \"b-n\": 2}");
  /* A member matching two patterns must satisfy both. */
  assert_invalid (schema, "{\"x-n\": \"s\"}", "/x-n", "type");
  assert_invalid (schema, "{\"x-a\": 1}", "/x-a", "type");
  /* additionalProperties is for what neither names. */
  assert_invalid (schema, "{\"id\": 1, \"other\": 1}", "/other", "additionalProperties");
  assert_valid (names, "{\"abc\": 1, \"z\": 2}");
  assert_invalid (names, "{\"abc\": 1, \"abcd\": 2}", "/abcd", "maxLength");
  assert_invalid (names, "{\"A\": 1}", "/A", "pattern");
  assert_valid (no_names, "{}");
  assert_invalid (no_names, "{\"a\": 1}", "/a", "propertyNames");
  g_assert_cmpstr (owl_test_schema_message (no_names, "{\"a\": 1}"), ==, "property name not allowed");
  assert_invalid (counts, "{}", "", "minProperties");
  assert_invalid (counts, "{\"a\": 1, \"b\": 2, \"c\": 3}", "", "maxProperties");
  g_assert_cmpstr (owl_test_schema_message (counts, "{}"), ==, "fewer than 1 property");
  owl_test_schema_refused ("{\"patternProperties\": {\"(?=a)\": true}}",
                           "Invalid \"patternProperties\" at the root");
  owl_test_schema_refused ("{\"patternProperties\": {\"a\": {\"minimum\": \"1\"}}}",
                           "Invalid \"minimum\" at /patternProperties/a");
}

/* Many members against patterns and propertyNames: the regex steps are
 * spent from the budget, so the size of the message bounds the work. */
static void
test_keywords_object_names_budget (void)
{
  OwlSchema *schema = owl_test_schema_new (
    "{\"patternProperties\": {\"^a\": true, \"b$\": true, \"c\": true},"
    " \"additionalProperties\": {\"type\": \"integer\"},"
    " \"propertyNames\": {\"pattern\": \"^[a-z0-9]+$\"}}");
  g_autoptr(GString) text = g_string_new ("{");
  g_autofree char *pointer = NULL;
  const char *keyword = NULL;
  JsonNode *instance;

  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (text, "%s\"k%u\": %u", i > 0 ? ", " : "", i, i);
  g_string_append (text, "}");
  instance = owl_test_schema_parse (text->str);
  g_assert_true (owl_schema_check (schema, instance, owl_schema_budget_for_size (text->len),
                                   NULL, NULL, NULL));
  /* The same work with a tenth of the budget is refused, as a whole. */
  g_assert_false (owl_schema_check (schema, instance, owl_schema_budget_for_size (text->len) / 10,
                                    &pointer, &keyword, NULL));
  g_assert_cmpstr (keyword, ==, "budget");
  g_assert_cmpstr (pointer, ==, "");
}

static void
test_keywords_unique_items (void)
{
  OwlSchema *schema = owl_test_schema_new ("{\"uniqueItems\": true}");
  OwlSchema *off = owl_test_schema_new ("{\"uniqueItems\": false}");

  assert_valid (schema, "[1, \"1\", true, null, [1], {\"1\": 1}, 1.5]");
  assert_invalid (schema, "[1, 2, 1.0]", "", "uniqueItems");
  assert_invalid (schema, "[{\"a\": 1, \"b\": [1, {}]}, 0, {\"b\": [1.0, {}], \"a\": 1}]", "", "uniqueItems");
  assert_invalid (schema, "[[\"a\"], 2, [\"a\"]]", "", "uniqueItems");
  g_assert_cmpstr (owl_test_schema_message (schema, "[null, null]"), ==, "has duplicate items");
  /* No confusion between types, lengths or nesting. */
  assert_valid (schema, "[0, false, null, \"\", [], {}]");
  assert_valid (schema, "[1, true]");
  assert_valid (schema, "[\"a:1\", {\"a\": 1}]");
  assert_valid (schema, "[[1, 2], [[1], 2], [1, [2]]]");
  assert_valid (schema, "[{\"a\": \"b\", \"c\": \"d\"}, {\"a\": \"bc\", \"\": \"d\"}]");
  assert_valid (schema, "[9007199254740993, 9007199254740992.0]");
  assert_valid (off, "[1, 1]");
  assert_valid (schema, "\"not an array\"");
  owl_test_schema_refused ("{\"uniqueItems\": 1}", "Invalid \"uniqueItems\" at the root: expected true or false");
}

/* 100,000 distinct items, and a duplicate as far apart as it can be (0
 * first, 0.0 last): found in n log n, well inside the budget the message's
 * size gives; a pairwise check would take 5e9 comparisons. A hundredth of
 * that budget is too little: the work is counted. */
static void
test_keywords_unique_items_hostile (void)
{
  OwlSchema *schema = owl_test_schema_new ("{\"uniqueItems\": true}");
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree char *pointer = NULL;
  const char *keyword = NULL;
  gint64 budget;
  JsonNode *instance;

  for (guint i = 0; i < 100000; i++)
    g_string_append_printf (text, "%u, ", i);
  g_string_append (text, "0.0]");
  budget = owl_schema_budget_for_size (text->len);
  instance = owl_test_schema_parse (text->str);
  g_timer_start (timer);
  g_assert_false (owl_schema_check (schema, instance, budget, &pointer, &keyword, NULL));
  g_assert_cmpstr (keyword, ==, "uniqueItems");
  /* Milliseconds, or a second under ASan; pairwise, tens of seconds. */
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 10.0);

  json_array_remove_element (json_node_get_array (instance), 100000);
  g_assert_true (owl_schema_check (schema, instance, budget, NULL, NULL, NULL));
  g_clear_pointer (&pointer, g_free);
  g_assert_false (owl_schema_check (schema, instance, budget / 100, &pointer, &keyword, NULL));
  g_assert_cmpstr (keyword, ==, "budget");
}

static void
test_keywords_multiple_of (void)
{
  static const struct { const char *x; const char *m; gboolean valid; } cases[] = {
    { "0.0075", "0.0001", TRUE }, { "0.00751", "0.0001", FALSE }, { "19.99", "0.01", TRUE },
    { "0.3", "0.1", TRUE }, { "-4.5", "1.5", TRUE }, { "35", "1.5", FALSE },
    { "1e308", "0.5", TRUE }, { "1e308", "0.123456789", FALSE },
    { "1.7976931348623157e308", "1e-323", TRUE }, { "5e-324", "5e-324", TRUE },
    { "1e-300", "1e300", FALSE }, { "0", "0.7", TRUE }, { "-0.0", "3", TRUE },
    { "9223372036854775807", "7", TRUE }, { "-9223372036854775808", "2", TRUE },
    { "-9223372036854775808", "3", FALSE }, { "9007199254740993", "0.5", TRUE },
    { "1e20", "3", FALSE }, { "1e20", "5", TRUE }, { "1e20", "9223372036854775807", FALSE },
    { "10", "2.5", TRUE }, { "10", "3", FALSE }, { "4.5", "2", FALSE },
  };
  g_autoptr(GTimer) timer = g_timer_new ();
  OwlSchema *schema = owl_test_schema_new ("{\"properties\": {\"n\": {\"multipleOf\": 0.01}}}");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *schema_text = g_strdup_printf ("{\"multipleOf\": %s}", cases[i].m);

      if (is_valid (schema_text, cases[i].x) != cases[i].valid)
        g_test_fail_printf ("%s multipleOf %s should be %s", cases[i].x, cases[i].m,
                            cases[i].valid ? "valid" : "invalid");
    }
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 5.0);
  assert_invalid (schema, "{\"n\": 0.015}", "/n", "multipleOf");
  g_assert_cmpstr (owl_test_schema_message (schema, "{\"n\": 0.015}"), ==, "not a multiple of 0.01");
  assert_valid (schema, "{\"n\": \"0.015\"}");
  owl_test_schema_refused ("{\"multipleOf\": 0}", "Invalid \"multipleOf\" at the root: expected a number greater than 0");
  owl_test_schema_refused ("{\"multipleOf\": -1.5}", "expected a number greater than 0");
}

/* Infinity cannot be written in JSON text but can be put in a node: as a
 * multipleOf it is refused, as an instance it is a multiple of nothing. */
static void
test_keywords_multiple_of_infinity (void)
{
  g_autoptr(JsonNode) schema_node = owl_test_schema_parse ("{\"multipleOf\": 1}");
  g_autoptr(JsonNode) infinity = json_node_init_double (json_node_alloc (), INFINITY);
  OwlSchema *schema = owl_test_schema_new ("{\"multipleOf\": 0.5}");
  g_autoptr(OwlSchema) refused = NULL;
  g_autoptr(GError) error = NULL;

  json_node_ref (schema_node);  /* owl_test_schema_parse's is freed with the test */
  json_object_set_double_member (json_node_get_object (schema_node), "multipleOf", INFINITY);
  refused = owl_schema_new_from_node (schema_node, &error);
  g_assert_null (refused);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_assert_false (owl_schema_validate (schema, infinity, NULL));
}

static void
test_keywords_arrays (void)
{
  OwlSchema *tuple = owl_test_schema_new (
    "{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}");
  OwlSchema *rest = owl_test_schema_new ("{\"prefixItems\": [true], \"items\": {\"type\": \"null\"}}");
  OwlSchema *contains = owl_test_schema_new ("{\"contains\": {\"const\": 1}}");
  OwlSchema *bounded = owl_test_schema_new (
    "{\"contains\": {\"type\": \"integer\"}, \"minContains\": 2, \"maxContains\": 3}");
  OwlSchema *none = owl_test_schema_new ("{\"contains\": false, \"minContains\": 0}");
  OwlSchema *lone = owl_test_schema_new ("{\"minContains\": 2, \"maxContains\": 0}");

  assert_valid (tuple, "[\"a\", 1]");
  assert_valid (tuple, "[\"a\"]");
  assert_invalid (tuple, "[\"a\", \"b\"]", "/1", "type");
  assert_invalid (tuple, "[\"a\", 1, null]", "/2", "items");
  g_assert_cmpstr (owl_test_schema_message (tuple, "[\"a\", 1, 2]"), ==, "item not allowed");
  assert_valid (rest, "[1, null, null]");
  assert_invalid (rest, "[1, null, 2]", "/2", "type");
  assert_valid (contains, "[0, 1]");
  assert_invalid (contains, "[0, 2]", "", "contains");
  assert_invalid (contains, "[]", "", "contains");
  g_assert_cmpstr (owl_test_schema_message (contains, "[]"), ==, "no item matches");
  assert_valid (bounded, "[1, \"a\", 2.0]");
  assert_invalid (bounded, "[1, \"a\"]", "", "minContains");
  assert_invalid (bounded, "[1, 2, 3, 4]", "", "maxContains");
  g_assert_cmpstr (owl_test_schema_message (bounded, "[1, 2, 3, 4]"), ==, "more than 3 matching items");
  assert_valid (none, "[1]");
  assert_valid (lone, "[1]");
  owl_test_schema_refused ("{\"prefixItems\": {}}", "Invalid \"prefixItems\" at the root");
  owl_test_schema_refused ("{\"minContains\": -1}", "Invalid \"minContains\" at the root");
}

/* const and enum over any JSON value: deep, order-insensitive for members,
 * 1 == 1.0, and never a boolean for a number. */
static void
test_keywords_const_enum (void)
{
  OwlSchema *object = owl_test_schema_new ("{\"const\": {\"a\": [1, {\"b\": null}], \"c\": true}}");
  OwlSchema *values = owl_test_schema_new ("{\"enum\": [[0], {\"x\": 1.0}, false, \"1\"]}");

  assert_valid (object, "{\"c\": true, \"a\": [1.0, {\"b\": null}]}");
  assert_invalid (object, "{\"c\": true, \"a\": [1, {\"b\": null}], \"d\": 1}", "", "const");
  assert_invalid (object, "{\"c\": 1, \"a\": [1, {\"b\": null}]}", "", "const");
  assert_valid (values, "[0.0]");
  assert_valid (values, "{\"x\": 1}");
  assert_valid (values, "false");
  assert_invalid (values, "[false]", "", "enum");
  assert_invalid (values, "0", "", "enum");
  assert_invalid (values, "1", "", "enum");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/owl/schema-keywords/format", test_keywords_format);
  g_test_add_func ("/owl/schema-keywords/if-then-else", test_keywords_if_then_else);
  g_test_add_func ("/owl/schema-keywords/if-then-else-budget", test_keywords_if_then_else_budget);
  g_test_add_func ("/owl/schema-keywords/dependent", test_keywords_dependent);
  g_test_add_func ("/owl/schema-keywords/object-names", test_keywords_object_names);
  g_test_add_func ("/owl/schema-keywords/object-names-budget", test_keywords_object_names_budget);
  g_test_add_func ("/owl/schema-keywords/unique-items", test_keywords_unique_items);
  g_test_add_func ("/owl/schema-keywords/unique-items-hostile", test_keywords_unique_items_hostile);
  g_test_add_func ("/owl/schema-keywords/multiple-of", test_keywords_multiple_of);
  g_test_add_func ("/owl/schema-keywords/multiple-of-infinity", test_keywords_multiple_of_infinity);
  g_test_add_func ("/owl/schema-keywords/arrays", test_keywords_arrays);
  g_test_add_func ("/owl/schema-keywords/const-enum", test_keywords_const_enum);
  return g_test_run ();
}
