/* owl-socket-service-connections.c: the service's connections
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The registry of open connections and the slots each holds, the hand-off
 * from an upgrade to its connection, rooms and broadcasts, and stopping.
 * A connection knows nothing of the service: the service listens to
 * `closed` with one emission hook for all its connections (a hook runs
 * before any handler; none is kept per connection, whose memory is what
 * lets a server hold many), and while stopping after every handler too (to
 * finish a stop only once every handler ran).
 */

#include <string.h>

#include "owl-access-log-private.h"
#include "owl-envelope-private.h"
#include "owl-json-private.h"
#include "owl-log-private.h"
#include "owl-module-private.h"
#include "owl-socket-service-private.h"

/* One open connection and the slots it holds in the connection limits. */
typedef struct
{
  OwlConnection *connection;  /* owned */
  OwlSlots       slots;
  gint64         opened_us;   /* monotonic, for the access log */
} Entry;

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_object_unref (entry->connection);
  g_free (entry);
}

static gboolean on_closed_hook (GSignalInvocationHint *hint,
                                guint                  n_values,
                                const GValue          *values,
                                gpointer               user_data);

static guint
closed_signal_id (void)
{
  static guint id;

  if (G_UNLIKELY (id == 0))
    {
      /* The signal exists once the class does. */
      g_type_class_unref (g_type_class_ref (OWL_TYPE_CONNECTION));
      id = g_signal_lookup ("closed", OWL_TYPE_CONNECTION);
    }
  return id;
}

void
owl_socket_service_init_connections (OwlSocketService *self)
{
  self->connections = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->closed_hook = g_signal_add_emission_hook (closed_signal_id (), 0,
                                                  on_closed_hook, self, NULL);
}

void
owl_socket_service_fini_connections (OwlSocketService *self)
{
  if (self->closed_hook != 0)
    g_signal_remove_emission_hook (closed_signal_id (), self->closed_hook);
  self->closed_hook = 0;
  g_clear_pointer (&self->connections, g_hash_table_unref);
}

static Entry *
lookup_entry (OwlSocketService *self,
              OwlConnection    *connection)
{
  return g_hash_table_lookup (self->connections, owl_connection_get_id (connection));
}

/* Gives back the slots @connection holds in the connection limits. */
static void
release_slots (OwlSocketService *self,
               OwlConnection    *connection)
{
  Entry *entry = lookup_entry (self, connection);

  if (entry != NULL)
    owl_admission_release (self->admission, &entry->slots);
}


/* Connections outlive a dropped service only as closed objects. */
void
owl_socket_service_clear_connections (OwlSocketService *self)
{
  g_autoptr(GPtrArray) gone = NULL;
  GHashTableIter iter;
  gpointer value;

  if (self->connections == NULL)
    return;
  gone = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;

      owl_admission_release (self->admission, &entry->slots);
      g_signal_handlers_disconnect_by_data (entry->connection, self);
      g_ptr_array_add (gone, g_object_ref (entry->connection));
    }
  /* Out of the table first: the hook then finds none of them. */
  g_hash_table_remove_all (self->connections);
  for (guint i = 0; i < gone->len; i++)
    owl_connection_close (g_ptr_array_index (gone, i), OWL_CLOSE_GOING_AWAY, "Service gone");
}

