/* owl-schema-keywords.c: what each keyword of a schema compiles to
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One compile function per keyword, and the table that names them: a new
 * keyword adds its function and its row here, what its check owns to
 * owl_schema_check_clear(), and its check to owl-schema-validate.c. A value
 * a keyword can not use is refused here, when the schema is made, with the
 * keyword and where it is.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owl-error.h"
#include "owl-schema-compile-private.h"

/* Frees what a check owns; subschemas belong to the schema's node list. */
void
owl_schema_check_clear (Check *check)
{
  switch (check->kind)
    {
    case CHECK_CONST:
      g_clear_pointer (&check->u.value, json_node_unref);
      break;
    case CHECK_ENUM:
      g_clear_pointer (&check->u.values, g_ptr_array_unref);
      break;
    case CHECK_PATTERN:
      g_clear_pointer (&check->u.regex, owl_regex_free);
      break;
    case CHECK_REQUIRED:
      g_clear_pointer (&check->u.required, g_strfreev);
      break;
    case CHECK_PROPERTIES:
      for (guint i = 0; i < check->u.props.n; i++)
        g_free (check->u.props.v[i].name);
      g_clear_pointer (&check->u.props.v, g_free);
      g_clear_pointer (&check->u.props.sorted, g_free);
      break;
    case CHECK_ALL_OF:
    case CHECK_ANY_OF:
    case CHECK_ONE_OF:
    case CHECK_REF:
    case CHECK_NOT:
    case CHECK_IF:
    case CHECK_THEN:
    case CHECK_ELSE:
    case CHECK_PREFIX_ITEMS:
    case CHECK_DEPENDENT_SCHEMAS:
      g_clear_pointer (&check->u.list.v, g_free);
      g_clear_pointer (&check->u.list.names, g_strfreev);
      break;
    case CHECK_DEPENDENT_REQUIRED:
      for (guint i = 0; i < check->u.deps.n; i++)
        g_strfreev (check->u.deps.required[i]);
      g_clear_pointer (&check->u.deps.required, g_free);
      g_clear_pointer (&check->u.deps.names, g_strfreev);
      break;
    case CHECK_PATTERN_PROPERTIES:
      for (guint i = 0; i < check->u.patterns.n; i++)
        owl_regex_free (check->u.patterns.regex[i]);
      g_clear_pointer (&check->u.patterns.regex, g_free);
      g_clear_pointer (&check->u.patterns.schema, g_free);
      break;
    default:
      break;
    }
}

static gboolean G_GNUC_PRINTF (4, 5)
refuse (Compiler    *c,
        const Check *check,
        GError     **error,
        const char  *format,
        ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
               "Invalid \"%s\" at %s: %s", check->keyword, owl_schema_compile_location (c), why);
  return FALSE;
}

static const char *
node_string (JsonNode *node)
{
  if (JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static guint
type_bit (const char *name)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (owl_schema_type_names); i++)
    if (g_str_equal (name, owl_schema_type_names[i]))
      return 1u << i;
  return 0;
}

static gboolean
compile_type (Compiler  *c,
              JsonNode  *value,
              Check     *check,
              GError   **error)
{
  JsonArray *array;

  if (node_string (value) != NULL)
    {
      check->u.types = type_bit (node_string (value));
      return check->u.types != 0 ||
             refuse (c, check, error, "unknown type \"%s\"", node_string (value));
    }
  if (!JSON_NODE_HOLDS_ARRAY (value) || json_array_get_length (json_node_get_array (value)) == 0)
    return refuse (c, check, error, "expected a type name or a non-empty array of them");

  array = json_node_get_array (value);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *name = node_string (json_array_get_element (array, i));
      guint bit = type_bit (name);

      if (bit == 0)
        return refuse (c, check, error, "element %u is not a known type name", i);
      if (check->u.types & bit)
        return refuse (c, check, error, "\"%s\" is listed twice", name);
      check->u.types |= bit;
    }
  return TRUE;
}

