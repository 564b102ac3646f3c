/* test-presence-broker.c: presence kept by the broker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In a room whose module keeps presence, a join adds the connection's
 * entry {id, user, node, info} and sends `presence-join` to the room; a
 * leave, or the end of the connection, removes it and sends
 * `presence-leave`; the presence query answers the entries. A module
 * without presence adds nothing.
 */

#include <unistd.h>

#include "owl-test-history.h"

typedef struct
{
  JsonNode *members;
  GError   *error;
  gboolean  done;
} Query;

static void
on_presence (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Query *query = user_data;

  query->members = owl_socket_service_presence_finish (OWL_SOCKET_SERVICE (source), result, &query->error);
  query->done = TRUE;
}

static int
by_id (gconstpointer a,
       gconstpointer b)
{
  return g_strcmp0 (owl_test_json_get_string ((JsonNode *) a, "id"),
                    owl_test_json_get_string ((JsonNode *) b, "id"));
}

/* The room's entries, sorted by id, as text. */
static char *
query_presence (OwlTestFixture *fixture,
                const char     *room)
{
  Query query = { NULL, };
  g_autoptr(GList) elements = NULL;
  g_autoptr(GString) out = g_string_new ("[");

  owl_socket_service_presence_async (fixture->service, room, NULL, on_presence, &query);
  OWL_TEST_WAIT_FOR (query.done);
  g_assert_no_error (query.error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (query.members));
  elements = json_array_get_elements (json_node_get_array (query.members));
  elements = g_list_sort (elements, by_id);
  for (GList *l = elements; l != NULL; l = l->next)
    {
      g_autofree char *text = owl_test_json_to_string (l->data);

      g_string_append_printf (out, "%s%s", out->len > 1 ? "," : "", text);
    }
  g_string_append_c (out, ']');
  json_node_unref (query.members);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* An entry as the broker keeps it; @name NULL: no info. */
static char *
entry_text (OwlConnection *conn,
            const char    *name,
            gboolean       with_room)
{
  g_autofree char *info = name ? g_strdup_printf (",\"info\":{\"name\":\"%s\"}", name) : g_strdup ("");
  g_autofree char *room = with_room ? g_strdup ("\"room\":\"lobby\",") : g_strdup ("");

  return g_strdup_printf ("{%s\"id\":\"%s\",\"user\":null,\"node\":\"%s-%d\"%s}", room,
                          owl_connection_get_id (conn), g_get_host_name (), (int) getpid (), info);
}

static void
assert_event (OwlTestClient *client,
              guint          index,
              const char    *event,
              OwlConnection *conn,
              const char    *name)
{
  g_autoptr(JsonNode) frame = owl_test_client_wait_json (client, index);
  g_autofree char *payload = entry_text (conn, name, TRUE);
  g_autofree char *expected = g_strdup_printf ("{\"type\":\"system\",\"event\":\"%s\",\"payload\":%s}",
                                               event, payload);

  owl_test_assert_json_equal (frame, expected);
}

static void
test_join_leave (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *a, *b;
  OwlConnection *ca, *cb;
  g_autofree char *both = NULL, *left = NULL, *ea = NULL, *eb = NULL, *none = NULL;

  owl_test_history_module (fixture, "p", "/ws/p/:room", 0, TRUE);
  owl_test_fixture_listen (fixture);
  a = owl_test_client_connect (fixture, "/ws/p/lobby?name=ann");
  ca = owl_test_fixture_wait_accepted (fixture, 0);
  assert_event (a, 0, "presence-join", ca, "ann");
  b = owl_test_client_connect (fixture, "/ws/p/lobby");
  cb = owl_test_fixture_wait_accepted (fixture, 1);
  assert_event (a, 1, "presence-join", cb, NULL);
  assert_event (b, 0, "presence-join", cb, NULL);

  ea = entry_text (ca, "ann", FALSE);
  eb = entry_text (cb, NULL, FALSE);
  both = query_presence (fixture, "lobby");
  {
    g_autofree char *sorted = g_strcmp0 (owl_connection_get_id (ca), owl_connection_get_id (cb)) < 0
      ? g_strdup_printf ("[%s,%s]", ea, eb) : g_strdup_printf ("[%s,%s]", eb, ea);
    g_autoptr(JsonNode) got = owl_test_json_parse (both);

    owl_test_assert_json_equal (got, sorted);
  }

  /* The end of b's connection is a leave. */
  owl_test_client_free (b);
  owl_test_record_wait_closed (cb);
  {
    g_autoptr(JsonNode) frame = owl_test_client_wait_json (a, 2);
    g_autofree char *expected = g_strdup_printf ("{\"type\":\"system\",\"event\":\"presence-leave\","
                                                 "\"payload\":{\"room\":\"lobby\",\"id\":\"%s\",\"user\":null,"
                                                 "\"node\":\"%s-%d\"}}", owl_connection_get_id (cb),
                                                 g_get_host_name (), (int) getpid ());

    owl_test_assert_json_equal (frame, expected);
  }
  left = query_presence (fixture, "lobby");
  {
    g_autofree char *expected = g_strdup_printf ("[%s]", ea);
    g_autoptr(JsonNode) got = owl_test_json_parse (left);

    owl_test_assert_json_equal (got, expected);
  }

  owl_connection_leave (ca, "lobby");
  none = query_presence (fixture, "lobby");
  g_assert_cmpstr (none, ==, "[]");
}

/* Without presence: no entry, no event. */
static void
test_off (OwlTestFixture *fixture,
          gconstpointer   data)
{
  OwlTestClient *a;
  g_autofree char *none = NULL;

  owl_test_history_module (fixture, "p", "/ws/p/:room", 0, FALSE);
  owl_test_fixture_listen (fixture);
  a = owl_test_client_connect (fixture, "/ws/p/lobby?name=ann");
  owl_test_fixture_wait_accepted (fixture, 0);
  none = query_presence (fixture, "lobby");
  g_assert_cmpstr (none, ==, "[]");
  owl_test_history_assert_plain (fixture, a);
}

/* With history too: the events are publications, with their pos. */
static void
test_in_history (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  OwlTestClient *a;
  g_autoptr(JsonNode) frame = NULL;

  owl_test_history_module (fixture, "p", "/ws/p/:room", 10, TRUE);
  owl_test_fixture_listen (fixture);
  a = owl_test_client_connect (fixture, "/ws/p/lobby");
  owl_test_history_assert_joined (a, 0, "lobby", "", 0, NULL, 0);
  frame = owl_test_client_wait_json (a, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (a->texts, 1), "{\"pos\":{\"room\":\"lobby\",\"offset\":1,"));
  g_assert_cmpstr (owl_test_json_get_string (frame, "event"), ==, "presence-join");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/presence-broker/join-leave", test_join_leave);
  OWL_TEST ("/presence-broker/off", test_off);
  OWL_TEST ("/presence-broker/in-history", test_in_history);

  return g_test_run ();
}
