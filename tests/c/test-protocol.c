/* test-protocol.c: the envelope protocol, both directions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

#include <string.h>

/* What the handlers below saw. */
typedef struct
{
  OwlCall   *pending;        /* a call::slow waiting for its answer */
  guint      n_typing;
  JsonNode  *typing_payload;
  guint      n_other_events;
  guint      n_declined;
  guint      n_subscribe;    /* message::subscribe */
  guint      n_messages;     /* message, every one */
} Seen;

static Seen seen;

static JsonNode *
int_node (gint64 value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_int (node, value);
  return node;
}

static gboolean
call_sum_cb (OwlConnection *conn,
             OwlCall       *call,
             gpointer       user_data)
{
  JsonNode *params = owl_call_get_params (call);
  g_autoptr(JsonNode) result = NULL;
  JsonArray *array;
  gint64 total = 0;

  g_assert_cmpstr (owl_call_get_method (call), ==, "sum");
  g_assert_false (owl_call_is_request (call));
  g_assert_true (owl_call_get_connection (call) == conn);
  g_assert_false (owl_call_is_answered (call));
  g_assert_nonnull (params);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (params));
  array = json_node_get_array (params);
  for (guint i = 0; i < json_array_get_length (array); i++)
    total += json_array_get_int_element (array, i);

  result = int_node (total);
  owl_call_return_value (call, result);
  g_assert_true (owl_call_is_answered (call));
  return TRUE;
}

static gboolean
call_slow_cb (OwlConnection *conn,
              OwlCall       *call,
              gpointer       user_data)
{
  g_assert_null (seen.pending);
  seen.pending = g_object_ref (call);
  return TRUE;
}

static gboolean
call_declines_cb (OwlConnection *conn,
                  OwlCall       *call,
                  gpointer       user_data)
{
  seen.n_declined++;
  return FALSE;
}

static gboolean
call_fail_cb (OwlConnection *conn,
              OwlCall       *call,
              gpointer       user_data)
{
  owl_call_return_error_literal (call, OWL_ERROR_FAILED, "it broke");
  return TRUE;
}

static gboolean
call_invalid_cb (OwlConnection *conn,
                 OwlCall       *call,
                 gpointer       user_data)
{
  g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_VALIDATION,
                                                 "field x is required");

  owl_call_return_error (call, error);
  return TRUE;
}

static gboolean
call_foreign_cb (OwlConnection *conn,
                 OwlCall       *call,
                 gpointer       user_data)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                                 "secret: cannot open /srv/db");

  owl_call_return_error (call, error);
  return TRUE;
}

static gboolean
request_cb (OwlConnection *conn,
            OwlCall       *call,
            gpointer       user_data)
{
  JsonNode *params = owl_call_get_params (call);
  g_autoptr(JsonNode) answer = owl_test_json_parse ("{\"answer\":42}");

  g_assert_true (owl_call_is_request (call));
  g_assert_null (owl_call_get_method (call));
  g_assert_cmpstr (owl_call_get_id (call), ==, "r1");
  g_assert_nonnull (params);
  owl_test_assert_json_equal (params, "{\"q\":\"life\"}");
  owl_call_return_value (call, answer);
  return TRUE;
}

static void
event_typing_cb (OwlConnection *conn,
                 const char    *event,
                 JsonNode      *payload,
                 gpointer       user_data)
{
  g_assert_cmpstr (event, ==, "typing");
  seen.n_typing++;
  g_clear_pointer (&seen.typing_payload, json_node_unref);
  seen.typing_payload = json_node_copy (payload);
}

static void
event_other_cb (OwlConnection *conn,
                const char    *event,
                JsonNode      *payload,
                gpointer       user_data)
{
  seen.n_other_events++;
}

static void
message_subscribe_cb (OwlConnection *conn,
                      JsonNode      *message,
                      gpointer       user_data)
{
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (message), "type"), ==, "subscribe");
  seen.n_subscribe++;
}

static void
message_cb (OwlConnection *conn,
            JsonNode      *message,
            gpointer       user_data)
{
  seen.n_messages++;
}

