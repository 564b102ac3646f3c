/* owl-connection.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-call-private.h"
#include "owl-connection-private.h"
#include "owl-enums.h"
#include "owl-envelope-private.h"
#include "owl-fd-stream-private.h"
#include "owl-frame-private.h"
#include "owl-json-private.h"
#include "owl-mailbox-private.h"
#include "owl-request-private.h"
#include "owl-schema-private.h"
#include "owl-module-private.h"
#include "owl-socket-service-private.h"
#include "owl-transport-private.h"

/* RFC 6455: a close frame's payload is at most 125 bytes, 2 of them the code. */
#define OWL_CLOSE_REASON_MAX 123

/**
 * OwlConnection:
 *
 * One accepted WebSocket of an [class@Owlsock.Module].
 *
 * A connection speaks the JSON envelope protocol of `@owlmeans/socket`: it
 * answers `ping`, dispatches `call` and `request` to
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
 * [signal@Owlsock.Connection::closed] is emitted exactly once, however the
 * connection ends.
 *
 * Since: 0.1
 */
struct _OwlConnection
{
  GObject             parent_instance;

  char               *id;
  OwlSocketService   *service;   /* not owned; cleared by the service */
  OwlModule          *module;
  OwlRequest         *request;
  GMainContext       *context;
  OwlMailbox         *mailbox;   /* sends and closes from other threads; lazy */
  OwlTransport       *transport;
  guint               max_json_depth;

  /* Token bucket: rate_limit tokens a second, at most rate_burst. */
  gdouble             rate_limit;
  gint                rate_burst;
  gdouble             tokens;
  gint64              tokens_at;
  guint               refused_in_a_row;

  /* auth-expiring went out for the current identity. */
  gboolean            auth_noticed;

  /* Set from any thread, read from any thread. */
  gint                state;
  guint16             close_code;
  char               *close_reason;

  /* Until the connection handler returned: what arrived meanwhile. */
  gboolean            started;
  GQueue              early;
  gboolean            early_closed;
  guint16             early_close_code;
  char               *early_close_reason;

  /* Created on first use: most connections never need them, and an idle
   * connection's memory is what lets a server hold many. */
  GHashTable         *pending;   /* id -> OwlPending */
  guint64             next_id;
  GHashTable         *rooms;     /* set of room names */
};

typedef struct
{
  gboolean binary;
  GBytes  *bytes;
} OwlEarlyMessage;

typedef struct
{
  OwlConnection *connection;
  char          *id;
  GTask         *task;
  GSource       *timeout;
  GSource       *cancel;
} OwlPending;

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
  CLOSED,
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

static void owl_connection_handle_closed (OwlConnection *self,
                                          guint16        code,
                                          const char    *reason);

static void
owl_pending_free (OwlPending *pending)
{
  if (pending->timeout != NULL)
    {
      g_source_destroy (pending->timeout);
      g_source_unref (pending->timeout);
    }
  if (pending->cancel != NULL)
    {
      g_source_destroy (pending->cancel);
      g_source_unref (pending->cancel);
    }
  g_clear_object (&pending->task);
  g_free (pending->id);
  g_free (pending);
}

static void
early_message_free (gpointer data)
{
  OwlEarlyMessage *early = data;

  g_bytes_unref (early->bytes);
  g_free (early);
}

static void
owl_connection_dispose (GObject *object)
{
  OwlConnection *self = OWL_CONNECTION (object);

  g_clear_pointer (&self->transport, owl_transport_free);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_queue_clear_full (&self->early, early_message_free);

  G_OBJECT_CLASS (owl_connection_parent_class)->dispose (object);
}

static void
owl_connection_finalize (GObject *object)
{
  OwlConnection *self = OWL_CONNECTION (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_object (&self->module);
  g_clear_object (&self->request);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->mailbox, owl_mailbox_unref);
  g_clear_pointer (&self->close_reason, g_free);
  g_clear_pointer (&self->early_close_reason, g_free);
  g_clear_pointer (&self->rooms, g_hash_table_unref);

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
   * Where the connection is in its life.
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
   * the envelope protocol's own.
   *
   * Since: 0.1
   */
  signals[MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE);

  /**
   * OwlConnection::closed:
   * @self: the connection
   * @code: the close code: the peer's, the one given to
   *   [method@Owlsock.Connection.close], 1001 when the service stops, or 1006
   *   when the TCP connection ended without a close frame
   * @reason: the close reason, possibly empty
   *
   * The connection ended. Emitted exactly once. By then the connection has
   * left its rooms and the service's registry.
   *
   * Since: 0.1
   */
  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

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
   * gets an `unknown-method` error.
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
   * A `request` arrived. Handle it as [signal@Owlsock.Connection::call].
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
  g_queue_init (&self->early);
}

/* Sending ----------------------------------------------------------------- */

/* Every frame the application or the protocol sends goes through these two,
 * which count it in the service's statistics. */
static void
send_data (OwlConnection *self,
           gboolean       binary,
           const char    *data,
           gsize          len)
{
  owl_transport_send_data (self->transport, binary, data, len);
  if (self->service != NULL)
    owl_socket_service_count (self->service, FALSE, len);
}

static void
send_bytes (OwlConnection *self,
            gboolean       binary,
            GBytes        *bytes)
{
  owl_transport_send (self->transport, binary, bytes);
  if (self->service != NULL)
    owl_socket_service_count (self->service, FALSE, g_bytes_get_size (bytes));
}

