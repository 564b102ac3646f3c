/* test-client-reconnect.c: OwlSocketClient's reconnect rules, backoff and queue
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The server closes with each kind of code (final, reconnect, 4001 with
 * and without a new token), stops and listens again on the same port;
 * the backoff's bounds and jitter are asserted from the delays the client
 * schedules (never by measuring time); what is sent while connecting
 * waits up to max-queued and is refused past it.
 */

#include <string.h>

#include "owl-socket-client-private.h"
#include "owl-test-client.h"
#include "owl-test-util.h"

static void
record_delay (OwlSocketClient *client,
              GParamSpec      *pspec,
              GArray          *delays)
{
  guint delay = owl_socket_client_get_reconnect_delay (client);

  if (delay > 0)
    g_array_append_val (delays, delay);
}

/* 1001 (the server stops), 1011, 4100 (the reconnect range): closed with
 * the server's code, `reconnecting` after a delay within the bounds, and
 * connected again on a new connection. */
static void
test_reconnects (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  const guint codes[] = { OWL_CLOSE_GOING_AWAY, OWL_CLOSE_INTERNAL, 4100 };
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(GArray) delays = g_array_new (FALSE, FALSE, sizeof (guint));

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");
  g_signal_connect (watch->client, "notify::reconnect-delay", G_CALLBACK (record_delay), delays);

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      owl_connection_close (owl_test_fixture_wait_accepted (fixture, i), codes[i], "again");
      owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
      g_assert_cmpuint (watch->n_closed, ==, i + 1);
      g_assert_cmpuint (watch->close_code, ==, codes[i]);
      owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
      owl_test_fixture_wait_accepted (fixture, i + 1);
    }
  g_assert_cmpstr (watch->states->str, ==,
                   "connecting;connected;reconnecting;connected;reconnecting;connected;reconnecting;connected;");
  g_assert_cmpuint (delays->len, ==, 3);
  for (guint i = 0; i < delays->len; i++)
    {
      g_assert_cmpuint (g_array_index (delays, guint, i), >=, 10);
      g_assert_cmpuint (g_array_index (delays, guint, i), <=, 40);
    }
  g_assert_cmpuint (owl_socket_client_get_reconnect_delay (watch->client), ==, 0);
}

/* 1000, 1003, 1008, 4500 and 4999 from the server are final: closed, no
 * reconnect scheduled; 4001 too when no token function gives a new token. */
static void
test_final_codes (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  const guint codes[] = { OWL_CLOSE_NORMAL, 1003, OWL_CLOSE_POLICY, 4500, 4999, OWL_CLOSE_AUTH_EXPIRED };

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autoptr(OwlTestWatch) watch = owl_test_watch_connected (fixture, "/ws/echo");

      owl_connection_close (owl_test_fixture_wait_accepted (fixture, i), codes[i], "final");
      owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
      g_assert_cmpuint (watch->close_code, ==, codes[i]);
      g_assert_cmpstr (watch->states->str, ==, "connecting;connected;closed;");
      g_assert_cmpuint (owl_socket_client_get_reconnect_delay (watch->client), ==, 0);
    }
  owl_test_drain ();
  g_assert_cmpuint (fixture->accepted->len, ==, G_N_ELEMENTS (codes));
}

typedef struct
{
  guint        n_asked;
  const char **subs;   /* what each answer is for; NULL: no token */
} Tokens;

static void
give_token (OwlSocketClient *client,
            gpointer         data)
{
  Tokens *tokens = data;
  const char *sub = tokens->subs[tokens->n_asked++];
  g_autofree char *token = sub ? owl_test_client_mint (sub, 600) : NULL;

  owl_socket_client_provide_token (client, token);
}

/* 4001: the token function is asked again, and the client reconnects with
 * the new token (the server sees the new identity); when it answers
 * NULL, the client ends with auth-failed. */
