/* owl-socket-service.c: the service object, listening, TLS and statistics
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Modules, guards and gates are in owl-socket-service-modules.c; the
 * connection registry, rooms and stopping in
 * owl-socket-service-connections.c.
 */

#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "owl-envelope-private.h"
#include "owl-socket-service-private.h"

/**
 * OwlSocketService:
 *
 * The WebSocket service: the counterpart of `createSocketService` in the
 * TypeScript package <code>&#64;owlmeans/server-socket</code>.
 *
 * A service holds [class@Owlsock.Module]s, the registry of live
 * [class@Owlsock.Connection]s and the rooms. It either owns a `SoupServer`
 * ([method@Owlsock.SocketService.listen]) or serves inside one the
 * application already runs ([method@Owlsock.SocketService.attach],
 * `update(api)` in <code>&#64;owlmeans/server-socket</code>), where the
 * application keeps serving plain HTTP on its own paths.
 *
 * The service lives on the thread-default main context of the thread that
 * created it. [method@Owlsock.SocketService.broadcast] and the send and close
 * methods of connections may be called from any thread.
 *
 * Since: 0.1
 */
enum {
  PROP_0,
  PROP_ALIAS,
  PROP_PORT,
  PROP_N_CONNECTIONS,
  PROP_ALLOWED_ORIGINS,
  PROP_METRICS_PATH,
  PROP_METRICS_TOKEN,
  PROP_METRICS_ALLOW,
  PROP_ACCESS_LOG,
  /* owl-socket-service-scale.c's, in OwlScaleProperty order */
  PROP_BROKER,
  PROP_BROKER_PREFIX,
  PROP_BROKER_HEARTBEAT,
  PROP_NODE_NAME,
  PROP_REUSE_PORT,
  N_PROPS,
  /* Then every limit, from owl-limits.c's table. */
  PROP_FIRST_LIMIT = N_PROPS
};

enum {
  STOPPED,
  CONNECTION_ADDED,
  CONNECTION_REMOVED,
  N_SIGNALS
};

G_STATIC_ASSERT (PROP_REUSE_PORT - PROP_BROKER + 1 == OWL_SCALE_N_PROPERTIES);

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OwlSocketService, owl_socket_service, G_TYPE_OBJECT)

static char *dup_metrics_text (gpointer self);

/* Stops serving: an owned server stops listening, an application's server
 * loses the service's handlers (it keeps serving its own paths). */
void
owl_socket_service_release_server (OwlSocketService *self)
{
  GHashTableIter iter;
  gpointer key;

  if (self->server == NULL)
    return;

  if (self->owns_server)
    {
      owl_metrics_attach (self->metrics, NULL);
      self->upgrades.listener = NULL;
      g_ptr_array_set_size (self->listeners, 0);
      soup_server_disconnect (self->server);
    }
  else
    {
      g_hash_table_iter_init (&iter, self->prefixes);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        soup_server_remove_handler (self->server, key);
    }
  if (self->files != NULL)
    owl_static_attach (self->files, NULL);
  self->holds_root = FALSE;
  g_clear_object (&self->server);
}

void
owl_socket_service_update_admission (OwlSocketService *self)
{
  owl_admission_set_limits (self->admission, self->limits.max_connections,
                            self->limits.max_connections_per_ip,
                            self->limits.max_connections_per_user);
}

/* What keeps a copy of a service-wide limit is told of a new value. */
static void
limits_changed (OwlSocketService *self)
{
  owl_socket_service_update_admission (self);
  self->listener_limits.handshake_timeout = self->limits.handshake_timeout;
  self->listener_limits.max_handshake_size = self->limits.max_handshake_size;
}

void
owl_socket_service_emit_connection_signal (OwlSocketService *self,
                                           gboolean          added,
                                           OwlConnection    *connection)
{
  g_signal_emit (self, signals[added ? CONNECTION_ADDED : CONNECTION_REMOVED], 0, connection);
}

void
owl_socket_service_emit_stopped (OwlSocketService *self)
{
  g_signal_emit (self, signals[STOPPED], 0);
}

static void
owl_socket_service_dispose (GObject *object)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);

  g_clear_handle_id (&self->stop_idle, g_source_remove);
  owl_socket_service_clear_connections (self);
  owl_socket_service_release_server (self);
  owl_socket_service_clear_modules (self);

  G_OBJECT_CLASS (owl_socket_service_parent_class)->dispose (object);
}

