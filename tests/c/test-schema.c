/* test-schema.c: OwlSchema, the JSON Schema subset owlsock validates with
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-schema.h"
#include "owl-json-private.h"
#include "owl-schema-private.h"

/* The short names these tests were written with. */
#define schema_new owl_test_schema_new
#define parse owl_test_schema_parse
#define message_of owl_test_schema_message
#define assert_refused owl_test_schema_refused
#define failure_of owl_test_schema_failure

static char *
nest (const char *open,
      const char *inner,
      const char *close,
      guint       levels)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < levels; i++)
    g_string_append (text, open);
  g_string_append (text, inner);
  for (guint i = 0; i < levels; i++)
    g_string_append (text, close);
  return g_string_free (text, FALSE);
}

static void
test_schema_boolean (void)
{
  OwlSchema *yes = schema_new ("true");
  OwlSchema *no = schema_new ("false");
  OwlSchema *empty = schema_new ("{}");
  OwlSchema *props = schema_new ("{\"properties\": {\"a\": false, \"b\": true}}");
  OwlSchema *items = schema_new ("{\"items\": false}");
  OwlSchema *all = schema_new ("{\"allOf\": [true, false]}");
  OwlSchema *ref = schema_new ("{\"$defs\": {\"never\": false}, \"$ref\": \"#/$defs/never\"}");

  assert_valid (yes, "{\"a\": [1, null]}");
  assert_valid (empty, "\"x\"");
  assert_invalid (no, "null", "", "false");
  g_assert_cmpstr (message_of (no, "1"), ==, "no value is valid here");
  assert_valid (props, "{\"b\": 1}");
  assert_invalid (props, "{\"b\": 1, \"a\": 2}", "/a", "properties");
  g_assert_cmpstr (message_of (props, "{\"a\": 2}"), ==, "property not allowed");
  assert_valid (items, "[]");
  assert_invalid (items, "[1]", "/0", "items");
  assert_invalid (all, "1", "", "allOf");
  assert_invalid (ref, "1", "", "$ref");
}

static void
test_schema_type (void)
{
  static const char *instances[] = { "null", "true", "{}", "[]", "1.5", "2", "\"s\"" };
  static const struct { const char *type; const char *accepts; } cases[] = {
    /* one character per instance above: + valid, - invalid */
    { "null",    "+------" },
    { "boolean", "-+-----" },
    { "object",  "--+----" },
    { "array",   "---+---" },
    { "number",  "----++-" },
    { "integer", "-----+-" },
    { "string",  "------+" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"type\": \"%s\"}", cases[i].type);
      OwlSchema *schema = schema_new (json);

      for (guint j = 0; j < G_N_ELEMENTS (instances); j++)
        {
          g_test_message ("type %s, instance %s", cases[i].type, instances[j]);
          if (cases[i].accepts[j] == '+')
            assert_valid (schema, instances[j]);
          else
            assert_invalid (schema, instances[j], "", "type");
        }
    }
}

static void
test_schema_type_list (void)
{
  OwlSchema *schema = schema_new ("{\"type\": [\"integer\", \"null\"]}");
  OwlSchema *three = schema_new ("{\"type\": [\"string\", \"array\", \"boolean\"]}");

  assert_valid (schema, "null");
  assert_valid (schema, "7");
  assert_invalid (schema, "\"7\"", "", "type");
  g_assert_cmpstr (message_of (schema, "true"), ==, "not of type null or integer");
  g_assert_cmpstr (message_of (three, "1"), ==, "not of type boolean, array or string");
}

/* An integer is a number without a fractional part, however it is written. */
static void
test_schema_integer (void)
{
  OwlSchema *schema = schema_new ("{\"type\": \"integer\"}");

  assert_valid (schema, "1");
  assert_valid (schema, "1.0");
  assert_valid (schema, "-0");
  assert_valid (schema, "1e3");
  assert_valid (schema, "9223372036854775807");
  assert_valid (schema, "1e300");
  assert_invalid (schema, "1.5", "", "type");
  assert_invalid (schema, "-0.000001", "", "type");
  g_assert_cmpstr (message_of (schema, "1.5"), ==, "not of type integer");
}

static void
test_schema_properties (void)
{
  OwlSchema *schema = schema_new ("{\"properties\": {"
                                  "  \"name\": {\"type\": \"string\"},"
                                  "  \"age\": {\"type\": \"integer\"},"
                                  "  \"address\": {\"properties\": {\"city\": {\"type\": \"string\"}}}}}");

  assert_valid (schema, "{\"name\": \"x\", \"age\": 3}");
  assert_valid (schema, "{}");
  assert_valid (schema, "{\"other\": null}");
  assert_valid (schema, "[1]");  /* applies to objects only */
  assert_invalid (schema, "{\"name\": 1}", "/name", "type");
  assert_invalid (schema, "{\"name\": \"x\", \"age\": 1.5}", "/age", "type");
  assert_invalid (schema, "{\"address\": {\"city\": false}}", "/address/city", "type");
}

static void
test_schema_required (void)
{
  OwlSchema *schema = schema_new ("{\"required\": [\"a\", \"b\"]}");
  OwlSchema *none = schema_new ("{\"required\": []}");
  OwlSchema *nested = schema_new ("{\"properties\": {\"x\": {\"required\": [\"id\"]}}}");

  assert_valid (schema, "{\"b\": null, \"a\": 1}");
  assert_valid (schema, "\"not an object\"");
  assert_invalid (schema, "{\"a\": 1}", "", "required");
  g_assert_cmpstr (message_of (schema, "{\"a\": 1}"), ==, "missing required property \"b\"");
  assert_valid (none, "{}");
  assert_invalid (nested, "{\"x\": {}}", "/x", "required");
}