static void
test_token_expired (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  const char *guards[] = { "jwt", NULL };
  const char *subs[] = { "first", "second", NULL };
  Tokens tokens = { 0, subs };
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autofree char *uri = NULL;

  owl_test_client_add_guard (fixture->service);
  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "guards", guards, NULL);
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/echo");
  watch = owl_test_watch_new (uri);
  owl_socket_client_set_token_func (watch->client, give_token, &tokens, NULL);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (owl_test_fixture_wait_accepted (fixture, 0))),
                   ==, "first");

  owl_connection_close (owl_test_fixture_wait_accepted (fixture, 0), OWL_CLOSE_AUTH_EXPIRED, "Token expired");
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_cmpuint (tokens.n_asked, ==, 2);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (owl_test_fixture_wait_accepted (fixture, 1))),
                   ==, "second");

  owl_connection_close (owl_test_fixture_wait_accepted (fixture, 1), OWL_CLOSE_AUTH_EXPIRED, "Token expired");
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  g_assert_cmpuint (tokens.n_asked, ==, 3);
  g_assert_error (watch->error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
  g_assert_cmpuint (fixture->accepted->len, ==, 2);
}

/* The server stops (1001, then 503 and refused connections) and a new one
 * listens on the same port: the client keeps trying and gets back. */
static void
test_server_restart (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(OwlSocketService) again = owl_socket_service_new (NULL);
  g_autoptr(OwlModule) module = owl_module_new ("echo", "/ws/echo");
  g_autoptr(GError) error = NULL;
  guint n_failed;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");

  owl_socket_service_stop (fixture->service);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
  g_assert_cmpuint (watch->close_code, ==, OWL_CLOSE_GOING_AWAY);
  OWL_TEST_WAIT_FOR (fixture->n_stopped == 1);
  /* At least one attempt fails against the stopped server. */
  n_failed = watch->n_errors;
  OWL_TEST_WAIT_FOR (watch->n_errors > n_failed);

  g_assert_true (owl_socket_service_add_module (again, module, &error));
  g_assert_true (owl_socket_service_listen (again, "127.0.0.1", fixture->port, &error));
  g_assert_no_error (error);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_true (g_str_has_suffix (watch->states->str, "connected;reconnecting;connected;"));
  owl_socket_client_close (watch->client, OWL_CLOSE_NORMAL, NULL);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CLOSED);
  owl_socket_service_stop (again);
}

/* min (max, min + random (0, min (max, min * 2^attempt))): never below
 * min nor above max or the attempt's span, and spread (jitter). */
static void
test_backoff (void)
{
  for (guint attempt = 0; attempt < 40; attempt++)
    {
      guint64 span = MIN ((guint64) 500 << MIN (attempt, 30u), 20000);
      guint lowest = G_MAXUINT, highest = 0;

      for (guint i = 0; i < 200; i++)
        {
          guint delay = owl_socket_client_backoff (500, 20000, attempt);

          g_assert_cmpuint (delay, >=, 500);
          g_assert_cmpuint (delay, <=, MIN (500 + span, 20000));
          lowest = MIN (lowest, delay);
          highest = MAX (highest, delay);
        }
      g_assert_cmpuint (highest - lowest, >, span / 4);
    }
  g_assert_cmpuint (owl_socket_client_backoff (0, 0, 3), ==, 0);
  g_assert_true (owl_socket_client_code_is_final (1000));
  g_assert_false (owl_socket_client_code_is_final (1001));
  g_assert_false (owl_socket_client_code_is_final (4499));
  g_assert_true (owl_socket_client_code_is_final (4500));
}

/* While connecting: two messages and a call wait, a fourth is refused
 * with unavailable; once connected they go out in order. Calls queued
 * when the client gives up fail with closed, and the messages dropped
 * then are reported by `error`. */