static void
stop_complete (OwlSocketService *self)
{
  g_autoptr(GPtrArray) tasks = NULL;

  self->stopping = FALSE;
  self->upgrades.stopping = FALSE;
  owl_socket_service_release_server (self);

  tasks = g_steal_pointer (&self->stop_tasks);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  owl_socket_service_emit_stopped (self);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

/* Before any of a connection's `closed` handlers, for every connection
 * there is (in any thread): this service's ones only. */
static gboolean
on_closed_hook (GSignalInvocationHint *hint,
                guint                  n_values,
                const GValue          *values,
                gpointer               user_data)
{
  OwlSocketService *self = user_data;
  OwlConnection *connection = g_value_get_object (&values[0]);
  guint code = g_value_get_uint (&values[1]);

  if (owl_connection_get_acceptor (connection) != self ||
      lookup_entry (self, connection) == NULL)
    return TRUE;

  if (self->access_log)
    owl_access_log_closed (connection, code, g_get_monotonic_time () - lookup_entry (self, connection)->opened_us);
  /* The table may hold the last reference; the signal still needs it. */
  g_object_ref (connection);
  release_slots (self, connection);
  owl_stats_count_closed (self->stats, code, owl_connection_get_dropped_messages (connection));
  g_hash_table_remove (self->connections, owl_connection_get_id (connection));
  owl_socket_service_emit_connection_signal (self, FALSE, connection);
  g_object_unref (connection);
  return TRUE;
}

/* After every `closed` handler: a stop finishes once all of them ran. */
static void
on_closed_after (OwlConnection *connection,
                 guint          code,
                 const char    *reason,
                 gpointer       user_data)
{
  OwlSocketService *self = user_data;

  g_signal_handlers_disconnect_by_data (connection, self);
  if (self->stopping && g_hash_table_size (self->connections) == 0)
    stop_complete (self);
}

/* The host for @module's next connection: the one its last connection got
 * while nothing in it changed (a limit, the expiry notice, the message
 * schemas), else a new one.
 * Kept on the module, so its connections share one. */
static OwlConnectionHost *
host_for (OwlSocketService *self,
          OwlModule        *module)
{
  static GQuark quark;
  OwlConnectionHost value = { 0, };
  OwlConnectionHost *host;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("owl-connection-host");

  value.acceptor = self;
  value.context = self->context;
  owl_limits_resolve (&self->limits, owl_module_get_limits (module), &value.limits);
  value.auth_expiry_notice = self->limits.auth_expiry_notice;
  value.auth_timeout = self->listener_limits.handshake_timeout;
  value.counters = owl_stats_get_counters (self->stats);
  value.rooms = self->rooms;
  value.chain = self->chain;
  value.schemas = owl_module_get_message_schemas (module);

  host = g_object_get_qdata (G_OBJECT (module), quark);
  if (host == NULL || !owl_connection_host_equal (host, &value))
    {
      host = owl_connection_host_new (&value);
      g_object_set_qdata_full (G_OBJECT (module), quark, host,
                               (GDestroyNotify) owl_connection_host_unref);
    }
  return host;
}

void
owl_socket_service_accepted (gpointer           service,
                             OwlUpgrade        *upgrade,
                             SoupServerMessage *msg,
                             GIOStream         *stream_owned)
{
  OwlSocketService *self = service;
  g_autoptr(GIOStream) stream = stream_owned;
  g_autoptr(OwlConnection) connection = NULL;
  OwlModule *module = owl_upgrade_get_module (upgrade);
  Entry *entry;

  connection = owl_connection_new (host_for (self, module), module, owl_upgrade_get_request (upgrade), stream,
                                   soup_server_message_get_uri (msg), owl_upgrade_get_deflate (upgrade));

  /* The module may have gone, or a stop begun, while the 101 was written. */
  if (owl_module_get_service (module) != self || self->stopping)
    {
      owl_connection_start (connection);
      owl_connection_close (connection, OWL_CLOSE_GOING_AWAY, "Going away");
      return;
    }

  /* The connection holds the upgrade's slots from here; its close gives
   * them back. */
  entry = g_new0 (Entry, 1);
  entry->connection = g_object_ref (connection);
  owl_upgrade_take_slots (upgrade, &entry->slots);
  entry->opened_us = g_get_monotonic_time ();
  g_hash_table_insert (self->connections, (gpointer) owl_connection_get_id (connection), entry);
  owl_stats_count_accepted (self->stats);
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, owl_connection_get_id (connection),
                "Accepted on module %s", owl_module_get_alias (module));
  if (self->access_log)
    owl_access_log_opened (connection);

  owl_socket_service_emit_connection_signal (self, TRUE, connection);
  owl_module_emit_connection (module, connection);
  owl_connection_start (connection);
}

