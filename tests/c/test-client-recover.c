/* test-client-recover.c: OwlSocketClient keeps history positions and asks to recover
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The server side is an owlsock service whose connections send, by hand,
 * what a room with history sends (broadcasts led by `pos`, `system`
 * `joined` frames): the positions the client keeps are read back with
 * owl_socket_client_dup_positions(), and what it asks for is the
 * `recover` query parameter of the next connection's request, as the
 * service decoded it.
 */

#include <string.h>

#include "owl-test-client.h"
#include "owl-test-util.h"

/* Sends @frames from the server's side of connection @index and waits
 * until the client got them all (as messages or events). */
static void
send_frames (OwlTestFixture     *fixture,
             guint               index,
             OwlTestWatch       *watch,
             const char * const *frames)
{
  OwlConnection *connection = owl_test_fixture_wait_accepted (fixture, index);
  guint before = watch->messages->len + watch->events->len;
  guint n = 0;

  for (; frames[n] != NULL; n++)
    g_assert_true (owl_connection_send_text (connection, frames[n], NULL));
  OWL_TEST_WAIT_FOR (watch->messages->len + watch->events->len >= before + n);
  g_assert_cmpuint (watch->messages->len + watch->events->len, ==, before + n);
}

/* The decoded `recover` parameter of connection @index, or NULL. */
static const char *
recover_param (OwlTestFixture *fixture,
               guint           index)
{
  OwlConnection *connection = owl_test_fixture_wait_accepted (fixture, index);

  return owl_request_get_query_param (owl_connection_get_request (connection), "recover");
}

static void
assert_positions (OwlSocketClient *client,
                  const char      *expected)
{
  g_autoptr(JsonNode) positions = owl_socket_client_dup_positions (client);

  owl_test_assert_json_equal (positions, expected);
}

static void
assert_recover_param (OwlTestFixture *fixture,
                      guint           index,
                      const char     *expected)
{
  const char *param = recover_param (fixture, index);
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (param);
  node = owl_test_json_parse (param);
  owl_test_assert_json_equal (node, expected);
}

/* The server drops connection @index (1001); the client comes back on
 * connection @index + 1. */
static void
server_restarts_connection (OwlTestFixture *fixture,
                            guint           index,
                            OwlTestWatch   *watch)
{
  owl_connection_close (owl_test_fixture_wait_accepted (fixture, index), OWL_CLOSE_GOING_AWAY, "restart");
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_RECONNECTING);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  owl_test_fixture_wait_accepted (fixture, index + 1);
}

typedef struct
{
  GString *log;
  guint    n;
} Recovered;

static void
on_recovered (OwlSocketClient *client,
              const char      *room,
              gboolean         recovered,
              guint            missed,
              Recovered       *seen)
{
  g_string_append_printf (seen->log, "%s:%s:%u;", room, recovered ? "true" : "false", missed);
  seen->n++;
}

/* An echo module at /ws/echo, listening, and a watched client connected
 * to it (@seen, if not NULL, records its `recovered`). */
static OwlTestWatch *
connect_client (OwlTestFixture *fixture,
                Recovered      *seen)
{
  OwlTestWatch *watch;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo");
  if (seen != NULL)
    g_signal_connect (watch->client, "recovered", G_CALLBACK (on_recovered), seen);
  return watch;
}

#define POSITIONS_AFTER_TRACKING \
  "{\"a\": {\"offset\": 1, \"epoch\": \"e9\"}, \"b\": {\"offset\": 7, \"epoch\": \"e2\"}," \
  " \"c\": {\"offset\": 1, \"epoch\": \"x\"}, \"odd &=?/%+ room\": {\"offset\": 5, \"epoch\": \"e\"}}"

/* Positions come from a leading `pos` (messages and events alike) and
 * from `joined`; an older offset of the same epoch is ignored, a new
 * epoch replaces. The first connection asks for nothing; the reconnect
 * carries them all, percent-encoded beside the URI's own query. */