static void
protocol_connection_cb (OwlModule     *module,
                        OwlConnection *conn,
                        gpointer       user_data)
{
  g_signal_connect (conn, "call::sum", G_CALLBACK (call_sum_cb), NULL);
  g_signal_connect (conn, "call::slow", G_CALLBACK (call_slow_cb), NULL);
  g_signal_connect (conn, "call::declines", G_CALLBACK (call_declines_cb), NULL);
  g_signal_connect (conn, "call::fail", G_CALLBACK (call_fail_cb), NULL);
  g_signal_connect (conn, "call::invalid", G_CALLBACK (call_invalid_cb), NULL);
  g_signal_connect (conn, "call::foreign", G_CALLBACK (call_foreign_cb), NULL);
  g_signal_connect (conn, "request", G_CALLBACK (request_cb), NULL);
  g_signal_connect (conn, "event::typing", G_CALLBACK (event_typing_cb), NULL);
  g_signal_connect (conn, "event::unheard", G_CALLBACK (event_other_cb), NULL);
  g_signal_connect (conn, "message::subscribe", G_CALLBACK (message_subscribe_cb), NULL);
  g_signal_connect (conn, "message", G_CALLBACK (message_cb), NULL);
}

static void
protocol_setup (OwlTestFixture *fixture,
                gconstpointer   data)
{
  OwlModule *module;

  memset (&seen, 0, sizeof seen);
  owl_test_fixture_setup (fixture, data);
  module = owl_test_fixture_add_module (fixture, "proto", "/ws/proto");
  g_signal_connect (module, "connection", G_CALLBACK (protocol_connection_cb), NULL);
  owl_test_fixture_listen (fixture);
}

static void
protocol_teardown (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_clear_object (&seen.pending);
  g_clear_pointer (&seen.typing_payload, json_node_unref);
  owl_test_fixture_teardown (fixture, data);
}

#define PROTOCOL_TEST(path, func) \
  g_test_add (path, OwlTestFixture, NULL, protocol_setup, func, protocol_teardown)

static OwlConnection *
connect_proto (OwlTestFixture  *fixture,
               OwlTestClient  **client_out)
{
  guint index = fixture->accepted->len;

  *client_out = owl_test_client_connect (fixture, "/ws/proto");
  return owl_test_fixture_wait_accepted (fixture, index);
}

static void
send_call (OwlTestClient *client,
           const char    *id,
           const char    *method,
           const char    *payload)
{
  owl_test_client_send_printf (client,
                               "{\"type\":\"call\",\"id\":\"%s\",\"method\":\"%s\",\"payload\":%s}",
                               id, method, payload);
}

/* Sends a ping with this id and checks the answer at index: the
 * connection is still open and serving. */
static void
assert_still_serving (OwlTestClient *client,
                      guint          index)
{
  g_autoptr(JsonNode) pong = NULL;

  owl_test_client_send (client, "{\"type\":\"ping\",\"id\":\"alive\"}");
  pong = owl_test_client_wait_json (client, index);
  owl_test_assert_frame (pong, "pong", "alive");
}

/* Application messages are detailed by their string `type`:
 * `message::subscribe` gets those of type subscribe only, `message` all. */
static void
test_message_types (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient *client;

  connect_proto (fixture, &client);
  owl_test_client_send (client, "{\"type\":\"subscribe\",\"room\":\"a\"}");
  owl_test_client_send (client, "{\"type\":\"other\"}");
  owl_test_client_send (client, "{\"no\":\"type\"}");
  owl_test_client_send (client, "{\"type\":5}");
  owl_test_client_send (client, "{\"type\":\"subscribe\"}");
  /* Messages are handled in order: the pong comes after all of them. */
  assert_still_serving (client, 0);
  g_assert_cmpuint (seen.n_subscribe, ==, 2);
  g_assert_cmpuint (seen.n_messages, ==, 5);
}

