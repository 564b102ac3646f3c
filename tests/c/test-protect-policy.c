/* test-protect-policy.c: the service's protective limits on admitted
 * clients: origins, message rate, graceful drain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test asserts the exact answer a refused client gets, and that a
 * well-behaved client of the same service is still served.
 */

#include "owl-test-protect.h"

/* Origins ------------------------------------------------------------------------- */

static guint
client_try_origin (OwlTestFixture *fixture,
                   const char     *path,
                   const char     *origin)
{
  OwlTestClient *client = owl_test_client_connect_begin (fixture, fixture->port, path, origin);

  owl_test_client_wait_done (client);
  return client->ws != NULL ? 101 : client->status;
}

static char *
origin_header (const char *origin)
{
  return g_strdup_printf ("Origin: %s\r\n", origin);
}

static void
assert_origin_allowed (OwlTestFixture *fixture,
                       const char     *path,
                       const char     *origin)
{
  g_autofree char *header = origin ? origin_header (origin) : NULL;

  g_assert_cmpuint (try_upgrade (fixture, path, header, NULL), ==, 101);
}

static void
assert_origin_forbidden (OwlTestFixture *fixture,
                         const char     *path,
                         const char     *origin)
{
  g_autofree char *header = origin_header (origin);

  protect_assert_refused (fixture, path, header, 403, "forbidden");
}

/* A list: its origins pass, others get 403; no Origin passes, and so does
 * the request's own origin, http://<Host>. */
static void
test_origins (OwlTestFixture *fixture,
              gconstpointer   data)
{
  const char *allowed[] = { "https://app.example", NULL };
  g_auto(GStrv) read_back = NULL;
  g_autofree char *same = NULL;
  OwlTestClient *client;

  g_object_set (fixture->service, "allowed-origins", allowed, NULL);
  g_object_get (fixture->service, "allowed-origins", &read_back, NULL);
  g_assert_nonnull (read_back);
  g_assert_cmpstr (read_back[0], ==, "https://app.example");
  g_assert_null (read_back[1]);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_allowed (fixture, "/ws/echo", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/echo", "https://evil.example");
  /* Look-alikes are other origins. */
  assert_origin_forbidden (fixture, "/ws/echo", "https://app.example.evil");
  assert_origin_forbidden (fixture, "/ws/echo", "http://app.example");
  assert_origin_forbidden (fixture, "/ws/echo", "https://app.example:8443");
  /* The same host on another port is another origin. */
  assert_origin_forbidden (fixture, "/ws/echo", "http://127.0.0.1:1");
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  assert_origin_allowed (fixture, "/ws/echo", same);

  /* libsoup's client sends the origin it is given. */
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 403);
  client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/echo", "https://app.example");
  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);
  assert_client_echoes (client, 0);
  assert_echo_works (fixture, "/ws/echo");
}

/* The default list is empty: only the same origin, or none. */
static void
test_origins_default (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autofree char *same = NULL;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_forbidden (fixture, "/ws/echo", "https://evil.example");
  assert_origin_forbidden (fixture, "/ws/echo", "null");
  assert_origin_allowed (fixture, "/ws/echo", same);
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 403);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", same), ==, 101);
  assert_echo_works (fixture, "/ws/echo");
}

