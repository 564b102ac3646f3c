/* owl-schema-value.c: JSON values as a schema sees them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Numbers compare by value (`1` equals `1.0`, which is an integer), equality
 * is deep, and a copy shares nothing with the original.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owl-schema-types-private.h"

const char * const owl_schema_type_names[OWL_SCHEMA_N_TYPES] = {
  "null", "boolean", "object", "array", "number", "integer", "string",
};

gboolean
owl_schema_number_from_node (JsonNode *node,
                             Number   *number)
{
  if (JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return FALSE;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      number->is_int = TRUE;
      number->i = json_node_get_int (node);
      return TRUE;
    case G_TYPE_DOUBLE:
      number->is_int = FALSE;
      number->d = json_node_get_double (node);
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
owl_schema_double_is_integral (double d)
{
  /* Past 2^53 every double is an integer. */
  if (!(d > -9007199254740992.0 && d < 9007199254740992.0))
    return isfinite (d);
  return d == (double) (gint64) d;
}

/* Exact, even where converting @i to a double would round. */
static int
compare_int_double (gint64 i,
                    double d)
{
  gint64 t;

  if (isnan (d))
    return 0;
  if (d >= 9223372036854775808.0)
    return -1;
  if (d < -9223372036854775808.0)
    return 1;
  t = (gint64) d;  /* toward zero: i < t means i < d, i > t means i > d */
  if (i != t)
    return i < t ? -1 : 1;
  return ((double) t < d) ? -1 : ((double) t > d);
}

int
owl_schema_number_compare (const Number *a,
                           const Number *b)
{
  if (a->is_int && b->is_int)
    return (a->i > b->i) - (a->i < b->i);
  if (!a->is_int && !b->is_int)
    return (a->d > b->d) - (a->d < b->d);
  if (a->is_int)
    return compare_int_double (a->i, b->d);
  return -compare_int_double (b->i, a->d);
}

static gboolean
scalars_equal (JsonNode *a,
               JsonNode *b)
{
  Number x, y;
  GType type = json_node_get_value_type (a);

  if (owl_schema_number_from_node (a, &x))
    return owl_schema_number_from_node (b, &y) && owl_schema_number_compare (&x, &y) == 0;
  if (type != json_node_get_value_type (b))
    return FALSE;
  if (type == G_TYPE_STRING)
    return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (a) == json_node_get_boolean (b);
  return FALSE;
}

static gboolean
arrays_equal (JsonArray *a,
              JsonArray *b)
{
  guint n = json_array_get_length (a);

  if (n != json_array_get_length (b))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!owl_schema_values_equal (json_array_get_element (a, i), json_array_get_element (b, i)))
      return FALSE;
  return TRUE;
}

static gboolean
objects_equal (JsonObject *a,
               JsonObject *b)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (json_object_get_size (a) != json_object_get_size (b))
    return FALSE;
  json_object_iter_init (&iter, a);
  while (json_object_iter_next (&iter, &name, &member))
    {
      JsonNode *other = json_object_get_member (b, name);

      if (other == NULL || !owl_schema_values_equal (member, other))
        return FALSE;
    }
  return TRUE;
}

/* Deep JSON equality; numbers compare by value. The recursion is bounded by
 * the depth of the schema's value, which the compiler limited. */
gboolean
owl_schema_values_equal (JsonNode *a,
                         JsonNode *b)
{
  JsonNodeType type = JSON_NODE_TYPE (a);

  if (type != JSON_NODE_TYPE (b))
    return FALSE;

  switch (type)
    {
    case JSON_NODE_NULL:
      return TRUE;
    case JSON_NODE_VALUE:
      return scalars_equal (a, b);
    case JSON_NODE_ARRAY:
      return arrays_equal (json_node_get_array (a), json_node_get_array (b));
    case JSON_NODE_OBJECT:
      return objects_equal (json_node_get_object (a), json_node_get_object (b));
    default:
      return FALSE;
    }
}

static JsonNode *
copy_scalar (JsonNode *node)
{
  JsonNode *copy = json_node_alloc ();

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return json_node_init_int (copy, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      return json_node_init_double (copy, json_node_get_double (node));
    case G_TYPE_BOOLEAN:
      return json_node_init_boolean (copy, json_node_get_boolean (node));
    case G_TYPE_STRING:
      return json_node_init_string (copy, json_node_get_string (node));
    default:
      return json_node_init_null (copy);
    }
}

