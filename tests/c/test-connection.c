/* test-connection.c: sending, closing, and the life of one connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

#include <string.h>

#include "owl-connection-private.h"

static OwlConnection *
connect_one (OwlTestFixture  *fixture,
             OwlTestClient  **client_out)
{
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  *client_out = owl_test_client_connect (fixture, "/ws/echo");
  return owl_test_fixture_wait_accepted (fixture, 0);
}

/* `closed` came once with this code; closing again emits nothing more. */
static void
assert_closed_once (OwlConnection *conn,
                    guint          code)
{
  OwlTestRecord *record = owl_test_record_get (conn);
  g_autoptr(GError) error = NULL;
  gboolean sent;

  owl_test_record_wait_closed (conn);
  owl_test_drain ();
  g_assert_cmpuint (record->n_closed, ==, 1);
  g_assert_cmpuint (record->close_code, ==, code);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_CLOSED);
  g_assert_cmpuint (owl_connection_get_close_code (conn), ==, code);

  owl_connection_close (conn, OWL_CLOSE_NORMAL, "again");
  sent = owl_connection_send_text (conn, "{\"type\":\"late\"}", &error);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_assert_false (sent);
  owl_test_drain ();
  g_assert_cmpuint (record->n_closed, ==, 1);
  g_assert_cmpuint (owl_connection_get_close_code (conn), ==, code);
}

static void
test_closed_client_close (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_one (fixture, &client);

  soup_websocket_connection_close (client->ws, 4000, "bye from client");
  assert_closed_once (conn, 4000);
  g_assert_cmpstr (owl_test_record_get (conn)->close_reason, ==, "bye from client");
  g_assert_cmpstr (owl_connection_get_close_reason (conn), ==, "bye from client");
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4000);
}

static void
test_closed_server_close (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_one (fixture, &client);

  owl_connection_close (conn, 4001, "bye from server");
  g_assert_cmpint (owl_connection_get_state (conn), !=, OWL_CONNECTION_OPEN);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4001);
  g_assert_cmpstr (client->close_data, ==, "bye from server");
  assert_closed_once (conn, 4001);
  g_assert_cmpstr (owl_test_record_get (conn)->close_reason, ==, "bye from server");
}

static void
test_closed_tcp_drop (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_one (fixture, &client);
  g_autoptr(GIOStream) raw = NULL;
  guint status = 0;

  /* A libsoup client whose TCP stream goes away under it. */
  g_io_stream_close (soup_websocket_connection_get_io_stream (client->ws), NULL, NULL);
  assert_closed_once (conn, OWL_CLOSE_ABNORMAL);

  /* A raw client that did the handshake by hand, then hangs up. */
  raw = owl_test_raw_upgrade (fixture->port, "/ws/echo", &status);
  g_assert_cmpuint (status, ==, 101);
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  g_io_stream_close (raw, NULL, NULL);
  assert_closed_once (conn, OWL_CLOSE_ABNORMAL);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
}

static void
test_closed_service_stop (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_one (fixture, &client);

  owl_socket_service_stop (fixture->service);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, OWL_CLOSE_GOING_AWAY);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0);
  assert_closed_once (conn, OWL_CLOSE_GOING_AWAY);
  g_assert_cmpuint (fixture->n_stopped, ==, 1);
}

static void
assert_reason_cut (OwlTestFixture *fixture,
                   const char     *reason,
                   gsize           expected_len)
{
  guint index = fixture->accepted->len;
  OwlTestClient *client = owl_test_client_connect (fixture, "/ws/echo");
  OwlConnection *conn = owl_test_fixture_wait_accepted (fixture, index);

  g_assert_cmpuint (strlen (reason), >=, 123);
  owl_connection_close (conn, 4002, reason);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4002);
  g_assert_nonnull (client->close_data);
  g_assert_cmpuint (strlen (client->close_data), <=, 123);
  g_assert_true (g_utf8_validate (client->close_data, -1, NULL));
  g_assert_cmpuint (strlen (client->close_data), ==, expected_len);
  g_assert_cmpint (strncmp (client->close_data, reason, expected_len), ==, 0);
  assert_closed_once (conn, 4002);
}

