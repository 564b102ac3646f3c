/* owld-handlers.c: the bus processes that handle bus modules, and the bus
 * guard that asks them who may connect
 *
 * A handler is a unique bus name with an object implementing
 * org.owlmeans.Owlsock1.Handler. Opened, Message and Closed are sent
 * without waiting for replies (one connection's arrive in order: a
 * GDBusConnection sends in order); Call and Authenticate wait for theirs,
 * bounded by the module's call-timeout and the service's
 * handshake-timeout.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owld-bus.h"

#define HANDLER_INTERFACE "org.owlmeans.Owlsock1.Handler"
#define ERROR_PREFIX      "org.owlmeans.Owlsock1.Error."

/* What a batch handler is sent at once: every message one main-loop turn
 * read for it, in order, up to these. */
#define BATCH_MAX_MESSAGES 256
#define BATCH_MAX_BYTES    (256 * 1024)

typedef struct
{
  OwldHandlers    *handlers;
  char            *module;
  char            *owner;    /* unique name */
  char            *path;
  guint            watch_id;
  gboolean         batch;    /* Messages instead of Message */
  GVariantBuilder *queued;   /* a(ss), while a batch waits for the turn's end */
  guint            n_queued;
  gsize            queued_bytes;
  guint            flush_id;
} Handler;

struct _OwldHandlers
{
  OwldDaemon      *daemon;
  GDBusConnection *connection;
  GHashTable      *handlers;   /* module -> Handler */
};

static void
handler_free (gpointer data)
{
  Handler *handler = data;

  if (handler->watch_id != 0)
    g_bus_unwatch_name (handler->watch_id);
  /* A batch not sent yet goes the way of messages sent to a handler that left. */
  g_clear_handle_id (&handler->flush_id, g_source_remove);
  g_clear_pointer (&handler->queued, g_variant_builder_unref);
  g_free (handler->module);
  g_free (handler->owner);
  g_free (handler->path);
  g_free (handler);
}

static Handler *
lookup (OwldHandlers *self,
        const char   *module)
{
  return g_hash_table_lookup (self->handlers, module);
}

static void flush (Handler *handler);

/* Fire and forget: no reply is asked for. A batch waiting goes first, so
 * each connection's messages and events arrive in order. */
static void
tell (OwldHandlers *self,
      Handler      *handler,
      const char   *method,
      GVariant     *args)
{
  if (!g_str_equal (method, "Messages"))
    flush (handler);
  g_dbus_connection_call (self->connection, handler->owner, handler->path, HANDLER_INTERFACE,
                          method, args, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL, NULL);
}

static void
flush (Handler *handler)
{
  GVariant *batch;

  if (handler->queued == NULL)
    return;
  g_clear_handle_id (&handler->flush_id, g_source_remove);
  batch = g_variant_builder_end (handler->queued);
  g_clear_pointer (&handler->queued, g_variant_builder_unref);
  handler->n_queued = 0;
  handler->queued_bytes = 0;
  tell (handler->handlers, handler, "Messages", g_variant_new_tuple (&batch, 1));
}

static gboolean
flush_at_turn_end (gpointer data)
{
  Handler *handler = data;

  handler->flush_id = 0;
  flush (handler);
  return G_SOURCE_REMOVE;
}

/* A batch handler's message waits for the end of the main-loop turn (an
 * idle source at default priority runs once the sockets ready now were
 * read), or for the batch to be full. */
