/* fuzz-schema.c: libFuzzer target for schema validation of hostile messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Schemas are the server's own, but the messages they check come from the
 * network: the input is one message, parsed as the service does (depth 64)
 * and checked against a schema that uses every keyword owlsock knows.
 * The schema holds the two shapes that once made checks slow: a pattern
 * that backtracks in other engines and nested anyOf over a recursive $ref.
 * Besides the sanitizers (and libFuzzer's timeout), the check is: a failure
 * names a pointer that starts with '/' or is empty, at most 256 bytes and
 * a "..." mark, and a keyword.
 */

#include <stdint.h>
#include <string.h>

#include "owl-json-private.h"
#include "owl-schema-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char schema_text[] =
  "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {"
  "   \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 8, \"pattern\": \"^[a-z]+$\"},"
  "   \"children\": {\"type\": \"array\", \"maxItems\": 4, \"items\": {\"$ref\": \"#/$defs/node\"}}},"
  "   \"additionalProperties\": false},"
  "  \"t\": {\"anyOf\": [{\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}, \"minItems\": 2},"
  "                    {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/t\"}}]}},"
  " \"type\": \"object\", \"required\": [\"type\"],"
  " \"properties\": {"
  "   \"type\": {\"enum\": [\"say\", \"move\", \"tree\"]},"
  "   \"text\": {\"type\": [\"string\", \"null\"], \"maxLength\": 64},"
  "   \"x\": {\"type\": \"integer\", \"minimum\": -100, \"exclusiveMaximum\": 100},"
  "   \"y\": {\"type\": \"number\", \"exclusiveMinimum\": -1.5, \"maximum\": 1e6},"
  "   \"tags\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"const\": {\"k\": [1, true, null]}}},"
  "   \"tree\": {\"$ref\": \"#/$defs/node\"},"
  "   \"pick\": {\"oneOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]},"
  "   \"any\": {\"anyOf\": [{\"type\": \"boolean\"}, {\"minItems\": 2}]},"
  "   \"all\": {\"allOf\": [{\"type\": \"object\"}, {\"required\": [\"a\"]}]},"
  "   \"words\": {\"type\": \"string\", \"pattern\": \"^(\\\\w+\\\\s?)*$\"},"
  "   \"deep\": {\"$ref\": \"#/$defs/t\"},"
  "   \"when\": {\"anyOf\": [{\"format\": \"date-time\"}, {\"format\": \"date\"}, {\"format\": \"time\"}]},"
  "   \"to\": {\"anyOf\": [{\"format\": \"email\"}, {\"format\": \"uri\"}, {\"format\": \"hostname\"}]},"
  "   \"ip\": {\"oneOf\": [{\"format\": \"ipv4\"}, {\"format\": \"ipv6\"}, {\"format\": \"uuid\"}]},"
  "   \"n\": {\"multipleOf\": 0.01, \"not\": {\"multipleOf\": 7}},"
  "   \"set\": {\"uniqueItems\": true, \"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"number\"},"
  "           \"contains\": {\"minimum\": 10}, \"minContains\": 1, \"maxContains\": 3},"
  "   \"bag\": {\"uniqueItems\": true, \"minProperties\": 1, \"maxProperties\": 8}},"
  " \"patternProperties\": {\"^x-\": {\"type\": \"integer\"}, \"[0-9]$\": {\"maxLength\": 4}},"
  " \"propertyNames\": {\"maxLength\": 16, \"pattern\": \"^[a-z0-9-]+$\"},"
  " \"dependentRequired\": {\"x\": [\"y\"]},"
  " \"dependentSchemas\": {\"set\": {\"required\": [\"n\"]}},"
  " \"if\": {\"properties\": {\"type\": {\"const\": \"move\"}}},"
  " \"then\": {\"required\": [\"x\"]}, \"else\": {\"not\": {\"required\": [\"x\"]}},"
  " \"additionalProperties\": {\"type\": \"string\"}}";

static OwlSchema *
fuzz_schema (void)
{
  static OwlSchema *schema;

  if (schema == NULL && (schema = owl_schema_new_from_string (schema_text, NULL)) == NULL)
    __builtin_trap ();
  return schema;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  char *text = g_malloc (MAX (size, 1));
  OwlError code = OWL_ERROR_FAILED;
  JsonNode *node;

  memcpy (text, data, size);
  node = owl_json_parse (text, size, 64, &code);
  if (node != NULL)
    {
      char *pointer = NULL, *message = NULL;
      const char *keyword = NULL;

      if (!owl_schema_check (fuzz_schema (), node, owl_schema_budget_for_size (size), &pointer, &keyword, &message) &&
          (pointer == NULL || (pointer[0] != '\0' && pointer[0] != '/') || strlen (pointer) > 256 + 3 ||
           keyword == NULL || message == NULL))
        __builtin_trap ();
      g_free (pointer);
      g_free (message);
      json_node_unref (node);
    }

  g_free (text);
  return 0;
}
