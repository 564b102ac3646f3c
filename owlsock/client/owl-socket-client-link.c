/* owl-socket-client-link.c: one connection of an OwlSocketClient, and what follows its end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An attempt asks for the token (the application's function, or the
 * token set once), runs the handshake, and puts the frame layer's client
 * transport (wire/owl-transport-client.c) under an OwlChannel, the same
 * envelope dispatch and pending calls a server connection has. When the
 * connection ends, the close code decides: final codes end the client,
 * 4001 asks for a new token first, the rest reconnect after a delay with
 * exponential backoff and full jitter (centrifuge-js's formula).
 */

#include "config.h"

#include <string.h>

#include "owl-client-handshake-private.h"
#include "owl-envelope-private.h"
#include "owl-json-private.h"
#include "owl-socket-client-private.h"
#include "owl-transport-client-private.h"

/* The depth of JSON the client parses, as the server's default. */
#define OWL_CLIENT_MAX_JSON_DEPTH 64

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static GSource *
add_timeout (OwlSocketClient *self,
             guint            ms,
             GSourceFunc      func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  return source;
}

/* Rules ----------------------------------------------------------------------------- */

guint
owl_socket_client_backoff (guint min,
                           guint max,
                           guint attempt)
{
  guint64 span = min;
  guint64 delay;

  /* min * 2^attempt, without overflowing past max */
  for (guint i = 0; i < attempt && span < max; i++)
    span *= 2;
  span = MIN (span, max);
  delay = min + (guint64) g_random_double_range (0, (double) span + 1);
  return (guint) MIN ((guint64) max, delay);
}

gboolean
owl_socket_client_code_is_final (guint16 code)
{
  switch (code)
    {
    case OWL_CLOSE_NORMAL:
    case 1003:                /* unsupported data */
    case OWL_CLOSE_POLICY:
      return TRUE;
    default:
      return code >= 4500 && code <= 4999;
    }
}

/* The connection -------------------------------------------------------------------- */

/* A `system` frame, before it goes out as a message: the server asks
 * for a new token, or says a join into a room with history is done.
 * Returns whether the connection is still there for the message. */
static gboolean
channel_system (OwlSocketClient *self,
                JsonObject      *object)
{
  const char *event = owl_json_object_get_string (object, "event");
  gboolean still_there;

  g_object_ref (self);  /* the token function may drop the last reference */
  if (g_strcmp0 (event, "auth-expiring") == 0 && self->token_func != NULL &&
      self->token_purpose == TOKEN_FOR_NOTHING)
    {
      self->token_purpose = TOKEN_FOR_REFRESH;
      self->token_func (self, self->token_data);
    }
  else if (g_strcmp0 (event, "joined") == 0)
    owl_socket_client_track_joined (self, object);
  still_there = self->channel != NULL;
  g_object_unref (self);
  return still_there;
}

/* `type` is read once here, for both the checks and the signal's
 * detail: this runs for every message. */
static void
channel_message (gpointer  owner,
                 JsonNode *root,
                 gsize     size)
{
  OwlSocketClient *self = owner;
  JsonObject *object = json_node_get_object (root);
  const char *type = owl_json_object_get_string (object, "type");

  if (type != NULL && type[0] == 's' && strcmp (type, "system") == 0 && !channel_system (self, object))
    return;
  owl_socket_client_emit_message (self, root, type);
}

static gboolean
channel_call (gpointer  owner,
              OwlCall  *call)
{
  return owl_socket_client_emit_call (owner, call);
}

static void
channel_event (gpointer    owner,
               const char *event,
               JsonNode   *payload)
{
  owl_socket_client_emit_event (owner, event, payload);
}

/* An error without id (the server refusing a message: `malformed`,
 * `validation`, `rate-limited`), or an answer to a call that timed out:
 * the application's, as message::error or message::result. */
static void
channel_stray (gpointer  owner,
               JsonNode *root,
               gsize     size)
{
  owl_socket_client_emit_message (owner, root,
                                  owl_json_object_get_string (json_node_get_object (root), "type"));
}