static void
test_queue (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(OwlTestWatch) nowhere = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) lost = NULL;
  OwlTestRecord *record;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/echo");
  watch = owl_test_watch_new (uri);
  g_object_set (watch->client, "max-queued", 3, NULL);

  g_assert_false (owl_socket_client_send_text (watch->client, "{\"n\":0}", &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);  /* not connecting: refused */
  g_clear_error (&error);

  owl_socket_client_open (watch->client);
  g_assert_true (owl_socket_client_send_text (watch->client, "{\"n\":1}", &error));
  g_assert_true (owl_socket_client_send_text (watch->client, "{\"n\":2}", &error));
  owl_socket_client_call_async (watch->client, "nobody", NULL, 0, NULL, owl_test_store_result, &result);
  g_assert_false (owl_socket_client_send_text (watch->client, "{\"n\":3}", &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_UNAVAILABLE);
  g_clear_error (&error);

  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  record = owl_test_record_get (owl_test_fixture_wait_accepted (fixture, 0));
  owl_test_record_wait_messages (owl_test_fixture_wait_accepted (fixture, 0), 2);
  owl_test_assert_json_equal (g_ptr_array_index (record->messages, 0), "{\"n\":1}");
  owl_test_assert_json_equal (g_ptr_array_index (record->messages, 1), "{\"n\":2}");
  owl_test_wait_result (&result);
  g_assert_null (owl_socket_client_call_finish (watch->client, result, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_UNKNOWN_METHOD);  /* it reached the server */
  g_clear_error (&error);

  /* Nothing listens on port 1: reconnecting forever, until closed. */
  nowhere = owl_test_watch_new ("ws://127.0.0.1:1/ws/echo");
  owl_socket_client_open (nowhere->client);
  owl_socket_client_call_async (nowhere->client, "lost", NULL, 0, NULL, owl_test_store_result, &lost);
  g_assert_true (owl_socket_client_send_text (nowhere->client, "{\"n\":4}", NULL));
  g_assert_true (owl_socket_client_send_text (nowhere->client, "{\"n\":5}", NULL));
  owl_test_watch_wait_state (nowhere, OWL_SOCKET_CLIENT_RECONNECTING);
  owl_socket_client_close (nowhere->client, OWL_CLOSE_NORMAL, NULL);
  g_assert_cmpint (owl_socket_client_get_state (nowhere->client), ==, OWL_SOCKET_CLIENT_CLOSED);
  owl_test_wait_result (&lost);
  g_assert_null (owl_socket_client_call_finish (nowhere->client, lost, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_CLOSED);
  /* The two messages are not dropped silently. */
  g_assert_error (nowhere->error, OWL_ERROR, OWL_ERROR_CLOSED);
  g_assert_cmpstr (nowhere->error->message, ==, "2 messages waiting for a connection were not sent");
}

/* A client dropped while it waits to reconnect goes away at once, its
 * timer with it (the ASan run checks nothing leaks or fires later). */
static void
test_dropped_while_waiting (void)
{
  OwlTestWatch *watch = owl_test_watch_new ("ws://127.0.0.1:1/ws/echo");
  OwlSocketClient *client = watch->client;

  g_object_set (client, "reconnect-min-delay", 5000, "reconnect-max-delay", 5000, NULL);
  g_object_add_weak_pointer (G_OBJECT (client), (gpointer *) &client);
  owl_socket_client_open (client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
  g_assert_cmpuint (owl_socket_client_get_reconnect_delay (client), ==, 5000);
  owl_test_watch_free (watch);
  g_assert_null (client);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/client/reconnect/codes", test_reconnects);
  OWL_TEST ("/owl/client/reconnect/final-codes", test_final_codes);
  OWL_TEST ("/owl/client/reconnect/token-expired", test_token_expired);
  OWL_TEST ("/owl/client/reconnect/server-restart", test_server_restart);
  g_test_add_func ("/owl/client/reconnect/backoff", test_backoff);
  OWL_TEST ("/owl/client/queue", test_queue);
  g_test_add_func ("/owl/client/reconnect/dropped-while-waiting", test_dropped_while_waiting);

  return g_test_run ();
}
