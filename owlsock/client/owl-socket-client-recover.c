/* owl-socket-client-recover.c: the history positions of rooms, and recovery at the handshake
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A room with history numbers its broadcasts: each carries, as its first
 * member, `"pos": {"room", "offset", "epoch"}`, and each join into such a
 * room ends with a `system` `joined` frame whose payload has the room's
 * epoch and top offset. The client keeps the latest position per room
 * (the higher offset within an epoch; a new epoch replaces the old one),
 * at most OWL_CLIENT_MAX_POSITIONS rooms (the least recently updated goes
 * first), and gives them back on the next connection as the `recover`
 * query parameter: the server then replays what was missed, and says in
 * the `joined` frame whether it could (`recovered`, `missed`). The
 * parameter is bounded too (OWL_CLIENT_MAX_RECOVER_BYTES): a request
 * head over the server's max-handshake-size (16 KiB by default) is
 * refused with 431, and a refusal ends the client for good; the rooms
 * updated last go first.
 *
 * What the server sends is checked before it is kept: a position that
 * the server would refuse in `recover` (an offset that is not an integer
 * from 0 to 2^53 - 1, an epoch longer than 64 bytes) would make every
 * later reconnect fail.
 */

#include "config.h"

#include <string.h>

#include "owl-json-private.h"
#include "owl-socket-client-private.h"

/* The largest offset kept: JavaScript's Number.MAX_SAFE_INTEGER, so the
 * browser client and this one agree. */
#define OWL_CLIENT_MAX_OFFSET ((G_GINT64_CONSTANT (1) << 53) - 1)
/* The longest epoch the server accepts in `recover`. */
#define OWL_CLIENT_MAX_EPOCH 64
/* The most bytes the `recover` parameter takes, encoded: half of the
 * server's default max-handshake-size, the rest for the path, the token
 * and the headers. */
#define OWL_CLIENT_MAX_RECOVER_BYTES 8192

typedef struct
{
  char    *epoch;
  guint64  offset;
  guint64  stamp;    /* position_clock at its last update */
} OwlClientPosition;

enum {
  RECOVERED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
position_free (gpointer data)
{
  OwlClientPosition *pos = data;

  g_free (pos->epoch);
  g_free (pos);
}

void
owl_socket_client_init_positions (OwlSocketClient *self)
{
  self->positions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, position_free);
}

void
owl_socket_client_install_recovered (GObjectClass *object_class)
{
  /**
   * OwlSocketClient::recovered:
   * @self: the client
   * @room: the room
   * @recovered: whether the publications missed were replayed (they
   *   came before this signal, each as a message); %FALSE when the gap
   *   was no longer in the room's history, its epoch changed, or the
   *   server could not read it
   * @missed: how many publications were replayed
   *
   * The server answered a recovery the client asked for (see
   * [property@Owlsock.SocketClient:recover]): a `system` `joined` frame
   * with `recovered` arrived for @room. The frame itself follows as
   * [signal@Owlsock.SocketClient::message].
   *
   * Since: 0.1
   */
  signals[RECOVERED] =
    g_signal_new ("recovered", G_TYPE_FROM_CLASS (object_class), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_BOOLEAN, G_TYPE_UINT);
}

/* Taking positions ------------------------------------------------------------------ */

static void
evict_oldest (OwlSocketClient *self)
{
  GHashTableIter iter;
  gpointer key, value;
  const char *oldest = NULL;
  guint64 stamp = G_MAXUINT64;

  g_hash_table_iter_init (&iter, self->positions);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      OwlClientPosition *pos = value;

      if (pos->stamp < stamp)
        {
          stamp = pos->stamp;
          oldest = key;
        }
    }
  if (oldest != NULL)
    g_hash_table_remove (self->positions, oldest);
}

/* Keeps @epoch / @offset for @room: the higher offset within the epoch
 * the client knows, any offset of another epoch; always when @force. */
