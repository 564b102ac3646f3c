/* owl-router.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-request-private.h"
#include "owl-router-private.h"

typedef struct _Node Node;

struct _Node
{
  GHashTable *literals;  /* decoded segment -> Node; NULL while empty */
  Node       *param;     /* any segment */
  OwlRoute   *route;     /* a route ends here (borrowed) */
  gpointer    value;
};

struct _OwlRouter
{
  Node  root;
  guint max_depth;       /* the most segments of any route added */
};

static void node_free (gpointer data);

static void
node_clear (Node *node)
{
  g_clear_pointer (&node->literals, g_hash_table_unref);
  g_clear_pointer (&node->param, node_free);
}

static void
node_free (gpointer data)
{
  node_clear (data);
  g_free (data);
}

static gboolean
node_is_empty (Node *node)
{
  return node->route == NULL && node->param == NULL &&
         (node->literals == NULL || g_hash_table_size (node->literals) == 0);
}

OwlRouter *
owl_router_new (void)
{
  return g_new0 (OwlRouter, 1);
}

void
owl_router_free (OwlRouter *router)
{
  if (router == NULL)
    return;
  node_clear (&router->root);
  g_free (router);
}

/* The child of @node for segment @i of @route, created when @create. */
static Node *
child_for (Node     *node,
           OwlRoute *route,
           guint     i,
           gboolean  create)
{
  gboolean is_param;
  const char *segment = owl_route_get_segment (route, i, &is_param);
  Node *child;

  if (is_param)
    {
      if (node->param == NULL && create)
        node->param = g_new0 (Node, 1);
      return node->param;
    }

  child = node->literals ? g_hash_table_lookup (node->literals, segment) : NULL;
  if (child == NULL && create)
    {
      if (node->literals == NULL)
        node->literals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, node_free);
      child = g_new0 (Node, 1);
      g_hash_table_insert (node->literals, g_strdup (segment), child);
    }
  return child;
}

gboolean
owl_router_add (OwlRouter *router,
                OwlRoute  *route,
                gpointer   value,
                gpointer  *existing)
{
  guint n = owl_route_get_n_segments (route);
  Node *node = &router->root;

  for (guint i = 0; i < n; i++)
    node = child_for (node, route, i, TRUE);

  if (node->route != NULL)
    {
      if (existing != NULL)
        *existing = node->value;
      return FALSE;
    }
  node->route = route;
  node->value = value;
  router->max_depth = MAX (router->max_depth, n);
  return TRUE;
}

/* Prunes the branches the route leaves empty, from the leaf up. */
static void
remove_below (Node     *node,
              OwlRoute *route,
              guint     i)
{
  gboolean is_param;
  const char *segment;
  Node *child;

  if (i == owl_route_get_n_segments (route))
    {
      node->route = NULL;
      node->value = NULL;
      return;
    }

  child = child_for (node, route, i, FALSE);
  if (child == NULL)
    return;
  remove_below (child, route, i + 1);
  if (!node_is_empty (child))
    return;

  segment = owl_route_get_segment (route, i, &is_param);
  if (is_param)
    g_clear_pointer (&node->param, node_free);
  else
    g_hash_table_remove (node->literals, segment);
}

void
owl_router_remove (OwlRouter *router,
                   OwlRoute  *route)
{
  remove_below (&router->root, route, 0);
}

typedef struct
{
  char     *text;   /* decoded */
  gboolean  valid;
} Segment;

/* Depth-first, literal before param. Each trie node sits at one depth and
 * is reached by one prefix of the path, so it is visited at most once. */
static Node *
walk (Node          *node,
      const Segment *segments,
      guint          n,
      guint          i)
{
  Node *found;

  if (i == n)
    return node->route != NULL ? node : NULL;

  if (node->literals != NULL && segments[i].valid)
    {
      Node *child = g_hash_table_lookup (node->literals, segments[i].text);

      if (child != NULL && (found = walk (child, segments, n, i + 1)) != NULL)
        return found;
    }
  if (node->param != NULL)
    return walk (node->param, segments, n, i + 1);
  return NULL;
}

/* The path's segments, decoded; FALSE when there are more than any route
 * has, or one is empty or badly escaped: no route matches then. */
static gboolean
split_path (const char *path,
            guint       max,
            GArray     *segments)
{
  const char *p = path + 1;

  if (*p == '\0')
    return TRUE;  /* "/": no segment */

  for (;;)
    {
      const char *end = strchr (p, '/');
      gsize len = end ? (gsize) (end - p) : strlen (p);
      Segment segment;

      if (len == 0 || segments->len == max)
        return FALSE;
      segment.text = owl_uri_decode (p, len, FALSE, &segment.valid);
      if (segment.text == NULL)
        return FALSE;
      g_array_append_val (segments, segment);
      if (end == NULL)
        return TRUE;
      p = end + 1;
    }
}

static void
segment_clear (gpointer data)
{
  g_free (((Segment *) data)->text);
}

OwlRouterResult
owl_router_lookup (OwlRouter   *router,
                   const char  *path,
                   gpointer    *value,
                   GHashTable **params,
                   char       **bad_param)
{
  g_autoptr(GArray) segments = NULL;
  g_autoptr(GHashTable) values = NULL;
  Node *node;

  if (path == NULL || path[0] != '/')
    return OWL_ROUTER_NOT_FOUND;

  segments = g_array_sized_new (FALSE, FALSE, sizeof (Segment), 8);
  g_array_set_clear_func (segments, segment_clear);
  if (!split_path (path, router->max_depth, segments))
    return OWL_ROUTER_NOT_FOUND;

  node = walk (&router->root, &g_array_index (segments, Segment, 0), segments->len, 0);
  if (node == NULL)
    return OWL_ROUTER_NOT_FOUND;
  *value = node->value;

  for (guint i = 0; i < segments->len; i++)
    {
      Segment *segment = &g_array_index (segments, Segment, i);
      gboolean is_param;
      const char *name = owl_route_get_segment (node->route, i, &is_param);

      if (!is_param)
        continue;
      if (!segment->valid)
        {
          if (bad_param != NULL)
            *bad_param = g_strdup (name);
          return OWL_ROUTER_BAD_PARAM;
        }
      if (params != NULL)
        {
          if (values == NULL)
            values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_hash_table_insert (values, g_strdup (name), g_steal_pointer (&segment->text));
        }
    }

  if (params != NULL)
    *params = g_steal_pointer (&values);
  return OWL_ROUTER_FOUND;
}
