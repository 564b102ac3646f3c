/* owl-channel.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-call-private.h"
#include "owl-channel-private.h"
#include "owl-envelope-private.h"
#include "owl-json-private.h"
#include "owl-mailbox-private.h"

/* How long an outgoing call waits when the caller gives no timeout. */
#define OWL_CHANNEL_DEFAULT_TIMEOUT_MS 30000

/* One per connection: kept small (a plain allocation, the count and the
 * state in one word) for a server holding many. */
struct _OwlChannel
{
  gatomicrefcount           ref_count;
  gint                      state;        /* OwlChannelState, any thread */
  const OwlChannelHandlers *handlers;
  gpointer                  owner;        /* NULL once detached */
  OwlTransport             *transport;    /* NULL once detached */
  OwlCounters              *counters;
  OwlCounters               traffic;      /* this channel's own share */
  GMainContext             *context;
  GThread                  *home;
  OwlMailbox               *mailbox;      /* sends from other threads; lazy */

  /* Created on first use: most connections never call their client. */
  GHashTable               *pending;      /* id -> Pending */
  guint64                   next_id;
};

/* Counters ------------------------------------------------------------------ */

OwlCounters *
owl_counters_new (void)
{
  return g_atomic_rc_box_new0 (OwlCounters);
}

OwlCounters *
owl_counters_ref (OwlCounters *counters)
{
  return g_atomic_rc_box_acquire (counters);
}

void
owl_counters_unref (OwlCounters *counters)
{
  if (counters != NULL)
    g_atomic_rc_box_release (counters);
}

static void
count_out (OwlChannel *self,
           gsize       len)
{
  self->counters->messages_out++;
  self->counters->bytes_out += len;
  self->traffic.messages_out++;
  self->traffic.bytes_out += len;
}

/* Life ---------------------------------------------------------------------- */

OwlChannel *
owl_channel_new (const OwlChannelHandlers *handlers,
                 gpointer                  owner,
                 OwlTransport             *transport,
                 OwlCounters              *counters,
                 GMainContext             *context)
{
  OwlChannel *self = g_new0 (OwlChannel, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->handlers = handlers;
  self->owner = owner;
  self->transport = transport;
  self->counters = counters ? owl_counters_ref (counters) : owl_counters_new ();
  self->context = g_main_context_ref (context);
  self->home = g_thread_self ();
  self->state = OWL_CHANNEL_OPEN;
  return self;
}

OwlChannel *
owl_channel_ref (OwlChannel *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static void fail_pending (OwlChannel *self);

void
owl_channel_unref (OwlChannel *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->pending, g_hash_table_unref);
  owl_counters_unref (self->counters);
  g_clear_pointer (&self->mailbox, owl_mailbox_unref);
  g_main_context_unref (self->context);
  g_free (self);
}

void
owl_channel_detach (OwlChannel *self)
{
  g_atomic_int_set (&self->state, OWL_CHANNEL_CLOSED);
  fail_pending (self);
  self->transport = NULL;
  self->owner = NULL;
}

const OwlCounters *
owl_channel_get_traffic (OwlChannel *self)
{
  return &self->traffic;
}

OwlChannelState
owl_channel_get_state (OwlChannel *self)
{
  return g_atomic_int_get (&self->state);
}

gboolean
owl_channel_begin_close (OwlChannel *self)
{
  return g_atomic_int_compare_and_exchange (&self->state, OWL_CHANNEL_OPEN, OWL_CHANNEL_CLOSING);
}

void
owl_channel_set_closed (OwlChannel *self)
{
  g_atomic_int_set (&self->state, OWL_CHANNEL_CLOSED);
  fail_pending (self);
}

GMainContext *
owl_channel_get_context (OwlChannel *self)
{
  return self->context;
}

gboolean
owl_channel_check_open (OwlChannel  *self,
                        GError     **error)
{
  if (g_atomic_int_get (&self->state) != OWL_CHANNEL_OPEN)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_CLOSED, "The connection is closed");
      return FALSE;
    }
  return TRUE;
}

/* Sending, from any thread ---------------------------------------------------- */

typedef enum
{
  OP_TEXT,
  OP_BINARY,
  OP_INVOKE,
} OpKind;

typedef struct
{
  OwlChannel     *channel;
  OpKind          kind;
  char           *data;      /* OP_TEXT */
  gsize           len;
  GBytes         *bytes;     /* OP_BINARY */
  OwlChannelFunc  func;      /* OP_INVOKE */
  gpointer        func_data;
  GDestroyNotify  destroy;
} Op;