static void
channel_inspect (gpointer    owner,
                 JsonObject *object)
{
  owl_socket_client_track (owner, object);
}

static const OwlChannelHandlers channel_handlers = {
  .message = channel_message,
  .call = channel_call,
  .event = channel_event,
  .stray = channel_stray,
  .inspect = channel_inspect,
};

static void
transport_message (gpointer      user_data,
                   gboolean      binary,
                   const guint8 *data,
                   gsize         len)
{
  OwlSocketClient *self = user_data;

  if (self->channel != NULL)
    owl_channel_receive (self->channel, binary, data, len, OWL_CLIENT_MAX_JSON_DEPTH);
}

static void
transport_error (gpointer      user_data,
                 const GError *error)
{
}

static void
transport_drain (gpointer user_data)
{
}

static void link_ended (OwlSocketClient *self, guint16 code, const char *reason);

static void
transport_closed (gpointer    user_data,
                  guint16     code,
                  const char *reason)
{
  link_ended (user_data, code, reason);
}

static const OwlTransportCallbacks transport_callbacks = {
  .message = transport_message,
  .error = transport_error,
  .closed = transport_closed,
  .drain = transport_drain,
};

static void
unwatch_deadlines (OwlSocketClient *self)
{
  if (self->deadline != NULL)
    {
      owl_poller_remove_deadline (self->poller, g_steal_pointer (&self->deadline));
      g_clear_pointer (&self->poller, owl_poller_unref);
    }
  self->stable_due = -1;
  self->ping_due = -1;
}

void
owl_socket_client_drop_link (OwlSocketClient *self)
{
  unwatch_deadlines (self);
  if (self->channel != NULL)
    {
      owl_channel_set_closed (self->channel);
      owl_channel_detach (self->channel);
      g_clear_pointer (&self->channel, owl_channel_unref);
    }
  g_clear_pointer (&self->transport, owl_transport_free);
}

/* The connection's one deadline goes at the earlier of its two. */
static void
arm_deadline (OwlSocketClient *self)
{
  gint64 due = self->stable_due;

  if (self->ping_due >= 0 && (due < 0 || self->ping_due < due))
    due = self->ping_due;
  owl_poller_set_deadline (self->poller, self->deadline, due);
}

/* The connection stayed up for stable-after: the next loss starts the
 * backoff over. Nothing from the server for ping-timeout: it is gone
 * (its pings stopped); close locally with 4408 and reconnect. Each
 * frame that arrives only stamps the transport (last_rx): the deadline
 * moves when it comes, not with every frame. */
static void
deadline_cb (gpointer data,
             gint64   now)
{
  OwlSocketClient *self = data;

  if (self->stable_due >= 0 && now >= self->stable_due)
    {
      self->stable_due = -1;
      self->attempt = 0;
    }
  if (self->ping_due >= 0 && now >= self->ping_due)
    {
      self->ping_due = owl_transport_client_get_last_rx (self->transport) + (gint64) self->ping_timeout * 1000;
      if (now >= self->ping_due)
        {
          self->ping_due = -1;
          owl_transport_client_abort (self->transport, OWL_CLOSE_PONG_TIMEOUT, "The server went silent");
        }
    }
  /* The abort reports `closed` from the main loop: the link is still
   * there. */
  if (self->deadline != NULL)
    arm_deadline (self);
}

static void
watch_deadlines (OwlSocketClient *self,
                 GMainContext    *context)
{
  gint64 now = g_get_monotonic_time ();

  self->stable_due = self->stable_after > 0 ? now + (gint64) self->stable_after * 1000 : -1;
  self->ping_due = self->ping_timeout > 0 ? now + (gint64) self->ping_timeout * 1000 : -1;
  if (self->stable_after == 0)
    self->attempt = 0;
  if (self->stable_due < 0 && self->ping_due < 0)
    return;
  self->poller = owl_poller_ref_for_context (context);
  self->deadline = owl_poller_add_deadline (self->poller, deadline_cb, self);
  arm_deadline (self);
}

