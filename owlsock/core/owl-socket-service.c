/* owl-socket-service.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "owl-attempt-private.h"
#include "owl-connection-private.h"
#include "owl-envelope-private.h"
#include "owl-deflate-private.h"
#include "owl-limits-private.h"
#include "owl-listener-private.h"
#include "owl-mailbox-private.h"
#include "owl-poller-private.h"
#include "owl-module-private.h"
#include "owl-request-private.h"
#include "owl-router-private.h"
#include "owl-metrics-private.h"
#include "owl-stats-private.h"
#include "owl-socket-service-private.h"

/**
 * OwlSocketService:
 *
 * The WebSocket service: the counterpart of the seed's `createSocketService`.
 *
 * A service holds [class@Owlsock.Module]s, the registry of live
 * [class@Owlsock.Connection]s and the rooms. It either owns a `SoupServer`
 * ([method@Owlsock.SocketService.listen]) or serves inside one the
 * application already runs ([method@Owlsock.SocketService.attach], the seed's
 * `update(api)`), where the application keeps serving plain HTTP on its own
 * paths.
 *
 * The service lives on the thread-default main context of the thread that
 * created it. [method@Owlsock.SocketService.broadcast] and the send and close
 * methods of connections may be called from any thread.
 *
 * Since: 0.1
 */
struct _OwlSocketService
{
  GObject       parent_instance;

  char         *alias;
  GMainContext *context;
  OwlMailbox   *mailbox;      /* broadcasts from other threads */

  SoupServer   *server;
  gboolean      owns_server;
  OwlListener  *listener;     /* accepts for an owned server */
  guint16       port;

  GHashTable   *modules;      /* alias -> OwlModule */
  OwlRouter    *router;       /* request path -> OwlModule */
  GHashTable   *prefixes;     /* SoupServer handler path -> number of modules */
  GHashTable   *connections;  /* id -> OwlConnection (owned) */
  GHashTable   *rooms;        /* name -> GHashTable set of OwlConnection */

  OwlLimits     limits;
  gint          max_connections;
  gint          max_connections_per_ip;
  GStrv         allowed_origins;
  OwlListenerLimits listener_limits;
  GHashTable   *per_ip;       /* remote host -> open connections and upgrades */
  GHashTable   *per_user;     /* user id -> open connections and upgrades */
  gint          max_connections_per_user;
  guint         n_upgrading;  /* upgrades between the first check and the 101 */
  GPtrArray    *waiting;      /* OwlUpgrade (not owned) paused on a guard or gate */
  gint          auth_expiry_notice;
  GHashTable   *guards;       /* alias -> OwlGuard */
  GHashTable   *gates;        /* alias -> OwlGate */
  OwlMetrics   *metrics;      /* the Prometheus endpoint */
  OwlStats     *stats;        /* since the service was created */
  OwlPoller    *poller;
  guint         tick_id;

  gboolean      stopping;
  GPtrArray    *stop_tasks;
  guint         stop_idle;
};

enum {
  PROP_0,
  PROP_ALIAS,
  PROP_PORT,
  PROP_N_CONNECTIONS,
  PROP_MAX_CONNECTIONS,
  PROP_MAX_CONNECTIONS_PER_IP,
  PROP_MAX_CONNECTIONS_PER_USER,
  PROP_AUTH_EXPIRY_NOTICE,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_MAX_HANDSHAKE_SIZE,
  PROP_ALLOWED_ORIGINS,
  PROP_METRICS_PATH,
  PROP_METRICS_TOKEN,
  PROP_METRICS_ALLOW,
  PROP_FIRST_LIMIT,
  N_PROPS = PROP_FIRST_LIMIT + OWL_N_LIMITS
};

enum {
  STOPPED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OwlSocketService, owl_socket_service, G_TYPE_OBJECT)

static char *dup_metrics_text (gpointer self);
static void adjust_count   (GHashTable       *table,
                            const char       *host,
                            gint              delta);
static void broadcast_run  (gpointer data);
static void check_waiting  (OwlSocketService *self);
static void broadcast_free (gpointer data);
static void server_callback (SoupServer        *server,
                             SoupServerMessage *msg,
                             const char        *path,
                             GHashTable        *query,
                             gpointer           user_data);


/* Stops serving: an owned server stops listening, an application's server
 * loses the service's handlers (it keeps serving its own paths). */
static void
release_server (OwlSocketService *self)
{
  GHashTableIter iter;
  gpointer key;

  if (self->server == NULL)
    return;

  if (self->owns_server)
    {
      owl_metrics_attach (self->metrics, NULL);
      g_clear_pointer (&self->listener, owl_listener_free);
      soup_server_disconnect (self->server);
    }
  else
    {
      g_hash_table_iter_init (&iter, self->prefixes);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        soup_server_remove_handler (self->server, key);
    }
  g_clear_object (&self->server);
}

static void
owl_socket_service_dispose (GObject *object)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);
  GHashTableIter iter;
  gpointer value;

  g_clear_handle_id (&self->stop_idle, g_source_remove);

  /* Connections outlive a dropped service only as closed objects. */
  if (self->connections != NULL)
    {
      g_hash_table_iter_init (&iter, self->connections);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          owl_connection_detach_service (value);
          owl_connection_close (value, OWL_CLOSE_GOING_AWAY, "Service gone");
        }
      g_hash_table_remove_all (self->connections);
    }

  release_server (self);

  if (self->modules != NULL)
    {
      g_hash_table_iter_init (&iter, self->modules);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          owl_router_remove (self->router, owl_module_get_route (value));
          owl_module_set_service (value, NULL);
        }
      g_hash_table_remove_all (self->modules);
    }

  G_OBJECT_CLASS (owl_socket_service_parent_class)->dispose (object);
}

