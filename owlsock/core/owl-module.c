/* owl-module.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-connection-private.h"
#include "owl-envelope-private.h"
#include "owl-enums.h"
#include "owl-limits-private.h"
#include "owl-module-private.h"

/**
 * OwlModule:
 *
 * One WebSocket endpoint: a route alias and a path pattern, such as
 * `/ws/chat/:room`. Patterns match segment by segment: `:name` matches one
 * non-empty segment and makes it a param of the [class@Owlsock.Request];
 * there is no prefix matching, so `/ws/chat/:room` matches neither
 * `/ws/chat` nor `/ws/chat/a/b`.
 *
 * Each accepted connection is given to the handler set with
 * [method@Owlsock.Module.set_handler], then to
 * [signal@Owlsock.Module::connection].
 *
 * The admission properties (guards, gates, origins, subprotocols, schemas,
 * limits) may change after the module was added, on the service's main
 * context like everything else: a change applies from the next upgrade on.
 * Connections already open keep the message schemas, limits and
 * subprotocol they were admitted with; a token refresh runs the guards and
 * gates the module names at that time.
 *
 * Since: 0.1
 */
struct _OwlModule
{
  GObject               parent_instance;

  char                 *alias;
  char                 *path;
  OwlRoute             *route;
  GError               *route_error;
  OwlSocketService     *service;   /* not owned */
  OwlLimits             limits;    /* -1: as the service */
  gboolean              deflate;
  GStrv                 allowed_origins;  /* NULL: as the service */
  GStrv                 guards;           /* aliases on the service */
  GStrv                 gates;
  GStrv                 protocols;
  OwlSchema            *message_schema;
  OwlSchema            *query_schema;
  OwlSchema            *params_schema;
  GHashTable           *type_schemas;     /* NULL or not empty; replaced, never changed */
  gboolean              strict_types;
  OwlRoomOptions        room_options;     /* presence, history-size, history-ttl */
  OwlMessageSchemas    *frozen;           /* the three above, made on demand */

  OwlConnectionHandler  handler;
  gpointer              handler_data;
  GDestroyNotify        handler_destroy;
};

enum {
  PROP_0,
  PROP_ALIAS,
  PROP_PATH,
  PROP_DEFLATE,
  PROP_ALLOWED_ORIGINS,
  PROP_GUARDS,
  PROP_GATES,
  PROP_PROTOCOLS,
  PROP_MESSAGE_SCHEMA,
  PROP_QUERY_SCHEMA,
  PROP_PARAMS_SCHEMA,
  PROP_STRICT_TYPES,
  PROP_PRESENCE,
  PROP_HISTORY_SIZE,
  PROP_HISTORY_TTL,
  N_PROPS,
  /* Then the per-module limits, from owl-limits.c's table. */
  PROP_FIRST_LIMIT = N_PROPS
};

enum {
  CONNECTION,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OwlModule, owl_module, G_TYPE_OBJECT)

static void
owl_module_clear_handler (OwlModule *self)
{
  if (self->handler_destroy != NULL)
    self->handler_destroy (self->handler_data);

  self->handler = NULL;
  self->handler_data = NULL;
  self->handler_destroy = NULL;
}

static void
owl_module_dispose (GObject *object)
{
  owl_module_clear_handler (OWL_MODULE (object));

  G_OBJECT_CLASS (owl_module_parent_class)->dispose (object);
}

static void
owl_module_finalize (GObject *object)
{
  OwlModule *self = OWL_MODULE (object);

  g_clear_pointer (&self->alias, g_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->route, owl_route_free);
  g_clear_error (&self->route_error);
  g_clear_pointer (&self->allowed_origins, g_strfreev);
  g_clear_pointer (&self->guards, g_strfreev);
  g_clear_pointer (&self->gates, g_strfreev);
  g_clear_pointer (&self->protocols, g_strfreev);
  g_clear_object (&self->message_schema);
  g_clear_object (&self->query_schema);
  g_clear_object (&self->params_schema);
  g_clear_pointer (&self->type_schemas, g_hash_table_unref);
  g_clear_pointer (&self->frozen, owl_message_schemas_unref);

  G_OBJECT_CLASS (owl_module_parent_class)->finalize (object);
}

