/* owld-bus.c: owlsockd on the bus, the object /org/owlmeans/Owlsock1
 *
 * Every method checks what it is given and answers with one of the named
 * errors of data/org.owlmeans.Owlsock1.xml: bad input never reaches a
 * connection and never stops the daemon.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owld-bus.h"

static const GDBusErrorEntry error_entries[] = {
  { OWLD_BUS_ERROR_INVALID_JSON, "org.owlmeans.Owlsock1.Error.InvalidJson" },
  { OWLD_BUS_ERROR_UNKNOWN_CONNECTION, "org.owlmeans.Owlsock1.Error.UnknownConnection" },
  { OWLD_BUS_ERROR_UNKNOWN_ROOM, "org.owlmeans.Owlsock1.Error.UnknownRoom" },
  { OWLD_BUS_ERROR_UNKNOWN_MODULE, "org.owlmeans.Owlsock1.Error.UnknownModule" },
  { OWLD_BUS_ERROR_INVALID_CLOSE_CODE, "org.owlmeans.Owlsock1.Error.InvalidCloseCode" },
  { OWLD_BUS_ERROR_TOO_LARGE, "org.owlmeans.Owlsock1.Error.TooLarge" },
  { OWLD_BUS_ERROR_HANDLER_EXISTS, "org.owlmeans.Owlsock1.Error.HandlerExists" },
  { OWLD_BUS_ERROR_NOT_HANDLER, "org.owlmeans.Owlsock1.Error.NotHandler" },
  { OWLD_BUS_ERROR_INVALID_CONFIG, "org.owlmeans.Owlsock1.Error.InvalidConfig" },
  { OWLD_BUS_ERROR_UNAVAILABLE, "org.owlmeans.Owlsock1.Error.Unavailable" },
};

GQuark
owld_bus_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("owld-bus-error-quark", &quark, error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

struct _OwldBus
{
  OwldDaemon      *daemon;
  OwldOwlsock1    *skeleton;
  GDBusConnection *connection;
  OwldHandlers    *handlers;
};

/* Answers @invocation with an error; TRUE, what a handle-* signal returns. */
static gboolean G_GNUC_PRINTF (4, 5)
fail_in (GDBusMethodInvocation *invocation,
         GQuark                 domain,
         gint                   code,
         const char            *format,
         ...)
{
  va_list args;

  va_start (args, format);
  g_dbus_method_invocation_return_error_valist (invocation, domain, code, format, args);
  va_end (args);
  return TRUE;
}

#define FAIL(inv, code, ...) fail_in ((inv), OWLD_BUS_ERROR, (code), __VA_ARGS__)
#define INVALID_ARGS(inv, ...) fail_in ((inv), G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, __VA_ARGS__)

/* Descriptions -------------------------------------------------------------------- */

/* A table of strings (params, query) as a{ss}. */
GVariant *
owld_bus_string_dict (GHashTable *table)
{
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer key, value;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  if (table != NULL)
    {
      g_hash_table_iter_init (&iter, table);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_variant_builder_add (&builder, "{ss}", key, value ? value : "");
    }
  return g_variant_builder_end (&builder);
}

/* DescribeConnection's answer, and the info of ConnectionOpened and of a
 * handler's Opened. */