static void
owl_socket_service_finalize (GObject *object)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);

  if (self->poller != NULL)
    {
      owl_poller_remove_tick (self->poller, self->tick_id);
      g_clear_pointer (&self->poller, owl_poller_unref);
    }
  g_clear_pointer (&self->alias, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->prefixes, g_hash_table_unref);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_pointer (&self->modules, g_hash_table_unref);
  g_clear_pointer (&self->router, owl_router_free);
  g_clear_pointer (&self->chain, owl_auth_chain_unref);
  g_clear_pointer (&self->admission, owl_admission_free);
  g_clear_pointer (&self->upgrades.allowed_origins, g_strfreev);
  owl_upgrades_clear (&self->upgrades);
  owl_socket_service_fini_connections (self);
  owl_socket_service_fini_broker (self);
  g_clear_pointer (&self->rooms, owl_rooms_unref);
  g_clear_pointer (&self->metrics, owl_metrics_free);
  g_clear_pointer (&self->files, owl_static_free);
  g_clear_pointer (&self->stats, owl_stats_free);
  g_clear_object (&self->listener_limits.tls_certificate);
  g_clear_pointer (&self->stop_tasks, g_ptr_array_unref);

  G_OBJECT_CLASS (owl_socket_service_parent_class)->finalize (object);
}