static gboolean
compile_const (Compiler  *c,
               JsonNode  *value,
               Check     *check,
               GError   **error)
{
  check->u.value = owl_schema_copy_value (value, OWL_SCHEMA_MAX_DEPTH);
  return check->u.value != NULL ||
         refuse (c, check, error, "the value nests deeper than %d levels", OWL_SCHEMA_MAX_DEPTH);
}

static gboolean
compile_enum (Compiler  *c,
              JsonNode  *value,
              Check     *check,
              GError   **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (value) || json_array_get_length (json_node_get_array (value)) == 0)
    return refuse (c, check, error, "expected a non-empty array");

  array = json_node_get_array (value);
  check->u.values = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *copy = owl_schema_copy_value (json_array_get_element (array, i), OWL_SCHEMA_MAX_DEPTH);

      if (copy == NULL)
        return refuse (c, check, error, "element %u nests deeper than %d levels", i, OWL_SCHEMA_MAX_DEPTH);
      g_ptr_array_add (check->u.values, copy);
    }
  return TRUE;
}

/* minLength, maxLength, minItems, maxItems; 2.0 is an integer too. */
static gboolean
compile_count (Compiler  *c,
               JsonNode  *value,
               Check     *check,
               GError   **error)
{
  Number n;

  if (owl_schema_number_from_node (value, &n) && n.is_int && n.i >= 0)
    check->u.count = (guint64) n.i;
  else if (owl_schema_number_from_node (value, &n) && !n.is_int && n.d >= 0 &&
           n.d < 9223372036854775808.0 && owl_schema_double_is_integral (n.d))
    check->u.count = (guint64) n.d;
  else
    return refuse (c, check, error, "expected a non-negative integer");
  return TRUE;
}

static gboolean
compile_bound (Compiler  *c,
               JsonNode  *value,
               Check     *check,
               GError   **error)
{
  return owl_schema_number_from_node (value, &check->u.bound) ||
         refuse (c, check, error, "expected a number");
}

static gboolean
compile_pattern (Compiler  *c,
                 JsonNode  *value,
                 Check     *check,
                 GError   **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *pattern = node_string (value);

  if (pattern == NULL)
    return refuse (c, check, error, "expected a string");
  check->u.regex = owl_regex_new (pattern, &local_error);
  return check->u.regex != NULL || refuse (c, check, error, "%s", local_error->message);
}

static gboolean
compile_properties (Compiler  *c,
                    JsonNode  *value,
                    Check     *check,
                    GError   **error)
{
  g_autoptr(GList) names = NULL;
  guint n;

  if (!JSON_NODE_HOLDS_OBJECT (value))
    return refuse (c, check, error, "expected an object of schemas");

  names = json_object_get_members (json_node_get_object (value));
  n = g_list_length (names);
  check->u.props.v = g_new0 (Property, n);
  check->u.props.sorted = g_new0 (const char *, n);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (json_node_get_object (value), l->data);
      Property *prop = &check->u.props.v[check->u.props.n];

      prop->name = g_strdup (l->data);
      check->u.props.sorted[check->u.props.n++] = prop->name;
      prop->schema = owl_schema_compile_child (c, member, check->keyword, l->data, -1, error);
      if (prop->schema == NULL)
        return FALSE;
    }
  if (n > 1)
    qsort (check->u.props.sorted, n, sizeof (char *), owl_schema_compare_strings);
  return TRUE;
}

/* An array of distinct strings, as `required` and each member of
 * `dependentRequired` hold, into *@out (NULL-terminated). */
static gboolean
compile_names (Compiler     *c,
               const Check  *check,
               JsonNode     *value,
               char       ***out,
               GError      **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *array;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (value))
    return refuse (c, check, error, "expected an array of strings");
  array = json_node_get_array (value);
  n = json_array_get_length (array);
  *out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      const char *name = node_string (json_array_get_element (array, i));

      if (name == NULL)
        return refuse (c, check, error, "element %u is not a string", i);
      if (!g_hash_table_add (seen, (gpointer) name))
        return refuse (c, check, error, "\"%s\" is listed twice", name);
      (*out)[i] = g_strdup (name);
    }
  return TRUE;
}

