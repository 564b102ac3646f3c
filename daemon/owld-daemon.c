/* owld-daemon.c: owlsockd's service, built from its configuration
 *
 * Owns the OwlSocketService; applies a configuration to it (the first one,
 * or a reload: modules whose sections changed are replaced, the others keep
 * their connections); listens on the configured address or on the socket
 * systemd passed; tells when it has been idle long enough to exit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "owld-daemon.h"

struct _OwldDaemon
{
  GObject           parent_instance;
  char             *config_path;
  OwldConfig       *config;
  OwlSocketService *service;
  GHashTable       *modules;      /* name -> OwlModule, the live ones */
  GPtrArray        *addresses;    /* char *: where clients connect */
  OwldBusHooks      hooks;
  gboolean          has_hooks;
  gint64            last_activity;
  guint             n_handlers;
  guint             idle_id;
  gboolean          stopping;
};

enum { STOPPED, IDLE, MODULES_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OwldDaemon, owld_daemon, G_TYPE_OBJECT)

static void
owld_daemon_dispose (GObject *object)
{
  OwldDaemon *self = OWLD_DAEMON (object);

  g_clear_handle_id (&self->idle_id, g_source_remove);
  if (self->service != NULL)
    g_signal_handlers_disconnect_by_data (self->service, self);
  g_clear_object (&self->service);
  g_clear_pointer (&self->modules, g_hash_table_unref);
  G_OBJECT_CLASS (owld_daemon_parent_class)->dispose (object);
}

static void
owld_daemon_finalize (GObject *object)
{
  OwldDaemon *self = OWLD_DAEMON (object);

  g_free (self->config_path);
  g_ptr_array_unref (self->addresses);
  g_clear_pointer (&self->config, owld_config_free);
  G_OBJECT_CLASS (owld_daemon_parent_class)->finalize (object);
}

