/* owl-socket-client.c: the object: settings, state, signals, connect and close, tokens
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owl-socket-client-private.h"

/**
 * OwlSocketClient:
 *
 * The client side of owlsock's protocol (<code>&#64;owlmeans/client-socket</code>):
 * connects to `ws://` and `wss://` URIs, speaks the envelope (calls with
 * timeouts, requests, events, answers to the server's calls, ping and
 * pong), gives the server a token the application provides, and
 * reconnects with backoff when the connection is lost.
 *
 * It runs on the thread-default main context of the thread that created
 * it, and is used from that thread only.
 *
 * ```c
 * g_autoptr(OwlSocketClient) client = owl_socket_client_new ("wss://example.com/ws/chat/lobby");
 *
 * owl_socket_client_set_token (client, token);
 * g_signal_connect (client, "message::chat", G_CALLBACK (on_chat), NULL);
 * owl_socket_client_open (client);
 * ```
 *
 * The frames are owlsock's own frame layer in the client role (masked
 * with keys from a per-connection xorshift64*), permessage-deflate is offered
 * (see [property@Owlsock.SocketClient:deflate]), and the envelope is the
 * same dispatch a server connection runs.
 *
 * Reconnecting: a connection that ends with a code that is not final is
 * made again after a delay of `min (max, min + random (0, min (max, min *
 * 2^attempt)))` milliseconds ([property@Owlsock.SocketClient:reconnect-min-delay],
 * [property@Owlsock.SocketClient:reconnect-max-delay]), the attempt count
 * being reset once a connection stayed up for
 * [property@Owlsock.SocketClient:stable-after]. Final codes: 1000, 1003,
 * 1008 and 4500-4999 (application codes that mean "do not come back";
 * 4000-4499 reconnect), and 4001 (token expired) unless a token function
 * gives a new token. A refused upgrade is final, but for 408, 429 and 5xx.
 *
 * Recovering: in a room whose module keeps history, each broadcast
 * carries its position (`"pos": {"room", "offset", "epoch"}`, its first
 * member) and each join ends with a `system` `joined` frame. The client
 * keeps the latest position per room and, once it has some, gives them
 * back on each new connection in the `recover` query parameter
 * ([property@Owlsock.SocketClient:recover]): the server replays what was
 * published meanwhile, then answers with
 * [signal@Owlsock.SocketClient::recovered].
 *
 * Since: 0.1
 */

