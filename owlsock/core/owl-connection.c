/* owl-connection.c: the object, its signals and its life
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What goes in and out is in owl-connection-io.c, token refresh and expiry
 * in owl-connection-auth.c.
 */

#include <string.h>

#include "owl-connection-private.h"
#include "owl-enums.h"
#include "owl-json-private.h"
#include "owl-log-private.h"
#include "owl-module-private.h"

/**
 * OwlConnection:
 *
 * One accepted WebSocket of an [class@Owlsock.Module].
 *
 * A connection speaks the JSON envelope protocol of
 * <code>&#64;owlmeans/socket</code>: it answers `ping`, dispatches `call` and `request` to
 * [signal@Owlsock.Connection::call] and [signal@Owlsock.Connection::request],
 * `event` to [signal@Owlsock.Connection::event], correlates the client's
 * answers to [method@Owlsock.Connection.call_async], and delivers every other
 * JSON object through [signal@Owlsock.Connection::message]. Text that is not a
 * JSON object, and binary frames, are answered with a `malformed` error frame;
 * the connection stays open.
 *
 * [method@Owlsock.Connection.send], [method@Owlsock.Connection.send_text],
 * [method@Owlsock.Connection.send_binary] and [method@Owlsock.Connection.close]
 * may be called from any thread: they hop to the service's main context.
 * Everything else belongs to that context.
 *
 * A connection ends in two steps, each told once, however it ends (the
 * peer's close frame, [method@Owlsock.Connection.close], a token that
 * expired, [method@Owlsock.SocketService.stop], a limit, a lost socket):
 *
 * 1. [property@Owlsock.Connection:state] becomes
 *    %OWL_CONNECTION_CLOSING (notified), then
 *    [signal@Owlsock.Connection::closing] is emitted: from now on sends,
 *    calls and requests fail with %OWL_ERROR_CLOSED and nothing more is
 *    received. The place to stop timers and producers.
 * 2. The connection leaves its rooms ([signal@Owlsock.Connection::left]
 *    for each), [property@Owlsock.Connection:state] becomes
 *    %OWL_CONNECTION_CLOSED (notified), then
 *    [signal@Owlsock.Connection::closed] is emitted.
 *
 * A close the server starts emits `closing` at once and `closed` when the
 * peer answered (at most 5 s later); one the peer starts, or a socket that
 * was lost (1006), emits both in one go.
 *
 * Since: 0.1
 */

enum {
  PROP_0,
  PROP_ID,
  PROP_REQUEST,
  PROP_MODULE,
  PROP_STATE,
  PROP_BUFFERED_AMOUNT,
  PROP_DROPPED_MESSAGES,
  PROP_AUTH,
  N_PROPS
};

enum {
  MESSAGE,
  CLOSING,
  CLOSED,
  JOINED,
  LEFT,
  ERROR,
  CALL,
  REQUEST,
  EVENT,
  DRAIN,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OwlConnection, owl_connection, G_TYPE_OBJECT)

/* The host ----------------------------------------------------------------- */

OwlConnectionHost *
owl_connection_host_new (const OwlConnectionHost *value)
{
  OwlConnectionHost *host = (g_atomic_rc_box_dup) (sizeof *value, value);

  g_main_context_ref (host->context);
  owl_counters_ref (host->counters);
  owl_rooms_ref (host->rooms);
  owl_auth_chain_ref (host->chain);
  if (host->schemas != NULL)
    owl_message_schemas_ref (host->schemas);
  return host;
}

OwlConnectionHost *
owl_connection_host_ref (OwlConnectionHost *host)
{
  return g_atomic_rc_box_acquire (host);
}

static void
host_clear (gpointer data)
{
  OwlConnectionHost *host = data;

  g_main_context_unref (host->context);
  owl_counters_unref (host->counters);
  owl_rooms_unref (host->rooms);
  owl_auth_chain_unref (host->chain);
  owl_message_schemas_unref (host->schemas);
}

