/* owl-schema.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-error.h"
#include "owl-json-private.h"
#include "owl-regex-private.h"
#include "owl-schema-types-private.h"

/**
 * OwlSchema:
 *
 * A JSON Schema, compiled once and then used to validate messages.
 *
 * The schema is a subset of JSON Schema 2020-12: `type`, `enum`, `const`,
 * `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
 * `exclusiveMinimum`, `exclusiveMaximum`, `properties`, `required`,
 * `additionalProperties`, `items`, `minItems`, `maxItems`, `allOf`, `anyOf`,
 * `oneOf`, and `$ref` to `#` or to `#/$defs/name`. The annotations `$schema`,
 * `$id`, `$comment`, `title`, `description`, `default`, `examples`,
 * `deprecated`, `readOnly` and `writeOnly` are accepted and ignored; `$defs`
 * holds schemas that are checked even when nothing refers to them.
 *
 * Anything else is refused when the schema is made, so that a misspelt or
 * unsupported keyword never silently lets messages through. Lengths count
 * Unicode characters, numbers compare by value (`1` equals `1.0`, which is an
 * integer), and `pattern` is an unanchored regular expression search with
 * ECMA-262 syntax and semantics over code points (`\d` and `\w` are ASCII,
 * `.` matches any code point but line terminators, `^` and `$` are the
 * start and end of the string). owlsock's matcher never backtracks, so
 * constructs that need backtracking are refused when the schema is made:
 * backreferences, lookahead and lookbehind, and `\p{...}`; a pattern may
 * compile to at most 10,000 instructions.
 *
 * The work one validation may do is bounded by the size of what is
 * validated: about 100,000 steps plus 16 per byte (a step is a subschema
 * applied to a value, 16 bytes a length check reads, or a state a pattern
 * visits at one character). A value that needs more fails as a whole with
 * the keyword `budget`, whatever the schema: no schema and no message can
 * make a check slow.
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
check_clear (Check *check)
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
      g_clear_pointer (&check->u.list.v, g_free);
      break;
    default:
      break;
    }
}

static void
node_free (gpointer data)
{
  Node *node = data;

  for (guint i = 0; i < node->n_checks; i++)
    check_clear (&node->checks[i]);
  g_free (node->checks);
  g_free (node);
}

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
  self->nodes = g_ptr_array_new_with_free_func (node_free);
}

/* Compiling */

typedef struct
{
  Check *check;
  char  *ref;
  char  *name;                         /* the $defs member; NULL for "#" */
  char  *location;
} PendingRef;

typedef struct
{
  OwlSchema  *self;
  GString    *path;                    /* JSON pointer of the schema being compiled */
  guint       depth;
  GPtrArray  *locations;               /* char *, by node index */
  GArray     *refs;                    /* PendingRef */
  GHashTable *defs;                    /* name -> Node: the root's $defs */
  guint8     *marks;                   /* by node index, for the cycle search */
  guint      *chains;                  /* by node index: longest same-location chain */
} Compiler;

typedef gboolean (*CompileFunc) (Compiler  *c,
                                 JsonNode  *value,
                                 Check     *check,
                                 GError   **error);

static Node *compile_schema (Compiler  *c,
                             JsonNode  *json,
                             GError   **error);

static void
pending_ref_clear (gpointer data)
{
  PendingRef *pending = data;

  g_free (pending->ref);
  g_free (pending->name);
  g_free (pending->location);
}

static const char *
location (Compiler *c)
{
  return c->path->len > 0 ? c->path->str : "the root";
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
               "Invalid \"%s\" at %s: %s", check->keyword, location (c), why);
  return FALSE;
}

static Node *
node_new (Compiler *c)
{
  Node *node = g_new0 (Node, 1);

  node->index = c->self->nodes->len;
  g_ptr_array_add (c->self->nodes, node);
  g_ptr_array_add (c->locations, g_strdup (c->path->str));
  return node;
}

/* Compiles the subschema at @keyword (/@name, or /@index when @name is NULL
 * and @index is not -1) below the current one. */
static Node *
compile_child (Compiler    *c,
               JsonNode    *json,
               const char  *keyword,
               const char  *name,
               int          index,
               GError     **error)
{
  gsize len = c->path->len;
  Node *node;

  owl_schema_append_token (c->path, keyword);
  if (name != NULL)
    owl_schema_append_token (c->path, name);
  else if (index >= 0)
    g_string_append_printf (c->path, "/%d", index);
  c->depth++;
  node = compile_schema (c, json, error);
  c->depth--;
  g_string_truncate (c->path, len);
  return node;
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

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
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
      prop->schema = compile_child (c, member, check->keyword, l->data, -1, error);
      if (prop->schema == NULL)
        return FALSE;
    }
  if (n > 1)
    qsort (check->u.props.sorted, n, sizeof (char *), compare_names);
  return TRUE;
}