static void
test_ping (OwlTestFixture *fixture,
           gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) second = NULL;
  g_autoptr(JsonNode) third = NULL;
  JsonNode *id;

  owl_test_client_send (client, "{\"type\":\"ping\"}");
  first = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (first, "pong", NULL);
  g_assert_false (owl_test_json_has (first, "id"));

  owl_test_client_send (client, "{\"type\":\"ping\",\"id\":\"p1\"}");
  second = owl_test_client_wait_json (client, 1);
  owl_test_assert_frame (second, "pong", "p1");

  /* A numeric id comes back as the same number, so a client that matches
   * answers by the value it sent finds it. */
  owl_test_client_send (client, "{\"type\":\"ping\",\"id\":7}");
  third = owl_test_client_wait_json (client, 2);
  owl_test_assert_frame (third, "pong", NULL);
  id = json_object_get_member (json_node_get_object (third), "id");
  g_assert_nonnull (id);
  g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (id), ==, 7);

  /* Protocol frames are not application messages. */
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
}

static void
test_call_result (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) result = NULL;

  send_call (client, "1", "sum", "[1,2]");
  result = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (result, "result", "1");
  owl_test_assert_member_json (result, "payload", "3");
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
}

static gboolean
answer_later_cb (gpointer user_data)
{
  g_autoptr(OwlCall) call = user_data;
  g_autoptr(JsonNode) value = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (value, "done");
  owl_call_return_value (call, value);
  return G_SOURCE_REMOVE;
}

static void
test_call_async (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *client;
  g_autoptr(JsonNode) pong = NULL;
  g_autoptr(JsonNode) result = NULL;

  connect_proto (fixture, &client);
  send_call (client, "2", "slow", "[]");
  OWL_TEST_WAIT_FOR (seen.pending != NULL);
  g_assert_cmpstr (owl_call_get_id (seen.pending), ==, "2");

  /* The pending call blocks nothing. */
  owl_test_client_send (client, "{\"type\":\"ping\",\"id\":\"meanwhile\"}");
  pong = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (pong, "pong", "meanwhile");
  g_assert_cmpuint (client->texts->len, ==, 1);
  g_assert_false (owl_call_is_answered (seen.pending));

  g_timeout_add (20, answer_later_cb, g_steal_pointer (&seen.pending));
  result = owl_test_client_wait_json (client, 1);
  owl_test_assert_frame (result, "result", "2");
  owl_test_assert_member_json (result, "payload", "\"done\"");
}

static void
test_call_unanswered (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  OwlTestClient *client;
  g_autoptr(JsonNode) error_frame = NULL;

  connect_proto (fixture, &client);
  send_call (client, "8", "slow", "[]");
  OWL_TEST_WAIT_FOR (seen.pending != NULL);

  /* The handler took the call and dropped it: the client is not left waiting. */
  g_clear_object (&seen.pending);
  error_frame = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (error_frame, "error", "8");
  g_assert_cmpstr (owl_test_json_get_string (error_frame, "code"), ==, "internal");
  assert_still_serving (client, 1);
}

static void
test_call_answer_after_close (OwlTestFixture *fixture,
                              gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) value = json_node_new (JSON_NODE_NULL);

  send_call (client, "9", "slow", "[]");
  OWL_TEST_WAIT_FOR (seen.pending != NULL);
  soup_websocket_connection_close (client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  owl_test_record_wait_closed (conn);

  /* Answering a call whose connection is gone is harmless. */
  g_assert_true (owl_call_get_connection (seen.pending) == conn);
  owl_call_return_value (seen.pending, value);
  g_clear_object (&seen.pending);
  owl_test_drain ();
  g_assert_cmpuint (owl_test_record_get (conn)->n_closed, ==, 1);
  g_assert_cmpuint (client->texts->len, ==, 0);
}

/* A C handler that lets the client's first frames reach the server before
 * it returns; the call handlers are connected only after it (by
 * protocol_connection_cb), so the frames must wait for them. */
static void
early_frames_handler (OwlModule     *module,
                      OwlConnection *conn,
                      gpointer       user_data)
{
  OwlTestClient **client = user_data;

  OWL_TEST_WAIT_FOR (*client != NULL && (*client)->done);
  g_assert_nonnull ((*client)->ws);
  send_call (*client, "e1", "sum", "[4,5]");
  owl_test_client_send (*client,
                        "{\"type\":\"event\",\"event\":\"typing\",\"payload\":{\"who\":\"early\"}}");
  owl_test_client_send (*client, "{\"type\":\"ping\",\"id\":\"e2\"}");
  owl_test_drain ();
}

