/* owl-recover.c: the `recover` handshake parameter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owl-broker-private.h"
#include "owl-json-private.h"
#include "owl-recover-private.h"
#include "owl-uri-private.h"

/* The top object and each room's: nothing deeper is read. */
#define RECOVER_MAX_DEPTH 2

/* @node as one room's position, or NULL. */
static OwlPosition *
position_new (JsonNode *node)
{
  JsonObject *object;
  JsonNode *offset;
  const char *epoch;
  OwlPosition *pos;
  gsize len;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  offset = json_object_get_member (object, "offset");
  epoch = owl_json_object_get_string (object, "epoch");
  if (offset == NULL || epoch == NULL || !JSON_NODE_HOLDS_VALUE (offset) ||
      json_node_get_value_type (offset) != G_TYPE_INT64 || json_node_get_int (offset) < 0)
    return NULL;
  len = strlen (epoch);
  if (len > OWL_RECOVER_MAX_EPOCH)
    return NULL;

  /* One block: the epoch follows the structure. */
  pos = g_malloc (sizeof (OwlPosition) + len + 1);
  pos->offset = (guint64) json_node_get_int (offset);
  pos->epoch = memcpy ((char *) (pos + 1), epoch, len + 1);
  return pos;
}

GHashTable *
owl_recover_parse (const char *value)
{
  g_autoptr(GHashTable) rooms = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  OwlError code;
  gsize len = strlen (value);

  if (!g_utf8_validate_len (value, len, NULL))
    return NULL;
  root = owl_json_parse (value, len, RECOVER_MAX_DEPTH, &code);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      json_object_get_size (json_node_get_object (root)) > OWL_RECOVER_MAX_ROOMS)
    return NULL;

  rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &name, &member))
    {
      OwlPosition *pos = position_new (member);

      if (pos == NULL)
        return NULL;
      g_hash_table_insert (rooms, g_strdup (name), pos);
    }
  return g_steal_pointer (&rooms);
}

char *
owl_recover_find (const char *query,
                  gboolean   *present)
{
  const char *p = query;
  char *found = NULL;

  *present = FALSE;
  while (p != NULL && *p != '\0')
    {
      const char *end = strchrnul (p, '&');
      const char *eq = memchr (p, '=', end - p);
      gboolean valid = FALSE;

      if (eq != NULL && eq - p == strlen ("recover") && memcmp (p, "recover", eq - p) == 0)
        {
          /* The last one counts, as in OwlRequest's table. One that does
           * not decode to text without NUL reads as no value: refused. */
          *present = TRUE;
          g_free (found);
          found = owl_uri_decode (eq + 1, end - eq - 1, TRUE, &valid);
          if (!valid)
            g_clear_pointer (&found, g_free);
        }
      p = *end ? end + 1 : end;
    }
  return found;
}