static void
owld_daemon_class_init (OwldDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owld_daemon_dispose;
  object_class->finalize = owld_daemon_finalize;

  /* The service stopped (owld_daemon_stop()): every client got 1001. */
  signals[STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* exit-on-idle seconds passed with no connection, handler or bus call. */
  signals[IDLE] = g_signal_new ("idle", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The set of modules changed (a reload). */
  signals[MODULES_CHANGED] = g_signal_new ("modules-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
owld_daemon_init (OwldDaemon *self)
{
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->addresses = g_ptr_array_new_with_free_func (g_free);
  self->last_activity = g_get_monotonic_time ();
}

OwldDaemon *
owld_daemon_new (const char *config_path)
{
  OwldDaemon *self = g_object_new (OWLD_TYPE_DAEMON, NULL);

  self->config_path = g_strdup (config_path);
  self->service = owl_socket_service_new ("owlsockd");
  return self;
}

/* Connections -------------------------------------------------------------------- */

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  OwldDaemon *self = user_data;
  OwldModuleConfig *config = owld_daemon_lookup_module (self, owl_module_get_alias (module));

  if (config == NULL)
    return;
  if (config->behaviour == OWLD_BEHAVIOUR_BUS)
    {
      if (self->has_hooks)
        self->hooks.connection (self->hooks.data, config, connection);
    }
  else
    owld_behaviour_attach (self, config, connection);
}

static void
on_connection_added (OwlSocketService *service,
                     OwlConnection    *connection,
                     gpointer          user_data)
{
  OwlModule *module = owl_connection_get_module (connection);

  owld_log (G_LOG_LEVEL_INFO, owl_connection_get_id (connection), "connection %s opened on %s",
            owl_connection_get_id (connection), module ? owl_module_get_alias (module) : "?");
  owld_daemon_touch (user_data);
}

static void
on_connection_removed (OwlSocketService *service,
                       OwlConnection    *connection,
                       gpointer          user_data)
{
  owld_log (G_LOG_LEVEL_INFO, owl_connection_get_id (connection), "connection %s closed (%u)",
            owl_connection_get_id (connection), owl_connection_get_close_code (connection));
  owld_daemon_touch (user_data);
}

/* Applying a configuration ----------------------------------------------------------- */

/* Guards and gates are registered under an alias made of their name and
 * what their section says: a changed section is a new alias, an unchanged
 * one is there already. */
static gboolean
add_guards (OwldDaemon  *self,
            OwldConfig  *config,
            GError     **error)
{
  for (guint i = 0; i < config->guards->len; i++)
    {
      OwldGuardConfig *guard = config->guards->pdata[i];

      if (guard->guard != NULL && owl_socket_service_lookup_guard (self->service, guard->alias) == NULL &&
          !owl_socket_service_add_guard (self->service, guard->alias, guard->guard, error))
        return FALSE;
    }
  for (guint i = 0; i < config->gates->len; i++)
    {
      OwldGateConfig *gate = config->gates->pdata[i];

      if (owl_socket_service_lookup_gate (self->service, gate->alias) == NULL &&
          !owl_socket_service_add_gate (self->service, gate->alias, gate->gate, error))
        return FALSE;
    }
  return TRUE;
}

/* A bus guard asks the handler of one module: one object per module. */
static gboolean
add_bus_guards (OwldDaemon       *self,
                OwldModuleConfig *module,
                GError          **error)
{
  for (guint i = 0; i < module->bus_guards->len; i++)
    {
      const char *alias = module->bus_guards->pdata[i];
      g_autoptr(OwlGuard) guard = NULL;

      if (owl_socket_service_lookup_guard (self->service, alias) != NULL)
        continue;
      if (!self->has_hooks)
        {
          g_set_error (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID,
                       "[module %s]: a bus guard needs the bus", module->name);
          return FALSE;
        }
      guard = self->hooks.new_guard (self->hooks.data, module->name);
      if (!owl_socket_service_add_guard (self->service, alias, guard, error))
        return FALSE;
    }
  return TRUE;
}

static void
remove_module (OwldDaemon *self,
               const char *name)
{
  OwlModule *module = g_hash_table_lookup (self->modules, name);

  owld_log (G_LOG_LEVEL_INFO, NULL, "module %s removed", name);
  g_signal_handlers_disconnect_by_data (module, self);
  owl_socket_service_remove_module (self->service, module);
  g_hash_table_remove (self->modules, name);
}

static gboolean
add_module (OwldDaemon       *self,
            OwldModuleConfig *module,
            GError          **error)
{
  g_autoptr(GError) local = NULL;

  if (!add_bus_guards (self, module, error))
    return FALSE;
  if (!owl_socket_service_add_module (self->service, module->module, &local))
    {
      g_set_error (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID,
                   "%s: [module %s]: %s", self->config_path, module->name, local->message);
      return FALSE;
    }
  g_signal_connect (module->module, "connection", G_CALLBACK (on_connection), self);
  g_hash_table_insert (self->modules, g_strdup (module->name), g_object_ref (module->module));
  owld_log (G_LOG_LEVEL_INFO, NULL, "module %s serves %s", module->name,
            owl_module_get_path (module->module));
  return TRUE;
}

/* The guard and gate aliases @config uses (type=bus guards: one per module). */
static GHashTable *
aliases_of (OwldConfig *config)
{
  GHashTable *aliases = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; config != NULL && i < config->guards->len; i++)
    g_hash_table_add (aliases, ((OwldGuardConfig *) config->guards->pdata[i])->alias);
  for (guint i = 0; config != NULL && i < config->gates->len; i++)
    g_hash_table_add (aliases, ((OwldGateConfig *) config->gates->pdata[i])->alias);
  for (guint i = 0; config != NULL && i < config->modules->len; i++)
    {
      OwldModuleConfig *module = config->modules->pdata[i];

      for (guint j = 0; j < module->bus_guards->len; j++)
        g_hash_table_add (aliases, module->bus_guards->pdata[j]);
    }
  return aliases;
}

/* Once @now runs, what only @before used is unregistered: a changed guard or
 * gate is a new alias, and the old one would otherwise stay for good. */
static void
remove_unused_aliases (OwldDaemon *self,
                       OwldConfig *before,
                       OwldConfig *now)
{
  g_autoptr(GHashTable) old = aliases_of (before);
  g_autoptr(GHashTable) used = aliases_of (now);
  GHashTableIter iter;
  gpointer alias;

  g_hash_table_iter_init (&iter, old);
  while (g_hash_table_iter_next (&iter, &alias, NULL))
    if (!g_hash_table_contains (used, alias))
      {
        owl_socket_service_remove_guard (self->service, alias);
        owl_socket_service_remove_gate (self->service, alias);
      }
}

/* Replaces the running configuration with @config (taken): modules gone or
 * changed are removed (their connections get 1001), new or changed ones
 * added, the others stay as they are with their connections. */
static gboolean
apply (OwldDaemon  *self,
       OwldConfig  *config,
       GError     **error)
{
  g_autoptr(OwldConfig) taken = config;
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer name;

  if (!add_guards (self, config, error))
    return FALSE;
  g_hash_table_iter_init (&iter, self->modules);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      OwldModuleConfig *now = owld_config_find_module (config, name);
      OwldModuleConfig *before = owld_daemon_lookup_module (self, name);

      if (now == NULL || before == NULL || !g_str_equal (now->signature, before->signature))
        g_ptr_array_add (gone, g_strdup (name));
    }
  for (guint i = 0; i < gone->len; i++)
    remove_module (self, gone->pdata[i]);
  for (guint i = 0; i < config->modules->len; i++)
    {
      OwldModuleConfig *module = config->modules->pdata[i];

      if (!g_hash_table_contains (self->modules, module->name) && !add_module (self, module, error))
        return FALSE;
    }
  owld_config_apply_service (config, self->config, self->service);
  remove_unused_aliases (self, self->config, config);
  g_clear_pointer (&self->config, owld_config_free);
  self->config = g_steal_pointer (&taken);
  g_signal_emit (self, signals[MODULES_CHANGED], 0);
  return TRUE;
}

/* Listening ----------------------------------------------------------------------- */

/* sd_listen_fds(): the sockets systemd passed, from descriptor 3, when
 * LISTEN_PID names this process. The variables are unset either way, so
 * children do not take them for theirs. */
static GPtrArray *
adopt_sockets (GError **error)
{
  const char *pid = g_getenv ("LISTEN_PID");
  const char *fds = g_getenv ("LISTEN_FDS");
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  guint64 n = 0, owner = 0;

  if (pid != NULL && fds != NULL &&
      g_ascii_string_to_unsigned (pid, 10, 1, G_MAXINT, &owner, NULL) && owner == (guint64) getpid () &&
      g_ascii_string_to_unsigned (fds, 10, 1, 1024, &n, NULL))
    for (guint i = 0; i < n; i++)
      {
        GSocket *socket = g_socket_new_from_fd (3 + i, error);

        if (socket == NULL)
          return NULL;
        g_ptr_array_add (sockets, socket);
      }
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  return g_steal_pointer (&sockets);
}

/* g_socket_bind(), with SO_REUSEPORT when @reuse_port: g_socket_bind()
 * clears it on TCP sockets, so then the descriptor is bound here. */
static gboolean
bind_socket (GSocket         *socket,
             GSocketAddress  *address,
             gboolean         reuse_port,
             GError         **error)
{
  struct sockaddr_storage native;
  int saved;

  if (!reuse_port)
    return g_socket_bind (socket, address, TRUE, error);
  if (!g_socket_set_option (socket, SOL_SOCKET, SO_REUSEADDR, 1, error) ||
      !g_socket_set_option (socket, SOL_SOCKET, SO_REUSEPORT, 1, error) ||
      !g_socket_address_to_native (address, &native, sizeof native, error))
    return FALSE;
  if (bind (g_socket_get_fd (socket), (struct sockaddr *) &native, g_socket_address_get_native_size (address)) == 0)
    return TRUE;
  saved = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
  return FALSE;
}

/* A socket bound and listening on @text (checked by the configuration);
 * with SO_REUSEPORT when the service's reuse-port is set. */
static GSocket *
bind_address (OwldDaemon  *self,
              const char  *text,
              GError     **error)
{
  gboolean reuse_port = FALSE;
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) socket = NULL;

  owld_config_parse_address (text, &host, &port);
  address = g_str_equal (host, "localhost") ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                            : g_inet_address_new_from_string (host);
  socket_address = g_inet_socket_address_new (address, port);
  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  g_object_get (self->service, "reuse-port", &reuse_port, NULL);
  if (!bind_socket (socket, socket_address, reuse_port, error) || !g_socket_listen (socket, error))
    {
      g_prefix_error (error, "%s: ", text);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

/* "ws://127.0.0.1:8080" for the Addresses property. */
static void
add_address (OwldDaemon *self,
             GSocket    *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autofree char *host = NULL;
  GInetAddress *address;

  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    return;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  host = g_inet_address_to_string (address);
  g_ptr_array_add (self->addresses,
                   g_strdup_printf ("%s://%s%s%s:%u", self->config->tls_certificate ? "wss" : "ws",
                                    strchr (host, ':') ? "[" : "", host, strchr (host, ':') ? "]" : "",
                                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local))));
}

