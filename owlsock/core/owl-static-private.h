/* owl-static-private.h: files from a folder on the service's own server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GET only; a path names a regular file inside the folder or nothing: no
 * listing, no `..` or `.` segment (escaped or not), no name that starts
 * with a dot, no escaped `/` or NUL, no symbolic link that leads out of
 * the folder. Everything else is a 404 with the service's JSON body.
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _OwlStatic OwlStatic;

/* @directory must exist; its real path is kept. */
OwlStatic  *owl_static_new        (const char  *prefix,
                                   const char  *directory,
                                   GError     **error);
void        owl_static_free       (OwlStatic   *self);
const char *owl_static_get_prefix (OwlStatic   *self);

/* NULL: served nowhere. */
void        owl_static_attach     (OwlStatic   *self,
                                   SoupServer  *server);

/* The Content-Type for @name, by its extension. */
const char *owl_static_content_type (const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlStatic, owl_static_free)

G_END_DECLS
