/* owl-schema-validate.c: validating an instance against a compiled schema
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The walk stops at the first failing keyword. Its work is bounded by a
 * budget that owl_schema_budget_for_size() derives from the size of the
 * instance, so that no schema can make one message cost much more than
 * reading it; what failed is recorded only when someone asks.
 */

#include <string.h>

#include "owl-schema-types-private.h"

static gboolean validate (const Node *node,
                          JsonNode   *instance,
                          Failure    *fail);

static gboolean
fail_at (Failure     *fail,
         const Check *check)
{
  if (!fail->quiet)
    fail->check = check;
  return FALSE;
}

/* A subschema failed; a `false` one is blamed on the keyword that applied it. */
static gboolean
fail_in (Failure     *fail,
         const Check *check)
{
  if (!fail->quiet && fail->check == NULL)
    {
      fail->check = check;
      fail->false_schema = TRUE;
    }
  return FALSE;
}

/* The same, for a subschema applied to a member or an element: the pointer
 * is built from here on the way back up, and only on failure. */
static gboolean
fail_below (Failure     *fail,
            const Check *check,
            const char  *name,
            guint        index)
{
  Segment segment = { name, index };

  if (fail->quiet)
    return FALSE;
  fail_in (fail, check);
  if (fail->segments == NULL)
    fail->segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  g_array_append_val (fail->segments, segment);
  return FALSE;
}