static void
owl_socket_service_finalize (GObject *object)
{
  OwlSocketService *self = OWL_SOCKET_SERVICE (object);

  g_clear_pointer (&self->alias, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->mailbox, owl_mailbox_unref);
  if (self->poller != NULL)
    {
      owl_poller_remove_tick (self->poller, self->tick_id);
      g_clear_pointer (&self->poller, owl_poller_unref);
    }
  g_clear_pointer (&self->modules, g_hash_table_unref);
  g_clear_pointer (&self->router, owl_router_free);
  g_clear_pointer (&self->prefixes, g_hash_table_unref);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->per_ip, g_hash_table_unref);
  g_clear_pointer (&self->per_user, g_hash_table_unref);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_pointer (&self->guards, g_hash_table_unref);
  g_clear_pointer (&self->gates, g_hash_table_unref);
  g_clear_pointer (&self->metrics, owl_metrics_free);
  g_clear_pointer (&self->stats, owl_stats_free);
  g_clear_object (&self->listener_limits.tls_certificate);
  g_clear_pointer (&self->allowed_origins, g_strfreev);
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
    case PROP_MAX_CONNECTIONS:
      g_value_set_int (value, self->max_connections);
      break;
    case PROP_MAX_CONNECTIONS_PER_IP:
      g_value_set_int (value, self->max_connections_per_ip);
      break;
    case PROP_MAX_CONNECTIONS_PER_USER:
      g_value_set_int (value, self->max_connections_per_user);
      break;
    case PROP_AUTH_EXPIRY_NOTICE:
      g_value_set_int (value, self->auth_expiry_notice);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_int (value, self->listener_limits.handshake_timeout);
      break;
    case PROP_MAX_HANDSHAKE_SIZE:
      g_value_set_int (value, self->listener_limits.max_handshake_size);
      break;
    case PROP_ALLOWED_ORIGINS:
      g_value_set_boxed (value, self->allowed_origins);
      break;
    case PROP_METRICS_PATH:
      g_value_set_string (value, owl_metrics_get_path (self->metrics));
      break;
    case PROP_METRICS_ALLOW:
      g_value_set_boxed (value, owl_metrics_get_allow (self->metrics));
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
    case PROP_MAX_CONNECTIONS:
      self->max_connections = g_value_get_int (value);
      break;
    case PROP_MAX_CONNECTIONS_PER_IP:
      self->max_connections_per_ip = g_value_get_int (value);
      break;
    case PROP_MAX_CONNECTIONS_PER_USER:
      self->max_connections_per_user = g_value_get_int (value);
      break;
    case PROP_AUTH_EXPIRY_NOTICE:
      self->auth_expiry_notice = g_value_get_int (value);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      self->listener_limits.handshake_timeout = g_value_get_int (value);
      break;
    case PROP_MAX_HANDSHAKE_SIZE:
      self->listener_limits.max_handshake_size = g_value_get_int (value);
      break;
    case PROP_ALLOWED_ORIGINS:
      g_strfreev (self->allowed_origins);
      self->allowed_origins = g_value_dup_boxed (value);
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
    default:
      {
        gboolean changed = FALSE;

        if (!owl_limits_set_property (&self->limits, PROP_FIRST_LIMIT, prop_id, value, &changed))
          G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        else if (changed)
          g_object_notify_by_pspec (object, pspec);
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
   * OwlSocketService:max-connections:
   *
   * The most connections open at once; an upgrade beyond it is answered
   * with HTTP 503. It is also kept under the process' descriptor limit.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_int ("max-connections", NULL, NULL, 1, G_MAXINT, OWL_DEFAULT_MAX_CONNECTIONS,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:max-connections-per-ip:
   *
   * The most connections open at once from one remote address; an upgrade
   * beyond it is answered with HTTP 429.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONNECTIONS_PER_IP] =
    g_param_spec_int ("max-connections-per-ip", NULL, NULL, 1, G_MAXINT, OWL_DEFAULT_MAX_CONNECTIONS_PER_IP,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:max-connections-per-user:
   *
   * The most connections open at once for one authenticated user (the
   * [property@Owlsock.Auth:user-id] a guard found); an upgrade beyond it is
   * answered with HTTP 429, after the guard and before the gates.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONNECTIONS_PER_USER] =
    g_param_spec_int ("max-connections-per-user", NULL, NULL, 1, G_MAXINT, OWL_DEFAULT_MAX_CONNECTIONS_PER_USER,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:auth-expiry-notice:
   *
   * Seconds before an identity's [property@Owlsock.Auth:expires-at] when
   * its connection receives the `system` event `auth-expiring`, so the
   * client can refresh its token before the connection is closed with 4001.
   *
   * Since: 0.1
   */
  properties[PROP_AUTH_EXPIRY_NOTICE] =
    g_param_spec_int ("auth-expiry-notice", NULL, NULL, 0, G_MAXINT / 2, OWL_DEFAULT_AUTH_EXPIRY_NOTICE,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:handshake-timeout:
   *
   * Seconds a client of the service's own listener has to send its request;
   * a slower one (slowloris) is dropped.
   *
   * Since: 0.1
   */
  properties[PROP_HANDSHAKE_TIMEOUT] =
    g_param_spec_int ("handshake-timeout", NULL, NULL, 1, G_MAXINT / 2, OWL_DEFAULT_HANDSHAKE_TIMEOUT,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:max-handshake-size:
   *
   * The most bytes of a request (its line and headers) the service's own
   * listener reads before the upgrade; a larger request is answered with
   * HTTP 431 and dropped.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_HANDSHAKE_SIZE] =
    g_param_spec_int ("max-handshake-size", NULL, NULL, 1024, G_MAXINT, OWL_DEFAULT_MAX_HANDSHAKE_SIZE,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

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

  g_object_class_install_properties (object_class, PROP_FIRST_LIMIT, properties);

  /**
   * OwlSocketService:max-message-size:
   *
   * The largest message a client may send, in bytes, counted after
   * reassembling fragments and after decompression. A larger one closes
   * the connection with 1009. Modules may override it.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:max-json-depth:
   *
   * The deepest nesting of arrays and objects in a JSON message; a deeper
   * message is answered with a `too-deep` error frame.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:ping-interval:
   *
   * Seconds between the server's WebSocket pings; 0 sends none.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:pong-timeout:
   *
   * Seconds a client has to answer a ping; a client that does not is closed
   * with 4408.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:idle-timeout:
   *
   * Seconds without any frame from the client (pongs count) after which the
   * connection is closed with 1001; 0 for none.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:max-buffered-amount:
   *
   * The most outgoing bytes a connection may have queued because the client
   * does not read; see [property@Owlsock.SocketService:backpressure].
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:backpressure:
   *
   * What happens to a message that would pass
   * [property@Owlsock.SocketService:max-buffered-amount]: close the
   * connection with 1013 (the default) or drop the message.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:rate-limit:
   *
   * Messages per second a connection may send (a token bucket refilled at
   * this rate); 0 for no limit. A message over it is not handled and is
   * answered with a `rate-limited` error frame.
   *
   * Since: 0.1
   */
  /**
   * OwlSocketService:rate-burst:
   *
   * The token bucket's size: how many messages may come at once. A
   * connection that keeps sending after more than this many messages in a
   * row were refused is closed with 1008.
   *
   * Since: 0.1
   */
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
}

/* Once a second: keepalive and timeouts of every connection, from one
 * source for the whole service. */
static void
service_tick (gpointer user_data,
              gint64   now_us)
{
  OwlSocketService *self = user_data;
  g_autoptr(GPtrArray) connections = g_ptr_array_new_full (g_hash_table_size (self->connections),
                                                           g_object_unref);
  GHashTableIter iter;
  gpointer value;

  /* A tick may close a connection, which leaves the table: copy first. */
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (connections, g_object_ref (value));

  for (guint i = 0; i < connections->len; i++)
    owl_connection_tick (g_ptr_array_index (connections, i), now_us);

  if (self->waiting->len > 0)
    check_waiting (self);
}

static void
owl_socket_service_init (OwlSocketService *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->mailbox = owl_mailbox_new (self->context, broadcast_run, broadcast_free);
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->router = owl_router_new ();
  self->prefixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->connections = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_hash_table_unref);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  owl_limits_init (&self->limits, FALSE);
  self->max_connections = OWL_DEFAULT_MAX_CONNECTIONS;
  self->max_connections_per_ip = OWL_DEFAULT_MAX_CONNECTIONS_PER_IP;
  self->listener_limits.handshake_timeout = OWL_DEFAULT_HANDSHAKE_TIMEOUT;
  self->listener_limits.max_handshake_size = OWL_DEFAULT_MAX_HANDSHAKE_SIZE;
  self->per_ip = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->per_user = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->waiting = g_ptr_array_new ();
  self->max_connections_per_user = OWL_DEFAULT_MAX_CONNECTIONS_PER_USER;
  self->auth_expiry_notice = OWL_DEFAULT_AUTH_EXPIRY_NOTICE;
  self->guards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->gates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->stats = owl_stats_new ();
  self->metrics = owl_metrics_new (dup_metrics_text, self);
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

GMainContext *
owl_socket_service_get_context (OwlSocketService *self)
{
  return self->context;
}

/* HTTP answers ------------------------------------------------------------- */

static void
respond_json (SoupServerMessage *msg,
              guint              status,
              OwlError           code,
              const char        *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  char *body;
  gsize len;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, owl_error_code_to_string (code));
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = owl_json_to_data (root, &len);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, len);
}