static gboolean
compile_required (Compiler  *c,
                  JsonNode  *value,
                  Check     *check,
                  GError   **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *array;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (value))
    return refuse (c, check, error, "expected an array of strings");
  array = json_node_get_array (value);
  n = json_array_get_length (array);
  check->u.required = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      const char *name = node_string (json_array_get_element (array, i));

      if (name == NULL)
        return refuse (c, check, error, "element %u is not a string", i);
      if (!g_hash_table_add (seen, (gpointer) name))
        return refuse (c, check, error, "\"%s\" is listed twice", name);
      check->u.required[i] = g_strdup (name);
    }
  return TRUE;
}

/* items, additionalProperties */
static gboolean
compile_subschema (Compiler  *c,
                   JsonNode  *value,
                   Check     *check,
                   GError   **error)
{
  check->u.sub.schema = compile_child (c, value, check->keyword, NULL, -1, error);
  return check->u.sub.schema != NULL;
}

/* allOf, anyOf, oneOf */
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

      check->u.list.v[i] = compile_child (c, json_array_get_element (array, i),
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
  pending.location = g_strdup (location (c));
  g_array_append_val (c->refs, pending);
  return TRUE;
}

typedef struct
{
  const char  *name;
  CheckKind    kind;
  CompileFunc  compile;
} Keyword;

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
};

static const char * const annotations[] = {
  "$schema", "$id", "$comment", "title", "description", "default", "examples",
  "deprecated", "readOnly", "writeOnly",
};

static const Keyword *
find_keyword (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (g_str_equal (name, keywords[i].name))
      return &keywords[i];
  return NULL;
}

static gboolean
is_annotation (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (annotations); i++)
    if (g_str_equal (name, annotations[i]))
      return TRUE;
  return FALSE;
}

/* Every member is compiled; those of the root can be the target of a $ref. */
static gboolean
compile_defs (Compiler  *c,
              JsonNode  *value,
              GError   **error)
{
  g_autoptr(GList) names = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (value))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Invalid \"$defs\" at %s: expected an object of schemas", location (c));
      return FALSE;
    }
  names = json_object_get_members (json_node_get_object (value));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (json_node_get_object (value), l->data);
      Node *node = compile_child (c, member, "$defs", l->data, -1, error);

      if (node == NULL)
        return FALSE;
      if (c->depth == 0)
        g_hash_table_insert (c->defs, g_strdup (l->data), node);
    }
  return TRUE;
}

static gboolean
compile_member (Compiler    *c,
                Node        *node,
                const char  *name,
                JsonNode    *value,
                GError     **error)
{
  const Keyword *keyword = find_keyword (name);
  Check *check;

  if (keyword == NULL && g_str_equal (name, "$defs"))
    return compile_defs (c, value, error);
  if (keyword == NULL && is_annotation (name))
    return TRUE;
  if (keyword == NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Unknown keyword \"%s\" at %s", name, location (c));
      return FALSE;
    }

  /* Counted before it is filled in, so that a half-made check is freed. */
  check = &node->checks[node->n_checks++];
  check->kind = keyword->kind;
  check->keyword = keyword->name;
  return keyword->compile (c, value, check, error);
}

/* additionalProperties applies to the members its sibling `properties`
 * does not name, wherever that sibling is. */
static void
link_additional (Node *node)
{
  const Check *properties = NULL;
  Check *additional = NULL;

  for (guint i = 0; i < node->n_checks; i++)
    {
      if (node->checks[i].kind == CHECK_PROPERTIES)
        properties = &node->checks[i];
      else if (node->checks[i].kind == CHECK_ADDITIONAL_PROPERTIES)
        additional = &node->checks[i];
    }
  if (additional != NULL)
    additional->u.sub.properties = properties;
}

static Node *
compile_object (Compiler    *c,
                JsonObject  *object,
                GError     **error)
{
  g_autoptr(GList) names = json_object_get_members (object);
  Node *node = node_new (c);

  /* At most one check per member; checks never move once made, so $ref
   * and additionalProperties can point at them. */
  node->checks = g_new0 (Check, g_list_length (names));
  for (GList *l = names; l != NULL; l = l->next)
    if (!compile_member (c, node, l->data, json_object_get_member (object, l->data), error))
      return NULL;
  link_additional (node);
  return node;
}

