/* test-service.c: the service, its modules, routing, stop and attach
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

static void
test_error_codes (void)
{
  OwlError code = OWL_ERROR_FAILED;
  GEnumClass *klass;

  g_assert_true (G_TYPE_IS_ENUM (OWL_TYPE_ERROR));
  klass = g_type_class_ref (OWL_TYPE_ERROR);
  g_assert_nonnull (g_enum_get_value (klass, OWL_ERROR_UNKNOWN_METHOD));
  g_type_class_unref (klass);

  g_assert_cmpstr (owl_error_code_to_string (OWL_ERROR_UNKNOWN_METHOD), ==, "unknown-method");
  g_assert_cmpstr (owl_error_code_to_string (OWL_ERROR_INTERNAL), ==, "internal");
  g_assert_cmpstr (owl_error_code_to_string (OWL_ERROR_MALFORMED), ==, "malformed");
  g_assert_cmpstr (owl_error_code_to_string (OWL_ERROR_TIMEOUT), ==, "timeout");
  g_assert_true (owl_error_code_from_string ("validation", &code));
  g_assert_cmpint (code, ==, OWL_ERROR_VALIDATION);
  g_assert_cmpuint (OWL_ERROR, !=, 0);
  g_assert_cmpstr (g_quark_to_string (OWL_ERROR), !=, NULL);
}

static void
test_defaults (OwlTestFixture *fixture,
               gconstpointer   data)
{
  g_autoptr(OwlSocketService) named = owl_socket_service_new ("game");
  g_autoptr(OwlModule) module = owl_module_new ("chat", "/ws/chat/:room");

  g_assert_cmpstr (owl_socket_service_get_alias (fixture->service), ==, "socket-server");
  g_assert_cmpstr (owl_socket_service_get_alias (fixture->service), ==,
                   OWL_SOCKET_SERVICE_DEFAULT_ALIAS);
  g_assert_cmpstr (owl_socket_service_get_alias (named), ==, "game");
  g_assert_cmpstr (owl_module_get_alias (module), ==, "chat");
  g_assert_cmpstr (owl_module_get_path (module), ==, "/ws/chat/:room");
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
}

static void
assert_add_fails (OwlSocketService *service,
                  const char       *alias,
                  const char       *path,
                  OwlError          code)
{
  g_autoptr(OwlModule) module = owl_module_new (alias, path);
  g_autoptr(GError) error = NULL;
  gboolean added = owl_socket_service_add_module (service, module, &error);

  g_test_message ("adding %s at %s", alias, path);
  g_assert_error (error, OWL_ERROR, (gint) code);
  g_assert_false (added);
}

static void
test_add_module (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlModule *chat = owl_test_fixture_add_module (fixture, "chat", "/ws/chat/:room");

  g_assert_true (owl_socket_service_lookup_module (fixture->service, "chat") == chat);
  g_assert_null (owl_socket_service_lookup_module (fixture->service, "nope"));

  assert_add_fails (fixture->service, "chat", "/ws/other", OWL_ERROR_EXISTS);
  assert_add_fails (fixture->service, "chat2", "/ws/chat/:room", OWL_ERROR_EXISTS);
  /* Another parameter name matches the same paths. */
  assert_add_fails (fixture->service, "chat3", "/ws/chat/:name", OWL_ERROR_EXISTS);
  assert_add_fails (fixture->service, "bad1", "ws/no-slash", OWL_ERROR_INVALID_ARGUMENT);
  assert_add_fails (fixture->service, "bad2", "/ws/:/x", OWL_ERROR_INVALID_ARGUMENT);
  assert_add_fails (fixture->service, "bad3", "/ws/chat/:", OWL_ERROR_INVALID_ARGUMENT);

  /* A failed add leaves nothing behind. */
  g_assert_null (owl_socket_service_lookup_module (fixture->service, "bad1"));
  g_assert_null (owl_socket_service_lookup_module (fixture->service, "chat2"));

  /* A module belongs to one service. */
  {
    g_autoptr(OwlSocketService) other = owl_socket_service_new ("other");
    g_autoptr(GError) error = NULL;
    gboolean added = owl_socket_service_add_module (other, chat, &error);

    g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
    g_assert_false (added);
  }

  g_assert_true (owl_socket_service_remove_module (fixture->service, chat));
  g_assert_null (owl_socket_service_lookup_module (fixture->service, "chat"));
}

