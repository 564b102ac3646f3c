/* test-client.c: OwlSocketClient against owlsock's own server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * States and their notify order, messages and events by detail, calls
 * with a result, an error, a timeout and a cancel, the server's calls
 * answered by the client, the token as a header and as a subprotocol
 * entry, wss:// refused by default and trusted through the hook, and a
 * refused upgrade.
 */

#include <string.h>

#include "owl-test-client.h"
#include "owl-test-util.h"

/* connect, an echo, close: every state in order, each notified before
 * state-changed; `closed` once with the client's code; no reconnect. */
static void
test_echo_states (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(JsonNode) chat = owl_test_json_parse ("{\"type\":\"chat\",\"text\":\"hi\"}");
  g_autoptr(GError) error = NULL;
  guint n_chat = 0;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");
  g_assert_cmpstr (watch->states->str, ==, "connecting;connected;");
  g_assert_cmpstr (watch->changes->str, ==, "disconnected>connecting;connecting>connected;");

  g_signal_connect_swapped (watch->client, "message::chat", G_CALLBACK (g_atomic_int_inc), &n_chat);
  g_assert_true (owl_socket_client_send (watch->client, chat, &error));
  g_assert_no_error (error);
  g_assert_true (owl_socket_client_send_text (watch->client, "{\"type\":\"other\"}", &error));
  OWL_TEST_WAIT_FOR (watch->messages->len == 2);
  owl_test_assert_json_equal (g_ptr_array_index (watch->messages, 0), "{\"type\":\"chat\",\"text\":\"hi\"}");
  g_assert_cmpuint (n_chat, ==, 1);  /* message::chat, not message::other */

  owl_socket_client_close (watch->client, OWL_CLOSE_NORMAL, "bye");
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_cmpuint (watch->n_closed, ==, 1);
  g_assert_cmpuint (watch->close_code, ==, OWL_CLOSE_NORMAL);
  owl_test_record_wait_closed (owl_test_fixture_wait_accepted (fixture, 0));
  g_assert_cmpuint (owl_test_record_get (owl_test_fixture_wait_accepted (fixture, 0))->close_code, ==, 1000);
  g_assert_cmpstr (watch->states->str, ==, "connecting;connected;closed;");
  g_assert_cmpuint (fixture->accepted->len, ==, 1);

  /* Refused once closed. */
  g_assert_false (owl_socket_client_send (watch->client, chat, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
}

static gboolean
on_server_call (OwlConnection *connection,
                OwlCall       *call,
                GPtrArray     *held)
{
  const char *method = owl_call_get_method (call);

  if (g_str_equal (method, "add"))
    {
      JsonArray *args = json_node_get_array (owl_call_get_params (call));
      g_autoptr(JsonNode) sum = json_node_new (JSON_NODE_VALUE);

      json_node_set_int (sum, json_array_get_int_element (args, 0) + json_array_get_int_element (args, 1));
      owl_call_return_value (call, sum);
    }
  else if (g_str_equal (method, "deny"))
    owl_call_return_error_literal (call, OWL_ERROR_FORBIDDEN, "Not you");
  else
    g_ptr_array_add (held, g_object_ref (call));  /* "slow": never answered in time */
  return TRUE;
}

static void
on_connection_calls (OwlModule     *module,
                     OwlConnection *connection,
                     GPtrArray     *held)
{
  g_signal_connect (connection, "call", G_CALLBACK (on_server_call), held);
}

static JsonNode *
call_sync (OwlTestWatch  *watch,
           const char    *method,
           const char    *params,
           guint          timeout_ms,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) args = params ? owl_test_json_parse (params) : NULL;

  owl_socket_client_call_async (watch->client, method, args, timeout_ms, cancellable,
                                owl_test_store_result, &result);
  owl_test_wait_result (&result);
  return owl_socket_client_call_finish (watch->client, result, error);
}

/* A result; an error frame as OWL_ERROR with the server's code; no answer
 * in time: timeout; a cancelled call: G_IO_ERROR_CANCELLED; the
 * connection stays up through all of them. */
static void
test_calls (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  OwlModule *module = owl_test_fixture_add_module (fixture, "rpc", "/ws/rpc");
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonNode) sum = NULL;
  g_autoptr(JsonNode) none = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_signal_connect (module, "connection", G_CALLBACK (on_connection_calls), held);
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/rpc");

  sum = call_sync (watch, "add", "[2, 40]", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (sum), ==, 42);

  none = call_sync (watch, "deny", NULL, 0, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_FORBIDDEN);
  g_assert_cmpstr (error->message, ==, "Not you");
  g_assert_false (owl_error_code_is_recoverable (error->code));
  g_clear_error (&error);

  none = call_sync (watch, "slow", "[1]", 50, NULL, &error);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_TIMEOUT);
  g_clear_error (&error);
  g_assert_cmpuint (held->len, ==, 1);

  owl_socket_client_call_async (watch->client, "slow", NULL, 0, cancellable, owl_test_store_result, &result);
  g_cancellable_cancel (cancellable);
  owl_test_wait_result (&result);
  g_assert_null (owl_socket_client_call_finish (watch->client, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_cmpint (owl_socket_client_get_state (watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
  g_clear_pointer (&sum, json_node_unref);
  sum = call_sync (watch, "add", "[1, 1]", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (sum), ==, 2);

  /* The answer to the call that timed out comes late: message::result. */
  g_assert_cmpuint (watch->messages->len, ==, 0);
  owl_call_return_value (g_ptr_array_index (held, 0), sum);
  OWL_TEST_WAIT_FOR (watch->messages->len == 1);
  owl_test_assert_frame (g_ptr_array_index (watch->messages, 0), "result", NULL);
}

/* A message the server refuses is answered with an error without id:
 * message::error, and the connection goes on. */
static void
test_refused_message (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  guint n_errors = 0;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");
  g_signal_connect_swapped (watch->client, "message::error", G_CALLBACK (g_atomic_int_inc), &n_errors);

  g_assert_true (owl_socket_client_send_text (watch->client, "not JSON", NULL));
  OWL_TEST_WAIT_FOR (watch->messages->len == 1);
  owl_test_assert_error_frame (g_ptr_array_index (watch->messages, 0), NULL, "malformed", "MalformedError|||");
  g_assert_cmpuint (n_errors, ==, 1);

  g_assert_true (owl_socket_client_send_text (watch->client, "{\"type\":\"still\"}", NULL));
  OWL_TEST_WAIT_FOR (watch->messages->len == 2);
  owl_test_assert_json_equal (g_ptr_array_index (watch->messages, 1), "{\"type\":\"still\"}");
  g_assert_cmpint (owl_socket_client_get_state (watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
}

static gboolean
on_client_confirm (OwlSocketClient *client,
                   OwlCall         *call,
                   gpointer         data)
{
  g_autoptr(JsonNode) yes = owl_test_json_parse ("{\"ok\":true}");

  g_assert_true (owl_call_get_owner (call) == G_OBJECT (client));
  g_assert_null (owl_call_get_connection (call));
  owl_call_return_value (call, yes);
  return TRUE;
}

/* The server's event arrives as event::NAME; its call reaches
 * call::METHOD on the client and the answer gets back; a method the
 * client does not handle is answered unknown-method. */
static void
test_server_events_and_calls (OwlTestFixture *fixture,
                              gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(JsonNode) payload = owl_test_json_parse ("{\"n\":1}");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  OwlConnection *connection;
  guint n_joined = 0;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_signal_connect_swapped (watch->client, "event::joined", G_CALLBACK (g_atomic_int_inc), &n_joined);
  g_signal_connect (watch->client, "call::confirm", G_CALLBACK (on_client_confirm), NULL);

  g_assert_true (owl_connection_notify_event (connection, "joined", payload, NULL));
  g_assert_true (owl_connection_notify_event (connection, "left", NULL, NULL));
  OWL_TEST_WAIT_FOR (watch->events->len == 2);
  g_assert_cmpstr (g_ptr_array_index (watch->events, 0), ==, "joined={\"n\":1}");
  g_assert_cmpstr (g_ptr_array_index (watch->events, 1), ==, "left=null");
  g_assert_cmpuint (n_joined, ==, 1);

  owl_connection_call_async (connection, "confirm", NULL, 0, NULL, owl_test_store_result, &result);
  owl_test_wait_result (&result);
  answer = owl_connection_call_finish (connection, result, &error);
  g_assert_no_error (error);
  owl_test_assert_json_equal (answer, "{\"ok\":true}");

  owl_connection_call_async (connection, "unknown", NULL, 0, NULL, owl_test_store_result, &result2);
  owl_test_wait_result (&result2);
  g_assert_null (owl_connection_call_finish (connection, result2, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_UNKNOWN_METHOD);
}

static OwlModule *
add_guarded_module (OwlTestFixture *fixture)
{
  const char *guards[] = { "jwt", NULL };
  const char *protocols[] = { "owlsock", NULL };
  OwlModule *module;

  owl_test_client_add_guard (fixture->service);
  module = owl_test_fixture_add_echo_module_with (fixture, "secure", "/ws/secure", "guards", guards,
                                                  "protocols", protocols, NULL);
  return module;
}

/* The token as the server reads it: Authorization: Bearer, or the
 * subprotocol entry beside `owlsock` (which the server selects); without
 * one the upgrade is refused with auth-failed, for good. */
static void
test_token (OwlTestFixture *fixture,
            gconstpointer   data)
{
  gboolean as_protocol = GPOINTER_TO_INT (data);
  g_autofree char *token = owl_test_client_mint (as_protocol ? "bob" : "alice", 600);
  g_autofree char *uri = NULL;
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(OwlTestWatch) anonymous = NULL;
  const char *protocols[] = { "owlsock", NULL };
  OwlConnection *connection;
  OwlRequest *request;

  add_guarded_module (fixture);
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/secure");

  anonymous = owl_test_watch_new (uri);
  owl_socket_client_open (anonymous->client);
  owl_test_watch_wait_state (anonymous, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_error (anonymous->error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
  g_assert_cmpstr (anonymous->states->str, ==, "connecting;closed;");

  watch = owl_test_watch_new (uri);
  owl_socket_client_set_protocols (watch->client, protocols);
  g_object_set (watch->client, "token-as-protocol", as_protocol, NULL);
  owl_socket_client_set_token (watch->client, token);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, as_protocol ? "bob" : "alice");
  g_assert_cmpstr (owl_socket_client_get_protocol (watch->client), ==, "owlsock");
  request = owl_connection_get_request (connection);
  if (as_protocol)
    {
      g_assert_null (owl_request_get_header (request, "Authorization"));
      g_assert_nonnull (strstr (owl_request_get_header (request, "Sec-WebSocket-Protocol"), "owlsock.bearer."));
    }
  else
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      g_assert_cmpstr (owl_request_get_header (request, "Authorization"), ==, bearer);
    }
}

/* The token function answers twice: a token that expires within the
 * server's auth-expiry-notice, then (asked again on `auth-expiring`) a
 * fresh one, sent in an `auth` frame: the connection's identity is renewed
 * (its expiry moves) without a reconnect and the answer arrives as
 * message::auth. */
static void
give_token (OwlSocketClient *client,
            gpointer         data)
{
  guint *n_asked = data;
  g_autofree char *token = (*n_asked)++ == 0 ? owl_test_client_mint ("early", 30)
                                             : owl_test_client_mint ("early", 600);

  owl_socket_client_provide_token (client, token);
}

static void
test_token_refresh (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autofree char *uri = NULL;
  OwlConnection *connection;
  guint n_asked = 0;
  guint n_auth = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  add_guarded_module (fixture);
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/secure");
  watch = owl_test_watch_new (uri);
  owl_socket_client_set_token_func (watch->client, give_token, &n_asked, NULL);
  g_signal_connect_swapped (watch->client, "message::auth", G_CALLBACK (g_atomic_int_inc), &n_auth);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "early");
  g_assert_cmpint (owl_auth_get_expires_at (owl_connection_get_auth (connection)), <=, now + 120);

  OWL_TEST_WAIT_FOR (n_auth == 1);
  g_assert_cmpuint (n_asked, ==, 2);
  g_assert_cmpint (owl_auth_get_expires_at (owl_connection_get_auth (connection)), >, now + 300);
  g_assert_cmpstr (owl_test_json_get_string (g_ptr_array_index (watch->messages, watch->messages->len - 1),
                                             "stage"), ==, "authenticated");
  g_assert_cmpstr (watch->states->str, ==, "connecting;connected;");
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
}

static gboolean
accept_test_certificate (OwlSocketClient      *client,
                         GTlsCertificate      *certificate,
                         GTlsCertificateFlags  errors,
                         guint                *n_asked)
{
  (*n_asked)++;
  return TRUE;
}

/* wss://: the test's self-signed certificate is refused by default (a TLS
 * error, no connection); trusted through accept-certificate, it connects
 * and messages flow, deflated both ways (the module has deflate on). */
static void
test_wss (OwlTestFixture *fixture,
          gconstpointer   data)
{
  g_autoptr(OwlTestWatch) refused = NULL;
  g_autoptr(OwlTestWatch) trusted = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *text = g_strnfill (100000, 'z');
  g_autofree char *json = g_strdup_printf ("{\"type\":\"big\",\"text\":\"%s\"}", text);
  g_autoptr(JsonNode) big = owl_test_json_parse (json);
  guint n_asked = 0;

  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "deflate", TRUE, NULL);
  owl_test_fixture_use_tls (fixture);
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/echo");
  g_assert_true (g_str_has_prefix (uri, "wss://"));

  refused = owl_test_watch_new (uri);
  g_object_set (refused->client, "reconnect", FALSE, NULL);
  owl_socket_client_open (refused->client);
  owl_test_watch_wait_state (refused, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_error (refused->error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_cmpuint (fixture->accepted->len, ==, 0);

  trusted = owl_test_watch_new (uri);
  g_signal_connect (trusted->client, "accept-certificate", G_CALLBACK (accept_test_certificate), &n_asked);
  g_object_set (trusted->client, "deflate", TRUE, NULL);
  owl_socket_client_open (trusted->client);
  owl_test_watch_wait_state (trusted, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_cmpuint (n_asked, ==, 1);
  g_assert_true (owl_socket_client_send_text (trusted->client, "{\"type\":\"x\",\"v\":1}", NULL));
  g_assert_true (owl_socket_client_send (trusted->client, big, NULL));
  OWL_TEST_WAIT_FOR (trusted->messages->len == 2);
  owl_test_assert_json_equal (g_ptr_array_index (trusted->messages, 0), "{\"type\":\"x\",\"v\":1}");
  g_assert_true (json_node_equal (g_ptr_array_index (trusted->messages, 1), big));
}

/* A path nobody serves: 404 is final, reported as not-found. */
static void
test_refused (OwlTestFixture *fixture,
              gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autofree char *uri = NULL;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/nowhere");
  watch = owl_test_watch_new (uri);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_nonnull (watch->error);
  g_assert_true (watch->error->domain == OWL_ERROR);
  g_assert_cmpuint (watch->n_errors, ==, 1);
  g_assert_cmpuint (watch->n_closed, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/client/echo-states", test_echo_states);
  OWL_TEST ("/owl/client/calls", test_calls);
  OWL_TEST ("/owl/client/refused-message", test_refused_message);
  OWL_TEST ("/owl/client/server-events-and-calls", test_server_events_and_calls);
  g_test_add ("/owl/client/token/header", OwlTestFixture, GINT_TO_POINTER (FALSE),
              owl_test_fixture_setup, test_token, owl_test_fixture_teardown);
  g_test_add ("/owl/client/token/protocol", OwlTestFixture, GINT_TO_POINTER (TRUE),
              owl_test_fixture_setup, test_token, owl_test_fixture_teardown);
  OWL_TEST ("/owl/client/token/refresh", test_token_refresh);
  OWL_TEST ("/owl/client/wss", test_wss);
  OWL_TEST ("/owl/client/refused", test_refused);

  return g_test_run ();
}