/* Counts a refused upgrade by @reason (a static string) and answers it. */
static void
reject (OwlSocketService  *self,
        SoupServerMessage *msg,
        const char        *reason,
        guint              status,
        OwlError           code,
        const char        *message)
{
  owl_stats_count_rejected (self->stats, reason);
  respond_json (msg, status, code, message);
}

/* Routing ------------------------------------------------------------------ */

static void
register_prefix (OwlSocketService *self,
                 const char       *prefix)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->prefixes, prefix));

  g_hash_table_insert (self->prefixes, g_strdup (prefix), GUINT_TO_POINTER (n + 1));
  if (n == 0 && self->server != NULL)
    soup_server_add_handler (self->server, prefix, server_callback, self, NULL);
}

static void
unregister_prefix (OwlSocketService *self,
                   const char       *prefix)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->prefixes, prefix));

  if (n > 1)
    {
      g_hash_table_insert (self->prefixes, g_strdup (prefix), GUINT_TO_POINTER (n - 1));
      return;
    }

  g_hash_table_remove (self->prefixes, prefix);
  if (self->server != NULL)
    soup_server_remove_handler (self->server, prefix);
}

static void
use_server (OwlSocketService *self,
            SoupServer       *server,
            gboolean          owned)
{
  GHashTableIter iter;
  gpointer key;

  self->server = g_object_ref (server);
  self->owns_server = owned;

  g_hash_table_iter_init (&iter, self->prefixes);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    soup_server_add_handler (self->server, key, server_callback, self, NULL);
}

/* Upgrades ----------------------------------------------------------------- */

/* The server's compression policy: no context kept between messages (no
 * zlib memory held by idle connections, and a broadcast compresses once),
 * and a 4 KiB window. */
#define OWL_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER TRUE
#define OWL_DEFLATE_SERVER_MAX_WINDOW_BITS     12

/* One upgrade request on its way through guards, gates and schemas to the
 * 101. It holds its slots in the connection limits from the first check on,
 * so requests whose guards answer later cannot overrun a limit together;
 * the connection takes the slots over at the 101. */
typedef struct
{
  gint               ref_count;
  OwlSocketService  *service;
  OwlModule         *module;
  OwlRequest        *request;
  SoupServerMessage *msg;          /* while deciding */
  GCancellable      *cancellable;  /* for guards and gates */
  GSource           *timeout;
  gulong             disconnected_id;
  OwlFdHandle       *handle;       /* while waiting, to see the client hang up */
  guint              next_gate;
  gboolean           paused;
  gboolean           holds_total;
  gboolean           holds_ip;
  char              *holds_user;   /* the user id counted */
  gboolean           deflate;
  OwlDeflateParams   deflate_params;
} OwlUpgrade;

static OwlUpgrade *
upgrade_ref (OwlUpgrade *upgrade)
{
  upgrade->ref_count++;
  return upgrade;
}

/* Gives back the slots the upgrade holds in the connection limits. */
static void
upgrade_release (OwlUpgrade *upgrade)
{
  OwlSocketService *self = upgrade->service;

  if (upgrade->holds_total)
    self->n_upgrading--;
  if (upgrade->holds_ip)
    adjust_count (self->per_ip, owl_request_get_remote_host (upgrade->request), -1);
  if (upgrade->holds_user != NULL)
    adjust_count (self->per_user, upgrade->holds_user, -1);
  upgrade->holds_total = upgrade->holds_ip = FALSE;
  g_clear_pointer (&upgrade->holds_user, g_free);
}

static void
upgrade_unref (OwlUpgrade *upgrade)
{
  if (--upgrade->ref_count > 0)
    return;

  upgrade_release (upgrade);
  g_object_unref (upgrade->service);
  g_object_unref (upgrade->module);
  g_object_unref (upgrade->request);
  g_clear_object (&upgrade->cancellable);
  g_free (upgrade);
}

static void
upgrade_closure_free (gpointer  data,
                      GClosure *closure)
{
  upgrade_unref (data);
}

/* The 101 went out: from here on the stream is ours. */
static void
on_wrote_informational (SoupServerMessage *msg,
                        gpointer           user_data)
{
  OwlUpgrade *upgrade = user_data;
  OwlSocketService *self = upgrade->service;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(OwlConnection) connection = NULL;
  OwlLimits limits;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;

  owl_limits_resolve (&self->limits, owl_module_get_limits (upgrade->module), &limits);
  stream = soup_server_message_steal_connection (msg);
  connection = owl_connection_new (self, upgrade->module, upgrade->request, stream,
                                   soup_server_message_get_uri (msg), &limits,
                                   upgrade->deflate ? &upgrade->deflate_params : NULL);

  /* The module may have gone, or a stop begun, while the 101 was written. */
  if (owl_module_get_service (upgrade->module) != self || self->stopping)
    {
      owl_connection_detach_service (connection);
      owl_connection_start (connection);
      owl_connection_close (connection, OWL_CLOSE_GOING_AWAY, "Going away");
      return;
    }

  /* The connection holds the upgrade's slots from here; closing gives them
   * back (owl_socket_service_connection_closed). */
  if (upgrade->holds_total)
    self->n_upgrading--;
  upgrade->holds_total = upgrade->holds_ip = FALSE;
  g_clear_pointer (&upgrade->holds_user, g_free);

  g_hash_table_insert (self->connections, (gpointer) owl_connection_get_id (connection),
                       g_object_ref (connection));
  owl_stats_count_accepted (self->stats);
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, owl_connection_get_id (connection),
                "Accepted on module %s", owl_module_get_alias (upgrade->module));

  owl_module_emit_connection (upgrade->module, connection);
  owl_connection_start (connection);
}

/* The descriptor limit, raised to its hard value by listen(): connections
 * beyond it could not even be accepted, so keep room for the rest of the
 * process. */
static guint
effective_max_connections (OwlSocketService *self)
{
  struct rlimit rl;
  guint max = self->max_connections;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 64)
    max = MIN (max, rl.rlim_cur - 32);
  return max;
}

static guint
count_in (GHashTable *table,
          const char *key)
{
  return key ? GPOINTER_TO_UINT (g_hash_table_lookup (table, key)) : 0;
}

static void
adjust_count (GHashTable *table,
              const char *key,
              gint        delta)
{
  guint n;

  if (key == NULL)
    return;
  n = count_in (table, key) + delta;
  if (n == 0)
    g_hash_table_remove (table, key);
  else
    g_hash_table_insert (table, g_strdup (key), GUINT_TO_POINTER (n));
}