static void
send_error_frame (OwlConnection *self,
                  JsonNode      *id,
                  OwlError       code,
                  const char    *message)
{
  gsize len;
  g_autofree char *frame = owl_envelope_error_frame (id, code, message, &len);

  send_data (self, FALSE, frame, len);
}

typedef struct
{
  OwlConnection *connection;
  GBytes        *bytes;
  gboolean       binary;
  gboolean       close;
  guint16        code;
  char          *reason;
} OwlConnectionOp;

static void
connection_op_free (gpointer data)
{
  OwlConnectionOp *op = data;

  g_object_unref (op->connection);
  g_clear_pointer (&op->bytes, g_bytes_unref);
  g_free (op->reason);
  g_free (op);
}

static void close_on_context (OwlConnection *self,
                              guint16        code,
                              const char    *reason);

static void
connection_op_run (gpointer data)
{
  OwlConnectionOp *op = data;

  if (op->close)
    close_on_context (op->connection, op->code, op->reason);
  else if (g_atomic_int_get (&op->connection->state) == OWL_CONNECTION_OPEN)
    send_bytes (op->connection, op->binary, op->bytes);
}

/* Queues @op on the service's context; ops from one thread keep their order. */
static void
connection_dispatch (OwlConnection   *self,
                     OwlConnectionOp *op)
{
  op->connection = g_object_ref (self);

  if (g_once_init_enter (&self->mailbox))
    g_once_init_leave (&self->mailbox,
                       owl_mailbox_new (self->context, connection_op_run, connection_op_free));

  owl_mailbox_post (self->mailbox, op);
}

static gboolean
check_open (OwlConnection  *self,
            GError        **error)
{
  if (g_atomic_int_get (&self->state) != OWL_CONNECTION_OPEN)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_CLOSED, "The connection is closed");
      return FALSE;
    }
  return TRUE;
}

gboolean
owl_connection_send_take (OwlConnection  *self,
                          char           *data,
                          gsize           len,
                          GError        **error)
{
  OwlConnectionOp *op;

  if (!check_open (self, error))
    {
      g_free (data);
      return FALSE;
    }

  /* The common case, on the service's own thread: no allocation beyond the
   * frame itself. */
  if (g_main_context_is_owner (self->context))
    {
      send_data (self, FALSE, data, len);
      g_free (data);
      return TRUE;
    }

  op = g_new0 (OwlConnectionOp, 1);
  op->bytes = g_bytes_new_take (data, len);
  connection_dispatch (self, op);
  return TRUE;
}

void
owl_connection_send_shared (OwlConnection    *self,
                            OwlSharedMessage *message)
{
  if (g_atomic_int_get (&self->state) == OWL_CONNECTION_OPEN)
    {
      owl_transport_send_shared (self->transport, message);
      if (self->service != NULL)
        owl_socket_service_count (self->service, FALSE, g_bytes_get_size (message->payload));
    }
}

/**
 * owl_connection_send:
 * @self: a connection
 * @message: the JSON to send, usually an object
 * @error: return location for an error
 *
 * Serialises @message and sends it as one text frame. Safe from any thread:
 * the JSON is serialised in the calling thread and the frame is sent from
 * the service's main context.
 *
 * Returns: %TRUE if the message was sent or queued, %FALSE with
 *   %OWL_ERROR_CLOSED if the connection is closing or closed
 *
 * Since: 0.1
 */
gboolean
owl_connection_send (OwlConnection  *self,
                     JsonNode       *message,
                     GError        **error)
{
  gsize len;
  char *data;

  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  if (!check_open (self, error))
    return FALSE;

  data = owl_json_to_data (message, &len);
  return owl_connection_send_take (self, data, len, error);
}

/**
 * owl_connection_send_text:
 * @self: a connection
 * @text: UTF-8 text
 * @error: return location for an error
 *
 * Sends @text as one text frame, as it is. Safe from any thread.
 *
 * Returns: %TRUE if sent or queued; %FALSE with %OWL_ERROR_CLOSED if the
 *   connection is closing or closed, or %OWL_ERROR_INVALID_ARGUMENT if @text
 *   is not valid UTF-8
 *
 * Since: 0.1
 */
gboolean
owl_connection_send_text (OwlConnection  *self,
                          const char     *text,
                          GError        **error)
{
  gsize len;

  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  len = strlen (text);
  if (!g_utf8_validate_len (text, len, NULL))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT, "Text is not valid UTF-8");
      return FALSE;
    }

  return owl_connection_send_take (self, g_strndup (text, len), len, error);
}

/**
 * owl_connection_send_binary:
 * @self: a connection
 * @data: the bytes to send
 * @error: return location for an error
 *
 * Sends @data as one binary frame. Safe from any thread.
 *
 * Returns: %TRUE if sent or queued, %FALSE with %OWL_ERROR_CLOSED if the
 *   connection is closing or closed
 *
 * Since: 0.1
 */
gboolean
owl_connection_send_binary (OwlConnection  *self,
                            GBytes         *data,
                            GError        **error)
{
  OwlConnectionOp *op;

  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (!check_open (self, error))
    return FALSE;

  if (g_main_context_is_owner (self->context))
    {
      send_bytes (self, TRUE, data);
      return TRUE;
    }

  op = g_new0 (OwlConnectionOp, 1);
  op->bytes = g_bytes_ref (data);
  op->binary = TRUE;
  connection_dispatch (self, op);
  return TRUE;
}

/* Closing ----------------------------------------------------------------- */