static JsonNode *
copy_object (JsonObject *object,
             guint       budget)
{
  JsonNode *copy = json_node_new (JSON_NODE_OBJECT);
  JsonObject *target = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_node_take_object (copy, target);
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      JsonNode *member_copy = owl_schema_copy_value (member, budget);

      if (member_copy == NULL)
        {
          json_node_unref (copy);
          return NULL;
        }
      json_object_set_member (target, name, member_copy);
    }
  return copy;
}

static JsonNode *
copy_array (JsonArray *array,
            guint      budget)
{
  guint n = json_array_get_length (array);
  JsonNode *copy = json_node_new (JSON_NODE_ARRAY);
  JsonArray *target = json_array_sized_new (n);

  json_node_take_array (copy, target);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = owl_schema_copy_value (json_array_get_element (array, i), budget);

      if (element == NULL)
        {
          json_node_unref (copy);
          return NULL;
        }
      json_array_add_element (target, element);
    }
  return copy;
}

/* json_node_copy() shares containers and values with the original, which
 * the caller may change later; this shares nothing. NULL past @budget levels. */
JsonNode *
owl_schema_copy_value (JsonNode *node,
                       guint     budget)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_VALUE:
      return copy_scalar (node);
    case JSON_NODE_OBJECT:
      return budget > 0 ? copy_object (json_node_get_object (node), budget - 1) : NULL;
    case JSON_NODE_ARRAY:
      return budget > 0 ? copy_array (json_node_get_array (node), budget - 1) : NULL;
    default:
      return json_node_init_null (json_node_alloc ());
    }
}

guint
owl_schema_instance_types (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return TYPE_OBJECT;
    case JSON_NODE_ARRAY:
      return TYPE_ARRAY;
    case JSON_NODE_NULL:
      return TYPE_NULL;
    case JSON_NODE_VALUE:
      break;
    default:
      return 0;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return TYPE_NUMBER | TYPE_INTEGER;
    case G_TYPE_DOUBLE:
      return owl_schema_double_is_integral (json_node_get_double (node)) ? TYPE_NUMBER | TYPE_INTEGER : TYPE_NUMBER;
    case G_TYPE_BOOLEAN:
      return TYPE_BOOLEAN;
    case G_TYPE_STRING:
      return json_node_get_string (node) != NULL ? TYPE_STRING : 0;
    default:
      return 0;
    }
}

/* For qsort() over an array of strings. */
int
owl_schema_compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
append_canonical_number (GString  *out,
                         JsonNode *node)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 2];
  Number n;

  owl_schema_number_from_node (node, &n);
  /* 1.0 is the integer 1, as owl_schema_values_equal() says. */
  if (!n.is_int && owl_schema_double_is_integral (n.d) &&
      n.d >= -9223372036854775808.0 && n.d < 9223372036854775808.0)
    {
      n.is_int = TRUE;
      n.i = (gint64) n.d;
    }
  /* No allocation: uniqueItems makes one of these per element. */
  if (n.is_int)
    g_snprintf (buf, sizeof buf, "n%" G_GINT64_FORMAT ";", n.i);
  else
    {
      buf[0] = 'n';
      g_ascii_dtostr (buf + 1, sizeof buf - 2, n.d);
      strcat (buf, ";");
    }
  g_string_append (out, buf);
}

static void
append_canonical_string (GString    *out,
                         const char *s)
{
  char prefix[24];
  gsize len = strlen (s);

  g_snprintf (prefix, sizeof prefix, "%" G_GSIZE_FORMAT ":", len);
  g_string_append (out, prefix);
  g_string_append_len (out, s, len);
}

static void
append_canonical_object (GString    *out,
                         JsonObject *object)
{
  guint n = json_object_get_size (object);
  const char *small[16];
  g_autofree const char **large = n > G_N_ELEMENTS (small) ? g_new (const char *, n) : NULL;
  const char **names = large != NULL ? large : small;
  JsonObjectIter iter;
  JsonNode *member;
  guint i = 0;

  json_object_iter_init (&iter, object);
  while (i < n && json_object_iter_next (&iter, &names[i], &member))
    i++;
  qsort (names, n, sizeof (char *), owl_schema_compare_strings);
  g_string_append_c (out, '{');
  for (i = 0; i < n; i++)
    {
      append_canonical_string (out, names[i]);
      owl_schema_append_canonical (out, json_object_get_member (object, names[i]));
    }
  g_string_append_c (out, '}');
}