static void
queue_message (Handler    *handler,
               const char *id,
               const char *json)
{
  if (handler->queued == NULL)
    handler->queued = g_variant_builder_new (G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (handler->queued, "(ss)", id, json);
  handler->n_queued++;
  handler->queued_bytes += strlen (id) + strlen (json);
  if (handler->n_queued >= BATCH_MAX_MESSAGES || handler->queued_bytes >= BATCH_MAX_BYTES)
    flush (handler);
  else if (handler->flush_id == 0)
    handler->flush_id = g_idle_add_full (G_PRIORITY_DEFAULT, flush_at_turn_end, handler, NULL);
}

/* Connections of bus modules ------------------------------------------------------- */

static const char *
module_of (OwlConnection *connection)
{
  OwlModule *module = owl_connection_get_module (connection);

  return module ? owl_module_get_alias (module) : "";
}

static void
send_unavailable (OwlConnection *connection)
{
  g_autoptr(JsonNode) frame = json_from_string ("{\"type\":\"error\",\"payload\":\"UnavailableError|||No handler"
                                                " serves this endpoint\",\"code\":\"unavailable\","
                                                "\"recoverable\":true}", NULL);

  owl_connection_send (connection, frame, NULL);
}

static void
on_message (OwlConnection *connection,
            JsonNode      *message,
            gpointer       user_data)
{
  OwldHandlers *self = user_data;
  Handler *handler = lookup (self, module_of (connection));
  g_autofree char *json = NULL;

  if (handler == NULL)
    {
      send_unavailable (connection);
      return;
    }
  json = json_to_string (message, FALSE);
  if (handler->batch)
    queue_message (handler, owl_connection_get_id (connection), json);
  else
    tell (self, handler, "Message", g_variant_new ("(ss)", owl_connection_get_id (connection), json));
}

static void
on_closed (OwlConnection *connection,
           guint          code,
           const char    *reason,
           gpointer       user_data)
{
  OwldHandlers *self = user_data;
  Handler *handler = lookup (self, module_of (connection));

  if (handler != NULL)
    tell (self, handler, "Closed", g_variant_new ("(sqs)", owl_connection_get_id (connection),
                                                  (guint16) code, reason ? reason : ""));
}

/* "SomeCode" -> the OwlError whose string is "some-code". */
static gboolean
error_from_name (const char *name,
                 OwlError   *code)
{
  g_autoptr(GString) kebab = g_string_new (NULL);

  for (const char *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isupper (*p) && p != name)
        g_string_append_c (kebab, '-');
      g_string_append_c (kebab, g_ascii_tolower (*p));
    }
  return owl_error_code_from_string (kebab->str, code);
}

static void
on_call_reply (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(OwlCall) call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autofree char *remote = NULL;
  const char *text = NULL;
  g_autoptr(JsonNode) value = NULL;
  OwlError code;

  if (reply != NULL)
    {
      g_variant_get (reply, "(&s)", &text);
      value = json_from_string (text, NULL);
      if (value != NULL)
        owl_call_return_value (call, value);
      else
        owl_call_return_error_literal (call, OWL_ERROR_INTERNAL, "Internal error");
      return;
    }
  remote = g_dbus_error_get_remote_error (error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_strcmp0 (remote, "org.freedesktop.DBus.Error.NoReply") == 0)
    owl_call_return_error_literal (call, OWL_ERROR_TIMEOUT, "The handler did not answer in time");
  else if (remote != NULL && g_str_has_prefix (remote, ERROR_PREFIX) &&
           error_from_name (remote + strlen (ERROR_PREFIX), &code) && code != OWL_ERROR_INTERNAL)
    {
      g_dbus_error_strip_remote_error (error);
      owl_call_return_error_literal (call, code, error->message);
    }
  else
    owl_call_return_error_literal (call, OWL_ERROR_INTERNAL, "Internal error");
}

static gboolean
on_call (OwlConnection *connection,
         OwlCall       *call,
         gpointer       user_data)
{
  OwldHandlers *self = user_data;
  Handler *handler = lookup (self, module_of (connection));
  OwldModuleConfig *module = owld_daemon_lookup_module (self->daemon, module_of (connection));
  JsonNode *params = owl_call_get_params (call);
  g_autofree char *json = params ? json_to_string (params, FALSE) : g_strdup ("null");

  if (handler == NULL || module == NULL)
    {
      owl_call_return_error_literal (call, OWL_ERROR_UNAVAILABLE, "No handler serves this endpoint");
      return TRUE;
    }
  flush (handler);
  g_dbus_connection_call (self->connection, handler->owner, handler->path, HANDLER_INTERFACE, "Call",
                          g_variant_new ("(sss)", owl_connection_get_id (connection),
                                         owl_call_is_request (call) ? "" : owl_call_get_method (call), json),
                          G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          module->call_timeout_ms, NULL, on_call_reply, g_object_ref (call));
  return TRUE;
}

