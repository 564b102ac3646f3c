/* owl-test-client.h: an OwlSocketClient under watch, for the client tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

#include "owl-test-util.h"

G_BEGIN_DECLS

/* What a client did, in order. */
typedef struct
{
  OwlSocketClient *client;
  GString         *states;     /* each notify::state: "connecting;connected;" */
  GString         *changes;    /* each state-changed: "connecting>connected;" */
  GPtrArray       *messages;   /* JsonNode, from `message` */
  GPtrArray       *events;     /* char *, "name=payload" from `event` */
  guint            n_closed;
  guint            close_code;
  char            *close_reason;
  guint            n_errors;
  GError          *error;      /* the last one */
} OwlTestWatch;

/* A client for @uri with fast reconnects (10..40 ms), no ping timeout and
 * no deflate unless the test sets them; every signal recorded. */
OwlTestWatch *owl_test_watch_new   (const char   *uri);
void          owl_test_watch_free  (OwlTestWatch *watch);
/* ws:// (wss:// for a TLS fixture) 127.0.0.1, the fixture's port, @path. */
char         *owl_test_client_uri  (OwlTestFixture *fixture,
                                    const char     *path);
/* A watched client for @path of the fixture, open and connected. */
OwlTestWatch *owl_test_watch_connected (OwlTestFixture *fixture,
                                        const char     *path);
/* An echo module at /ws/echo of the fixture, without rate limit, over
 * TLS when @tls, listening. */
void          owl_test_echo_service (OwlTestFixture *fixture,
                                     gboolean        tls);
/* A watched client for it (any certificate accepted), not open yet. */
OwlTestWatch *owl_test_echo_watch  (OwlTestFixture *fixture);
/* The string `text` of the @i-th message @watch got. */
const char   *owl_test_watch_text  (OwlTestWatch   *watch,
                                    guint           i);
/* One client test body on an echo service over ws:// (@path/ws, data
 * FALSE) and wss:// (@path/wss, data TRUE). */
#define OWL_TEST_WS_WSS(path, func) \
  G_STMT_START { \
    g_test_add (path "/ws", OwlTestFixture, GINT_TO_POINTER (FALSE), \
                owl_test_fixture_setup, func, owl_test_fixture_teardown); \
    g_test_add (path "/wss", OwlTestFixture, GINT_TO_POINTER (TRUE), \
                owl_test_fixture_setup, func, owl_test_fixture_teardown); \
  } G_STMT_END
/* Waits (under the watchdog) for the state. */
void          owl_test_watch_wait_state_at (OwlTestWatch         *watch,
                                            OwlSocketClientState  state,
                                            const char           *file,
                                            int                   line);
#define owl_test_watch_wait_state(watch, state) \
  owl_test_watch_wait_state_at (watch, state, __FILE__, __LINE__)
/* Runs the main loop until an async call's result came. */
GAsyncResult *owl_test_wait_result_at (GAsyncResult **slot,
                                       const char    *file,
                                       int            line);
#define owl_test_wait_result(slot) owl_test_wait_result_at (slot, __FILE__, __LINE__)
void          owl_test_store_result (GObject      *source,
                                     GAsyncResult *result,
                                     gpointer      slot);

/* An HS256 secret and a token for @sub signed with it, expiring in @ttl_s. */
#define OWL_TEST_CLIENT_SECRET "a-test-secret-of-at-least-32-bytes!!"
char         *owl_test_client_mint (const char *sub,
                                    gint64      ttl_s);
/* Adds a JWT guard "jwt" with that secret to @service. */
void          owl_test_client_add_guard (OwlSocketService *service);

/* A server that is not owlsock: it answers the upgrade by hand (with a
 * wrong Sec-WebSocket-Accept if asked), writes @after as it is, then
 * stays silent and keeps what the client sends. Every connection gets
 * the same. */
typedef struct
{
  GSocketService *service;
  guint16         port;
  gboolean        wrong_accept;
  GBytes         *after;
  guint           n_accepted;
  GByteArray     *received;   /* what the last client sent after its request */
  GPtrArray      *connections;
  GCancellable   *cancellable;
  guint           n_peers;
} OwlTestRawServer;

OwlTestRawServer *owl_test_raw_server_new  (gboolean          wrong_accept,
                                            const guint8     *after,
                                            gsize             len);
void              owl_test_raw_server_free (OwlTestRawServer *server);
/* The code of the client's close frame in what it sent, checking that
 * the frame was masked; 0 if none came yet. */
guint             owl_test_raw_server_close_code (OwlTestRawServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlTestWatch, owl_test_watch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlTestRawServer, owl_test_raw_server_free)

G_END_DECLS
