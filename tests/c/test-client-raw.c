/* test-client-raw.c: OwlSocketClient against a server that misbehaves
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A raw server (not owlsock) answers the upgrade by hand, then sends what
 * a server must not: an oversized frame, invalid UTF-8, a masked frame,
 * garbage; or stays silent; or answers with a wrong Sec-WebSocket-Accept.
 * The client closes with the right code (its close frame masked), or
 * refuses the handshake, and never crashes (the ASan run).
 */

#include <string.h>

#include "owl-test-client.h"
#include "owl-test-util.h"

static OwlTestWatch *
watch_raw (OwlTestRawServer *server)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/raw", server->port);
  OwlTestWatch *watch = owl_test_watch_new (uri);

  g_object_set (watch->client, "reconnect", FALSE, "max-message-size", (guint64) 16, NULL);
  owl_socket_client_open (watch->client);
  return watch;
}

typedef struct
{
  const char   *name;
  const guint8 *bytes;
  gsize         len;
  guint         code;
} BadInput;

static const guint8 oversized[] = { 0x81, 0x14, '{', '"', 'a', '"', ':', '"', 'x', 'x', 'x', 'x', 'x', 'x',
                                     'x', 'x', 'x', 'x', 'x', 'x', '"', '}' };
static const guint8 bad_utf8[] = { 0x81, 0x02, 0xc3, 0x28 };
static const guint8 masked[] = { 0x81, 0x82, 0x01, 0x02, 0x03, 0x04, '{' ^ 0x01, '}' ^ 0x02 };
static const guint8 garbage[] = "HELLO, this is no frame \xff\xfe";

static const BadInput bad_inputs[] = {
  { "oversized", oversized, sizeof oversized, OWL_CLOSE_TOO_BIG },
  { "invalid-utf8", bad_utf8, sizeof bad_utf8, OWL_CLOSE_INVALID_DATA },
  { "masked", masked, sizeof masked, OWL_CLOSE_PROTOCOL_ERROR },
  { "garbage", garbage, sizeof garbage - 1, OWL_CLOSE_PROTOCOL_ERROR },
};

/* What a server must not send closes the client with the code for it,
 * told to the server in a masked close frame. */
static void
test_bad_input (gconstpointer data)
{
  const BadInput *bad = data;
  g_autoptr(OwlTestRawServer) server = owl_test_raw_server_new (FALSE, bad->bytes, bad->len);
  g_autoptr(OwlTestWatch) watch = watch_raw (server);

  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_cmpstr (watch->states->str, ==, "connecting;connected;closed;");
  g_assert_cmpuint (watch->n_closed, ==, 1);
  g_assert_cmpuint (watch->close_code, ==, bad->code);
  g_assert_cmpuint (watch->messages->len, ==, 0);
  OWL_TEST_WAIT_FOR (owl_test_raw_server_close_code (server) != 0);
  g_assert_cmpuint (owl_test_raw_server_close_code (server), ==, bad->code);
}

/* A wrong Sec-WebSocket-Accept: the handshake fails (malformed), no
 * connection is reported. */
static void
test_wrong_accept (void)
{
  g_autoptr(OwlTestRawServer) server = owl_test_raw_server_new (TRUE, NULL, 0);
  g_autoptr(OwlTestWatch) watch = watch_raw (server);

  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_error (watch->error, OWL_ERROR, OWL_ERROR_MALFORMED);
  g_assert_nonnull (strstr (watch->error->message, "Sec-WebSocket-Accept"));
  g_assert_cmpuint (watch->n_closed, ==, 0);
  g_assert_cmpstr (watch->states->str, ==, "connecting;closed;");
}

/* A server that accepts and then stays silent (no pings): after
 * ping-timeout the client closes with 4408 itself and reconnects. */
static void
test_ping_timeout (void)
{
  g_autoptr(OwlTestRawServer) server = owl_test_raw_server_new (FALSE, NULL, 0);
  g_autoptr(OwlTestWatch) watch = watch_raw (server);

  g_object_set (watch->client, "ping-timeout", 100, "reconnect", TRUE, NULL);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
  g_assert_cmpuint (watch->close_code, ==, OWL_CLOSE_PONG_TIMEOUT);
  g_assert_cmpuint (owl_test_raw_server_close_code (server), ==, OWL_CLOSE_PONG_TIMEOUT);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_cmpuint (server->n_accepted, ==, 2);
  owl_socket_client_close (watch->client, OWL_CLOSE_NORMAL, NULL);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (bad_inputs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/owl/client/raw/bad-input/%s", bad_inputs[i].name);

      g_test_add_data_func (path, &bad_inputs[i], test_bad_input);
    }
  g_test_add_func ("/owl/client/raw/wrong-accept", test_wrong_accept);
  g_test_add_func ("/owl/client/raw/ping-timeout", test_ping_timeout);

  return g_test_run ();
}