GVariant *
owld_bus_describe (OwlConnection *connection)
{
  static const char * const states[] = { "open", "closing", "closed" };
  OwlRequest *request = owl_connection_get_request (connection);
  OwlModule *module = owl_connection_get_module (connection);
  OwlAuth *auth = owl_connection_get_auth (connection);
  g_auto(GStrv) rooms = owl_connection_dup_rooms (connection);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (module != NULL)
    g_variant_builder_add (&b, "{sv}", "module", g_variant_new_string (owl_module_get_alias (module)));
  g_variant_builder_add (&b, "{sv}", "path", g_variant_new_string (owl_request_get_path (request)));
  g_variant_builder_add (&b, "{sv}", "params", owld_bus_string_dict (owl_request_get_params (request)));
  g_variant_builder_add (&b, "{sv}", "query", owld_bus_string_dict (owl_request_get_query (request)));
  if (owl_request_get_remote_host (request) != NULL)
    g_variant_builder_add (&b, "{sv}", "peer", g_variant_new_string (owl_request_get_remote_host (request)));
  if (auth != NULL && owl_auth_get_user_id (auth) != NULL)
    g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string (owl_auth_get_user_id (auth)));
  if (auth != NULL && owl_auth_get_entity_id (auth) != NULL)
    g_variant_builder_add (&b, "{sv}", "entity", g_variant_new_string (owl_auth_get_entity_id (auth)));
  if (auth != NULL && owl_auth_get_scopes (auth) != NULL)
    g_variant_builder_add (&b, "{sv}", "scopes", g_variant_new_strv (owl_auth_get_scopes (auth), -1));
  if (auth != NULL && owl_auth_get_expires_at (auth) > 0)
    g_variant_builder_add (&b, "{sv}", "expires-at", g_variant_new_int64 (owl_auth_get_expires_at (auth)));
  g_variant_builder_add (&b, "{sv}", "rooms", g_variant_new_strv ((const char * const *) rooms, -1));
  g_variant_builder_add (&b, "{sv}", "state",
                         g_variant_new_string (states[MIN (owl_connection_get_state (connection), 2)]));
  g_variant_builder_add (&b, "{sv}", "buffered", g_variant_new_uint64 (owl_connection_get_buffered_amount (connection)));
  g_variant_builder_add (&b, "{sv}", "dropped", g_variant_new_uint64 (owl_connection_get_dropped_messages (connection)));
  return g_variant_builder_end (&b);
}

/* Checks shared by the methods ---------------------------------------------------------- */

/* TRUE once the invocation was answered (the daemon stops). */
static gboolean
refuse_if_stopping (OwldBus               *self,
                    GDBusMethodInvocation *invocation)
{
  owld_daemon_touch (self->daemon);
  if (!owl_socket_service_is_stopping (owld_daemon_get_service (self->daemon)))
    return FALSE;
  return FAIL (invocation, OWLD_BUS_ERROR_UNAVAILABLE, "The daemon is stopping");
}

static OwlConnection *
find_connection (OwldBus               *self,
                 GDBusMethodInvocation *invocation,
                 const char            *id)
{
  OwlConnection *connection = owl_socket_service_lookup_connection (owld_daemon_get_service (self->daemon), id);

  if (connection == NULL)
    FAIL (invocation, OWLD_BUS_ERROR_UNKNOWN_CONNECTION, "No open connection has the id \"%s\"", id);
  return connection;
}

static gint64
max_message_size (OwldBus   *self,
                  OwlModule *module)
{
  gint64 size = -1;

  if (module != NULL)
    g_object_get (module, "max-message-size", &size, NULL);
  if (size < 0)
    g_object_get (owld_daemon_get_service (self->daemon), "max-message-size", &size, NULL);
  return size;
}

/* The JSON object in @json, at most @limit bytes (< 0: any). */
static JsonNode *
parse_json (const char  *json,
            gint64       limit,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (limit >= 0 && (gint64) strlen (json) > limit)
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_TOO_LARGE,
                   "The message is %zu bytes, over the limit of %" G_GINT64_FORMAT, strlen (json), limit);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, json, -1, &local))
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_INVALID_JSON, "Not JSON: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_INVALID_JSON, "The JSON is not an object");
      return NULL;
    }
  return json_node_ref (root);
}

/* The JSON object in @json, or NULL with the invocation answered. */
static JsonNode *
parse_object (OwldBus               *self,
              GDBusMethodInvocation *invocation,
              const char            *json,
              gint64                 limit)
{
  GError *error = NULL;
  JsonNode *root = parse_json (json, limit, &error);

  if (root == NULL)
    g_dbus_method_invocation_take_error (invocation, error);
  return root;
}

/* Refuses option keys other than @known (NULL-terminated, each "key=TYPE",
 * TYPE a GVariant type string), and a known one of another type. */