/* "*" allows any origin. */
static void
test_origins_wildcard (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  const char *any[] = { "*", NULL };

  g_object_set (fixture->service, "allowed-origins", any, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  assert_origin_allowed (fixture, "/ws/echo", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/echo", "http://localhost:3000");
  assert_origin_allowed (fixture, "/ws/echo", "null");
  assert_origin_allowed (fixture, "/ws/echo", NULL);
  g_assert_cmpuint (client_try_origin (fixture, "/ws/echo", "https://evil.example"), ==, 101);
  assert_echo_works (fixture, "/ws/echo");
}

/* A module's list replaces the service's; NULL keeps it. */
static void
test_origins_module (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  const char *service_list[] = { "https://app.example", NULL };
  const char *any[] = { "*", NULL };
  const char *strict_list[] = { "https://other.example", NULL };
  g_autofree char *same = NULL;

  g_object_set (fixture->service, "allowed-origins", service_list, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "open", "/ws/open", "allowed-origins", any, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "strict", "/ws/strict", "allowed-origins", strict_list, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "inherit", "/ws/inherit", "allowed-origins", NULL, NULL);
  owl_test_fixture_listen (fixture);
  same = g_strdup_printf ("http://127.0.0.1:%u", fixture->port);

  assert_origin_allowed (fixture, "/ws/open", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/open", "https://app.example");

  assert_origin_allowed (fixture, "/ws/strict", "https://other.example");
  assert_origin_forbidden (fixture, "/ws/strict", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/strict", "https://evil.example");
  assert_origin_allowed (fixture, "/ws/strict", same);
  assert_origin_allowed (fixture, "/ws/strict", NULL);

  assert_origin_allowed (fixture, "/ws/inherit", "https://app.example");
  assert_origin_forbidden (fixture, "/ws/inherit", "https://other.example");
  assert_origin_forbidden (fixture, "/ws/inherit", "https://evil.example");

  assert_echo_works (fixture, "/ws/strict");
  assert_echo_works (fixture, "/ws/inherit");
}

/* Message rate --------------------------------------------------------------------- */

static gboolean
call_sum_cb (OwlConnection *conn,
             OwlCall       *call,
             gpointer       user_data)
{
  guint *n_calls = user_data;
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_VALUE);

  (*n_calls)++;
  json_node_set_int (result, 3);
  owl_call_return_value (call, result);
  return TRUE;
}

static void
rate_connection_cb (OwlModule     *module,
                    OwlConnection *conn,
                    gpointer       user_data)
{
  g_signal_connect (conn, "call::sum", G_CALLBACK (call_sum_cb), user_data);
}

static JsonNode *
read_json_frame (OwlTestRaw *raw)
{
  g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);
  g_autofree char *text = NULL;
  gsize len;
  const guint8 *data;

  g_assert_nonnull (frame);
  data = g_bytes_get_data (frame->payload, &len);
  if (frame->opcode == 0x8)
    g_test_message ("unexpected close frame: %d", len >= 2 ? (data[0] << 8) | data[1] : 1005);
  g_assert_cmpuint (frame->opcode, ==, 0x1);
  text = g_strndup ((const char *) data, len);
  return owl_test_json_parse (text);
}

static void
assert_rate_limited (JsonNode *node)
{
  owl_test_assert_error_frame (node, NULL, "rate-limited", "");
}

/* rate-limit 5, rate-burst 5: of ten messages at once the first five are
 * handled (four echoed, one call answered), the next five refused with a
 * `rate-limited` error frame (the call among them not dispatched); one more
 * refusal in a row closes with 1008. Another connection is unaffected. */
static void
test_rate_limit (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  const char *messages[] = {
    "{\"type\":\"n\",\"n\":0}",
    "{\"type\":\"n\",\"n\":1}",
    "{\"type\":\"call\",\"id\":\"c0\",\"method\":\"sum\",\"payload\":[1,2]}",
    "{\"type\":\"n\",\"n\":3}",
    "{\"type\":\"n\",\"n\":4}",
    "{\"type\":\"n\",\"n\":5}",
    "{\"type\":\"n\",\"n\":6}",
    "{\"type\":\"call\",\"id\":\"c1\",\"method\":\"sum\",\"payload\":[1,2]}",
    "{\"type\":\"n\",\"n\":8}",
    "{\"type\":\"n\",\"n\":9}",
  };
  guint n_calls = 0;
  OwlModule *module;
  OwlTestClient *other;
  OwlTestRaw *raw;
  OwlConnection *conn;
  OwlTestRecord *record;
  gint64 sent_at;
  gint code;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  module = owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_signal_connect (module, "connection", G_CALLBACK (rate_connection_cb), &n_calls);
  owl_test_fixture_listen (fixture);

  other = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 0);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  record = owl_test_record_get (conn);

  sent_at = g_get_monotonic_time ();
  send_batch (raw, messages, G_N_ELEMENTS (messages));
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      if (i == 2)
        {
          owl_test_assert_frame (node, "result", "c0");
          owl_test_assert_member_json (node, "payload", "3");
        }
      else
        owl_test_assert_json_equal (node, messages[i]);
    }
  for (guint i = 5; i < 10; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      assert_rate_limited (node);
    }
  g_assert_cmpuint (n_calls, ==, 1);
  g_assert_cmpuint (record->messages->len, ==, 4);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (record->n_closed, ==, 0);

  /* A token comes back every 200 ms; this is well within that. */
  g_test_message ("the sixth refusal %" G_GINT64_FORMAT " ms after the batch",
                  (g_get_monotonic_time () - sent_at) / 1000);
  g_assert_true (owl_test_raw_send_text (raw, "{\"type\":\"n\",\"n\":10}"));
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_POLICY);
  /* Answered, the close ends at once. */
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_POLICY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (record->close_code, ==, OWL_CLOSE_POLICY);
  g_assert_cmpuint (record->messages->len, ==, 4);
  g_assert_cmpuint (n_calls, ==, 1);
  owl_test_raw_free (raw);

  /* Every connection has its own bucket. */
  assert_client_echoes (other, 0);
  g_assert_cmpuint (other->n_closed, ==, 0);
  assert_echo_works (fixture, "/ws/echo");
}

