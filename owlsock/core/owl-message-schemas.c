/* owl-message-schemas.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-json-private.h"
#include "owl-message-schemas-private.h"
#include "owl-schema-private.h"

struct _OwlMessageSchemas
{
  OwlSchema  *message;   /* nullable */
  GHashTable *types;     /* nullable: type -> OwlSchema */
  gboolean    strict;
};

OwlMessageSchemas *
owl_message_schemas_new (OwlSchema  *message,
                         GHashTable *types,
                         gboolean    strict)
{
  OwlMessageSchemas *self = g_atomic_rc_box_new0 (OwlMessageSchemas);

  self->message = message ? g_object_ref (message) : NULL;
  self->types = types ? g_hash_table_ref (types) : NULL;
  self->strict = strict;
  return self;
}

OwlMessageSchemas *
owl_message_schemas_ref (OwlMessageSchemas *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
schemas_clear (gpointer data)
{
  OwlMessageSchemas *self = data;

  g_clear_object (&self->message);
  g_clear_pointer (&self->types, g_hash_table_unref);
}

void
owl_message_schemas_unref (OwlMessageSchemas *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, schemas_clear);
}

void
owl_message_failure_clear (OwlMessageFailure *failure)
{
  g_clear_pointer (&failure->pointer, g_free);
  g_clear_pointer (&failure->message, g_free);
  failure->type = NULL;
  failure->keyword = NULL;
}

static gboolean
check_one (OwlSchema         *schema,
           JsonNode          *root,
           gsize              size,
           OwlMessageFailure *failure)
{
  return owl_schema_check (schema, root, owl_schema_budget_for_size (size),
                           &failure->pointer, &failure->keyword, &failure->message);
}

/* Strict: as if the message schema listed the known types under `type`. */
static gboolean
refuse_unknown (JsonObject        *object,
                OwlMessageFailure *failure)
{
  gboolean missing = !json_object_has_member (object, "type");

  failure->pointer = g_strdup (missing ? "" : "/type");
  failure->keyword = missing ? "required" : "enum";
  failure->message = g_strdup (missing ? "missing required property \"type\""
                                       : "no schema for this message type");
  return FALSE;
}

gboolean
owl_message_schemas_check (OwlMessageSchemas *self,
                           JsonNode          *root,
                           gsize              size,
                           OwlMessageFailure *failure)
{
  JsonObject *object = json_node_get_object (root);
  OwlSchema *schema = NULL;
  const char *type;

  *failure = (OwlMessageFailure) { NULL, NULL, NULL, NULL };
  if (self == NULL)
    return TRUE;
  if (self->message != NULL && !check_one (self->message, root, size, failure))
    return FALSE;

  type = owl_json_object_get_string (object, "type");
  if (type != NULL && self->types != NULL)
    schema = g_hash_table_lookup (self->types, type);
  if (schema == NULL)
    return !self->strict || refuse_unknown (object, failure);

  if (check_one (schema, root, size, failure))
    return TRUE;
  failure->type = type;
  return FALSE;
}