static gboolean
check_options (GDBusMethodInvocation *invocation,
               GVariant              *options,
               const char * const    *known)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      const char *type = NULL;
      gsize len = strlen (key);

      for (guint i = 0; known[i] != NULL && type == NULL; i++)
        if (strncmp (known[i], key, len) == 0 && known[i][len] == '=')
          type = known[i] + len + 1;
      if (type == NULL)
        {
          INVALID_ARGS (invocation, "Unknown option \"%s\"", key);
          g_variant_unref (value);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
        {
          INVALID_ARGS (invocation, "The option \"%s\" must be of type %s", key, type);
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}

/* Methods -------------------------------------------------------------------------- */

static gboolean
handle_send (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
             const char *id, const char *json, GVariant *options, gpointer user_data)
{
  static const char * const known[] = { NULL };
  OwldBus *self = user_data;
  OwlConnection *connection;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, options, known) ||
      (connection = find_connection (self, invocation, id)) == NULL)
    return TRUE;
  node = parse_object (self, invocation, json, max_message_size (self, owl_connection_get_module (connection)));
  if (node == NULL)
    return TRUE;
  if (!owl_connection_send (connection, node, &error))
    return FAIL (invocation, OWLD_BUS_ERROR_UNKNOWN_CONNECTION, "%s", error->message);
  owld_owlsock1_complete_send (skeleton, invocation);
  return TRUE;
}

/* Many Sends in one call, for handlers that relay much: every message is
 * checked before any is sent; a connection that closed meanwhile is
 * skipped (the reply counts what was sent). */
static gboolean
handle_send_many (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                  GVariant *messages, GVariant *options, gpointer user_data)
{
  static const char * const known[] = { NULL };
  OwldBus *self = user_data;
  OwlSocketService *service = owld_daemon_get_service (self->daemon);
  gsize n = g_variant_n_children (messages);
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_full (n, (GDestroyNotify) json_node_unref);
  guint sent = 0;

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, options, known))
    return TRUE;
  for (gsize i = 0; i < n; i++)
    {
      const char *id, *json;
      OwlConnection *connection;
      GError *error = NULL;
      JsonNode *node;

      g_variant_get_child (messages, i, "(&s&s)", &id, &json);
      connection = owl_socket_service_lookup_connection (service, id);
      node = parse_json (json, max_message_size (self, connection ? owl_connection_get_module (connection) : NULL),
                         &error);
      if (node == NULL)
        {
          g_prefix_error (&error, "Message %" G_GSIZE_FORMAT ": ", i);
          g_dbus_method_invocation_take_error (invocation, error);
          return TRUE;
        }
      g_ptr_array_add (nodes, node);
    }
  for (gsize i = 0; i < n; i++)
    {
      const char *id;
      OwlConnection *connection;

      g_variant_get_child (messages, i, "(&s&s)", &id, NULL);
      connection = owl_socket_service_lookup_connection (service, id);
      if (connection != NULL && owl_connection_send (connection, g_ptr_array_index (nodes, i), NULL))
        sent++;
    }
  owld_owlsock1_complete_send_many (skeleton, invocation, sent);
  return TRUE;
}