/* Cuts @reason to OWL_CLOSE_REASON_MAX bytes without splitting a character. */
static char *
truncate_reason (const char *reason)
{
  const char *end;
  gsize len;

  if (reason == NULL)
    return NULL;

  if (!g_utf8_validate (reason, -1, &end))
    len = end - reason;
  else
    len = strlen (reason);

  if (len > OWL_CLOSE_REASON_MAX)
    {
      const char *cut = reason + OWL_CLOSE_REASON_MAX;

      /* A byte that starts a character (or ASCII) may begin the next one. */
      while (cut > reason && ((guchar) *cut & 0xC0) == 0x80)
        cut--;
      len = cut - reason;
    }

  return g_strndup (reason, len);
}

static void
close_on_context (OwlConnection *self,
                  guint16        code,
                  const char    *reason)
{
  if (!g_atomic_int_compare_and_exchange (&self->state, OWL_CONNECTION_OPEN, OWL_CONNECTION_CLOSING))
    return;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing with %u", code);
  owl_transport_close (self->transport, code, reason);
}

/**
 * owl_connection_close:
 * @self: a connection
 * @code: the close code, such as %OWL_CLOSE_NORMAL; a code that may not be
 *   sent (1005, 1006, 1015, under 1000, ...) is sent as 1000
 * @reason: (nullable): a short reason, cut to 123 bytes on a character
 *   boundary
 *
 * Starts the close handshake. [signal@Owlsock.Connection::closed] follows
 * when it completes. Safe from any thread; does nothing if the connection
 * is already closing.
 *
 * Since: 0.1
 */
void
owl_connection_close (OwlConnection *self,
                      guint16        code,
                      const char    *reason)
{
  g_autofree char *cut = NULL;
  OwlConnectionOp *op;

  g_return_if_fail (OWL_IS_CONNECTION (self));

  if (!owl_frame_close_code_is_valid (code))
    code = OWL_CLOSE_NORMAL;
  cut = truncate_reason (reason);

  if (g_main_context_is_owner (self->context))
    {
      close_on_context (self, code, cut);
      return;
    }

  op = g_new0 (OwlConnectionOp, 1);
  op->close = TRUE;
  op->code = code;
  op->reason = g_steal_pointer (&cut);
  connection_dispatch (self, op);
}

/* Calls from the server ---------------------------------------------------- */

static void
pending_complete (OwlConnection *self,
                  const char    *id,
                  JsonNode      *result,
                  GError        *error)
{
  OwlPending *pending;
  g_autoptr(GTask) task = NULL;

  pending = self->pending ? g_hash_table_lookup (self->pending, id) : NULL;
  if (pending == NULL)
    {
      g_clear_error (&error);
      return;
    }

  task = g_steal_pointer (&pending->task);
  g_hash_table_remove (self->pending, id);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result ? json_node_ref (result) : json_node_new (JSON_NODE_NULL),
                           (GDestroyNotify) json_node_unref);
}

static gboolean
pending_timeout_cb (gpointer data)
{
  OwlPending *pending = data;

  pending_complete (pending->connection, pending->id, NULL,
                    g_error_new_literal (OWL_ERROR, OWL_ERROR_TIMEOUT, "The client did not answer in time"));
  return G_SOURCE_REMOVE;
}

static gboolean
pending_cancel_cb (GCancellable *cancellable,
                   gpointer      data)
{
  OwlPending *pending = data;

  pending_complete (pending->connection, pending->id, NULL,
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The call was cancelled"));
  return G_SOURCE_REMOVE;
}

static void
start_outgoing (OwlConnection       *self,
                gboolean             is_request,
                const char          *method,
                JsonNode            *payload,
                guint                timeout_ms,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data,
                gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonNode) empty = NULL;
  g_autoptr(JsonNode) id_node = NULL;
  OwlPending *pending;
  g_autofree char *frame = NULL;
  gsize len;

  g_task_set_source_tag (task, source_tag);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (g_atomic_int_get (&self->state) != OWL_CONNECTION_OPEN)
    {
      g_task_return_new_error (task, OWL_ERROR, OWL_ERROR_CLOSED, "The connection is closed");
      return;
    }

  if (!is_request && payload == NULL)
    payload = empty = owl_json_node_new_empty_array ();

  pending = g_new0 (OwlPending, 1);
  pending->connection = self;
  pending->id = g_strdup_printf ("s%" G_GUINT64_FORMAT, ++self->next_id);
  pending->task = g_steal_pointer (&task);

  if (timeout_ms == 0)
    timeout_ms = 30000;
  pending->timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (pending->timeout, pending_timeout_cb, pending, NULL);
  g_source_attach (pending->timeout, self->context);

  if (cancellable != NULL)
    {
      pending->cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (pending->cancel, G_SOURCE_FUNC (pending_cancel_cb), pending, NULL);
      g_source_attach (pending->cancel, self->context);
    }

  if (self->pending == NULL)
    self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) owl_pending_free);
  g_hash_table_insert (self->pending, pending->id, pending);

  id_node = json_node_init_string (json_node_alloc (), pending->id);
  frame = owl_envelope_frame (is_request ? "request" : "call", id_node,
                              "method", method, payload, is_request ? 0 : timeout_ms, &len);
  send_data (self, FALSE, frame, len);
}