/* Takes @cost from the budget; FALSE (for good) once it is spent. */
static gboolean
spend (Budget *budget,
       gint64  cost)
{
  if (budget->exhausted || (budget->left -= cost) < 0)
    {
      budget->exhausted = TRUE;
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_type (const Check *check,
            JsonNode    *instance,
            guint        types,
            Failure     *fail)
{
  return (types & check->u.types) != 0 || fail_at (fail, check);
}

static gboolean
check_const (const Check *check,
             JsonNode    *instance,
             guint        types,
             Failure     *fail)
{
  return owl_schema_values_equal (instance, check->u.value) || fail_at (fail, check);
}

static gboolean
check_enum (const Check *check,
            JsonNode    *instance,
            guint        types,
            Failure     *fail)
{
  for (guint i = 0; i < check->u.values->len; i++)
    if (owl_schema_values_equal (instance, g_ptr_array_index (check->u.values, i)))
      return TRUE;
  return fail_at (fail, check);
}

/* A length check reads the whole string: one step per 16 bytes. FALSE when
 * that is more than the budget has left. */
static gboolean
measure_string (JsonNode *instance,
                Budget   *budget,
                guint64  *length)
{
  const char *string = json_node_get_string (instance);
  gsize len = strlen (string);

  if (!spend (budget, 1 + len / 16))
    return FALSE;
  *length = (guint64) g_utf8_strlen (string, len);
  return TRUE;
}

static gboolean
check_min_length (const Check *check,
                  JsonNode    *instance,
                  guint        types,
                  Failure     *fail)
{
  guint64 length;

  return (measure_string (instance, fail->budget, &length) && length >= check->u.count) ||
         fail_at (fail, check);
}

static gboolean
check_max_length (const Check *check,
                  JsonNode    *instance,
                  guint        types,
                  Failure     *fail)
{
  guint64 length;

  return (measure_string (instance, fail->budget, &length) && length <= check->u.count) ||
         fail_at (fail, check);
}

/* A pattern spends its own steps: owlsock's matcher never backtracks, and
 * counts the states it visits at each code point. */
static gboolean
check_pattern (const Check *check,
               JsonNode    *instance,
               guint        types,
               Failure     *fail)
{
  const char *string = json_node_get_string (instance);

  switch (owl_regex_search (check->u.regex, string, strlen (string), &fail->budget->left))
    {
    case OWL_REGEX_MATCH:
      return TRUE;
    case OWL_REGEX_TOO_COSTLY:
      fail->budget->exhausted = TRUE;
      return fail_at (fail, check);
    case OWL_REGEX_NO_MATCH:
    default:
      return fail_at (fail, check);
    }
}

/* minimum & co: @instance, a number, compared to the keyword's bound. */
static int
compare_to_bound (const Check *check,
                  JsonNode    *instance)
{
  Number number;

  owl_schema_number_from_node (instance, &number);
  return owl_schema_number_compare (&number, &check->u.bound);
}

static gboolean
check_minimum (const Check *check,
               JsonNode    *instance,
               guint        types,
               Failure     *fail)
{
  return compare_to_bound (check, instance) >= 0 || fail_at (fail, check);
}

static gboolean
check_maximum (const Check *check,
               JsonNode    *instance,
               guint        types,
               Failure     *fail)
{
  return compare_to_bound (check, instance) <= 0 || fail_at (fail, check);
}

static gboolean
check_exclusive_minimum (const Check *check,
                         JsonNode    *instance,
                         guint        types,
                         Failure     *fail)
{
  return compare_to_bound (check, instance) > 0 || fail_at (fail, check);
}

static gboolean
check_exclusive_maximum (const Check *check,
                         JsonNode    *instance,
                         guint        types,
                         Failure     *fail)
{
  return compare_to_bound (check, instance) < 0 || fail_at (fail, check);
}

static gboolean
check_properties (const Check *check,
                  JsonNode    *instance,
                  guint        types,
                  Failure     *fail)
{
  JsonObject *object = json_node_get_object (instance);

  for (guint i = 0; i < check->u.props.n; i++)
    {
      const Property *prop = &check->u.props.v[i];
      JsonNode *member = json_object_get_member (object, prop->name);

      if (member != NULL && !validate (prop->schema, member, fail))
        return fail_below (fail, check, prop->name, 0);
    }
  return TRUE;
}

static gboolean
check_required (const Check *check,
                JsonNode    *instance,
                guint        types,
                Failure     *fail)
{
  JsonObject *object = json_node_get_object (instance);

  for (char **name = check->u.required; *name != NULL; name++)
    if (!json_object_has_member (object, *name))
      {
        if (!fail->quiet)
          fail->missing = *name;
        return fail_at (fail, check);
      }
  return TRUE;
}

static gboolean
is_declared (const Check *properties,
             const char  *name)
{
  guint lo = 0, hi = properties != NULL ? properties->u.props.n : 0;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      int cmp = strcmp (name, properties->u.props.sorted[mid]);

      if (cmp == 0)
        return TRUE;
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return FALSE;
}

/* Searches @name with one pattern of patternProperties, spending from the
 * budget; TOO_COSTLY marks the budget spent. */
static OwlRegexResult
match_pattern (const Check *patterns,
               guint        i,
               const char  *name,
               Failure     *fail)
{
  OwlRegexResult result;

  if (fail->budget->exhausted)
    return OWL_REGEX_TOO_COSTLY;
  result = owl_regex_search (patterns->u.patterns.regex[i], name, strlen (name),
                             &fail->budget->left);
  if (result == OWL_REGEX_TOO_COSTLY)
    fail->budget->exhausted = TRUE;
  return result;
}

/* Whether a pattern of @patterns (NULL: none) matches @name. */
static OwlRegexResult
match_any_pattern (const Check *patterns,
                   const char  *name,
                   Failure     *fail)
{
  for (guint i = 0; patterns != NULL && i < patterns->u.patterns.n; i++)
    {
      OwlRegexResult result = match_pattern (patterns, i, name, fail);

      if (result != OWL_REGEX_NO_MATCH)
        return result;
    }
  return OWL_REGEX_NO_MATCH;
}

typedef gboolean (*MemberFunc) (const Check *check,
                                const char  *name,
                                JsonNode    *member,
                                Failure     *fail);

/* @each on every member of @instance, in member order (which json-glib
 * keeps, so the report is deterministic); a failure is the member's. */
static gboolean
check_members (const Check *check,
               JsonNode    *instance,
               MemberFunc   each,
               Failure     *fail)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, json_node_get_object (instance));
  while (json_object_iter_next_ordered (&iter, &name, &member))
    if (!each (check, name, member, fail))
      return fail_below (fail, check, name, 0);
  return TRUE;
}

static gboolean
accepts_all (const Node *schema)
{
  return !schema->is_false && schema->n_checks == 0;
}

/* patternProperties: the member against the schema of every pattern its
 * name matches. */