static void
test_modules_while_listening (OwlTestFixture *fixture,
                              gconstpointer   data)
{
  OwlTestClient *client;
  OwlModule *late;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  /* Added after listen: served at once. */
  late = owl_test_fixture_add_echo_module (fixture, "late", "/ws/late");
  client = owl_test_client_connect (fixture, "/ws/late");
  owl_test_fixture_wait_accepted (fixture, 0);

  /* Removed: its connections get 1001, its path 404. */
  g_assert_true (owl_socket_service_remove_module (fixture->service, late));
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, OWL_CLOSE_GOING_AWAY);
  owl_test_record_wait_closed (g_ptr_array_index (fixture->accepted, 0));
  g_assert_cmpuint (owl_test_record_get (g_ptr_array_index (fixture->accepted, 0))->close_code, ==,
                    OWL_CLOSE_GOING_AWAY);
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/late"), ==, 404);
  g_assert_false (owl_socket_service_remove_module (fixture->service, late));
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 101);
}

static void
test_handshake_echo (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn;
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) second = NULL;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_true (owl_connection_get_module (conn) ==
                 owl_socket_service_lookup_module (fixture->service, "echo"));

  owl_test_client_send (client, "{\"type\":\"hello\",\"n\":1}");
  owl_test_client_send (client, "{\"text\":\"no type at all\"}");
  first = owl_test_client_wait_json (client, 0);
  second = owl_test_client_wait_json (client, 1);
  owl_test_assert_json_equal (first, "{\"type\":\"hello\",\"n\":1}");
  owl_test_assert_json_equal (second, "{\"text\":\"no type at all\"}");
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 2);
}

/* A socket bound and listening already (systemd's socket activation):
 * clients that connected before the service took it are served too. */