static void
test_schema_additional_properties (void)
{
  OwlSchema *closed = schema_new ("{\"properties\": {\"a\": {}, \"b\": {}},"
                                  " \"additionalProperties\": false}");
  OwlSchema *before = schema_new ("{\"additionalProperties\": false,"
                                  " \"properties\": {\"a\": {}}}");
  OwlSchema *typed = schema_new ("{\"properties\": {\"a\": {\"type\": \"string\"}},"
                                 " \"additionalProperties\": {\"type\": \"integer\"}}");
  OwlSchema *alone = schema_new ("{\"additionalProperties\": false}");
  OwlSchema *open = schema_new ("{\"additionalProperties\": true}");
  OwlSchema *empty = schema_new ("{\"properties\": {}, \"additionalProperties\": false}");

  assert_valid (closed, "{\"a\": 1, \"b\": 2}");
  assert_valid (closed, "{}");
  assert_invalid (closed, "{\"a\": 1, \"x\": 2}", "/x", "additionalProperties");
  /* the first one in member order */
  assert_invalid (closed, "{\"a\": 1, \"y\": 1, \"b\": 2, \"x\": 2}", "/y", "additionalProperties");
  g_assert_cmpstr (message_of (closed, "{\"x\": 2}"), ==, "additional property not allowed");
  assert_valid (before, "{\"a\": 1}");
  assert_invalid (before, "{\"b\": 1}", "/b", "additionalProperties");
  assert_valid (typed, "{\"a\": \"s\", \"x\": 1, \"y\": 2}");
  assert_invalid (typed, "{\"a\": \"s\", \"x\": \"s\"}", "/x", "type");
  assert_invalid (typed, "{\"a\": 1}", "/a", "type");
  assert_valid (alone, "{}");
  assert_valid (alone, "[1]");
  assert_invalid (alone, "{\"a\": 1}", "/a", "additionalProperties");
  assert_valid (open, "{\"a\": 1}");
  assert_valid (empty, "{}");
  assert_invalid (empty, "{\"a\": 1}", "/a", "additionalProperties");
}

static void
test_schema_enum (void)
{
  OwlSchema *schema = schema_new ("{\"enum\": [1, \"a\", null, {\"k\": [1, 2]}, [true]]}");

  assert_valid (schema, "1");
  assert_valid (schema, "1.0");
  assert_valid (schema, "\"a\"");
  assert_valid (schema, "null");
  assert_valid (schema, "{\"k\": [1, 2.0]}");
  assert_valid (schema, "[true]");
  assert_invalid (schema, "2", "", "enum");
  assert_invalid (schema, "\"b\"", "", "enum");
  assert_invalid (schema, "true", "", "enum");
  assert_invalid (schema, "{\"k\": [2, 1]}", "", "enum");
  assert_invalid (schema, "{\"k\": [1, 2], \"x\": 1}", "", "enum");
  assert_invalid (schema, "{\"j\": [1, 2]}", "", "enum");
  assert_invalid (schema, "[true, true]", "", "enum");
  assert_invalid (schema, "[1]", "", "enum");
  g_assert_cmpstr (message_of (schema, "2"), ==, "not one of the allowed values");
}

static void
test_schema_const (void)
{
  OwlSchema *deep = schema_new ("{\"const\": {\"a\": [1, {\"b\": null}], \"c\": \"d\"}}");
  OwlSchema *one = schema_new ("{\"const\": 1}");
  OwlSchema *zero = schema_new ("{\"properties\": {\"z\": {\"const\": 0}}}");
  OwlSchema *null = schema_new ("{\"const\": null}");

  assert_valid (deep, "{\"c\": \"d\", \"a\": [1.0, {\"b\": null}]}");
  assert_invalid (deep, "{\"a\": [1, {\"b\": false}], \"c\": \"d\"}", "", "const");
  assert_invalid (deep, "{\"a\": [1, {\"b\": null}]}", "", "const");
  assert_invalid (deep, "{\"a\": [{\"b\": null}, 1], \"c\": \"d\"}", "", "const");
  assert_valid (one, "1");
  assert_valid (one, "1.0");
  assert_invalid (one, "1.5", "", "const");
  assert_invalid (one, "\"1\"", "", "const");
  assert_invalid (one, "true", "", "const");
  assert_invalid (one, "[1]", "", "const");
  assert_invalid (zero, "{\"z\": false}", "/z", "const");
  assert_valid (zero, "{\"z\": -0.0}");
  assert_valid (null, "null");
  assert_invalid (null, "0", "", "const");
  g_assert_cmpstr (message_of (one, "2"), ==, "not equal to the constant");
}

/* Lengths are Unicode characters, not bytes. */
static void
test_schema_string_length (void)
{
  OwlSchema *schema = schema_new ("{\"minLength\": 3, \"maxLength\": 4}");
  OwlSchema *named = schema_new ("{\"properties\": {\"name\": {\"minLength\": 3}}}");
  OwlSchema *one = schema_new ("{\"minLength\": 1}");

  assert_valid (schema, "\"abc\"");
  assert_valid (schema, "\"héé\"");                 /* 3 characters, 5 bytes */
  assert_valid (schema, "\"😀😀😀\"");              /* 3 characters, 12 bytes */
  assert_valid (schema, "\"éééé\"");                /* 4 characters, 8 bytes */
  assert_valid (schema, "\"\\ud83d\\ude00ab\"");    /* an escaped emoji counts 1 */
  assert_invalid (schema, "\"hé\"", "", "minLength");
  assert_invalid (schema, "\"😀😀\"", "", "minLength");
  assert_invalid (schema, "\"abcde\"", "", "maxLength");
  assert_invalid (schema, "\"ééééé\"", "", "maxLength");
  assert_valid (schema, "12");
  assert_invalid (named, "{\"name\": \"ab\"}", "/name", "minLength");
  g_assert_cmpstr (message_of (named, "{\"name\": \"ab\"}"), ==, "shorter than 3 characters");
  g_assert_cmpstr (message_of (schema, "\"abcde\""), ==, "longer than 4 characters");
  g_assert_cmpstr (message_of (one, "\"\""), ==, "shorter than 1 character");
}