static void
op_run (gpointer data)
{
  Op *op = data;
  OwlChannel *self = op->channel;

  if (op->kind == OP_INVOKE)
    {
      if (self->owner != NULL)
        op->func (self->owner, op->func_data);
      return;
    }
  /* Closing, or the owner gone: what was queued is not sent. */
  if (g_atomic_int_get (&self->state) != OWL_CHANNEL_OPEN || self->transport == NULL)
    return;
  if (op->kind == OP_TEXT)
    {
      owl_transport_send_data (self->transport, FALSE, op->data, op->len);
      count_out (self, op->len);
    }
  else
    {
      owl_transport_send (self->transport, TRUE, op->bytes);
      count_out (self, g_bytes_get_size (op->bytes));
    }
}

static void
op_clear (gpointer data)
{
  Op *op = data;

  g_free (op->data);
  g_clear_pointer (&op->bytes, g_bytes_unref);
  if (op->destroy != NULL && op->func_data != NULL)
    op->destroy (op->func_data);
  owl_channel_unref (op->channel);
}

static const OwlMailboxClass op_class = { op_run, op_clear };

static void
submit (OwlChannel *self,
        Op         *op)
{
  op->channel = owl_channel_ref (self);
  owl_mailbox_submit (&self->mailbox, self->context, self->home, &op_class, op, sizeof *op);
}

gboolean
owl_channel_send_take (OwlChannel  *self,
                       char        *data,
                       gsize        len,
                       GError     **error)
{
  Op op = { .kind = OP_TEXT, .data = data, .len = len };

  if (!owl_channel_check_open (self, error))
    {
      g_free (data);
      return FALSE;
    }
  submit (self, &op);
  return TRUE;
}

gboolean
owl_channel_send_text (OwlChannel  *self,
                       const char  *data,
                       gsize        len,
                       GError     **error)
{
  Op op = { .channel = self, .kind = OP_TEXT, .data = (char *) data, .len = len };

  if (!owl_mailbox_may_run_now (&self->mailbox, self->context, self->home))
    return owl_channel_send_take (self, g_strndup (data, len), len, error);
  if (!owl_channel_check_open (self, error))
    return FALSE;
  op_run (&op);
  return TRUE;
}

gboolean
owl_channel_send_binary (OwlChannel  *self,
                         GBytes      *bytes,
                         GError     **error)
{
  Op op = { .kind = OP_BINARY, .bytes = g_bytes_ref (bytes) };

  if (!owl_channel_check_open (self, error))
    {
      g_bytes_unref (op.bytes);
      return FALSE;
    }
  submit (self, &op);
  return TRUE;
}

void
owl_channel_invoke (OwlChannel     *self,
                    OwlChannelFunc  func,
                    gpointer        data,
                    GDestroyNotify  destroy)
{
  Op op = { .kind = OP_INVOKE, .func = func, .func_data = data, .destroy = destroy };

  submit (self, &op);
}

void
owl_channel_send_shared (OwlChannel       *self,
                         OwlSharedMessage *message)
{
  if (g_atomic_int_get (&self->state) != OWL_CHANNEL_OPEN || self->transport == NULL)
    return;
  owl_transport_send_shared (self->transport, message);
  count_out (self, g_bytes_get_size (message->payload));
}

/* On the context: protocol frames go straight out. */
static void
send_now (OwlChannel *self,
          char       *frame,
          gsize       len)
{
  Op op = { .kind = OP_TEXT, .data = frame, .len = len, .channel = self };

  op_run (&op);
  g_free (frame);
}

void
owl_channel_send_error (OwlChannel   *self,
                        JsonNode     *id,
                        const GError *error)
{
  gsize len;
  char *frame = owl_envelope_error_for (id, error, &len);

  send_now (self, frame, len);
}

void
owl_channel_send_error_literal (OwlChannel *self,
                                JsonNode   *id,
                                OwlError    code,
                                const char *message)
{
  g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, code, message);

  owl_channel_send_error (self, id, error);
}

/* Outgoing calls --------------------------------------------------------------- */

typedef struct
{
  OwlChannel *channel;
  char       *id;
  GTask      *task;
  GSource    *timeout;
  GSource    *cancel;
} Pending;

static void
destroy_source (GSource *source)
{
  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}