void
owl_connection_host_unref (OwlConnectionHost *host)
{
  if (host != NULL)
    g_atomic_rc_box_release_full (host, host_clear);
}

gboolean
owl_connection_host_equal (const OwlConnectionHost *host,
                           const OwlConnectionHost *value)
{
  return host->acceptor == value->acceptor &&
         host->context == value->context &&
         owl_limits_equal (&host->limits, &value->limits) &&
         host->auth_expiry_notice == value->auth_expiry_notice &&
         host->auth_timeout == value->auth_timeout &&
         host->counters == value->counters &&
         host->rooms == value->rooms &&
         host->chain == value->chain &&
         host->schemas == value->schemas;
}

static void
owl_connection_dispose (GObject *object)
{
  OwlConnection *self = OWL_CONNECTION (object);

  g_clear_pointer (&self->refresh, owl_connection_refresh_free);
  if (self->channel != NULL)
    owl_channel_detach (self->channel);
  g_clear_pointer (&self->transport, owl_transport_free);
  g_clear_pointer (&self->early, owl_connection_early_free);

  G_OBJECT_CLASS (owl_connection_parent_class)->dispose (object);
}

static void
owl_connection_finalize (GObject *object)
{
  OwlConnection *self = OWL_CONNECTION (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_object (&self->module);
  g_clear_object (&self->request);
  g_clear_pointer (&self->channel, owl_channel_unref);
  g_clear_pointer (&self->host, owl_connection_host_unref);
  g_clear_pointer (&self->close_reason, g_free);

  G_OBJECT_CLASS (owl_connection_parent_class)->finalize (object);
}

static void
owl_connection_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  OwlConnection *self = OWL_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_REQUEST:
      g_value_set_object (value, self->request);
      break;
    case PROP_MODULE:
      g_value_set_object (value, self->module);
      break;
    case PROP_STATE:
      g_value_set_enum (value, owl_connection_get_state (self));
      break;
    case PROP_BUFFERED_AMOUNT:
      g_value_set_uint64 (value, owl_connection_get_buffered_amount (self));
      break;
    case PROP_DROPPED_MESSAGES:
      g_value_set_uint64 (value, owl_connection_get_dropped_messages (self));
      break;
    case PROP_AUTH:
      g_value_set_object (value, owl_request_get_auth (self->request));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
owl_connection_class_init (OwlConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owl_connection_dispose;
  object_class->finalize = owl_connection_finalize;
  object_class->get_property = owl_connection_get_property;

  /**
   * OwlConnection:id:
   *
   * A unique id, stable for the life of the connection.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlConnection:request:
   *
   * The upgrade request that opened the connection.
   *
   * Since: 0.1
   */
  properties[PROP_REQUEST] =
    g_param_spec_object ("request", NULL, NULL, OWL_TYPE_REQUEST,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlConnection:module:
   *
   * The module that accepted the connection.
   *
   * Since: 0.1
   */
  properties[PROP_MODULE] =
    g_param_spec_object ("module", NULL, NULL, OWL_TYPE_MODULE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlConnection:state:
   *
   * Where the connection is in its life. Notified once on becoming
   * %OWL_CONNECTION_CLOSING, just before
   * [signal@Owlsock.Connection::closing], and once on becoming
   * %OWL_CONNECTION_CLOSED, just before [signal@Owlsock.Connection::closed].
   *
   * Since: 0.1
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, OWL_TYPE_CONNECTION_STATE, OWL_CONNECTION_OPEN,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlConnection:buffered-amount:
   *
   * Outgoing bytes queued because the client has not read them yet, as in
   * the browser's `WebSocket.bufferedAmount`. Messages are written straight
   * to the socket while nothing is queued. Notified when the queue drains.
   *
   * Since: 0.1
   */
  properties[PROP_BUFFERED_AMOUNT] =
    g_param_spec_uint64 ("buffered-amount", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * OwlConnection:dropped-messages:
   *
   * Messages dropped because the queue was full, with the
   * %OWL_BACKPRESSURE_DROP policy.
   *
   * Since: 0.1
   */
  properties[PROP_DROPPED_MESSAGES] =
    g_param_spec_uint64 ("dropped-messages", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * OwlConnection:auth:
   *
   * The identity a guard accepted for the connection, or %NULL on a module
   * without guards. A token refresh replaces it (with one for the same
   * user and entity) and notifies.
   *
   * Since: 0.1
   */
  properties[PROP_AUTH] =
    g_param_spec_object ("auth", NULL, NULL, OWL_TYPE_AUTH,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * OwlConnection::drain:
   * @self: the connection
   *
   * The outgoing queue emptied after the client had fallen behind: a
   * producer that paused on [property@Owlsock.Connection:buffered-amount]
   * may go on.
   *
   * Since: 0.1
   */
  signals[DRAIN] =
    g_signal_new ("drain", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * OwlConnection::message:
   * @self: the connection
   * @message: the JSON object the client sent
   *
   * An application message arrived: a JSON object whose `type` is not one of
   * the envelope protocol's own. The signal is detailed by that `type` when
   * it is a string: connect to `message::subscribe` for the messages of type
   * `subscribe` only; handlers without a detail get every message, those
   * without a `type` too.
   *
   * Since: 0.1
   */
  signals[MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE);

  /**
   * OwlConnection::closing:
   * @self: the connection
   * @code: the close code, as [signal@Owlsock.Connection::closed] will
   *   report it when the peer ends the connection; when the server does,
   *   the code it sent
   * @reason: the close reason, possibly empty
   *
   * The connection started closing, for any reason: the peer's close
   * frame, [method@Owlsock.Connection.close], token expiry, a stop of the
   * service, a limit, the pong or idle timeout, or the socket lost (1006).
   * Emitted exactly once, always before [signal@Owlsock.Connection::closed],
   * after [property@Owlsock.Connection:state] was notified as
   * %OWL_CONNECTION_CLOSING. From here on every send, call and request on
   * the connection fails with %OWL_ERROR_CLOSED: stop the connection's
   * timers and producers here.
   *
   * Since: 0.1
   */
  signals[CLOSING] =
    g_signal_new ("closing", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

  /**
   * OwlConnection::closed:
   * @self: the connection
   * @code: the close code: the peer's, the one given to
   *   [method@Owlsock.Connection.close], 1001 when the service stops, or 1006
   *   when the TCP connection ended without a close frame
   * @reason: the close reason, possibly empty
   *
   * The connection ended. Emitted exactly once, after
   * [signal@Owlsock.Connection::closing]. By then the connection has left
   * its rooms (each with [signal@Owlsock.Connection::left]) and, for every
   * handler but the service's own, the service's registry.
   *
   * Since: 0.1
   */
  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

  /**
   * OwlConnection::joined:
   * @self: the connection
   * @room: the room
   *
   * The connection joined @room ([method@Owlsock.Connection.join] of a
   * room it was not in). Broadcasts to @room reach it from now on.
   *
   * Since: 0.1
   */
  signals[JOINED] =
    g_signal_new ("joined", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * OwlConnection::left:
   * @self: the connection
   * @room: the room
   *
   * The connection left @room: [method@Owlsock.Connection.leave], or the
   * end of the connection, which leaves every room after
   * [signal@Owlsock.Connection::closing] and before
   * [signal@Owlsock.Connection::closed]. By then the connection is no longer
   * among the room's members, so a broadcast to @room from a handler
   * reaches the others only.
   *
   * Since: 0.1
   */
  signals[LEFT] =
    g_signal_new ("left", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * OwlConnection::error:
   * @self: the connection
   * @error: what went wrong
   *
   * An I/O or protocol error on the connection. A fatal one is followed by
   * [signal@Owlsock.Connection::closed].
   *
   * Since: 0.1
   */
  signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * OwlConnection::call:
   * @self: the connection
   * @call: the call
   *
   * A `call` arrived. The signal is detailed by the method name: connect to
   * `call::sum` to handle the method `sum`. Return %TRUE to take the call and
   * answer it, now or later, with [method@Owlsock.Call.return_value] or
   * [method@Owlsock.Call.return_error]. If no handler takes it the client
   * gets an `unknown-method` error; if a handler connected for exactly this
   * method neither takes nor answers it (it failed: an exception in Python
   * or GJS, a wrong return value), the client gets `internal` ("Internal
   * error", nothing of the failure).
   *
   * Returns: %TRUE if the call was taken
   *
   * Since: 0.1
   */
  signals[CALL] =
    g_signal_new ("call", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, OWL_TYPE_CALL);

  /**
   * OwlConnection::request:
   * @self: the connection
   * @call: the request; its answer is sent as a `response`
   *
   * A `request` arrived. Handle it as [signal@Owlsock.Connection::call]:
   * with no handler connected the client gets `unknown-method`; with one
   * that neither takes nor answers it, `internal`.
   *
   * Returns: %TRUE if the request was taken
   *
   * Since: 0.1
   */
  signals[REQUEST] =
    g_signal_new ("request", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, OWL_TYPE_CALL);

  /**
   * OwlConnection::event:
   * @self: the connection
   * @event: the event name
   * @payload: (nullable): the event's payload
   *
   * An `event` arrived; detailed by the event name (`event::typing`).
   *
   * Since: 0.1
   */
  signals[EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_NODE);
}

static void
owl_connection_init (OwlConnection *self)
{
}

/* Signals, for the other files ------------------------------------------------- */

void
owl_connection_emit_message (OwlConnection *self,
                             JsonNode      *message)
{
  const char *type = JSON_NODE_HOLDS_OBJECT (message)
                   ? owl_json_object_get_string (json_node_get_object (message), "type") : NULL;

  /* g_quark_try_string: a type nobody connected to makes no quark. */
  GQuark detail = type ? g_quark_try_string (type) : 0;

  g_signal_emit (self, signals[MESSAGE], detail, message);
}

/* g_quark_try_string: a method or event nobody connected to has no quark,
 * and client-chosen names must not be interned forever. */
gboolean
owl_connection_emit_call (OwlConnection *self,
                          OwlCall       *call)
{
  gboolean request = owl_call_is_request (call);
  guint signal_id = request ? signals[REQUEST] : signals[CALL];
  GQuark detail = request ? 0 : g_quark_try_string (owl_call_get_method (call));
  gboolean handled = FALSE;
  gboolean has_handler;

  /* A handler for exactly this method (or, for requests, any): one that
   * fails (a Python or GJS exception, a wrong return value) returns FALSE
   * without answering. Asked before the emission, which may disconnect it. */
  has_handler = (request || detail != 0) &&
                g_signal_handler_find (self, G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DETAIL | G_SIGNAL_MATCH_UNBLOCKED,
                                       signal_id, detail, NULL, NULL, NULL) != 0;
  g_signal_emit (self, signal_id, detail, call, &handled);
  if (!handled && has_handler && !owl_call_is_answered (call))
    {
      /* It has a handler, which did not answer: nothing of why reaches the
       * client; only a method nobody handles is `unknown-method`. */
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "The %s handler did not answer",
                    request ? "request" : owl_call_get_method (call));
      owl_call_return_error_literal (call, OWL_ERROR_INTERNAL, "Internal error");
      return TRUE;
    }
  return handled;
}

void
owl_connection_emit_event (OwlConnection *self,
                           const char    *event,
                           JsonNode      *payload)
{
  g_signal_emit (self, signals[EVENT], g_quark_try_string (event), event, payload);
}

void
owl_connection_notify_auth (OwlConnection *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTH]);
}

void
owl_connection_emit_error (OwlConnection *self,
                           const GError  *error)
{
  g_signal_emit (self, signals[ERROR], 0, error);
}

void
owl_connection_emit_drain (OwlConnection *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUFFERED_AMOUNT]);
  g_signal_emit (self, signals[DRAIN], 0);
}

/* Once the channel went from open to closing: state, then `closing`. */
void
owl_connection_emit_closing (OwlConnection *self,
                             guint16        code,
                             const char    *reason)
{
  g_object_ref (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_signal_emit (self, signals[CLOSING], 0, (guint) code, reason ? reason : "");
  g_object_unref (self);
}

void
owl_connection_emit_room (OwlConnection *self,
                          const char    *room,
                          gboolean       joined)
{
  g_signal_emit (self, signals[joined ? JOINED : LEFT], 0, room);
}

/* The end, once: `closing` if nobody told it yet (the peer closed, the
 * socket was lost), calls to the client fail, the connection leaves its
 * rooms, then `closed`. Whoever accepted the connection listens to
 * `closed` first (it connected before anyone else could). */
void
owl_connection_handle_closed (OwlConnection *self,
                              guint16        code,
                              const char    *reason)
{
  if (owl_channel_get_state (self->channel) == OWL_CHANNEL_CLOSED)
    return;

  g_object_ref (self);
  if (owl_channel_begin_close (self->channel))
    owl_connection_emit_closing (self, code, reason);
  self->close_code = code;
  self->close_reason = g_strdup (reason ? reason : "");
  owl_channel_set_closed (self->channel);
  /* A refresh under way is cancelled: its guard or gate sees its
   * cancellable fire and nobody waits for the answer. */
  g_clear_pointer (&self->refresh, owl_connection_refresh_free);
  owl_connection_leave_all (self);

  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closed with %u", code);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_signal_emit (self, signals[CLOSED], 0, (guint) code, self->close_reason);
  g_object_unref (self);
}

/* Life --------------------------------------------------------------------- */

/* "<16 hex digits, random per process>-<counter in hex>": unique across the
 * processes that may later share rooms, and without the cost of a UUID
 * (g_uuid_string_random() formats through printf: 7k instructions). */
static char *
new_connection_id (void)
{
  static const char hex[] = "0123456789abcdef";
  static gsize initialized;
  static guint64 prefix;
  static gsize counter;
  guint64 n;
  char buf[16 + 1 + 16 + 1];
  char *p = buf;

  if (g_once_init_enter (&initialized))
    {
      prefix = ((guint64) g_random_int () << 32) | g_random_int ();
      g_once_init_leave (&initialized, 1);
    }

  for (int shift = 60; shift >= 0; shift -= 4)
    *p++ = hex[(prefix >> shift) & 0xf];
  *p++ = '-';

  n = (guint64) g_atomic_pointer_add (&counter, 1) + 1;
  {
    char digits[16];
    int k = 0;

    do
      digits[k++] = hex[n & 0xf];
    while ((n >>= 4) != 0);
    while (k > 0)
      *p++ = digits[--k];
  }
  *p = '\0';

  return g_strndup (buf, p - buf);
}

OwlConnection *
owl_connection_new (OwlConnectionHost       *host,
                    OwlModule               *module,
                    OwlRequest              *request,
                    GIOStream               *stream,
                    GUri                    *uri,
                    const OwlDeflateParams  *deflate)
{
  OwlConnection *self = g_object_new (OWL_TYPE_CONNECTION, NULL);
  OwlTransportLimits transport_limits;

  self->id = new_connection_id ();
  self->module = g_object_ref (module);
  self->request = g_object_ref (request);
  self->host = owl_connection_host_ref (host);
  owl_token_bucket_init (&self->bucket, host->limits.rate_limit, host->limits.rate_burst);

  owl_limits_to_transport (&host->limits, deflate, &transport_limits);
  self->transport = owl_transport_new (stream, uri, owl_request_get_origin (request), &transport_limits,
                                       &owl_connection_transport_callbacks, self);
  self->channel = owl_channel_new (&owl_connection_channel_handlers, self, self->transport,
                                   self->host->counters, self->host->context);
  return self;
}

void
owl_connection_tick (OwlConnection *self,
                     gint64         now_us)
{
  if (self->transport != NULL)
    owl_transport_tick (self->transport, now_us);
  if (owl_channel_get_state (self->channel) == OWL_CHANNEL_OPEN)
    owl_connection_check_expiry (self);
}

gconstpointer
owl_connection_get_acceptor (OwlConnection *self)
{
  return self->host->acceptor;
}

OwlChannel *
owl_connection_get_channel (OwlConnection *self)
{
  return self->channel;
}

guint
owl_connection_get_n_early (OwlConnection *self)
{
  return self->early ? self->early->messages.length : 0;
}

/* Accessors ---------------------------------------------------------------- */

/**
 * owl_connection_get_buffered_amount:
 * @self: a connection
 *
 * Gets how many outgoing bytes wait for the client to read them.
 *
 * Returns: the outgoing bytes queued for the client; see
 *   [property@Owlsock.Connection:buffered-amount]
 *
 * Since: 0.1
 */
guint64
owl_connection_get_buffered_amount (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), 0);

  return self->transport ? owl_transport_get_buffered (self->transport) : 0;
}

/**
 * owl_connection_get_dropped_messages:
 * @self: a connection
 *
 * Gets how many messages were dropped because the client read too slowly.
 *
 * Returns: how many messages were dropped under backpressure
 *
 * Since: 0.1
 */
guint64
owl_connection_get_dropped_messages (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), 0);

  return self->transport ? owl_transport_get_dropped (self->transport) : 0;
}

/**
 * owl_connection_get_id:
 * @self: a connection
 *
 * Gets the connection's id, unique across processes.
 *
 * Returns: the connection's unique id
 *
 * Since: 0.1
 */
const char *
owl_connection_get_id (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return self->id;
}

/**
 * owl_connection_get_request:
 * @self: a connection
 *
 * Gets the upgrade request that opened the connection.
 *
 * Returns: (transfer none): the upgrade request
 *
 * Since: 0.1
 */
OwlRequest *
owl_connection_get_request (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return self->request;
}

/**
 * owl_connection_get_auth:
 * @self: a connection
 *
 * Gets the identity a guard accepted for the connection: the same as
 * `owl_request_get_auth (owl_connection_get_request (self))`.
 *
 * Returns: (transfer none) (nullable): the identity, or %NULL on a module
 *   without guards
 *
 * Since: 0.1
 */
OwlAuth *
owl_connection_get_auth (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return owl_request_get_auth (self->request);
}

/**
 * owl_connection_get_module:
 * @self: a connection
 *
 * Gets the module that accepted the connection.
 *
 * Returns: (transfer none): the module that accepted the connection
 *
 * Since: 0.1
 */
OwlModule *
owl_connection_get_module (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return self->module;
}

/**
 * owl_connection_get_state:
 * @self: a connection
 *
 * Gets where the connection is in its life.
 *
 * Returns: the state of the connection
 *
 * Since: 0.1
 */
OwlConnectionState
owl_connection_get_state (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), OWL_CONNECTION_CLOSED);

  return (OwlConnectionState) owl_channel_get_state (self->channel);
}

/**
 * owl_connection_get_close_code:
 * @self: a connection
 *
 * Gets the close code that [signal@Owlsock.Connection::closed] reported.
 *
 * Returns: the close code once closed, else 0
 *
 * Since: 0.1
 */
guint16
owl_connection_get_close_code (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), 0);

  return self->close_code;
}

/**
 * owl_connection_get_close_reason:
 * @self: a connection
 *
 * Gets the close reason that [signal@Owlsock.Connection::closed] reported.
 *
 * Returns: (nullable): the close reason once closed, else %NULL
 *
 * Since: 0.1
 */
const char *
owl_connection_get_close_reason (OwlConnection *self)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  return self->close_reason;
}