static void
test_schema_pattern (void)
{
  OwlSchema *anchored = schema_new ("{\"pattern\": \"^[a-z]+$\"}");
  OwlSchema *search = schema_new ("{\"pattern\": \"b+\"}");
  OwlSchema *one_char = schema_new ("{\"pattern\": \"^.$\"}");

  assert_valid (anchored, "\"abc\"");
  assert_invalid (anchored, "\"ab1\"", "", "pattern");
  assert_invalid (anchored, "\"\"", "", "pattern");
  assert_valid (anchored, "7");
  assert_valid (search, "\"abbc\"");   /* a search, not a whole match */
  assert_invalid (search, "\"ac\"", "", "pattern");
  assert_valid (one_char, "\"é\"");
  assert_valid (one_char, "\"😀\"");
  assert_invalid (one_char, "\"ab\"", "", "pattern");
  g_assert_cmpstr (message_of (search, "\"ac\""), ==, "does not match \"b+\"");
}

static void
test_schema_number_bounds (void)
{
  OwlSchema *inclusive = schema_new ("{\"minimum\": 1, \"maximum\": 10}");
  OwlSchema *exclusive = schema_new ("{\"exclusiveMinimum\": 1, \"exclusiveMaximum\": 10}");
  OwlSchema *fraction = schema_new ("{\"minimum\": 1.5, \"exclusiveMaximum\": 2.5}");
  OwlSchema *big = schema_new ("{\"maximum\": 9007199254740992}");
  OwlSchema *big_double = schema_new ("{\"maximum\": 9007199254740992.0}");
  OwlSchema *tenth = schema_new ("{\"minimum\": 0.1}");

  assert_valid (inclusive, "1");
  assert_valid (inclusive, "1.0");
  assert_valid (inclusive, "10");
  assert_valid (inclusive, "10.0");
  assert_valid (inclusive, "\"0\"");
  assert_invalid (inclusive, "0", "", "minimum");
  assert_invalid (inclusive, "0.999", "", "minimum");
  assert_invalid (inclusive, "10.5", "", "maximum");
  assert_invalid (inclusive, "11", "", "maximum");
  assert_invalid (exclusive, "1", "", "exclusiveMinimum");
  assert_invalid (exclusive, "1.0", "", "exclusiveMinimum");
  assert_valid (exclusive, "1.0000001");
  assert_valid (exclusive, "9.99");
  assert_invalid (exclusive, "10", "", "exclusiveMaximum");
  assert_invalid (exclusive, "10.0", "", "exclusiveMaximum");
  assert_valid (fraction, "1.5");
  assert_valid (fraction, "2");
  assert_invalid (fraction, "1", "", "minimum");
  assert_invalid (fraction, "2.5", "", "exclusiveMaximum");
  assert_invalid (fraction, "3", "", "exclusiveMaximum");
  /* exact where a double would round 2^53 + 1 down to 2^53 */
  assert_valid (big, "9007199254740992");
  assert_invalid (big, "9007199254740993", "", "maximum");
  assert_valid (big_double, "9007199254740992");
  assert_invalid (big_double, "9007199254740993", "", "maximum");
  g_assert_cmpstr (message_of (inclusive, "0"), ==, "less than 1");
  g_assert_cmpstr (message_of (inclusive, "11"), ==, "greater than 10");
  g_assert_cmpstr (message_of (exclusive, "1"), ==, "not greater than 1");
  g_assert_cmpstr (message_of (exclusive, "10"), ==, "not less than 10");
  g_assert_cmpstr (message_of (tenth, "0"), ==, "less than 0.1");
}

static void
test_schema_items (void)
{
  OwlSchema *schema = schema_new ("{\"properties\": {\"items\": {\"items\": {"
                                  "  \"properties\": {\"name\": {\"type\": \"string\", \"minLength\": 3}}}}}}");
  OwlSchema *ints = schema_new ("{\"items\": {\"type\": \"integer\"}}");

  assert_valid (schema, "{\"items\": [{\"name\": \"abc\"}, {\"name\": \"abcd\"}]}");
  assert_valid (schema, "{\"items\": []}");
  assert_invalid (schema, "{\"items\": [{\"name\": \"abc\"}, {\"name\": \"ab\"}]}", "/items/1/name", "minLength");
  assert_invalid (schema, "{\"items\": [{\"name\": 3}]}", "/items/0/name", "type");
  assert_valid (ints, "[1, 2, 3.0]");
  assert_valid (ints, "{\"0\": \"not an array\"}");
  assert_invalid (ints, "[1, 2, 3.5, \"x\"]", "/2", "type");
}

static void
test_schema_array_length (void)
{
  OwlSchema *schema = schema_new ("{\"minItems\": 1, \"maxItems\": 2}");

  assert_valid (schema, "[1]");
  assert_valid (schema, "[1, [2, 3, 4]]");
  assert_valid (schema, "\"not an array\"");
  assert_invalid (schema, "[]", "", "minItems");
  assert_invalid (schema, "[1, 2, 3]", "", "maxItems");
  g_assert_cmpstr (message_of (schema, "[]"), ==, "fewer than 1 item");
  g_assert_cmpstr (message_of (schema, "[1, 2, 3]"), ==, "more than 2 items");
}

