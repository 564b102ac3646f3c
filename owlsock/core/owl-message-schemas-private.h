/* owl-message-schemas-private.h: what an application message is checked against
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A module's `message-schema`, its per-type schemas and `strict-types`,
 * frozen: the module makes a new set after each change, and a connection
 * keeps (through its host) the set it was admitted with. Immutable and
 * shared by reference.
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-schema.h"

G_BEGIN_DECLS

typedef struct _OwlMessageSchemas OwlMessageSchemas;

/* @types maps a type to its OwlSchema; it is referenced, not copied, so
 * nobody may change it afterwards. Both may be NULL. */
OwlMessageSchemas *owl_message_schemas_new   (OwlSchema         *message,
                                              GHashTable        *types,
                                              gboolean           strict);
OwlMessageSchemas *owl_message_schemas_ref   (OwlMessageSchemas *self);
void               owl_message_schemas_unref (OwlMessageSchemas *self);

/* Why a message was refused, for its `validation` error frame. */
typedef struct
{
  const char *type;      /* the type whose own schema failed, or NULL; in the message */
  char       *pointer;
  const char *keyword;   /* static */
  char       *message;
} OwlMessageFailure;

void     owl_message_failure_clear (OwlMessageFailure *failure);

/* @root is an object of @size bytes on the wire. With @self NULL every
 * message passes. Else `message-schema` first, then the schema of the
 * message's string `type`; with neither for its type, a strict set refuses
 * it. Each schema has the budget of @size. */
gboolean owl_message_schemas_check (OwlMessageSchemas *self,
                                    JsonNode          *root,
                                    gsize              size,
                                    OwlMessageFailure *failure);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlMessageSchemas, owl_message_schemas_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (OwlMessageFailure, owl_message_failure_clear)

G_END_DECLS
