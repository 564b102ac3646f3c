/* owl-connection-io.c: what goes in and out of a connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In: the transport's messages wait until the connection handler returned,
 * then pass the rate limit and go to the channel, which dispatches the
 * envelope; what is the application's passes the module's schemas (as
 * they were when the connection was admitted) and is emitted. Out: sends and closes from any thread go through the channel.
 */

#include <string.h>

#include "owl-connection-private.h"
#include "owl-envelope-private.h"
#include "owl-frame-private.h"
#include "owl-json-private.h"
#include "owl-log-private.h"
#include "owl-module-private.h"

/* RFC 6455: a close frame's payload is at most 125 bytes, 2 of them the code. */
#define OWL_CLOSE_REASON_MAX OWL_FRAME_MAX_CLOSE_REASON

/* Transport callbacks ------------------------------------------------------ */

static OwlEarly *
early_get (OwlConnection *self)
{
  if (self->early == NULL)
    {
      self->early = g_new0 (OwlEarly, 1);
      g_queue_init (&self->early->messages);
    }
  return self->early;
}

void
owl_connection_early_free (OwlEarly *early)
{
  g_queue_clear_full (&early->messages, (GDestroyNotify) g_bytes_unref);
  g_free (early->close_reason);
  g_free (early);
}

static void
on_transport_message (gpointer      user_data,
                      gboolean      binary,
                      const guint8 *data,
                      gsize         len)
{
  OwlConnection *self = user_data;

  if (!self->started)
    {
      /* One byte ahead tells binary from text. */
      GByteArray *early = g_byte_array_sized_new (len + 1);
      guint8 kind = binary;

      g_byte_array_append (early, &kind, 1);
      g_byte_array_append (early, data, len);
      g_queue_push_tail (&early_get (self)->messages, g_byte_array_free_to_bytes (early));
      return;
    }

  owl_channel_receive (self->channel, binary, data, len, self->host->limits.max_json_depth);
}

static void
on_transport_error (gpointer      user_data,
                    const GError *error)
{
  OwlConnection *self = user_data;

  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Connection error: %s", error->message);
  owl_connection_emit_error (self, error);
}

static void
on_transport_closed (gpointer    user_data,
                     guint16     code,
                     const char *reason)
{
  OwlConnection *self = user_data;

  if (!self->started)
    {
      OwlEarly *early = early_get (self);

      if (!early->closed)
        {
          early->closed = TRUE;
          early->close_code = code;
          early->close_reason = g_strdup (reason);
        }
      return;
    }
  owl_connection_handle_closed (self, code, reason);
}

static void
on_transport_drain (gpointer user_data)
{
  owl_connection_emit_drain (user_data);
}

/* The pong or idle timeout sent a close frame: closing from now on. */
static void
on_transport_closing (gpointer    user_data,
                      guint16     code,
                      const char *reason)
{
  OwlConnection *self = user_data;

  if (owl_channel_begin_close (self->channel))
    {
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing with %u", code);
      owl_connection_emit_closing (self, code, reason);
    }
}

const OwlTransportCallbacks owl_connection_transport_callbacks = {
  .message = on_transport_message,
  .error = on_transport_error,
  .closed = on_transport_closed,
  .drain = on_transport_drain,
  .closing = on_transport_closing,
};

/* Called once the connection handlers returned: delivers what arrived while
 * they ran, in order, then a close that came meanwhile. */
void
owl_connection_start (OwlConnection *self)
{
  OwlEarly *early;
  GBytes *bytes;

  if (self->started)
    return;

  g_object_ref (self);
  self->started = TRUE;
  early = g_steal_pointer (&self->early);

  while (early != NULL && (bytes = g_queue_pop_head (&early->messages)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);

      owl_channel_receive (self->channel, data[0], data + 1, len - 1, self->host->limits.max_json_depth);
      g_bytes_unref (bytes);
    }

  if (early != NULL && early->closed)
    owl_connection_handle_closed (self, early->close_code, early->close_reason);
  /* A token that is close to its end is announced now, not a tick later
   * (when it may be over already). */
  else if (owl_channel_get_state (self->channel) == OWL_CHANNEL_OPEN)
    owl_connection_check_expiry (self);

  g_clear_pointer (&early, owl_connection_early_free);
  g_object_unref (self);
}

/* The channel's handlers --------------------------------------------------- */

/* The rate limit: a message over it is answered with `rate-limited`; a
 * client that keeps sending after more than a burst of refusals in a row
 * is closed with 1008. */
static gboolean
on_channel_admit (gpointer owner)
{
  OwlConnection *self = owner;

  switch (owl_token_bucket_take (&self->bucket))
    {
    case OWL_TOKEN_TAKEN:
      return TRUE;
    case OWL_TOKEN_ABUSE:
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing: sustained rate-limit abuse");
      owl_connection_close_now (self, OWL_CLOSE_POLICY, "Rate limit");
      return FALSE;
    case OWL_TOKEN_REFUSED:
    default:
      owl_channel_send_error_literal (self->channel, NULL, OWL_ERROR_RATE_LIMITED, "Too many messages");
      return FALSE;
    }
}

