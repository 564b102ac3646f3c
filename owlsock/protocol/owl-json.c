/* owl-json.c: a strict, bounded JSON reader for incoming messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * json-glib's JsonParser spent ~21k instructions on a 64-byte message (most
 * of owlsock's cost per echo) and recurses without a depth limit. This reader
 * builds the same JsonNode trees in one pass with an explicit depth bound.
 *
 * Choices where RFC 8259 leaves room: duplicate member names keep the last
 * value (as json-glib does); "\u0000" and lone surrogates are refused, since
 * strings become C strings; integers that fit in gint64 are ints, other
 * numbers doubles; nothing but whitespace may follow the value.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "owl-json-private.h"

typedef struct
{
  const char *p;
  const char *end;
  guint       depth;
  guint       max_depth;
  OwlError    code;
  GString    *scratch;
} Reader;

static JsonNode *read_value (Reader *r);

static inline void
skip_ws (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    r->p++;
}

static gboolean
fail (Reader   *r,
      OwlError  code)
{
  r->code = code;
  return FALSE;
}

static int
hex4 (const char *p)
{
  int v = 0;

  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);

      if (d < 0)
        return -1;
      v = (v << 4) | d;
    }
  return v;
}

/* Reads a string at r->p (on the opening quote) into r->scratch. */
static gboolean
read_string (Reader *r)
{
  const char *start;

  r->p++;
  g_string_truncate (r->scratch, 0);

  for (;;)
    {
      start = r->p;
      /* The common run: plain characters (UTF-8 was validated by the frame
       * layer for text messages; the check below keeps this safe anyway). */
      while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (guchar) *r->p >= 0x20)
        r->p++;
      g_string_append_len (r->scratch, start, r->p - start);

      if (r->p >= r->end || (guchar) *r->p < 0x20)
        return fail (r, OWL_ERROR_MALFORMED);

      if (*r->p == '"')
        {
          r->p++;
          return g_utf8_validate_len (r->scratch->str, r->scratch->len, NULL) ||
                 fail (r, OWL_ERROR_MALFORMED);
        }

      /* A backslash escape. */
      if (r->end - r->p < 2)
        return fail (r, OWL_ERROR_MALFORMED);
      r->p++;
      switch (*r->p++)
        {
        case '"': g_string_append_c (r->scratch, '"'); break;
        case '\\': g_string_append_c (r->scratch, '\\'); break;
        case '/': g_string_append_c (r->scratch, '/'); break;
        case 'b': g_string_append_c (r->scratch, '\b'); break;
        case 'f': g_string_append_c (r->scratch, '\f'); break;
        case 'n': g_string_append_c (r->scratch, '\n'); break;
        case 'r': g_string_append_c (r->scratch, '\r'); break;
        case 't': g_string_append_c (r->scratch, '\t'); break;
        case 'u':
          {
            int cp, lo;

            if (r->end - r->p < 4 || (cp = hex4 (r->p)) <= 0)
              return fail (r, OWL_ERROR_MALFORMED);
            r->p += 4;

            if (cp >= 0xDC00 && cp <= 0xDFFF)
              return fail (r, OWL_ERROR_MALFORMED);
            if (cp >= 0xD800 && cp <= 0xDBFF)
              {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
                    (lo = hex4 (r->p + 2)) < 0xDC00 || lo > 0xDFFF)
                  return fail (r, OWL_ERROR_MALFORMED);
                r->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              }
            g_string_append_unichar (r->scratch, cp);
          }
          break;
        default:
          return fail (r, OWL_ERROR_MALFORMED);
        }
    }
}