static void
test_schema_all_of (void)
{
  OwlSchema *schema = schema_new ("{\"properties\": {\"s\": {\"allOf\": ["
                                  "  {\"type\": \"string\"}, {\"minLength\": 2}]}}}");

  assert_valid (schema, "{\"s\": \"ab\"}");
  assert_invalid (schema, "{\"s\": 1}", "/s", "type");
  assert_invalid (schema, "{\"s\": \"a\"}", "/s", "minLength");
}

/* anyOf and oneOf report themselves at the value, not what a branch said. */
static void
test_schema_any_of (void)
{
  OwlSchema *schema = schema_new ("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}");
  OwlSchema *nested = schema_new ("{\"properties\": {\"x\": {\"anyOf\": ["
                                  "  {\"properties\": {\"a\": {\"type\": \"string\"}}},"
                                  "  {\"type\": \"array\"}]}}}");

  assert_valid (schema, "\"a\"");
  assert_valid (schema, "1");
  assert_invalid (schema, "1.5", "", "anyOf");
  assert_valid (nested, "{\"x\": {\"a\": \"s\"}}");
  assert_valid (nested, "{\"x\": []}");
  assert_invalid (nested, "{\"x\": {\"a\": 1}}", "/x", "anyOf");
  g_assert_cmpstr (message_of (schema, "null"), ==, "matches none of the alternatives");
}

static void
test_schema_one_of (void)
{
  OwlSchema *schema = schema_new ("{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}");
  OwlSchema *nested = schema_new ("{\"items\": {\"oneOf\": [{\"type\": \"string\"}, {\"maxLength\": 2}]}}");

  assert_valid (schema, "1");
  assert_valid (schema, "2.5");
  assert_invalid (schema, "3", "", "oneOf");
  assert_invalid (schema, "1.5", "", "oneOf");
  g_assert_cmpstr (message_of (schema, "3"), ==, "matches more than one alternative");
  g_assert_cmpstr (message_of (schema, "1.5"), ==, "matches none of the alternatives");
  assert_valid (nested, "[\"abc\", 7]");
  assert_invalid (nested, "[\"abc\", \"ab\"]", "/1", "oneOf");
}

static void
test_schema_ref (void)
{
  OwlSchema *schema = schema_new ("{\"$defs\": {\"name\": {\"type\": \"string\", \"minLength\": 1}},"
                                  " \"properties\": {\"first\": {\"$ref\": \"#/$defs/name\"},"
                                  "                  \"last\": {\"$ref\": \"#/$defs/name\", \"maxLength\": 3}}}");
  OwlSchema *escaped = schema_new ("{\"$defs\": {\"a/b\": {\"type\": \"string\"},"
                                   "            \"c~d\": {\"type\": \"integer\"},"
                                   "            \"{e}\": {\"type\": \"null\"}},"
                                   " \"items\": {\"anyOf\": [{\"$ref\": \"#/$defs/a~1b\"},"
                                   "                        {\"$ref\": \"#/$defs/c~0d\"},"
                                   "                        {\"$ref\": \"#/$defs/%7Be%7D\"}]}}");

  assert_valid (schema, "{\"first\": \"a\", \"last\": \"b\"}");
  assert_invalid (schema, "{\"first\": \"a\", \"last\": \"\"}", "/last", "minLength");
  assert_invalid (schema, "{\"first\": 1}", "/first", "type");
  assert_invalid (schema, "{\"last\": \"abcd\"}", "/last", "maxLength");
  assert_valid (escaped, "[\"s\", 1, null]");
  assert_invalid (escaped, "[\"s\", 1.5]", "/1", "anyOf");
}

/* Recursion that descends into the instance is fine. */
static void
test_schema_ref_tree (void)
{
  OwlSchema *schema = schema_new ("{\"type\": \"object\", \"required\": [\"value\"],"
                                  " \"additionalProperties\": false,"
                                  " \"properties\": {\"value\": {\"type\": \"integer\"},"
                                  "   \"children\": {\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}}}");
  g_autofree char *deep = nest ("{\"value\": 1, \"children\": [", "{\"value\": 2}", "]}", 60);
  g_autofree char *deep_bad = nest ("{\"value\": 1, \"children\": [", "{\"value\": 2.5}", "]}", 60);
  const char *failure;

  assert_valid (schema, "{\"value\": 1}");
  assert_valid (schema, "{\"value\": 1, \"children\": [{\"value\": 2, \"children\": []}, {\"value\": 3}]}");
  assert_invalid (schema, "{\"value\": 1, \"children\": [{\"value\": 2},"
                          " {\"value\": 3, \"children\": [{\"value\": 4}, {\"value\": \"x\"}]}]}",
                  "/children/1/children/1/value", "type");
  assert_invalid (schema, "{\"value\": 1, \"children\": [{}]}", "/children/0", "required");
  assert_invalid (schema, "{\"value\": 1, \"children\": [{\"value\": 2, \"x\": 0}]}",
                  "/children/0/x", "additionalProperties");
  assert_valid (schema, deep);
  failure = failure_of (schema, deep_bad, NULL);
  g_assert_nonnull (failure);
  g_assert_true (g_str_has_prefix (failure, "type at '/children/0/children/0/"));
  /* 60 levels make a 673-byte pointer: cut to 256 bytes and marked. */
  g_assert_true (g_str_has_suffix (failure, "...'"));
  g_assert_cmpuint (strlen (failure), ==, strlen ("type at ''") + 256 + 3);
}

/* Member names come from the client: an error quotes at most 256 bytes of
 * them, however long they are, and cuts on a character boundary. */
