/* test-closing.c: OwlConnection::closing, for every way a connection ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each cause that a test can bring about (the peer's close frame, the
 * server's close, token expiry, a stop, a limit, the pong and idle
 * timeouts, a lost socket) must emit `closing` once, before `closed`, with
 * the code `closed` reports; the state's notify comes just before each.
 * Every event of a connection is written to its log as it comes, so one
 * string comparison checks the order and the count.
 */

#include "owl-test-util.h"

#include <string.h>

/* What one connection went through. */
typedef struct
{
  GString  *log;
  guint     n_closing;
  guint     n_closed;
  gboolean  closing_sends;   /* try every send from the `closing` handler */
  guint     sends_refused;   /* ... and how many failed with OWL_ERROR_CLOSED */
  guint     timer;           /* a periodic sender, stopped in `closing` */
  guint     timer_sends;
  guint     timer_failures;
} Trail;

static void
trail_free (gpointer data)
{
  Trail *trail = data;

  g_string_free (trail->log, TRUE);
  g_clear_handle_id (&trail->timer, g_source_remove);
  g_free (trail);
}

static Trail *
trail_get (OwlConnection *connection)
{
  return g_object_get_data (G_OBJECT (connection), "test-trail");
}

static void
on_state (OwlConnection *connection,
          GParamSpec    *pspec,
          Trail         *trail)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (OWL_TYPE_CONNECTION_STATE);

  g_string_append_printf (trail->log, "state=%s;",
                          g_enum_get_value (klass, owl_connection_get_state (connection))->value_nick);
}

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = owl_connection_call_finish (OWL_CONNECTION (source), result, &error);
  guint *refused = user_data;

  g_assert_null (answer);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  (*refused)++;
}