static void
test_listen_socket (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                         G_SOCKET_PROTOCOL_UDP, NULL);
  OwlTestClient *client;
  g_autoptr(JsonNode) echoed = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  g_assert_false (owl_socket_service_listen_socket (fixture->service, udp, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_assert_true (owl_socket_service_listen_socket (fixture->service, socket, &error));
  g_assert_no_error (error);
  fixture->port = owl_socket_service_get_port (fixture->service);
  g_assert_cmpuint (fixture->port, ==, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  g_assert_false (owl_socket_service_listen_socket (fixture->service, socket, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
  g_clear_error (&error);

  client = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_client_send (client, "{\"type\":\"hello\"}");
  echoed = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (echoed, "{\"type\":\"hello\"}");
}

/* One service on several addresses: each serves the same modules, and the
 * port is the first one's. */
static void
test_listen_twice (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(SoupServer) other = soup_server_new (NULL, NULL);
  g_autoptr(OwlSocketService) attached = owl_socket_service_new (NULL);
  OwlTestClient *first, *second;
  g_autoptr(JsonNode) one = NULL;
  g_autoptr(JsonNode) two = NULL;
  guint16 first_port;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_assert_true (owl_socket_service_listen (fixture->service, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  first_port = owl_socket_service_get_port (fixture->service);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  g_assert_true (owl_socket_service_listen_socket (fixture->service, socket, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (owl_socket_service_get_port (fixture->service), ==, first_port);
  bound = g_socket_get_local_address (socket, &error);

  fixture->port = first_port;
  first = owl_test_client_connect (fixture, "/ws/echo");
  fixture->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  second = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_client_send (first, "{\"n\":1}");
  owl_test_client_send (second, "{\"n\":2}");
  one = owl_test_client_wait_json (first, 0);
  two = owl_test_client_wait_json (second, 0);
  owl_test_assert_json_equal (one, "{\"n\":1}");
  owl_test_assert_json_equal (two, "{\"n\":2}");
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 2);

  /* An application's server is the application's to listen with. */
  g_assert_true (owl_socket_service_attach (attached, other, &error));
  g_assert_false (owl_socket_service_listen (attached, "127.0.0.1", 0, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
}

/* What goes in comes back the same, whatever JSON it holds. */
static void
test_echo_fidelity (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  static const char *const samples[] = {
    "{\"type\":\"mix\",\"a\":[1,-2,2.5,-300.0,true,false,null],\"o\":{\"k\":{}},\"e\":[]}",
    "{\"s\":\"quote \\\" backslash \\\\ slash \\/ tab \\t nl \\n\"}",
    "{\"u\":\"caf\\u00e9 é \\ud83d\\ude00 😀\",\"empty\":\"\"}",
    "{\"big\":9223372036854775807,\"neg\":-9223372036854775807,\"small\":1e-7}",
  };
  OwlTestClient *client;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    owl_test_client_send (client, samples[i]);
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(JsonNode) reply = owl_test_client_wait_json (client, i);

      owl_test_assert_json_equal (reply, samples[i]);
    }
}

static void
test_not_found (OwlTestFixture *fixture,
                gconstpointer   data)
{
  owl_test_fixture_add_echo_module (fixture, "chat", "/ws/chat/:room");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/nope"), ==, 404);
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/chat/a/b"), ==, 404);
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/chat"), ==, 404);
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws"), ==, 404);
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/ws/chat/a/b",
                                       TRUE, NULL), ==, 404);
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/nope",
                                       FALSE, NULL), ==, 404);
  /* The matching path still works. */
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/chat/a"), ==, 101);
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
}

static void
test_upgrade_required (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  owl_test_fixture_add_echo_module (fixture, "chat", "/ws/chat/:room");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/ws/chat/lobby",
                                       FALSE, NULL), ==, 426);
  g_assert_cmpuint (fixture->accepted->len, ==, 0);
}

static void
test_request_info (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autofree char *uri = NULL;
  g_autofree char *origin = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  OwlTestClient *client;
  OwlConnection *conn;
  OwlRequest *request;

  owl_test_fixture_add_echo_module (fixture, "chat", "/ws/chat/:room");
  owl_test_fixture_listen (fixture);

  uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/chat/caf%%C3%%A9?q=a%%20b&x=%%C3%%A9",
                         fixture->port);
  origin = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);
  msg = soup_message_new ("GET", uri);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Owl-Test", "hoot");
  client = owl_test_client_connect_msg (fixture, msg, origin);
  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);

  conn = owl_test_fixture_wait_accepted (fixture, 0);
  request = owl_connection_get_request (conn);
  g_assert_nonnull (request);
  g_assert_cmpstr (owl_request_get_param (request, "room"), ==, "café");
  g_assert_null (owl_request_get_param (request, "nope"));
  g_assert_cmpstr (owl_request_get_path (request), ==, "/ws/chat/café");
  g_assert_cmpstr (owl_request_get_query_param (request, "q"), ==, "a b");
  g_assert_cmpstr (owl_request_get_query_param (request, "x"), ==, "é");
  g_assert_null (owl_request_get_query_param (request, "nope"));
  g_assert_cmpstr (owl_request_get_header (request, "X-Owl-Test"), ==, "hoot");
  g_assert_cmpstr (owl_request_get_header (request, "x-owl-test"), ==, "hoot");
  g_assert_cmpstr (owl_request_get_origin (request), ==, origin);
  g_assert_cmpstr (owl_request_get_remote_host (request), ==, "127.0.0.1");
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (owl_request_get_remote_address (request)));
  g_assert_cmpuint (g_hash_table_size (owl_request_get_params (request)), ==, 1);
  g_assert_cmpuint (g_hash_table_size (owl_request_get_query (request)), ==, 2);
}