/* Every connection of a copy: a tick may close one, which leaves the table. */
static GPtrArray *
copy_connections (OwlSocketService *self)
{
  GPtrArray *copy = g_ptr_array_new_full (g_hash_table_size (self->connections), g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (copy, g_object_ref (((Entry *) value)->connection));
  return copy;
}

void
owl_socket_service_tick_connections (OwlSocketService *self,
                                     gint64            now_us)
{
  g_autoptr(GPtrArray) connections = copy_connections (self);

  for (guint i = 0; i < connections->len; i++)
    owl_connection_tick (g_ptr_array_index (connections, i), now_us);
}

void
owl_socket_service_close_module (OwlSocketService *self,
                                 OwlModule        *module)
{
  g_autoptr(GPtrArray) connections = copy_connections (self);

  for (guint i = 0; i < connections->len; i++)
    if (owl_connection_get_module (g_ptr_array_index (connections, i)) == module)
      owl_connection_close (g_ptr_array_index (connections, i), OWL_CLOSE_GOING_AWAY, "Endpoint removed");
}

guint64
owl_socket_service_dropped_open (OwlSocketService *self)
{
  GHashTableIter iter;
  gpointer value;
  guint64 dropped = 0;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    dropped += owl_connection_get_dropped_messages (((Entry *) value)->connection);
  return dropped;
}

/* Registry ----------------------------------------------------------------- */

/**
 * owl_socket_service_get_n_connections:
 * @self: a service
 *
 * Counts the open connections.
 *
 * Returns: how many connections are open
 *
 * Since: 0.1
 */
guint
owl_socket_service_get_n_connections (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), 0);

  return g_hash_table_size (self->connections);
}

/**
 * owl_socket_service_lookup_connection:
 * @self: a service
 * @id: a connection id
 *
 * Finds an open connection by its id.
 *
 * Returns: (transfer none) (nullable): the open connection with @id
 *
 * Since: 0.1
 */
OwlConnection *
owl_socket_service_lookup_connection (OwlSocketService *self,
                                      const char       *id)
{
  Entry *entry;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  entry = g_hash_table_lookup (self->connections, id);
  return entry ? entry->connection : NULL;
}

/**
 * owl_socket_service_list_connections:
 * @self: a service
 *
 * Lists the open connections.
 *
 * Returns: (transfer container) (element-type OwlConnection): the open
 *   connections
 *
 * Since: 0.1
 */
GList *
owl_socket_service_list_connections (OwlSocketService *self)
{
  GList *list = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    list = g_list_prepend (list, ((Entry *) value)->connection);
  return list;
}

/* Rooms and broadcasts ------------------------------------------------------------ */

/**
 * owl_socket_service_broadcast:
 * @self: a service
 * @room: a room name
 * @message: the JSON to send
 * @except: (nullable): a connection that should not receive it, usually the
 *   sender
 *
 * Sends @message to every connection in @room but @except. The JSON is
 * serialised once for all members. Safe from any thread.
 *
 * Since: 0.1
 */
void
owl_socket_service_broadcast (OwlSocketService *self,
                              const char       *room,
                              JsonNode         *message,
                              OwlConnection    *except)
{
  gsize len;
  char *data;

  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));
  g_return_if_fail (room != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (except == NULL || OWL_IS_CONNECTION (except));

  data = owl_json_to_data (message, &len);
  owl_rooms_broadcast_take (self->rooms, room, data, len, (GObject *) except);
}

/**
 * owl_socket_service_broadcast_text:
 * @self: a service
 * @room: a room name
 * @text: UTF-8 text, usually serialised JSON
 * @except: (nullable): a connection that should not receive it
 *
 * Sends @text as it is to every connection in @room but @except. Safe from
 * any thread.
 *
 * Since: 0.1
 */
void
owl_socket_service_broadcast_text (OwlSocketService *self,
                                   const char       *room,
                                   const char       *text,
                                   OwlConnection    *except)
{
  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));
  g_return_if_fail (room != NULL);
  g_return_if_fail (text != NULL);
  g_return_if_fail (g_utf8_validate (text, -1, NULL));

  owl_rooms_broadcast_take (self->rooms, room, g_strdup (text), strlen (text), (GObject *) except);
}

