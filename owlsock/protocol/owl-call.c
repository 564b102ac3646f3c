/* owl-call.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-call-private.h"
#include "owl-channel-private.h"
#include "owl-envelope-private.h"
#include "owl-json-private.h"

/**
 * OwlCall:
 *
 * One `call` (or `request`) from a client, waiting for its answer.
 *
 * Handlers of [signal@Owlsock.Connection::call] and
 * [signal@Owlsock.Connection::request] return %TRUE to take a call, then answer
 * it exactly once with [method@Owlsock.Call.return_value] or
 * [method@Owlsock.Call.return_error], at once or later (keep a reference).
 * Answering is safe from any thread. A call that is dropped unanswered is
 * answered with an `internal` error, so the client never waits forever.
 *
 * Since: 0.1
 */
struct _OwlCall
{
  GObject        parent_instance;

  OwlChannel    *channel;     /* the answer goes out there */
  GObject       *connection;  /* the channel's owner, for the application */
  char          *id;
  JsonNode      *id_node;
  char          *method;
  JsonNode      *params;
  gboolean       is_request;
  gint           answered;
};

G_DEFINE_FINAL_TYPE (OwlCall, owl_call, G_TYPE_OBJECT)

static void
owl_call_dispose (GObject *object)
{
  OwlCall *self = OWL_CALL (object);

  if (self->channel != NULL && !g_atomic_int_get (&self->answered))
    owl_call_return_error_literal (self, OWL_ERROR_INTERNAL, "No answer");

  g_clear_pointer (&self->channel, owl_channel_unref);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (owl_call_parent_class)->dispose (object);
}

static void
owl_call_finalize (GObject *object)
{
  OwlCall *self = OWL_CALL (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->id_node, json_node_unref);
  g_clear_pointer (&self->method, g_free);
  g_clear_pointer (&self->params, json_node_unref);

  G_OBJECT_CLASS (owl_call_parent_class)->finalize (object);
}

static void
owl_call_class_init (OwlCallClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = owl_call_dispose;
  object_class->finalize = owl_call_finalize;
}

static void
owl_call_init (OwlCall *self)
{
}

OwlCall *
owl_call_new (OwlChannel *channel,
              gpointer    owner,
              JsonNode   *id,
              const char *method,
              JsonNode   *params,
              gboolean    is_request)
{
  OwlCall *self = g_object_new (OWL_TYPE_CALL, NULL);

  self->channel = owl_channel_ref (channel);
  self->connection = g_object_ref (owner);
  /* The string form for get_id (); the node goes back in the answer. */
  self->id_node = json_node_copy (id);
  if (json_node_get_value_type (id) == G_TYPE_STRING)
    self->id = json_node_dup_string (id);
  else
    self->id = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (id));
  self->method = g_strdup (method);
  self->params = params ? json_node_ref (params) : owl_json_node_new_empty_array ();
  self->is_request = is_request;

  return self;
}

/**
 * owl_call_get_id:
 * @self: a call
 *
 * Gets the id the client gave the call; the answer carries it back.
 *
 * Returns: the id the client gave the call
 *
 * Since: 0.1
 */
const char *
owl_call_get_id (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), NULL);

  return self->id;
}

/**
 * owl_call_get_method:
 * @self: a call
 *
 * Gets the name of the method the client calls.
 *
 * Returns: (nullable): the method name; %NULL for a `request`
 *
 * Since: 0.1
 */
const char *
owl_call_get_method (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), NULL);

  return self->method;
}

/**
 * owl_call_get_params:
 * @self: a call
 *
 * The `payload` of the call: for a `call`, the argument array (an empty
 * array if the client sent none); for a `request`, whatever it sent.
 *
 * Returns: (transfer none): the params
 *
 * Since: 0.1
 */
JsonNode *
owl_call_get_params (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), NULL);

  return self->params;
}