static gboolean
compile_required (Compiler  *c,
                  JsonNode  *value,
                  Check     *check,
                  GError   **error)
{
  return compile_names (c, check, value, &check->u.required, error);
}

typedef gboolean (*MemberFunc) (Compiler    *c,
                                Check       *check,
                                guint        n,
                                const char  *name,
                                JsonNode    *member,
                                GError     **error);

/* @each on every member of @value, which must be an object of @what; @n,
 * the number of members, sizes what @each fills in. */
static gboolean
compile_members (Compiler    *c,
                 JsonNode    *value,
                 Check       *check,
                 const char  *what,
                 MemberFunc   each,
                 GError     **error)
{
  g_autoptr(GList) names = NULL;
  JsonObject *object;
  guint n;

  if (!JSON_NODE_HOLDS_OBJECT (value))
    return refuse (c, check, error, "expected an object of %s", what);
  object = json_node_get_object (value);
  names = json_object_get_members (object);
  n = g_list_length (names);
  for (GList *l = names; l != NULL; l = l->next)
    if (!each (c, check, n, l->data, json_object_get_member (object, l->data), error))
      return FALSE;
  return TRUE;
}

/* dependentRequired: {name: [names required when it is present]} */
static gboolean
dependent_required_member (Compiler    *c,
                           Check       *check,
                           guint        n,
                           const char  *name,
                           JsonNode    *member,
                           GError     **error)
{
  guint i = check->u.deps.n++;

  if (check->u.deps.names == NULL)
    {
      check->u.deps.names = g_new0 (char *, n + 1);
      check->u.deps.required = g_new0 (GStrv, n);
    }
  /* Counted first, so that a half-made list is freed. */
  check->u.deps.names[i] = g_strdup (name);
  return compile_names (c, check, member, &check->u.deps.required[i], error);
}

static gboolean
compile_dependent_required (Compiler  *c,
                            JsonNode  *value,
                            Check     *check,
                            GError   **error)
{
  return compile_members (c, value, check, "arrays of strings", dependent_required_member, error);
}

/* dependentSchemas: {name: schema applied when it is present} */
static gboolean
dependent_schema_member (Compiler    *c,
                         Check       *check,
                         guint        n,
                         const char  *name,
                         JsonNode    *member,
                         GError     **error)
{
  Node *node;

  if (check->u.list.v == NULL)
    {
      check->u.list.names = g_new0 (char *, n + 1);
      check->u.list.v = g_new0 (Node *, n);
    }
  if ((node = owl_schema_compile_child (c, member, check->keyword, name, -1, error)) == NULL)
    return FALSE;
  check->u.list.names[check->u.list.n] = g_strdup (name);
  check->u.list.v[check->u.list.n++] = node;
  return TRUE;
}

static gboolean
compile_dependent_schemas (Compiler  *c,
                           JsonNode  *value,
                           Check     *check,
                           GError   **error)
{
  return compile_members (c, value, check, "schemas", dependent_schema_member, error);
}

/* patternProperties: {regex: schema} */
static gboolean
pattern_member (Compiler    *c,
                Check       *check,
                guint        n,
                const char  *name,
                JsonNode    *member,
                GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(OwlRegex) regex = NULL;
  Node *node;

  if (check->u.patterns.regex == NULL)
    {
      check->u.patterns.regex = g_new0 (OwlRegex *, n);
      check->u.patterns.schema = g_new0 (Node *, n);
    }
  if ((regex = owl_regex_new (name, &local_error)) == NULL)
    return refuse (c, check, error, "%s", local_error->message);
  if ((node = owl_schema_compile_child (c, member, check->keyword, name, -1, error)) == NULL)
    return FALSE;
  check->u.patterns.regex[check->u.patterns.n] = g_steal_pointer (&regex);
  check->u.patterns.schema[check->u.patterns.n++] = node;
  return TRUE;
}

static gboolean
compile_pattern_properties (Compiler  *c,
                            JsonNode  *value,
                            Check     *check,
                            GError   **error)
{
  return compile_members (c, value, check, "schemas", pattern_member, error);
}