static void
test_early_frames (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, "proto-early", "/ws/proto-early");
  OwlTestClient *client = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(JsonNode) pong = NULL;

  owl_module_set_handler (module, early_frames_handler, &client, NULL);
  g_signal_connect (module, "connection", G_CALLBACK (protocol_connection_cb), NULL);

  client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/proto-early", NULL);
  result = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (result, "result", "e1");
  owl_test_assert_member_json (result, "payload", "9");
  pong = owl_test_client_wait_json (client, 1);
  owl_test_assert_frame (pong, "pong", "e2");
  g_assert_cmpuint (seen.n_typing, ==, 1);
  owl_test_assert_json_equal (seen.typing_payload, "{\"who\":\"early\"}");
}

static void
test_call_unknown (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  OwlTestClient *client;
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) second = NULL;

  connect_proto (fixture, &client);
  send_call (client, "3", "nope", "[]");
  first = owl_test_client_wait_json (client, 0);
  owl_test_assert_error_frame (first, "3", "unknown-method", "UnknownMethodError|||");

  /* A method with a handler that neither takes nor answers the call (it
   * failed): `internal`, nothing of why; only nobody's method is unknown. */
  send_call (client, "4", "declines", "[]");
  second = owl_test_client_wait_json (client, 1);
  owl_test_assert_frame (second, "error", "4");
  g_assert_cmpstr (owl_test_json_get_string (second, "code"), ==, "internal");
  g_assert_cmpstr (owl_test_json_get_string (second, "payload"), ==, "InternalError|||Internal error");
  g_assert_false (owl_test_json_get_bool (second, "recoverable"));
  g_assert_cmpuint (seen.n_declined, ==, 1);

  assert_still_serving (client, 2);
}

static void
test_call_failure (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) failed = NULL;
  g_autoptr(JsonNode) invalid = NULL;
  g_autoptr(JsonNode) foreign = NULL;
  const char *text;

  send_call (client, "5", "fail", "[]");
  failed = owl_test_client_wait_json (client, 0);
  owl_test_assert_error_frame (failed, "5", "failed", "");
  g_assert_nonnull (strstr (owl_test_json_get_string (failed, "payload"), "|||"));

  send_call (client, "6", "invalid", "[]");
  invalid = owl_test_client_wait_json (client, 1);
  owl_test_assert_error_frame (invalid, "6", "validation", "");

  send_call (client, "7", "foreign", "[]");
  foreign = owl_test_client_wait_json (client, 2);
  owl_test_assert_frame (foreign, "error", "7");
  g_assert_cmpstr (owl_test_json_get_string (foreign, "code"), ==, "internal");
  g_assert_cmpstr (owl_test_json_get_string (foreign, "payload"), ==, "InternalError|||Internal error");
  /* Internal text never reaches the client. */
  text = g_ptr_array_index (client->texts, 2);
  g_assert_null (strstr (text, "secret"));
  g_assert_null (strstr (text, "/srv/db"));

  assert_still_serving (client, 3);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
}

static void
test_request_response (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  OwlTestClient *client;
  g_autoptr(JsonNode) response = NULL;

  connect_proto (fixture, &client);
  owl_test_client_send (client, "{\"type\":\"request\",\"id\":\"r1\",\"payload\":{\"q\":\"life\"}}");
  response = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (response, "response", "r1");
  owl_test_assert_member_json (response, "payload", "{\"answer\":42}");
}

static void
test_event_incoming (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);

  owl_test_client_send (client,
                        "{\"type\":\"event\",\"event\":\"typing\",\"payload\":{\"who\":\"ann\"}}");
  owl_test_client_send (client, "{\"type\":\"event\",\"event\":\"nobody-listens\",\"payload\":{}}");
  assert_still_serving (client, 0);

  g_assert_cmpuint (seen.n_typing, ==, 1);
  g_assert_cmpuint (seen.n_other_events, ==, 0);
  g_assert_nonnull (seen.typing_payload);
  owl_test_assert_json_equal (seen.typing_payload, "{\"who\":\"ann\"}");
  /* Events are not application messages, and have no answer. */
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
  g_assert_cmpuint (client->texts->len, ==, 1);
}