static gboolean
pattern_member (const Check *check,
                const char  *name,
                JsonNode    *member,
                Failure     *fail)
{
  for (guint i = 0; i < check->u.patterns.n; i++)
    switch (match_pattern (check, i, name, fail))
      {
      case OWL_REGEX_MATCH:
        if (!validate (check->u.patterns.schema[i], member, fail))
          return FALSE;
        break;
      case OWL_REGEX_TOO_COSTLY:
        return FALSE;
      case OWL_REGEX_NO_MATCH:
      default:
        break;
      }
  return TRUE;
}

static gboolean
check_pattern_properties (const Check *check,
                          JsonNode    *instance,
                          guint        types,
                          Failure     *fail)
{
  return check_members (check, instance, pattern_member, fail);
}

/* propertyNames: the member's name, as a string, against the schema. */
static gboolean
name_member (const Check *check,
             const char  *name,
             JsonNode    *member,
             Failure     *fail)
{
  g_autoptr(JsonNode) string = json_node_init_string (json_node_alloc (), name);

  return validate (check->u.sub.schema, string, fail);
}

static gboolean
check_property_names (const Check *check,
                      JsonNode    *instance,
                      guint        types,
                      Failure     *fail)
{
  return accepts_all (check->u.sub.schema) ||
         check_members (check, instance, name_member, fail);
}

static gboolean
check_min_properties (const Check *check,
                      JsonNode    *instance,
                      guint        types,
                      Failure     *fail)
{
  return json_object_get_size (json_node_get_object (instance)) >= check->u.count ||
         fail_at (fail, check);
}

static gboolean
check_max_properties (const Check *check,
                      JsonNode    *instance,
                      guint        types,
                      Failure     *fail)
{
  return json_object_get_size (json_node_get_object (instance)) <= check->u.count ||
         fail_at (fail, check);
}

static gboolean
check_dependent_required (const Check *check,
                          JsonNode    *instance,
                          guint        types,
                          Failure     *fail)
{
  JsonObject *object = json_node_get_object (instance);

  for (guint i = 0; i < check->u.deps.n; i++)
    {
      if (!json_object_has_member (object, check->u.deps.names[i]))
        continue;
      for (char **name = check->u.deps.required[i]; *name != NULL; name++)
        if (!json_object_has_member (object, *name))
          {
            if (!fail->quiet)
              {
                fail->missing = *name;
                fail->trigger = check->u.deps.names[i];
              }
            return fail_at (fail, check);
          }
    }
  return TRUE;
}

static gboolean
check_dependent_schemas (const Check *check,
                         JsonNode    *instance,
                         guint        types,
                         Failure     *fail)
{
  JsonObject *object = json_node_get_object (instance);

  for (guint i = 0; i < check->u.list.n; i++)
    if (json_object_has_member (object, check->u.list.names[i]) &&
        !validate (check->u.list.v[i], instance, fail))
      return fail_in (fail, check);
  return TRUE;
}

/* additionalProperties: a member neither `properties` nor a pattern of
 * `patternProperties` names, against the schema. */
static gboolean
additional_member (const Check *check,
                   const char  *name,
                   JsonNode    *member,
                   Failure     *fail)
{
  if (is_declared (check->u.sub.properties, name))
    return TRUE;
  switch (match_any_pattern (check->u.sub.patterns, name, fail))
    {
    case OWL_REGEX_MATCH:
      return TRUE;
    case OWL_REGEX_TOO_COSTLY:
      return FALSE;
    case OWL_REGEX_NO_MATCH:
    default:
      return validate (check->u.sub.schema, member, fail);
    }
}

static gboolean
check_additional (const Check *check,
                  JsonNode    *instance,
                  guint        types,
                  Failure     *fail)
{
  return accepts_all (check->u.sub.schema) ||
         check_members (check, instance, additional_member, fail);
}

static gboolean
check_items (const Check *check,
             JsonNode    *instance,
             guint        types,
             Failure     *fail)
{
  JsonArray *array = json_node_get_array (instance);
  guint n = json_array_get_length (array);
  const Check *prefix = check->u.sub.prefix;

  /* In 2020-12, `items` is for the elements after `prefixItems`. */
  for (guint i = prefix != NULL ? prefix->u.list.n : 0; i < n; i++)
    if (!validate (check->u.sub.schema, json_array_get_element (array, i), fail))
      return fail_below (fail, check, NULL, i);
  return TRUE;
}