/* items, additionalProperties, propertyNames, contains */
static gboolean
compile_subschema (Compiler  *c,
                   JsonNode  *value,
                   Check     *check,
                   GError   **error)
{
  check->u.sub.schema = owl_schema_compile_child (c, value, check->keyword, NULL, -1, error);
  return check->u.sub.schema != NULL;
}

/* not, if, then, else: a list of one, applied to the same value. */
static gboolean
compile_single (Compiler  *c,
                JsonNode  *value,
                Check     *check,
                GError   **error)
{
  check->u.list.v = g_new0 (Node *, 1);
  check->u.list.v[0] = owl_schema_compile_child (c, value, check->keyword, NULL, -1, error);
  check->u.list.n = check->u.list.v[0] != NULL;
  return check->u.list.n == 1;
}

static gboolean
compile_multiple_of (Compiler  *c,
                     JsonNode  *value,
                     Check     *check,
                     GError   **error)
{
  Number *m = &check->u.bound;

  /* A node made in code may hold infinity, which JSON text cannot. */
  if (!owl_schema_number_from_node (value, m) ||
      (m->is_int ? m->i <= 0 : !(m->d > 0 && isfinite (m->d))))
    return refuse (c, check, error, "expected a number greater than 0");
  return TRUE;
}

static gboolean
compile_boolean (Compiler  *c,
                 JsonNode  *value,
                 Check     *check,
                 GError   **error)
{
  if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
    return refuse (c, check, error, "expected true or false");
  check->u.count = json_node_get_boolean (value);
  return TRUE;
}

/* Unknown format names are refused, as unknown keywords are: a format
 * owlsock would not check must not look checked. */
static gboolean
compile_format (Compiler  *c,
                JsonNode  *value,
                Check     *check,
                GError   **error)
{
  const char *name = node_string (value);

  if (name == NULL)
    return refuse (c, check, error, "expected a string");
  check->u.format = owl_schema_find_format (name);
  return check->u.format != NULL || refuse (c, check, error, "unsupported format \"%s\"", name);
}

/* allOf, anyOf, oneOf, prefixItems */
static gboolean
compile_list (Compiler  *c,
              JsonNode  *value,
              Check     *check,
              GError   **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (value) || json_array_get_length (json_node_get_array (value)) == 0)
    return refuse (c, check, error, "expected a non-empty array of schemas");

  array = json_node_get_array (value);
  check->u.list.v = g_new0 (Node *, json_array_get_length (array));
  for (; check->u.list.n < json_array_get_length (array); check->u.list.n++)
    {
      guint i = check->u.list.n;

      check->u.list.v[i] = owl_schema_compile_child (c, json_array_get_element (array, i),
                                          check->keyword, NULL, i, error);
      if (check->u.list.v[i] == NULL)
        return FALSE;
    }
  return TRUE;
}

/* The $defs member "#/$defs/<token>" names: the fragment is percent-decoded,
 * then read as a JSON pointer (RFC 6901, section 6). NULL if @ref is anything
 * else. */
static char *
ref_def_name (const char *ref)
{
  g_autofree char *fragment = g_uri_unescape_string (ref, NULL);
  const char *token;
  GString *name;

  if (fragment == NULL || !g_str_has_prefix (fragment, "#/$defs/"))
    return NULL;
  token = fragment + strlen ("#/$defs/");
  if (*token == '\0' || strchr (token, '/') != NULL)
    return NULL;

  name = g_string_new (NULL);
  for (const char *p = token; *p != '\0'; p++)
    {
      if (*p == '~' && p[1] != '0' && p[1] != '1')
        {
          g_string_free (name, TRUE);
          return NULL;
        }
      if (*p == '~')
        g_string_append_c (name, *++p == '0' ? '~' : '/');
      else
        g_string_append_c (name, *p);
    }
  return g_string_free (name, FALSE);
}