/**
 * owl_connection_call_async:
 * @self: a connection
 * @method: the method the client should run
 * @params: (nullable): the arguments, a JSON array; %NULL for none
 * @timeout_ms: how long to wait for the answer; 0 for the default of 30 s
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the answer
 * @user_data: (closure): data for @callback
 *
 * Sends a `call` to the client and waits for its `result` or `error`. Call
 * it on the service's main context.
 *
 * Since: 0.1
 */
void
owl_connection_call_async (OwlConnection       *self,
                           const char          *method,
                           JsonNode            *params,
                           guint                timeout_ms,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (method != NULL);

  start_outgoing (self, FALSE, method, params, timeout_ms, cancellable,
                  callback, user_data, owl_connection_call_async);
}

/**
 * owl_connection_call_finish:
 * @self: a connection
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Owlsock.Connection.call_async]. A client's `error` answer
 * is an %OWL_ERROR with the code it named; no answer in time is
 * %OWL_ERROR_TIMEOUT; a closed connection is %OWL_ERROR_CLOSED; a cancelled
 * call is %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the `payload` of the client's `result`
 *
 * Since: 0.1
 */
JsonNode *
owl_connection_call_finish (OwlConnection  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * owl_connection_request_async:
 * @self: a connection
 * @payload: (nullable): the request's payload
 * @timeout_ms: how long to wait for the `response`; 0 for 30 s
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the response
 * @user_data: (closure): data for @callback
 *
 * Sends a `request` to the client and waits for its `response`. Call it on
 * the service's main context.
 *
 * Since: 0.1
 */
void
owl_connection_request_async (OwlConnection       *self,
                              JsonNode            *payload,
                              guint                timeout_ms,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));

  start_outgoing (self, TRUE, NULL, payload, timeout_ms, cancellable,
                  callback, user_data, owl_connection_request_async);
}

/**
 * owl_connection_request_finish:
 * @self: a connection
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Owlsock.Connection.request_async], with the errors of
 * [method@Owlsock.Connection.call_finish].
 *
 * Returns: (transfer full): the `payload` of the client's `response`
 *
 * Since: 0.1
 */
JsonNode *
owl_connection_request_finish (OwlConnection  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * owl_connection_notify_event:
 * @self: a connection
 * @event: the event name
 * @payload: (nullable): the payload
 * @error: return location for an error
 *
 * Sends `{"type": "event", "event": event, "payload": payload}`. Safe from
 * any thread.
 *
 * Returns: %TRUE if sent or queued
 *
 * Since: 0.1
 */
gboolean
owl_connection_notify_event (OwlConnection  *self,
                       const char     *event,
                       JsonNode       *payload,
                       GError        **error)
{
  gsize len;
  char *frame;

  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  if (!check_open (self, error))
    return FALSE;

  frame = owl_envelope_frame ("event", NULL, "event", event, payload, 0, &len);
  return owl_connection_send_take (self, frame, len, error);
}

/* Receiving --------------------------------------------------------------- */

static void
dispatch_call (OwlConnection *self,
               JsonObject    *object,
               gboolean       is_request)
{
  char buf[32];
  JsonNode *id_node;
  const char *id = owl_json_object_get_id (object, buf, &id_node);
  const char *method = NULL;
  g_autoptr(OwlCall) call = NULL;
  gboolean handled = FALSE;

  if (id == NULL)
    {
      send_error_frame (self, NULL, OWL_ERROR_MALFORMED, is_request ? "A request needs an id" : "A call needs an id");
      return;
    }

  if (!is_request)
    {
      method = owl_json_object_get_string (object, "method");
      if (method == NULL || method[0] == '\0')
        {
          send_error_frame (self, id_node, OWL_ERROR_MALFORMED, "A call needs a method");
          return;
        }
    }

  call = owl_call_new (self, id_node, method, json_object_get_member (object, "payload"), is_request);

  /* g_quark_try_string: a method nobody connected to has no quark, and
   * client-chosen names must not be interned forever. */
  if (is_request)
    g_signal_emit (self, signals[REQUEST], 0, call, &handled);
  else
    g_signal_emit (self, signals[CALL], g_quark_try_string (method), call, &handled);

  if (!handled && !owl_call_is_answered (call))
    {
      if (is_request)
        owl_call_return_error_literal (call, OWL_ERROR_UNKNOWN_METHOD, "Nobody handles requests here");
      else
        {
          g_autofree char *message = g_strdup_printf ("Unknown method: %s", method);

          owl_call_return_error_literal (call, OWL_ERROR_UNKNOWN_METHOD, message);
        }
    }
}

static void
dispatch_answer (OwlConnection *self,
                 JsonObject    *object,
                 gboolean       is_error)
{
  char buf[32];
  const char *id = owl_json_object_get_id (object, buf, NULL);

  if (id == NULL)
    {
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Answer without an id ignored");
      return;
    }

  if (is_error)
    pending_complete (self, id, NULL, owl_envelope_parse_error (object));
  else
    pending_complete (self, id, json_object_get_member (object, "payload"), NULL);
}

/* Token refresh ------------------------------------------------------------ */

/* One in-band `auth` message on its way through the module's guard and
 * gates. The identity it brings replaces the connection's only if it is
 * the same user and entity and every gate lets it through; otherwise the
 * old identity stays and the client is told why. */
typedef struct
{
  OwlConnection *connection;
  OwlRequest    *request;
  JsonNode      *id;
  OwlAuth       *auth;
  guint          next_gate;
} OwlRefresh;

static void
refresh_free (OwlRefresh *refresh)
{
  g_object_unref (refresh->connection);
  g_clear_object (&refresh->request);
  g_clear_pointer (&refresh->id, json_node_unref);
  g_clear_object (&refresh->auth);
  g_free (refresh);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRefresh, refresh_free)

static JsonNode *
auth_payload (OwlAuth *auth)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char * const *scopes = owl_auth_get_scopes (auth);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "userId");
  json_builder_add_string_value (builder, owl_auth_get_user_id (auth));
  if (owl_auth_get_entity_id (auth) != NULL)
    {
      json_builder_set_member_name (builder, "entityId");
      json_builder_add_string_value (builder, owl_auth_get_entity_id (auth));
    }
  json_builder_set_member_name (builder, "scopes");
  json_builder_begin_array (builder);
  for (guint i = 0; scopes != NULL && scopes[i] != NULL; i++)
    json_builder_add_string_value (builder, scopes[i]);
  json_builder_end_array (builder);
  if (owl_auth_get_expires_at (auth) != 0)
    {
      json_builder_set_member_name (builder, "expiresAt");
      json_builder_add_int_value (builder, owl_auth_get_expires_at (auth));
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
refresh_fail (OwlRefresh   *refresh,
              const GError *error)
{
  OwlConnection *self = refresh->connection;

  if (g_atomic_int_get (&self->state) != OWL_CONNECTION_OPEN)
    return;
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Token refresh refused: %s",
                error->domain == OWL_ERROR ? owl_error_code_to_string (error->code) : "failed");
  if (error->domain == OWL_ERROR && error->code != OWL_ERROR_INTERNAL)
    send_error_frame (self, refresh->id, error->code, error->message);
  else
    send_error_frame (self, refresh->id, OWL_ERROR_AUTH_FAILED, "Authentication failed");
}