static void
test_track_and_reconnect (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  const char *frames[] = {
    "{\"pos\":{\"room\":\"a\",\"offset\":3,\"epoch\":\"e1\"},\"type\":\"chat\",\"n\":1}",
    "{\"pos\":{\"room\":\"a\",\"offset\":2,\"epoch\":\"e1\"},\"type\":\"chat\",\"n\":2}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"b\",\"epoch\":\"e2\",\"offset\":7}}",
    "{\"pos\":{\"room\":\"c\",\"offset\":1,\"epoch\":\"x\"},\"type\":\"event\",\"event\":\"tick\",\"payload\":1}",
    "{\"pos\":{\"room\":\"odd &=?/%+ room\",\"offset\":5,\"epoch\":\"e\"},\"type\":\"chat\"}",
    NULL,
  };
  const char *new_epoch[] = { "{\"pos\":{\"room\":\"a\",\"offset\":1,\"epoch\":\"e9\"},\"type\":\"chat\"}", NULL };
  g_autoptr(OwlTestWatch) watch = NULL;
  OwlRequest *request;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  watch = owl_test_watch_connected (fixture, "/ws/echo?app=1");
  assert_positions (watch->client, "{}");
  request = owl_connection_get_request (owl_test_fixture_wait_accepted (fixture, 0));
  g_assert_null (owl_request_get_query_param (request, "recover"));
  g_assert_cmpstr (owl_request_get_query_param (request, "app"), ==, "1");
  g_assert_cmpuint (g_hash_table_size (owl_request_get_query (request)), ==, 1);

  send_frames (fixture, 0, watch, frames);
  assert_positions (watch->client,
                    "{\"a\": {\"offset\": 3, \"epoch\": \"e1\"}, \"b\": {\"offset\": 7, \"epoch\": \"e2\"},"
                    " \"c\": {\"offset\": 1, \"epoch\": \"x\"}, \"odd &=?/%+ room\": {\"offset\": 5, \"epoch\": \"e\"}}");
  send_frames (fixture, 0, watch, new_epoch);
  assert_positions (watch->client, POSITIONS_AFTER_TRACKING);
  /* The messages reach the application as they came, `pos` and all. */
  owl_test_assert_member_json (g_ptr_array_index (watch->messages, 0), "pos",
                               "{\"room\":\"a\",\"offset\":3,\"epoch\":\"e1\"}");
  g_assert_cmpstr (g_ptr_array_index (watch->events, 0), ==, "tick=1");

  server_restarts_connection (fixture, 0, watch);
  assert_recover_param (fixture, 1, POSITIONS_AFTER_TRACKING);
  request = owl_connection_get_request (owl_test_fixture_wait_accepted (fixture, 1));
  g_assert_cmpstr (owl_request_get_query_param (request, "app"), ==, "1");
  /* The odd room name came through whole: the value was encoded. */
  g_assert_cmpuint (g_hash_table_size (owl_request_get_query (request)), ==, 2);
}

/* `recovered` comes once per `joined` frame that carries `recovered`,
 * with its room, answer and count, before the frame itself; `joined`
 * without it (a room the client did not ask for) emits nothing. */
static void
test_recovered_signal (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  const char *first[] = { "{\"pos\":{\"room\":\"a\",\"offset\":2,\"epoch\":\"e\"},\"type\":\"chat\"}", NULL };
  const char *answers[] = {
    "{\"pos\":{\"room\":\"a\",\"offset\":3,\"epoch\":\"e\"},\"type\":\"chat\"}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"a\",\"epoch\":\"e\",\"offset\":6,"
    "\"recovered\":true,\"missed\":4}}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"b\",\"epoch\":\"new\",\"offset\":9,"
    "\"recovered\":false,\"missed\":0}}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"c\",\"epoch\":\"e\",\"offset\":0}}",
    NULL,
  };
  Recovered seen = { g_string_new (NULL), 0 };
  g_autoptr(OwlTestWatch) watch = NULL;

  watch = connect_client (fixture, &seen);
  owl_socket_client_set_position (watch->client, "b", "old", 40);
  send_frames (fixture, 0, watch, first);
  server_restarts_connection (fixture, 0, watch);
  assert_recover_param (fixture, 1,
                        "{\"a\": {\"offset\": 2, \"epoch\": \"e\"}, \"b\": {\"offset\": 40, \"epoch\": \"old\"}}");

  send_frames (fixture, 1, watch, answers);
  g_assert_cmpstr (seen.log->str, ==, "a:true:4;b:false:0;");
  g_assert_cmpuint (seen.n, ==, 2);
  /* The frames still reach the application as messages. */
  g_assert_cmpstr (owl_test_json_get_string (g_ptr_array_index (watch->messages, 2), "event"), ==, "joined");
  assert_positions (watch->client,
                    "{\"a\": {\"offset\": 6, \"epoch\": \"e\"}, \"b\": {\"offset\": 9, \"epoch\": \"new\"},"
                    " \"c\": {\"offset\": 0, \"epoch\": \"e\"}}");
  g_string_free (seen.log, TRUE);
}

