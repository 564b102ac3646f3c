/* owl-connection-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "owl-auth-chain-private.h"
#include "owl-channel-private.h"
#include "owl-connection.h"
#include "owl-deflate-private.h"
#include "owl-limits-private.h"
#include "owl-message-schemas-private.h"
#include "owl-rooms-private.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

/* Everything a connection needs from whoever accepted it, given once: it
 * never calls back into the service. The service learns about the
 * connection's end from its `closed` signal. Immutable and shared (by
 * reference) by the connections of one module: an idle connection's
 * memory is what lets a server hold many. */
typedef struct
{
  gconstpointer acceptor;            /* who accepted it: a tag, never used here */
  GMainContext *context;
  OwlLimits     limits;              /* the module's, resolved */
  gint64        auth_expiry_notice;  /* seconds */
  guint         auth_timeout;        /* seconds a refresh may take */
  OwlCounters  *counters;            /* (ref) */
  OwlRooms     *rooms;               /* (ref) */
  OwlAuthChain *chain;               /* (ref) */
  OwlMessageSchemas *schemas;        /* (ref) (nullable): the module's, when admitted */
} OwlConnectionHost;

/* A shared copy of @value, its members referenced. */
OwlConnectionHost *owl_connection_host_new   (const OwlConnectionHost *value);
OwlConnectionHost *owl_connection_host_ref   (OwlConnectionHost       *host);
void               owl_connection_host_unref (OwlConnectionHost       *host);
/* Whether @host holds the same as @value. */
gboolean           owl_connection_host_equal (const OwlConnectionHost *host,
                                              const OwlConnectionHost *value);

/* @stream: what SoupServer handed over after the 101; @host is referenced. */
OwlConnection *owl_connection_new            (OwlConnectionHost       *host,
                                              OwlModule               *module,
                                              OwlRequest              *request,
                                              GIOStream               *stream,
                                              GUri                    *uri,
                                              const OwlDeflateParams  *deflate);
void           owl_connection_tick           (OwlConnection           *self,
                                              gint64                   now_us);
/* Once the connection handlers returned: what arrived meanwhile. */
void           owl_connection_start          (OwlConnection           *self);
/* The host's acceptor tag: whose connection this is. Any thread. */
gconstpointer  owl_connection_get_acceptor   (OwlConnection           *self);
/* Frames a broadcast and the service's notices go out here. */
OwlChannel    *owl_connection_get_channel    (OwlConnection           *self);
/* How many messages wait for the connection handler to return (tests). */
guint          owl_connection_get_n_early    (OwlConnection           *self);

/* The object, shared by its four files: owl-connection.c (the object,
 * its signals and life), owl-connection-io.c (what goes in and out),
 * owl-connection-rooms.c (its rooms) and owl-connection-auth.c (token
 * refresh and expiry). */
/* What arrived before the connection handlers returned; made when the
 * first of it does (most connections get nothing that early). */
typedef struct
{
  GQueue    messages;         /* GBytes, a byte ahead telling binary */
  gboolean  closed;
  guint16   close_code;
  char     *close_reason;
} OwlEarly;

/* A token refresh under way. */
typedef struct
{
  OwlAuthRun *run;            /* NULL while the chain answers at once */
  JsonNode   *id;             /* of its `auth` message, or NULL */
  OwlRequest *request;
} OwlRefresh;

/* Rarely used state hangs off a pointer: an idle connection's size is
 * what lets a server hold many. */
struct _OwlConnection
{
  GObject             parent_instance;

  char               *id;
  OwlModule          *module;
  OwlRequest         *request;
  OwlConnectionHost  *host;       /* (ref) */
  OwlTransport       *transport;
  OwlChannel         *channel;
  OwlTokenBucket      bucket;     /* the rate limit */

  /* Set once, on closing; read from any thread. */
  guint16             close_code;
  /* Until the connection handler returned, what arrives waits in @early. */
  guint               started : 1;
  /* auth-expiring went out for the current identity. */
  guint               auth_noticed : 1;
  char               *close_reason;

  OwlEarly           *early;
  OwlRefresh         *refresh;
};

/* owl-connection.c */
void           owl_connection_emit_message   (OwlConnection           *self,
                                              JsonNode                *message);
gboolean       owl_connection_emit_call      (OwlConnection           *self,
                                              OwlCall                 *call);
void           owl_connection_emit_event     (OwlConnection           *self,
                                              const char              *event,
                                              JsonNode                *payload);
void           owl_connection_notify_auth    (OwlConnection           *self);
/* Once the channel went from open to closing: the state's notify, then
 * `closing`. */
void           owl_connection_emit_closing   (OwlConnection           *self,
                                              guint16                  code,
                                              const char              *reason);
/* `joined` (@joined) or `left`. */
void           owl_connection_emit_room      (OwlConnection           *self,
                                              const char              *room,
                                              gboolean                 joined);
void           owl_connection_emit_error     (OwlConnection           *self,
                                              const GError            *error);
void           owl_connection_emit_drain     (OwlConnection           *self);
void           owl_connection_handle_closed  (OwlConnection           *self,
                                              guint16                  code,
                                              const char              *reason);

/* owl-connection-io.c */
void           owl_connection_early_free     (OwlEarly                *early);
extern const OwlTransportCallbacks owl_connection_transport_callbacks;
extern const OwlChannelHandlers owl_connection_channel_handlers;
void           owl_connection_close_now      (OwlConnection           *self,
                                              guint16                  code,
                                              const char              *reason);

/* owl-connection-rooms.c */
void           owl_connection_leave_all      (OwlConnection           *self);

/* owl-connection-auth.c */
void           owl_connection_refresh_free   (OwlRefresh              *refresh);
void           owl_connection_refresh        (OwlConnection           *self,
                                              JsonObject              *object);
void           owl_connection_check_expiry   (OwlConnection           *self);

G_END_DECLS
