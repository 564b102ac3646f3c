/* test-rooms.c: joining, broadcasting, leaving
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

static const char *
room_of (OwlConnection *conn)
{
  return owl_request_get_param (owl_connection_get_request (conn), "room");
}

/* {"type":"say"} goes to everyone else in the sender's room. */
static void
room_message_cb (OwlConnection    *conn,
                 JsonNode         *message,
                 OwlSocketService *service)
{
  if (g_strcmp0 (owl_test_json_get_string (message, "type"), "say") == 0)
    owl_socket_service_broadcast (service, room_of (conn), message, conn);
}

static void
room_connection_cb (OwlModule        *module,
                    OwlConnection    *conn,
                    OwlSocketService *service)
{
  owl_connection_join (conn, room_of (conn));
  g_signal_connect (conn, "message", G_CALLBACK (room_message_cb), service);
}

typedef struct
{
  OwlTestFixture  base;
  OwlTestClient  *clients[4];  /* a, b, c in "lobby"; d in "attic" */
  OwlConnection  *conns[4];
} RoomFixture;

static void
room_setup (RoomFixture   *rf,
            gconstpointer  data)
{
  OwlTestFixture *fixture = &rf->base;
  OwlModule *module;

  owl_test_fixture_setup (fixture, data);
  module = owl_test_fixture_add_module (fixture, "room", "/ws/room/:room");
  g_signal_connect (module, "connection", G_CALLBACK (room_connection_cb), fixture->service);
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (rf->clients); i++)
    {
      rf->clients[i] = owl_test_client_connect (fixture, i < 3 ? "/ws/room/lobby" : "/ws/room/attic");
      rf->conns[i] = owl_test_fixture_wait_accepted (fixture, i);
    }
}

static void
room_teardown (RoomFixture   *rf,
               gconstpointer  data)
{
  owl_test_fixture_teardown (&rf->base, data);
}

#define ROOM_TEST(path, func) \
  g_test_add (path, RoomFixture, NULL, room_setup, func, room_teardown)

static guint
n_members (OwlTestFixture *fixture,
           const char     *room)
{
  GList *members = owl_socket_service_list_room_members (fixture->service, room);
  guint n = g_list_length (members);

  g_list_free (members);
  return n;
}

static gboolean
is_member (OwlTestFixture *fixture,
           const char     *room,
           OwlConnection  *conn)
{
  GList *members = owl_socket_service_list_room_members (fixture->service, room);
  gboolean found = g_list_find (members, conn) != NULL;

  g_list_free (members);
  return found;
}

static void
assert_heard (OwlTestClient *client,
              guint          index,
              const char    *expected)
{
  g_autoptr(JsonNode) heard = owl_test_client_wait_json (client, index);

  owl_test_assert_json_equal (heard, expected);
}

/* The client's next frame is the pong: nothing else was on its way. */
static void
assert_next_is_pong (OwlTestClient *client)
{
  guint index = client->texts->len;
  g_autoptr(JsonNode) pong = NULL;

  owl_test_client_send (client, "{\"type\":\"ping\",\"id\":\"probe\"}");
  pong = owl_test_client_wait_json (client, index);
  owl_test_assert_frame (pong, "pong", "probe");
}

