/* owl-socket-client-private.h: what the files of OwlSocketClient share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlSocketClient is in six files by job:
 *
 *  - owl-socket-client.c: the object: properties, signals, connect and
 *    close;
 *  - owl-socket-client-token.c: the token API and the in-band refresh;
 *  - owl-socket-client-send.c: sending and calling, with the queue that
 *    holds what is sent while no connection is open;
 *  - owl-socket-client-link.c: one connection's life: the token, the
 *    handshake (owl-client-handshake.c), the transport (wire/) and the
 *    OwlChannel (protocol/) over it, the ping timeout (a deadline on
 *    the context's poller, shared by every client), and what follows
 *    its end: the reconnect rules and the backoff;
 *  - owl-client-handshake.c: the opening handshake;
 *  - owl-socket-client-recover.c: the history positions of rooms, taken
 *    from what arrives and given back at the handshake of a reconnect.
 */

#pragma once

#include "owl-channel-private.h"
#include "owl-poller-private.h"
#include "owl-socket-client.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

/* What a token the application provides is for. */
typedef enum
{
  TOKEN_FOR_NOTHING,
  TOKEN_FOR_CONNECT,
  TOKEN_FOR_REFRESH,
} TokenPurpose;

/* Something sent while no connection was open: a text, or a call or
 * request (its GTask, whose task data this is). */
typedef struct
{
  char         *text;
  gsize         len;
  GTask        *task;         /* a call or request */
  char         *method;       /* NULL: a request */
  JsonNode     *payload;
  guint         timeout_ms;
} OwlClientPending;

void owl_client_pending_free (OwlClientPending *pending);

struct _OwlSocketClient
{
  GObject                   parent_instance;

  /* Settings */
  GUri                     *uri;
  char                     *uri_string;
  char                    **protocols;
  GPtrArray                *headers;         /* "Name: value" */
  char                     *token;
  gboolean                  token_as_protocol;
  gboolean                  deflate;
  GTlsDatabase             *tls_database;
  OwlSocketClientTokenFunc  token_func;
  gpointer                  token_data;
  GDestroyNotify            token_destroy;
  gboolean                  reconnect;
  guint                     min_delay;       /* ms */
  guint                     max_delay;
  guint                     stable_after;
  guint                     ping_timeout;
  guint                     max_queued;
  guint                     handshake_timeout;
  guint64                   max_message_size;
  gboolean                  recover;

  /* State */
  OwlSocketClientState      state;
  char                     *protocol;        /* negotiated */
  guint                     attempt;         /* failed attempts in a row */
  guint                     next_delay;      /* ms, of the scheduled attempt */
  TokenPurpose              token_purpose;
  gboolean                  token_required;  /* after 4001: no token, no reconnect */
  gboolean                  closing;         /* close() was asked */
  GCancellable             *attempt_cancellable;
  GSource                  *token_timer;
  GSource                  *retry_timer;
  /* The ping timeout and stable-after of the open connection: one
   * deadline on the context's poller for both, at the earlier. */
  OwlPoller                *poller;
  OwlPollerDeadline        *deadline;
  gint64                    stable_due;      /* monotonic µs, -1: none */
  gint64                    ping_due;
  GQueue                    queue;           /* OwlClientPending */
  GHashTable               *positions;       /* room -> OwlClientPosition */
  guint64                   position_clock;  /* the last update's stamp */

  /* The connection */
  OwlTransport             *transport;
  OwlChannel               *channel;
};

/* owl-socket-client.c */
void     owl_socket_client_set_state        (OwlSocketClient      *self,
                                             OwlSocketClientState  state);
/* Sends what was queued, in order, on the open channel. */
void     owl_socket_client_flush_queue      (OwlSocketClient      *self);
/* Fails every queued call with @code; drops queued texts and returns
 * how many. */
guint    owl_socket_client_fail_queue       (OwlSocketClient      *self,
                                             OwlError              code,
                                             const char           *message);
/* @type: the message's `type` member (nullable), as the caller read it. */
void     owl_socket_client_emit_message     (OwlSocketClient      *self,
                                             JsonNode             *message,
                                             const char           *type);
gboolean owl_socket_client_emit_call        (OwlSocketClient      *self,
                                             OwlCall              *call);
void     owl_socket_client_emit_event       (OwlSocketClient      *self,
                                             const char           *event,
                                             JsonNode             *payload);
void     owl_socket_client_emit_closed      (OwlSocketClient      *self,
                                             guint16               code,
                                             const char           *reason);
void     owl_socket_client_emit_error       (OwlSocketClient      *self,
                                             const GError         *error);
gboolean owl_socket_client_emit_accept_certificate (OwlSocketClient      *self,
                                                    GTlsCertificate      *certificate,
                                                    GTlsCertificateFlags  errors);
void     owl_socket_client_notify_delay     (OwlSocketClient      *self);

/* owl-socket-client-recover.c */
/* The most rooms whose positions are kept (and sent): the server's limit. */
#define OWL_CLIENT_MAX_POSITIONS 64
void     owl_socket_client_init_positions   (OwlSocketClient      *self);
void     owl_socket_client_install_recovered (GObjectClass        *object_class);
/* Takes the position of an incoming object: its leading `pos`. */
void     owl_socket_client_track            (OwlSocketClient      *self,
                                             JsonObject           *object);
/* Takes the position in the payload of a `system` `joined` frame (which
 * may emit `recovered`). */
void     owl_socket_client_track_joined     (OwlSocketClient      *self,
                                             JsonObject           *object);
/* The URI of the next attempt: the client's, with the `recover` query
 * parameter when there are positions to give and recover is on. */
GUri    *owl_socket_client_dup_attempt_uri  (OwlSocketClient      *self);

/* owl-socket-client-link.c */
void     owl_socket_client_attempt            (OwlSocketClient      *self);
void     owl_socket_client_stop             (OwlSocketClient      *self,
                                             guint16               code,
                                             const char           *reason);
void     owl_socket_client_token_arrived    (OwlSocketClient      *self);
void     owl_socket_client_drop_link        (OwlSocketClient      *self);
/* The retry and token timers go. */
void     owl_socket_client_stop_timers      (OwlSocketClient      *self);
/* The delay before attempt @attempt (0-based): with @min and @max in ms,
 * min (max, min + random (0, min (max, min * 2^attempt))). */
guint    owl_socket_client_backoff          (guint                 min,
                                             guint                 max,
                                             guint                 attempt);
/* Whether a close with @code ends the client for good. */
gboolean owl_socket_client_code_is_final    (guint16               code);

G_END_DECLS
