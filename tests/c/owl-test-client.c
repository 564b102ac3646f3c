/* owl-test-client.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-client-handshake-private.h"
#include "owl-jwt-private.h"
#include "owl-test-client.h"
#include "owl-test-util.h"

static const char *
state_nick (OwlSocketClientState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (OWL_TYPE_SOCKET_CLIENT_STATE);

  return g_enum_get_value (klass, state)->value_nick;
}

static void
on_notify_state (OwlSocketClient *client,
                 GParamSpec      *pspec,
                 OwlTestWatch    *watch)
{
  g_string_append_printf (watch->states, "%s;", state_nick (owl_socket_client_get_state (client)));
}

static void
on_state_changed (OwlSocketClient      *client,
                  OwlSocketClientState  old_state,
                  OwlSocketClientState  new_state,
                  OwlTestWatch         *watch)
{
  g_string_append_printf (watch->changes, "%s>%s;", state_nick (old_state), state_nick (new_state));
}

static void
on_message (OwlSocketClient *client,
            JsonNode        *message,
            OwlTestWatch    *watch)
{
  g_ptr_array_add (watch->messages, json_node_copy (message));
}

static void
on_event (OwlSocketClient *client,
          const char      *event,
          JsonNode        *payload,
          OwlTestWatch    *watch)
{
  g_autofree char *text = payload ? json_to_string (payload, FALSE) : g_strdup ("null");

  g_ptr_array_add (watch->events, g_strdup_printf ("%s=%s", event, text));
}

static void
on_closed (OwlSocketClient *client,
           guint            code,
           const char      *reason,
           OwlTestWatch    *watch)
{
  watch->n_closed++;
  watch->close_code = code;
  g_free (watch->close_reason);
  watch->close_reason = g_strdup (reason);
}

static void
on_error (OwlSocketClient *client,
          const GError    *error,
          OwlTestWatch    *watch)
{
  watch->n_errors++;
  g_clear_error (&watch->error);
  watch->error = g_error_copy (error);
}

OwlTestWatch *
owl_test_watch_new (const char *uri)
{
  OwlTestWatch *watch = g_new0 (OwlTestWatch, 1);

  watch->client = owl_socket_client_new (uri);
  g_object_set (watch->client, "reconnect-min-delay", 10, "reconnect-max-delay", 40, "ping-timeout", 0,
                "deflate", FALSE, NULL);
  watch->states = g_string_new (NULL);
  watch->changes = g_string_new (NULL);
  watch->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  watch->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (watch->client, "notify::state", G_CALLBACK (on_notify_state), watch);
  g_signal_connect (watch->client, "state-changed", G_CALLBACK (on_state_changed), watch);
  g_signal_connect (watch->client, "message", G_CALLBACK (on_message), watch);
  g_signal_connect (watch->client, "event", G_CALLBACK (on_event), watch);
  g_signal_connect (watch->client, "closed", G_CALLBACK (on_closed), watch);
  g_signal_connect (watch->client, "error", G_CALLBACK (on_error), watch);
  return watch;
}

void
owl_test_watch_free (OwlTestWatch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->client, watch);
  g_clear_object (&watch->client);
  g_string_free (watch->states, TRUE);
  g_string_free (watch->changes, TRUE);
  g_ptr_array_unref (watch->messages);
  g_ptr_array_unref (watch->events);
  g_free (watch->close_reason);
  g_clear_error (&watch->error);
  g_free (watch);
  owl_test_drain ();
}

char *
owl_test_client_uri (OwlTestFixture *fixture,
                     const char     *path)
{
  return g_strdup_printf ("%s://127.0.0.1:%u%s", fixture->tls ? "wss" : "ws", fixture->port, path);
}

OwlTestWatch *
owl_test_watch_connected (OwlTestFixture *fixture,
                          const char     *path)
{
  g_autofree char *uri = owl_test_client_uri (fixture, path);
  OwlTestWatch *watch = owl_test_watch_new (uri);

  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  return watch;
}

void
owl_test_echo_service (OwlTestFixture *fixture,
                       gboolean        tls)
{
  g_object_set (fixture->service, "rate-limit", 1e9, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  if (tls)
    owl_test_fixture_use_tls (fixture);
  owl_test_fixture_listen (fixture);
}

static gboolean
accept_any_certificate (OwlSocketClient      *client,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;
}

OwlTestWatch *
owl_test_echo_watch (OwlTestFixture *fixture)
{
  g_autofree char *uri = owl_test_client_uri (fixture, "/ws/echo");
  OwlTestWatch *watch = owl_test_watch_new (uri);

  g_signal_connect (watch->client, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
  return watch;
}

const char *
owl_test_watch_text (OwlTestWatch *watch,
                     guint         i)
{
  JsonObject *object = json_node_get_object (g_ptr_array_index (watch->messages, i));

  return json_object_get_string_member (object, "text");
}

void
owl_test_watch_wait_state_at (OwlTestWatch         *watch,
                              OwlSocketClientState  state,
                              const char           *file,
                              int                   line)
{
  OWL_TEST_WAIT_FOR_AT (owl_socket_client_get_state (watch->client) == state, OWL_TEST_TIMEOUT_MS, file, line);
}

void
owl_test_store_result (GObject      *source,
                       GAsyncResult *result,
                       gpointer      slot)
{
  *(GAsyncResult **) slot = g_object_ref (result);
}

GAsyncResult *
owl_test_wait_result_at (GAsyncResult **slot,
                         const char    *file,
                         int            line)
{
  OWL_TEST_WAIT_FOR_AT (*slot != NULL, OWL_TEST_TIMEOUT_MS, file, line);
  return *slot;
}

char *
owl_test_client_mint (const char *sub,
                      gint64      ttl_s)
{
  const char *secret = OWL_TEST_CLIENT_SECRET;
  g_autofree char *claims = g_strdup_printf ("{\"sub\":\"%s\",\"exp\":%" G_GINT64_FORMAT "}", sub,
                                             g_get_real_time () / G_USEC_PER_SEC + ttl_s);
  g_autoptr(JsonNode) node = owl_test_json_parse (claims);
  g_autoptr(GError) error = NULL;
  char *token = owl_jwt_sign (OWL_JWT_HS256, NULL, (const guint8 *) secret, strlen (secret),
                              json_node_get_object (node), &error);

  g_assert_no_error (error);
  return token;
}

void
owl_test_client_add_guard (OwlSocketService *service)
{
  g_autoptr(OwlGuard) jwt = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;
  const char *secret = OWL_TEST_CLIENT_SECRET;

  owl_jwt_guard_add_secret (OWL_JWT_GUARD (jwt), NULL, (const guint8 *) secret, strlen (secret), &error);
  g_assert_no_error (error);
  g_assert_true (owl_socket_service_add_guard (service, "jwt", jwt, &error));
}

/* The raw server ------------------------------------------------------------------- */

