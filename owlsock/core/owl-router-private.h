/* owl-router-private.h: finds the module of a request path in a segment trie
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each node of the trie is one path segment: literal children in a hash
 * table and at most one param child. A lookup decodes each segment of the
 * path once and walks down, trying the literal child before the param one
 * (`/ws/chat/admin` wins over `/ws/chat/:room`), so its cost depends on the
 * path, not on how many modules there are. Each trie node is reached by one
 * prefix of the path only, so the walk visits it at most once.
 */

#pragma once

#include <glib.h>

#include "owl-route-private.h"

G_BEGIN_DECLS

typedef struct _OwlRouter OwlRouter;

typedef enum
{
  OWL_ROUTER_FOUND,
  OWL_ROUTER_NOT_FOUND,
  /* A route matched, but a param's value is not valid UTF-8 or holds a
   * NUL: the request must be refused, naming the param. */
  OWL_ROUTER_BAD_PARAM,
} OwlRouterResult;

OwlRouter      *owl_router_new    (void);
void            owl_router_free   (OwlRouter    *router);
/* Adds @route (borrowed: it must live until removed) for @value. FALSE,
 * with *@existing set (if not NULL), when a route of the same shape (the
 * same paths: param names do not count) is there already. */
gboolean        owl_router_add    (OwlRouter    *router,
                                   OwlRoute     *route,
                                   gpointer      value,
                                   gpointer     *existing);
/* Removes the route of @route's shape, if there is one. */
void            owl_router_remove (OwlRouter    *router,
                                   OwlRoute     *route);
/* @path is the request's encoded path. FOUND: *@value is the route's
 * value and *@params (if not NULL) a new table of param name to decoded
 * value. BAD_PARAM: *@value is set and *@bad_param (if not NULL) is a
 * newly allocated copy of the param's name. */
OwlRouterResult owl_router_lookup (OwlRouter    *router,
                                   const char   *path,
                                   gpointer     *value,
                                   GHashTable  **params,
                                   char        **bad_param);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRouter, owl_router_free)

G_END_DECLS