static void
test_event_outgoing (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) payload = owl_test_json_parse ("{\"n\":1}");
  g_autoptr(JsonNode) event = NULL;
  g_autoptr(GError) error = NULL;
  gboolean sent;

  sent = owl_connection_notify_event (conn, "tick", payload, &error);
  g_assert_no_error (error);
  g_assert_true (sent);
  event = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (event, "event", NULL);
  g_assert_cmpstr (owl_test_json_get_string (event, "event"), ==, "tick");
  owl_test_assert_member_json (event, "payload", "{\"n\":1}");
}

/* Server-to-client calls and requests */

typedef struct
{
  gboolean  done;
  JsonNode *result;
  GError   *error;
} CallResult;

static void
call_result_clear (CallResult *res)
{
  g_clear_pointer (&res->result, json_node_unref);
  g_clear_error (&res->error);
  res->done = FALSE;
}

static void
server_call_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  CallResult *res = user_data;

  res->result = owl_connection_call_finish (OWL_CONNECTION (source), result, &res->error);
  g_assert_true (res->result != NULL || res->error != NULL);
  g_assert_true (res->result == NULL || res->error == NULL);
  res->done = TRUE;
}

static void
server_request_done_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  CallResult *res = user_data;

  res->result = owl_connection_request_finish (OWL_CONNECTION (source), result, &res->error);
  g_assert_true (res->result != NULL || res->error != NULL);
  g_assert_true (res->result == NULL || res->error == NULL);
  res->done = TRUE;
}

/* Starts a server-to-client call of add(1, 2) and returns the id of the
 * call frame the client received (at index). */
static char *
start_server_call (OwlConnection *conn,
                   OwlTestClient *client,
                   guint          index,
                   guint          timeout_ms,
                   GCancellable  *cancellable,
                   CallResult    *res)
{
  g_autoptr(JsonNode) params = owl_test_json_parse ("[1,2]");
  g_autoptr(JsonNode) frame = NULL;
  const char *id;

  owl_connection_call_async (conn, "add", params, timeout_ms, cancellable,
                             server_call_done_cb, res);
  frame = owl_test_client_wait_json (client, index);
  owl_test_assert_frame (frame, "call", NULL);
  id = owl_test_json_get_string (frame, "id");
  g_assert_true (g_str_has_prefix (id, "s"));
  g_assert_cmpstr (owl_test_json_get_string (frame, "method"), ==, "add");
  owl_test_assert_member_json (frame, "payload", "[1,2]");
  g_assert_cmpint (owl_test_json_get_int (frame, "timeout"), ==, timeout_ms);
  return g_strdup (id);
}

static void
test_server_call_result (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  CallResult res = { FALSE, NULL, NULL };
  CallResult res2 = { FALSE, NULL, NULL };
  CallResult res3 = { FALSE, NULL, NULL };
  g_autofree char *id = start_server_call (conn, client, 0, 5000, NULL, &res);
  g_autofree char *id2 = NULL;
  g_autoptr(JsonNode) frame = NULL;

  g_assert_false (res.done);
  owl_test_client_send_printf (client, "{\"type\":\"result\",\"id\":\"%s\",\"payload\":3}", id);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_no_error (res.error);
  owl_test_assert_json_equal (res.result, "3");

  /* Ids are not reused. */
  id2 = start_server_call (conn, client, 1, 5000, NULL, &res2);
  g_assert_cmpstr (id, !=, id2);
  owl_test_client_send_printf (client, "{\"type\":\"result\",\"id\":\"%s\",\"payload\":[3]}", id2);
  OWL_TEST_WAIT_FOR (res2.done);
  g_assert_no_error (res2.error);
  owl_test_assert_json_equal (res2.result, "[3]");

  /* No params: an empty argument list. */
  owl_connection_call_async (conn, "noargs", NULL, 5000, NULL, server_call_done_cb, &res3);
  frame = owl_test_client_wait_json (client, 2);
  owl_test_assert_frame (frame, "call", NULL);
  g_assert_cmpstr (owl_test_json_get_string (frame, "method"), ==, "noargs");
  owl_test_assert_member_json (frame, "payload", "[]");
  owl_test_client_send_printf (client, "{\"type\":\"result\",\"id\":\"%s\",\"payload\":null}",
                               owl_test_json_get_string (frame, "id"));
  OWL_TEST_WAIT_FOR (res3.done);
  g_assert_no_error (res3.error);
  g_assert_true (JSON_NODE_HOLDS_NULL (res3.result));

  call_result_clear (&res);
  call_result_clear (&res2);
  call_result_clear (&res3);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
}

