/* owl-schema-report.c: a failed validation, told
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs on failure only: the walk records where and why it stopped
 * (Failure), and this turns that into the JSON pointer, the keyword and a
 * short message. The message quotes the schema, never the instance.
 */

#include "owl-schema-types-private.h"

/* RFC 6901: "~" is "~0" and "/" is "~1". */
void
owl_schema_append_token (GString    *pointer,
                         const char *token)
{
  g_string_append_c (pointer, '/');
  for (const char *p = token; *p != '\0'; p++)
    {
      if (*p == '~')
        g_string_append (pointer, "~0");
      else if (*p == '/')
        g_string_append (pointer, "~1");
      else
        g_string_append_c (pointer, *p);
    }
}

/* The pointer quotes member names of the instance, which a client chose:
 * an error reflects at most this much of them. */
#define OWL_SCHEMA_MAX_POINTER 256

static char *
build_pointer (const Failure *fail)
{
  GString *pointer = g_string_new (NULL);

  for (guint i = fail->segments != NULL ? fail->segments->len : 0; i-- > 0;)
    {
      const Segment *segment = &g_array_index (fail->segments, Segment, i);

      if (segment->name != NULL)
        owl_schema_append_token (pointer, segment->name);
      else
        g_string_append_printf (pointer, "/%u", segment->index);
      if (pointer->len > OWL_SCHEMA_MAX_POINTER)
        break;
    }
  if (pointer->len > OWL_SCHEMA_MAX_POINTER)
    {
      gsize cut = OWL_SCHEMA_MAX_POINTER;

      /* On a character boundary (names are UTF-8), then marked as cut. */
      while (cut > 0 && ((guchar) pointer->str[cut] & 0xC0) == 0x80)
        cut--;
      g_string_truncate (pointer, cut);
      g_string_append (pointer, "...");
    }
  return g_string_free (pointer, FALSE);
}

static char *
format_number (const Number *number)
{
  static const char * const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (number->is_int)
    return g_strdup_printf ("%" G_GINT64_FORMAT, number->i);
  /* The shortest form that reads back as the same double. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_ascii_strtod (g_ascii_formatd (buf, sizeof buf, formats[i], number->d), NULL) == number->d)
      break;
  return g_strdup (buf);
}

/* "not of type string", "not of type integer or null", ... */
static char *
describe_types (guint types)
{
  GString *text = g_string_new ("not of type ");
  guint left = types;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (owl_schema_type_names); i++)
    {
      if (!(left & (1u << i)))
        continue;
      left &= ~(1u << i);
      if (n++ > 0)
        g_string_append (text, left != 0 ? ", " : " or ");
      g_string_append (text, owl_schema_type_names[i]);
    }
  return g_string_free (text, FALSE);
}

static char *
describe_false (const Check *check)
{
  switch (check->kind)
    {
    case CHECK_PROPERTIES:
      return g_strdup ("property not allowed");
    case CHECK_ADDITIONAL_PROPERTIES:
      return g_strdup ("additional property not allowed");
    case CHECK_ITEMS:
    case CHECK_PREFIX_ITEMS:
      return g_strdup ("item not allowed");
    case CHECK_PATTERN_PROPERTIES:
      return g_strdup ("property not allowed");
    case CHECK_PROPERTY_NAMES:
      return g_strdup ("property name not allowed");
    default:
      return g_strdup ("no value is valid here");
    }
}

static char *
describe_bound (const Check *check)
{
  g_autofree char *bound = format_number (&check->u.bound);

  switch (check->kind)
    {
    case CHECK_MINIMUM:
      return g_strdup_printf ("less than %s", bound);
    case CHECK_MAXIMUM:
      return g_strdup_printf ("greater than %s", bound);
    case CHECK_EXCLUSIVE_MINIMUM:
      return g_strdup_printf ("not greater than %s", bound);
    default:
      return g_strdup_printf ("not less than %s", bound);
    }
}