static gboolean
check_prefix_items (const Check *check,
                    JsonNode    *instance,
                    guint        types,
                    Failure     *fail)
{
  JsonArray *array = json_node_get_array (instance);
  guint n = MIN (json_array_get_length (array), check->u.list.n);

  for (guint i = 0; i < n; i++)
    if (!validate (check->u.list.v[i], json_array_get_element (array, i), fail))
      return fail_below (fail, check, NULL, i);
  return TRUE;
}

/* Counts the elements that match, stopping once the count is settled. A
 * bound is blamed on its own keyword. */
static gboolean
check_contains (const Check *check,
                JsonNode    *instance,
                guint        types,
                Failure     *fail)
{
  JsonArray *array = json_node_get_array (instance);
  guint n = json_array_get_length (array);
  const Check *min = check->u.sub.min, *max = check->u.sub.max;
  guint64 at_least = min != NULL ? min->u.count : 1;
  guint64 at_most = max != NULL ? max->u.count : G_MAXUINT64;
  Failure quiet = { TRUE, fail->budget, };
  guint64 matched = 0;

  for (guint i = 0; i < n && matched <= at_most && !fail->budget->exhausted; i++)
    {
      if (matched >= at_least && max == NULL)
        break;
      matched += validate (check->u.sub.schema, json_array_get_element (array, i), &quiet);
    }
  if (matched > at_most)
    return fail_at (fail, max);
  if (matched < at_least)
    return fail_at (fail, min != NULL ? min : check);
  return TRUE;
}

static int
compare_at (gconstpointer a,
            gconstpointer b,
            gpointer      texts)
{
  const char *base = ((GString *) texts)->str;

  return strcmp (base + *(const gsize *) a, base + *(const gsize *) b);
}

/* JSON equality, 1 == 1.0 and members in any order: each element's
 * canonical text, sorted, so that equal ones are neighbours. n log n
 * comparisons, never n squared, and the texts are as long as the array's
 * own JSON; both are spent from the budget. The texts share one buffer,
 * each ended by a NUL: no allocation per element. */
static gboolean
check_unique_items (const Check *check,
                    JsonNode    *instance,
                    guint        types,
                    Failure     *fail)
{
  JsonArray *array = json_node_get_array (instance);
  guint n = json_array_get_length (array);
  g_autoptr(GString) texts = NULL;
  g_autoptr(GArray) starts = NULL;
  gboolean unique = TRUE;

  if (check->u.count == 0 || n < 2)
    return TRUE;
  texts = g_string_new (NULL);
  starts = g_array_sized_new (FALSE, FALSE, sizeof (gsize), n);
  for (guint i = 0; i < n; i++)
    {
      gsize start = texts->len;

      g_array_append_val (starts, start);
      owl_schema_append_canonical (texts, json_array_get_element (array, i));
      g_string_append_c (texts, '\0');
      if (!spend (fail->budget, 1 + (texts->len - start) / 16))
        return fail_at (fail, check);
    }
  if (!spend (fail->budget, (gint64) n * g_bit_storage (n)))
    return fail_at (fail, check);
  g_array_sort_with_data (starts, compare_at, texts);
  for (guint i = 1; i < n && unique; i++)
    unique = compare_at (&g_array_index (starts, gsize, i - 1), &g_array_index (starts, gsize, i),
                         texts) != 0;
  return unique || fail_at (fail, check);
}

static gboolean
check_min_items (const Check *check,
                 JsonNode    *instance,
                 guint        types,
                 Failure     *fail)
{
  return json_array_get_length (json_node_get_array (instance)) >= check->u.count || fail_at (fail, check);
}

static gboolean
check_max_items (const Check *check,
                 JsonNode    *instance,
                 guint        types,
                 Failure     *fail)
{
  return json_array_get_length (json_node_get_array (instance)) <= check->u.count || fail_at (fail, check);
}

/* allOf, and $ref: a list of one. */
static gboolean
check_all_of (const Check *check,
              JsonNode    *instance,
              guint        types,
              Failure     *fail)
{
  for (guint i = 0; i < check->u.list.n; i++)
    if (!validate (check->u.list.v[i], instance, fail))
      return fail_in (fail, check);
  return TRUE;
}