/* 65 rooms: the reconnect names the 64 updated last (the first room is
 * the one left out), and the client keeps no more than that. */
static void
test_room_limit (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autoptr(JsonNode) sent = NULL;
  g_autoptr(JsonNode) kept = NULL;
  JsonObject *object;

  for (guint i = 0; i < 65; i++)
    g_ptr_array_add (frames, g_strdup_printf ("{\"pos\":{\"room\":\"r%u\",\"offset\":%u,\"epoch\":\"e\"},"
                                              "\"type\":\"chat\"}", i, i + 1));
  g_ptr_array_add (frames, NULL);
  watch = connect_client (fixture, NULL);
  send_frames (fixture, 0, watch, (const char * const *) frames->pdata);
  kept = owl_socket_client_dup_positions (watch->client);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (kept)), ==, 64);

  server_restarts_connection (fixture, 0, watch);
  sent = owl_test_json_parse (recover_param (fixture, 1));
  object = json_node_get_object (sent);
  g_assert_cmpuint (json_object_get_size (object), ==, 64);
  g_assert_false (json_object_has_member (object, "r0"));
  for (guint i = 1; i < 65; i++)
    {
      g_autofree char *room = g_strdup_printf ("r%u", i);
      g_autofree char *want = g_strdup_printf ("{\"offset\": %u, \"epoch\": \"e\"}", i + 1);

      owl_test_assert_member_json (sent, room, want);
    }
}

/* Long room names: the reconnect gives back the rooms updated last that
 * fit in 8 KiB encoded (a request head over the server's 16 KiB would be
 * refused for good), and connects. */
static void
test_size_limit (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = connect_client (fixture, NULL);
  g_autofree char *long_name = g_strnfill (150, 'n');
  g_autofree char *escaped = NULL;
  g_autoptr(JsonNode) sent = NULL;
  guint n;

  for (guint i = 0; i < 64; i++)
    {
      g_autofree char *room = g_strdup_printf ("%s%02u", long_name, i);

      owl_socket_client_set_position (watch->client, room, "e", i);
    }
  server_restarts_connection (fixture, 0, watch);
  escaped = g_uri_escape_string (recover_param (fixture, 1), NULL, FALSE);
  g_assert_cmpuint (strlen (escaped), <=, 8192);
  sent = owl_test_json_parse (recover_param (fixture, 1));
  n = json_object_get_size (json_node_get_object (sent));
  g_assert_cmpuint (n, >, 30);
  g_assert_cmpuint (n, <, 64);
  for (guint i = 64 - n; i < 64; i++)
    {
      g_autofree char *room = g_strdup_printf ("%s%02u", long_name, i);

      g_assert_true (json_object_has_member (json_node_get_object (sent), room));
    }
}

/* Positions the server would refuse back, or that are not positions,
 * are ignored; every message still reaches the application and the
 * connection goes on. */
