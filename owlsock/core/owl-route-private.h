/* owl-route-private.h: path patterns with `:name` params
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwlRoute OwlRoute;

OwlRoute   *owl_route_parse      (const char  *pattern,
                                  GError     **error);
void        owl_route_free       (OwlRoute    *route);
const char *owl_route_get_prefix (OwlRoute    *route);
guint       owl_route_get_n_segments (OwlRoute *route);
const char *owl_route_get_segment    (OwlRoute *route,
                                      guint     i,
                                      gboolean *is_param);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRoute, owl_route_free)

G_END_DECLS
