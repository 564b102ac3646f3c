/* owl-channel-private.h: the envelope protocol over one transport, either role
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The part of a connection that works the same from both ends: dispatch of
 * incoming envelope frames (ping, call, request, result, response, error,
 * event, auth; anything else is the application's), outgoing calls and
 * requests waiting for their answer with a timeout and a GCancellable, and
 * text and binary sends from any thread (handed to the owner's context in
 * order). It knows no service, module or guard: an OwlConnection owns one,
 * and a client can be built on one.
 *
 * The owner (an OwlConnection, a client) gets what is its through
 * OwlChannelHandlers, on the channel's context.
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "owl-call.h"
#include "owl-error.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

typedef struct _OwlChannel OwlChannel;

/* Messages and bytes counted in and out; shared by every channel of a
 * service (the statistics) and kept alive by each. */
typedef struct
{
  guint64 messages_in;
  guint64 messages_out;
  guint64 bytes_in;
  guint64 bytes_out;
} OwlCounters;

OwlCounters *owl_counters_new   (void);
OwlCounters *owl_counters_ref   (OwlCounters *counters);
void         owl_counters_unref (OwlCounters *counters);

/* The life of a channel; the values of OwlConnectionState. */
typedef enum
{
  OWL_CHANNEL_OPEN,
  OWL_CHANNEL_CLOSING,
  OWL_CHANNEL_CLOSED,
} OwlChannelState;

typedef struct
{
  /* Each incoming message, counted, before it is parsed: FALSE drops it
   * (a rate limit answers it itself). NULL: all pass. */
  gboolean (*admit)   (gpointer    owner);
  /* A JSON object that is not the envelope's own (its `type` is not one
   * of the protocol's, or it has none). @size: its length as text. */
  void     (*message) (gpointer    owner,
                       JsonNode   *root,
                       gsize       size);
  /* A `call` (detail: the method) or a `request`: TRUE if a handler took
   * it. One nobody takes and nobody answered gets `unknown-method`. */
  gboolean (*call)    (gpointer    owner,
                       OwlCall    *call);
  void     (*event)   (gpointer    owner,
                       const char *event,
                       JsonNode   *payload);
  /* An `auth` frame; NULL: treated as the application's message. */
  void     (*auth)    (gpointer    owner,
                       JsonObject *object);
  /* A `result`, `response` or `error` that answers no call waiting here
   * (an error without id: the peer refusing a message). NULL: dropped. */
  void     (*stray)   (gpointer    owner,
                       JsonNode   *root,
                       gsize       size);
  /* Every incoming JSON object, whatever its type, before it is
   * dispatched (a client reads the history positions of broadcasts
   * there). It may drop the channel: then nothing is dispatched. NULL:
   * none. */
  void     (*inspect) (gpointer    owner,
                       JsonObject *object);
} OwlChannelHandlers;

/* @owner is what OwlCall:connection and the GTasks of outgoing calls
 * point at (not owned). @transport is borrowed until
 * owl_channel_detach(). Created on @context's thread, @home. */
OwlChannel     *owl_channel_new          (const OwlChannelHandlers *handlers,
                                          gpointer                  owner,
                                          OwlTransport             *transport,
                                          OwlCounters              *counters,
                                          GMainContext             *context);
OwlChannel     *owl_channel_ref          (OwlChannel               *self);
void            owl_channel_unref        (OwlChannel               *self);
/* The owner is going: no more sends reach the transport, no more
 * callbacks run, pending calls fail with OWL_ERROR_CLOSED. */
void            owl_channel_detach       (OwlChannel               *self);

OwlChannelState owl_channel_get_state    (OwlChannel               *self);
/* What this channel alone counted (the shared counters hold every
 * channel's). On the context. */
const OwlCounters *owl_channel_get_traffic (OwlChannel             *self);
/* OPEN -> CLOSING; FALSE if it was not open. Any thread. */
gboolean        owl_channel_begin_close  (OwlChannel               *self);
/* -> CLOSED: pending calls fail with OWL_ERROR_CLOSED now. */
void            owl_channel_set_closed   (OwlChannel               *self);
GMainContext   *owl_channel_get_context  (OwlChannel               *self);
/* FALSE with OWL_ERROR_CLOSED unless open. Any thread. */
gboolean        owl_channel_check_open   (OwlChannel               *self,
                                          GError                  **error);

/* One incoming data message, as the transport delivered it: ignored once
 * closing; else counted, admitted, then (text) parsed with @max_json_depth
 * and dispatched. Binary and text that is not a JSON object are answered
 * with a `malformed` error. */
void            owl_channel_receive      (OwlChannel               *self,
                                          gboolean                  binary,
                                          const guint8             *data,
                                          gsize                     len,
                                          guint                     max_json_depth);

/* Sends; any thread. FALSE with OWL_ERROR_CLOSED unless open. */
gboolean        owl_channel_send_take    (OwlChannel               *self,
                                          char                     *data,
                                          gsize                     len,
                                          GError                  **error);
/* The same, without taking @data: it is sent before this returns, or
 * copied when the send must wait for the context. */
gboolean        owl_channel_send_text    (OwlChannel               *self,
                                          const char               *data,
                                          gsize                     len,
                                          GError                  **error);
gboolean        owl_channel_send_binary  (OwlChannel               *self,
                                          GBytes                   *bytes,
                                          GError                  **error);
/* On the context, when open: one message of a broadcast. */
void            owl_channel_send_shared  (OwlChannel               *self,
                                          OwlSharedMessage         *message);
/* On the context: an error frame (through the client-safe rule). */
void            owl_channel_send_error   (OwlChannel               *self,
                                          JsonNode                 *id,
                                          const GError             *error);
void            owl_channel_send_error_literal (OwlChannel         *self,
                                                JsonNode           *id,
                                                OwlError            code,
                                                const char         *message);

typedef void (*OwlChannelFunc) (gpointer owner,
                                gpointer data);
/* Runs @func on the context, in order with the sends made from the same
 * thread (now, when that is allowed); @data is freed with @destroy. */
void            owl_channel_invoke       (OwlChannel               *self,
                                          OwlChannelFunc            func,
                                          gpointer                  data,
                                          GDestroyNotify            destroy);

/* Outgoing `call` (@method) or `request` (@method NULL); the GTask's
 * source object is the owner. 0 ms: 30 s. On the context. */
void            owl_channel_call_async   (OwlChannel               *self,
                                          const char               *method,
                                          JsonNode                 *payload,
                                          guint                     timeout_ms,
                                          GCancellable             *cancellable,
                                          GAsyncReadyCallback       callback,
                                          gpointer                  user_data,
                                          gpointer                  source_tag);
JsonNode       *owl_channel_call_finish  (GAsyncResult             *result,
                                          GError                  **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlChannel, owl_channel_unref)

G_END_DECLS