static gboolean
listen_now (OwldDaemon  *self,
            GError     **error)
{
  g_autoptr(GPtrArray) sockets = adopt_sockets (error);
  gboolean adopted = sockets != NULL && sockets->len > 0;

  if (sockets == NULL)
    {
      g_prefix_error (error, "LISTEN_FDS: ");
      return FALSE;
    }
  if (self->config->tls_certificate != NULL &&
      !owl_socket_service_load_tls_files (self->service, self->config->tls_certificate,
                                          self->config->tls_key, error))
    return FALSE;
  for (guint i = 0; !adopted && self->config->listen[i] != NULL; i++)
    {
      GSocket *socket = bind_address (self, self->config->listen[i], error);

      if (socket == NULL)
        return FALSE;
      g_ptr_array_add (sockets, socket);
    }
  if (sockets->len == 0)
    {
      g_set_error (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID,
                   "%s: [service] listen is empty and no socket was passed (LISTEN_FDS)",
                   self->config_path);
      return FALSE;
    }
  for (guint i = 0; i < sockets->len; i++)
    {
      if (!owl_socket_service_listen_socket (self->service, sockets->pdata[i], error))
        return FALSE;
      add_address (self, sockets->pdata[i]);
    }
  return TRUE;
}

static gboolean
check_idle (gpointer user_data)
{
  OwldDaemon *self = user_data;
  guint limit = self->config ? self->config->exit_on_idle : 0;

  if (limit == 0 || self->stopping)
    return G_SOURCE_CONTINUE;
  if (owl_socket_service_get_n_connections (self->service) > 0 || self->n_handlers > 0)
    self->last_activity = g_get_monotonic_time ();
  else if (g_get_monotonic_time () - self->last_activity >= (gint64) limit * G_USEC_PER_SEC)
    {
      owld_log (G_LOG_LEVEL_INFO, NULL, "idle for %u s: exiting", limit);
      g_signal_emit (self, signals[IDLE], 0);
    }
  return G_SOURCE_CONTINUE;
}