static void
test_close_reason_truncated (OwlTestFixture *fixture,
                             gconstpointer   data)
{
  GString *two = g_string_new (NULL);
  GString *three = g_string_new ("a");

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  /* 100 x "é" (2 bytes): 123 falls inside a character, so 122 bytes remain. */
  for (guint i = 0; i < 100; i++)
    g_string_append (two, "é");
  assert_reason_cut (fixture, two->str, 122);

  /* "a" + 50 x "€" (3 bytes): 1 + 3 * 40 = 121 bytes. */
  for (guint i = 0; i < 50; i++)
    g_string_append (three, "€");
  assert_reason_cut (fixture, three->str, 121);

  /* Exactly 123 bytes: nothing to cut. */
  g_string_truncate (two, 0);
  for (guint i = 0; i < 123; i++)
    g_string_append_c (two, 'a' + i % 26);
  assert_reason_cut (fixture, two->str, 123);

  g_string_free (two, TRUE);
  g_string_free (three, TRUE);
}

typedef struct
{
  OwlTestClient *client;
  guint          during_handler;
  guint          after_handler;
  gboolean       handler_returned;
  GString       *order;
} EarlyData;

static void
early_message_cb (OwlConnection *conn,
                  JsonNode      *message,
                  EarlyData     *early)
{
  if (early->handler_returned)
    early->after_handler++;
  else
    early->during_handler++;
}

static void
early_handler (OwlModule     *module,
               OwlConnection *conn,
               gpointer       user_data)
{
  EarlyData *early = user_data;

  g_string_append (early->order, "handler;");
  g_signal_connect (conn, "message", G_CALLBACK (early_message_cb), early);

  /* The client has its 101 while we are still in the handler: it sends now,
   * and the server reads those frames before the handler returns. */
  OWL_TEST_WAIT_FOR (early->client->done);
  g_assert_nonnull (early->client->ws);
  for (guint i = 0; i < 5; i++)
    owl_test_client_send_printf (early->client, "{\"type\":\"early\",\"n\":%u}", i);
  owl_test_drain ();
  /* They did arrive during the handler, and wait in the early queue. */
  g_assert_cmpuint (owl_connection_get_n_early (conn), ==, 5);
  early->handler_returned = TRUE;
}

static void
early_signal_cb (OwlModule     *module,
                 OwlConnection *conn,
                 EarlyData     *early)
{
  g_string_append (early->order, "signal;");
}

static void
test_early_messages (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  EarlyData early = { NULL, 0, 0, FALSE, g_string_new (NULL) };
  OwlModule *module = owl_test_fixture_add_module (fixture, "early", "/ws/early");
  OwlConnection *conn;
  OwlTestRecord *record;

  owl_module_set_handler (module, early_handler, &early, NULL);
  g_signal_connect (module, "connection", G_CALLBACK (early_signal_cb), &early);
  owl_test_fixture_listen (fixture);

  early.client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/early", NULL);
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_true (early.handler_returned);
  g_assert_cmpstr (early.order->str, ==, "handler;signal;");

  owl_test_record_wait_messages (conn, 5);
  owl_test_drain ();
  record = owl_test_record_get (conn);
  g_assert_cmpuint (record->messages->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      JsonNode *node = g_ptr_array_index (record->messages, i);

      g_assert_cmpint (owl_test_json_get_int (node, "n"), ==, i);
    }
  g_assert_cmpuint (early.during_handler, ==, 0);
  g_assert_cmpuint (early.after_handler, ==, 5);
  g_string_free (early.order, TRUE);
}

typedef struct
{
  OwlTestClient *client;
  guint          n_early;
} EarlyClose;