static void
refresh_apply (OwlRefresh *refresh)
{
  OwlConnection *self = refresh->connection;
  g_autoptr(JsonNode) payload = NULL;
  g_autofree char *frame = NULL;
  gsize len;

  if (g_atomic_int_get (&self->state) != OWL_CONNECTION_OPEN)
    return;

  owl_request_set_auth (self->request, refresh->auth);
  self->auth_noticed = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTH]);
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Token refreshed");

  payload = auth_payload (refresh->auth);
  frame = owl_envelope_frame ("auth", refresh->id, "stage", "authenticated", payload, 0, &len);
  send_data (self, FALSE, frame, len);
}

static void refresh_next_gate (OwlRefresh *refresh);

static void
refresh_gate_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(OwlRefresh) refresh = user_data;
  g_autoptr(GError) error = NULL;

  if (!owl_gate_authorize_finish (OWL_GATE (source), result, &error))
    {
      refresh_fail (refresh, error);
      return;
    }
  refresh->next_gate++;
  refresh_next_gate (g_steal_pointer (&refresh));
}

static void
refresh_next_gate (OwlRefresh *refresh)
{
  OwlConnection *self = refresh->connection;
  const char * const *gates = owl_module_get_gates (self->module);
  OwlGate *gate = NULL;

  if (gates != NULL && gates[refresh->next_gate] != NULL && self->service != NULL)
    gate = owl_socket_service_lookup_gate (self->service, gates[refresh->next_gate]);

  if (gate == NULL)
    {
      refresh_apply (refresh);
      refresh_free (refresh);
      return;
    }

  owl_gate_authorize_async (gate, refresh->request, refresh->auth, NULL, refresh_gate_cb,
                            refresh /* owned by the callback from here */);
}

/* A refresh renews scopes and expiry, never who the connection is for:
 * rooms, per-user limits and the application's state were set up for the
 * user and entity it was opened with. An entity where there was none, or
 * none where there was one, is another entity too. Returns the refusal. */
static const char *
refresh_changes_identity (OwlAuth *current,
                          OwlAuth *renewed)
{
  if (!g_str_equal (owl_auth_get_user_id (renewed), owl_auth_get_user_id (current)))
    return "The token is for another user";
  if (g_strcmp0 (owl_auth_get_entity_id (renewed), owl_auth_get_entity_id (current)) != 0)
    return "The token is for another entity";
  return NULL;
}

static void
refresh_guard_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(OwlRefresh) refresh = user_data;
  g_autoptr(GError) error = NULL;
  OwlAuth *current = owl_request_get_auth (refresh->connection->request);
  const char *change;

  refresh->auth = owl_guard_authenticate_finish (OWL_GUARD (source), result, &error);
  if (refresh->auth == NULL)
    {
      refresh_fail (refresh, error);
      return;
    }

  change = refresh_changes_identity (current, refresh->auth);
  if (change != NULL)
    {
      g_autoptr(GError) other = g_error_new_literal (OWL_ERROR, OWL_ERROR_FORBIDDEN, change);

      refresh_fail (refresh, other);
      return;
    }

  owl_request_set_auth (refresh->request, refresh->auth);
  refresh_next_gate (g_steal_pointer (&refresh));
}