gboolean
owld_daemon_start (OwldDaemon  *self,
                   GError     **error)
{
  OwldConfig *config = owld_config_load (self->config_path, error);

  if (config == NULL || !apply (self, config, error) || !listen_now (self, error))
    return FALSE;
  g_signal_connect (self->service, "connection-added", G_CALLBACK (on_connection_added), self);
  g_signal_connect (self->service, "connection-removed", G_CALLBACK (on_connection_removed), self);
  self->idle_id = g_timeout_add (250, check_idle, self);
  owld_log (G_LOG_LEVEL_INFO, NULL, "serving on port %u", owl_socket_service_get_port (self->service));
  return TRUE;
}

gboolean
owld_daemon_reload (OwldDaemon  *self,
                    GError     **error)
{
  OwldConfig *config = owld_config_load (self->config_path, error);

  if (config == NULL)
    return FALSE;
  if (!g_strv_equal ((const char * const *) config->listen, (const char * const *) self->config->listen))
    owld_log (G_LOG_LEVEL_WARNING, NULL, "listen changed: a restart applies it");
  if ((config->tls_certificate == NULL) != (self->config->tls_certificate == NULL))
    owld_log (G_LOG_LEVEL_WARNING, NULL, "TLS turned on or off: a restart applies it");
  if (g_strcmp0 (config->broker_signature, self->config->broker_signature) != 0)
    owld_log (G_LOG_LEVEL_WARNING, NULL, "[broker] type, address, prefix, heartbeat or node changed: a restart applies them");
  /* New certificates serve the connections that come next (the files may
   * be the same names with new contents). */
  if (config->tls_certificate != NULL && self->config->tls_certificate != NULL &&
      !owl_socket_service_load_tls_files (self->service, config->tls_certificate, config->tls_key, error))
    {
      owld_config_free (config);
      return FALSE;
    }
  if (!apply (self, config, error))
    return FALSE;
  owld_log (G_LOG_LEVEL_INFO, NULL, "configuration reloaded");
  return TRUE;
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(OwldDaemon) self = user_data;

  owl_socket_service_stop_finish (OWL_SOCKET_SERVICE (source), result, NULL);
  owld_log (G_LOG_LEVEL_INFO, NULL, "stopped");
  g_signal_emit (self, signals[STOPPED], 0);
}

