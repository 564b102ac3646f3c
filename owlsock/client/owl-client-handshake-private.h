/* owl-client-handshake-private.h: the client's opening handshake (RFC 6455 section 4.1)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A minimal HTTP/1.1 client over GSocketClient, with TLS through a
 * GTlsClientConnection whose certificate checks stay on (a database and an
 * accept-certificate hook are the ways to trust more). It sends the
 * upgrade request, reads the answer's head (bounded), and checks it:
 * 101, Upgrade and Connection, Sec-WebSocket-Accept, a subprotocol we
 * offered, no extension but the permessage-deflate we offered. libsoup's
 * SoupSession is not used: in libsoup 3.2 the stream it upgrades stays
 * inside its own SoupWebsocketConnection, and owlsock's frame layer needs
 * the raw stream. A refusal's JSON body ({code, message}) becomes an
 * OWL_ERROR with the server's code.
 */

#pragma once

#include <gio/gio.h>

#include "owl-deflate-private.h"

G_BEGIN_DECLS

/* The most the answer's head (status line and headers) may take. */
#define OWL_HANDSHAKE_MAX_HEAD (16 * 1024)
/* The most of a refusal's body that is read. */
#define OWL_HANDSHAKE_MAX_BODY 4096

typedef gboolean (*OwlHandshakeAcceptFunc) (GTlsCertificate      *certificate,
                                            GTlsCertificateFlags  errors,
                                            gpointer              user_data);

typedef struct
{
  GUri                   *uri;           /* ws:// or wss:// */
  const char * const     *protocols;     /* nullable: offered in order */
  const char * const     *headers;       /* nullable: "Name: value" lines */
  const char             *bearer;        /* nullable: Authorization: Bearer */
  gboolean                deflate;       /* offer permessage-deflate */
  GTlsDatabase           *tls_database;  /* nullable: the system's */
  OwlHandshakeAcceptFunc  accept;        /* nullable */
  gpointer                accept_data;
  guint                   timeout_ms;    /* 0: none */
} OwlHandshakeConfig;

typedef struct
{
  GIOStream        *stream;
  GBytes           *leftover;  /* read past the answer's head; nullable */
  char             *protocol;  /* the subprotocol the server chose; nullable */
  gboolean          deflate;
  OwlDeflateParams  deflate_params;
  guint             status;    /* the HTTP status; 0 if none came */
} OwlHandshakeResult;

void                owl_handshake_result_free (OwlHandshakeResult        *result);

/* Everything in @config is copied. */
void                owl_handshake_async       (const OwlHandshakeConfig  *config,
                                               GCancellable              *cancellable,
                                               GAsyncReadyCallback        callback,
                                               gpointer                   user_data);
/* NULL with @error on failure; *@status gets the HTTP status if one came
 * (0 otherwise): a refusal is an OWL_ERROR named by the body's `code`
 * (else by the status), a broken answer OWL_ERROR_MALFORMED, a network or
 * TLS failure GIO's error. */
OwlHandshakeResult *owl_handshake_finish      (GAsyncResult              *result,
                                               guint                     *status,
                                               GError                   **error);

/* base64 (SHA-1 (@key + the RFC's GUID)). */
char               *owl_handshake_accept_key  (const char                *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlHandshakeResult, owl_handshake_result_free)

G_END_DECLS