static void
test_malformed (OwlTestFixture *fixture,
                gconstpointer   data)
{
  g_autofree char *long_epoch = g_strdup_printf ("{\"pos\":{\"room\":\"m\",\"offset\":1,\"epoch\":\"%065d\"}}", 0);
  const char *frames[] = {
    "{\"pos\":{\"room\":\"m\",\"offset\":\"3\",\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":1.5,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":-1,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":9007199254740992,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":99999999999999999999999,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":1e300,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":5,\"offset\":1,\"epoch\":\"e\"}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":1}}",
    "{\"pos\":{\"room\":\"m\",\"offset\":1,\"epoch\":null}}",
    long_epoch,
    "{\"pos\":[\"m\",1,\"e\"],\"type\":\"chat\"}",
    "{\"pos\":\"m\"}",
    "{\"type\":\"chat\",\"pos\":{\"room\":\"m\",\"offset\":1,\"epoch\":\"e\"}}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":[1]}",
    "{\"type\":\"system\",\"event\":\"joined\"}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"m\",\"epoch\":\"e\",\"offset\":\"1\","
    "\"recovered\":true}}",
    "{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"j\",\"epoch\":\"e\",\"offset\":2,"
    "\"recovered\":\"yes\",\"missed\":-4}}",
    "{\"pos\":{\"room\":\"ok\",\"offset\":9007199254740991,\"epoch\":\"e\"},\"type\":\"chat\"}",
    NULL,
  };
  Recovered seen = { g_string_new (NULL), 0 };
  g_autoptr(OwlTestWatch) watch = NULL;

  watch = connect_client (fixture, &seen);
  send_frames (fixture, 0, watch, frames);
  assert_positions (watch->client,
                    "{\"j\": {\"offset\": 2, \"epoch\": \"e\"}, \"ok\": {\"offset\": 9007199254740991, \"epoch\": \"e\"}}");
  g_assert_cmpuint (seen.n, ==, 0);
  g_assert_cmpint (owl_socket_client_get_state (watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_cmpuint (watch->n_errors, ==, 0);

  /* Still a working connection: the echo comes back. */
  g_assert_true (owl_socket_client_send_text (watch->client, "{\"type\":\"still\"}", NULL));
  OWL_TEST_WAIT_FOR (watch->messages->len == G_N_ELEMENTS (frames));
  owl_test_assert_json_equal (g_ptr_array_index (watch->messages, G_N_ELEMENTS (frames) - 1),
                              "{\"type\":\"still\"}");
  g_string_free (seen.log, TRUE);
}

/* Positions set by the application go out on the first connection too;
 * a NULL epoch forgets a room; with recover off nothing is asked for,
 * though positions are still kept. */
static void
test_seeded_and_off (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  const char *frames[] = { "{\"pos\":{\"room\":\"t\",\"offset\":8,\"epoch\":\"e\"},\"type\":\"chat\"}", NULL };
  g_autofree char *uri = NULL;
  g_autoptr(OwlTestWatch) watch = NULL;
  gboolean recover = FALSE;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  uri = owl_test_client_uri (fixture, "/ws/echo");
  watch = owl_test_watch_new (uri);
  g_object_get (watch->client, "recover", &recover, NULL);
  g_assert_true (recover);
  owl_socket_client_set_position (watch->client, "kept", "ep", 12);
  owl_socket_client_set_position (watch->client, "gone", "ep", 1);
  owl_socket_client_set_position (watch->client, "gone", NULL, 0);
  /* Set, not merged: an application's own value wins even when lower. */
  owl_socket_client_set_position (watch->client, "kept", "ep", 11);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  assert_recover_param (fixture, 0, "{\"kept\": {\"offset\": 11, \"epoch\": \"ep\"}}");

  g_object_set (watch->client, "recover", FALSE, NULL);
  send_frames (fixture, 0, watch, frames);
  server_restarts_connection (fixture, 0, watch);
  g_assert_null (recover_param (fixture, 1));
  assert_positions (watch->client,
                    "{\"kept\": {\"offset\": 11, \"epoch\": \"ep\"}, \"t\": {\"offset\": 8, \"epoch\": \"e\"}}");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/client/recover/track-and-reconnect", test_track_and_reconnect);
  OWL_TEST ("/owl/client/recover/recovered-signal", test_recovered_signal);
  OWL_TEST ("/owl/client/recover/room-limit", test_room_limit);
  OWL_TEST ("/owl/client/recover/size-limit", test_size_limit);
  OWL_TEST ("/owl/client/recover/malformed", test_malformed);
  OWL_TEST ("/owl/client/recover/seeded-and-off", test_seeded_and_off);

  return g_test_run ();
}