static Node *
compile_schema (Compiler  *c,
                JsonNode  *json,
                GError   **error)
{
  Node *node;

  if (c->depth > OWL_SCHEMA_MAX_DEPTH)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Schema at %s nests deeper than %d levels", location (c), OWL_SCHEMA_MAX_DEPTH);
      return NULL;
    }
  if (JSON_NODE_HOLDS_OBJECT (json))
    return compile_object (c, json_node_get_object (json), error);
  if (JSON_NODE_HOLDS_VALUE (json) && json_node_get_value_type (json) == G_TYPE_BOOLEAN)
    {
      node = node_new (c);
      node->is_false = !json_node_get_boolean (json);
      return node;
    }
  g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
               "Schema at %s is not an object or a boolean", location (c));
  return NULL;
}

static gboolean
resolve_refs (Compiler  *c,
              GError   **error)
{
  for (guint i = 0; i < c->refs->len; i++)
    {
      PendingRef *pending = &g_array_index (c->refs, PendingRef, i);
      Node *target = pending->name == NULL ? c->self->root
                                           : g_hash_table_lookup (c->defs, pending->name);

      if (target == NULL)
        {
          g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                       "Unresolved \"$ref\" at %s: no \"%s\" in the root's \"$defs\"",
                       pending->location, pending->name);
          return FALSE;
        }
      pending->check->u.list.v[0] = target;
    }
  return TRUE;
}

enum { WHITE, GRAY, BLACK };

static gboolean
stays_on_location (const Check *check)
{
  return check->kind == CHECK_REF || check->kind == CHECK_ALL_OF ||
         check->kind == CHECK_ANY_OF || check->kind == CHECK_ONE_OF;
}

static gboolean
refuse_chain (const char  *where,
              GError     **error)
{
  g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
               "\"$ref\" chain at %s applies more than %d schemas in a row to one value",
               *where != '\0' ? where : "the root", OWL_SCHEMA_MAX_DEPTH);
  return FALSE;
}

/* Depth-first over the edges that apply a schema to the same instance
 * location. Such a cycle would recurse forever on any instance; a long
 * chain would recurse deep on every one. Edges that descend into the
 * instance are bounded by the instance, so they are not followed. */
static gboolean
check_chain (Compiler  *c,
             Node      *node,
             guint      depth,
             GError   **error)
{
  const char *where = g_ptr_array_index (c->locations, node->index);
  guint longest = 0;

  if (depth > OWL_SCHEMA_MAX_DEPTH)
    return refuse_chain (where, error);
  c->marks[node->index] = GRAY;
  for (guint i = 0; i < node->n_checks; i++)
    for (guint j = 0; stays_on_location (&node->checks[i]) && j < node->checks[i].u.list.n; j++)
      {
        Node *next = node->checks[i].u.list.v[j];

        if (c->marks[next->index] == GRAY)
          {
            g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                         "Circular \"$ref\" at %s: it applies the same schema again "
                         "without descending into the instance", *where != '\0' ? where : "the root");
            return FALSE;
          }
        if (c->marks[next->index] == WHITE && !check_chain (c, next, depth + 1, error))
          return FALSE;
        longest = MAX (longest, c->chains[next->index] + 1);
      }

  c->chains[node->index] = longest;
  c->marks[node->index] = BLACK;
  return longest <= OWL_SCHEMA_MAX_DEPTH || refuse_chain (where, error);
}

static gboolean
check_chains (Compiler  *c,
              GError   **error)
{
  guint n = c->self->nodes->len;

  c->marks = g_new0 (guint8, n);
  c->chains = g_new0 (guint, n);
  for (guint i = 0; i < n; i++)
    if (c->marks[i] == WHITE && !check_chain (c, g_ptr_array_index (c->self->nodes, i), 0, error))
      return FALSE;
  return TRUE;
}

static OwlSchema *
compile (JsonNode  *json,
         GError   **error)
{
  g_autoptr(OwlSchema) self = g_object_new (OWL_TYPE_SCHEMA, NULL);
  Compiler c = {
    .self = self,
    .path = g_string_new (NULL),
    .locations = g_ptr_array_new_with_free_func (g_free),
    .refs = g_array_new (FALSE, FALSE, sizeof (PendingRef)),
    .defs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  gboolean ok;

  g_array_set_clear_func (c.refs, pending_ref_clear);
  self->root = compile_schema (&c, json, error);
  ok = self->root != NULL && resolve_refs (&c, error) && check_chains (&c, error);

  g_string_free (c.path, TRUE);
  g_ptr_array_unref (c.locations);
  g_array_unref (c.refs);
  g_hash_table_unref (c.defs);
  g_free (c.marks);
  g_free (c.chains);
  return ok ? g_steal_pointer (&self) : NULL;
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
  return node != NULL ? compile (node, error) : NULL;
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

  return compile (node, error);
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