typedef struct
{
  OwlTestClient *client;
  guint          n_sent;    /* every message, paced or not */
} Pacer;

static void
pacer_send (Pacer      *pacer,
            const char *type)
{
  owl_test_client_send_printf (pacer->client, "{\"type\":\"%s\",\"n\":%u}", type, pacer->n_sent++);
}

static gboolean
pace_cb (gpointer user_data)
{
  pacer_send (user_data, "again");
  return G_SOURCE_CONTINUE;
}

static gboolean
client_got_type (OwlTestClient *client,
                 guint          from,
                 const char    *type)
{
  for (guint i = from; i < client->texts->len; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (client->texts, i));

      if (g_strcmp0 (owl_test_json_get_string (node, "type"), type) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Every message is answered, by its echo or by an error: waits for all. */
static guint
count_refused (Pacer *pacer,
               guint  from)
{
  guint n = 0;

  OWL_TEST_WAIT_FOR (pacer->client->texts->len >= pacer->n_sent || pacer->client->n_closed > 0);
  for (guint i = from; i < pacer->client->texts->len; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (pacer->client->texts, i));

      if (g_strcmp0 (owl_test_json_get_string (node, "type"), "error") == 0)
        {
          assert_rate_limited (node);
          n++;
        }
    }
  return n;
}

/* rate-limit 5, rate-burst 5: refusals only close when more than five come
 * in a row. Three rounds of three messages at once (refused: the bucket is
 * empty), each followed by messages paced at 10 a second until one is
 * served again: more than five refusals in all, never six in a row, and
 * the connection stays open. */
static void
test_rate_recovery (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlConnection *conn;
  Pacer pacer = { NULL, 0 };
  guint n_refused = 0;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  pacer.client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  /* The whole burst at once is served. */
  for (guint i = 0; i < 5; i++)
    pacer_send (&pacer, "n");
  g_assert_cmpuint (count_refused (&pacer, 0), ==, 0);

  for (guint round = 0; round < 3; round++)
    {
      guint from = pacer.client->texts->len;
      guint refused;
      GSource *source;

      for (guint i = 0; i < 3; i++)
        pacer_send (&pacer, "n");
      source = g_timeout_source_new (100);
      g_source_set_callback (source, pace_cb, &pacer, NULL);
      g_source_attach (source, g_main_context_get_thread_default ());
      OWL_TEST_WAIT_FOR (client_got_type (pacer.client, from, "again") ||
                         pacer.client->n_closed > 0);
      g_source_destroy (source);
      g_source_unref (source);

      refused = count_refused (&pacer, from);
      g_test_message ("round %u: %u refused before a paced message was served", round, refused);
      g_assert_cmpuint (pacer.client->n_closed, ==, 0);
      g_assert_cmpuint (refused, >=, 3);
      g_assert_cmpuint (refused, <=, 5);
      n_refused += refused;
    }

  g_test_message ("%u messages, %u refused", pacer.n_sent, n_refused);
  g_assert_cmpuint (n_refused, >, 5);
  g_assert_cmpuint (pacer.client->n_closed, ==, 0);
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, pacer.n_sent - n_refused);
}

/* Module overrides: rate-limit 0 switches the limit off; rate-burst 2 with
 * the service's rate refuses the third message and closes on the fifth. */