static gboolean
handle_broadcast (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                  const char *room, const char *json, GVariant *options, gpointer user_data)
{
  static const char * const known[] = { "exclude=s", NULL };
  OwldBus *self = user_data;
  OwlSocketService *service = owld_daemon_get_service (self->daemon);
  OwlConnection *except = NULL;
  const char *exclude = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, options, known))
    return TRUE;
  if (room[0] == '\0')
    return INVALID_ARGS (invocation, "The room name is empty");
  if (g_variant_lookup (options, "exclude", "&s", &exclude) &&
      (except = find_connection (self, invocation, exclude)) == NULL)
    return TRUE;
  node = parse_object (self, invocation, json, max_message_size (self, NULL));
  if (node == NULL)
    return TRUE;
  owl_socket_service_broadcast (service, room, node, except);
  owld_owlsock1_complete_broadcast (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_close (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
              const char *id, guint16 code, const char *reason, gpointer user_data)
{
  OwldBus *self = user_data;
  OwlConnection *connection;

  if (refuse_if_stopping (self, invocation))
    return TRUE;
  if (code != 1000 && (code < 3000 || code > 4999))
    return FAIL (invocation, OWLD_BUS_ERROR_INVALID_CLOSE_CODE,
                 "%u is not a code an application may send (1000, 3000-4999)", code);
  if (strlen (reason) > 123)
    return INVALID_ARGS (invocation, "The reason is %zu bytes, over 123", strlen (reason));
  if ((connection = find_connection (self, invocation, id)) == NULL)
    return TRUE;
  owl_connection_close (connection, code, reason);
  owld_owlsock1_complete_close (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_join_leave (OwldBus *self, GDBusMethodInvocation *invocation,
                   const char *id, const char *room, gboolean join)
{
  OwlConnection *connection;

  if (refuse_if_stopping (self, invocation))
    return TRUE;
  if (room[0] == '\0')
    return INVALID_ARGS (invocation, "The room name is empty");
  if ((connection = find_connection (self, invocation, id)) == NULL)
    return TRUE;
  if (join)
    owl_connection_join (connection, room);
  else
    owl_connection_leave (connection, room);
  g_dbus_method_invocation_return_value (invocation, NULL);
  return TRUE;
}

static gboolean
handle_join (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
             const char *id, const char *room, gpointer user_data)
{
  return handle_join_leave (user_data, invocation, id, room, TRUE);
}

static gboolean
handle_leave (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
              const char *id, const char *room, gpointer user_data)
{
  return handle_join_leave (user_data, invocation, id, room, FALSE);
}

static gboolean
matches (OwlConnection *connection,
         const char    *module,
         const char    *user,
         const char    *room)
{
  OwlModule *m = owl_connection_get_module (connection);
  OwlAuth *auth = owl_connection_get_auth (connection);

  return (module == NULL || (m != NULL && g_str_equal (owl_module_get_alias (m), module))) &&
         (user == NULL || (auth != NULL && g_strcmp0 (owl_auth_get_user_id (auth), user) == 0)) &&
         (room == NULL || owl_connection_in_room (connection, room));
}

static gboolean
handle_list_connections (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                         GVariant *filter, gpointer user_data)
{
  static const char * const known[] = { "module=s", "user=s", "room=s", NULL };
  OwldBus *self = user_data;
  const char *module = NULL, *user = NULL, *room = NULL;
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) out = NULL;
  GList *all;

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, filter, known))
    return TRUE;
  g_variant_lookup (filter, "module", "&s", &module);
  g_variant_lookup (filter, "user", "&s", &user);
  g_variant_lookup (filter, "room", "&s", &room);
  all = owl_socket_service_list_connections (owld_daemon_get_service (self->daemon));
  for (GList *l = all; l != NULL; l = l->next)
    if (matches (l->data, module, user, room))
      g_strv_builder_add (ids, owl_connection_get_id (l->data));
  g_list_free (all);
  out = g_strv_builder_end (ids);
  owld_owlsock1_complete_list_connections (skeleton, invocation, (const char * const *) out);
  return TRUE;
}

static gboolean
handle_describe_connection (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                            const char *id, gpointer user_data)
{
  OwldBus *self = user_data;
  OwlConnection *connection;

  if (refuse_if_stopping (self, invocation) || (connection = find_connection (self, invocation, id)) == NULL)
    return TRUE;
  owld_owlsock1_complete_describe_connection (skeleton, invocation, owld_bus_describe (connection));
  return TRUE;
}

static gboolean
handle_list_rooms (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  OwldBus *self = user_data;
  g_auto(GStrv) rooms = NULL;

  if (refuse_if_stopping (self, invocation))
    return TRUE;
  rooms = owl_socket_service_dup_rooms (owld_daemon_get_service (self->daemon));
  owld_owlsock1_complete_list_rooms (skeleton, invocation, (const char * const *) rooms);
  return TRUE;
}