/* Every way of sending, from a `closing` handler: each refused. */
static void
try_every_send (OwlConnection *connection,
                Trail         *trail)
{
  g_autoptr(JsonNode) node = owl_test_json_parse ("{\"type\":\"late\"}");
  g_autoptr(GBytes) bytes = g_bytes_new_static ("late", 4);
  GError *error = NULL;

  g_assert_false (owl_connection_send (connection, node, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (owl_connection_send_text (connection, "late", &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_clear_error (&error);
  /* Closed is told before the text's other fault. */
  g_assert_false (owl_connection_send_text (connection, "\xff", &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (owl_connection_send_binary (connection, bytes, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (owl_connection_notify_event (connection, "late", NULL, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_clear_error (&error);
  trail->sends_refused += 5;
  owl_connection_call_async (connection, "late", NULL, 0, NULL, call_done, &trail->sends_refused);
  owl_connection_request_async (connection, NULL, 0, NULL, call_done, &trail->sends_refused);
}

static void
on_closing (OwlConnection *connection,
            guint          code,
            const char    *reason,
            Trail         *trail)
{
  trail->n_closing++;
  g_assert_cmpint (owl_connection_get_state (connection), ==, OWL_CONNECTION_CLOSING);
  g_string_append_printf (trail->log, "closing=%u:%s;", code, reason);
  g_clear_handle_id (&trail->timer, g_source_remove);
  if (trail->closing_sends)
    try_every_send (connection, trail);
}

static void
on_closed (OwlConnection *connection,
           guint          code,
           const char    *reason,
           Trail         *trail)
{
  trail->n_closed++;
  g_string_append_printf (trail->log, "closed=%u:%s;", code, reason);
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  Trail *trail = g_new0 (Trail, 1);

  trail->log = g_string_new (NULL);
  trail->closing_sends = GPOINTER_TO_INT (user_data);
  g_object_set_data_full (G_OBJECT (connection), "test-trail", trail, trail_free);
  g_signal_connect (connection, "notify::state", G_CALLBACK (on_state), trail);
  g_signal_connect (connection, "closing", G_CALLBACK (on_closing), trail);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), trail);
}

/* An echo module whose connections keep a trail; @closing_sends: each
 * tries every send from its `closing` handler. */
static OwlModule *
watch_module (OwlModule *module,
              gboolean   closing_sends)
{
  g_signal_connect (module, "connection", G_CALLBACK (on_connection), GINT_TO_POINTER (closing_sends));
  return module;
}

static OwlModule *
add_module (OwlTestFixture *fixture,
            gboolean        closing_sends)
{
  return watch_module (owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo"), closing_sends);
}

static void
assert_trail (OwlConnection *connection,
              guint          code,
              const char    *reason)
{
  Trail *trail = trail_get (connection);
  g_autofree char *expected = NULL;

  OWL_TEST_WAIT_FOR (trail->n_closed > 0);
  expected = g_strdup_printf ("state=closing;closing=%u:%s;state=closed;closed=%u:%s;",
                              code, reason, code, reason);
  g_assert_cmpstr (trail->log->str, ==, expected);
  g_assert_cmpuint (trail->n_closing, ==, 1);
  g_assert_cmpuint (trail->n_closed, ==, 1);
}

/* A bystander on the same service still gets its echo. */
static void
assert_bystander_works (OwlTestClient *bystander)
{
  guint index = bystander->texts->len;
  g_autoptr(JsonNode) echo = NULL;

  owl_test_client_send (bystander, "{\"type\":\"still-here\"}");
  echo = owl_test_client_wait_json (bystander, index);
  owl_test_assert_frame (echo, "still-here", NULL);
}

/* A client whose connection tries every send in `closing`, after a
 * bystander's. */
static OwlConnection *
open_with_bystander (OwlTestFixture  *fixture,
                     OwlTestClient  **client,
                     OwlTestClient  **bystander)
{
  add_module (fixture, TRUE);
  owl_test_fixture_listen (fixture);
  *bystander = owl_test_client_connect (fixture, "/ws/echo");
  *client = owl_test_client_connect (fixture, "/ws/echo");
  return owl_test_fixture_wait_accepted (fixture, 1);
}

static void
test_peer_close (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *client, *bystander;
  OwlConnection *connection = open_with_bystander (fixture, &client, &bystander);

  soup_websocket_connection_close (client->ws, 4000, "bye");
  assert_trail (connection, 4000, "bye");
  OWL_TEST_WAIT_FOR (trail_get (connection)->sends_refused == 7);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->texts->len, ==, 0);   /* nothing of the handler's sends */
  assert_bystander_works (bystander);
}

/* The server's close: `closing` before owl_connection_close() returns,
 * `closed` once the client answered. */
static void
test_server_close (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  OwlTestClient *client, *bystander;
  OwlConnection *connection = open_with_bystander (fixture, &client, &bystander);

  owl_connection_close (connection, 4002, "done");
  g_assert_cmpuint (trail_get (connection)->n_closing, ==, 1);
  g_assert_cmpuint (trail_get (connection)->n_closed, ==, 0);
  owl_connection_close (connection, 4003, "again");   /* nothing more */
  assert_trail (connection, 4002, "done");
  OWL_TEST_WAIT_FOR (trail_get (connection)->sends_refused == 7);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4002);
  assert_bystander_works (bystander);
}

static void
test_stop (OwlTestFixture *fixture,
           gconstpointer   data)
{
  OwlConnection *first, *second;

  add_module (fixture, FALSE);
  owl_test_fixture_listen (fixture);
  owl_test_client_connect (fixture, "/ws/echo");
  owl_test_client_connect (fixture, "/ws/echo");
  first = owl_test_fixture_wait_accepted (fixture, 0);
  second = owl_test_fixture_wait_accepted (fixture, 1);

  owl_socket_service_stop (fixture->service);
  g_assert_cmpuint (trail_get (first)->n_closing, ==, 1);
  g_assert_cmpuint (trail_get (second)->n_closing, ==, 1);
  assert_trail (first, 1001, "Server shutting down");
  assert_trail (second, 1001, "Server shutting down");
}

/* A message over max-message-size: 1009, and the others go on. */
static void
test_too_big (OwlTestFixture *fixture,
              gconstpointer   data)
{
  OwlTestClient *client, *bystander;
  OwlConnection *connection;
  g_autofree char *big = g_strnfill (300, 'x');

  g_object_set (add_module (fixture, TRUE), "max-message-size", 256, NULL);
  owl_test_fixture_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  client = owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 1);

  owl_test_client_send_printf (client, "{\"type\":\"big\",\"data\":\"%s\"}", big);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 1009);
  OWL_TEST_WAIT_FOR (trail_get (connection)->n_closed > 0);
  g_assert_true (g_str_has_prefix (trail_get (connection)->log->str, "state=closing;closing=1009:"));
  g_assert_nonnull (strstr (trail_get (connection)->log->str, ";state=closed;closed=1009:"));
  g_assert_cmpuint (trail_get (connection)->n_closing, ==, 1);
  assert_bystander_works (bystander);
}

/* No close frame at all: `closing` and `closed` with 1006. */
static void
test_lost (OwlTestFixture *fixture,
           gconstpointer   data)
{
  OwlTestClient *bystander;
  OwlConnection *connection;
  OwlTestRaw *raw;

  add_module (fixture, TRUE);
  owl_test_fixture_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/ws/echo");
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  connection = owl_test_fixture_wait_accepted (fixture, 1);

  owl_test_raw_reset (raw);
  owl_test_raw_free (raw);
  assert_trail (connection, 1006, "");
  OWL_TEST_WAIT_FOR (trail_get (connection)->sends_refused == 7);
  assert_bystander_works (bystander);
}

/* The pong or idle timeout: `closing` when the close frame goes, long
 * before the peer (which never answers) would let `closed` come. */
static void
test_timeout (OwlTestFixture *fixture,
              gconstpointer   data)
{
  gboolean idle = GPOINTER_TO_INT (data);
  OwlTestRaw *raw;
  OwlConnection *connection;
  Trail *trail;
  guint16 code = idle ? 1001 : 4408;
  const char *reason = idle ? "Idle timeout" : "Pong timeout";
  g_autofree char *expected = g_strdup_printf ("state=closing;closing=%u:%s;", code, reason);

  g_object_set (fixture->service, "ping-interval", idle ? 0 : 1, "pong-timeout", 1,
                "idle-timeout", idle ? 1 : 0, NULL);
  add_module (fixture, TRUE);
  owl_test_fixture_listen (fixture);
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  trail = trail_get (connection);

  OWL_TEST_WAIT_FOR (trail->n_closing > 0);
  g_assert_cmpstr (trail->log->str, ==, expected);
  g_assert_cmpuint (trail->n_closed, ==, 0);
  OWL_TEST_WAIT_FOR (trail->sends_refused == 7);
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, code);
  owl_test_raw_send_close (raw, code, NULL);
  assert_trail (connection, code, reason);
  owl_test_raw_free (raw);
}

/* Token expiry: a guard whose identities expire in a second. */
typedef OwlGuard ShortGuard;
typedef OwlGuardClass ShortGuardClass;
static GType short_guard_get_type (void);
G_DEFINE_TYPE (ShortGuard, short_guard, OWL_TYPE_GUARD)

static gboolean
short_guard_match (OwlGuard   *guard,
                   OwlRequest *request)
{
  return TRUE;
}

static void
short_guard_authenticate (OwlGuard   *guard,
                          OwlAttempt *attempt)
{
  g_autoptr(OwlAuth) auth = g_object_new (OWL_TYPE_AUTH, "user-id", "alice",
                                          "expires-at", g_get_real_time () / G_USEC_PER_SEC + 1,
                                          NULL);

  owl_attempt_accept (attempt, auth);
}

static void
short_guard_class_init (ShortGuardClass *klass)
{
  klass->match = short_guard_match;
  klass->authenticate = short_guard_authenticate;
}

static void
short_guard_init (ShortGuard *self)
{
}

static void
test_expiry (OwlTestFixture *fixture,
             gconstpointer   data)
{
  g_autoptr(OwlGuard) guard = g_object_new (short_guard_get_type (), NULL);
  g_autoptr(GError) error = NULL;
  const char *guards[] = { "short", NULL };
  OwlTestClient *client;
  OwlConnection *connection;

  g_assert_true (owl_socket_service_add_guard (fixture->service, "short", guard, &error));
  g_assert_no_error (error);
  watch_module (owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "guards", guards, NULL),
                TRUE);
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 0);

  assert_trail (connection, 4001, "Token expired");
  g_assert_cmpuint (trail_get (connection)->sends_refused, ==, 7);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4001);
}

/* A periodic sender started on connect and stopped in `closing` never
 * sees a send fail: nothing runs between the state change and `closing`. */
static gboolean
tick_send (gpointer data)
{
  OwlConnection *connection = data;
  Trail *trail = trail_get (connection);
  g_autoptr(GError) error = NULL;

  trail->timer_sends++;
  if (!owl_connection_send_text (connection, "{\"type\":\"tick\"}", &error))
    trail->timer_failures++;
  return G_SOURCE_CONTINUE;
}

static void
start_ticks (OwlModule     *module,
             OwlConnection *connection,
             gpointer       user_data)
{
  trail_get (connection)->timer = g_timeout_add (5, tick_send, connection);
}

static void
test_timer_pattern (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient *first, *second;
  OwlConnection *a, *b;

  g_signal_connect_after (add_module (fixture, FALSE), "connection", G_CALLBACK (start_ticks), NULL);
  owl_test_fixture_listen (fixture);
  first = owl_test_client_connect (fixture, "/ws/echo");
  second = owl_test_client_connect (fixture, "/ws/echo");
  a = owl_test_fixture_wait_accepted (fixture, 0);
  b = owl_test_fixture_wait_accepted (fixture, 1);
  owl_test_client_wait_texts (first, 3);
  owl_test_client_wait_texts (second, 3);

  soup_websocket_connection_close (first->ws, 1000, NULL);   /* the peer ends one */
  owl_connection_close (b, 4000, "done");                    /* the server the other */
  OWL_TEST_WAIT_FOR (trail_get (a)->n_closed > 0 && trail_get (b)->n_closed > 0);
  owl_test_run_for (50);   /* a timer that was not stopped would fire meanwhile */

  g_assert_cmpuint (trail_get (a)->timer, ==, 0);
  g_assert_cmpuint (trail_get (b)->timer, ==, 0);
  g_assert_cmpuint (trail_get (a)->timer_sends, >=, 3);
  g_assert_cmpuint (trail_get (a)->timer_failures, ==, 0);
  g_assert_cmpuint (trail_get (b)->timer_failures, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/closing/peer-close", test_peer_close);
  OWL_TEST ("/owl/closing/server-close", test_server_close);
  OWL_TEST ("/owl/closing/stop", test_stop);
  OWL_TEST ("/owl/closing/too-big", test_too_big);
  OWL_TEST ("/owl/closing/lost", test_lost);
  g_test_add ("/owl/closing/pong-timeout", OwlTestFixture, GINT_TO_POINTER (FALSE),
              owl_test_fixture_setup, test_timeout, owl_test_fixture_teardown);
  g_test_add ("/owl/closing/idle-timeout", OwlTestFixture, GINT_TO_POINTER (TRUE),
              owl_test_fixture_setup, test_timeout, owl_test_fixture_teardown);
  OWL_TEST ("/owl/closing/token-expiry", test_expiry);
  OWL_TEST ("/owl/closing/timer-pattern", test_timer_pattern);

  return g_test_run ();
}
