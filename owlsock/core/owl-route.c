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

guint
owl_route_get_n_segments (OwlRoute *route)
{
  return route->n_segments;
}

/* A literal segment, or the name of a param (without the ':'). */
const char *
owl_route_get_segment (OwlRoute *route,
                       guint     i,
                       gboolean *is_param)
{
  *is_param = route->is_param[i];
  return route->segments[i];
}