static gboolean
handle_room_members (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                     const char *room, gpointer user_data)
{
  OwldBus *self = user_data;
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) out = NULL;
  GList *members;

  if (refuse_if_stopping (self, invocation))
    return TRUE;
  members = owl_socket_service_list_room_members (owld_daemon_get_service (self->daemon), room);
  if (members == NULL)
    return FAIL (invocation, OWLD_BUS_ERROR_UNKNOWN_ROOM, "No room is named \"%s\"", room);
  for (GList *l = members; l != NULL; l = l->next)
    g_strv_builder_add (ids, owl_connection_get_id (l->data));
  g_list_free (members);
  out = g_strv_builder_end (ids);
  owld_owlsock1_complete_room_members (skeleton, invocation, (const char * const *) out);
  return TRUE;
}

static void
presence_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) members = owl_socket_service_presence_finish (OWL_SOCKET_SERVICE (source), result, &error);
  g_autofree char *json = NULL;

  if (members == NULL)
    {
      FAIL (invocation, OWLD_BUS_ERROR_UNAVAILABLE, "The presence could not be read: %s", error->message);
      return;
    }
  json = json_to_string (members, FALSE);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", json));
}

/* The room's presence, the union over every node sharing the broker. */
static gboolean
handle_get_presence (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                     const char *room, GVariant *options, gpointer user_data)
{
  OwldBus *self = user_data;
  static const char * const known[] = { NULL };

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, options, known))
    return TRUE;
  if (*room == '\0')
    return INVALID_ARGS (invocation, "The room name is empty");
  owl_socket_service_presence_async (owld_daemon_get_service (self->daemon), room, NULL,
                                     presence_done, g_object_ref (invocation));
  return TRUE;
}

static gboolean
handle_get_statistics (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  OwldBus *self = user_data;
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (owld_daemon_get_service (self->daemon));

  owld_daemon_touch (self->daemon);
  owld_owlsock1_complete_get_statistics (skeleton, invocation, stats);
  return TRUE;
}

