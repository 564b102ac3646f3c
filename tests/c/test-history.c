/* test-history.c: positions of broadcasts in rooms with history, and the
 * `joined` frame
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A broadcast in a room whose module keeps history carries `pos` as its
 * first member, with an offset that grows by one per broadcast; a
 * broadcast that is not a JSON object goes out as it was; every join is
 * answered with `joined` and the room's latest position; a room without
 * history sends neither.
 */

#include "owl-test-history.h"

static void
test_pos (OwlTestFixture *fixture,
          gconstpointer   data)
{
  OwlTestClient *a, *b;
  g_autoptr(JsonNode) joined = NULL;
  g_autofree char *epoch = NULL;
  g_autofree char *empty = NULL;

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);

  /* Nothing published yet: offset 0 and no epoch. */
  a = owl_test_client_connect (fixture, "/ws/h/lobby");
  joined = owl_test_client_wait_json (a, 0);
  owl_test_assert_json_equal (joined, "{\"type\":\"system\",\"event\":\"joined\","
                                      "\"payload\":{\"room\":\"lobby\",\"epoch\":\"\",\"offset\":0}}");

  for (guint i = 1; i <= 3; i++)
    owl_test_history_broadcast (fixture, "lobby", i);
  epoch = owl_test_history_assert_pub (a, 1, "lobby", 1, NULL, 1);
  g_assert_cmpuint (strlen (epoch), >, 0);
  g_free (owl_test_history_assert_pub (a, 2, "lobby", 2, epoch, 2));
  g_free (owl_test_history_assert_pub (a, 3, "lobby", 3, epoch, 3));

  /* A later join is told where the room is. */
  b = owl_test_client_connect (fixture, "/ws/h/lobby");
  owl_test_history_assert_joined (b, 0, "lobby", epoch, 3, NULL, 0);

  /* An empty object gets pos alone; text that is no object goes as it is,
   * and takes an offset all the same. */
  owl_socket_service_broadcast_text (fixture->service, "lobby", "{ }", NULL);
  owl_socket_service_broadcast_text (fixture->service, "lobby", "[1,2]", NULL);
  owl_test_history_broadcast (fixture, "lobby", 6);
  owl_test_client_wait_texts (a, 7);
  empty = g_strdup_printf ("{\"pos\":{\"room\":\"lobby\",\"offset\":4,\"epoch\":\"%s\"} }", epoch);
  g_assert_cmpstr (g_ptr_array_index (a->texts, 4), ==, empty);
  g_assert_cmpstr (g_ptr_array_index (a->texts, 5), ==, "[1,2]");
  g_free (owl_test_history_assert_pub (a, 6, "lobby", 6, epoch, 6));
  owl_test_client_wait_texts (b, 4);
  g_assert_cmpstr (g_ptr_array_index (b->texts, 2), ==, "[1,2]");
  g_free (owl_test_history_assert_pub (b, 3, "lobby", 6, epoch, 6));
}

/* A room name that needs escaping is escaped in pos. */
static void
test_pos_escaped_room (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  OwlTestClient *a;
  g_autoptr(JsonNode) pub = NULL;
  g_autoptr(JsonNode) pos = NULL;

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);
  a = owl_test_client_connect (fixture, "/ws/h/a%22b%5Cc");
  owl_test_client_wait_texts (a, 1);
  owl_test_history_broadcast (fixture, "a\"b\\c", 1);
  pub = owl_test_client_wait_json (a, 1);
  pos = json_node_copy (json_object_get_member (json_node_get_object (pub), "pos"));
  g_assert_cmpstr (owl_test_json_get_string (pos, "room"), ==, "a\"b\\c");
  g_assert_cmpint (owl_test_json_get_int (pos, "offset"), ==, 1);
}

/* Without history: no joined frame, no pos. */
static void
test_no_history (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *a;

  owl_test_history_module (fixture, "p", "/ws/p/:room", 0, FALSE);
  owl_test_fixture_listen (fixture);
  a = owl_test_client_connect (fixture, "/ws/p/lobby");
  owl_test_fixture_wait_accepted (fixture, 0);
  owl_test_history_assert_plain (fixture, a);
}

/* Two modules in one room: the room keeps the larger history, so the
 * connection of the module without history gets pos and joined too. */
static void
test_larger_options (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *plain, *kept;
  g_autofree char *epoch = NULL;

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_history_module (fixture, "p", "/ws/p/:room", 0, FALSE);
  owl_test_fixture_listen (fixture);
  kept = owl_test_client_connect (fixture, "/ws/h/lobby");
  owl_test_client_wait_texts (kept, 1);
  plain = owl_test_client_connect (fixture, "/ws/p/lobby");
  owl_test_history_assert_joined (plain, 0, "lobby", "", 0, NULL, 0);
  owl_test_history_broadcast (fixture, "lobby", 1);
  epoch = owl_test_history_assert_pub (plain, 1, "lobby", 1, NULL, 1);
  g_free (owl_test_history_assert_pub (kept, 1, "lobby", 1, epoch, 1));
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/history/pos", test_pos);
  OWL_TEST ("/history/pos-escaped-room", test_pos_escaped_room);
  OWL_TEST ("/history/none", test_no_history);
  OWL_TEST ("/history/larger-options", test_larger_options);

  return g_test_run ();
}