static void
test_join_broadcast (RoomFixture   *rf,
                     gconstpointer  data)
{
  OwlTestFixture *fixture = &rf->base;
  g_auto(GStrv) conn_rooms = NULL;
  g_auto(GStrv) all_rooms = NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (owl_connection_in_room (rf->conns[i], "lobby"));
      g_assert_false (owl_connection_in_room (rf->conns[i], "attic"));
      g_assert_true (is_member (fixture, "lobby", rf->conns[i]));
    }
  g_assert_true (owl_connection_in_room (rf->conns[3], "attic"));
  conn_rooms = owl_connection_dup_rooms (rf->conns[0]);
  g_assert_cmpuint (g_strv_length (conn_rooms), ==, 1);
  g_assert_cmpstr (conn_rooms[0], ==, "lobby");
  all_rooms = owl_socket_service_dup_rooms (fixture->service);
  g_assert_true (g_strv_contains ((const char * const *) all_rooms, "lobby"));
  g_assert_true (g_strv_contains ((const char * const *) all_rooms, "attic"));
  g_assert_cmpuint (n_members (fixture, "lobby"), ==, 3);
  g_assert_cmpuint (n_members (fixture, "attic"), ==, 1);
  g_assert_cmpuint (n_members (fixture, "nowhere"), ==, 0);

  /* a says something: b and c hear it, a and d do not. */
  owl_test_client_send (rf->clients[0], "{\"type\":\"say\",\"text\":\"hi\"}");
  for (guint i = 1; i < 3; i++)
    assert_heard (rf->clients[i], 0, "{\"type\":\"say\",\"text\":\"hi\"}");
  assert_next_is_pong (rf->clients[0]);
  assert_next_is_pong (rf->clients[3]);

  /* The server's own broadcast, as text, reaches everyone in the room. */
  owl_socket_service_broadcast_text (fixture->service, "lobby", "{\"type\":\"news\"}", NULL);
  /* Second frame for each: a got its pong, b and c the "say". */
  for (guint i = 0; i < 3; i++)
    assert_heard (rf->clients[i], 1, "{\"type\":\"news\"}");
  assert_next_is_pong (rf->clients[3]);
}

static void
test_leave (RoomFixture   *rf,
            gconstpointer  data)
{
  OwlTestFixture *fixture = &rf->base;
  g_autoptr(JsonNode) message = owl_test_json_parse ("{\"type\":\"news\",\"n\":2}");

  owl_connection_join (rf->conns[1], "attic");
  g_assert_true (owl_connection_in_room (rf->conns[1], "attic"));
  g_assert_cmpuint (n_members (fixture, "attic"), ==, 2);

  owl_connection_leave (rf->conns[1], "lobby");
  g_assert_false (owl_connection_in_room (rf->conns[1], "lobby"));
  g_assert_true (owl_connection_in_room (rf->conns[1], "attic"));
  g_assert_cmpuint (n_members (fixture, "lobby"), ==, 2);
  g_assert_false (is_member (fixture, "lobby", rf->conns[1]));

  owl_socket_service_broadcast (fixture->service, "lobby", message, NULL);
  assert_heard (rf->clients[0], 0, "{\"type\":\"news\",\"n\":2}");
  assert_heard (rf->clients[2], 0, "{\"type\":\"news\",\"n\":2}");
  assert_next_is_pong (rf->clients[1]);
}

static void
test_leave_on_close (RoomFixture   *rf,
                     gconstpointer  data)
{
  OwlTestFixture *fixture = &rf->base;
  g_auto(GStrv) rooms = NULL;

  owl_connection_join (rf->conns[1], "attic");
  soup_websocket_connection_close (rf->clients[1]->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  owl_test_record_wait_closed (rf->conns[1]);

  g_assert_false (owl_connection_in_room (rf->conns[1], "lobby"));
  g_assert_false (owl_connection_in_room (rf->conns[1], "attic"));
  rooms = owl_connection_dup_rooms (rf->conns[1]);
  g_assert_true (rooms == NULL || rooms[0] == NULL);
  g_assert_cmpuint (n_members (fixture, "lobby"), ==, 2);
  g_assert_cmpuint (n_members (fixture, "attic"), ==, 1);
  g_assert_false (is_member (fixture, "lobby", rf->conns[1]));

  /* A broadcast after the close reaches the others and nothing breaks. */
  owl_test_client_send (rf->clients[0], "{\"type\":\"say\",\"text\":\"still here?\"}");
  assert_heard (rf->clients[2], 0, "{\"type\":\"say\",\"text\":\"still here?\"}");
  assert_next_is_pong (rf->clients[0]);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  ROOM_TEST ("/owl/rooms/join-broadcast", test_join_broadcast);
  ROOM_TEST ("/owl/rooms/leave", test_leave);
  ROOM_TEST ("/owl/rooms/leave-on-close", test_leave_on_close);

  return g_test_run ();
}