/**
 * owl_socket_service_list_room_members:
 * @self: a service
 * @room: a room name
 *
 * Lists the connections in @room.
 *
 * Returns: (transfer container) (element-type OwlConnection): the
 *   connections in @room
 *
 * Since: 0.1
 */
GList *
owl_socket_service_list_room_members (OwlSocketService *self,
                                      const char       *room)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (room != NULL, NULL);

  return owl_rooms_list_members (self->rooms, room);
}

/**
 * owl_socket_service_dup_rooms:
 * @self: a service
 *
 * Lists the rooms that have members.
 *
 * Returns: (transfer full) (array zero-terminated=1): the rooms that have
 *   members
 *
 * Since: 0.1
 */
char **
owl_socket_service_dup_rooms (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  return owl_rooms_dup_names (self->rooms);
}

/* Stopping ----------------------------------------------------------------- */

static gboolean
stop_idle_cb (gpointer data)
{
  OwlSocketService *self = data;

  self->stop_idle = 0;
  if (self->stopping && g_hash_table_size (self->connections) == 0)
    stop_complete (self);

  return G_SOURCE_REMOVE;
}

/**
 * owl_socket_service_stop:
 * @self: a service
 *
 * Stops gracefully: every connection is closed with 1001, new upgrades are
 * answered with 503, and [signal@Owlsock.SocketService::stopped] is emitted
 * once every connection has closed; then the service stops accepting (an
 * owned server stops listening; an attached server loses the service's
 * handlers). It is emitted from the main loop even when nothing was open.
 *
 * Since: 0.1
 */
void
owl_socket_service_stop (OwlSocketService *self)
{
  g_autoptr(GPtrArray) connections = NULL;

  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));

  if (self->stopping)
    return;
  self->stopping = TRUE;
  self->upgrades.stopping = TRUE;

  connections = copy_connections (self);
  for (guint i = 0; i < connections->len; i++)
    {
      OwlConnection *connection = g_ptr_array_index (connections, i);
      gsize len;
      char *frame = owl_envelope_shutdown ("Server shutting down", &len);

      /* The stop finishes after the last connection's handlers all ran. */
      g_signal_connect_after (connection, "closed", G_CALLBACK (on_closed_after), self);

      /* Clients learn why before the close (and may reconnect elsewhere). */
      owl_channel_send_take (owl_connection_get_channel (connection), frame, len, NULL);
      owl_connection_close (connection, OWL_CLOSE_GOING_AWAY, "Server shutting down");
    }

  if (g_hash_table_size (self->connections) == 0 && self->stop_idle == 0)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_callback (source, stop_idle_cb, self, NULL);
      self->stop_idle = g_source_attach (source, self->context);
      g_source_unref (source);
    }
}

/**
 * owl_socket_service_stop_async:
 * @self: a service
 * @cancellable: (nullable): a #GCancellable; cancelling stops the wait, not
 *   the stop
 * @callback: (scope async): called when the stop finished
 * @user_data: (closure): data for @callback
 *
 * Starts [method@Owlsock.SocketService.stop] and calls @callback once it
 * finished.
 *
 * Since: 0.1
 */
void
owl_socket_service_stop_async (OwlSocketService    *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, owl_socket_service_stop_async);
  g_task_set_check_cancellable (task, TRUE);
  g_ptr_array_add (self->stop_tasks, task);

  owl_socket_service_stop (self);
}

/**
 * owl_socket_service_stop_finish:
 * @self: a service
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Owlsock.SocketService.stop_async].
 *
 * Returns: %TRUE once the service stopped
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_stop_finish (OwlSocketService  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * owl_socket_service_is_stopping:
 * @self: a service
 *
 * Tells whether a stop is under way.
 *
 * Returns: whether a stop is under way
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_is_stopping (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);

  return self->stopping;
}