static void
link_open (OwlSocketClient    *self,
           OwlHandshakeResult *result)
{
  OwlTransportLimits limits = { 0, };
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  limits.max_message_size = self->max_message_size;
  limits.deflate = result->deflate ? &result->deflate_params : NULL;
  self->transport = owl_transport_new_client (result->stream, result->leftover, &limits,
                                              &transport_callbacks, self);
  self->channel = owl_channel_new (&channel_handlers, self, self->transport, NULL, context);
  if (g_strcmp0 (self->protocol, result->protocol) != 0)
    {
      g_free (self->protocol);
      self->protocol = g_strdup (result->protocol);
      g_object_notify (G_OBJECT (self), "protocol");
    }
  self->token_required = FALSE;
  watch_deadlines (self, context);
  /* What waited goes first, before anything a handler of the state
   * change sends. */
  owl_socket_client_flush_queue (self);
  owl_socket_client_set_state (self, OWL_SOCKET_CLIENT_CONNECTED);
}

/* After a connection or an attempt: give up or try again later. */
static gboolean retry_cb (gpointer data);

static void
retry_or_close (OwlSocketClient *self,
                gboolean         final)
{
  if (final || self->closing || !self->reconnect)
    {
      guint dropped = owl_socket_client_fail_queue (self, OWL_ERROR_CLOSED, "The client closed");

      /* Nothing goes silently: the messages that never went out are told. */
      if (dropped > 0)
        {
          g_autoptr(GError) error = g_error_new (OWL_ERROR, OWL_ERROR_CLOSED,
                                                 "%u messages waiting for a connection were not sent", dropped);

          owl_socket_client_emit_error (self, error);
        }
      self->token_purpose = TOKEN_FOR_NOTHING;
      self->closing = FALSE;
      owl_socket_client_set_state (self, OWL_SOCKET_CLIENT_CLOSED);
      return;
    }
  self->next_delay = owl_socket_client_backoff (self->min_delay, self->max_delay, self->attempt);
  self->attempt++;
  owl_socket_client_notify_delay (self);
  self->retry_timer = add_timeout (self, self->next_delay, retry_cb);
  owl_socket_client_set_state (self, OWL_SOCKET_CLIENT_RECONNECTING);
}

static void
link_ended (OwlSocketClient *self,
            guint16          code,
            const char      *reason)
{
  g_autofree char *why = g_strdup (reason);
  gboolean final = owl_socket_client_code_is_final (code);

  g_object_ref (self);
  owl_socket_client_drop_link (self);
  if (code == OWL_CLOSE_AUTH_EXPIRED)
    {
      /* A new token, then a reconnect; none (no function, or it answers
       * NULL): the end. */
      final = self->token_func == NULL;
      self->token_required = TRUE;
    }
  owl_socket_client_emit_closed (self, code, why);
  retry_or_close (self, final);
  g_object_unref (self);
}

/* An attempt ------------------------------------------------------------------------ */

static gboolean
accept_certificate (GTlsCertificate      *certificate,
                    GTlsCertificateFlags  errors,
                    gpointer              data)
{
  return owl_socket_client_emit_accept_certificate (data, certificate, errors);
}

/* Refused upgrades are final, but for the ones that say "later". */
static gboolean
failure_is_final (const GError *error,
                  guint         status)
{
  if (status == 0 || status >= 500 || status == 429 || status == 408)
    return FALSE;
  return error->domain == OWL_ERROR;
}

static void
on_handshake (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  g_autoptr(OwlSocketClient) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlHandshakeResult) result = NULL;
  guint status = 0;

  result = owl_handshake_finish (res, &status, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->attempt_cancellable == NULL)
    return;  /* stopped */
  g_clear_object (&self->attempt_cancellable);
  if (result == NULL)
    {
      owl_socket_client_emit_error (self, error);
      retry_or_close (self, failure_is_final (error, status));
      return;
    }
  link_open (self, result);
}