static JsonNode *
read_number (Reader *r)
{
  const char *start = r->p;
  gboolean is_int = TRUE;
  char buf[64];
  gsize len;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p >= r->end || !g_ascii_isdigit (*r->p))
    return fail (r, OWL_ERROR_MALFORMED), NULL;
  if (*r->p == '0')
    r->p++;
  else
    while (r->p < r->end && g_ascii_isdigit (*r->p))
      r->p++;

  if (r->p < r->end && *r->p == '.')
    {
      is_int = FALSE;
      r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return fail (r, OWL_ERROR_MALFORMED), NULL;
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }

  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      is_int = FALSE;
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return fail (r, OWL_ERROR_MALFORMED), NULL;
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }

  /* The text may not be NUL-terminated: copy it for strtoll/strtod. */
  len = r->p - start;
  if (len >= sizeof buf)
    {
      if (is_int)
        is_int = FALSE;
      len = sizeof buf - 1;
    }
  memcpy (buf, start, len);
  buf[len] = '\0';

  if (is_int)
    {
      gint64 v;

      errno = 0;
      v = g_ascii_strtoll (buf, NULL, 10);
      if (errno == 0)
        return json_node_init_int (json_node_alloc (), v);
    }

  /* Very long numbers lose digits past 63 characters, as doubles would; one
   * that overflows to infinity has no JSON form to be sent back in. */
  {
    double d = g_ascii_strtod (buf, NULL);

    if (isinf (d) || isnan (d))
      return fail (r, OWL_ERROR_MALFORMED), NULL;
    return json_node_init_double (json_node_alloc (), d);
  }
}