static void
test_rate_module (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  OwlTestRaw *raw;
  OwlConnection *conn;
  gint code;

  g_object_set (fixture->service, "rate-limit", 5.0, "rate-burst", 5, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "free", "/ws/free", "rate-limit", 0.0, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "tight", "/ws/tight", "rate-burst", 2, NULL);
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < 30; i++)
    g_ptr_array_add (texts, g_strdup_printf ("{\"type\":\"n\",\"n\":%u}", i));

  raw = owl_test_raw_connect (fixture->port, "/ws/free");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  send_batch (raw, (const char *const *) texts->pdata, 30);
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      owl_test_assert_json_equal (node, g_ptr_array_index (texts, i));
    }
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 30);
  owl_test_raw_free (raw);

  /* 2 handled, 2 refused, and the third refusal in a row closes. */
  raw = owl_test_raw_connect (fixture->port, "/ws/tight");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  send_batch (raw, (const char *const *) texts->pdata, 5);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      owl_test_assert_json_equal (node, g_ptr_array_index (texts, i));
    }
  for (guint i = 2; i < 4; i++)
    {
      g_autoptr(JsonNode) node = read_json_frame (raw);

      assert_rate_limited (node);
    }
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_POLICY);
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_POLICY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_POLICY);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 2);
  owl_test_raw_free (raw);

  assert_echo_works (fixture, "/ws/tight");
  assert_echo_works (fixture, "/ws/free");
}

/* Graceful drain --------------------------------------------------------------------- */

static void
assert_shutdown_frame (JsonNode *node)
{
  owl_test_assert_frame (node, "system", NULL);
  g_assert_cmpstr (owl_test_json_get_string (node, "event"), ==, "shutdown");
  g_assert_true (owl_test_json_has (node, "payload"));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (node),
                                                                 "payload")));
}

/* stop(): every client gets the system shutdown event, then a close with
 * 1001; upgrades meanwhile get 503. */
static void
test_drain (OwlTestFixture *fixture,
            gconstpointer   data)
{
  OwlTestClient *clients[2];
  OwlTestRaw *raw;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    clients[i] = owl_test_client_connect (fixture, "/ws/echo");
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  owl_test_fixture_wait_accepted (fixture, 2);
  assert_client_echoes (clients[0], 0);

  owl_socket_service_stop (fixture->service);

  /* On the wire: the event frame, then at once the close frame. */
  {
    g_autoptr(JsonNode) node = read_json_frame (raw);
    g_autoptr(OwlTestFrame) frame = NULL;
    const guint8 *payload;
    gsize len;

    assert_shutdown_frame (node);
    frame = owl_test_raw_read_frame (raw);
    g_assert_nonnull (frame);
    g_assert_cmpuint (frame->opcode, ==, 0x8);
    payload = g_bytes_get_data (frame->payload, &len);
    g_assert_cmpuint (len, >=, 2);
    g_assert_cmpuint ((payload[0] << 8) | payload[1], ==, OWL_CLOSE_GOING_AWAY);
  }

  /* libsoup drops what comes after a close: the event came before it. */
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      guint before = i == 0 ? 1 : 0;
      g_autoptr(JsonNode) node = NULL;

      owl_test_client_wait_closed (clients[i]);
      g_assert_cmpuint (clients[i]->close_code, ==, OWL_CLOSE_GOING_AWAY);
      g_assert_cmpuint (clients[i]->texts->len, ==, before + 1);
      node = owl_test_json_parse (g_ptr_array_index (clients[i]->texts, before));
      assert_shutdown_frame (node);
    }

  /* The raw client has not answered the close: the stop is under way. */
  g_assert_cmpuint (fixture->n_stopped, ==, 0);
  protect_assert_refused (fixture, "/ws/echo", NULL, 503, "unavailable");

  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_GOING_AWAY, NULL));
  owl_test_raw_wait_eof (raw);
  owl_test_raw_free (raw);
  OWL_TEST_WAIT_FOR (fixture->n_stopped > 0);
  for (guint i = 0; i < fixture->accepted->len; i++)
    {
      OwlConnection *conn = g_ptr_array_index (fixture->accepted, i);

      owl_test_record_wait_closed (conn);
      g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_GOING_AWAY);
    }
  g_assert_cmpuint (fixture->accepted->len, ==, 3);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/protect/origins/list", test_origins);
  OWL_TEST ("/owl/protect/origins/default", test_origins_default);
  OWL_TEST ("/owl/protect/origins/wildcard", test_origins_wildcard);
  OWL_TEST ("/owl/protect/origins/module", test_origins_module);
  OWL_TEST ("/owl/protect/rate/limit", test_rate_limit);
  OWL_TEST ("/owl/protect/rate/recovery", test_rate_recovery);
  OWL_TEST ("/owl/protect/rate/module", test_rate_module);
  OWL_TEST ("/owl/protect/drain", test_drain);

  return g_test_run ();
}