/**
 * owl_call_get_connection:
 * @self: a call
 *
 * Gets the connection the call arrived on.
 *
 * Returns: (transfer none) (nullable): the connection the call came on;
 *   %NULL for a call the server made to an [class@Owlsock.SocketClient]
 *   (see [method@Owlsock.Call.get_owner])
 *
 * Since: 0.1
 */
OwlConnection *
owl_call_get_connection (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), NULL);

  /* protocol/ knows no OwlConnection: its type is looked up by name. */
  if (!g_type_is_a (G_OBJECT_TYPE (self->connection), g_type_from_name ("OwlConnection")))
    return NULL;
  return (OwlConnection *) self->connection;
}

/**
 * owl_call_get_owner:
 * @self: a call
 *
 * Gets the object the call arrived at: the [class@Owlsock.Connection] on
 * a server, the [class@Owlsock.SocketClient] on a client.
 *
 * Returns: (transfer none): the connection or client the call came on
 *
 * Since: 0.1
 */
GObject *
owl_call_get_owner (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), NULL);

  return self->connection;
}

/**
 * owl_call_is_request:
 * @self: a call
 *
 * Tells a `request` from a `call`.
 *
 * Returns: %TRUE for a `request` (answered by a `response`), %FALSE for a
 *   `call` (answered by a `result`)
 *
 * Since: 0.1
 */
gboolean
owl_call_is_request (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), FALSE);

  return self->is_request;
}

/**
 * owl_call_is_answered:
 * @self: a call
 *
 * Tells whether the call has been answered, by a handler or by owlsock.
 *
 * Returns: whether the call has been answered
 *
 * Since: 0.1
 */
gboolean
owl_call_is_answered (OwlCall *self)
{
  g_return_val_if_fail (OWL_IS_CALL (self), FALSE);

  return g_atomic_int_get (&self->answered);
}

static gboolean
owl_call_claim (OwlCall *self)
{
  if (!g_atomic_int_compare_and_exchange (&self->answered, FALSE, TRUE))
    {
      g_warning ("Call %s was answered twice", self->id);
      return FALSE;
    }
  return TRUE;
}

/**
 * owl_call_return_value:
 * @self: a call
 * @result: (nullable): the result; %NULL sends JSON `null`
 *
 * Answers the call with a `result` (or a `response` for a request).
 *
 * Since: 0.1
 */
void
owl_call_return_value (OwlCall  *self,
                       JsonNode *result)
{
  g_autoptr(JsonNode) null_node = NULL;
  gsize len;
  char *frame;

  g_return_if_fail (OWL_IS_CALL (self));

  if (!owl_call_claim (self))
    return;

  if (result == NULL)
    result = null_node = json_node_new (JSON_NODE_NULL);

  frame = owl_envelope_answer (self->id_node, self->is_request, result, &len);
  owl_channel_send_take (self->channel, frame, len, NULL);
}

/**
 * owl_call_return_error:
 * @self: a call
 * @error: why the call failed
 *
 * Answers the call with an `error` frame. An %OWL_ERROR error reaches the
 * client with its code and message; an error of any other domain is internal
 * and the client only sees the `internal` code.
 *
 * Since: 0.1
 */
void
owl_call_return_error (OwlCall      *self,
                       const GError *error)
{
  gsize len;
  char *frame;

  g_return_if_fail (OWL_IS_CALL (self));
  g_return_if_fail (error != NULL);

  if (!owl_call_claim (self))
    return;

  frame = owl_envelope_error_for (self->id_node, error, &len);
  owl_channel_send_take (self->channel, frame, len, NULL);
}

/**
 * owl_call_return_error_literal:
 * @self: a call
 * @code: the error code the client sees
 * @message: the message the client sees
 *
 * Answers the call with an %OWL_ERROR `error` frame; the form for bindings.
 *
 * Since: 0.1
 */
void
owl_call_return_error_literal (OwlCall    *self,
                               OwlError    code,
                               const char *message)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (OWL_IS_CALL (self));
  g_return_if_fail (message != NULL);

  error = g_error_new_literal (OWL_ERROR, code, message);
  owl_call_return_error (self, error);
}