static void
test_registry (OwlTestFixture *fixture,
               gconstpointer   data)
{
  OwlTestClient *clients[3];
  OwlConnection *conns[3];
  g_autofree char *closed_id = NULL;
  GList *list;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = owl_test_client_connect (fixture, "/ws/echo");
      conns[i] = owl_test_fixture_wait_accepted (fixture, i);
    }
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    {
      const char *id = owl_connection_get_id (conns[i]);

      g_assert_nonnull (id);
      g_assert_cmpstr (id, !=, "");
      g_assert_true (owl_socket_service_lookup_connection (fixture->service, id) == conns[i]);
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (id, !=, owl_connection_get_id (conns[j]));
    }
  g_assert_null (owl_socket_service_lookup_connection (fixture->service, "no-such-id"));

  list = owl_socket_service_list_connections (fixture->service);
  g_assert_cmpuint (g_list_length (list), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    g_assert_nonnull (g_list_find (list, conns[i]));
  g_list_free (list);

  closed_id = g_strdup (owl_connection_get_id (conns[1]));
  soup_websocket_connection_close (clients[1]->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  owl_test_record_wait_closed (conns[1]);
  g_assert_cmpint (owl_connection_get_state (conns[1]), ==, OWL_CONNECTION_CLOSED);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 2);
  g_assert_null (owl_socket_service_lookup_connection (fixture->service, closed_id));
  list = owl_socket_service_list_connections (fixture->service);
  g_assert_cmpuint (g_list_length (list), ==, 2);
  g_assert_null (g_list_find (list, conns[1]));
  g_list_free (list);
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} StopResult;

static void
stop_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  StopResult *res = user_data;

  res->ok = owl_socket_service_stop_finish (OWL_SOCKET_SERVICE (source), result, &res->error);
  res->done = TRUE;
}

static void
test_graceful_stop (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient *clients[3];
  g_autoptr(GIOStream) raw = NULL;
  StopResult stop_result = { FALSE, FALSE, NULL };
  guint status = 0;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    clients[i] = owl_test_client_connect (fixture, "/ws/echo");
  /* A client that never answers the close frame keeps the stop in progress. */
  raw = owl_test_raw_upgrade (fixture->port, "/ws/echo", &status);
  g_assert_cmpuint (status, ==, 101);
  owl_test_fixture_wait_accepted (fixture, 3);
  g_assert_false (owl_socket_service_is_stopping (fixture->service));

  owl_socket_service_stop_async (fixture->service, NULL, stop_done_cb, &stop_result);
  g_assert_true (owl_socket_service_is_stopping (fixture->service));

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      owl_test_client_wait_closed (clients[i]);
      g_assert_cmpuint (clients[i]->close_code, ==, OWL_CLOSE_GOING_AWAY);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      OwlConnection *conn = g_ptr_array_index (fixture->accepted, i);

      owl_test_record_wait_closed (conn);
      g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_GOING_AWAY);
    }

  /* The raw client still holds its connection: the stop is not over. */
  g_assert_cmpuint (fixture->n_stopped, ==, 0);
  g_assert_false (stop_result.done);
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 503);
  g_assert_cmpuint (fixture->accepted->len, ==, 4);

  g_io_stream_close (raw, NULL, NULL);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0 && stop_result.done);
  g_assert_no_error (stop_result.error);
  g_assert_true (stop_result.ok);
  owl_test_drain ();
  g_assert_cmpuint (fixture->n_stopped, ==, 1);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
  for (guint i = 0; i < fixture->accepted->len; i++)
    {
      OwlConnection *conn = g_ptr_array_index (fixture->accepted, i);

      g_assert_cmpuint (owl_test_record_get (conn)->n_closed, ==, 1);
      g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_CLOSED);
    }
}