G_DEFINE_ENUM_TYPE (OwlSocketClientState, owl_socket_client_state,
                    G_DEFINE_ENUM_VALUE (OWL_SOCKET_CLIENT_DISCONNECTED, "disconnected"),
                    G_DEFINE_ENUM_VALUE (OWL_SOCKET_CLIENT_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (OWL_SOCKET_CLIENT_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (OWL_SOCKET_CLIENT_RECONNECTING, "reconnecting"),
                    G_DEFINE_ENUM_VALUE (OWL_SOCKET_CLIENT_CLOSED, "closed"))

G_DEFINE_FINAL_TYPE (OwlSocketClient, owl_socket_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_URI,
  PROP_PROTOCOLS,
  PROP_TOKEN_AS_PROTOCOL,
  PROP_DEFLATE,
  PROP_TLS_DATABASE,
  PROP_STATE,
  PROP_PROTOCOL,
  PROP_RECONNECT,
  PROP_RECONNECT_MIN_DELAY,
  PROP_RECONNECT_MAX_DELAY,
  PROP_STABLE_AFTER,
  PROP_RECONNECT_DELAY,
  PROP_PING_TIMEOUT,
  PROP_MAX_QUEUED,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_RECOVER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  STATE_CHANGED,
  MESSAGE,
  EVENT,
  CALL,
  CLOSED,
  ERROR,
  ACCEPT_CERTIFICATE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Life ------------------------------------------------------------------------------- */

static void
owl_socket_client_dispose (GObject *object)
{
  OwlSocketClient *self = OWL_SOCKET_CLIENT (object);

  if (self->attempt_cancellable != NULL)
    {
      g_cancellable_cancel (self->attempt_cancellable);
      g_clear_object (&self->attempt_cancellable);
    }
  owl_socket_client_stop_timers (self);
  owl_socket_client_drop_link (self);
  owl_socket_client_fail_queue (self, OWL_ERROR_CLOSED, "The client is gone");
  if (self->token_destroy != NULL)
    self->token_destroy (self->token_data);
  self->token_func = NULL;
  self->token_destroy = NULL;
  g_clear_object (&self->tls_database);

  G_OBJECT_CLASS (owl_socket_client_parent_class)->dispose (object);
}

static void
owl_socket_client_finalize (GObject *object)
{
  OwlSocketClient *self = OWL_SOCKET_CLIENT (object);

  g_clear_pointer (&self->uri, g_uri_unref);
  g_free (self->uri_string);
  g_strfreev (self->protocols);
  g_ptr_array_unref (self->headers);
  g_free (self->token);
  g_free (self->protocol);
  g_hash_table_unref (self->positions);

  G_OBJECT_CLASS (owl_socket_client_parent_class)->finalize (object);
}

static void
set_uri (OwlSocketClient *self,
         const char      *uri)
{
  g_autoptr(GError) error = NULL;

  if (uri == NULL)
    return;
  self->uri = g_uri_parse (uri, G_URI_FLAGS_ENCODED, &error);
  if (self->uri != NULL && g_uri_get_host (self->uri) != NULL &&
      (g_ascii_strcasecmp (g_uri_get_scheme (self->uri), "ws") == 0 ||
       g_ascii_strcasecmp (g_uri_get_scheme (self->uri), "wss") == 0))
    {
      self->uri_string = g_strdup (uri);
      return;
    }
  g_clear_pointer (&self->uri, g_uri_unref);
  g_critical ("OwlSocketClient: '%s' is not a ws:// or wss:// URI", uri);
}

static gboolean
set_uint (OwlSocketClient *self,
          guint           *field,
          const GValue    *value)
{
  guint v = g_value_get_uint (value);

  if (*field == v)
    return FALSE;
  *field = v;
  return TRUE;
}

static void
owl_socket_client_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  OwlSocketClient *self = OWL_SOCKET_CLIENT (object);
  gboolean changed = TRUE;

  switch (prop_id)
    {
    case PROP_URI:
      set_uri (self, g_value_get_string (value));
      changed = FALSE;
      break;
    case PROP_PROTOCOLS:
      owl_socket_client_set_protocols (self, g_value_get_boxed (value));
      changed = FALSE;
      break;
    case PROP_TOKEN_AS_PROTOCOL:
      changed = self->token_as_protocol != g_value_get_boolean (value);
      self->token_as_protocol = g_value_get_boolean (value);
      break;
    case PROP_DEFLATE:
      changed = self->deflate != g_value_get_boolean (value);
      self->deflate = g_value_get_boolean (value);
      break;
    case PROP_TLS_DATABASE:
      changed = g_set_object (&self->tls_database, g_value_get_object (value));
      break;
    case PROP_RECONNECT:
      changed = self->reconnect != g_value_get_boolean (value);
      self->reconnect = g_value_get_boolean (value);
      break;
    case PROP_RECONNECT_MIN_DELAY:
      changed = set_uint (self, &self->min_delay, value);
      break;
    case PROP_RECONNECT_MAX_DELAY:
      changed = set_uint (self, &self->max_delay, value);
      break;
    case PROP_STABLE_AFTER:
      changed = set_uint (self, &self->stable_after, value);
      break;
    case PROP_PING_TIMEOUT:
      changed = set_uint (self, &self->ping_timeout, value);
      break;
    case PROP_MAX_QUEUED:
      changed = set_uint (self, &self->max_queued, value);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      changed = set_uint (self, &self->handshake_timeout, value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      changed = self->max_message_size != g_value_get_uint64 (value);
      self->max_message_size = g_value_get_uint64 (value);
      break;
    case PROP_RECOVER:
      changed = self->recover != g_value_get_boolean (value);
      self->recover = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  if (changed)
    g_object_notify_by_pspec (object, pspec);
}

static void
owl_socket_client_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  OwlSocketClient *self = OWL_SOCKET_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URI: g_value_set_string (value, self->uri_string); break;
    case PROP_PROTOCOLS: g_value_set_boxed (value, self->protocols); break;
    case PROP_TOKEN_AS_PROTOCOL: g_value_set_boolean (value, self->token_as_protocol); break;
    case PROP_DEFLATE: g_value_set_boolean (value, self->deflate); break;
    case PROP_TLS_DATABASE: g_value_set_object (value, self->tls_database); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_PROTOCOL: g_value_set_string (value, self->protocol); break;
    case PROP_RECONNECT: g_value_set_boolean (value, self->reconnect); break;
    case PROP_RECONNECT_MIN_DELAY: g_value_set_uint (value, self->min_delay); break;
    case PROP_RECONNECT_MAX_DELAY: g_value_set_uint (value, self->max_delay); break;
    case PROP_STABLE_AFTER: g_value_set_uint (value, self->stable_after); break;
    case PROP_RECONNECT_DELAY: g_value_set_uint (value, self->next_delay); break;
    case PROP_PING_TIMEOUT: g_value_set_uint (value, self->ping_timeout); break;
    case PROP_MAX_QUEUED: g_value_set_uint (value, self->max_queued); break;
    case PROP_HANDSHAKE_TIMEOUT: g_value_set_uint (value, self->handshake_timeout); break;
    case PROP_MAX_MESSAGE_SIZE: g_value_set_uint64 (value, self->max_message_size); break;
    case PROP_RECOVER: g_value_set_boolean (value, self->recover); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)
#define RO (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
install_properties (GObjectClass *object_class)
{
  /**
   * OwlSocketClient:uri:
   *
   * The `ws://` or `wss://` URI to connect to, with its path and query.
   *
   * Since: 0.1
   */
  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * OwlSocketClient:protocols:
   *
   * The subprotocols offered in `Sec-WebSocket-Protocol`, in order of
   * preference; [property@Owlsock.SocketClient:protocol] tells which one
   * the server chose.
   *
   * Since: 0.1
   */
  properties[PROP_PROTOCOLS] = g_param_spec_boxed ("protocols", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * OwlSocketClient:token-as-protocol:
   *
   * Send the token as the subprotocol entry `owlsock.bearer.<token>`
   * (offer `owlsock` in [property@Owlsock.SocketClient:protocols] too: the
   * server selects that one) instead of an `Authorization: Bearer` header.
   *
   * Since: 0.1
   */
  properties[PROP_TOKEN_AS_PROTOCOL] = g_param_spec_boolean ("token-as-protocol", NULL, NULL, FALSE, RW);
  /**
   * OwlSocketClient:deflate:
   *
   * Offer permessage-deflate (RFC 7692). The server decides; a server of
   * owlsock agrees when its module's `deflate` is on.
   *
   * Since: 0.1
   */
  properties[PROP_DEFLATE] = g_param_spec_boolean ("deflate", NULL, NULL, TRUE, RW);
  /**
   * OwlSocketClient:tls-database:
   *
   * The database `wss://` certificates are checked against; %NULL: the
   * system's. A certificate that fails the check can still be accepted by
   * a handler of [signal@Owlsock.SocketClient::accept-certificate].
   *
   * Since: 0.1
   */
  properties[PROP_TLS_DATABASE] = g_param_spec_object ("tls-database", NULL, NULL, G_TYPE_TLS_DATABASE, RW);
  /**
   * OwlSocketClient:state:
   *
   * Where the client is; notified just before
   * [signal@Owlsock.SocketClient::state-changed].
   *
   * Since: 0.1
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, OWL_TYPE_SOCKET_CLIENT_STATE, OWL_SOCKET_CLIENT_DISCONNECTED, RO);
  /**
   * OwlSocketClient:protocol:
   *
   * The subprotocol the server chose on the last connection, or %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_PROTOCOL] = g_param_spec_string ("protocol", NULL, NULL, NULL, RO);
  /**
   * OwlSocketClient:reconnect:
   *
   * Reconnect after a connection was lost (as centrifuge-js does, on by
   * default); off: any end of a connection is final.
   *
   * Since: 0.1
   */
  properties[PROP_RECONNECT] = g_param_spec_boolean ("reconnect", NULL, NULL, TRUE, RW);
  /**
   * OwlSocketClient:reconnect-min-delay:
   *
   * The smallest delay before a reconnect, in milliseconds.
   *
   * Since: 0.1
   */
  properties[PROP_RECONNECT_MIN_DELAY] =
    g_param_spec_uint ("reconnect-min-delay", NULL, NULL, 0, G_MAXINT, 500, RW);
  /**
   * OwlSocketClient:reconnect-max-delay:
   *
   * The largest delay before a reconnect, in milliseconds.
   *
   * Since: 0.1
   */
  properties[PROP_RECONNECT_MAX_DELAY] =
    g_param_spec_uint ("reconnect-max-delay", NULL, NULL, 0, G_MAXINT, 20000, RW);
  /**
   * OwlSocketClient:stable-after:
   *
   * How long (milliseconds) a connection must stay up before the backoff
   * starts over from the smallest delay.
   *
   * Since: 0.1
   */
  properties[PROP_STABLE_AFTER] = g_param_spec_uint ("stable-after", NULL, NULL, 0, G_MAXINT, 10000, RW);
  /**
   * OwlSocketClient:reconnect-delay:
   *
   * The delay (milliseconds) of the reconnect that is scheduled, 0 when
   * none is.
   *
   * Since: 0.1
   */
  properties[PROP_RECONNECT_DELAY] = g_param_spec_uint ("reconnect-delay", NULL, NULL, 0, G_MAXINT, 0, RO);
  /**
   * OwlSocketClient:ping-timeout:
   *
   * No frame at all from the server for this long (milliseconds) means it
   * is gone: the client closes the connection itself with 4408 and
   * reconnects. An owlsock server pings every 30 s by default; 0 turns
   * the check off (for servers that never ping).
   *
   * Since: 0.1
   */
  properties[PROP_PING_TIMEOUT] = g_param_spec_uint ("ping-timeout", NULL, NULL, 0, G_MAXINT, 45000, RW);
  /**
   * OwlSocketClient:max-queued:
   *
   * How many messages and calls may wait while the client is connecting
   * or reconnecting; more are refused with `unavailable`.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_QUEUED] = g_param_spec_uint ("max-queued", NULL, NULL, 0, G_MAXINT, 100, RW);
  /**
   * OwlSocketClient:handshake-timeout:
   *
   * How long (milliseconds) the token, the connection, TLS and the
   * upgrade may take, each; 0: no limit.
   *
   * Since: 0.1
   */
  properties[PROP_HANDSHAKE_TIMEOUT] =
    g_param_spec_uint ("handshake-timeout", NULL, NULL, 0, G_MAXINT, 10000, RW);
  /**
   * OwlSocketClient:max-message-size:
   *
   * The largest message the server may send (after reassembly and
   * decompression); a larger one closes the connection with 1009.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL, 1, G_MAXUINT32, 16 * 1024 * 1024, RW);
  /**
   * OwlSocketClient:recover:
   *
   * Ask the server, on each connection, to replay what the client missed
   * in its rooms with history: the positions it holds (see
   * [method@Owlsock.SocketClient.dup_positions]) go in the `recover` query
   * parameter, and [signal@Owlsock.SocketClient::recovered] tells the
   * answer per room. Positions are kept either way.
   *
   * Since: 0.1
   */
  properties[PROP_RECOVER] = g_param_spec_boolean ("recover", NULL, NULL, TRUE, RW);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
install_signals (GObjectClass *object_class)
{
  GType type = G_TYPE_FROM_CLASS (object_class);

  /**
   * OwlSocketClient::state-changed:
   * @self: the client
   * @old_state: the state it left
   * @new_state: the state it is in
   *
   * The state changed; [property@Owlsock.SocketClient:state] was notified
   * just before.
   *
   * Since: 0.1
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, OWL_TYPE_SOCKET_CLIENT_STATE, OWL_TYPE_SOCKET_CLIENT_STATE);
  /**
   * OwlSocketClient::message:
   * @self: the client
   * @message: the JSON object
   *
   * A message that is not the protocol's own arrived (the application's
   * messages, `system` notices, `auth` answers), or an answer that no call
   * waits for (an `error` without id: the server refusing a message, as
   * `malformed` or `validation`; the late `result` of a call that timed
   * out); detailed by its string `type`: `message::chat`, `message::error`.
   *
   * Since: 0.1
   */
  signals[MESSAGE] =
    g_signal_new ("message", type, G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE);
  /**
   * OwlSocketClient::event:
   * @self: the client
   * @event: the event's name
   * @payload: (nullable): its payload
   *
   * An `event` envelope arrived; detailed by its name: `event::joined`.
   *
   * Since: 0.1
   */
  signals[EVENT] =
    g_signal_new ("event", type, G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_NODE);
  /**
   * OwlSocketClient::call:
   * @self: the client
   * @call: the server's call, or request (no method, no detail)
   *
   * The server called the client; detailed by the method: `call::confirm`.
   * A handler answers with [method@Owlsock.Call.return_value] (now or
   * later) and returns %TRUE; a call nobody takes is answered with
   * `unknown-method`. [method@Owlsock.Call.get_owner] gives the client.
   *
   * Returns: %TRUE if the call was taken
   *
   * Since: 0.1
   */
  signals[CALL] =
    g_signal_new ("call", type, G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0,
                  g_signal_accumulator_true_handled, NULL, NULL, G_TYPE_BOOLEAN, 1, OWL_TYPE_CALL);
  /**
   * OwlSocketClient::closed:
   * @self: the client
   * @code: the close code: the server's, or the client's own (1000 for
   *   [method@Owlsock.SocketClient.close], 4408 when the server went
   *   silent, 1002 / 1007 / 1009 for what the server must not send), 1006
   *   when the TCP connection ended without a close frame
   * @reason: the close reason, possibly empty
   *
   * A connection ended; once per connection. The state changes right
   * after: to `reconnecting` or `closed`.
   *
   * Since: 0.1
   */
  signals[CLOSED] =
    g_signal_new ("closed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  /**
   * OwlSocketClient::error:
   * @self: the client
   * @error: why
   *
   * A connection attempt failed: the network or TLS (GIO's errors), the
   * upgrade was refused (an `OWL_ERROR` with the server's code: HTTP 401 is
   * `auth-failed`), the handshake's answer was broken (`malformed`), or
   * no token came (`timeout`, `auth-failed`). Also when the client ends with
   * messages still waiting for a connection (`closed`, with their number).
   *
   * Since: 0.1
   */
  signals[ERROR] =
    g_signal_new ("error", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * OwlSocketClient::accept-certificate:
   * @self: the client
   * @certificate: the server's certificate
   * @errors: what the check found wrong
   *
   * A `wss://` server's certificate failed the check (see
   * [signal@Gio.TlsConnection::accept-certificate]). Nothing connected:
   * refused.
   *
   * Returns: %TRUE to accept it anyway
   *
   * Since: 0.1
   */
  signals[ACCEPT_CERTIFICATE] =
    g_signal_new ("accept-certificate", type, G_SIGNAL_RUN_LAST, 0,
                  g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 2, G_TYPE_TLS_CERTIFICATE, G_TYPE_TLS_CERTIFICATE_FLAGS);
}

static void
owl_socket_client_class_init (OwlSocketClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owl_socket_client_dispose;
  object_class->finalize = owl_socket_client_finalize;
  object_class->set_property = owl_socket_client_set_property;
  object_class->get_property = owl_socket_client_get_property;
  install_properties (object_class);
  install_signals (object_class);
  owl_socket_client_install_recovered (object_class);
}

static void
owl_socket_client_init (OwlSocketClient *self)
{
  self->headers = g_ptr_array_new_with_free_func (g_free);
  self->deflate = TRUE;
  self->reconnect = TRUE;
  self->min_delay = 500;
  self->max_delay = 20000;
  self->stable_after = 10000;
  self->ping_timeout = 45000;
  self->max_queued = 100;
  self->handshake_timeout = 10000;
  self->max_message_size = 16 * 1024 * 1024;
  self->recover = TRUE;
  self->stable_due = -1;
  self->ping_due = -1;
  g_queue_init (&self->queue);
  owl_socket_client_init_positions (self);
}

/* For the other files --------------------------------------------------------------- */

void
owl_socket_client_set_state (OwlSocketClient      *self,
                             OwlSocketClientState  state)
{
  OwlSocketClientState old = self->state;

  if (old == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_signal_emit (self, signals[STATE_CHANGED], 0, old, state);
}

void
owl_socket_client_notify_delay (OwlSocketClient *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_DELAY]);
}

/* g_quark_try_string: a name nobody connected to makes no quark, and the
 * server's names must not be interned forever. */
void
owl_socket_client_emit_message (OwlSocketClient *self,
                                JsonNode        *message,
                                const char      *type)
{
  g_signal_emit (self, signals[MESSAGE], type ? g_quark_try_string (type) : 0, message);
}

gboolean
owl_socket_client_emit_call (OwlSocketClient *self,
                             OwlCall         *call)
{
  const char *method = owl_call_get_method (call);
  gboolean handled = FALSE;

  g_signal_emit (self, signals[CALL], method ? g_quark_try_string (method) : 0, call, &handled);
  return handled;
}

void
owl_socket_client_emit_event (OwlSocketClient *self,
                              const char      *event,
                              JsonNode        *payload)
{
  g_signal_emit (self, signals[EVENT], g_quark_try_string (event), event, payload);
}

void
owl_socket_client_emit_closed (OwlSocketClient *self,
                               guint16          code,
                               const char      *reason)
{
  g_signal_emit (self, signals[CLOSED], 0, (guint) code, reason ? reason : "");
}

void
owl_socket_client_emit_error (OwlSocketClient *self,
                              const GError    *error)
{
  g_signal_emit (self, signals[ERROR], 0, error);
}

gboolean
owl_socket_client_emit_accept_certificate (OwlSocketClient      *self,
                                           GTlsCertificate      *certificate,
                                           GTlsCertificateFlags  errors)
{
  gboolean accepted = FALSE;

  g_signal_emit (self, signals[ACCEPT_CERTIFICATE], 0, certificate, errors, &accepted);
  return accepted;
}

/* The API ----------------------------------------------------------------------------- */

/**
 * owl_socket_client_new:
 * @uri: a `ws://` or `wss://` URI
 *
 * Creates a client for @uri; nothing happens until
 * [method@Owlsock.SocketClient.open].
 *
 * Returns: (transfer full): a new client
 *
 * Since: 0.1
 */
OwlSocketClient *
owl_socket_client_new (const char *uri)
{
  return g_object_new (OWL_TYPE_SOCKET_CLIENT, "uri", uri, NULL);
}

/**
 * owl_socket_client_get_uri:
 * @self: a client
 *
 * Gets the URI the client connects to.
 *
 * Returns: (nullable): the URI the client connects to (%NULL if it was
 *   not a valid `ws://` or `wss://` URI)
 *
 * Since: 0.1
 */
const char *
owl_socket_client_get_uri (OwlSocketClient *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), NULL);

  return self->uri_string;
}

/**
 * owl_socket_client_get_state:
 * @self: a client
 *
 * Gets the client's state.
 *
 * Returns: the client's state
 *
 * Since: 0.1
 */
OwlSocketClientState
owl_socket_client_get_state (OwlSocketClient *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), OWL_SOCKET_CLIENT_DISCONNECTED);

  return self->state;
}

/**
 * owl_socket_client_get_protocol:
 * @self: a client
 *
 * Gets the subprotocol the server chose on the last connection.
 *
 * Returns: (nullable): the subprotocol the server chose, if any
 *
 * Since: 0.1
 */
const char *
owl_socket_client_get_protocol (OwlSocketClient *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), NULL);

  return self->protocol;
}