static void
test_server_call_error (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  CallResult res = { FALSE, NULL, NULL };
  g_autofree char *id = start_server_call (conn, client, 0, 5000, NULL, &res);

  owl_test_client_send_printf (client,
                               "{\"type\":\"error\",\"id\":\"%s\","
                               "\"payload\":\"ValidationError|||bad input\","
                               "\"code\":\"validation\",\"recoverable\":true}", id);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_VALIDATION);
  g_assert_null (res.result);
  call_result_clear (&res);
  assert_still_serving (client, 1);
}

static void
test_server_call_timeout (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  CallResult res = { FALSE, NULL, NULL };
  g_autofree char *id = start_server_call (conn, client, 0, 100, NULL, &res);

  OWL_TEST_WAIT_FOR (res.done);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_TIMEOUT);
  call_result_clear (&res);

  /* A late answer is dropped and harms nothing. */
  owl_test_client_send_printf (client, "{\"type\":\"result\",\"id\":\"%s\",\"payload\":3}", id);
  assert_still_serving (client, 1);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
}

static void
test_server_call_cancel (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CallResult res = { FALSE, NULL, NULL };
  g_autofree char *id = start_server_call (conn, client, 0, 5000, cancellable, &res);

  g_assert_false (res.done);
  g_cancellable_cancel (cancellable);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  call_result_clear (&res);

  owl_test_client_send_printf (client, "{\"type\":\"result\",\"id\":\"%s\",\"payload\":3}", id);
  assert_still_serving (client, 1);
}

static void
test_server_call_closed (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  CallResult res = { FALSE, NULL, NULL };
  CallResult late = { FALSE, NULL, NULL };
  g_autofree char *id = start_server_call (conn, client, 0, 5000, NULL, &res);

  g_assert_nonnull (id);
  soup_websocket_connection_close (client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_CLOSED);
  call_result_clear (&res);

  /* A call on a closed connection fails the same way. */
  owl_test_record_wait_closed (conn);
  owl_connection_call_async (conn, "add", NULL, 5000, NULL, server_call_done_cb, &late);
  OWL_TEST_WAIT_FOR (late.done);
  g_assert_error (late.error, OWL_ERROR, OWL_ERROR_CLOSED);
  call_result_clear (&late);
}

static void
test_server_request (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) payload = owl_test_json_parse ("{\"q\":\"time\"}");
  g_autoptr(JsonNode) frame = NULL;
  CallResult res = { FALSE, NULL, NULL };
  const char *id;

  owl_connection_request_async (conn, payload, 5000, NULL, server_request_done_cb, &res);
  frame = owl_test_client_wait_json (client, 0);
  owl_test_assert_frame (frame, "request", NULL);
  owl_test_assert_member_json (frame, "payload", "{\"q\":\"time\"}");
  id = owl_test_json_get_string (frame, "id");
  g_assert_nonnull (id);

  owl_test_client_send_printf (client,
                               "{\"type\":\"response\",\"id\":\"%s\",\"payload\":{\"t\":1}}", id);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_no_error (res.error);
  owl_test_assert_json_equal (res.result, "{\"t\":1}");
  call_result_clear (&res);

  /* Unanswered: a timeout, and the connection stays. */
  owl_connection_request_async (conn, payload, 100, NULL, server_request_done_cb, &res);
  owl_test_client_wait_texts (client, 2);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_TIMEOUT);
  call_result_clear (&res);
  assert_still_serving (client, 2);
}