/* Every client gets the shutdown notice and 1001; "stopped" follows. */
void
owld_daemon_stop (OwldDaemon *self)
{
  if (self->stopping)
    return;
  self->stopping = TRUE;
  owld_log (G_LOG_LEVEL_INFO, NULL, "stopping");
  owl_socket_service_stop_async (self->service, NULL, on_stopped, g_object_ref (self));
}

/* Accessors ------------------------------------------------------------------------ */

void
owld_daemon_set_bus_hooks (OwldDaemon         *self,
                           const OwldBusHooks *hooks)
{
  self->hooks = *hooks;
  self->has_hooks = hooks->connection != NULL;
}

OwlSocketService *
owld_daemon_get_service (OwldDaemon *self)
{
  return self->service;
}

OwldConfig *
owld_daemon_get_config (OwldDaemon *self)
{
  return self->config;
}

OwldModuleConfig *
owld_daemon_lookup_module (OwldDaemon *self,
                           const char *name)
{
  return self->config ? owld_config_find_module (self->config, name) : NULL;
}

char **
owld_daemon_dup_addresses (OwldDaemon *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->addresses->len; i++)
    g_strv_builder_add (builder, self->addresses->pdata[i]);
  return g_strv_builder_end (builder);
}

char **
owld_daemon_dup_modules (OwldDaemon *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; self->config && i < self->config->modules->len; i++)
    g_strv_builder_add (builder, ((OwldModuleConfig *) self->config->modules->pdata[i])->name);
  return g_strv_builder_end (builder);
}

void
owld_daemon_touch (OwldDaemon *self)
{
  self->last_activity = g_get_monotonic_time ();
}

void
owld_daemon_set_busy (OwldDaemon *self,
                      guint       n_handlers)
{
  self->n_handlers = n_handlers;
  owld_daemon_touch (self);
}