static void
early_close_handler (OwlModule     *module,
                     OwlConnection *conn,
                     gpointer       user_data)
{
  EarlyClose *early = user_data;

  OWL_TEST_WAIT_FOR (early->client->done);
  g_assert_nonnull (early->client->ws);
  for (guint i = 0; i < 3; i++)
    owl_test_client_send_printf (early->client, "{\"type\":\"early\",\"n\":%u}", i);
  soup_websocket_connection_close (early->client->ws, 4005, "done early");
  owl_test_drain ();
  early->n_early = owl_connection_get_n_early (conn);
}

/* The client says three things and hangs up while the handler runs: the
 * handlers that connect afterwards get the three messages, then `closed`. */
static void
test_early_close (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  EarlyClose early = { NULL, 0 };
  OwlModule *module = owl_test_fixture_add_module (fixture, "early", "/ws/early");
  OwlConnection *conn;
  OwlTestRecord *record;

  owl_module_set_handler (module, early_close_handler, &early, NULL);
  owl_test_fixture_listen (fixture);

  early.client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/early", NULL);
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  g_test_message ("early queue held %u frames", early.n_early);
  g_assert_cmpuint (early.n_early, >=, 3);
  assert_closed_once (conn, 4005);
  record = owl_test_record_get (conn);
  g_assert_cmpstr (record->events->str, ==, "message;message;message;closed;");
  g_assert_cmpstr (record->close_reason, ==, "done early");
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (owl_test_json_get_int (g_ptr_array_index (record->messages, i), "n"), ==, i);
}

static void
close_on_connection_cb (OwlModule     *module,
                        OwlConnection *conn,
                        gpointer       user_data)
{
  owl_connection_close (conn, 4006, "go away");
}

static void
test_close_in_handler (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, "closer", "/ws/closer");
  OwlTestClient *client;
  OwlConnection *conn;

  g_signal_connect (module, "connection", G_CALLBACK (close_on_connection_cb), NULL);
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/closer", NULL);
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  assert_closed_once (conn, 4006);
  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4006);
  g_assert_cmpstr (client->close_data, ==, "go away");
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
}

static void
test_send_kinds (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_one (fixture, &client);
  g_autoptr(GBytes) bytes = g_bytes_new_static ("\x01\x02\x03", 3);
  g_autoptr(JsonNode) node = owl_test_json_parse ("{\"type\":\"greeting\",\"to\":\"you\"}");
  g_autoptr(JsonNode) got = NULL;
  g_autoptr(GError) error = NULL;
  gboolean sent;

  sent = owl_connection_send_text (conn, "plain words", &error);
  g_assert_no_error (error);
  g_assert_true (sent);
  owl_test_client_wait_texts (client, 1);
  g_assert_cmpstr (g_ptr_array_index (client->texts, 0), ==, "plain words");

  sent = owl_connection_send_binary (conn, bytes, &error);
  g_assert_no_error (error);
  g_assert_true (sent);
  OWL_TEST_WAIT_FOR (client->n_binary == 1);

  sent = owl_connection_send (conn, node, &error);
  g_assert_no_error (error);
  g_assert_true (sent);
  got = owl_test_client_wait_json (client, 1);
  owl_test_assert_json_equal (got, "{\"type\":\"greeting\",\"to\":\"you\"}");
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/connection/closed-once/client-close", test_closed_client_close);
  OWL_TEST ("/owl/connection/closed-once/server-close", test_closed_server_close);
  OWL_TEST ("/owl/connection/closed-once/tcp-drop", test_closed_tcp_drop);
  OWL_TEST ("/owl/connection/closed-once/service-stop", test_closed_service_stop);
  OWL_TEST ("/owl/connection/close-reason-truncated", test_close_reason_truncated);
  OWL_TEST ("/owl/connection/early-messages", test_early_messages);
  OWL_TEST ("/owl/connection/early-close", test_early_close);
  OWL_TEST ("/owl/connection/close-in-handler", test_close_in_handler);
  OWL_TEST ("/owl/connection/send-kinds", test_send_kinds);

  return g_test_run ();
}
