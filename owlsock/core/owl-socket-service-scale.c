/* owl-socket-service-scale.c: the properties of scaling out
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The broker the rooms use (in process, or Redis for rooms across
 * processes) and SO_REUSEPORT for processes that share a port. The broker
 * properties are only read when the service starts serving (listen*(),
 * attach()): the broker is built then, and replaced only while no room has
 * a member.
 */

#include "config.h"

#include <unistd.h>

#include "owl-socket-service-private.h"

#define DEFAULT_PREFIX "owlsock"
#define DEFAULT_HEARTBEAT 5

void
owl_socket_service_scale_class_init (GParamSpec **properties)
{
  /**
   * OwlSocketService:broker:
   *
   * Where rooms meet their members in other processes: %NULL, `""` or
   * `"local"` (the default) for none, every room lives in this process;
   * `redis://HOST:PORT` or `redis+unix:///PATH/TO/SOCKET` for a Redis
   * server that several processes share, so a broadcast reaches the
   * members of a room on every one of them (see the README's "Scaling
   * out"). A Redis database other than 0 (`/DB`), credentials and any
   * other scheme are refused, as is Redis when owlsock was built without
   * it.
   *
   * Read when the service starts serving: the next
   * [method@Owlsock.SocketService.listen],
   * [method@Owlsock.SocketService.listen_socket] or
   * [method@Owlsock.SocketService.attach] builds the broker, and fails
   * with %OWL_ERROR_UNSUPPORTED and a message naming the URL when it
   * cannot, or with %OWL_ERROR_EXISTS when the broker changed while rooms
   * have members.
   *
   * Since: 0.1
   */
  properties[OWL_SCALE_BROKER] =
    g_param_spec_string ("broker", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:broker-prefix:
   *
   * The prefix of every Redis key and channel the broker uses, so several
   * applications can share one Redis: processes that serve the same rooms
   * use the same prefix. %NULL or `""` restore the default, `owlsock`.
   * Applies as [property@Owlsock.SocketService:broker] does.
   *
   * Since: 0.1
   */
  properties[OWL_SCALE_BROKER_PREFIX] =
    g_param_spec_string ("broker-prefix", NULL, NULL, DEFAULT_PREFIX,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:broker-heartbeat:
   *
   * Seconds between two probes of the broker's connection and two
   * refreshes of this process's presence entries; the entries of a
   * process that stopped refreshing them expire after two heartbeats.
   * Applies as [property@Owlsock.SocketService:broker] does.
   *
   * Since: 0.1
   */
  properties[OWL_SCALE_BROKER_HEARTBEAT] =
    g_param_spec_uint ("broker-heartbeat", NULL, NULL, 1, 3600, DEFAULT_HEARTBEAT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:node-name:
   *
   * This process's name among those sharing the broker: the `node` of its
   * connections' presence entries. By default the host's name and the
   * process id, `HOSTNAME-PID`; %NULL or `""` restore it. Names must
   * differ between processes. Applies as
   * [property@Owlsock.SocketService:broker] does.
   *
   * Since: 0.1
   */
  properties[OWL_SCALE_NODE_NAME] =
    g_param_spec_string ("node-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlSocketService:reuse-port:
   *
   * Whether the sockets of [method@Owlsock.SocketService.listen] are
   * bound with `SO_REUSEPORT`, so several processes (each with it set)
   * listen on the same address and port and the kernel spreads the
   * connections between them. Off by default: then a second process
   * fails to listen with %G_IO_ERROR_ADDRESS_IN_USE. It applies to the
   * sockets made after it is set, not to those of
   * [method@Owlsock.SocketService.listen_socket], which are bound already.
   *
   * Since: 0.1
   */
  properties[OWL_SCALE_REUSE_PORT] =
    g_param_spec_boolean ("reuse-port", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static char *
default_node (void)
{
  return g_strdup_printf ("%s-%d", g_get_host_name (), (int) getpid ());
}

void
owl_socket_service_init_broker (OwlSocketService *self)
{
  OwlBrokerSettings *s = &self->broker_settings;

  s->prefix = g_strdup (DEFAULT_PREFIX);
  s->heartbeat = DEFAULT_HEARTBEAT;
  s->node = default_node ();
  self->broker = owl_broker_new_for_service (NULL, s->prefix, s->heartbeat, s->node, self->context, NULL);
  owl_rooms_set_broker (self->rooms, self->broker);
}

void
owl_socket_service_fini_broker (OwlSocketService *self)
{
  OwlBrokerSettings *s = &self->broker_settings;

  g_clear_pointer (&s->url, g_free);
  g_clear_pointer (&s->prefix, g_free);
  g_clear_pointer (&s->node, g_free);
  self->broker = NULL;
}

void
owl_socket_service_scale_get (OwlSocketService *self,
                              OwlScaleProperty  which,
                              GValue           *value)
{
  OwlBrokerSettings *s = &self->broker_settings;

  switch (which)
    {
    case OWL_SCALE_BROKER:
      g_value_set_string (value, s->url);
      break;
    case OWL_SCALE_BROKER_PREFIX:
      g_value_set_string (value, s->prefix);
      break;
    case OWL_SCALE_BROKER_HEARTBEAT:
      g_value_set_uint (value, s->heartbeat);
      break;
    case OWL_SCALE_NODE_NAME:
      g_value_set_string (value, s->node);
      break;
    case OWL_SCALE_REUSE_PORT:
      g_value_set_boolean (value, self->reuse_port);
      break;
    case OWL_SCALE_N_PROPERTIES:
    default:
      g_assert_not_reached ();
    }
}

/* Replaces *@field with @text (or @fallback when it is NULL or empty);
 * TRUE if that changed it. */
static gboolean
set_text (char       **field,
          const char  *text,
          const char  *fallback)
{
  if (text == NULL || text[0] == '\0')
    text = fallback;
  if (g_strcmp0 (*field, text) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (text);
  return TRUE;
}

void
owl_socket_service_scale_set (OwlSocketService *self,
                              OwlScaleProperty  which,
                              const GValue     *value,
                              GParamSpec       *pspec)
{
  OwlBrokerSettings *s = &self->broker_settings;
  g_autofree char *node = NULL;
  gboolean changed = FALSE;

  switch (which)
    {
    case OWL_SCALE_BROKER:
      changed = set_text (&s->url, g_value_get_string (value), NULL);
      break;
    case OWL_SCALE_BROKER_PREFIX:
      changed = set_text (&s->prefix, g_value_get_string (value), DEFAULT_PREFIX);
      break;
    case OWL_SCALE_BROKER_HEARTBEAT:
      changed = s->heartbeat != g_value_get_uint (value);
      s->heartbeat = g_value_get_uint (value);
      break;
    case OWL_SCALE_NODE_NAME:
      node = default_node ();
      changed = set_text (&s->node, g_value_get_string (value), node);
      break;
    case OWL_SCALE_REUSE_PORT:
      if (self->reuse_port != g_value_get_boolean (value))
        {
          self->reuse_port = g_value_get_boolean (value);
          g_object_notify_by_pspec (G_OBJECT (self), pspec);
        }
      return;
    case OWL_SCALE_N_PROPERTIES:
    default:
      g_assert_not_reached ();
    }
  if (changed)
    {
      s->changed = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), pspec);
    }
}

gboolean
owl_socket_service_apply_broker (OwlSocketService  *self,
                                 GError           **error)
{
  OwlBrokerSettings *s = &self->broker_settings;
  g_auto(GStrv) rooms = NULL;
  OwlBroker *broker;

  if (!s->changed)
    return TRUE;
  rooms = owl_rooms_dup_names (self->rooms);
  if (rooms[0] != NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "The broker settings changed while rooms have members (\"%s\"): "
                   "they apply once every room is empty", rooms[0]);
      return FALSE;
    }
  broker = owl_broker_new_for_service (s->url, s->prefix, s->heartbeat, s->node, self->context, error);
  if (broker == NULL)
    return FALSE;
  owl_rooms_set_broker (self->rooms, broker);
  self->broker = broker;
  s->changed = FALSE;
  return TRUE;
}

JsonNode *
owl_socket_service_dup_broker_stats (OwlSocketService *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  self->broker->klass->add_stats (self->broker, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