static gboolean
handle_reload (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  OwldBus *self = user_data;
  g_autoptr(GError) error = NULL;

  if (refuse_if_stopping (self, invocation))
    return TRUE;
  if (!owld_daemon_reload (self->daemon, &error))
    {
      owld_log (G_LOG_LEVEL_WARNING, NULL, "reload refused: %s", error->message);
      return FAIL (invocation, OWLD_BUS_ERROR_INVALID_CONFIG, "%s", error->message);
    }
  owld_owlsock1_complete_reload (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_register_handler (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                         const char *module, const char *path, GVariant *options, gpointer user_data)
{
  static const char * const known[] = { "batch=b", NULL };
  OwldBus *self = user_data;
  GError *error = NULL;
  gboolean batch = FALSE;

  if (refuse_if_stopping (self, invocation) || !check_options (invocation, options, known))
    return TRUE;
  g_variant_lookup (options, "batch", "b", &batch);
  if (!owld_handlers_register (self->handlers, module, g_dbus_method_invocation_get_sender (invocation),
                               path, batch, &error))
    g_dbus_method_invocation_take_error (invocation, error);
  else
    owld_owlsock1_complete_register_handler (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_unregister_handler (OwldOwlsock1 *skeleton, GDBusMethodInvocation *invocation,
                           const char *module, gpointer user_data)
{
  OwldBus *self = user_data;
  GError *error = NULL;

  owld_daemon_touch (self->daemon);
  if (!owld_handlers_unregister (self->handlers, module, g_dbus_method_invocation_get_sender (invocation),
                                 &error))
    g_dbus_method_invocation_take_error (invocation, error);
  else
    owld_owlsock1_complete_unregister_handler (skeleton, invocation);
  return TRUE;
}

/* Properties and signals ------------------------------------------------------------ */

void
owld_bus_update (OwldBus *self)
{
  OwlSocketService *service = owld_daemon_get_service (self->daemon);
  g_auto(GStrv) addresses = owld_daemon_dup_addresses (self->daemon);
  g_auto(GStrv) modules = owld_daemon_dup_modules (self->daemon);

  owld_owlsock1_set_version (self->skeleton, PACKAGE_VERSION);
  owld_owlsock1_set_addresses (self->skeleton, (const char * const *) addresses);
  owld_owlsock1_set_port (self->skeleton, owl_socket_service_get_port (service));
  owld_owlsock1_set_connections (self->skeleton, owl_socket_service_get_n_connections (service));
  owld_owlsock1_set_modules (self->skeleton, (const char * const *) modules);
}

static void
on_connection_added (OwlSocketService *service,
                     OwlConnection    *connection,
                     gpointer          user_data)
{
  OwldBus *self = user_data;
  OwlModule *module = owl_connection_get_module (connection);

  owld_owlsock1_set_connections (self->skeleton, owl_socket_service_get_n_connections (service));
  owld_owlsock1_emit_connection_opened (self->skeleton, owl_connection_get_id (connection),
                                        module ? owl_module_get_alias (module) : "",
                                        owld_bus_describe (connection));
}

static void
on_connection_removed (OwlSocketService *service,
                       OwlConnection    *connection,
                       gpointer          user_data)
{
  OwldBus *self = user_data;
  OwlModule *module = owl_connection_get_module (connection);
  const char *reason = owl_connection_get_close_reason (connection);

  owld_owlsock1_set_connections (self->skeleton, owl_socket_service_get_n_connections (service));
  owld_owlsock1_emit_connection_closed (self->skeleton, owl_connection_get_id (connection),
                                        module ? owl_module_get_alias (module) : "",
                                        owl_connection_get_close_code (connection),
                                        reason ? reason : "");
}

static void
connect_methods (OwldBus *self)
{
  const struct { const char *name; GCallback callback; } methods[] = {
    { "handle-send", G_CALLBACK (handle_send) },
    { "handle-send-many", G_CALLBACK (handle_send_many) },
    { "handle-broadcast", G_CALLBACK (handle_broadcast) },
    { "handle-close", G_CALLBACK (handle_close) },
    { "handle-join", G_CALLBACK (handle_join) },
    { "handle-leave", G_CALLBACK (handle_leave) },
    { "handle-list-connections", G_CALLBACK (handle_list_connections) },
    { "handle-describe-connection", G_CALLBACK (handle_describe_connection) },
    { "handle-list-rooms", G_CALLBACK (handle_list_rooms) },
    { "handle-room-members", G_CALLBACK (handle_room_members) },
    { "handle-get-presence", G_CALLBACK (handle_get_presence) },
    { "handle-get-statistics", G_CALLBACK (handle_get_statistics) },
    { "handle-reload", G_CALLBACK (handle_reload) },
    { "handle-register-handler", G_CALLBACK (handle_register_handler) },
    { "handle-unregister-handler", G_CALLBACK (handle_unregister_handler) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    g_signal_connect (self->skeleton, methods[i].name, methods[i].callback, self);
}

/* Exports the object on @connection (the name is owned by the caller). */
OwldBus *
owld_bus_new (OwldDaemon       *daemon,
              GDBusConnection  *connection,
              GError          **error)
{
  g_autoptr(OwldBus) self = g_new0 (OwldBus, 1);
  OwlSocketService *service = owld_daemon_get_service (daemon);

  self->daemon = g_object_ref (daemon);
  self->connection = g_object_ref (connection);
  self->skeleton = owld_owlsock1_skeleton_new ();
  self->handlers = owld_handlers_new (daemon, connection);
  connect_methods (self);
  owld_bus_update (self);
  g_signal_connect (service, "connection-added", G_CALLBACK (on_connection_added), self);
  g_signal_connect (service, "connection-removed", G_CALLBACK (on_connection_removed), self);
  g_signal_connect_swapped (daemon, "modules-changed", G_CALLBACK (owld_bus_update), self);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         OWLD_BUS_OBJECT_PATH, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
owld_bus_free (OwldBus *self)
{
  if (self == NULL)
    return;
  g_signal_handlers_disconnect_by_data (owld_daemon_get_service (self->daemon), self);
  g_signal_handlers_disconnect_by_data (self->daemon, self);
  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)) != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_pointer (&self->handlers, owld_handlers_free);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->connection);
  g_clear_object (&self->daemon);
  g_free (self);
}
