/* owl-route.c: segment-by-segment matching of `/ws/chat/:room`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-route-private.h"
#include "owl-error.h"

struct _OwlRoute
{
  /* Each segment is either a literal or, when is_param is set, a param name. */
  GStrv     segments;
  gboolean *is_param;
  guint     n_segments;
  /* The literal segments before the first param: where SoupServer routes to us. */
  char     *prefix;
};

void
owl_route_free (OwlRoute *route)
{
  g_strfreev (route->segments);
  g_free (route->is_param);
  g_free (route->prefix);
  g_free (route);
}

OwlRoute *
owl_route_parse (const char  *pattern,
                 GError     **error)
{
  g_autoptr(OwlRoute) route = NULL;
  g_autoptr(GString) prefix = NULL;
  gboolean in_prefix = TRUE;

  if (pattern == NULL || pattern[0] != '/')
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "A path pattern must start with '/'");
      return NULL;
    }

  route = g_new0 (OwlRoute, 1);
  /* "/" alone is the root route with no segments. */
  route->segments = pattern[1] ? g_strsplit (pattern + 1, "/", -1) : g_new0 (char *, 1);
  route->n_segments = g_strv_length (route->segments);
  route->is_param = g_new0 (gboolean, route->n_segments + 1);
  prefix = g_string_new (NULL);

  for (guint i = 0; i < route->n_segments; i++)
    {
      const char *seg = route->segments[i];

      if (seg[0] == '\0')
        {
          g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                       "Path pattern '%s' has an empty segment", pattern);
          return NULL;
        }

      if (seg[0] == ':')
        {
          if (seg[1] == '\0')
            {
              g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "Path pattern '%s' has a param without a name", pattern);
              return NULL;
            }
          route->is_param[i] = TRUE;
          memmove (route->segments[i], seg + 1, strlen (seg));
          in_prefix = FALSE;
        }
      else if (in_prefix)
        {
          g_string_append_c (prefix, '/');
          g_string_append (prefix, seg);
        }
    }

  route->prefix = prefix->len ? g_string_free (g_steal_pointer (&prefix), FALSE) : g_strdup ("/");

  return g_steal_pointer (&route);
}

const char *
owl_route_get_prefix (OwlRoute *route)
{
  return route->prefix;
}

/* Two patterns are the same route when they match the same paths: param names
 * do not matter, `/a/:x` and `/a/:y` clash. */
gboolean
owl_route_equal (OwlRoute *a,
                 OwlRoute *b)
{
  if (a->n_segments != b->n_segments)
    return FALSE;

  for (guint i = 0; i < a->n_segments; i++)
    {
      if (a->is_param[i] != b->is_param[i])
        return FALSE;
      if (!a->is_param[i] && !g_str_equal (a->segments[i], b->segments[i]))
        return FALSE;
    }

  return TRUE;
}

/* @path is the encoded path of the request. On a match, @params (if not NULL)
 * receives a new table of param name to value. */
gboolean
owl_route_match (OwlRoute    *route,
                 const char  *path,
                 GHashTable **params)
{
  const char *p;
  g_autoptr(GHashTable) values = NULL;

  if (path == NULL || path[0] != '/')
    return FALSE;

  p = path + 1;

  if (route->n_segments == 0)
    return *p == '\0';

  for (guint i = 0; i < route->n_segments; i++)
    {
      const char *end = strchr (p, '/');
      g_autofree char *decoded = NULL;
      gsize len = end ? (gsize) (end - p) : strlen (p);

      /* Only the last segment may end the path, and no segment is empty. */
      if (len == 0 || (end != NULL) != (i + 1 < route->n_segments))
        return FALSE;

      /* Segments are split on the encoded path, then decoded, so a param may
       * hold an escaped '/'; a bad escape or an escaped NUL is no match. */
      decoded = g_uri_unescape_segment (p, p + len, NULL);
      if (decoded == NULL)
        return FALSE;

      if (route->is_param[i])
        {
          if (params != NULL)
            {
              if (values == NULL)
                values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
              g_hash_table_insert (values, g_strdup (route->segments[i]), g_steal_pointer (&decoded));
            }
        }
      else if (!g_str_equal (decoded, route->segments[i]))
        return FALSE;

      p = end ? end + 1 : p + len;
    }

  if (params != NULL)
    *params = values ? g_steal_pointer (&values)
                     : g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  return TRUE;
}