static void
assert_malformed_answer (OwlTestClient *client,
                         guint          index)
{
  g_autoptr(JsonNode) error_frame = owl_test_client_wait_json (client, index);

  owl_test_assert_error_frame (error_frame, NULL, "malformed", "MalformedError|||");
}

static void
test_malformed (OwlTestFixture *fixture,
                gconstpointer   data)
{
  /* Bad JSON, and envelopes whose fields have the wrong type (the test runs
   * with fatal criticals, so a json-glib getter complaining would abort). */
  static const char *const bad[] = {
    "hello", "[1,2]", "{bad", "42",
    "{\"type\":\"call\",\"id\":\"1\",\"method\":{}}",
    "{\"type\":\"call\",\"method\":\"sum\",\"payload\":[1]}",
    "{\"type\":\"event\",\"event\":[1]}",
    "{\"type\":\"request\",\"id\":true}",
  };
  OwlTestClient *client;
  OwlConnection *conn = connect_proto (fixture, &client);
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(JsonNode) too_deep = NULL;
  GString *deep;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("sending %s", bad[i]);
      owl_test_client_send (client, bad[i]);
      assert_malformed_answer (client, i);
    }
  soup_websocket_connection_send_binary (client->ws, "\x00\x01\x02", 3);
  assert_malformed_answer (client, i);

  /* Nested far past any sane depth: refused, not parsed. */
  deep = g_string_new ("{\"type\":\"deep\",\"v\":");
  for (guint d = 0; d < 5000; d++)
    g_string_append_c (deep, '[');
  for (guint d = 0; d < 5000; d++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  owl_test_client_send (client, deep->str);
  g_string_free (deep, TRUE);
  i++;
  too_deep = owl_test_client_wait_json (client, i);
  owl_test_assert_error_frame (too_deep, NULL, "too-deep", "");

  send_call (client, "9", "sum", "[2,3]");
  result = owl_test_client_wait_json (client, i + 1);
  owl_test_assert_frame (result, "result", "9");
  owl_test_assert_member_json (result, "payload", "5");
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
  g_assert_cmpuint (client->n_closed, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  PROTOCOL_TEST ("/owl/protocol/ping", test_ping);
  PROTOCOL_TEST ("/owl/protocol/message-types", test_message_types);
  PROTOCOL_TEST ("/owl/protocol/call/result", test_call_result);
  PROTOCOL_TEST ("/owl/protocol/call/async", test_call_async);
  PROTOCOL_TEST ("/owl/protocol/call/unanswered", test_call_unanswered);
  PROTOCOL_TEST ("/owl/protocol/call/answer-after-close", test_call_answer_after_close);
  PROTOCOL_TEST ("/owl/protocol/early-frames", test_early_frames);
  PROTOCOL_TEST ("/owl/protocol/call/unknown-method", test_call_unknown);
  PROTOCOL_TEST ("/owl/protocol/call/failure", test_call_failure);
  PROTOCOL_TEST ("/owl/protocol/request", test_request_response);
  PROTOCOL_TEST ("/owl/protocol/event/incoming", test_event_incoming);
  PROTOCOL_TEST ("/owl/protocol/event/outgoing", test_event_outgoing);
  PROTOCOL_TEST ("/owl/protocol/server-call/result", test_server_call_result);
  PROTOCOL_TEST ("/owl/protocol/server-call/error", test_server_call_error);
  PROTOCOL_TEST ("/owl/protocol/server-call/timeout", test_server_call_timeout);
  PROTOCOL_TEST ("/owl/protocol/server-call/cancel", test_server_call_cancel);
  PROTOCOL_TEST ("/owl/protocol/server-call/closed", test_server_call_closed);
  PROTOCOL_TEST ("/owl/protocol/server-request", test_server_request);
  PROTOCOL_TEST ("/owl/protocol/malformed", test_malformed);

  return g_test_run ();
}