static void
test_schema_pointer_bounded (void)
{
  OwlSchema *schema = schema_new ("{\"additionalProperties\": false}");
  g_autofree char *long_name = g_strnfill (100 * 1024, 'k');
  g_autofree char *text = g_strdup_printf ("{\"%s\": 1}", long_name);
  g_autoptr(GString) accents = g_string_new ("{\"");
  g_autofree char *message = NULL;
  const char *failure = failure_of (schema, text, &message);

  g_assert_cmpuint (strlen (failure), ==, strlen ("additionalProperties at '/'") + 255 + 3);
  g_assert_null (strstr (message, "kkk"));

  /* "é" is two bytes: 256 bytes in, the cut falls inside one. */
  g_string_append_c (accents, 'x');
  for (guint i = 0; i < 200; i++)
    g_string_append (accents, "\xc3\xa9");
  g_string_append (accents, "\": 1}");
  failure = failure_of (schema, accents->str, NULL);
  g_assert_true (g_utf8_validate (failure, -1, NULL));
  g_assert_true (g_str_has_suffix (failure, "\xc3\xa9...'"));
}

/* Nested anyOf over a recursive $ref doubles the work at each level: 22
 * levels are 4 million steps. The budget, linear in the message's size,
 * refuses it after a few hundred thousand, as a whole ("budget"). */