static void
start_handshake (OwlSocketClient *self)
{
  OwlHandshakeConfig config = { 0, };
  g_autoptr(GPtrArray) protocols = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GUri) uri = owl_socket_client_dup_attempt_uri (self);

  for (guint i = 0; self->protocols != NULL && self->protocols[i] != NULL; i++)
    g_ptr_array_add (protocols, g_strdup (self->protocols[i]));
  if (self->token != NULL && self->token_as_protocol)
    g_ptr_array_add (protocols, g_strconcat ("owlsock.bearer.", self->token, NULL));
  g_ptr_array_add (protocols, NULL);
  g_ptr_array_add (self->headers, NULL);

  config.uri = uri;
  config.protocols = (const char * const *) protocols->pdata;
  config.headers = (const char * const *) self->headers->pdata;
  config.bearer = self->token_as_protocol ? NULL : self->token;
  config.deflate = self->deflate;
  config.tls_database = self->tls_database;
  config.accept = accept_certificate;
  config.accept_data = self;
  config.timeout_ms = self->handshake_timeout;
  self->attempt_cancellable = g_cancellable_new ();
  owl_handshake_async (&config, self->attempt_cancellable, on_handshake, g_object_ref (self));
  g_ptr_array_remove_index (self->headers, self->headers->len - 1);
}

static gboolean
token_timeout_cb (gpointer data)
{
  OwlSocketClient *self = data;
  g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_TIMEOUT, "No token came in time");

  g_clear_pointer (&self->token_timer, g_source_unref);
  self->token_purpose = TOKEN_FOR_NOTHING;
  owl_socket_client_emit_error (self, error);
  retry_or_close (self, self->token_required);
  return G_SOURCE_REMOVE;
}

/* A token came for the attempt waiting for one (NULL: none). */
void
owl_socket_client_token_arrived (OwlSocketClient *self)
{
  destroy_source (&self->token_timer);
  if (self->token == NULL && self->token_required)
    {
      g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_AUTH_FAILED,
                                                     "The token expired and no new one came");

      owl_socket_client_emit_error (self, error);
      retry_or_close (self, TRUE);
      return;
    }
  start_handshake (self);
}

/* One attempt: the token first, when a function gives it. */
void
owl_socket_client_attempt (OwlSocketClient *self)
{
  if (self->token_func == NULL)
    {
      owl_socket_client_token_arrived (self);
      return;
    }
  self->token_purpose = TOKEN_FOR_CONNECT;
  if (self->handshake_timeout > 0)
    self->token_timer = add_timeout (self, self->handshake_timeout, token_timeout_cb);
  self->token_func (self, self->token_data);
}

static gboolean
retry_cb (gpointer data)
{
  OwlSocketClient *self = data;

  g_clear_pointer (&self->retry_timer, g_source_unref);
  self->next_delay = 0;
  owl_socket_client_notify_delay (self);
  owl_socket_client_attempt (self);
  return G_SOURCE_REMOVE;
}

void
owl_socket_client_stop_timers (OwlSocketClient *self)
{
  destroy_source (&self->retry_timer);
  destroy_source (&self->token_timer);
}

/* close(): an open connection closes with @code (the end follows from
 * `closed`); an attempt or a wait stops now. */
void
owl_socket_client_stop (OwlSocketClient *self,
                        guint16          code,
                        const char      *reason)
{
  owl_socket_client_stop_timers (self);
  self->token_purpose = TOKEN_FOR_NOTHING;
  if (self->attempt_cancellable != NULL)
    {
      g_autoptr(GCancellable) cancellable = g_steal_pointer (&self->attempt_cancellable);

      g_cancellable_cancel (cancellable);
    }
  self->closing = TRUE;
  if (self->transport != NULL && self->channel != NULL && owl_channel_begin_close (self->channel))
    {
      owl_transport_close (self->transport, code, reason);
      return;
    }
  if (self->transport == NULL)
    retry_or_close (self, TRUE);
}