/* No Origin (not a browser), the same origin, or one on the list. */
static gboolean
origin_allowed (OwlSocketService  *self,
                OwlModule         *module,
                SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  const char *host = soup_message_headers_get_one (headers, "Host");
  const char *const *allowed = (const char *const *) owl_module_get_allowed_origins (module);

  if (origin == NULL)
    return TRUE;

  if (host != NULL)
    {
      const char *scheme = g_uri_get_scheme (soup_server_message_get_uri (msg));
      g_autofree char *same = g_strdup_printf ("%s://%s", g_strcmp0 (scheme, "https") == 0 ? "https" : "http", host);

      if (g_ascii_strcasecmp (origin, same) == 0)
        return TRUE;
    }

  if (allowed == NULL)
    allowed = (const char *const *) self->allowed_origins;
  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
    if (g_str_equal (allowed[i], "*") || g_ascii_strcasecmp (allowed[i], origin) == 0)
      return TRUE;

  return FALSE;
}

static gboolean
is_upgrade_request (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return soup_message_headers_header_contains (headers, "Connection", "upgrade") &&
         soup_message_headers_header_equals (headers, "Upgrade", "websocket");
}

/* The decision is made: let libsoup go on with the message. */
static void
upgrade_complete (OwlUpgrade *upgrade)
{
  SoupServerMessage *msg = g_steal_pointer (&upgrade->msg);

  if (upgrade->timeout != NULL)
    {
      g_source_destroy (upgrade->timeout);
      g_clear_pointer (&upgrade->timeout, g_source_unref);
    }
  g_clear_signal_handler (&upgrade->disconnected_id, msg);
  g_clear_object (&upgrade->cancellable);
  if (upgrade->handle != NULL)
    {
      g_ptr_array_remove_fast (upgrade->service->waiting, upgrade);
      g_clear_pointer (&upgrade->handle, owl_fd_handle_unref);
    }
  if (upgrade->paused)
    soup_server_message_unpause (msg);
  g_object_unref (msg);
}

static void
upgrade_refuse (OwlUpgrade   *upgrade,
                const char   *reason,
                guint         status,
                const GError *error)
{
  OwlError code = error->domain == OWL_ERROR ? error->code : OWL_ERROR_INTERNAL;

  if (status == SOUP_STATUS_UNAUTHORIZED)
    soup_message_headers_replace (soup_server_message_get_response_headers (upgrade->msg),
                                  "WWW-Authenticate",
                                  owl_request_get_token (upgrade->request) != NULL
                                  ? "Bearer error=\"invalid_token\"" : "Bearer");
  reject (upgrade->service, upgrade->msg, reason, status, code,
          code == OWL_ERROR_INTERNAL ? "Internal error" : error->message);
  upgrade_release (upgrade);
  upgrade_complete (upgrade);
}

static void
upgrade_refuse_literal (OwlUpgrade *upgrade,
                        const char *reason,
                        guint       status,
                        OwlError    code,
                        const char *message)
{
  g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, code, message);

  upgrade_refuse (upgrade, reason, status, error);
}

static void
upgrade_accept (OwlUpgrade *upgrade)
{
  OwlSocketService *self = upgrade->service;
  SoupServerMessage *msg = upgrade->msg;
  const char *protocol = owl_request_choose_protocol (upgrade->request,
                                                      owl_module_get_protocols (upgrade->module));

  soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL);
  if (protocol != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Sec-WebSocket-Protocol", protocol);

  /* permessage-deflate is owlsock's (libsoup's own inflates without a cap),
   * so only on streams owlsock's frame layer takes over: plain ones, and
   * TLS on the service's own listener. */
  if (owl_module_get_deflate (upgrade->module) &&
      (self->listener != NULL ||
       g_strcmp0 (g_uri_get_scheme (soup_server_message_get_uri (msg)), "https") != 0))
    {
      g_autofree char *response = NULL;
      const char *offer = soup_message_headers_get_list (soup_server_message_get_request_headers (msg),
                                                         "Sec-WebSocket-Extensions");

      if (offer != NULL &&
          owl_deflate_negotiate (offer, OWL_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER,
                                 OWL_DEFLATE_SERVER_MAX_WINDOW_BITS,
                                 &upgrade->deflate_params, &response))
        {
          upgrade->deflate = TRUE;
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Sec-WebSocket-Extensions", response);
        }
    }
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (on_wrote_informational),
                         upgrade_ref (upgrade), upgrade_closure_free, 0);
  upgrade_complete (upgrade);
}

/* The query or the params, as an object of strings, against @schema; a
 * failure is answered with 400. */
static gboolean
check_strings (OwlUpgrade *upgrade,
               const char *what,
               OwlSchema  *schema,
               GHashTable *strings)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  GHashTableIter iter;
  gpointer key, value;

  object = json_object_new ();
  g_hash_table_iter_init (&iter, strings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    json_object_set_string_member (object, key, value);
  node = json_node_init_object (json_node_alloc (), object);

  if (owl_schema_validate (schema, node, &error))
    return TRUE;

  message = g_strdup_printf ("The %s does not match the schema: %s", what, error->message);
  upgrade_refuse_literal (upgrade, "schema", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_VALIDATION, message);
  return FALSE;
}

/* Step 4 of DESIGN.md, after the guard: the query and params schemas. */
static void
upgrade_check_schemas (OwlUpgrade *upgrade)
{
  OwlSocketService *self = upgrade->service;
  OwlSchema *query_schema = owl_module_get_query_schema (upgrade->module);
  OwlSchema *params_schema = owl_module_get_params_schema (upgrade->module);

  /* A stop or a removal may have begun while a guard or gate thought. */
  if (self->stopping)
    {
      upgrade_refuse_literal (upgrade, "stopping", SOUP_STATUS_SERVICE_UNAVAILABLE,
                              OWL_ERROR_UNAVAILABLE, "The service is shutting down");
      return;
    }
  if (owl_module_get_service (upgrade->module) != self)
    {
      upgrade_refuse_literal (upgrade, "not-found", SOUP_STATUS_NOT_FOUND,
                              OWL_ERROR_NOT_FOUND, "No endpoint at this path");
      return;
    }

  /* Only with a schema: the request builds these tables on first use and
   * keeps them for the connection's life. */
  if ((query_schema != NULL &&
       !check_strings (upgrade, "query", query_schema, owl_request_get_query (upgrade->request))) ||
      (params_schema != NULL &&
       !check_strings (upgrade, "params", params_schema, owl_request_get_params (upgrade->request))))
    return;

  upgrade_accept (upgrade);
}

static void run_gate (OwlUpgrade *upgrade);

static guint
status_for_error (const GError *error,
                  guint         fallback)
{
  if (error->domain != OWL_ERROR)
    return fallback;
  switch (error->code)
    {
    case OWL_ERROR_FORBIDDEN:
      return SOUP_STATUS_FORBIDDEN;
    case OWL_ERROR_RATE_LIMITED:
      return 429;
    case OWL_ERROR_UNAVAILABLE:
    case OWL_ERROR_TIMEOUT:
      return SOUP_STATUS_SERVICE_UNAVAILABLE;
    case OWL_ERROR_INTERNAL:
      return SOUP_STATUS_INTERNAL_SERVER_ERROR;
    default:
      return fallback;
    }
}

