/* owl-socket-client-send.c: sending and calling, and the queue of what waits for a connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owl-envelope-private.h"
#include "owl-frame-private.h"
#include "owl-json-private.h"
#include "owl-socket-client-private.h"

/* The queue ------------------------------------------------------------------------ */

void
owl_client_pending_free (OwlClientPending *pending)
{
  g_free (pending->text);
  g_free (pending->method);
  g_clear_pointer (&pending->payload, json_node_unref);
  g_free (pending);
}

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;
  JsonNode *answer = owl_channel_call_finish (result, &error);

  if (answer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, answer, (GDestroyNotify) json_node_unref);
}

/* A call or request on the open channel; takes @task, whose data is the
 * pending call. */
static void
send_call (OwlSocketClient *self,
           GTask           *task)
{
  OwlClientPending *call = g_task_get_task_data (task);

  owl_channel_call_async (self->channel, call->method, call->payload, call->timeout_ms,
                          g_task_get_cancellable (task), on_call_done, task, g_task_get_source_tag (task));
}

void
owl_socket_client_flush_queue (OwlSocketClient *self)
{
  OwlClientPending *pending;

  while (self->channel != NULL && (pending = g_queue_pop_head (&self->queue)) != NULL)
    {
      if (pending->task != NULL)
        send_call (self, pending->task);
      else
        {
          owl_channel_send_take (self->channel, g_steal_pointer (&pending->text), pending->len, NULL);
          owl_client_pending_free (pending);
        }
    }
}

guint
owl_socket_client_fail_queue (OwlSocketClient *self,
                              OwlError         code,
                              const char      *message)
{
  OwlClientPending *pending;
  guint dropped = 0;

  while ((pending = g_queue_pop_head (&self->queue)) != NULL)
    {
      if (pending->task != NULL)
        {
          g_autoptr(GTask) task = pending->task;

          g_task_return_new_error (task, OWL_ERROR, code, "%s", message);
        }
      else
        {
          owl_client_pending_free (pending);
          dropped++;
        }
    }
  return dropped;
}

/* Queues @pending while a connection is being made; FALSE when the
 * client is not trying to connect, or the queue is full. */
static gboolean
enqueue (OwlSocketClient   *self,
         OwlClientPending  *pending,
         GError           **error)
{
  if (self->state != OWL_SOCKET_CLIENT_CONNECTING && self->state != OWL_SOCKET_CLIENT_RECONNECTING &&
      self->state != OWL_SOCKET_CLIENT_CONNECTED)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_CLOSED, "The client is not connected");
      return FALSE;
    }
  if (self->queue.length >= self->max_queued)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_UNAVAILABLE,
                   "Not connected, and %u messages wait already", self->max_queued);
      return FALSE;
    }
  g_queue_push_tail (&self->queue, pending);
  return TRUE;
}

/* Sending ----------------------------------------------------------------------------- */

static gboolean
channel_is_open (OwlSocketClient *self)
{
  return self->channel != NULL && owl_channel_get_state (self->channel) == OWL_CHANNEL_OPEN;
}

static gboolean
send_take (OwlSocketClient  *self,
           char             *text,
           gsize             len,
           GError          **error)
{
  OwlClientPending *pending;

  if (channel_is_open (self))
    return owl_channel_send_take (self->channel, text, len, error);

  pending = g_new0 (OwlClientPending, 1);
  pending->text = text;
  pending->len = len;
  if (!enqueue (self, pending, error))
    {
      owl_client_pending_free (pending);
      return FALSE;
    }
  return TRUE;
}

/**
 * owl_socket_client_send:
 * @self: a client
 * @message: the JSON message (an object, in owlsock's protocol)
 * @error: return location for an error
 *
 * Sends @message as one text frame. While the client is connecting or
 * reconnecting, the message waits (at most
 * [property@Owlsock.SocketClient:max-queued] of them) and goes out, in
 * order, once connected; past that bound, or when the client is
 * disconnected or closed, it is refused.
 *
 * Returns: %TRUE if the message was sent or queued; %FALSE with
 *   `unavailable` (the queue is full) or `closed`
 *
 * Since: 0.1
 */
gboolean
owl_socket_client_send (OwlSocketClient  *self,
                        JsonNode         *message,
                        GError          **error)
{
  gsize len;
  char *text;

  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = owl_json_to_data (message, &len);
  return send_take (self, text, len, error);
}

/**
 * owl_socket_client_send_text:
 * @self: a client
 * @text: the text of one frame, valid UTF-8
 * @error: return location for an error
 *
 * Sends @text as it is, as one text frame; waits and is refused as
 * [method@Owlsock.SocketClient.send] says.
 *
 * Returns: %TRUE if the text was sent or queued
 *
 * Since: 0.1
 */