static void
test_stop_idle (OwlTestFixture *fixture,
                gconstpointer   data)
{
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  owl_socket_service_stop (fixture->service);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0);
  owl_test_drain ();
  g_assert_cmpuint (fixture->n_stopped, ==, 1);
}

static void
app_hello_cb (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  static const char body[] = "hello from app";

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
                                    body, sizeof body - 1);
}

static void
assert_echo_works (OwlTestFixture *fixture,
                   const char     *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);
  g_autoptr(JsonNode) reply = NULL;

  owl_test_client_send (client, "{\"type\":\"hello\",\"via\":\"attached\"}");
  reply = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (reply, "{\"type\":\"hello\",\"via\":\"attached\"}");
}

static void
test_attach (OwlTestFixture *fixture,
             gconstpointer   data)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  OwlRequest *late_request;
  GSList *uris;
  gboolean ok;

  soup_server_add_handler (server, "/hello", app_hello_cb, NULL, NULL);
  ok = soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  uris = soup_server_get_uris (server);
  g_assert_nonnull (uris);
  fixture->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  /* One module before attaching, one after. */
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  ok = owl_socket_service_attach (fixture->service, server, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (owl_socket_service_get_server (fixture->service) == server);
  owl_test_fixture_add_echo_module (fixture, "late", "/ws/late/:id");

  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/hello",
                                       FALSE, &body), ==, 200);
  g_assert_cmpstr (body, ==, "hello from app");

  assert_echo_works (fixture, "/ws/echo");
  assert_echo_works (fixture, "/ws/late/7");
  g_assert_cmpuint (fixture->accepted->len, ==, 2);
  late_request = owl_connection_get_request (g_ptr_array_index (fixture->accepted, 1));
  g_assert_cmpstr (owl_request_get_param (late_request, "id"), ==, "7");

  /* The application's plain HTTP still works with sockets open. */
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/hello",
                                       FALSE, &body), ==, 200);
  g_assert_cmpstr (body, ==, "hello from app");

  /* Stopping the service takes its paths away, not the application's. */
  owl_socket_service_stop (fixture->service);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0);
  for (guint i = 0; i < fixture->clients->len; i++)
    {
      OwlTestClient *client = g_ptr_array_index (fixture->clients, i);

      owl_test_client_wait_closed (client);
      g_assert_cmpuint (client->close_code, ==, OWL_CLOSE_GOING_AWAY);
    }
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/hello",
                                       FALSE, &body), ==, 200);
  g_assert_cmpstr (body, ==, "hello from app");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/echo"), ==, 404);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  g_test_add_func ("/owl/error/codes", test_error_codes);
  OWL_TEST ("/owl/service/defaults", test_defaults);
  OWL_TEST ("/owl/service/add-module", test_add_module);
  OWL_TEST ("/owl/service/modules-while-listening", test_modules_while_listening);
  OWL_TEST ("/owl/service/handshake-echo", test_handshake_echo);
  OWL_TEST ("/owl/service/listen-socket", test_listen_socket);
  OWL_TEST ("/owl/service/listen-twice", test_listen_twice);
  OWL_TEST ("/owl/service/echo-fidelity", test_echo_fidelity);
  OWL_TEST ("/owl/service/not-found", test_not_found);
  OWL_TEST ("/owl/service/upgrade-required", test_upgrade_required);
  OWL_TEST ("/owl/service/request-info", test_request_info);
  OWL_TEST ("/owl/service/registry", test_registry);
  OWL_TEST ("/owl/service/graceful-stop", test_graceful_stop);
  OWL_TEST ("/owl/service/stop-idle", test_stop_idle);
  OWL_TEST ("/owl/service/attach", test_attach);

  return g_test_run ();
}
