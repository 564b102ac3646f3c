/* test-presence.c: OwlConnection::joined and ::left
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Presence notices without bookkeeping: `joined` once per room joined,
 * `left` once per room left, by leave() or by the end of the connection
 * (after `closing`, before `closed`), when a broadcast to the room reaches
 * the others only.
 */

#include "owl-test-util.h"

static void
on_joined (OwlConnection *connection,
           const char    *room,
           GString       *log)
{
  g_assert_true (owl_connection_in_room (connection, room));
  g_string_append_printf (log, "joined=%s;", room);
}

/* The presence notice an application sends: to the others of the room. */
static void
on_left (OwlConnection *connection,
         const char    *room,
         GString       *log)
{
  g_autofree char *text = g_strdup_printf ("{\"type\":\"presence\",\"left\":\"%s\"}",
                                           owl_connection_get_id (connection));

  g_assert_false (owl_connection_in_room (connection, room));
  g_string_append_printf (log, "left=%s;", room);
  owl_socket_service_broadcast_text (g_object_get_data (G_OBJECT (connection), "test-service"),
                                     room, text, NULL);
}

static void
on_closing (OwlConnection *connection,
            guint          code,
            const char    *reason,
            GString       *log)
{
  g_string_append (log, "closing;");
  owl_connection_join (connection, "late");   /* refused: it is closing */
}

static void
on_closed (OwlConnection *connection,
           guint          code,
           const char    *reason,
           GString       *log)
{
  g_string_append (log, "closed;");
}

static void
log_free (gpointer data)
{
  g_string_free (data, TRUE);
}

/* Joins "lobby" twice (one `joined`), then "kitchen". */
static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       service)
{
  GString *log = g_string_new (NULL);

  g_object_set_data_full (G_OBJECT (connection), "test-log", log, log_free);
  g_object_set_data (G_OBJECT (connection), "test-service", service);
  g_signal_connect (connection, "joined", G_CALLBACK (on_joined), log);
  g_signal_connect (connection, "left", G_CALLBACK (on_left), log);
  g_signal_connect (connection, "closing", G_CALLBACK (on_closing), log);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), log);
  owl_connection_join (connection, "lobby");
  owl_connection_join (connection, "lobby");
  owl_connection_join (connection, "kitchen");
}

static const char *
log_of (OwlConnection *connection)
{
  return ((GString *) g_object_get_data (G_OBJECT (connection), "test-log"))->str;
}

static void
test_join_leave (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  OwlConnection *connection;

  g_signal_connect (module, "connection", G_CALLBACK (on_connection), fixture->service);
  owl_test_fixture_listen (fixture);
  owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_cmpstr (log_of (connection), ==, "joined=lobby;joined=kitchen;");

  owl_connection_leave (connection, "kitchen");
  owl_connection_leave (connection, "kitchen");    /* not in it any more: nothing */
  owl_connection_leave (connection, "nowhere");
  g_assert_cmpstr (log_of (connection), ==, "joined=lobby;joined=kitchen;left=kitchen;");
  owl_connection_join (connection, "kitchen");
  g_assert_cmpstr (log_of (connection), ==, "joined=lobby;joined=kitchen;left=kitchen;joined=kitchen;");
}

/* The end leaves every room, each told between `closing` and `closed`; the
 * notice sent from `left` reaches the one who stays. */
static void
test_left_on_close (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  OwlTestClient *leaving, *staying;
  OwlConnection *connection;
  g_autoptr(JsonNode) notice = NULL;
  const char *log;

  g_signal_connect (module, "connection", G_CALLBACK (on_connection), fixture->service);
  owl_test_fixture_listen (fixture);
  staying = owl_test_client_connect (fixture, "/ws/echo");
  leaving = owl_test_client_connect (fixture, "/ws/echo");
  connection = owl_test_fixture_wait_accepted (fixture, 1);

  soup_websocket_connection_close (leaving->ws, 1000, NULL);
  owl_test_record_wait_closed (connection);
  log = log_of (connection);
  /* Hash order between the two rooms: check both. */
  g_assert_true (g_str_equal (log, "joined=lobby;joined=kitchen;closing;left=lobby;left=kitchen;closed;") ||
                 g_str_equal (log, "joined=lobby;joined=kitchen;closing;left=kitchen;left=lobby;closed;"));
  g_assert_false (owl_connection_in_room (connection, "late"));

  /* One notice per room the two shared. */
  notice = owl_test_client_wait_json (staying, 0);
  owl_test_assert_frame (notice, "presence", NULL);
  g_assert_cmpstr (owl_test_json_get_string (notice, "left"), ==, owl_connection_get_id (connection));
  owl_test_client_wait_texts (staying, 2);
  g_assert_cmpuint (leaving->texts->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/presence/join-leave", test_join_leave);
  OWL_TEST ("/owl/presence/left-on-close", test_left_on_close);

  return g_test_run ();
}
