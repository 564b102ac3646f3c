/* owld-config-values.c: where each key of the configuration is, and how a
 * value becomes a property's
 *
 * GKeyFile tells no line numbers, so the text is indexed once here: every
 * error of owld-config.c names the file, the line and the key.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owld-config.h"

struct _OwldConfigText
{
  char       *path;
  GHashTable *lines;   /* "group" or "group\x1fkey" -> line (GUINT_TO_POINTER) */
};

static char *
line_key (const char *group,
          const char *key)
{
  return key ? g_strconcat (group, "\x1f", key, NULL) : g_strdup (group);
}

static void
index_line (OwldConfigText *self,
            GPtrArray      *errors,
            char          **group,
            const char     *raw,
            guint           number)
{
  g_autofree char *line = g_strstrip (g_strdup (raw));
  const char *eq;

  if (line[0] == '\0' || line[0] == '#')
    return;
  if (line[0] == '[')
    {
      gsize len = strlen (line);

      if (line[len - 1] != ']')
        {
          g_ptr_array_add (errors, g_strdup_printf ("%s:%u: a group header must end with \"]\"",
                                                    self->path, number));
          return;
        }
      g_free (*group);
      *group = g_strndup (line + 1, len - 2);
      if (!g_hash_table_contains (self->lines, *group))
        g_hash_table_insert (self->lines, g_strdup (*group), GUINT_TO_POINTER (number));
      return;
    }
  eq = strchr (line, '=');
  if (eq == NULL || *group == NULL)
    {
      g_ptr_array_add (errors, g_strdup_printf ("%s:%u: %s", self->path, number,
                                                eq ? "a key before any [group]"
                                                   : "not a key=value line, a [group] or a # comment"));
      return;
    }
  {
    g_autofree char *key = g_strstrip (g_strndup (line, eq - line));

    g_hash_table_insert (self->lines, line_key (*group, key), GUINT_TO_POINTER (number));
  }
}

/* Indexes @text; malformed lines are added to @errors (GKeyFile's own
 * parse error would name no line). */
OwldConfigText *
owld_config_text_new (const char *path,
                      const char *text,
                      GPtrArray  *errors)
{
  OwldConfigText *self = g_new0 (OwldConfigText, 1);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *group = NULL;

  self->path = g_strdup (path);
  self->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    index_line (self, errors, &group, lines[i], i + 1);
  return self;
}

void
owld_config_text_free (OwldConfigText *self)
{
  g_free (self->path);
  g_hash_table_unref (self->lines);
  g_free (self);
}

/* The line of @key in @group (@key NULL: of the group's header); 0 if absent. */
guint
owld_config_text_line (OwldConfigText *self,
                       const char     *group,
                       const char     *key)
{
  g_autofree char *name = line_key (group, key);

  return GPOINTER_TO_UINT (g_hash_table_lookup (self->lines, name));
}

/* Adds "FILE:LINE: [GROUP] KEY: message" to @errors. */
void
owld_config_text_error (OwldConfigText *self,
                        GPtrArray      *errors,
                        const char     *group,
                        const char     *key,
                        const char     *format,
                        ...)
{
  g_autofree char *message = NULL;
  g_autoptr(GString) out = g_string_new (self->path);
  guint line = 0;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (group != NULL)
    line = owld_config_text_line (self, group, key);
  if (line == 0 && group != NULL && key != NULL)
    line = owld_config_text_line (self, group, NULL);
  if (line > 0)
    g_string_append_printf (out, ":%u", line);
  g_string_append (out, ": ");
  if (group != NULL)
    g_string_append_printf (out, "[%s] ", group);
  if (key != NULL)
    g_string_append_printf (out, "%s: ", key);
  g_string_append (out, message);
  g_ptr_array_add (errors, g_string_free (g_steal_pointer (&out), FALSE));
}