/* The keywords of objects and arrays that count. */
static char *
describe_count (const Failure *fail)
{
  static const struct
  {
    CheckKind   kind;
    const char *than;
    const char *one;
    const char *many;
  } counted[] = {
    { CHECK_MIN_ITEMS,      "fewer", "item",          "items" },
    { CHECK_MAX_ITEMS,      "more",  "item",          "items" },
    { CHECK_MIN_PROPERTIES, "fewer", "property",      "properties" },
    { CHECK_MAX_PROPERTIES, "more",  "property",      "properties" },
    { CHECK_MIN_CONTAINS,   "fewer", "matching item", "matching items" },
    { CHECK_MAX_CONTAINS,   "more",  "matching item", "matching items" },
  };
  guint64 n = fail->check->u.count;

  for (guint i = 0; i < G_N_ELEMENTS (counted); i++)
    if (counted[i].kind == fail->check->kind)
      return g_strdup_printf ("%s than %" G_GUINT64_FORMAT " %s", counted[i].than, n,
                              n == 1 ? counted[i].one : counted[i].many);
  return NULL;
}

/* The keywords added with 2020-12's applicators, formats and the rest. */
static char *
describe_more (const Failure *fail)
{
  const Check *check = fail->check;
  g_autofree char *bound = NULL;

  switch (check->kind)
    {
    case CHECK_NOT:
      return g_strdup ("matches a schema it must not");
    case CHECK_FORMAT:
      return g_strdup_printf ("not a valid %s", check->u.format->name);
    case CHECK_MULTIPLE_OF:
      bound = format_number (&check->u.bound);
      return g_strdup_printf ("not a multiple of %s", bound);
    case CHECK_DEPENDENT_REQUIRED:
      return g_strdup_printf ("missing property \"%s\", required with \"%s\"",
                              fail->missing, fail->trigger);
    case CHECK_UNIQUE_ITEMS:
      return g_strdup ("has duplicate items");
    case CHECK_CONTAINS:
      return g_strdup ("no item matches");
    default:
      return describe_count (fail);
    }
}

static char *
describe (const Failure *fail)
{
  const Check *check = fail->check;
  const char *s = check != NULL && check->u.count == 1 ? "" : "s";
  char *more;

  if (check == NULL)
    return g_strdup ("no value is valid here");
  if (fail->false_schema)
    return describe_false (check);
  if ((more = describe_more (fail)) != NULL)
    return more;

  switch (check->kind)
    {
    case CHECK_TYPE:
      return describe_types (check->u.types);
    case CHECK_CONST:
      return g_strdup ("not equal to the constant");
    case CHECK_ENUM:
      return g_strdup ("not one of the allowed values");
    case CHECK_MIN_LENGTH:
      return g_strdup_printf ("shorter than %" G_GUINT64_FORMAT " character%s", check->u.count, s);
    case CHECK_MAX_LENGTH:
      return g_strdup_printf ("longer than %" G_GUINT64_FORMAT " character%s", check->u.count, s);
    case CHECK_PATTERN:
      return g_strdup_printf ("does not match \"%s\"", owl_regex_get_pattern (check->u.regex));
    case CHECK_REQUIRED:
      return g_strdup_printf ("missing required property \"%s\"", fail->missing);
    case CHECK_ONE_OF:
      return g_strdup (fail->many ? "matches more than one alternative" : "matches none of the alternatives");
    case CHECK_ANY_OF:
      return g_strdup ("matches none of the alternatives");
    default:
      return describe_bound (check);
    }
}

/* Fills in what owl_schema_check() returns for a walk that failed or ran
 * out of budget; @pointer, @keyword and @message may each be NULL. */
void
owl_schema_report (const Failure  *fail,
                   char          **pointer,
                   const char    **keyword,
                   char          **message)
{
  if (fail->budget->exhausted)
    {
      /* Whatever the walk found, it did not finish: refused as a whole. */
      if (pointer != NULL)
        *pointer = g_strdup ("");
      if (keyword != NULL)
        *keyword = "budget";
      if (message != NULL)
        *message = g_strdup ("takes too much work to check");
      return;
    }
  if (pointer != NULL)
    *pointer = build_pointer (fail);
  if (keyword != NULL)
    *keyword = fail->check != NULL ? fail->check->keyword : "false";
  if (message != NULL)
    *message = describe (fail);
}