static void
owl_socket_service_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ALIAS:
      g_value_set_string (value, self->alias);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_N_CONNECTIONS:
      g_value_set_uint (value, g_hash_table_size (self->connections));
      break;
    case PROP_ALLOWED_ORIGINS:
      g_value_set_boxed (value, self->upgrades.allowed_origins);
      break;
    case PROP_METRICS_PATH:
      g_value_set_string (value, owl_metrics_get_path (self->metrics));
      break;
    case PROP_METRICS_ALLOW:
      g_value_set_boxed (value, owl_metrics_get_allow (self->metrics));
      break;
    case PROP_ACCESS_LOG:
      g_value_set_boolean (value, self->access_log);
      break;
    case PROP_BROKER:
    case PROP_BROKER_PREFIX:
    case PROP_BROKER_HEARTBEAT:
    case PROP_NODE_NAME:
    case PROP_REUSE_PORT:
      owl_socket_service_scale_get (self, prop_id - PROP_BROKER, value);
      break;
    default:
      if (!owl_limits_get_property (&self->limits, PROP_FIRST_LIMIT, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
owl_socket_service_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ALIAS:
      g_free (self->alias);
      self->alias = g_value_dup_string (value);
      if (self->alias == NULL)
        self->alias = g_strdup (OWL_SOCKET_SERVICE_DEFAULT_ALIAS);
      break;
    case PROP_ALLOWED_ORIGINS:
      g_strfreev (self->upgrades.allowed_origins);
      self->upgrades.allowed_origins = g_value_dup_boxed (value);
      break;
    case PROP_METRICS_PATH:
      owl_metrics_set_path (self->metrics, g_value_get_string (value));
      break;
    case PROP_METRICS_TOKEN:
      owl_metrics_set_token (self->metrics, g_value_get_string (value));
      break;
    case PROP_METRICS_ALLOW:
      owl_metrics_set_allow (self->metrics, g_value_get_boxed (value));
      break;
    case PROP_ACCESS_LOG:
      if (self->access_log != g_value_get_boolean (value))
        {
          self->access_log = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_BROKER:
    case PROP_BROKER_PREFIX:
    case PROP_BROKER_HEARTBEAT:
    case PROP_NODE_NAME:
    case PROP_REUSE_PORT:
      owl_socket_service_scale_set (self, prop_id - PROP_BROKER, value, pspec);
      break;
    default:
      {
        gboolean changed = FALSE;

        if (!owl_limits_set_property (&self->limits, PROP_FIRST_LIMIT, prop_id, value, &changed))
          G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        else if (changed)
          {
            limits_changed (self);
            g_object_notify_by_pspec (object, pspec);
          }
      }
    }
}

static void
owl_socket_service_class_init (OwlSocketServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owl_socket_service_dispose;
  object_class->finalize = owl_socket_service_finalize;
  object_class->get_property = owl_socket_service_get_property;
  object_class->set_property = owl_socket_service_set_property;

  /**
   * OwlSocketService:alias:
   *
   * The service alias; %OWL_SOCKET_SERVICE_DEFAULT_ALIAS when none is given.
   *
   * Since: 0.1
   */
  properties[PROP_ALIAS] =
    g_param_spec_string ("alias", NULL, NULL, OWL_SOCKET_SERVICE_DEFAULT_ALIAS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:port:
   *
   * The port the service listens on after
   * [method@Owlsock.SocketService.listen], else 0.
   *
   * Since: 0.1
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlSocketService:n-connections:
   *
   * How many connections are open.
   *
   * Since: 0.1
   */
  properties[PROP_N_CONNECTIONS] =
    g_param_spec_uint ("n-connections", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:allowed-origins:
   *
   * Origins whose browsers may connect, such as `https://app.example`;
   * `*` allows any. A request without an `Origin` header (not a browser)
   * and a same-origin request always pass; any other is answered with HTTP
   * 403. Modules may override it.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOWED_ORIGINS] =
    g_param_spec_boxed ("allowed-origins", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:metrics-path:
   *
   * A path such as `/metrics` where the statistics of
   * [method@Owlsock.SocketService.dup_stats] are served in Prometheus'
   * text format: on the service's own server (see
   * [method@Owlsock.SocketService.listen]), or only on the listener of
   * [method@Owlsock.SocketService.listen_metrics] once there is one.
   * Only this exact path answers. %NULL (the default) for none. Who may
   * read it: [property@Owlsock.SocketService:metrics-allow] and
   * [property@Owlsock.SocketService:metrics-token].
   *
   * Since: 0.1
   */
  properties[PROP_METRICS_PATH] =
    g_param_spec_string ("metrics-path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:metrics-token:
   *
   * When set, a metrics request must carry `Authorization: Bearer
   * <token>`, or it is answered with 401. Write-only: it is a secret.
   *
   * Since: 0.1
   */
  properties[PROP_METRICS_TOKEN] =
    g_param_spec_string ("metrics-token", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:metrics-allow:
   *
   * Addresses and CIDR ranges (`127.0.0.1`, `10.0.0.0/8`, `::1`; `*` for
   * any) that may read the metrics; others get 403. %NULL (the default):
   * only loopback clients on the service's own server, anyone who can
   * reach the listener of [method@Owlsock.SocketService.listen_metrics].
   * An entry that does not parse matches nothing.
   *
   * Since: 0.1
   */
  properties[PROP_METRICS_ALLOW] =
    g_param_spec_boxed ("metrics-allow", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:access-log:
   *
   * Whether to log one line when each connection opens and one when it
   * closes, through GLib's structured logging at %G_LOG_LEVEL_MESSAGE in
   * the log domain `owlsock-access`. The fields: `OWL_EVENT` (`open` or
   * `close`), `OWL_CONNECTION_ID`, `OWL_MODULE` (the alias), `OWL_PEER`
   * (the client's address), `OWL_USER` (the user id of the connection's
   * [class@Owlsock.Auth], `-` without one); on close also
   * `OWL_DURATION_MS`, `OWL_CLOSE_CODE`, `OWL_MESSAGES_IN`,
   * `OWL_BYTES_IN`, `OWL_MESSAGES_OUT` and `OWL_BYTES_OUT`, and a
   * `MESSAGE` that says the same in one line. Never a path, a query, a
   * header or a token. Off by default.
   *
   * Since: 0.1
   */
  properties[PROP_ACCESS_LOG] =
    g_param_spec_boolean ("access-log", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /* Documented in owl-socket-service-scale.c. */
  owl_socket_service_scale_class_init (properties + PROP_BROKER);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  /* Documented beside their rows in owl-limits.c. */
  owl_limits_install_properties (object_class, PROP_FIRST_LIMIT, FALSE);

  /**
   * OwlSocketService::stopped:
   * @self: the service
   *
   * A stop finished: every connection closed and the service no longer
   * accepts.
   *
   * Since: 0.1
   */
  signals[STOPPED] =
    g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * OwlSocketService::connection-added:
   * @self: the service
   * @connection: the connection
   *
   * A connection was accepted and is in the registry; its module's
   * [signal@Owlsock.Module::connection] follows.
   *
   * Since: 0.1
   */
  signals[CONNECTION_ADDED] =
    g_signal_new ("connection-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, OWL_TYPE_CONNECTION);

  /**
   * OwlSocketService::connection-removed:
   * @self: the service
   * @connection: the connection
   *
   * A connection closed and left the registry and its rooms, before its
   * own [signal@Owlsock.Connection::closed] handlers run.
   *
   * Since: 0.1
   */
  signals[CONNECTION_REMOVED] =
    g_signal_new ("connection-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, OWL_TYPE_CONNECTION);
}

/* Once a second: keepalive and timeouts of every connection, and the
 * clients that hung up while a guard decided, from one source. */
static void
service_tick (gpointer user_data,
              gint64   now_us)
{
  OwlSocketService *self = user_data;

  owl_socket_service_tick_connections (self, now_us);
  owl_upgrades_tick (&self->upgrades);
}

static void
owl_socket_service_init (OwlSocketService *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->prefixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) owl_listener_free);
  self->chain = owl_auth_chain_new ();
  self->admission = owl_admission_new ();
  self->rooms = owl_rooms_new (self->context);
  owl_socket_service_init_broker (self);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  owl_limits_init (&self->limits, FALSE);
  limits_changed (self);
  self->stats = owl_stats_new ();
  self->metrics = owl_metrics_new (dup_metrics_text, self);
  owl_socket_service_init_modules (self);
  owl_socket_service_init_connections (self);

  owl_upgrades_init (&self->upgrades);
  self->upgrades.service = self;
  self->upgrades.context = self->context;
  self->upgrades.router = self->router;
  self->upgrades.admission = self->admission;
  self->upgrades.chain = self->chain;
  self->upgrades.stats = self->stats;
  self->upgrades.listener_limits = &self->listener_limits;
  self->upgrades.accepted = owl_socket_service_accepted;

  self->poller = owl_poller_ref_for_context (self->context);
  self->tick_id = owl_poller_add_tick (self->poller, service_tick, self);
}

/**
 * owl_socket_service_new:
 * @alias: (nullable): the service alias; %NULL for
 *   %OWL_SOCKET_SERVICE_DEFAULT_ALIAS
 *
 * Creates a service on the thread-default main context.
 *
 * Returns: (transfer full): a new service
 *
 * Since: 0.1
 */
OwlSocketService *
owl_socket_service_new (const char *alias)
{
  return g_object_new (OWL_TYPE_SOCKET_SERVICE, "alias", alias, NULL);
}

/**
 * owl_socket_service_get_alias:
 * @self: a service
 *
 * Gets the service's alias.
 *
 * Returns: the service alias
 *
 * Since: 0.1
 */
const char *
owl_socket_service_get_alias (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  return self->alias;
}

/* Listening is in owl-socket-service-listen.c. */

void
owl_socket_service_set_port (OwlSocketService *self,
                             guint16           port)
{
  self->port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}

/* Statistics ----------------------------------------------------------------- */

static void
live_stats (OwlSocketService *self,
            OwlStatsLive     *live,
            JsonNode         *broker)
{
  live->connections_open = g_hash_table_size (self->connections);
  live->dropped_open = owl_socket_service_dropped_open (self);
  live->broker = broker;
}

/**
 * owl_socket_service_dup_stats:
 * @self: a service
 *
 * Takes a snapshot of the service's statistics since it was created, as a
 * `a{sv}` dictionary: `connections-open` (u), `connections-accepted`,
 * `messages-in`, `messages-out`, `bytes-in`, `bytes-out` and
 * `dropped-messages` (all t), `rejected` (a{st}: refused upgrades by
 * reason, every reason listed from the start at 0: `not-found`,
 * `not-websocket`, `bad-handshake`, `not-text`, `stopping`,
 * `max-connections`, `max-connections-per-ip`, `origin`, `auth`,
 * `auth-timeout`, `max-connections-per-user`, `gate`, `schema`,
 * `client-gone`, `recover`) and `closes` (a{st}: closed connections by
 * close code: `1000` to `1015`, `4001` and `4408` by number; the codes clients choose
 * in buckets `3xxx`, `4xxx` and `other`, so a client cannot make the
 * table grow), and `broker` (a{sv}: the broker's counters, `type`
 * (`local` or `redis`) and, for Redis, `connected` (b), `published`,
 * `received`, `failed` (cross-node deliveries that could not be made),
 * `reconnects` and `rooms`; see
 * [property@Owlsock.SocketService:broker]). Messages count every frame
 * of data, the protocol's own included.
 *
 * Returns: (transfer full): the statistics
 *
 * Since: 0.1
 */
GVariant *
owl_socket_service_dup_stats (OwlSocketService *self)
{
  g_autoptr(JsonNode) broker = NULL;
  OwlStatsLive live;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  broker = owl_socket_service_dup_broker_stats (self);
  live_stats (self, &live, broker);
  return g_variant_ref_sink (owl_stats_snapshot (self->stats, &live));
}

/**
 * owl_socket_service_dup_metrics:
 * @self: a service
 *
 * The statistics of [method@Owlsock.SocketService.dup_stats] in
 * Prometheus' text exposition format, as the
 * [property@Owlsock.SocketService:metrics-path] endpoint serves them.
 *
 * Returns: (transfer full): the metrics text
 *
 * Since: 0.1
 */
char *
owl_socket_service_dup_metrics (OwlSocketService *self)
{
  g_autoptr(JsonNode) broker = NULL;
  OwlStatsLive live;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  broker = owl_socket_service_dup_broker_stats (self);
  live_stats (self, &live, broker);
  return owl_stats_to_prometheus (self->stats, &live);
}

static char *
dup_metrics_text (gpointer self)
{
  return owl_socket_service_dup_metrics (self);
}

/**
 * owl_socket_service_listen_metrics:
 * @self: a service
 * @host: (nullable): the address to serve metrics on, such as
 *   `"127.0.0.1"` or an internal interface's; %NULL for every IPv4
 *   address
 * @port: the port; 0 for any free port (read it back with
 *   [method@Owlsock.SocketService.get_metrics_port])
 * @error: return location for an error
 *
 * Serves [property@Owlsock.SocketService:metrics-path] (`/metrics` if it
 * is not set) on a plain HTTP listener of its own, and no longer on the
 * service's public server, so clients of the WebSocket endpoints never
 * see it.
 *
 * Returns: %TRUE if the listener is up
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_listen_metrics (OwlSocketService  *self,
                                   const char        *host,
                                   guint16            port,
                                   GError           **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (owl_metrics_get_port (self->metrics) != 0)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS, "The metrics already have a listener");
      return FALSE;
    }
  address = owl_socket_service_resolve_host (host, error);
  if (address == NULL)
    return FALSE;
  socket_address = g_inet_socket_address_new (address, port);
  if (owl_metrics_get_path (self->metrics) == NULL)
    g_object_set (self, "metrics-path", "/metrics", NULL);
  return owl_metrics_listen (self->metrics, socket_address, error);
}

/**
 * owl_socket_service_get_metrics_port:
 * @self: a service
 *
 * Gets the port of the metrics listener.
 *
 * Returns: the port of [method@Owlsock.SocketService.listen_metrics]'s
 *   listener, or 0
 *
 * Since: 0.1
 */
guint16
owl_socket_service_get_metrics_port (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), 0);

  return owl_metrics_get_port (self->metrics);
}

/* TLS ---------------------------------------------------------------------------- */

/**
 * owl_socket_service_set_tls_certificate:
 * @self: a service
 * @certificate: (nullable): the certificate, with its private key; %NULL
 *   for plain connections
 *
 * Makes the service's own listener (see
 * [method@Owlsock.SocketService.listen]) speak TLS: clients connect with
 * `wss://`. Calling it again replaces the certificate for the connections
 * that come next; open connections keep theirs. It needs GIO's TLS
 * backend (Debian's `glib-networking`) at run time.
 *
 * Since: 0.1
 */
void
owl_socket_service_set_tls_certificate (OwlSocketService *self,
                                        GTlsCertificate  *certificate)
{
  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));

  g_set_object (&self->listener_limits.tls_certificate, certificate);
}

/**
 * owl_socket_service_load_tls_files:
 * @self: a service
 * @cert_file: (type filename): a PEM certificate (chain)
 * @key_file: (type filename): its PEM private key
 * @error: return location for an error
 *
 * Loads a certificate and key and uses them as
 * [method@Owlsock.SocketService.set_tls_certificate] does; call it again
 * to reload renewed files without dropping open connections. On failure
 * the certificate in use stays.
 *
 * Returns: %TRUE if the files were loaded
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_load_tls_files (OwlSocketService  *self,
                                   const char        *cert_file,
                                   const char        *key_file,
                                   GError           **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (cert_file != NULL, FALSE);
  g_return_val_if_fail (key_file != NULL, FALSE);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
  if (certificate == NULL)
    return FALSE;

  owl_socket_service_set_tls_certificate (self, certificate);
  return TRUE;
}