/**
 * owl_socket_client_get_reconnect_delay:
 * @self: a client
 *
 * Gets the delay of the scheduled reconnect.
 *
 * Returns: the delay in milliseconds of the scheduled reconnect, 0 if none
 *
 * Since: 0.1
 */
guint
owl_socket_client_get_reconnect_delay (OwlSocketClient *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), 0);

  return self->next_delay;
}

/**
 * owl_socket_client_set_protocols:
 * @self: a client
 * @protocols: (nullable) (array zero-terminated=1): the subprotocols to offer
 *
 * Sets [property@Owlsock.SocketClient:protocols]; applies from the next
 * connection.
 *
 * Since: 0.1
 */
void
owl_socket_client_set_protocols (OwlSocketClient    *self,
                                 const char * const *protocols)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  g_strfreev (self->protocols);
  self->protocols = g_strdupv ((char **) protocols);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOLS]);
}

/**
 * owl_socket_client_add_header:
 * @self: a client
 * @name: a header name
 * @value: its value
 *
 * Adds a header to the upgrade request of every connection (an `Origin`,
 * a cookie, a header a guard reads). CR and LF are refused.
 *
 * Since: 0.1
 */
void
owl_socket_client_add_header (OwlSocketClient *self,
                              const char      *name,
                              const char      *value)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));
  g_return_if_fail (name != NULL && value != NULL);
  g_return_if_fail (strpbrk (name, "\r\n:") == NULL && strpbrk (value, "\r\n") == NULL);

  g_ptr_array_add (self->headers, g_strdup_printf ("%s: %s", name, value));
}