static gboolean
read_literal (Reader     *r,
              const char *word,
              gsize       len)
{
  if ((gsize) (r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return fail (r, OWL_ERROR_MALFORMED);
  r->p += len;
  return TRUE;
}

static JsonNode *
read_object (Reader *r)
{
  g_autoptr(JsonObject) object = json_object_new ();

  r->p++;
  skip_ws (r);
  if (r->p < r->end && *r->p == '}')
    {
      r->p++;
      return json_node_init_object (json_node_alloc (), object);
    }

  for (;;)
    {
      g_autofree char *name = NULL;
      JsonNode *value;

      if (r->p >= r->end || *r->p != '"')
        return fail (r, OWL_ERROR_MALFORMED), NULL;
      if (!read_string (r))
        return NULL;
      name = g_strndup (r->scratch->str, r->scratch->len);

      skip_ws (r);
      if (r->p >= r->end || *r->p != ':')
        return fail (r, OWL_ERROR_MALFORMED), NULL;
      r->p++;

      value = read_value (r);
      if (value == NULL)
        return NULL;
      json_object_set_member (object, name, value);

      skip_ws (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          skip_ws (r);
          continue;
        }
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          return json_node_init_object (json_node_alloc (), object);
        }
      return fail (r, OWL_ERROR_MALFORMED), NULL;
    }
}

static JsonNode *
read_array (Reader *r)
{
  g_autoptr(JsonArray) array = json_array_new ();

  r->p++;
  skip_ws (r);
  if (r->p < r->end && *r->p == ']')
    {
      r->p++;
      return json_node_init_array (json_node_alloc (), array);
    }

  for (;;)
    {
      JsonNode *value = read_value (r);

      if (value == NULL)
        return NULL;
      json_array_add_element (array, value);

      skip_ws (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == ']')
        {
          r->p++;
          return json_node_init_array (json_node_alloc (), array);
        }
      return fail (r, OWL_ERROR_MALFORMED), NULL;
    }
}

static JsonNode *
read_value (Reader *r)
{
  JsonNode *node = NULL;

  skip_ws (r);
  if (r->p >= r->end)
    return fail (r, OWL_ERROR_MALFORMED), NULL;

  switch (*r->p)
    {
    case '{':
    case '[':
      if (++r->depth > r->max_depth)
        return fail (r, OWL_ERROR_TOO_DEEP), NULL;
      node = *r->p == '{' ? read_object (r) : read_array (r);
      r->depth--;
      return node;
    case '"':
      if (!read_string (r))
        return NULL;
      node = json_node_alloc ();
      json_node_init_string (node, r->scratch->str);
      return node;
    case 't':
      return read_literal (r, "true", 4) ? json_node_init_boolean (json_node_alloc (), TRUE) : NULL;
    case 'f':
      return read_literal (r, "false", 5) ? json_node_init_boolean (json_node_alloc (), FALSE) : NULL;
    case 'n':
      return read_literal (r, "null", 4) ? json_node_init_null (json_node_alloc ()) : NULL;
    default:
      return read_number (r);
    }
}

/* One scratch buffer per thread for decoded strings. */
static void
scratch_free (gpointer data)
{
  g_string_free (data, TRUE);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

JsonNode *
owl_json_parse (const char *data,
                gsize       len,
                guint       max_depth,
                OwlError   *error_code)
{
  Reader r = { data, data + len, 0, max_depth, OWL_ERROR_MALFORMED, NULL };
  JsonNode *root;

  r.scratch = g_private_get (&scratch_key);
  if (r.scratch == NULL)
    {
      r.scratch = g_string_sized_new (256);
      g_private_set (&scratch_key, r.scratch);
    }

  root = read_value (&r);
  if (root != NULL)
    {
      skip_ws (&r);
      if (r.p != r.end)
        {
          g_clear_pointer (&root, json_node_unref);
          r.code = OWL_ERROR_MALFORMED;
        }
    }

  /* Do not let one huge message keep a huge buffer. */
  if (r.scratch->allocated_len > 64 * 1024)
    g_private_replace (&scratch_key, g_string_sized_new (256));

  if (root == NULL && error_code != NULL)
    *error_code = r.code;

  return root;
}

JsonNode *
owl_json_node_new_empty_array (void)
{
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, json_array_new ());
  return node;
}

/* Helpers ------------------------------------------------------------------- */

/* The member's string, or NULL when it is missing or not a string: the
 * client chose its type, and json-glib's getters complain loudly (fatally,
 * under G_DEBUG=fatal-criticals) about the wrong one. */
const char *
owl_json_object_get_string (JsonObject *object,
                            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* A JsonGenerator is a GObject; making one per message showed in profiles,
 * so each thread keeps one. */
static GPrivate generator_key = G_PRIVATE_INIT (g_object_unref);

char *
owl_json_to_data (JsonNode *node,
                  gsize    *len)
{
  JsonGenerator *gen = g_private_get (&generator_key);
  char *data;

  if (gen == NULL)
    {
      gen = json_generator_new ();
      g_private_set (&generator_key, gen);
    }

  json_generator_set_root (gen, node);
  data = json_generator_to_data (gen, len);
  json_generator_set_root (gen, NULL);

  /* json-glib writes a string's bytes as they are: text an application
   * put in a node without checking (a header, a file name) would make an
   * invalid text frame, which every client must close with 1007. Each
   * invalid sequence becomes U+FFFD, as a browser's decoder would show it. */
  if (G_UNLIKELY (!g_utf8_validate_len (data, *len, NULL)))
    {
      char *valid = g_utf8_make_valid (data, *len);

      g_free (data);
      data = valid;
      *len = strlen (valid);
    }
  return data;
}

/* Ids are strings in @owlmeans/socket, but a client may send an integer:
 * the string form is used to correlate, and @id_node (if not NULL) receives
 * the member itself, so the answer carries the id as the client wrote it. */
const char *
owl_json_object_get_id (JsonObject  *object,
                        char         buf[32],
                        JsonNode   **id_node)
{
  JsonNode *node = json_object_get_member (object, "id");

  if (id_node != NULL)
    *id_node = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  if (id_node != NULL)
    *id_node = node;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return json_node_get_string (node);
    case G_TYPE_INT64:
      g_snprintf (buf, 32, "%" G_GINT64_FORMAT, json_node_get_int (node));
      return buf;
    default:
      return NULL;
    }
}