static void
pending_free (Pending *pending)
{
  destroy_source (pending->timeout);
  destroy_source (pending->cancel);
  g_clear_object (&pending->task);
  g_free (pending->id);
  g_free (pending);
}

/* Answers the call @id, once: @result (or null) or @error, taken. FALSE
 * when no call @id waits. */
static gboolean
pending_complete (OwlChannel *self,
                  const char *id,
                  JsonNode   *result,
                  GError     *error)
{
  Pending *pending = self->pending ? g_hash_table_lookup (self->pending, id) : NULL;
  g_autoptr(GTask) task = NULL;

  if (pending == NULL)
    {
      g_clear_error (&error);
      return FALSE;
    }

  task = g_steal_pointer (&pending->task);
  g_hash_table_remove (self->pending, id);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result ? json_node_ref (result) : json_node_new (JSON_NODE_NULL),
                           (GDestroyNotify) json_node_unref);
  return TRUE;
}

static void
fail_pending (OwlChannel *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->pending == NULL)
    return;
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr(GTask) task = g_steal_pointer (&((Pending *) value)->task);

      g_hash_table_iter_remove (&iter);
      g_task_return_new_error (task, OWL_ERROR, OWL_ERROR_CLOSED, "The connection closed");
    }
}

static gboolean
pending_timeout_cb (gpointer data)
{
  Pending *pending = data;

  pending_complete (pending->channel, pending->id, NULL,
                    g_error_new_literal (OWL_ERROR, OWL_ERROR_TIMEOUT, "The peer did not answer in time"));
  return G_SOURCE_REMOVE;
}

static gboolean
pending_cancel_cb (GCancellable *cancellable,
                   gpointer      data)
{
  Pending *pending = data;

  pending_complete (pending->channel, pending->id, NULL,
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The call was cancelled"));
  return G_SOURCE_REMOVE;
}

static GSource *
attach_source (OwlChannel  *self,
               GSource     *source,
               GSourceFunc  func,
               gpointer     data)
{
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);
  return source;
}

void
owl_channel_call_async (OwlChannel          *self,
                        const char          *method,
                        JsonNode            *payload,
                        guint                timeout_ms,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data,
                        gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self->owner, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  Pending *pending;
  g_autofree char *frame = NULL;
  gsize len;

  g_task_set_source_tag (task, source_tag);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!owl_channel_check_open (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (timeout_ms == 0)
    timeout_ms = OWL_CHANNEL_DEFAULT_TIMEOUT_MS;
  pending = g_new0 (Pending, 1);
  pending->channel = self;
  pending->id = g_strdup_printf ("s%" G_GUINT64_FORMAT, ++self->next_id);
  pending->task = g_steal_pointer (&task);
  pending->timeout = attach_source (self, g_timeout_source_new (timeout_ms), pending_timeout_cb, pending);
  if (cancellable != NULL)
    pending->cancel = attach_source (self, g_cancellable_source_new (cancellable),
                                     G_SOURCE_FUNC (pending_cancel_cb), pending);

  if (self->pending == NULL)
    self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pending_free);
  g_hash_table_insert (self->pending, pending->id, pending);

  frame = method != NULL ? owl_envelope_call (pending->id, method, payload, timeout_ms, &len)
                         : owl_envelope_request (pending->id, payload, &len);
  send_now (self, g_steal_pointer (&frame), len);
}