static gboolean G_GNUC_PRINTF (2, 3)
refuse (char      **why,
        const char *format,
        ...)
{
  va_list args;

  va_start (args, format);
  *why = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

/* Values ----------------------------------------------------------------------- */

static gboolean
parse_number (GParamSpec  *pspec,
              const char  *text,
              GValue      *value,
              char       **why)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_autoptr(GError) error = NULL;
  gint64 n = 0;
  double d = 0;
  char *end = NULL;

  if (type == G_TYPE_DOUBLE || type == G_TYPE_FLOAT)
    {
      d = g_ascii_strtod (text, &end);
      if (end == text || *end != '\0')
        return refuse (why, "\"%s\" is not a number", text);
    }
  else if (!g_ascii_string_to_signed (text, 10, type == G_TYPE_INT || type == G_TYPE_UINT ? G_MININT32 : G_MININT64,
                                      type == G_TYPE_INT ? G_MAXINT32 : type == G_TYPE_UINT ? G_MAXUINT32 : G_MAXINT64,
                                      &n, &error))
    return refuse (why, "\"%s\" is not a whole number in range", text);

  if (type == G_TYPE_INT)
    g_value_set_int (value, (int) n);
  else if (type == G_TYPE_UINT)
    {
      if (n < 0)
        return refuse (why, "\"%s\" may not be negative", text);
      g_value_set_uint (value, (guint) n);
    }
  else if (type == G_TYPE_INT64)
    g_value_set_int64 (value, n);
  else if (type == G_TYPE_DOUBLE)
    g_value_set_double (value, d);
  else
    g_value_set_float (value, (float) d);
  return TRUE;
}

static gboolean
parse_enum (GParamSpec  *pspec,
            const char  *text,
            GValue      *value,
            char       **why)
{
  GEnumClass *klass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
  GEnumValue *found = g_enum_get_value_by_nick (klass, text);
  g_autoptr(GString) nicks = g_string_new (NULL);

  if (found != NULL)
    {
      g_value_set_enum (value, found->value);
      return TRUE;
    }
  for (guint i = 0; i < klass->n_values; i++)
    g_string_append_printf (nicks, "%s%s", i ? ", " : "", klass->values[i].value_nick);
  *why = g_strdup_printf ("\"%s\" is not one of %s", text, nicks->str);
  return FALSE;
}

/* Reads @key of @group as the type of @pspec into @value (initialized
 * here), refusing a value out of the property's range. */
gboolean
owld_config_parse_value (GParamSpec  *pspec,
                         GKeyFile    *keyfile,
                         const char  *group,
                         const char  *key,
                         GValue      *value,
                         char       **why)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_autofree char *text = g_key_file_get_string (keyfile, group, key, NULL);
  gboolean ok = TRUE;

  g_value_init (value, type);
  if (text == NULL)
    text = g_strdup ("");
  if (type == G_TYPE_BOOLEAN)
    {
      if (g_str_equal (text, "true") || g_str_equal (text, "false"))
        g_value_set_boolean (value, g_str_equal (text, "true"));
      else
        ok = refuse (why, "\"%s\" is not true or false", text);
    }
  else if (type == G_TYPE_STRING)
    g_value_set_string (value, text);
  else if (type == G_TYPE_STRV)
    g_value_take_boxed (value, g_key_file_get_string_list (keyfile, group, key, NULL, NULL));
  else if (G_TYPE_IS_ENUM (type))
    ok = parse_enum (pspec, text, value, why);
  else if (type == G_TYPE_INT || type == G_TYPE_UINT || type == G_TYPE_INT64 ||
           type == G_TYPE_DOUBLE || type == G_TYPE_FLOAT)
    ok = parse_number (pspec, text, value, why);
  else
    ok = refuse (why, "cannot be set in a configuration file");

  if (ok && g_param_value_validate (pspec, value))
    ok = refuse (why, "\"%s\" is out of range", text);
  return ok;
}
