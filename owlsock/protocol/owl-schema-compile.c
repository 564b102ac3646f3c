/* owl-schema-compile.c: a schema document into the graph of nodes and checks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Walks the document once, each member through its keyword's compile
 * function, then points each $ref at its target and refuses cycles and long
 * chains that would apply schema after schema to one instance location.
 */

#include "owl-error.h"
#include "owl-schema-compile-private.h"

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

const char *
owl_schema_compile_location (Compiler *c)
{
  return c->path->len > 0 ? c->path->str : "the root";
}

static Node *
node_new (Compiler *c)
{
  Node *node = g_new0 (Node, 1);

  node->index = c->nodes->len;
  g_ptr_array_add (c->nodes, node);
  g_ptr_array_add (c->locations, g_strdup (c->path->str));
  return node;
}

/* Compiles the subschema at @keyword (/@name, or /@index when @name is NULL
 * and @index is not -1) below the current one. */
Node *
owl_schema_compile_child (Compiler    *c,
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

void
owl_schema_node_free (gpointer data)
{
  Node *node = data;

  for (guint i = 0; i < node->n_checks; i++)
    owl_schema_check_clear (&node->checks[i]);
  g_free (node->checks);
  g_free (node);
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
                   "Invalid \"$defs\" at %s: expected an object of schemas",
                   owl_schema_compile_location (c));
      return FALSE;
    }
  names = json_object_get_members (json_node_get_object (value));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (json_node_get_object (value), l->data);
      Node *node = owl_schema_compile_child (c, member, "$defs", l->data, -1, error);

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
  const Keyword *keyword = owl_schema_find_keyword (name);
  Check *check;

  if (keyword == NULL && g_str_equal (name, "$defs"))
    return compile_defs (c, value, error);
  if (keyword == NULL && owl_schema_is_annotation (name))
    return TRUE;
  if (keyword == NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Unknown keyword \"%s\" at %s", name, owl_schema_compile_location (c));
      return FALSE;
    }

  /* Counted before it is filled in, so that a half-made check is freed. */
  check = &node->checks[node->n_checks++];
  check->kind = keyword->kind;
  check->keyword = keyword->name;
  return keyword->compile (c, value, check, error);
}

/* Keywords whose meaning depends on a sibling: additionalProperties
 * applies to the members `properties` and `patternProperties` leave,
 * `items` to the elements after `prefixItems`, `contains` counts between
 * `minContains` and `maxContains`, `if` chooses `then` or `else`. */
static void
link_siblings (Node *node)
{
  Check *by_kind[N_CHECK_KINDS] = { NULL, };
  Check *additional, *items, *contains, *cond;

  for (guint i = 0; i < node->n_checks; i++)
    by_kind[node->checks[i].kind] = &node->checks[i];
  if ((additional = by_kind[CHECK_ADDITIONAL_PROPERTIES]) != NULL)
    {
      additional->u.sub.properties = by_kind[CHECK_PROPERTIES];
      additional->u.sub.patterns = by_kind[CHECK_PATTERN_PROPERTIES];
    }
  if ((items = by_kind[CHECK_ITEMS]) != NULL)
    items->u.sub.prefix = by_kind[CHECK_PREFIX_ITEMS];
  if ((contains = by_kind[CHECK_CONTAINS]) != NULL)
    {
      contains->u.sub.min = by_kind[CHECK_MIN_CONTAINS];
      contains->u.sub.max = by_kind[CHECK_MAX_CONTAINS];
    }
  if ((cond = by_kind[CHECK_IF]) != NULL)
    {
      cond->u.list.then_check = by_kind[CHECK_THEN];
      cond->u.list.else_check = by_kind[CHECK_ELSE];
    }
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
  link_siblings (node);
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
                   "Schema at %s nests deeper than %d levels",
                   owl_schema_compile_location (c), OWL_SCHEMA_MAX_DEPTH);
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
               "Schema at %s is not an object or a boolean", owl_schema_compile_location (c));
  return NULL;
}

static gboolean
resolve_refs (Compiler  *c,
              GError   **error)
{
  for (guint i = 0; i < c->refs->len; i++)
    {
      PendingRef *pending = &g_array_index (c->refs, PendingRef, i);
      Node *target = pending->name == NULL ? c->root
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
  switch (check->kind)
    {
    case CHECK_REF:
    case CHECK_ALL_OF:
    case CHECK_ANY_OF:
    case CHECK_ONE_OF:
    case CHECK_NOT:
    case CHECK_IF:
    case CHECK_THEN:
    case CHECK_ELSE:
    case CHECK_DEPENDENT_SCHEMAS:
      return TRUE;
    default:
      return FALSE;
    }
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
  guint n = c->nodes->len;

  c->marks = g_new0 (guint8, n);
  c->chains = g_new0 (guint, n);
  for (guint i = 0; i < n; i++)
    if (c->marks[i] == WHITE && !check_chain (c, g_ptr_array_index (c->nodes, i), 0, error))
      return FALSE;
  return TRUE;
}

/* Compiles @json into nodes added to @nodes, which keeps them whatever
 * happens. Returns the root, or NULL with @error set. */
Node *
owl_schema_compile (JsonNode   *json,
                    GPtrArray  *nodes,
                    GError    **error)
{
  Compiler c = {
    .nodes = nodes,
    .path = g_string_new (NULL),
    .locations = g_ptr_array_new_with_free_func (g_free),
    .refs = g_array_new (FALSE, FALSE, sizeof (PendingRef)),
    .defs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  gboolean ok;

  g_array_set_clear_func (c.refs, pending_ref_clear);
  c.root = compile_schema (&c, json, error);
  ok = c.root != NULL && resolve_refs (&c, error) && check_chains (&c, error);

  g_string_free (c.path, TRUE);
  g_ptr_array_unref (c.locations);
  g_array_unref (c.refs);
  g_hash_table_unref (c.defs);
  g_free (c.marks);
  g_free (c.chains);
  return ok ? c.root : NULL;
}