static void
owl_module_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  OwlModule *self = OWL_MODULE (object);

  switch (prop_id)
    {
    case PROP_ALIAS:
      g_value_set_string (value, self->alias);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_DEFLATE:
      g_value_set_boolean (value, self->deflate);
      break;
    case PROP_ALLOWED_ORIGINS:
      g_value_set_boxed (value, self->allowed_origins);
      break;
    case PROP_GUARDS:
      g_value_set_boxed (value, self->guards);
      break;
    case PROP_GATES:
      g_value_set_boxed (value, self->gates);
      break;
    case PROP_PROTOCOLS:
      g_value_set_boxed (value, self->protocols);
      break;
    case PROP_MESSAGE_SCHEMA:
      g_value_set_object (value, self->message_schema);
      break;
    case PROP_QUERY_SCHEMA:
      g_value_set_object (value, self->query_schema);
      break;
    case PROP_PARAMS_SCHEMA:
      g_value_set_object (value, self->params_schema);
      break;
    case PROP_STRICT_TYPES:
      g_value_set_boolean (value, self->strict_types);
      break;
    case PROP_PRESENCE:
      g_value_set_boolean (value, self->room_options.presence);
      break;
    case PROP_HISTORY_SIZE:
      g_value_set_uint (value, self->room_options.history_size);
      break;
    case PROP_HISTORY_TTL:
      g_value_set_uint (value, self->room_options.history_ttl);
      break;
    default:
      if (!owl_limits_get_property (&self->limits, PROP_FIRST_LIMIT, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_strv (GStrv        *field,
          GObject      *object,
          GParamSpec   *pspec,
          const GValue *value)
{
  const char * const *strv = g_value_get_boxed (value);

  if (*field == NULL && strv == NULL)
    return;
  if (*field != NULL && strv != NULL && g_strv_equal ((const char * const *) *field, strv))
    return;
  g_strfreev (*field);
  *field = g_strdupv ((char **) strv);
  g_object_notify_by_pspec (object, pspec);
}

static void
set_room_option (OwlModule    *self,
                 guint         prop_id,
                 const GValue *value,
                 GParamSpec   *pspec)
{
  OwlRoomOptions *options = &self->room_options;
  guint *field = prop_id == PROP_HISTORY_SIZE ? &options->history_size : &options->history_ttl;

  if (prop_id == PROP_PRESENCE)
    {
      if (options->presence == g_value_get_boolean (value))
        return;
      options->presence = g_value_get_boolean (value);
    }
  else if (*field != g_value_get_uint (value))
    *field = g_value_get_uint (value);
  else
    return;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
owl_module_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  OwlModule *self = OWL_MODULE (object);

  switch (prop_id)
    {
    case PROP_ALIAS:
      self->alias = g_value_dup_string (value);
      break;
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_DEFLATE:
      if (self->deflate != g_value_get_boolean (value))
        {
          self->deflate = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_ALLOWED_ORIGINS:
      g_strfreev (self->allowed_origins);
      self->allowed_origins = g_value_dup_boxed (value);
      break;
    case PROP_GUARDS:
      set_strv (&self->guards, object, pspec, value);
      break;
    case PROP_GATES:
      set_strv (&self->gates, object, pspec, value);
      break;
    case PROP_PROTOCOLS:
      set_strv (&self->protocols, object, pspec, value);
      break;
    case PROP_MESSAGE_SCHEMA:
    case PROP_QUERY_SCHEMA:
    case PROP_PARAMS_SCHEMA:
      {
        OwlSchema **field = prop_id == PROP_MESSAGE_SCHEMA ? &self->message_schema
                          : prop_id == PROP_QUERY_SCHEMA ? &self->query_schema
                          : &self->params_schema;

        if (!g_set_object (field, g_value_get_object (value)))
          break;
        if (prop_id == PROP_MESSAGE_SCHEMA)
          g_clear_pointer (&self->frozen, owl_message_schemas_unref);
        g_object_notify_by_pspec (object, pspec);
      }
      break;
    case PROP_STRICT_TYPES:
      if (self->strict_types != g_value_get_boolean (value))
        {
          self->strict_types = g_value_get_boolean (value);
          g_clear_pointer (&self->frozen, owl_message_schemas_unref);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_PRESENCE:
    case PROP_HISTORY_SIZE:
    case PROP_HISTORY_TTL:
      set_room_option (self, prop_id, value, pspec);
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
owl_module_constructed (GObject *object)
{
  OwlModule *self = OWL_MODULE (object);

  G_OBJECT_CLASS (owl_module_parent_class)->constructed (object);

  /* A bad pattern is reported when the module is added, where a GError can
   * reach the caller. */
  self->route = owl_route_parse (self->path, &self->route_error);
}

static void
owl_module_class_init (OwlModuleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owl_module_dispose;
  object_class->finalize = owl_module_finalize;
  object_class->get_property = owl_module_get_property;
  object_class->set_property = owl_module_set_property;
  object_class->constructed = owl_module_constructed;

  /**
   * OwlModule:alias:
   *
   * The route alias, unique on a service (`"chat"`).
   *
   * Since: 0.1
   */
  properties[PROP_ALIAS] =
    g_param_spec_string ("alias", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlModule:path:
   *
   * The path pattern (`"/ws/chat/:room"`), unique on a service.
   *
   * Since: 0.1
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * OwlModule:deflate:
   *
   * Whether connections may negotiate permessage-deflate (RFC 7692). Off by
   * default: compression costs CPU and memory per connection (see the
   * README) and exposes secrets mixed with attacker data to length
   * side channels.
   *
   * Since: 0.1
   */
  properties[PROP_DEFLATE] =
    g_param_spec_boolean ("deflate", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:allowed-origins:
   *
   * Overrides [property@Owlsock.SocketService:allowed-origins] for this
   * module; %NULL keeps the service's list.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOWED_ORIGINS] =
    g_param_spec_boxed ("allowed-origins", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlModule:guards:
   *
   * Aliases of guards registered on the service
   * ([method@Owlsock.SocketService.add_guard]), in the order they are asked:
   * the first whose [vfunc@Owlsock.Guard.match] is true authenticates the
   * request. %NULL (the default) leaves the module open to anyone. An alias
   * the service does not have makes [method@Owlsock.SocketService.add_module]
   * fail. Set after the module was added, the list applies from the next
   * upgrade on; an alias the service does not have then matches nothing, so
   * a request only it would take is refused with 401, as after
   * [method@Owlsock.SocketService.remove_guard].
   *
   * Since: 0.1
   */
  properties[PROP_GUARDS] =
    g_param_spec_boxed ("guards", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:gates:
   *
   * Aliases of gates registered on the service
   * ([method@Owlsock.SocketService.add_gate]); every one must let an
   * authenticated request through. A module with gates needs guards:
   * [method@Owlsock.SocketService.add_module] fails without, and once the
   * module is added, gates without guards refuse every upgrade with 403. Set
   * after the module was added, the list applies from the next upgrade on;
   * an alias the service does not have refuses every upgrade with 403 (`The
   * gate 'x' is gone`), as after [method@Owlsock.SocketService.remove_gate].
   *
   * Since: 0.1
   */
  properties[PROP_GATES] =
    g_param_spec_boxed ("gates", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:protocols:
   *
   * The WebSocket subprotocols the module speaks. The handshake selects the
   * first entry of the client's `Sec-WebSocket-Protocol` list that is here;
   * when none is, no subprotocol is selected and the upgrade goes on. An
   * `owlsock.bearer.<token>` entry carries a token and is never selected.
   * The default is `owlsock`, which browsers offer beside the token entry.
   *
   * Since: 0.1
   */
  properties[PROP_PROTOCOLS] =
    g_param_spec_boxed ("protocols", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:message-schema:
   *
   * A JSON Schema for the application's own messages (any `type` the
   * protocol does not own), as `filter(body(schema))` in the TypeScript
   * package <code>&#64;owlmeans/server-socket</code>. A message
   * that fails it is answered with an `error` frame of code `validation`
   * whose `details` name the JSON pointer and the keyword; the handler never
   * sees it and the connection stays open.
   *
   * A message whose string `type` has a schema of its own
   * ([method@Owlsock.Module.set_type_schema]) must pass both, this one
   * first. A connection keeps the schemas it was admitted with.
   *
   * Since: 0.1
   */
  properties[PROP_MESSAGE_SCHEMA] =
    g_param_spec_object ("message-schema", NULL, NULL, OWL_TYPE_SCHEMA,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:query-schema:
   *
   * A JSON Schema for the upgrade request's query, seen as an object of
   * strings (`?room=a&limit=5` is `{"room": "a", "limit": "5"}`); a request
   * that fails it is answered with HTTP 400, after the guards and gates.
   *
   * Since: 0.1
   */
  properties[PROP_QUERY_SCHEMA] =
    g_param_spec_object ("query-schema", NULL, NULL, OWL_TYPE_SCHEMA,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:params-schema:
   *
   * A JSON Schema for the route params, seen as an object of strings
   * (`/ws/game/:id` at `/ws/game/42` is `{"id": "42"}`); a request that
   * fails it is answered with HTTP 400, after the guards and gates.
   *
   * Since: 0.1
   */
  properties[PROP_PARAMS_SCHEMA] =
    g_param_spec_object ("params-schema", NULL, NULL, OWL_TYPE_SCHEMA,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:strict-types:
   *
   * Whether only the message types that have a schema of their own
   * ([method@Owlsock.Module.set_type_schema]) are accepted. When %TRUE, an
   * application message without a `type` is refused with a `validation`
   * error whose `details` are `{pointer: "", keyword: "required"}`, and one
   * whose `type` is not a string or has no schema with `{pointer: "/type",
   * keyword: "enum"}`; the handler never sees it and the connection stays
   * open. %FALSE (the default) lets them through after
   * [property@Owlsock.Module:message-schema].
   *
   * Since: 0.1
   */
  properties[PROP_STRICT_TYPES] =
    g_param_spec_boolean ("strict-types", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:presence:
   *
   * Whether the rooms its connections join keep presence: who is there
   * (connection id, user id, node and the info set with
   * [method@Owlsock.Connection.set_presence_info]), answered by
   * [method@Owlsock.SocketService.presence_async], and `presence-join` and
   * `presence-leave` system events sent to the room's members when a
   * connection joins and when it leaves or closes. A room gets the options
   * of the modules of the connections that join it (the larger of each).
   *
   * Since: 0.1
   */
  properties[PROP_PRESENCE] =
    g_param_spec_boolean ("presence", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:history-size:
   *
   * How many broadcasts the rooms its connections join keep, 0 (the
   * default) for none. A broadcast in a room with history carries its
   * position as its first member, `"pos": {"room", "offset", "epoch"}`,
   * every join into it is answered with a `joined` system frame, and a
   * client that reconnects with the `recover` handshake parameter gets
   * what it missed.
   *
   * Since: 0.1
   */
  properties[PROP_HISTORY_SIZE] =
    g_param_spec_uint ("history-size", NULL, NULL, 0, 100000, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlModule:history-ttl:
   *
   * How many seconds the history of a room nobody is in outlives its last
   * broadcast; then it is dropped, and the room's next broadcast starts a
   * new epoch.
   *
   * Since: 0.1
   */
  properties[PROP_HISTORY_TTL] =
    g_param_spec_uint ("history-ttl", NULL, NULL, 1, G_MAXUINT, 300,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  /* Documented beside their rows in owl-limits.c. */
  owl_limits_install_properties (object_class, PROP_FIRST_LIMIT, TRUE);

  /**
   * OwlModule::connection:
   * @self: the module
   * @connection: the accepted connection
   *
   * A client connected. Messages that arrive while handlers run are
   * delivered after the last one returns, so a handler can connect to the
   * connection's signals without missing any.
   *
   * Since: 0.1
   */
  signals[CONNECTION] =
    g_signal_new ("connection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, OWL_TYPE_CONNECTION);
}

static void
owl_module_init (OwlModule *self)
{
  static const char *default_protocols[] = { "owlsock", NULL };

  owl_limits_init (&self->limits, TRUE);
  self->room_options.history_ttl = 300;
  self->protocols = g_strdupv ((char **) default_protocols);
}

/**
 * owl_module_new:
 * @alias: the route alias
 * @path: the path pattern, such as `/ws/game/:sessionId`
 *
 * Creates a module; add it to a service with
 * [method@Owlsock.SocketService.add_module].
 *
 * Returns: (transfer full): a new module
 *
 * Since: 0.1
 */
OwlModule *
owl_module_new (const char *alias,
                const char *path)
{
  g_return_val_if_fail (alias != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (OWL_TYPE_MODULE, "alias", alias, "path", path, NULL);
}

const OwlRoomOptions *
owl_module_get_room_options (OwlModule *self)
{
  return &self->room_options;
}

/**
 * owl_module_get_alias:
 * @self: a module
 *
 * Gets the module's route alias.
 *
 * Returns: the route alias
 *
 * Since: 0.1
 */
const char *
owl_module_get_alias (OwlModule *self)
{
  g_return_val_if_fail (OWL_IS_MODULE (self), NULL);

  return self->alias;
}

/**
 * owl_module_get_path:
 * @self: a module
 *
 * Gets the module's path pattern.
 *
 * Returns: the path pattern
 *
 * Since: 0.1
 */
const char *
owl_module_get_path (OwlModule *self)
{
  g_return_val_if_fail (OWL_IS_MODULE (self), NULL);

  return self->path;
}

/**
 * owl_module_set_handler:
 * @self: a module
 * @handler: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   the handler, or %NULL to remove it
 * @user_data: data for @handler
 * @destroy: (nullable): frees @user_data
 *
 * Sets a C handler for accepted connections, as `handleConnection` in the
 * TypeScript package <code>&#64;owlmeans/server-socket</code>.
 * It runs before the handlers of [signal@Owlsock.Module::connection].
 *
 * Since: 0.1
 */
void
owl_module_set_handler (OwlModule            *self,
                        OwlConnectionHandler  handler,
                        gpointer              user_data,
                        GDestroyNotify        destroy)
{
  g_return_if_fail (OWL_IS_MODULE (self));

  owl_module_clear_handler (self);
  self->handler = handler;
  self->handler_data = user_data;
  self->handler_destroy = destroy;
}

/* Per-type schemas ---------------------------------------------------------- */

/* Whether messages of @type reach the application: the protocol's own
 * types (`call`, `ping`, ...) never do. */
static gboolean
is_app_type (const char *type)
{
  g_autoptr(JsonObject) probe = json_object_new ();

  if (type == NULL || type[0] == '\0')
    return FALSE;
  json_object_set_string_member (probe, "type", type);
  return owl_envelope_classify (probe) == OWL_ENVELOPE_APP;
}

/* The table is shared with the connections' frozen sets: a change
 * replaces it. */
static GHashTable *
copy_types (GHashTable *types)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  GHashTableIter iter;
  gpointer key, value;

  if (types == NULL)
    return copy;
  g_hash_table_iter_init (&iter, types);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_object_ref (value));
  return copy;
}

static void
replace_types (OwlModule  *self,
               GHashTable *types)
{
  if (types != NULL && g_hash_table_size (types) == 0)
    g_clear_pointer (&types, g_hash_table_unref);
  g_clear_pointer (&self->type_schemas, g_hash_table_unref);
  self->type_schemas = types;
  g_clear_pointer (&self->frozen, owl_message_schemas_unref);
}

/**
 * owl_module_set_type_schema:
 * @self: a module
 * @type: a message type, such as `"subscribe"`; not one the protocol owns
 *   (`call`, `result`, `error`, `request`, `response`, `event`, `auth`,
 *   `ping`, `pong`)
 * @schema: (nullable): the JSON Schema for messages of @type, or %NULL to
 *   remove it
 *
 * Sets the schema that checks the application's messages whose string
 * `type` is @type. A message that fails it is answered with an `error`
 * frame of code `validation` whose `details` name the `type`, the JSON
 * `pointer` and the `keyword`; the handler never sees it and the connection
 * stays open. [property@Owlsock.Module:message-schema], if set, checks the
 * message first. Types without a schema pass, unless
 * [property@Owlsock.Module:strict-types] is set.
 *
 * Applies from the next upgrade on: a connection keeps the schemas it was
 * admitted with.
 *
 * Since: 0.1
 */
void
owl_module_set_type_schema (OwlModule  *self,
                            const char *type,
                            OwlSchema  *schema)
{
  GHashTable *types;

  g_return_if_fail (OWL_IS_MODULE (self));
  g_return_if_fail (is_app_type (type));
  g_return_if_fail (schema == NULL || OWL_IS_SCHEMA (schema));

  if (owl_module_get_type_schema (self, type) == schema)
    return;
  types = copy_types (self->type_schemas);
  if (schema != NULL)
    g_hash_table_insert (types, g_strdup (type), g_object_ref (schema));
  else
    g_hash_table_remove (types, type);
  replace_types (self, types);
}

/**
 * owl_module_get_type_schema:
 * @self: a module
 * @type: a message type
 *
 * Gets the schema set for messages of @type with
 * [method@Owlsock.Module.set_type_schema].
 *
 * Returns: (transfer none) (nullable): the schema, or %NULL if @type has
 *   none
 *
 * Since: 0.1
 */
OwlSchema *
owl_module_get_type_schema (OwlModule  *self,
                            const char *type)
{
  g_return_val_if_fail (OWL_IS_MODULE (self), NULL);
  g_return_val_if_fail (type != NULL, NULL);

  return self->type_schemas ? g_hash_table_lookup (self->type_schemas, type) : NULL;
}

/**
 * owl_module_set_type_schemas:
 * @self: a module
 * @schemas: (nullable) (element-type utf8 Owlsock.Schema): a schema per
 *   message type (a `dict` in Python, an object in GJS), or %NULL to remove
 *   them all
 *
 * Replaces every per-type schema with @schemas, as
 * [method@Owlsock.Module.set_type_schema] would set each. When a key is a
 * type the protocol owns, nothing changes.
 *
 * Since: 0.1
 */
void
owl_module_set_type_schemas (OwlModule  *self,
                             GHashTable *schemas)
{
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (OWL_IS_MODULE (self));

  if (schemas != NULL)
    {
      g_hash_table_iter_init (&iter, schemas);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_return_if_fail (is_app_type (key));
          g_return_if_fail (OWL_IS_SCHEMA (value));
        }
    }
  replace_types (self, schemas ? copy_types (schemas) : NULL);
}

OwlRoute *
owl_module_get_route (OwlModule *self)
{
  return self->route;
}

const GError *
owl_module_get_route_error (OwlModule *self)
{
  return self->route_error;
}

const OwlLimits *
owl_module_get_limits (OwlModule *self)
{
  return &self->limits;
}

GStrv
owl_module_get_allowed_origins (OwlModule *self)
{
  return self->allowed_origins;
}

gboolean
owl_module_get_deflate (OwlModule *self)
{
  return self->deflate;
}

OwlSocketService *
owl_module_get_service (OwlModule *self)
{
  return self->service;
}

void
owl_module_set_service (OwlModule        *self,
                        OwlSocketService *service)
{
  self->service = service;
}

void
owl_module_emit_connection (OwlModule     *self,
                            OwlConnection *connection)
{
  if (self->handler != NULL)
    self->handler (self, connection, self->handler_data);

  g_signal_emit (self, signals[CONNECTION], 0, connection);
}

const char * const *
owl_module_get_guards (OwlModule *self)
{
  return (const char * const *) self->guards;
}

const char * const *
owl_module_get_gates (OwlModule *self)
{
  return (const char * const *) self->gates;
}

const char * const *
owl_module_get_protocols (OwlModule *self)
{
  return (const char * const *) self->protocols;
}

OwlMessageSchemas *
owl_module_get_message_schemas (OwlModule *self)
{
  if (self->frozen == NULL &&
      (self->message_schema != NULL || self->type_schemas != NULL || self->strict_types))
    self->frozen = owl_message_schemas_new (self->message_schema, self->type_schemas, self->strict_types);
  return self->frozen;
}

OwlSchema *
owl_module_get_query_schema (OwlModule *self)
{
  return self->query_schema;
}

OwlSchema *
owl_module_get_params_schema (OwlModule *self)
{
  return self->params_schema;
}