/* The target is found once the whole schema is compiled (resolve_refs). */
static gboolean
compile_ref (Compiler  *c,
             JsonNode  *value,
             Check     *check,
             GError   **error)
{
  const char *ref = node_string (value);
  PendingRef pending = { check, NULL, NULL, NULL };

  if (ref == NULL)
    return refuse (c, check, error, "expected a string");
  if (!g_str_equal (ref, "#") && (pending.name = ref_def_name (ref)) == NULL)
    return refuse (c, check, error, "\"%s\" is not \"#\" or \"#/$defs/<name>\"", ref);

  check->u.list.v = g_new0 (Node *, 1);
  check->u.list.n = 1;
  pending.ref = g_strdup (ref);
  pending.location = g_strdup (owl_schema_compile_location (c));
  g_array_append_val (c->refs, pending);
  return TRUE;
}

/* Each keyword: its name, the check it compiles to, and how. */
static const Keyword keywords[] = {
  { "type",                 CHECK_TYPE,                  compile_type },
  { "const",                CHECK_CONST,                 compile_const },
  { "enum",                 CHECK_ENUM,                  compile_enum },
  { "minLength",            CHECK_MIN_LENGTH,            compile_count },
  { "maxLength",            CHECK_MAX_LENGTH,            compile_count },
  { "pattern",              CHECK_PATTERN,               compile_pattern },
  { "minimum",              CHECK_MINIMUM,               compile_bound },
  { "maximum",              CHECK_MAXIMUM,               compile_bound },
  { "exclusiveMinimum",     CHECK_EXCLUSIVE_MINIMUM,     compile_bound },
  { "exclusiveMaximum",     CHECK_EXCLUSIVE_MAXIMUM,     compile_bound },
  { "properties",           CHECK_PROPERTIES,            compile_properties },
  { "required",             CHECK_REQUIRED,              compile_required },
  { "additionalProperties", CHECK_ADDITIONAL_PROPERTIES, compile_subschema },
  { "items",                CHECK_ITEMS,                 compile_subschema },
  { "minItems",             CHECK_MIN_ITEMS,             compile_count },
  { "maxItems",             CHECK_MAX_ITEMS,             compile_count },
  { "allOf",                CHECK_ALL_OF,                compile_list },
  { "anyOf",                CHECK_ANY_OF,                compile_list },
  { "oneOf",                CHECK_ONE_OF,                compile_list },
  { "$ref",                 CHECK_REF,                   compile_ref },
  { "not",                  CHECK_NOT,                   compile_single },
  { "if",                   CHECK_IF,                    compile_single },
  { "then",                 CHECK_THEN,                  compile_single },
  { "else",                 CHECK_ELSE,                  compile_single },
  { "format",               CHECK_FORMAT,                compile_format },
  { "multipleOf",           CHECK_MULTIPLE_OF,           compile_multiple_of },
  { "minProperties",        CHECK_MIN_PROPERTIES,        compile_count },
  { "maxProperties",        CHECK_MAX_PROPERTIES,        compile_count },
  { "dependentRequired",    CHECK_DEPENDENT_REQUIRED,    compile_dependent_required },
  { "dependentSchemas",     CHECK_DEPENDENT_SCHEMAS,     compile_dependent_schemas },
  { "propertyNames",        CHECK_PROPERTY_NAMES,        compile_subschema },
  { "patternProperties",    CHECK_PATTERN_PROPERTIES,    compile_pattern_properties },
  { "uniqueItems",          CHECK_UNIQUE_ITEMS,          compile_boolean },
  { "contains",             CHECK_CONTAINS,              compile_subschema },
  { "minContains",          CHECK_MIN_CONTAINS,          compile_count },
  { "maxContains",          CHECK_MAX_CONTAINS,          compile_count },
  { "prefixItems",          CHECK_PREFIX_ITEMS,          compile_list },
};

static const char * const annotations[] = {
  "$schema", "$id", "$comment", "title", "description", "default", "examples",
  "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
  "contentSchema",
};

const Keyword *
owl_schema_find_keyword (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (g_str_equal (name, keywords[i].name))
      return &keywords[i];
  return NULL;
}

gboolean
owl_schema_is_annotation (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (annotations); i++)
    if (g_str_equal (name, annotations[i]))
      return TRUE;
  return FALSE;
}