static gboolean
check_any_of (const Check *check,
              JsonNode    *instance,
              guint        types,
              Failure     *fail)
{
  Failure quiet = { TRUE, fail->budget, };

  for (guint i = 0; i < check->u.list.n; i++)
    if (validate (check->u.list.v[i], instance, &quiet))
      return TRUE;
  return fail_at (fail, check);
}

static gboolean
check_one_of (const Check *check,
              JsonNode    *instance,
              guint        types,
              Failure     *fail)
{
  Failure quiet = { TRUE, fail->budget, };
  guint matched = 0;

  for (guint i = 0; i < check->u.list.n && matched < 2; i++)
    matched += validate (check->u.list.v[i], instance, &quiet);
  if (matched != 1 && !fail->quiet)
    fail->many = matched > 1;
  return matched == 1 || fail_at (fail, check);
}

static gboolean
check_not (const Check *check,
           JsonNode    *instance,
           guint        types,
           Failure     *fail)
{
  Failure quiet = { TRUE, fail->budget, };

  return !validate (check->u.list.v[0], instance, &quiet) || fail_at (fail, check);
}

/* `if` picks `then` or `else`, and a failure there is theirs. */
static gboolean
check_if (const Check *check,
          JsonNode    *instance,
          guint        types,
          Failure     *fail)
{
  Failure quiet = { TRUE, fail->budget, };
  const Check *branch = validate (check->u.list.v[0], instance, &quiet)
                        ? check->u.list.then_check : check->u.list.else_check;

  if (fail->budget->exhausted)
    return FALSE;
  return branch == NULL || validate (branch->u.list.v[0], instance, fail) ||
         fail_in (fail, branch);
}

/* then, else, minContains, maxContains: applied by their sibling, if any. */
static gboolean
check_by_sibling (const Check *check,
                  JsonNode    *instance,
                  guint        types,
                  Failure     *fail)
{
  return TRUE;
}

static gboolean
check_format (const Check *check,
              JsonNode    *instance,
              guint        types,
              Failure     *fail)
{
  const char *string = json_node_get_string (instance);
  gsize len = strlen (string);

  return (spend (fail->budget, 1 + len / 16) && check->u.format->check (string, len)) ||
         fail_at (fail, check);
}

static gboolean
check_multiple_of (const Check *check,
                   JsonNode    *instance,
                   guint        types,
                   Failure     *fail)
{
  Number number;
  gint64 cost;
  gboolean multiple;

  owl_schema_number_from_node (instance, &number);
  multiple = owl_schema_is_multiple_of (&number, &check->u.bound, &cost);
  return (spend (fail->budget, cost) && multiple) || fail_at (fail, check);
}

typedef gboolean (*CheckFunc) (const Check *check,
                               JsonNode    *instance,
                               guint        types,
                               Failure     *fail);

typedef struct
{
  guint     types;                     /* the instances it applies to; 0: all */
  CheckFunc check;
} KeywordCheck;

/* How each kind of check applies, by CheckKind. A keyword meant for other
 * types of instance lets this one through. A new keyword adds its row here
 * and its compile function to keywords[] in owl-schema-keywords.c. */
