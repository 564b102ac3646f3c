/* owl-schema.c: OwlSchema, the object and its API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The work is done beside it: owl-schema-compile.c and owl-schema-keywords.c
 * make the graph of nodes and checks, owl-schema-validate.c walks it,
 * owl-schema-report.c tells a failure, owl-schema-value.c compares values.
 */

#include <string.h>

#include "owl-error.h"
#include "owl-json-private.h"
#include "owl-schema-types-private.h"

/**
 * OwlSchema:
 *
 * A JSON Schema, compiled once and then used to validate messages.
 *
 * The schema is a subset of JSON Schema 2020-12, each keyword behaving as
 * 2020-12 specifies (the official JSON Schema Test Suite runs against it):
 * `type`, `enum`, `const` (over any JSON value), `minLength`, `maxLength`,
 * `pattern`, `format`, `minimum`, `maximum`, `exclusiveMinimum`,
 * `exclusiveMaximum`, `multipleOf`, `properties`, `patternProperties`,
 * `additionalProperties`, `propertyNames`, `required`, `dependentRequired`,
 * `dependentSchemas`, `minProperties`, `maxProperties`, `prefixItems`,
 * `items`, `contains`, `minContains`, `maxContains`, `minItems`, `maxItems`,
 * `uniqueItems`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, and
 * `$ref` to `#` or to `#/$defs/name`. The annotations `$schema`, `$id`,
 * `$comment`, `title`, `description`, `default`, `examples`, `deprecated`,
 * `readOnly`, `writeOnly`, `contentMediaType`, `contentEncoding` and
 * `contentSchema` are accepted and ignored; `$defs` holds schemas that are
 * checked even when nothing refers to them.
 *
 * `format` is an assertion, not only an annotation: a string must be a
 * valid `date-time`, `date` or `time` (RFC 3339), `email` (RFC 5321
 * mailbox, ASCII), `uri` (RFC 3986, with a scheme), `uuid`, `ipv4`, `ipv6`
 * or `hostname` (RFC 1123); values that are not strings pass. Any other
 * format name is refused when the schema is made.
 *
 * Anything else (such as `unevaluatedProperties` or `$dynamicRef`) is
 * refused when the schema is made, naming the keyword, so that a misspelt
 * or unsupported keyword never silently lets messages through. Lengths count
 * Unicode characters, numbers compare by value (`1` equals `1.0`, which is an
 * integer), `multipleOf` is exact in decimal (`0.0075` is a multiple of
 * `0.0001`), `uniqueItems` compares as `const` does (objects whatever their
 * member order), and `pattern` and `patternProperties` are unanchored
 * regular expression searches with ECMA-262 syntax and semantics over code
 * points (`\d` and `\w` are ASCII, `.` matches any code point but line
 * terminators, `^` and `$` are the start and end of the string). owlsock's matcher never backtracks, so
 * constructs that need backtracking are refused when the schema is made:
 * backreferences, lookahead and lookbehind, and `\p{...}`; a pattern may
 * compile to at most 10,000 instructions.
 *
 * The work one validation may do is bounded by the size of what is
 * validated: about 100,000 steps plus 16 per byte (a step is a subschema
 * applied to a value, 16 bytes a length or `format` check reads or
 * `uniqueItems` compares, or a state a pattern visits at one character). A
 * value that needs more fails as a whole with the keyword `budget`,
 * whatever the schema: no schema and no message can make a check slow.
 *
 * A schema is immutable: it may validate from several threads at once.
 *
 * Since: 0.1
 */

struct _OwlSchema
{
  GObject    parent_instance;

  Node      *root;
  GPtrArray *nodes;                    /* Node, every node of the schema */
};

G_DEFINE_FINAL_TYPE (OwlSchema, owl_schema, G_TYPE_OBJECT)

/* A schema text may nest this deep as JSON: two levels per subschema plus a
 * `const` value, with room to spare; the compiler enforces the real limits. */
#define SCHEMA_MAX_JSON_DEPTH (4 * OWL_SCHEMA_MAX_DEPTH)

static void
owl_schema_finalize (GObject *object)
{
  OwlSchema *self = OWL_SCHEMA (object);

  g_clear_pointer (&self->nodes, g_ptr_array_unref);

  G_OBJECT_CLASS (owl_schema_parent_class)->finalize (object);
}

static void
owl_schema_class_init (OwlSchemaClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_schema_finalize;
}