static void
on_gate_done (OwlAttempt   *attempt,
              OwlAuth      *auth,
              const GError *error,
              gpointer      user_data)
{
  OwlUpgrade *upgrade = user_data;

  if (upgrade->msg == NULL)
    ;  /* gone, or timed out */
  else if (error != NULL)
    upgrade_refuse (upgrade, "gate", status_for_error (error, SOUP_STATUS_FORBIDDEN), error);
  else
    {
      upgrade->next_gate++;
      run_gate (upgrade);
    }
  upgrade_unref (upgrade);
}

static void
run_gate (OwlUpgrade *upgrade)
{
  const char *const *gates = owl_module_get_gates (upgrade->module);
  g_autoptr(OwlAttempt) attempt = NULL;
  OwlGate *gate;

  if (gates == NULL || gates[upgrade->next_gate] == NULL)
    {
      upgrade_check_schemas (upgrade);
      return;
    }

  gate = g_hash_table_lookup (upgrade->service->gates, gates[upgrade->next_gate]);
  attempt = owl_attempt_new (upgrade->request, owl_request_get_auth (upgrade->request), TRUE,
                             upgrade->cancellable, on_gate_done, upgrade_ref (upgrade));
  OWL_GATE_GET_CLASS (gate)->authorize (gate, attempt);
}

static void
on_guard_done (OwlAttempt   *attempt,
               OwlAuth      *auth,
               const GError *error,
               gpointer      user_data)
{
  OwlUpgrade *upgrade = user_data;
  OwlSocketService *self = upgrade->service;

  if (upgrade->msg == NULL)
    ;  /* gone, or timed out */
  else if (error != NULL)
    upgrade_refuse (upgrade, "auth", status_for_error (error, SOUP_STATUS_UNAUTHORIZED), error);
  else if (count_in (self->per_user, owl_auth_get_user_id (auth)) >= (guint) self->max_connections_per_user)
    upgrade_refuse_literal (upgrade, "max-connections-per-user", 429, OWL_ERROR_RATE_LIMITED,
                            "Too many connections for this user");
  else
    {
      upgrade->holds_user = g_strdup (owl_auth_get_user_id (auth));
      adjust_count (self->per_user, upgrade->holds_user, +1);
      owl_request_set_auth (upgrade->request, auth);
      run_gate (upgrade);
    }
  upgrade_unref (upgrade);
}

/* Step 3 of DESIGN.md: the first guard that matches decides; for the
 * upgrade and for a token refresh alike. */
OwlGuard *
owl_socket_service_match_guard (OwlSocketService *self,
                                OwlModule        *module,
                                OwlRequest       *request)
{
  const char *const *guards = owl_module_get_guards (module);

  for (guint i = 0; guards != NULL && guards[i] != NULL; i++)
    {
      OwlGuard *guard = g_hash_table_lookup (self->guards, guards[i]);

      if (owl_guard_match (guard, request))
        return guard;
    }
  return NULL;
}

gint64
owl_socket_service_get_auth_expiry_notice (OwlSocketService *self)
{
  return self->auth_expiry_notice;
}

static void
run_guards (OwlUpgrade *upgrade)
{
  g_autoptr(OwlAttempt) attempt = NULL;
  OwlGuard *guard;

  if (owl_module_get_guards (upgrade->module) == NULL)
    {
      run_gate (upgrade);
      return;
    }

  guard = owl_socket_service_match_guard (upgrade->service, upgrade->module, upgrade->request);
  if (guard == NULL)
    {
      upgrade_refuse_literal (upgrade, "auth", SOUP_STATUS_UNAUTHORIZED, OWL_ERROR_AUTH_FAILED,
                              "Credentials required");
      return;
    }

  attempt = owl_attempt_new (upgrade->request, NULL, FALSE, upgrade->cancellable,
                             on_guard_done, upgrade_ref (upgrade));
  OWL_GUARD_GET_CLASS (guard)->authenticate (guard, attempt);
}

static void
on_upgrade_disconnected (SoupServerMessage *msg,
                         gpointer           user_data)
{
  OwlUpgrade *upgrade = upgrade_ref (user_data);
  g_autoptr(GCancellable) cancellable = g_object_ref (upgrade->cancellable);

  /* libsoup has let go of the message: nothing to answer or unpause. */
  g_clear_signal_handler (&upgrade->disconnected_id, msg);
  upgrade->paused = FALSE;
  upgrade_release (upgrade);
  upgrade_complete (upgrade);
  /* Last, and under our own reference: a guard or gate may answer from its
   * cancellable's "cancelled" handler, which drops the attempt's reference
   * to the upgrade; that answer must find the upgrade decided. */
  g_cancellable_cancel (cancellable);
  upgrade_unref (upgrade);
}

static gboolean
on_upgrade_timeout (gpointer user_data)
{
  OwlUpgrade *upgrade = upgrade_ref (user_data);
  g_autoptr(GCancellable) cancellable = g_object_ref (upgrade->cancellable);

  upgrade_refuse_literal (upgrade, "auth-timeout", SOUP_STATUS_SERVICE_UNAVAILABLE,
                          OWL_ERROR_TIMEOUT, "Authentication took too long");
  /* After the refusal, as in on_upgrade_disconnected(). */
  g_cancellable_cancel (cancellable);
  upgrade_unref (upgrade);
  return G_SOURCE_REMOVE;
}

/* The client hung up while a guard or gate thought (libsoup does not read a
 * paused request, so the service tick looks): give its slots back now. */
static void
upgrade_client_gone (OwlUpgrade *upgrade)
{
  g_autoptr(GCancellable) cancellable = g_object_ref (upgrade->cancellable);

  upgrade_ref (upgrade);
  upgrade_refuse_literal (upgrade, "client-gone", SOUP_STATUS_BAD_REQUEST,
                          OWL_ERROR_CLOSED, "The client went away");
  /* After the refusal, as in on_upgrade_disconnected(). */
  g_cancellable_cancel (cancellable);
  upgrade_unref (upgrade);
}

static void
check_waiting (OwlSocketService *self)
{
  for (guint i = 0; i < self->waiting->len;)
    {
      OwlUpgrade *upgrade = g_ptr_array_index (self->waiting, i);

      /* Deciding removes the upgrade from the array: look at the same
       * index again then. */
      if (owl_fd_handle_peer_gone (upgrade->handle))
        upgrade_client_gone (upgrade);
      else
        i++;
    }
}

/* Guards and gates that answer later: hold the message, and bound the wait
 * by the handshake timeout. */
static void
upgrade_wait (OwlUpgrade *upgrade)
{
  soup_server_message_pause (upgrade->msg);
  upgrade->paused = TRUE;
  if (upgrade->service->listener != NULL && soup_server_message_get_remote_address (upgrade->msg) != NULL)
    upgrade->handle = owl_listener_hold (upgrade->service->listener,
                                         soup_server_message_get_remote_address (upgrade->msg));
  if (upgrade->handle != NULL)
    g_ptr_array_add (upgrade->service->waiting, upgrade);
  upgrade->disconnected_id = g_signal_connect (upgrade->msg, "disconnected",
                                               G_CALLBACK (on_upgrade_disconnected), upgrade);
  upgrade->timeout = g_timeout_source_new_seconds (upgrade->service->listener_limits.handshake_timeout);
  g_source_set_callback (upgrade->timeout, on_upgrade_timeout, upgrade, NULL);
  g_source_set_static_name (upgrade->timeout, "[owlsock] authentication timeout");
  g_source_attach (upgrade->timeout, upgrade->service->context);
}

