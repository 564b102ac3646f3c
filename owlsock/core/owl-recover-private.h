/* owl-recover-private.h: the `recover` handshake parameter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A reconnecting client names, per room, the last position it saw:
 * `recover={"ROOM":{"offset":N,"epoch":"E"},...}` (percent-encoded). The
 * upgrade refuses a bad value with the `recover` refusal; the connection
 * reads the value again (it is valid then) when it joins a room.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define OWL_RECOVER_MAX_ROOMS 64
#define OWL_RECOVER_MAX_EPOCH 64

/* The rooms of @value (NUL-terminated, percent-decoded) as a table from
 * room name to OwlPosition (its epoch in the same block), or NULL when
 * @value is not a valid recover value. */
GHashTable *owl_recover_parse     (const char *value);
/* The raw (percent-encoded) @query's last `recover` value, decoded, or
 * NULL; @present tells whether the parameter is there at all (a value that
 * does not decode to text without NUL gives NULL with @present set). */
char       *owl_recover_find      (const char *query,
                                   gboolean   *present);

G_END_DECLS