/* {type: "auth", stage: "authenticate", payload: {token}} */
static void
handle_auth (OwlConnection *self,
             JsonObject    *object)
{
  g_autoptr(OwlRefresh) refresh = g_new0 (OwlRefresh, 1);
  const char *stage = owl_json_object_get_string (object, "stage");
  JsonNode *payload = json_object_get_member (object, "payload");
  const char *token = NULL;
  OwlGuard *guard = NULL;
  OwlRequest *request;
  JsonNode *id;
  char buf[32];

  refresh->connection = g_object_ref (self);
  owl_json_object_get_id (object, buf, &id);
  refresh->id = id ? json_node_copy (id) : NULL;

  if (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload))
    token = owl_json_object_get_string (json_node_get_object (payload), "token");
  if (g_strcmp0 (stage, "authenticate") != 0 || token == NULL || token[0] == '\0')
    {
      send_error_frame (self, refresh->id, OWL_ERROR_MALFORMED,
                        "Expected {type: \"auth\", stage: \"authenticate\", payload: {token}}");
      return;
    }

  if (owl_request_get_auth (self->request) == NULL)
    {
      send_error_frame (self, refresh->id, OWL_ERROR_UNSUPPORTED, "This endpoint has no guards");
      return;
    }

  refresh->request = owl_request_new_with_token (self->request, token);
  if (self->service != NULL)
    guard = owl_socket_service_match_guard (self->service, self->module, refresh->request);
  if (guard == NULL)
    {
      send_error_frame (self, refresh->id, OWL_ERROR_AUTH_FAILED, "No guard takes this token");
      return;
    }

  request = refresh->request;
  owl_guard_authenticate_async (guard, request, NULL, refresh_guard_cb, g_steal_pointer (&refresh));
}

/* The module's message schema: a failing message is answered with a
 * `validation` error naming the JSON pointer and keyword, and dropped. */
static gboolean
check_message_schema (OwlConnection *self,
                      JsonObject    *object,
                      JsonNode      *root,
                      gsize          size)
{
  OwlSchema *schema = owl_module_get_message_schema (self->module);
  g_autofree char *pointer = NULL;
  g_autofree char *message = NULL;
  g_autofree char *text = NULL;
  g_autofree char *frame = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) details = NULL;
  const char *keyword = NULL;
  JsonNode *id;
  char buf[32];
  gsize len;

  if (schema == NULL ||
      owl_schema_check (schema, root, owl_schema_budget_for_size (size), &pointer, &keyword, &message))
    return TRUE;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pointer");
  json_builder_add_string_value (builder, pointer);
  json_builder_set_member_name (builder, "keyword");
  json_builder_add_string_value (builder, keyword);
  json_builder_end_object (builder);
  details = json_builder_get_root (builder);

  owl_json_object_get_id (object, buf, &id);
  text = g_strdup_printf ("%s: %s: %s", pointer[0] ? pointer : "(root)", keyword, message);
  frame = owl_envelope_error_frame_with_details (id, OWL_ERROR_VALIDATION, text, details, &len);
  send_data (self, FALSE, frame, len);
  return FALSE;
}

static void
dispatch_object (OwlConnection *self,
                 JsonNode      *root,
                 gsize          size)
{
  JsonObject *object = json_node_get_object (root);

  switch (owl_envelope_classify (object))
    {
    case OWL_ENVELOPE_PING:
      {
        char buf[32];
        JsonNode *id;
        gsize len;
        g_autofree char *frame = NULL;

        owl_json_object_get_id (object, buf, &id);
        frame = owl_envelope_frame ("pong", id, NULL, NULL, NULL, 0, &len);

        send_data (self, FALSE, frame, len);
      }
      break;
    case OWL_ENVELOPE_PONG:
      break;
    case OWL_ENVELOPE_CALL:
      dispatch_call (self, object, FALSE);
      break;
    case OWL_ENVELOPE_REQUEST:
      dispatch_call (self, object, TRUE);
      break;
    case OWL_ENVELOPE_RESULT:
    case OWL_ENVELOPE_RESPONSE:
      dispatch_answer (self, object, FALSE);
      break;
    case OWL_ENVELOPE_ERROR:
      dispatch_answer (self, object, TRUE);
      break;
    case OWL_ENVELOPE_EVENT:
      {
        const char *event = owl_json_object_get_string (object, "event");

        if (event == NULL)
          send_error_frame (self, NULL, OWL_ERROR_MALFORMED, "An event needs a name");
        else
          g_signal_emit (self, signals[EVENT], g_quark_try_string (event), event,
                         json_object_get_member (object, "payload"));
      }
      break;
    case OWL_ENVELOPE_AUTH:
      handle_auth (self, object);
      break;
    case OWL_ENVELOPE_APP:
    default:
      if (check_message_schema (self, object, root, size))
        g_signal_emit (self, signals[MESSAGE], 0, root);
      break;
    }
}

/* TRUE if the message may be handled. Over the rate, it is answered with a
 * `rate-limited` error instead; a client that keeps sending after more
 * than a burst of refusals in a row is closed with 1008. */
static gboolean
take_token (OwlConnection *self)
{
  gint64 now;

  if (self->rate_limit <= 0)
    return TRUE;

  now = g_get_monotonic_time ();
  self->tokens = MIN (self->rate_burst,
                      self->tokens + (now - self->tokens_at) * self->rate_limit / G_USEC_PER_SEC);
  self->tokens_at = now;

  if (self->tokens >= 1.0)
    {
      self->tokens -= 1.0;
      self->refused_in_a_row = 0;
      return TRUE;
    }

  if (++self->refused_in_a_row > (guint) self->rate_burst)
    {
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing: sustained rate-limit abuse");
      close_on_context (self, OWL_CLOSE_POLICY, "Rate limit");
      return FALSE;
    }

  send_error_frame (self, NULL, OWL_ERROR_RATE_LIMITED, "Too many messages");
  return FALSE;
}