static const KeywordCheck keyword_checks[] = {
  [CHECK_TYPE]                  = { 0,           check_type },
  [CHECK_CONST]                 = { 0,           check_const },
  [CHECK_ENUM]                  = { 0,           check_enum },
  [CHECK_MIN_LENGTH]            = { TYPE_STRING, check_min_length },
  [CHECK_MAX_LENGTH]            = { TYPE_STRING, check_max_length },
  [CHECK_PATTERN]               = { TYPE_STRING, check_pattern },
  [CHECK_MINIMUM]               = { TYPE_NUMBER, check_minimum },
  [CHECK_MAXIMUM]               = { TYPE_NUMBER, check_maximum },
  [CHECK_EXCLUSIVE_MINIMUM]     = { TYPE_NUMBER, check_exclusive_minimum },
  [CHECK_EXCLUSIVE_MAXIMUM]     = { TYPE_NUMBER, check_exclusive_maximum },
  [CHECK_PROPERTIES]            = { TYPE_OBJECT, check_properties },
  [CHECK_REQUIRED]              = { TYPE_OBJECT, check_required },
  [CHECK_ADDITIONAL_PROPERTIES] = { TYPE_OBJECT, check_additional },
  [CHECK_ITEMS]                 = { TYPE_ARRAY,  check_items },
  [CHECK_MIN_ITEMS]             = { TYPE_ARRAY,  check_min_items },
  [CHECK_MAX_ITEMS]             = { TYPE_ARRAY,  check_max_items },
  [CHECK_ALL_OF]                = { 0,           check_all_of },
  [CHECK_ANY_OF]                = { 0,           check_any_of },
  [CHECK_ONE_OF]                = { 0,           check_one_of },
  [CHECK_REF]                   = { 0,           check_all_of },
  [CHECK_NOT]                   = { 0,           check_not },
  [CHECK_IF]                    = { 0,           check_if },
  [CHECK_THEN]                  = { 0,           check_by_sibling },
  [CHECK_ELSE]                  = { 0,           check_by_sibling },
  [CHECK_FORMAT]                = { TYPE_STRING, check_format },
  [CHECK_MULTIPLE_OF]           = { TYPE_NUMBER, check_multiple_of },
  [CHECK_MIN_PROPERTIES]        = { TYPE_OBJECT, check_min_properties },
  [CHECK_MAX_PROPERTIES]        = { TYPE_OBJECT, check_max_properties },
  [CHECK_DEPENDENT_REQUIRED]    = { TYPE_OBJECT, check_dependent_required },
  [CHECK_DEPENDENT_SCHEMAS]     = { TYPE_OBJECT, check_dependent_schemas },
  [CHECK_PROPERTY_NAMES]        = { TYPE_OBJECT, check_property_names },
  [CHECK_PATTERN_PROPERTIES]    = { TYPE_OBJECT, check_pattern_properties },
  [CHECK_UNIQUE_ITEMS]          = { TYPE_ARRAY,  check_unique_items },
  [CHECK_CONTAINS]              = { TYPE_ARRAY,  check_contains },
  [CHECK_MIN_CONTAINS]          = { TYPE_ARRAY,  check_by_sibling },
  [CHECK_MAX_CONTAINS]          = { TYPE_ARRAY,  check_by_sibling },
  [CHECK_PREFIX_ITEMS]          = { TYPE_ARRAY,  check_prefix_items },
};

G_STATIC_ASSERT (G_N_ELEMENTS (keyword_checks) == N_CHECK_KINDS);

static gboolean
check_one (const Check *check,
           JsonNode    *instance,
           guint        types,
           Failure     *fail)
{
  const KeywordCheck *how = &keyword_checks[check->kind];

  if (how->types != 0 && !(types & how->types))
    return TRUE;
  return how->check (check, instance, types, fail);
}

/* Stops at the first failing keyword, in schema order. The recursion only
 * deepens by descending into @instance or along a same-location chain the
 * compiler bounded. */
static gboolean
validate (const Node *node,
          JsonNode   *instance,
          Failure    *fail)
{
  guint types;

  if (node->is_false)
    return FALSE;
  if (node->n_checks == 0)
    return TRUE;
  /* A step per subschema applied: what nested anyOf over recursive $refs
   * multiplies. */
  if (!spend (fail->budget, 1))
    return FALSE;

  types = owl_schema_instance_types (instance);
  for (guint i = 0; i < node->n_checks; i++)
    if (!check_one (&node->checks[i], instance, types, fail))
      return FALSE;
  return TRUE;
}

/* owl_schema_check() for the schema whose root is @root. */
gboolean
owl_schema_check_root (const Node   *root,
                       JsonNode     *instance,
                       gint64        budget,
                       char        **pointer,
                       const char  **keyword,
                       char        **message)
{
  Budget left = { budget, FALSE };
  gboolean report = pointer != NULL || keyword != NULL || message != NULL;
  Failure fail = { !report, &left, };

  if (pointer != NULL)
    *pointer = NULL;
  if (keyword != NULL)
    *keyword = NULL;
  if (message != NULL)
    *message = NULL;
  if (validate (root, instance, &fail) && !left.exhausted)
    return TRUE;

  owl_schema_report (&fail, pointer, keyword, message);
  g_clear_pointer (&fail.segments, g_array_unref);
  return FALSE;
}