static OwlUpgrade *
upgrade_new (OwlSocketService  *self,
             OwlModule         *module,
             SoupServerMessage *msg,
             GHashTable        *params)
{
  OwlUpgrade *upgrade = g_new0 (OwlUpgrade, 1);

  upgrade->ref_count = 1;
  upgrade->service = g_object_ref (self);
  upgrade->module = g_object_ref (module);
  upgrade->request = owl_request_new (msg, params);
  upgrade->msg = g_object_ref (msg);
  /* Only guards and gates wait on it; most upgrades need none. */
  if (owl_module_get_guards (module) != NULL)
    upgrade->cancellable = g_cancellable_new ();

  self->n_upgrading++;
  upgrade->holds_total = TRUE;
  adjust_count (self->per_ip, owl_request_get_remote_host (upgrade->request), +1);
  upgrade->holds_ip = TRUE;
  return upgrade;
}

static void
server_callback (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  OwlSocketService *self = user_data;
  g_autoptr(GHashTable) params = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bad_param = NULL;
  OwlModule *module = NULL;
  OwlUpgrade *upgrade;

  switch (owl_router_lookup (self->router, g_uri_get_path (soup_server_message_get_uri (msg)),
                             (gpointer *) &module, &params, &bad_param))
    {
    case OWL_ROUTER_NOT_FOUND:
      reject (self, msg, "not-found", SOUP_STATUS_NOT_FOUND, OWL_ERROR_NOT_FOUND, "No endpoint at this path");
      return;
    case OWL_ROUTER_BAD_PARAM:
      error = owl_request_new_param_error (bad_param);
      reject (self, msg, "not-text", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_MALFORMED, error->message);
      return;
    case OWL_ROUTER_FOUND:
    default:
      break;
    }

  if (self->stopping)
    {
      reject (self, msg, "stopping", SOUP_STATUS_SERVICE_UNAVAILABLE, OWL_ERROR_UNAVAILABLE, "The service is shutting down");
      return;
    }

  if (g_hash_table_size (self->connections) + self->n_upgrading >= effective_max_connections (self))
    {
      reject (self, msg, "max-connections", SOUP_STATUS_SERVICE_UNAVAILABLE, OWL_ERROR_UNAVAILABLE, "Too many connections");
      return;
    }

  if (count_in (self->per_ip, soup_server_message_get_remote_host (msg)) >= (guint) self->max_connections_per_ip)
    {
      reject (self, msg, "max-connections-per-ip", 429 /* Too Many Requests */, OWL_ERROR_RATE_LIMITED,
                    "Too many connections from this address");
      return;
    }

  if (!origin_allowed (self, module, msg))
    {
      reject (self, msg, "origin", SOUP_STATUS_FORBIDDEN, OWL_ERROR_FORBIDDEN, "Origin not allowed");
      return;
    }

  if (!is_upgrade_request (msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Upgrade", "websocket");
      reject (self, msg, "not-websocket", 426 /* Upgrade Required */, OWL_ERROR_UNSUPPORTED, "This is a WebSocket endpoint");
      return;
    }

  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      reject (self, msg, "bad-handshake", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_MALFORMED, "Bad WebSocket handshake");
      return;
    }

  upgrade = upgrade_new (self, module, msg, g_steal_pointer (&params));
  if (!owl_request_check_text (upgrade->request, &error))
    {
      upgrade_refuse (upgrade, "not-text", SOUP_STATUS_BAD_REQUEST, error);
      upgrade_unref (upgrade);
      return;
    }
  run_guards (upgrade);
  if (upgrade->msg != NULL)
    upgrade_wait (upgrade);
  upgrade_unref (upgrade);
}

/* Listening ----------------------------------------------------------------- */

static GInetAddress *
resolve_host (const char  *host,
              GError     **error)
{
  GInetAddress *address;
  GList *addresses;

  if (host == NULL || host[0] == '\0')
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);

  address = g_inet_address_new_from_string (host);
  if (address != NULL)
    return address;

  addresses = g_resolver_lookup_by_name (g_resolver_get_default (), host, NULL, error);
  if (addresses == NULL)
    return NULL;

  address = g_object_ref (addresses->data);
  g_resolver_free_addresses (addresses);
  return address;
}

/* A server holds a descriptor per connection: the soft limit (often 1024)
 * is raised to the hard one, as servers commonly do. */
static void
raise_descriptor_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/**
 * owl_socket_service_listen:
 * @self: a service
 * @host: (nullable): the address to listen on, such as `"127.0.0.1"`; %NULL
 *   for every IPv4 address
 * @port: the port; 0 for any free port (read it back with
 *   [method@Owlsock.SocketService.get_port])
 * @error: return location for an error
 *
 * Creates a `SoupServer` owned by the service and listens on @host and
 * @port, with the system's largest accept backlog.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_listen (OwlSocketService  *self,
                           const char        *host,
                           guint16            port,
                           GError           **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(SoupServer) server = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->server != NULL)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS, "The service already has a server");
      return FALSE;
    }

  raise_descriptor_limit ();

  address = resolve_host (host, error);
  if (address == NULL)
    return FALSE;

  socket_address = g_inet_socket_address_new (address, port);
  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;

  /* GLib's default backlog of 10 drops bursts of connects. */
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  if (!g_socket_bind (socket, socket_address, TRUE, error) ||
      !g_socket_listen (socket, error))
    return FALSE;

  server = soup_server_new ("server-header", "owlsock ", NULL);
#ifdef HAVE_ACCEPT4
  self->listener = owl_listener_new (socket, server, self->poller, self->context,
                                     &self->listener_limits);
#else
  if (!soup_server_listen_socket (server, socket, 0, error))
    return FALSE;
#endif

  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return FALSE;

  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  use_server (self, server, TRUE);
  owl_metrics_attach (self->metrics, self->server);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  return TRUE;
}

/**
 * owl_socket_service_get_port:
 * @self: a service
 *
 * Gets the port the service listens on.
 *
 * Returns: the port the service listens on, or 0
 *
 * Since: 0.1
 */
guint16
owl_socket_service_get_port (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), 0);

  return self->port;
}

/**
 * owl_socket_service_attach:
 * @self: a service
 * @server: a server the application runs
 * @error: return location for an error
 *
 * Serves the service's modules inside @server, the seed's `update(api)`.
 * For each module, the service handles the path made of the pattern's
 * literal segments before its first param (`/ws/chat` for
 * `/ws/chat/:room`); the application's handlers keep every other path.
 *
 * Returns: %TRUE on success; %FALSE with %OWL_ERROR_EXISTS if the service
 *   already has a server
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_attach (OwlSocketService  *self,
                           SoupServer        *server,
                           GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (SOUP_IS_SERVER (server), FALSE);

  if (self->server != NULL)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS, "The service already has a server");
      return FALSE;
    }

  use_server (self, server, FALSE);
  return TRUE;
}

/**
 * owl_socket_service_get_server:
 * @self: a service
 *
 * Gets the `SoupServer` the service serves in, its own or the application's.
 *
 * Returns: (transfer none) (nullable): the server the service runs in
 *
 * Since: 0.1
 */