static void
position_update (OwlSocketClient *self,
                 const char      *room,
                 const char      *epoch,
                 guint64          offset,
                 gboolean         force)
{
  OwlClientPosition *pos = g_hash_table_lookup (self->positions, room);

  if (pos == NULL)
    {
      if (g_hash_table_size (self->positions) >= OWL_CLIENT_MAX_POSITIONS)
        evict_oldest (self);
      pos = g_new0 (OwlClientPosition, 1);
      g_hash_table_insert (self->positions, g_strdup (room), pos);
    }
  else if (g_strcmp0 (pos->epoch, epoch) == 0 && offset <= pos->offset && !force)
    return;
  if (g_strcmp0 (pos->epoch, epoch) != 0)
    {
      g_free (pos->epoch);
      pos->epoch = g_strdup (epoch);
    }
  pos->offset = offset;
  pos->stamp = ++self->position_clock;
}

/* An integer member from 0 to @max, or -1. */
static gint64
get_count (JsonObject *object,
           const char *name,
           gint64      max)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 value;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return -1;
  value = json_node_get_int (node);
  return value >= 0 && value <= max ? value : -1;
}

/* Keeps the position in @object ({room, epoch, offset}) if it is one the
 * server would take back; returns its room, or NULL. */
static const char *
take_position (OwlSocketClient *self,
               JsonObject      *object)
{
  const char *room = owl_json_object_get_string (object, "room");
  const char *epoch = owl_json_object_get_string (object, "epoch");
  gint64 offset = get_count (object, "offset", OWL_CLIENT_MAX_OFFSET);

  if (room == NULL || epoch == NULL || strlen (epoch) > OWL_CLIENT_MAX_EPOCH || offset < 0)
    return NULL;
  position_update (self, room, epoch, (guint64) offset, FALSE);
  return room;
}

static JsonObject *
get_object (JsonObject *object,
            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* A `joined` frame: the room's position, and the answer to a recovery. */
static void
track_joined (OwlSocketClient *self,
              JsonObject      *payload)
{
  const char *room = take_position (self, payload);
  JsonNode *recovered = json_object_get_member (payload, "recovered");
  gint64 missed;

  if (room == NULL || recovered == NULL || json_node_get_value_type (recovered) != G_TYPE_BOOLEAN)
    return;
  missed = get_count (payload, "missed", G_MAXUINT);
  g_signal_emit (self, signals[RECOVERED], 0, room, json_node_get_boolean (recovered),
                 (guint) MAX (missed, 0));
}

void
owl_socket_client_track (OwlSocketClient *self,
                         JsonObject      *object)
{
  JsonObjectIter iter;
  const char *name;

  /* `pos` leads the object: a member of that name further in is the
   * application's own. This runs for every message: the first name
   * alone decides, without its node (a hash lookup). */
  json_object_iter_init_ordered (&iter, object);
  if (json_object_iter_next_ordered (&iter, &name, NULL) && name[0] == 'p' && strcmp (name, "pos") == 0)
    {
      JsonObject *pos = get_object (object, "pos");

      if (pos != NULL)
        take_position (self, pos);
    }
}

void
owl_socket_client_track_joined (OwlSocketClient *self,
                                JsonObject      *object)
{
  JsonObject *payload = get_object (object, "payload");

  if (payload != NULL)
    track_joined (self, payload);
}

/* Giving them back ------------------------------------------------------------------ */

static gint
by_stamp_descending (gconstpointer a,
                     gconstpointer b,
                     gpointer      data)
{
  GHashTable *positions = data;
  const OwlClientPosition *pa = g_hash_table_lookup (positions, *(const char **) a);
  const OwlClientPosition *pb = g_hash_table_lookup (positions, *(const char **) b);

  return pa->stamp < pb->stamp ? 1 : pa->stamp > pb->stamp ? -1 : 0;
}

/* {"ROOM": {"offset", "epoch"}, ...}: the @limit rooms updated last, the
 * most recent first. */
static JsonNode *
positions_to_node (OwlSocketClient *self,
                   guint            limit)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(GPtrArray) rooms = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer room;

  g_hash_table_iter_init (&iter, self->positions);
  while (g_hash_table_iter_next (&iter, &room, NULL))
    g_ptr_array_add (rooms, room);
  g_ptr_array_sort_with_data (rooms, by_stamp_descending, self->positions);
  for (guint i = 0; i < rooms->len && i < limit; i++)
    {
      const OwlClientPosition *pos = g_hash_table_lookup (self->positions, rooms->pdata[i]);
      JsonObject *member = json_object_new ();

      json_object_set_int_member (member, "offset", (gint64) pos->offset);
      json_object_set_string_member (member, "epoch", pos->epoch);
      json_object_set_object_member (object, rooms->pdata[i], member);
    }
  return json_node_init_object (json_node_alloc (), object);
}