gboolean
owl_socket_client_send_text (OwlSocketClient  *self,
                             const char       *text,
                             GError          **error)
{
  gsize len;

  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  /* The frame reader's check: g_utf8_validate()'s answers, several times
   * faster on the mostly ASCII text JSON is. */
  len = strlen (text);
  if (!owl_frame_utf8_valid ((const guint8 *) text, len))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT, "The text is not valid UTF-8");
      return FALSE;
    }
  /* Open: sent from @text, not from a copy of it. */
  if (channel_is_open (self))
    return owl_channel_send_text (self->channel, text, len, error);
  return send_take (self, g_strndup (text, len), len, error);
}

/**
 * owl_socket_client_send_event:
 * @self: a client
 * @event: the event's name
 * @payload: (nullable): its payload
 * @error: return location for an error
 *
 * Sends `{"type": "event", "event": @event, "payload": @payload}`; the
 * server emits it as `event::EVENT`.
 *
 * Returns: %TRUE if the event was sent or queued
 *
 * Since: 0.1
 */
gboolean
owl_socket_client_send_event (OwlSocketClient  *self,
                              const char       *event,
                              JsonNode         *payload,
                              GError          **error)
{
  gsize len;
  char *text;

  g_return_val_if_fail (OWL_IS_SOCKET_CLIENT (self), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  text = owl_envelope_event (event, payload, &len);
  return send_take (self, text, len, error);
}

/* Calls ------------------------------------------------------------------------------- */

static void
call_start (OwlSocketClient     *self,
            const char          *method,
            JsonNode            *payload,
            guint                timeout_ms,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  OwlClientPending *call = g_new0 (OwlClientPending, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, source_tag);
  call->method = g_strdup (method);
  call->payload = payload ? json_node_ref (payload) : NULL;
  call->timeout_ms = timeout_ms;
  call->task = task;
  g_task_set_task_data (task, call, (GDestroyNotify) owl_client_pending_free);

  if (channel_is_open (self))
    send_call (self, g_steal_pointer (&task));
  else if (enqueue (self, call, &error))
    g_steal_pointer (&task);  /* the queue holds it */
  else
    g_task_return_error (task, error);
}

/**
 * owl_socket_client_call_async:
 * @self: a client
 * @method: the method's name
 * @params: (nullable): its arguments: an array (sent as `payload`), or
 *   one value (sent as a one-element array)
 * @timeout_ms: how long to wait for the answer once sent; 0: 30 s
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the answer
 * @user_data: (closure): data for @callback
 *
 * Sends a `call` and waits for its `result` or `error`. A call made while
 * the client is connecting or reconnecting waits in the queue of
 * [method@Owlsock.SocketClient.send] and its timeout starts when it is
 * sent.
 *
 * Since: 0.1
 */
void
owl_socket_client_call_async (OwlSocketClient     *self,
                              const char          *method,
                              JsonNode            *params,
                              guint                timeout_ms,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(JsonNode) args = NULL;

  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));
  g_return_if_fail (method != NULL);

  if (params != NULL && !JSON_NODE_HOLDS_ARRAY (params))
    {
      JsonArray *array = json_array_new ();

      json_array_add_element (array, json_node_copy (params));
      args = json_node_init_array (json_node_alloc (), array);
      json_array_unref (array);
    }
  call_start (self, method, args ? args : params, timeout_ms, cancellable, callback, user_data,
              owl_socket_client_call_async);
}

/**
 * owl_socket_client_call_finish:
 * @self: a client
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * The answer of a call. An `error` frame becomes an error in `OWL_ERROR`
 * with the server's code (its `recoverable` flag is
 * [func@Owlsock.Error.code_is_recoverable] of it); no answer in time is
 * `timeout`, the connection's end `closed`, a cancelled call
 * `G_IO_ERROR_CANCELLED`.
 *
 * Returns: (transfer full): the `result`'s payload (JSON null if it had
 *   none), or %NULL with @error set
 *
 * Since: 0.1
 */
JsonNode *
owl_socket_client_call_finish (OwlSocketClient  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * owl_socket_client_request_async:
 * @self: a client
 * @payload: (nullable): the request's payload
 * @timeout_ms: how long to wait for the `response`; 0: 30 s
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the response
 * @user_data: (closure): data for @callback
 *
 * Sends a `request` and waits for the `response` with the same id, as
 * [method@Owlsock.SocketClient.call_async] does for calls.
 *
 * Since: 0.1
 */
void
owl_socket_client_request_async (OwlSocketClient     *self,
                                 JsonNode            *payload,
                                 guint                timeout_ms,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  call_start (self, NULL, payload, timeout_ms, cancellable, callback, user_data,
              owl_socket_client_request_async);
}

/**
 * owl_socket_client_request_finish:
 * @self: a client
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * The response to a request; errors as for
 * [method@Owlsock.SocketClient.call_finish].
 *
 * Returns: (transfer full): the `response`'s payload, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
JsonNode *
owl_socket_client_request_finish (OwlSocketClient  *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