/* The module's message schemas: a failing message is answered with a
 * `validation` error naming the type (when its own schema failed), the
 * JSON pointer and keyword, and dropped. */
static void
on_channel_message (gpointer  owner,
                    JsonNode *root,
                    gsize     size)
{
  OwlConnection *self = owner;
  g_auto(OwlMessageFailure) failure = { NULL, NULL, NULL, NULL };
  g_autofree char *frame = NULL;
  JsonNode *id;
  char buf[32];
  gsize len;

  if (owl_message_schemas_check (self->host->schemas, root, size, &failure))
    {
      owl_connection_emit_message (self, root);
      return;
    }

  owl_json_object_get_id (json_node_get_object (root), buf, &id);
  frame = owl_envelope_validation_error (id, failure.type, failure.pointer, failure.keyword,
                                         failure.message, &len);
  owl_channel_send_take (self->channel, g_steal_pointer (&frame), len, NULL);
}

static gboolean
on_channel_call (gpointer  owner,
                 OwlCall  *call)
{
  return owl_connection_emit_call (owner, call);
}

static void
on_channel_event (gpointer    owner,
                  const char *event,
                  JsonNode   *payload)
{
  owl_connection_emit_event (owner, event, payload);
}

static void
on_channel_auth (gpointer    owner,
                 JsonObject *object)
{
  owl_connection_refresh (owner, object);
}

const OwlChannelHandlers owl_connection_channel_handlers = {
  .admit = on_channel_admit,
  .message = on_channel_message,
  .call = on_channel_call,
  .event = on_channel_event,
  .auth = on_channel_auth,
};

/* Sending -------------------------------------------------------------------- */

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

  if (!owl_channel_check_open (self->channel, error))
    return FALSE;
  data = owl_json_to_data (message, &len);
  return owl_channel_send_take (self->channel, data, len, error);
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

  if (!owl_channel_check_open (self->channel, error))
    return FALSE;
  len = strlen (text);
  if (!g_utf8_validate_len (text, len, NULL))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT, "Text is not valid UTF-8");
      return FALSE;
    }
  return owl_channel_send_take (self->channel, g_strndup (text, len), len, error);
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
  g_return_val_if_fail (OWL_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  return owl_channel_send_binary (self->channel, data, error);
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
 * Returns: %TRUE if sent or queued, %FALSE with %OWL_ERROR_CLOSED if the
 *   connection is closing or closed
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

  if (!owl_channel_check_open (self->channel, error))
    return FALSE;
  frame = owl_envelope_event (event, payload, &len);
  return owl_channel_send_take (self->channel, frame, len, error);
}

/* Closing ------------------------------------------------------------------- */

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

/* On the context: the close handshake starts, once; the close frame is
 * on its way before the handlers of `closing` run. */
void
owl_connection_close_now (OwlConnection *self,
                          guint16        code,
                          const char    *reason)
{
  if (!owl_channel_begin_close (self->channel))
    return;

  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing with %u", code);
  owl_transport_close (self->transport, code, reason);
  owl_connection_emit_closing (self, code, reason);
}

typedef struct
{
  guint16  code;
  char    *reason;
} CloseOp;

static void
close_op_run (gpointer owner,
              gpointer data)
{
  CloseOp *op = data;

  owl_connection_close_now (owner, op->code, op->reason);
}

static void
close_op_free (gpointer data)
{
  CloseOp *op = data;

  g_free (op->reason);
  g_free (op);
}

/**
 * owl_connection_close:
 * @self: a connection
 * @code: the close code, such as %OWL_CLOSE_NORMAL; a code that may not be
 *   sent (1005, 1006, 1015, under 1000, ...) is sent as 1000
 * @reason: (nullable): a short reason, cut to 123 bytes on a character
 *   boundary
 *
 * Starts the close handshake: [signal@Owlsock.Connection::closing] is
 * emitted at once (on the service's main context), and
 * [signal@Owlsock.Connection::closed] follows when the handshake completes.
 * Safe from any thread; does nothing if the connection is already closing.
 *
 * Since: 0.1
 */
void
owl_connection_close (OwlConnection *self,
                      guint16        code,
                      const char    *reason)
{
  CloseOp *op;

  g_return_if_fail (OWL_IS_CONNECTION (self));

  op = g_new0 (CloseOp, 1);
  op->code = owl_frame_close_code_is_valid (code) ? code : OWL_CLOSE_NORMAL;
  op->reason = truncate_reason (reason);
  owl_channel_invoke (self->channel, close_op_run, op, close_op_free);
}

/* Calls from the server ---------------------------------------------------- */

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
 * it on the service's main context. On a connection that is closing or
 * closed it fails at once with %OWL_ERROR_CLOSED; a call still waiting when
 * the connection ends fails with it too.
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

  owl_channel_call_async (self->channel, method, params, timeout_ms, cancellable,
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

  return owl_channel_call_finish (result, error);
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
 * the service's main context. Fails with %OWL_ERROR_CLOSED as
 * [method@Owlsock.Connection.call_async] does.
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

  owl_channel_call_async (self->channel, NULL, payload, timeout_ms, cancellable,
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

  return owl_channel_call_finish (result, error);
}