SoupServer *
owl_socket_service_get_server (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  return self->server;
}

/* Modules ------------------------------------------------------------------ */

static gboolean
add_alias (GHashTable  *table,
           const char  *kind,
           const char  *alias,
           gpointer     object,
           GError     **error)
{
  if (g_hash_table_contains (table, alias))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS, "A %s with alias '%s' exists", kind, alias);
      return FALSE;
    }
  g_hash_table_insert (table, g_strdup (alias), g_object_ref (object));
  return TRUE;
}

static gboolean
check_alias_list (GHashTable          *table,
                  const char          *kind,
                  OwlModule           *module,
                  const char * const  *aliases,
                  GError             **error)
{
  for (guint i = 0; aliases != NULL && aliases[i] != NULL; i++)
    if (!g_hash_table_contains (table, aliases[i]))
      {
        g_set_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND,
                     "Module '%s' names %s '%s', which the service does not have",
                     owl_module_get_alias (module), kind, aliases[i]);
        return FALSE;
      }
  return TRUE;
}

/* Unknown aliases fail here, where the mistake is made, not at the first
 * request. */
static gboolean
check_aliases (OwlSocketService  *self,
               OwlModule         *module,
               GError           **error)
{
  const char * const *guards = owl_module_get_guards (module);
  const char * const *gates = owl_module_get_gates (module);

  if (!check_alias_list (self->guards, "guard", module, guards, error) ||
      !check_alias_list (self->gates, "gate", module, gates, error))
    return FALSE;

  if (gates != NULL && gates[0] != NULL && (guards == NULL || guards[0] == NULL))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Module '%s' has gates but no guard to authenticate for them",
                   owl_module_get_alias (module));
      return FALSE;
    }
  return TRUE;
}

/**
 * owl_socket_service_add_module:
 * @self: a service
 * @module: a module
 * @error: return location for an error
 *
 * Adds @module. Fails with %OWL_ERROR_INVALID_ARGUMENT for a bad path
 * pattern, and with %OWL_ERROR_EXISTS if the service has a module with the
 * same alias or a pattern that matches the same paths, or @module belongs to
 * a service already.
 *
 * Returns: %TRUE if the module was added
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_module (OwlSocketService  *self,
                               OwlModule         *module,
                               GError           **error)
{
  OwlModule *other = NULL;
  OwlRoute *route;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (OWL_IS_MODULE (module), FALSE);

  route = owl_module_get_route (module);
  if (route == NULL)
    {
      if (error != NULL)
        *error = g_error_copy (owl_module_get_route_error (module));
      return FALSE;
    }

  if (owl_module_get_service (module) != NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "Module '%s' already belongs to a service", owl_module_get_alias (module));
      return FALSE;
    }

  if (g_hash_table_contains (self->modules, owl_module_get_alias (module)))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "A module with alias '%s' exists", owl_module_get_alias (module));
      return FALSE;
    }

  if (!check_aliases (self, module, error))
    return FALSE;

  if (!owl_router_add (self->router, route, module, (gpointer *) &other))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "Module '%s' already serves '%s'",
                   owl_module_get_alias (other), owl_module_get_path (module));
      return FALSE;
    }

  g_hash_table_insert (self->modules, (gpointer) owl_module_get_alias (module), g_object_ref (module));
  owl_module_set_service (module, self);
  register_prefix (self, owl_route_get_prefix (route));

  return TRUE;
}

/**
 * owl_socket_service_add_guard:
 * @self: a service
 * @alias: the name modules use for the guard in [property@Owlsock.Module:guards]
 * @guard: a guard
 * @error: return location for an error
 *
 * Registers @guard under @alias. Add guards before the modules that name
 * them.
 *
 * Returns: %TRUE if the guard was added, %FALSE if @alias is taken
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_guard (OwlSocketService  *self,
                              const char        *alias,
                              OwlGuard          *guard,
                              GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);
  g_return_val_if_fail (OWL_IS_GUARD (guard), FALSE);

  return add_alias (self->guards, "guard", alias, guard, error);
}

/**
 * owl_socket_service_add_gate:
 * @self: a service
 * @alias: the name modules use for the gate in [property@Owlsock.Module:gates]
 * @gate: a gate
 * @error: return location for an error
 *
 * Registers @gate under @alias. Add gates before the modules that name them.
 *
 * Returns: %TRUE if the gate was added, %FALSE if @alias is taken
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_gate (OwlSocketService  *self,
                             const char        *alias,
                             OwlGate           *gate,
                             GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);
  g_return_val_if_fail (OWL_IS_GATE (gate), FALSE);

  return add_alias (self->gates, "gate", alias, gate, error);
}

/**
 * owl_socket_service_lookup_guard:
 * @self: a service
 * @alias: a guard alias
 *
 * Finds a guard of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the guard with @alias
 *
 * Since: 0.1
 */
OwlGuard *
owl_socket_service_lookup_guard (OwlSocketService *self,
                                 const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return g_hash_table_lookup (self->guards, alias);
}

/**
 * owl_socket_service_lookup_gate:
 * @self: a service
 * @alias: a gate alias
 *
 * Finds a gate of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the gate with @alias
 *
 * Since: 0.1
 */
OwlGate *
owl_socket_service_lookup_gate (OwlSocketService *self,
                                const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return g_hash_table_lookup (self->gates, alias);
}

/**
 * owl_socket_service_remove_module:
 * @self: a service
 * @module: a module of the service
 *
 * Removes @module; its connections are closed with 1001.
 *
 * Returns: %TRUE if @module was a module of the service
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_remove_module (OwlSocketService *self,
                                  OwlModule        *module)
{
  g_autoptr(OwlModule) hold = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (OWL_IS_MODULE (module), FALSE);

  if (owl_module_get_service (module) != self)
    return FALSE;

  hold = g_object_ref (module);
  owl_module_set_service (module, NULL);
  owl_router_remove (self->router, owl_module_get_route (module));
  g_hash_table_remove (self->modules, owl_module_get_alias (module));
  unregister_prefix (self, owl_route_get_prefix (owl_module_get_route (module)));

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (owl_connection_get_module (value) == module)
      owl_connection_close (value, OWL_CLOSE_GOING_AWAY, "Endpoint removed");

  return TRUE;
}

/**
 * owl_socket_service_lookup_module:
 * @self: a service
 * @alias: a module alias
 *
 * Finds a module of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the module with @alias
 *
 * Since: 0.1
 */
OwlModule *
owl_socket_service_lookup_module (OwlSocketService *self,
                                  const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return g_hash_table_lookup (self->modules, alias);
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
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_hash_table_lookup (self->connections, id);
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
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  return g_hash_table_get_values (self->connections);
}

static void
stop_complete (OwlSocketService *self)
{
  g_autoptr(GPtrArray) tasks = NULL;

  self->stopping = FALSE;

  release_server (self);

  tasks = g_steal_pointer (&self->stop_tasks);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);

  g_signal_emit (self, signals[STOPPED], 0);

  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

