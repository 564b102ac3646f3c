/* owl-uri-private.h: percent-decoding
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A pure function of its input, shared by OwlRequest (path and query), the
 * router (path segments) and the `recover` parameter, and fuzzed alone.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Percent-decodes @len bytes of @s (a path segment, or a query component
 * when @plus_is_space). NULL on a malformed escape; *@valid is FALSE when
 * the result holds a NUL or is not valid UTF-8. */
char *owl_uri_decode (const char *s,
                      gsize       len,
                      gboolean    plus_is_space,
                      gboolean   *valid);

G_END_DECLS