/* The `recover` value, percent-encoded, of the most rooms (the most
 * recently updated) that fit in OWL_CLIENT_MAX_RECOVER_BYTES; NULL when
 * not even one does. */
static char *
recover_value (OwlSocketClient *self)
{
  for (guint n = g_hash_table_size (self->positions); n > 0; n--)
    {
      g_autoptr(JsonNode) positions = positions_to_node (self, n);
      g_autofree char *json = NULL;
      g_autofree char *escaped = NULL;
      gsize len;

      json = owl_json_to_data (positions, &len);
      escaped = g_uri_escape_string (json, NULL, FALSE);
      if (strlen (escaped) <= OWL_CLIENT_MAX_RECOVER_BYTES)
        return g_steal_pointer (&escaped);
    }
  return NULL;
}

GUri *
owl_socket_client_dup_attempt_uri (OwlSocketClient *self)
{
  g_autofree char *value = NULL;
  g_autofree char *query = NULL;
  const char *old;

  if (!self->recover || (value = recover_value (self)) == NULL)
    return g_uri_ref (self->uri);
  old = g_uri_get_query (self->uri);
  query = old != NULL && old[0] != '\0' ? g_strconcat (old, "&recover=", value, NULL)
                                        : g_strconcat ("recover=", value, NULL);
  return g_uri_build (g_uri_get_flags (self->uri), g_uri_get_scheme (self->uri),
                      g_uri_get_userinfo (self->uri), g_uri_get_host (self->uri),
                      g_uri_get_port (self->uri), g_uri_get_path (self->uri), query,
                      g_uri_get_fragment (self->uri));
}

/* The API ----------------------------------------------------------------------------- */

/**
 * owl_socket_client_dup_positions:
 * @self: a client
 *
 * Gets the position the client holds for each room with history, as
 * the `recover` query parameter gives them to the server: a JSON object
 * `{"ROOM": {"offset": N, "epoch": "E"}, ...}`, the most recently updated
 * room first. An application that outlives its process keeps this
 * object and gives each member back with
 * [method@Owlsock.SocketClient.set_position] in the next one.
 *
 * Returns: (transfer full): a JSON object, empty when no position is known
 *
 * Since: 0.1
 */
JsonNode *
owl_socket_client_dup_positions (OwlSocketClient *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), NULL);

  return positions_to_node (self, G_MAXUINT);
}

/**
 * owl_socket_client_set_position:
 * @self: a client
 * @room: a room
 * @epoch: (nullable): the room's epoch, at most 64 bytes; %NULL forgets
 *   the room
 * @offset: the offset of the last publication the application has seen,
 *   at most 2^53 - 1 (0: none yet)
 *
 * Sets the position the client holds for @room, as if it came from the
 * server: given back in `recover` on the next connection (the first one
 * too: a client whose positions were set asks to recover at once). The
 * client keeps the positions of 64 rooms; a 65th replaces the least
 * recently updated.
 *
 * Since: 0.1
 */
void
owl_socket_client_set_position (OwlSocketClient *self,
                                const char      *room,
                                const char      *epoch,
                                guint64          offset)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));
  g_return_if_fail (room != NULL);
  g_return_if_fail (epoch == NULL || strlen (epoch) <= OWL_CLIENT_MAX_EPOCH);
  g_return_if_fail (offset <= OWL_CLIENT_MAX_OFFSET);

  if (epoch == NULL)
    g_hash_table_remove (self->positions, room);
  else
    position_update (self, room, epoch, offset, TRUE);
}