void
owl_socket_service_connection_closed (OwlSocketService *self,
                                      OwlConnection    *connection)
{
  GHashTable *rooms = owl_connection_get_room_set (connection);
  GHashTableIter iter;
  gpointer room;

  if (rooms != NULL)
    {
      g_hash_table_iter_init (&iter, rooms);
      while (g_hash_table_iter_next (&iter, &room, NULL))
        owl_socket_service_room_remove (self, room, connection);
      g_hash_table_remove_all (rooms);
    }

  owl_stats_count_closed (self->stats, owl_connection_get_close_code (connection),
                          owl_connection_get_dropped_messages (connection));

  owl_connection_detach_service (connection);
  {
    OwlRequest *request = owl_connection_get_request (connection);
    OwlAuth *auth = owl_request_get_auth (request);

    adjust_count (self->per_ip, owl_request_get_remote_host (request), -1);
    if (auth != NULL)
      adjust_count (self->per_user, owl_auth_get_user_id (auth), -1);
  }
  /* Drops the registry's reference; the caller holds its own. */
  g_hash_table_remove (self->connections, owl_connection_get_id (connection));
}

void
owl_socket_service_check_stopped (OwlSocketService *self)
{
  if (self->stopping && g_hash_table_size (self->connections) == 0)
    stop_complete (self);
}

/* Rooms -------------------------------------------------------------------- */

void
owl_socket_service_room_add (OwlSocketService *self,
                             const char       *room,
                             OwlConnection    *connection)
{
  GHashTable *members = g_hash_table_lookup (self->rooms, room);

  if (members == NULL)
    {
      members = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (self->rooms, g_strdup (room), members);
    }

  g_hash_table_add (members, connection);
}

void
owl_socket_service_room_remove (OwlSocketService *self,
                                const char       *room,
                                OwlConnection    *connection)
{
  GHashTable *members = g_hash_table_lookup (self->rooms, room);

  if (members == NULL)
    return;

  g_hash_table_remove (members, connection);
  if (g_hash_table_size (members) == 0)
    g_hash_table_remove (self->rooms, room);
}

typedef struct
{
  OwlSocketService *service;
  char             *room;
  GBytes           *bytes;
  OwlConnection    *except;
} OwlBroadcast;

static void
broadcast_free (gpointer data)
{
  OwlBroadcast *broadcast = data;

  g_object_unref (broadcast->service);
  g_free (broadcast->room);
  g_bytes_unref (broadcast->bytes);
  g_clear_object (&broadcast->except);
  g_free (broadcast);
}

/* The frame is built once and the same bytes go to every member. Members are
 * collected first, so a handler that closes a connection while we send
 * cannot change the set under us. */
static void
broadcast_bytes (OwlSocketService *self,
                 const char       *room,
                 GBytes           *bytes,
                 OwlConnection    *except)
{
  GHashTable *members = g_hash_table_lookup (self->rooms, room);
  g_autoptr(GPtrArray) targets = NULL;
  OwlSharedMessage message = { NULL, };
  GHashTableIter iter;
  gpointer member;

  if (members == NULL)
    return;

  targets = g_ptr_array_new_full (g_hash_table_size (members), g_object_unref);
  g_hash_table_iter_init (&iter, members);
  while (g_hash_table_iter_next (&iter, &member, NULL))
    if (member != except)
      g_ptr_array_add (targets, g_object_ref (member));

  message.payload = g_bytes_ref (bytes);
  for (guint i = 0; i < targets->len; i++)
    owl_connection_send_shared (g_ptr_array_index (targets, i), &message);
  owl_shared_message_clear (&message);
}

static void
broadcast_run (gpointer data)
{
  OwlBroadcast *broadcast = data;

  broadcast_bytes (broadcast->service, broadcast->room, broadcast->bytes, broadcast->except);
}

static void
broadcast_take (OwlSocketService *self,
                const char       *room,
                char             *data,
                gsize             len,
                OwlConnection    *except)
{
  OwlBroadcast *broadcast;

  if (g_main_context_is_owner (self->context))
    {
      g_autoptr(GBytes) bytes = g_bytes_new_take (data, len);

      broadcast_bytes (self, room, bytes, except);
      return;
    }

  broadcast = g_new0 (OwlBroadcast, 1);
  broadcast->service = g_object_ref (self);
  broadcast->room = g_strdup (room);
  broadcast->bytes = g_bytes_new_take (data, len);
  broadcast->except = except ? g_object_ref (except) : NULL;
  owl_mailbox_post (self->mailbox, broadcast);
}

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
  broadcast_take (self, room, data, len, except);
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

  broadcast_take (self, room, g_strdup (text), strlen (text), except);
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
  GHashTable *members;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (room != NULL, NULL);

  members = g_hash_table_lookup (self->rooms, room);
  return members ? g_hash_table_get_keys (members) : NULL;
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
  g_autofree gpointer *keys = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  keys = g_hash_table_get_keys_as_array (self->rooms, NULL);
  return g_strdupv ((char **) keys);
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
  g_autoptr(GList) connections = NULL;

  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));

  if (self->stopping)
    return;
  self->stopping = TRUE;

  connections = g_hash_table_get_values (self->connections);
  for (GList *l = connections; l != NULL; l = l->next)
    {
      /* Clients learn why before the close (and may reconnect elsewhere). */
      owl_connection_send_text (l->data,
                                "{\"type\":\"system\",\"event\":\"shutdown\","
                                "\"payload\":{\"reason\":\"Server shutting down\"}}", NULL);
      owl_connection_close (l->data, OWL_CLOSE_GOING_AWAY, "Server shutting down");
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

/* Statistics ----------------------------------------------------------------- */

void
owl_socket_service_count (OwlSocketService *self,
                          gboolean          incoming,
                          gsize             len)
{
  owl_stats_count_message (self->stats, incoming, len);
}

static void
live_stats (OwlSocketService *self,
            OwlStatsLive     *live)
{
  GHashTableIter iter;
  gpointer value;

  live->connections_open = g_hash_table_size (self->connections);
  live->dropped_open = 0;
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    live->dropped_open += owl_connection_get_dropped_messages (value);
}

/**
 * owl_socket_service_dup_stats:
 * @self: a service
 *
 * Takes a snapshot of the service's statistics since it was created, as a
 * `a{sv}` dictionary: `connections-open` (u), `connections-accepted`,
 * `messages-in`, `messages-out`, `bytes-in`, `bytes-out` and
 * `dropped-messages` (all t), `rejected` (a{st}: refused upgrades by
 * reason: `not-found`, `not-websocket`, `bad-handshake`, `not-text`,
 * `stopping`, `max-connections`, `max-connections-per-ip`, `origin`,
 * `auth`, `auth-timeout`, `max-connections-per-user`, `gate`, `schema`,
 * `client-gone`) and `closes` (a{st}: closed connections by close code:
 * `1000` to `1015`, `4001` and `4408` by number; the codes clients choose
 * in buckets `3xxx`, `4xxx` and `other`, so a client cannot make the
 * table grow). Messages count every frame of data, the protocol's own
 * included.
 *
 * Returns: (transfer full): the statistics
 *
 * Since: 0.1
 */
GVariant *
owl_socket_service_dup_stats (OwlSocketService *self)
{
  OwlStatsLive live;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  live_stats (self, &live);
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
  OwlStatsLive live;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  live_stats (self, &live);
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
  address = resolve_host (host, error);
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