static void
hook_connection (gpointer          data,
                 OwldModuleConfig *module,
                 OwlConnection    *connection)
{
  OwldHandlers *self = data;
  Handler *handler = lookup (self, module->name);

  g_signal_connect (connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (connection, "call", G_CALLBACK (on_call), self);
  g_signal_connect (connection, "request", G_CALLBACK (on_call), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  if (handler != NULL)
    tell (self, handler, "Opened", g_variant_new ("(s@a{sv})", owl_connection_get_id (connection),
                                                  owld_bus_describe (connection)));
}

/* Registration ------------------------------------------------------------------- */

static void
count_handlers (OwldHandlers *self)
{
  owld_daemon_set_busy (self->daemon, g_hash_table_size (self->handlers));
}

/* The handler is gone: the module's on-handler-vanish applies. */
static void
handler_gone (OwldHandlers *self,
              const char   *name)
{
  g_autofree char *module = g_strdup (name);
  OwldModuleConfig *config = owld_daemon_lookup_module (self->daemon, module);
  GList *listed, *all;

  g_hash_table_remove (self->handlers, module);
  count_handlers (self);
  owld_log (G_LOG_LEVEL_INFO, NULL, "module %s has no handler", module);
  if (config == NULL || config->vanish != OWLD_VANISH_CLOSE)
    return;
  /* Held: a close may drop the registry's reference. */
  listed = owl_socket_service_list_connections (owld_daemon_get_service (self->daemon));
  all = g_list_copy_deep (listed, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  g_list_free (listed);
  for (GList *l = all; l != NULL; l = l->next)
    if (g_str_equal (module_of (l->data), module))
      owl_connection_close (l->data, OWL_CLOSE_GOING_AWAY, "The handler left");
  g_list_free_full (all, g_object_unref);
}

static void
on_name_vanished (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  OwldHandlers *self = user_data;
  GHashTableIter iter;
  Handler *handler;
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_iter_init (&iter, self->handlers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &handler))
    if (g_str_equal (handler->owner, name))
      g_ptr_array_add (gone, g_strdup (handler->module));
  for (guint i = 0; i < gone->len; i++)
    handler_gone (self, gone->pdata[i]);
}

static Handler *
handler_new (OwldHandlers *self,
             const char   *module,
             const char   *sender,
             const char   *path,
             gboolean      batch)
{
  Handler *handler = g_new0 (Handler, 1);

  handler->handlers = self;
  handler->batch = batch;
  handler->module = g_strdup (module);
  handler->path = g_strdup (path);
  handler->owner = g_strdup (sender);
  handler->watch_id = g_bus_watch_name_on_connection (self->connection, sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                      NULL, on_name_vanished, self, NULL);
  return handler;
}

/* A new handler learns of the module's open connections (kept while no
 * handler was there) as if they had just opened. */
static void
introduce (OwldHandlers *self,
           Handler      *handler)
{
  GList *all = owl_socket_service_list_connections (owld_daemon_get_service (self->daemon));

  for (GList *l = all; l != NULL; l = l->next)
    if (g_str_equal (module_of (l->data), handler->module))
      tell (self, handler, "Opened", g_variant_new ("(s@a{sv})", owl_connection_get_id (l->data),
                                                    owld_bus_describe (l->data)));
  g_list_free (all);
}

gboolean
owld_handlers_register (OwldHandlers  *self,
                        const char    *module,
                        const char    *sender,
                        const char    *path,
                        gboolean       batch,
                        GError       **error)
{
  OwldModuleConfig *config = owld_daemon_lookup_module (self->daemon, module);
  Handler *handler = lookup (self, module);

  if (config == NULL || config->behaviour != OWLD_BEHAVIOUR_BUS)
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_UNKNOWN_MODULE,
                   config ? "The module \"%s\" is not behaviour=bus" : "No module is named \"%s\"", module);
      return FALSE;
    }
  if (handler != NULL && !g_str_equal (handler->owner, sender))
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_HANDLER_EXISTS,
                   "%s handles the module \"%s\" already", handler->owner, module);
      return FALSE;
    }
  if (handler == NULL)
    {
      handler = handler_new (self, module, sender, path, batch);
      g_hash_table_insert (self->handlers, g_strdup (module), handler);
      introduce (self, handler);
    }
  else
    {
      flush (handler);
      g_free (handler->path);
      handler->path = g_strdup (path);
      handler->batch = batch;
    }
  count_handlers (self);
  owld_log (G_LOG_LEVEL_INFO, NULL, "%s handles module %s", sender, module);
  return TRUE;
}