static void
owl_schema_init (OwlSchema *self)
{
  self->nodes = g_ptr_array_new_with_free_func (owl_schema_node_free);
}

static OwlSchema *
new_compiled (JsonNode  *json,
              GError   **error)
{
  g_autoptr(OwlSchema) self = g_object_new (OWL_TYPE_SCHEMA, NULL);

  self->root = owl_schema_compile (json, self->nodes, error);
  return self->root != NULL ? g_steal_pointer (&self) : NULL;
}

/* Public API */

/**
 * owl_schema_new_from_string:
 * @json: a JSON Schema, as JSON text
 * @error: return location for a #GError
 *
 * Parses and compiles a schema. See [class@Owlsock.Schema] for what a
 * schema may hold; anything else fails with %OWL_ERROR_INVALID_ARGUMENT and a
 * message naming the keyword and where it is.
 *
 * Returns: (transfer full) (nullable): the compiled schema, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
OwlSchema *
owl_schema_new_from_string (const char  *json,
                            GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  OwlError code = OWL_ERROR_MALFORMED;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  node = owl_json_parse (json, strlen (json), SCHEMA_MAX_JSON_DEPTH, &code);
  if (node == NULL && code == OWL_ERROR_TOO_DEEP)
    g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                 "Schema text nests deeper than %d levels", SCHEMA_MAX_JSON_DEPTH);
  else if (node == NULL)
    g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT, "Schema is not valid JSON");
  return node != NULL ? new_compiled (node, error) : NULL;
}

/**
 * owl_schema_new_from_node:
 * @node: a JSON Schema
 * @error: return location for a #GError
 *
 * Compiles a schema, as [ctor@Owlsock.Schema.new_from_string] does. @node is
 * not modified, and the schema keeps nothing of it: changing @node later does
 * not change the schema.
 *
 * Returns: (transfer full) (nullable): the compiled schema, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
OwlSchema *
owl_schema_new_from_node (JsonNode  *node,
                          GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_compiled (node, error);
}

/* About the size of @node as JSON text, for a value that came as a node. */
static gsize
instance_size (JsonNode *node)
{
  gsize size = 2;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          size += strlen (name) + 4 + instance_size (member);
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          size += 1 + instance_size (json_array_get_element (array, i));
      }
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING && json_node_get_string (node) != NULL)
        size += strlen (json_node_get_string (node));
      else
        size += 8;
      break;
    default:
      break;
    }
  return size;
}

gint64
owl_schema_budget_for_size (gsize size)
{
  return OWL_SCHEMA_BUDGET_BASE + OWL_SCHEMA_BUDGET_PER_BYTE * (gint64) MIN (size, G_MAXINT32);
}

gboolean
owl_schema_check (OwlSchema   *self,
                  JsonNode    *instance,
                  gint64       budget,
                  char       **pointer,
                  const char **keyword,
                  char       **message)
{
  g_return_val_if_fail (OWL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (instance != NULL, FALSE);

  return owl_schema_check_root (self->root, instance, budget, pointer, keyword, message);
}

/**
 * owl_schema_validate:
 * @self: a schema
 * @instance: the JSON value to check
 * @error: return location for a #GError
 *
 * Checks @instance against the schema, stopping at the first failure. The
 * error, %OWL_ERROR_VALIDATION, reads `pointer: keyword: what`, for example
 * `/name: minLength: shorter than 3 characters`; `pointer` is the JSON
 * pointer of the failing value, or `(root)` for @instance itself. The
 * message quotes nothing of @instance.
 *
 * Returns: %TRUE if @instance is valid
 *
 * Since: 0.1
 */
gboolean
owl_schema_validate (OwlSchema  *self,
                     JsonNode   *instance,
                     GError    **error)
{
  g_autofree char *pointer = NULL;
  g_autofree char *message = NULL;
  const char *keyword = NULL;
  gint64 budget;

  g_return_val_if_fail (OWL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (instance != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  budget = owl_schema_budget_for_size (instance_size (instance));
  if (error == NULL)
    return owl_schema_check (self, instance, budget, NULL, NULL, NULL);
  if (owl_schema_check (self, instance, budget, &pointer, &keyword, &message))
    return TRUE;
  g_set_error (error, OWL_ERROR, OWL_ERROR_VALIDATION, "%s: %s: %s",
               *pointer != '\0' ? pointer : "(root)", keyword, message);
  return FALSE;
}