/* Appends a text that two values share exactly when
 * owl_schema_values_equal() calls them equal: members in name order,
 * integral numbers as integers, strings prefixed with their length. */
void
owl_schema_append_canonical (GString  *out,
                             JsonNode *node)
{
  JsonArray *array;

  switch (owl_schema_instance_types (node) & ~TYPE_INTEGER)
    {
    case TYPE_OBJECT:
      append_canonical_object (out, json_node_get_object (node));
      break;
    case TYPE_ARRAY:
      array = json_node_get_array (node);
      g_string_append_c (out, '[');
      for (guint i = 0; i < json_array_get_length (array); i++)
        owl_schema_append_canonical (out, json_array_get_element (array, i));
      g_string_append_c (out, ']');
      break;
    case TYPE_NUMBER:
      append_canonical_number (out, node);
      break;
    case TYPE_STRING:
      g_string_append_c (out, 's');
      append_canonical_string (out, json_node_get_string (node));
      break;
    case TYPE_BOOLEAN:
      g_string_append_c (out, json_node_get_boolean (node) ? 't' : 'f');
      break;
    default:
      g_string_append_c (out, 'z');
      break;
    }
}

/* A number as @digits times ten to the @exp, with no trailing zero in
 * @digits: for a double, the shortest decimal that reads back as it, which
 * is what the JSON text said. */
typedef struct
{
  guint64 digits;
  int     exp;
} Decimal;

static Decimal
decimal_from_number (const Number *number)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];
  Decimal dec = { 0, 0 };
  const char *p = buf;
  int n_fraction = 0;
  double d;

  if (number->is_int)
    dec.digits = number->i < 0 ? (guint64) -(number->i + 1) + 1 : (guint64) number->i;
  else
    {
      d = fabs (number->d);
      /* The fewest digits that read back as @d: 17 always do. */
      for (int precision = 0; precision <= 16; precision++)
        {
          g_snprintf (format, sizeof format, "%%.%de", precision);
          if (g_ascii_strtod (g_ascii_formatd (buf, sizeof buf, format, d), NULL) == d)
            break;
        }
      /* d[.ddd]e[+-]x */
      for (; *p != 'e' && *p != '\0'; p++)
        if (g_ascii_isdigit (*p))
          {
            dec.digits = dec.digits * 10 + (guint64) (*p - '0');
            n_fraction += p > buf + 1;
          }
      dec.exp = (*p == 'e' ? atoi (p + 1) : 0) - n_fraction;
    }
  while (dec.digits != 0 && dec.digits % 10 == 0)
    {
      dec.digits /= 10;
      dec.exp++;
    }
  return dec;
}

/* (@a + @b) mod @m, for @a, @b < @m < 2^63: the sum does not wrap. */
static guint64
add_mod (guint64 a,
         guint64 b,
         guint64 m)
{
  guint64 sum = a + b;

  return sum >= m ? sum - m : sum;
}

/* Whether @x is an integer times @m (> 0), exactly, in decimal: 0.0075 is
 * a multiple of 0.0001, and 1e308 of 0.5, though neither quotient is exact
 * as a double. *@cost is the work it took, in steps. */
gboolean
owl_schema_is_multiple_of (const Number *x,
                           const Number *m,
                           gint64       *cost)
{
  Decimal a, b;
  guint64 r;
  int e;

  *cost = 1;
  if (x->is_int && m->is_int)
    return x->i % m->i == 0;
  if (!x->is_int && !isfinite (x->d))
    return FALSE;

  a = decimal_from_number (x);
  b = decimal_from_number (m);
  if (a.digits == 0)
    return TRUE;
  e = a.exp - b.exp;
  if (e < 0)
    {
      /* b times 10^-e must divide a, so it is at most a. */
      for (; e < 0; e++)
        {
          if (b.digits > a.digits / 10)
            return FALSE;
          b.digits *= 10;
        }
      return a.digits % b.digits == 0;
    }
  /* a times 10^e mod b; e is at most about 650 (1e308 over 5e-324). */
  *cost += e / 16;
  r = a.digits % b.digits;
  for (; e > 0 && r != 0; e--)
    {
      guint64 r2 = add_mod (r, r, b.digits);
      guint64 r8 = add_mod (add_mod (r2, r2, b.digits), add_mod (r2, r2, b.digits), b.digits);

      r = add_mod (r8, r2, b.digits);
    }
  return r == 0;
}