static void
test_schema_budget (void)
{
  OwlSchema *schema = schema_new ("{\"$defs\": {\"t\": {\"anyOf\": ["
                                  "  {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}, \"minItems\": 2},"
                                  "  {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}}]}},"
                                  " \"$ref\": \"#/$defs/t\"}");
  g_autofree char *deep = nest ("[", "1", "]", 22);
  g_autofree char *shallow = nest ("[", "[]", "]", 4);
  JsonNode *instance = parse (deep);
  gint64 budget = owl_schema_budget_for_size (strlen (deep));
  g_autofree char *pointer = NULL;
  g_autofree char *message = NULL;
  const char *keyword = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (owl_schema_check (schema, instance, budget, &pointer, &keyword, &message));
  g_assert_cmpstr (keyword, ==, "budget");
  g_assert_cmpstr (pointer, ==, "");
  g_assert_cmpstr (message, ==, "takes too much work to check");

  /* The public call bounds it the same way. */
  g_assert_false (owl_schema_validate (schema, instance, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_VALIDATION);
  g_assert_cmpstr (error->message, ==, "(root): budget: takes too much work to check");

  /* A message the schema takes in a few steps passes within the same rule. */
  assert_valid (schema, shallow);
  g_assert_true (owl_schema_check (schema, parse (shallow), owl_schema_budget_for_size (strlen (shallow)),
                                   NULL, NULL, NULL));
  /* And the budget is what decides: with a little more than nothing,
   * refused; without a bound, the same verdict as before. */
  g_assert_false (owl_schema_check (schema, parse (shallow), 3, NULL, NULL, NULL));
}

static void
test_schema_pointer_escaping (void)
{
  OwlSchema *schema = schema_new ("{\"properties\": {\"a/b\": {\"type\": \"string\"},"
                                  "                 \"c~d\": {\"type\": \"string\"},"
                                  "                 \"\": {\"type\": \"string\"}},"
                                  " \"additionalProperties\": false}");

  assert_valid (schema, "{\"a/b\": \"x\", \"c~d\": \"y\", \"\": \"z\"}");
  assert_invalid (schema, "{\"a/b\": 1}", "/a~1b", "type");
  assert_invalid (schema, "{\"c~d\": 1}", "/c~0d", "type");
  assert_invalid (schema, "{\"\": 1}", "/", "type");
  assert_invalid (schema, "{\"x/~1\": 1}", "/x~1~01", "additionalProperties");
}

static void
test_schema_annotations (void)
{
  OwlSchema *schema = schema_new ("{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
                                  " \"$id\": \"https://example.com/msg\", \"$comment\": \"c\","
                                  " \"title\": \"t\", \"description\": \"d\", \"default\": {},"
                                  " \"examples\": [{}], \"deprecated\": false,"
                                  " \"$defs\": {\"unused\": {\"type\": \"string\"}},"
                                  " \"properties\": {\"a\": {\"readOnly\": true, \"writeOnly\": false,"
                                  "   \"$defs\": {\"inner\": {\"minLength\": 1}},"
                                  "   \"type\": \"integer\", \"title\": \"a\", \"default\": 3}}}");

  assert_valid (schema, "{\"a\": 1}");
  assert_invalid (schema, "{\"a\": \"1\"}", "/a", "type");
}

/* Keywords are checked in the order the schema lists them. */
static void
test_schema_keyword_order (void)
{
  OwlSchema *length_first = schema_new ("{\"maxLength\": 1, \"pattern\": \"^a\"}");
  OwlSchema *pattern_first = schema_new ("{\"pattern\": \"^a\", \"maxLength\": 1}");
  OwlSchema *typed = schema_new ("{\"minLength\": 5, \"type\": \"string\"}");

  assert_invalid (length_first, "\"bb\"", "", "maxLength");
  assert_invalid (pattern_first, "\"bb\"", "", "pattern");
  assert_invalid (typed, "3", "", "type");
  assert_invalid (typed, "\"ab\"", "", "minLength");
}

static void
test_schema_validate_error (void)
{
  OwlSchema *schema = schema_new ("{\"type\": \"object\","
                                  " \"properties\": {\"name\": {\"minLength\": 3}}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) root_error = NULL;

  g_assert_true (owl_schema_validate (schema, parse ("{\"name\": \"abc\"}"), &error));
  g_assert_no_error (error);
  g_assert_false (owl_schema_validate (schema, parse ("{\"name\": \"ab\"}"), &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_VALIDATION);
  g_assert_cmpstr (error->message, ==, "/name: minLength: shorter than 3 characters");
  g_assert_false (owl_schema_validate (schema, parse ("[]"), &root_error));
  g_assert_error (root_error, OWL_ERROR, OWL_ERROR_VALIDATION);
  g_assert_cmpstr (root_error->message, ==, "(root): type: not of type object");
}

/* The out params are cleared on success; none of them is required. */
static void
test_schema_check_outputs (void)
{
  OwlSchema *schema = schema_new ("{\"items\": {\"type\": \"string\"}}");
  char *pointer = (char *) "garbage";
  char *message = (char *) "garbage";
  const char *keyword = "garbage";
  g_autofree char *only_pointer = NULL;

  g_assert_true (owl_schema_check (schema, parse ("[\"a\"]"), G_MAXINT64, &pointer, &keyword, &message));
  g_assert_null (pointer);
  g_assert_null (keyword);
  g_assert_null (message);
  g_assert_false (owl_schema_check (schema, parse ("[\"a\", 2]"), G_MAXINT64, NULL, NULL, NULL));
  g_assert_false (owl_schema_check (schema, parse ("[\"a\", 2]"), G_MAXINT64, &only_pointer, NULL, NULL));
  g_assert_cmpstr (only_pointer, ==, "/1");
  g_assert_false (owl_schema_check (schema, parse ("[2]"), G_MAXINT64, NULL, &keyword, NULL));
  g_assert_cmpstr (keyword, ==, "type");
}

/* The node is left as it was, and the schema keeps nothing of it. */
static void
test_schema_from_node (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string ("{\"properties\": {\"k\": {\"const\": {\"v\": [1, \"s\"]},"
                                               " \"enum\": [{\"v\": [1, \"s\"]}, 2]}}}", &error);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(OwlSchema) schema = NULL;
  JsonObject *k;

  g_assert_no_error (error);
  before = json_to_string (node, FALSE);
  schema = owl_schema_new_from_node (node, &error);
  g_assert_no_error (error);
  g_assert_nonnull (schema);
  after = json_to_string (node, FALSE);
  g_assert_cmpstr (before, ==, after);

  k = json_object_get_object_member (json_object_get_object_member (json_node_get_object (node),
                                                                    "properties"), "k");
  json_array_add_int_element (json_object_get_array_member (json_object_get_object_member (k, "const"), "v"), 3);
  json_node_set_string (json_array_get_element (json_object_get_array_member (
    json_object_get_object_member (k, "const"), "v"), 1), "changed");
  json_object_remove_member (k, "enum");

  assert_valid (schema, "{\"k\": {\"v\": [1, \"s\"]}}");
  assert_invalid (schema, "{\"k\": {\"v\": [1, \"changed\", 3]}}", "/k", "const");
}

typedef struct
{
  OwlSchema *schema;
  JsonNode  *good;
  JsonNode  *bad;
  gint       n_wrong;
} ThreadData;

static gpointer
validate_many (gpointer user_data)
{
  ThreadData *data = user_data;
  gint wrong = 0;

  for (guint i = 0; i < 20000; i++)
    {
      g_autofree char *pointer = NULL;
      g_autofree char *message = NULL;
      const char *keyword = NULL;

      wrong += !owl_schema_check (data->schema, data->good, G_MAXINT64, NULL, NULL, NULL);
      wrong += owl_schema_check (data->schema, data->bad, G_MAXINT64, &pointer, &keyword, &message);
      wrong += g_strcmp0 (pointer, "/tags/2") != 0 || g_strcmp0 (keyword, "pattern") != 0;
    }
  g_atomic_int_add (&data->n_wrong, wrong);
  return NULL;
}

static void
test_schema_threads (void)
{
  ThreadData data = {
    .schema = schema_new ("{\"properties\": {\"tags\": {\"items\": {\"pattern\": \"^[a-z]+$\"}},"
                          "                 \"n\": {\"enum\": [1, 2, {\"x\": [3]}]}}}"),
    .good = parse ("{\"tags\": [\"a\", \"b\"], \"n\": {\"x\": [3.0]}}"),
    .bad = parse ("{\"n\": 2, \"tags\": [\"a\", \"b\", \"C\"]}"),
  };
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("validate", validate_many, &data);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpint (data.n_wrong, ==, 0);
}

static void
test_schema_refuse_unknown_keyword (void)
{
  assert_refused ("{\"properties\": {\"a\": {\"type\": \"object\", \"unevaluatedProperties\": false}}}",
                  "Unknown keyword \"unevaluatedProperties\" at /properties/a");
  assert_refused ("{\"minLenght\": 3}", "Unknown keyword \"minLenght\" at the root");
  assert_refused ("{\"$dynamicRef\": \"#meta\"}", "Unknown keyword \"$dynamicRef\"");
  assert_refused ("{\"dependencies\": {}}", "\"dependencies\"");
  assert_refused ("{\"definitions\": {}}", "\"definitions\"");
  assert_refused ("{\"items\": {\"$anchor\": \"x\"}}", "Unknown keyword \"$anchor\" at /items");
  assert_refused ("{\"$defs\": {\"a\": {\"prefixItems\": []}}}", "Invalid \"prefixItems\" at /$defs/a");
  assert_refused ("{\"format\": \"iri\"}", "Invalid \"format\" at the root: unsupported format \"iri\"");
}

static void
test_schema_refuse_malformed (void)
{
  static const struct { const char *schema; const char *needle; } cases[] = {
    { "{\"minLength\": -1}", "Invalid \"minLength\" at the root" },
    { "{\"minLength\": 1.5}", "\"minLength\"" },
    { "{\"minLength\": \"3\"}", "\"minLength\"" },
    { "{\"maxLength\": null}", "\"maxLength\"" },
    { "{\"minItems\": -2}", "\"minItems\"" },
    { "{\"maxItems\": 1e40}", "\"maxItems\"" },
    { "{\"required\": \"x\"}", "\"required\"" },
    { "{\"required\": [1]}", "\"required\"" },
    { "{\"required\": [\"a\", \"b\", \"a\"]}", "\"required\"" },
    { "{\"type\": \"int\"}", "\"type\"" },
    { "{\"type\": []}", "\"type\"" },
    { "{\"type\": [\"string\", \"string\"]}", "\"type\"" },
    { "{\"type\": [\"string\", 1]}", "\"type\"" },
    { "{\"type\": 3}", "\"type\"" },
    { "{\"enum\": []}", "\"enum\"" },
    { "{\"enum\": 3}", "\"enum\"" },
    { "{\"items\": 3}", "Schema at /items is not an object or a boolean" },
    { "{\"items\": [{}]}", "/items" },
    { "{\"properties\": []}", "\"properties\"" },
    { "{\"properties\": {\"a\": 3}}", "Schema at /properties/a is not" },
    { "{\"additionalProperties\": \"no\"}", "/additionalProperties" },
    { "{\"minimum\": \"1\"}", "\"minimum\"" },
    { "{\"maximum\": null}", "\"maximum\"" },
    { "{\"exclusiveMinimum\": true}", "\"exclusiveMinimum\"" },
    { "{\"exclusiveMaximum\": [1]}", "\"exclusiveMaximum\"" },
    { "{\"allOf\": []}", "\"allOf\"" },
    { "{\"anyOf\": {}}", "\"anyOf\"" },
    { "{\"oneOf\": [3]}", "/oneOf/0" },
    { "{\"pattern\": 3}", "\"pattern\"" },
    { "{\"$ref\": 3}", "\"$ref\"" },
    { "{\"$defs\": []}", "\"$defs\"" },
    { "{\"$defs\": {\"unused\": {\"minLength\": -1}}}", "\"minLength\" at /$defs/unused" },
    { "{\"properties\": {\"a\": {\"$defs\": {\"x\": {\"type\": \"int\"}}}}}", "\"type\" at /properties/a/$defs/x" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].schema);
      assert_refused (cases[i].schema, cases[i].needle);
    }
}

/* Values nest no deeper than schemas do. */
static void
test_schema_refuse_deep_value (void)
{
  g_autofree char *ok_value = nest ("[", "1", "]", 64);
  g_autofree char *deep_value = nest ("[", "1", "]", 65);
  g_autofree char *ok = g_strdup_printf ("{\"const\": %s}", ok_value);
  g_autofree char *deep = g_strdup_printf ("{\"const\": %s}", deep_value);
  g_autofree char *deep_enum = g_strdup_printf ("{\"enum\": [1, %s]}", deep_value);

  assert_valid (schema_new (ok), ok_value);
  assert_refused (deep, "Invalid \"const\" at the root");
  assert_refused (deep_enum, "Invalid \"enum\" at the root");
}

static void
test_schema_refuse_pattern (void)
{
  assert_refused ("{\"pattern\": \"[a-\"}", "Invalid \"pattern\" at the root");
  assert_refused ("{\"properties\": {\"p\": {\"pattern\": \"(?<\"}}}", "\"pattern\" at /properties/p");
  assert_refused ("{\"items\": {\"pattern\": \"a{2,1}\"}}", "\"pattern\"");
}

static void
test_schema_refuse_ref (void)
{
  static const char *unsupported[] = {
    "#/definitions/a", "other.json#/$defs/a", "#/$defs/a/properties/b", "#/properties/a",
    "https://example.com/s", "", "#/$defs/", "#/$defs/a~2", "#a", "#/$defs/a%2Fb", "#/$defs/%00",
  };

  for (guint i = 0; i < G_N_ELEMENTS (unsupported); i++)
    {
      g_autofree char *schema = g_strdup_printf ("{\"$defs\": {\"a\": {}}, \"items\": {\"$ref\": \"%s\"}}",
                                                 unsupported[i]);

      g_test_message ("%s", schema);
      assert_refused (schema, "Invalid \"$ref\" at /items");
    }
  assert_refused ("{\"$defs\": {\"a\": {}}, \"$ref\": \"#/$defs/b\"}", "Unresolved \"$ref\" at the root");
  /* a nested $defs is checked but is not a target */
  assert_refused ("{\"properties\": {\"a\": {\"$defs\": {\"x\": {}}, \"$ref\": \"#/$defs/x\"}}}",
                  "Unresolved \"$ref\" at /properties/a");
}

/* Cycles that never descend into the instance are refused; long chains too. */
static void
test_schema_refuse_ref_cycle (void)
{
  g_autoptr(GString) chain = g_string_new ("{\"$defs\": {");
  g_autoptr(GString) short_chain = g_string_new ("{\"$defs\": {");

  assert_refused ("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/a\"}}}", "Circular \"$ref\" at /$defs/a");
  assert_refused ("{\"allOf\": [{\"$ref\": \"#\"}]}", "Circular \"$ref\" at /allOf/0");
  assert_refused ("{\"$ref\": \"#\"}", "Circular \"$ref\" at the root");
  assert_refused ("{\"$defs\": {\"a\": {\"oneOf\": [{\"$ref\": \"#/$defs/b\"}]},"
                  "            \"b\": {\"anyOf\": [{\"type\": \"string\"}, {\"$ref\": \"#/$defs/a\"}]}}}",
                  "Circular \"$ref\"");
  assert_refused ("{\"properties\": {\"x\": {\"$ref\": \"#/$defs/a\"}},"
                  " \"$defs\": {\"a\": {\"allOf\": [{\"$ref\": \"#/$defs/b\"}]},"
                  "            \"b\": {\"$ref\": \"#/$defs/a\"}}}",
                  "Circular \"$ref\"");

  for (guint i = 0; i < 70; i++)
    g_string_append_printf (chain, "%s\"d%u\": {\"$ref\": \"#/$defs/d%u\"}", i ? ", " : "", i, i + 1);
  g_string_append (chain, ", \"d70\": {\"type\": \"string\"}}}");
  assert_refused (chain->str, "\"$ref\" chain at");
  for (guint i = 0; i < 10; i++)
    g_string_append_printf (short_chain, "\"d%u\": {\"$ref\": \"#/$defs/d%u\"}, ", i, i + 1);
  g_string_append (short_chain, "\"d10\": {\"type\": \"string\"}}, \"$ref\": \"#/$defs/d0\"}");
  assert_valid (schema_new (short_chain->str), "\"s\"");
  assert_invalid (schema_new (short_chain->str), "1", "", "type");
}

static void
test_schema_refuse_depth (void)
{
  g_autofree char *items_64 = nest ("{\"items\": ", "{\"type\": \"string\"}", "}", 64);
  g_autofree char *items_65 = nest ("{\"items\": ", "{\"type\": \"string\"}", "}", 65);
  g_autofree char *all_of_64 = nest ("{\"allOf\": [", "true", "]}", 64);
  g_autofree char *props_65 = nest ("{\"properties\": {\"p\": ", "true", "}}", 65);
  g_autofree char *instance_ok = nest ("[", "\"s\"", "]", 64);
  g_autofree char *instance_bad = nest ("[", "1", "]", 64);
  OwlSchema *schema = schema_new (items_64);

  assert_valid (schema, instance_ok);
  g_assert_nonnull (failure_of (schema, instance_bad, NULL));
  assert_valid (schema_new (all_of_64), "1");
  assert_refused (items_65, "nests deeper than 64 levels");
  assert_refused (items_65, "/items/items/");
  assert_refused (props_65, "/properties/p/properties/p/");
}

static void
test_schema_refuse_not_a_schema (void)
{
  g_autofree char *too_deep = nest ("[", "1", "]", 300);

  assert_refused ("3", "Schema at the root is not an object or a boolean");
  assert_refused ("\"string\"", "Schema at the root is not");
  assert_refused ("null", "Schema at the root is not");
  assert_refused ("[]", "Schema at the root is not");
  assert_refused ("{\"type\": ", "Schema is not valid JSON");
  assert_refused ("", "Schema is not valid JSON");
  assert_refused (too_deep, "Schema text nests deeper than");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/schema/boolean", test_schema_boolean);
  g_test_add_func ("/owl/schema/type", test_schema_type);
  g_test_add_func ("/owl/schema/type-list", test_schema_type_list);
  g_test_add_func ("/owl/schema/integer", test_schema_integer);
  g_test_add_func ("/owl/schema/properties", test_schema_properties);
  g_test_add_func ("/owl/schema/required", test_schema_required);
  g_test_add_func ("/owl/schema/additional-properties", test_schema_additional_properties);
  g_test_add_func ("/owl/schema/enum", test_schema_enum);
  g_test_add_func ("/owl/schema/const", test_schema_const);
  g_test_add_func ("/owl/schema/string-length", test_schema_string_length);
  g_test_add_func ("/owl/schema/pattern", test_schema_pattern);
  g_test_add_func ("/owl/schema/number-bounds", test_schema_number_bounds);
  g_test_add_func ("/owl/schema/items", test_schema_items);
  g_test_add_func ("/owl/schema/array-length", test_schema_array_length);
  g_test_add_func ("/owl/schema/all-of", test_schema_all_of);
  g_test_add_func ("/owl/schema/any-of", test_schema_any_of);
  g_test_add_func ("/owl/schema/one-of", test_schema_one_of);
  g_test_add_func ("/owl/schema/ref", test_schema_ref);
  g_test_add_func ("/owl/schema/ref-tree", test_schema_ref_tree);
  g_test_add_func ("/owl/schema/pointer-escaping", test_schema_pointer_escaping);
  g_test_add_func ("/owl/schema/pointer-bounded", test_schema_pointer_bounded);
  g_test_add_func ("/owl/schema/budget", test_schema_budget);
  g_test_add_func ("/owl/schema/annotations", test_schema_annotations);
  g_test_add_func ("/owl/schema/keyword-order", test_schema_keyword_order);
  g_test_add_func ("/owl/schema/validate-error", test_schema_validate_error);
  g_test_add_func ("/owl/schema/check-outputs", test_schema_check_outputs);
  g_test_add_func ("/owl/schema/from-node", test_schema_from_node);
  g_test_add_func ("/owl/schema/threads", test_schema_threads);
  g_test_add_func ("/owl/schema/refuse/unknown-keyword", test_schema_refuse_unknown_keyword);
  g_test_add_func ("/owl/schema/refuse/malformed", test_schema_refuse_malformed);
  g_test_add_func ("/owl/schema/refuse/deep-value", test_schema_refuse_deep_value);
  g_test_add_func ("/owl/schema/refuse/pattern", test_schema_refuse_pattern);
  g_test_add_func ("/owl/schema/refuse/ref", test_schema_refuse_ref);
  g_test_add_func ("/owl/schema/refuse/ref-cycle", test_schema_refuse_ref_cycle);
  g_test_add_func ("/owl/schema/refuse/depth", test_schema_refuse_depth);
  g_test_add_func ("/owl/schema/refuse/not-a-schema", test_schema_refuse_not_a_schema);

  return g_test_run ();
}