static void
handle_message (OwlConnection *self,
                gboolean       binary,
                const guint8  *data,
                gsize          len)
{
  g_autoptr(JsonNode) root = NULL;
  OwlError code;

  /* Nothing reaches handlers once the server started closing. */
  if (g_atomic_int_get (&self->state) != OWL_CONNECTION_OPEN)
    return;

  if (self->service != NULL)
    owl_socket_service_count (self->service, TRUE, len);

  if (!take_token (self))
    return;

  if (binary)
    {
      send_error_frame (self, NULL, OWL_ERROR_MALFORMED, "Binary frames are not accepted here");
      return;
    }

  root = owl_json_parse ((const char *) data, len, self->max_json_depth, &code);
  if (root == NULL)
    {
      send_error_frame (self, NULL, code,
                        code == OWL_ERROR_TOO_DEEP ? "The message nests too deep"
                                                   : "The message is not valid JSON");
      return;
    }

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      send_error_frame (self, NULL, OWL_ERROR_MALFORMED, "A message must be a JSON object");
      return;
    }

  g_object_ref (self);
  dispatch_object (self, root, len);
  g_object_unref (self);
}

/* Transport callbacks ------------------------------------------------------ */

static void
on_transport_message (gpointer      user_data,
                      gboolean      binary,
                      const guint8 *data,
                      gsize         len)
{
  OwlConnection *self = user_data;

  if (!self->started)
    {
      OwlEarlyMessage *early = g_new0 (OwlEarlyMessage, 1);

      early->binary = binary;
      early->bytes = g_bytes_new (data, len);
      g_queue_push_tail (&self->early, early);
      return;
    }

  handle_message (self, binary, data, len);
}

static void
on_transport_error (gpointer      user_data,
                    const GError *error)
{
  OwlConnection *self = user_data;

  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Connection error: %s", error->message);
  g_signal_emit (self, signals[ERROR], 0, error);
}

static void
on_transport_closed (gpointer    user_data,
                     guint16     code,
                     const char *reason)
{
  OwlConnection *self = user_data;

  if (!self->started)
    {
      self->early_closed = TRUE;
      self->early_close_code = code;
      self->early_close_reason = g_strdup (reason);
      return;
    }

  owl_connection_handle_closed (self, code, reason);
}

static void
on_transport_drain (gpointer user_data)
{
  OwlConnection *self = user_data;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUFFERED_AMOUNT]);
  g_signal_emit (self, signals[DRAIN], 0);
}

static const OwlTransportCallbacks transport_callbacks = {
  .message = on_transport_message,
  .error = on_transport_error,
  .closed = on_transport_closed,
  .drain = on_transport_drain,
};

static void
owl_connection_handle_closed (OwlConnection *self,
                              guint16        code,
                              const char    *reason)
{
  g_autoptr(OwlSocketService) service = NULL;
  GHashTableIter iter;
  gpointer value;

  if (g_atomic_int_get (&self->state) == OWL_CONNECTION_CLOSED)
    return;

  g_object_ref (self);

  g_atomic_int_set (&self->state, OWL_CONNECTION_CLOSED);
  self->close_code = code;
  self->close_reason = g_strdup (reason ? reason : "");

  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closed with %u", code);

  /* Calls to the client fail now, not at their timeout. */
  if (self->pending != NULL)
    {
      g_hash_table_iter_init (&iter, self->pending);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          OwlPending *pending = value;
          g_autoptr(GTask) task = g_steal_pointer (&pending->task);

          g_hash_table_iter_remove (&iter);
          g_task_return_new_error (task, OWL_ERROR, OWL_ERROR_CLOSED, "The connection closed");
        }
    }

  service = self->service ? g_object_ref (self->service) : NULL;
  if (service != NULL)
    owl_socket_service_connection_closed (service, self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_signal_emit (self, signals[CLOSED], 0, (guint) code, self->close_reason);

  /* After `closed`, so a stop finishes only once every handler ran. */
  if (service != NULL)
    owl_socket_service_check_stopped (service);

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
owl_connection_new (OwlSocketService       *service,
                    OwlModule              *module,
                    OwlRequest             *request,
                    GIOStream              *stream,
                    GUri                   *uri,
                    const OwlLimits        *limits,
                    const OwlDeflateParams *deflate)
{
  OwlConnection *self = g_object_new (OWL_TYPE_CONNECTION, NULL);
  OwlTransportLimits transport_limits = {
    .max_message_size = limits->max_message_size,
    .ping_interval_s = limits->ping_interval,
    .pong_timeout_s = limits->pong_timeout,
    .idle_timeout_s = limits->idle_timeout,
    .max_buffered = limits->max_buffered_amount,
    .full_policy = limits->backpressure == OWL_BACKPRESSURE_DROP ? OWL_TRANSPORT_FULL_DROP
                                                                 : OWL_TRANSPORT_FULL_CLOSE,
    .deflate = deflate,
  };

  self->id = new_connection_id ();
  self->service = service;
  self->module = g_object_ref (module);
  self->request = g_object_ref (request);
  self->context = g_main_context_ref (owl_socket_service_get_context (service));
  self->max_json_depth = limits->max_json_depth;
  self->rate_limit = limits->rate_limit;
  self->rate_burst = limits->rate_burst;
  self->tokens = limits->rate_burst;
  self->tokens_at = g_get_monotonic_time ();

  self->transport = owl_transport_new_ws (stream, &transport_limits, &transport_callbacks, self);
  if (self->transport == NULL)
    {
      /* TLS: libsoup keeps the stream, so the handshake bounds end here. */
      owl_fd_stream_mark_upgraded (stream);
      self->transport = owl_transport_new_soup (stream, uri, owl_request_get_origin (request),
                                                &transport_limits, &transport_callbacks, self);
    }

  return self;
}

/* Tells the client before its identity expires, and closes with 4001 when
 * it did not refresh in time. */
static void
check_auth_expiry (OwlConnection *self)
{
  OwlAuth *auth = owl_request_get_auth (self->request);
  gint64 expires_at, now, notice;

  if (auth == NULL || (expires_at = owl_auth_get_expires_at (auth)) == 0 || self->service == NULL)
    return;

  now = g_get_real_time () / G_USEC_PER_SEC;
  if (now >= expires_at)
    {
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing: the token expired");
      close_on_context (self, OWL_CLOSE_AUTH_EXPIRED, "Token expired");
      return;
    }

  notice = owl_socket_service_get_auth_expiry_notice (self->service);
  if (!self->auth_noticed && now >= expires_at - notice)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) payload = NULL;
      g_autofree char *frame = NULL;
      gsize len;

      self->auth_noticed = TRUE;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "expiresAt");
      json_builder_add_int_value (builder, expires_at);
      json_builder_set_member_name (builder, "expiresIn");
      json_builder_add_int_value (builder, expires_at - now);
      json_builder_end_object (builder);
      payload = json_builder_get_root (builder);
      frame = owl_envelope_frame ("system", NULL, "event", "auth-expiring", payload, 0, &len);
      send_data (self, FALSE, frame, len);
    }
}