/**
 * owl_socket_client_open:
 * @self: a client
 *
 * Starts connecting: the state goes to `connecting`, then `connected`
 * (or `reconnecting` after a failure that is worth retrying, `closed`
 * after a refusal). Does nothing while the client is connecting,
 * connected or reconnecting already.
 *
 * (Not `connect()`: that would hide GObject's `connect()` for signals in
 * Python and GJS.)
 *
 * Since: 0.1
 */
void
owl_socket_client_open (OwlSocketClient *self)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));
  g_return_if_fail (self->uri != NULL);

  if (self->state != OWL_SOCKET_CLIENT_DISCONNECTED && self->state != OWL_SOCKET_CLIENT_CLOSED)
    return;
  self->attempt = 0;
  self->closing = FALSE;
  self->token_required = FALSE;
  owl_socket_client_set_state (self, OWL_SOCKET_CLIENT_CONNECTING);
  owl_socket_client_attempt (self);
}

/**
 * owl_socket_client_close:
 * @self: a client
 * @code: the close code (1000: a normal close)
 * @reason: (nullable): the close reason, at most 123 bytes
 *
 * Closes the client for good: an open connection is closed with @code
 * ([signal@Owlsock.SocketClient::closed] follows once the server answered),
 * an attempt or a scheduled reconnect stops now. The state ends at
 * `closed`; calls and messages still waiting fail with `closed`.
 *
 * Since: 0.1
 */
void
owl_socket_client_close (OwlSocketClient *self,
                         guint16          code,
                         const char      *reason)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  if (self->state == OWL_SOCKET_CLIENT_DISCONNECTED || self->state == OWL_SOCKET_CLIENT_CLOSED)
    return;
  owl_socket_client_stop (self, code, reason);
}