JsonNode *
owl_channel_call_finish (GAsyncResult  *result,
                         GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Receiving ----------------------------------------------------------------------- */

static void
dispatch_call (OwlChannel *self,
               JsonObject *object,
               gboolean    is_request)
{
  char buf[32];
  JsonNode *id_node;
  const char *id = owl_json_object_get_id (object, buf, &id_node);
  const char *method = NULL;
  g_autoptr(OwlCall) call = NULL;
  gboolean handled;

  if (id == NULL)
    {
      owl_channel_send_error_literal (self, NULL, OWL_ERROR_MALFORMED,
                                      is_request ? "A request needs an id" : "A call needs an id");
      return;
    }
  if (!is_request)
    {
      method = owl_json_object_get_string (object, "method");
      if (method == NULL || method[0] == '\0')
        {
          owl_channel_send_error_literal (self, id_node, OWL_ERROR_MALFORMED, "A call needs a method");
          return;
        }
    }

  call = owl_call_new (self, self->owner, id_node, method, json_object_get_member (object, "payload"),
                       is_request);
  handled = self->handlers->call (self->owner, call);
  if (!handled && !owl_call_is_answered (call))
    {
      g_autofree char *message = is_request ? g_strdup ("Nobody handles requests here")
                                            : g_strdup_printf ("Unknown method: %s", method);

      owl_call_return_error_literal (call, OWL_ERROR_UNKNOWN_METHOD, message);
    }
}

static void
dispatch_answer (OwlChannel *self,
                 JsonNode   *root,
                 gsize       size,
                 gboolean    is_error)
{
  JsonObject *object = json_node_get_object (root);
  char buf[32];
  const char *id = owl_json_object_get_id (object, buf, NULL);
  gboolean answered = FALSE;

  if (id != NULL && is_error)
    answered = pending_complete (self, id, NULL, owl_envelope_parse_error (object));
  else if (id != NULL)
    answered = pending_complete (self, id, json_object_get_member (object, "payload"), NULL);
  /* An answer to nothing waiting here: the owner's, if it wants it. */
  if (!answered && self->handlers->stray != NULL)
    self->handlers->stray (self->owner, root, size);
}

static void
dispatch (OwlChannel *self,
          JsonNode   *root,
          gsize       size)
{
  JsonObject *object = json_node_get_object (root);
  OwlEnvelopeType type = owl_envelope_classify (object);
  JsonNode *id;
  char buf[32];

  switch (type)
    {
    case OWL_ENVELOPE_PING:
      {
        gsize len;
        char *frame;

        owl_json_object_get_id (object, buf, &id);
        frame = owl_envelope_pong (id, &len);
        send_now (self, frame, len);
      }
      break;
    case OWL_ENVELOPE_PONG:
      break;
    case OWL_ENVELOPE_CALL:
    case OWL_ENVELOPE_REQUEST:
      dispatch_call (self, object, type == OWL_ENVELOPE_REQUEST);
      break;
    case OWL_ENVELOPE_RESULT:
    case OWL_ENVELOPE_RESPONSE:
    case OWL_ENVELOPE_ERROR:
      dispatch_answer (self, root, size, type == OWL_ENVELOPE_ERROR);
      break;
    case OWL_ENVELOPE_EVENT:
      {
        const char *event = owl_json_object_get_string (object, "event");

        if (event == NULL)
          owl_channel_send_error_literal (self, NULL, OWL_ERROR_MALFORMED, "An event needs a name");
        else
          self->handlers->event (self->owner, event, json_object_get_member (object, "payload"));
      }
      break;
    case OWL_ENVELOPE_AUTH:
      if (self->handlers->auth != NULL)
        {
          self->handlers->auth (self->owner, object);
          break;
        }
      G_GNUC_FALLTHROUGH;
    case OWL_ENVELOPE_APP:
    default:
      self->handlers->message (self->owner, root, size);
      break;
    }
}

void
owl_channel_receive (OwlChannel   *self,
                     gboolean      binary,
                     const guint8 *data,
                     gsize         len,
                     guint         max_json_depth)
{
  g_autoptr(JsonNode) root = NULL;
  OwlError code;

  /* Nothing reaches handlers once closing started. */
  if (g_atomic_int_get (&self->state) != OWL_CHANNEL_OPEN || self->owner == NULL)
    return;
  self->counters->messages_in++;
  self->counters->bytes_in += len;
  self->traffic.messages_in++;
  self->traffic.bytes_in += len;
  if (self->handlers->admit != NULL && !self->handlers->admit (self->owner))
    return;

  if (binary)
    {
      owl_channel_send_error_literal (self, NULL, OWL_ERROR_MALFORMED, "Binary frames are not accepted here");
      return;
    }

  root = owl_json_parse ((const char *) data, len, max_json_depth, &code);
  if (root == NULL)
    {
      owl_channel_send_error_literal (self, NULL, code,
                                      code == OWL_ERROR_TOO_DEEP ? "The message nests too deep"
                                                                 : "The message is not valid JSON");
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      owl_channel_send_error_literal (self, NULL, OWL_ERROR_MALFORMED, "A message must be a JSON object");
      return;
    }

  /* The owner may drop the channel from a handler. */
  owl_channel_ref (self);
  if (self->handlers->inspect != NULL)
    self->handlers->inspect (self->owner, json_node_get_object (root));
  if (self->owner != NULL)
    dispatch (self, root, len);
  owl_channel_unref (self);
}