void
owl_connection_tick (OwlConnection *self,
                     gint64         now_us)
{
  if (self->transport != NULL)
    owl_transport_tick (self->transport, now_us);
  if (g_atomic_int_get (&self->state) == OWL_CONNECTION_OPEN)
    check_auth_expiry (self);
}

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

/* Called once the connection handlers returned: delivers what arrived while
 * they ran, in order, then a close that came meanwhile. */
void
owl_connection_start (OwlConnection *self)
{
  OwlEarlyMessage *early;

  if (self->started)
    return;

  g_object_ref (self);
  self->started = TRUE;

  while ((early = g_queue_pop_head (&self->early)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (early->bytes, &len);

      handle_message (self, early->binary, data, len);
      early_message_free (early);
    }

  /* A token that is close to its end is announced now, not a tick later
   * (when it may be over already). */
  if (!self->early_closed && g_atomic_int_get (&self->state) == OWL_CONNECTION_OPEN)
    check_auth_expiry (self);

  if (self->early_closed)
    owl_connection_handle_closed (self, self->early_close_code, self->early_close_reason);

  g_object_unref (self);
}

void
owl_connection_detach_service (OwlConnection *self)
{
  self->service = NULL;
}

GHashTable *
owl_connection_get_room_set (OwlConnection *self)
{
  return self->rooms;
}

guint
owl_connection_get_n_early (OwlConnection *self)
{
  return self->early.length;
}

/* Accessors ---------------------------------------------------------------- */

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

  return g_atomic_int_get (&self->state);
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

/* Rooms -------------------------------------------------------------------- */

/**
 * owl_connection_join:
 * @self: a connection
 * @room: a room name
 *
 * Adds the connection to @room, so that broadcasts to @room reach it. A
 * closed connection leaves every room. Call on the service's main context.
 *
 * Since: 0.1
 */
void
owl_connection_join (OwlConnection *self,
                     const char    *room)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (room != NULL);

  if (owl_connection_get_state (self) == OWL_CONNECTION_CLOSED || self->service == NULL)
    return;
  if (self->rooms == NULL)
    self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_contains (self->rooms, room))
    return;

  g_hash_table_add (self->rooms, g_strdup (room));
  owl_socket_service_room_add (self->service, room, self);
}

/**
 * owl_connection_leave:
 * @self: a connection
 * @room: a room name
 *
 * Removes the connection from @room.
 *
 * Since: 0.1
 */
void
owl_connection_leave (OwlConnection *self,
                      const char    *room)
{
  g_return_if_fail (OWL_IS_CONNECTION (self));
  g_return_if_fail (room != NULL);

  if (self->rooms == NULL || !g_hash_table_remove (self->rooms, room))
    return;

  if (self->service != NULL)
    owl_socket_service_room_remove (self->service, room, self);
}

/**
 * owl_connection_in_room:
 * @self: a connection
 * @room: a room name
 *
 * Tells whether the connection is a member of @room.
 *
 * Returns: whether the connection is in @room
 *
 * Since: 0.1
 */
gboolean
owl_connection_in_room (OwlConnection *self,
                        const char    *room)
{
  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (room != NULL, FALSE);

  return self->rooms != NULL && g_hash_table_contains (self->rooms, room);
}

/**
 * owl_connection_dup_rooms:
 * @self: a connection
 *
 * Lists the rooms the connection is a member of.
 *
 * Returns: (transfer full) (array zero-terminated=1): the rooms the
 *   connection is in
 *
 * Since: 0.1
 */
char **
owl_connection_dup_rooms (OwlConnection *self)
{
  g_autofree gpointer *keys = NULL;

  g_return_val_if_fail (OWL_IS_CONNECTION (self), NULL);

  if (self->rooms == NULL)
    return g_new0 (char *, 1);

  keys = g_hash_table_get_keys_as_array (self->rooms, NULL);
  return g_strdupv ((char **) keys);
}