gboolean
owld_handlers_unregister (OwldHandlers  *self,
                          const char    *module,
                          const char    *sender,
                          GError       **error)
{
  Handler *handler = lookup (self, module);

  if (owld_daemon_lookup_module (self->daemon, module) == NULL)
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_UNKNOWN_MODULE, "No module is named \"%s\"", module);
      return FALSE;
    }
  if (handler == NULL || !g_str_equal (handler->owner, sender))
    {
      g_set_error (error, OWLD_BUS_ERROR, OWLD_BUS_ERROR_NOT_HANDLER,
                   "The caller does not handle the module \"%s\"", module);
      return FALSE;
    }
  handler_gone (self, module);
  return TRUE;
}

/* Where a bus guard finds the handler of @module: FALSE if none. */
gboolean
owld_handlers_lookup (OwldHandlers     *self,
                      const char       *module,
                      GDBusConnection **connection,
                      const char      **owner,
                      const char      **path)
{
  Handler *handler = lookup (self, module);

  if (handler == NULL)
    return FALSE;
  *connection = self->connection;
  *owner = handler->owner;
  *path = handler->path;
  return TRUE;
}

/* A reload removed a module, or made it other than behaviour=bus: its
 * handler handles nothing any more (its connections were closed with the
 * module). */
static void
on_modules_changed (OwldDaemon *daemon,
                    gpointer    user_data)
{
  OwldHandlers *self = user_data;
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer module;

  g_hash_table_iter_init (&iter, self->handlers);
  while (g_hash_table_iter_next (&iter, &module, NULL))
    {
      OwldModuleConfig *config = owld_daemon_lookup_module (daemon, module);

      if (config == NULL || config->behaviour != OWLD_BEHAVIOUR_BUS)
        g_ptr_array_add (gone, g_strdup (module));
    }
  for (guint i = 0; i < gone->len; i++)
    g_hash_table_remove (self->handlers, gone->pdata[i]);
  if (gone->len > 0)
    count_handlers (self);
}

static OwlGuard *
hook_new_guard (gpointer    data,
                const char *module)
{
  return owld_bus_guard_new (data, module);
}

OwldHandlers *
owld_handlers_new (OwldDaemon      *daemon,
                   GDBusConnection *connection)
{
  OwldHandlers *self = g_new0 (OwldHandlers, 1);
  OwldBusHooks hooks = { hook_connection, hook_new_guard, self };

  self->daemon = daemon;
  self->connection = g_object_ref (connection);
  self->handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, handler_free);
  owld_daemon_set_bus_hooks (daemon, &hooks);
  g_signal_connect (daemon, "modules-changed", G_CALLBACK (on_modules_changed), self);
  return self;
}

void
owld_handlers_free (OwldHandlers *self)
{
  OwldBusHooks none = { 0 };

  owld_daemon_set_bus_hooks (self->daemon, &none);
  g_signal_handlers_disconnect_by_data (self->daemon, self);
  g_hash_table_unref (self->handlers);
  g_object_unref (self->connection);
  g_free (self);
}

OwlSocketService *
owld_handlers_get_service (OwldHandlers *self)
{
  return owld_daemon_get_service (self->daemon);
}