typedef struct
{
  OwlTestRawServer *server;
  GSocketConnection *connection;
  GByteArray        *in;
  guint8             buf[4096];
  gboolean           answered;
} RawPeer;

static void raw_read (RawPeer *peer);

static void
raw_answer (RawPeer *peer,
            gsize    head_len)
{
  const char *head = (const char *) peer->in->data;
  g_autofree char *request = g_strndup (head, head_len);
  const char *key = strstr (request, "Sec-WebSocket-Key: ");
  g_autofree char *key_value = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *answer = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (peer->connection));

  g_assert_nonnull (key);
  key_value = g_strndup (key + 19, strcspn (key + 19, "\r"));
  accept = owl_handshake_accept_key (peer->server->wrong_accept ? "not-the-key" : key_value);
  answer = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
  g_assert_true (g_output_stream_write_all (out, answer, strlen (answer), NULL, NULL, NULL));
  if (peer->server->after != NULL)
    g_output_stream_write_all (out, g_bytes_get_data (peer->server->after, NULL),
                               g_bytes_get_size (peer->server->after), NULL, NULL, NULL);
  g_byte_array_remove_range (peer->in, 0, head_len);
  peer->answered = TRUE;
}

static void
raw_peer_free (RawPeer *peer)
{
  peer->server->n_peers--;
  g_object_unref (peer->connection);
  g_byte_array_unref (peer->in);
  g_free (peer);
}

static void
on_raw_read (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  RawPeer *peer = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  gsize i;

  if (n <= 0)
    {
      raw_peer_free (peer);
      return;
    }
  g_byte_array_append (peer->in, peer->buf, n);
  for (i = 3; !peer->answered && i < peer->in->len; i++)
    if (memcmp (peer->in->data + i - 3, "\r\n\r\n", 4) == 0)
      {
        raw_answer (peer, i + 1);
        break;
      }
  if (peer->answered)
    {
      g_byte_array_set_size (peer->server->received, 0);
      g_byte_array_append (peer->server->received, peer->in->data, peer->in->len);
    }
  raw_read (peer);
}

static void
raw_read (RawPeer *peer)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (peer->connection)), peer->buf,
                             sizeof peer->buf, G_PRIORITY_DEFAULT, peer->server->cancellable, on_raw_read, peer);
}

static gboolean
on_raw_incoming (GSocketService    *service,
                 GSocketConnection *connection,
                 GObject           *source,
                 OwlTestRawServer  *server)
{
  RawPeer *peer = g_new0 (RawPeer, 1);

  server->n_accepted++;
  server->n_peers++;
  peer->server = server;
  peer->connection = g_object_ref (connection);
  peer->in = g_byte_array_new ();
  g_ptr_array_add (server->connections, g_object_ref (connection));
  raw_read (peer);
  return TRUE;
}

OwlTestRawServer *
owl_test_raw_server_new (gboolean      wrong_accept,
                         const guint8 *after,
                         gsize         len)
{
  OwlTestRawServer *server = g_new0 (OwlTestRawServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  server->service = g_socket_service_new ();
  server->wrong_accept = wrong_accept;
  server->after = after ? g_bytes_new (after, len) : NULL;
  server->received = g_byte_array_new ();
  server->connections = g_ptr_array_new_with_free_func (g_object_unref);
  server->cancellable = g_cancellable_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (server->service, "incoming", G_CALLBACK (on_raw_incoming), server);
  return server;
}

void
owl_test_raw_server_free (OwlTestRawServer *server)
{
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_signal_handlers_disconnect_by_data (server->service, server);
  g_cancellable_cancel (server->cancellable);
  OWL_TEST_WAIT_FOR (server->n_peers == 0);
  for (guint i = 0; i < server->connections->len; i++)
    g_io_stream_close (g_ptr_array_index (server->connections, i), NULL, NULL);
  g_object_unref (server->cancellable);
  g_ptr_array_unref (server->connections);
  g_object_unref (server->service);
  g_clear_pointer (&server->after, g_bytes_unref);
  g_byte_array_unref (server->received);
  g_free (server);
}

guint
owl_test_raw_server_close_code (OwlTestRawServer *server)
{
  guint8 *data = server->received->data;
  guint8 mask[4];

  if (server->received->len < 8)
    return 0;
  g_assert_cmphex (data[0], ==, 0x88);       /* FIN, close */
  g_assert_cmphex (data[1] & 0x80, ==, 0x80); /* masked, as a client must */
  memcpy (mask, data + 2, 4);
  return ((data[6] ^ mask[0]) << 8) | (data[7] ^ mask[1]);
}
