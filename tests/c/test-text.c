/* test-text.c: what reaches handlers as a string is UTF-8 text, and what
 * goes out in a text frame is too
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A route param or query parameter that is not UTF-8 text (bad bytes, an
 * escaped NUL) refuses the upgrade with 400 and a JSON body naming it;
 * header values arrive with U+FFFD for bad bytes (libsoup's doing); a node
 * the application fills with bad bytes goes out with U+FFFD in their place. Either way the other members of a room
 * keep their connection: a client must close on invalid UTF-8 in a text
 * frame (1007), so one bad name once disconnected a whole chat room.
 */

#include "owl-test-util.h"

#include <string.h>

/* The module of the chat example, reduced: every member hears who joined,
 * named by the `name` query parameter. */
static void
on_chat_connection (OwlModule     *module,
                    OwlConnection *connection,
                    gpointer       service)
{
  OwlRequest *request = owl_connection_get_request (connection);
  const char *room = owl_request_get_param (request, "room");
  const char *name = owl_request_get_query_param (request, "name");
  g_autoptr(JsonNode) notice = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  owl_connection_join (connection, room);
  json_object_set_string_member (object, "type", "joined");
  json_object_set_string_member (object, "name", name ? name : "anonymous");
  json_object_set_string_member (object, "agent", owl_request_get_header (request, "X-Agent"));
  json_node_take_object (notice, object);
  owl_socket_service_broadcast (service, room, notice, connection);
}

static void
chat_listen (OwlTestFixture *fixture)
{
  OwlModule *chat = owl_test_fixture_add_module (fixture, "chat", "/chat/:room");

  g_signal_connect (chat, "connection", G_CALLBACK (on_chat_connection), fixture->service);
  owl_test_fixture_listen (fixture);
}

/* The upgrade of @path with @header ("Name: value", may be NULL) and the
 * JSON body of its answer; asserts a 400 with a `malformed` body whose
 * message is @message (NULL: libsoup's own 400, which it answers to an
 * escaped NUL in the path or a broken escape before any handler runs). */
static void
assert_refused (OwlTestFixture *fixture,
                const char     *path,
                const char     *header,
                const char     *message)
{
  g_autofree char *text = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->port, path);
  /* Kept as written: escapes are the point, even broken ones. */
  g_autoptr(GUri) uri = g_uri_parse (text, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  g_autoptr(SoupMessage) msg = uri ? soup_message_new_from_uri ("GET", uri) : NULL;
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (msg);
  if (header != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (header, ": ", 2);

      soup_message_headers_append (soup_message_get_request_headers (msg), parts[0], parts[1]);
    }
  g_assert_cmpuint (owl_test_http_send (fixture->session, msg, TRUE, &body), ==, 400);
  if (message == NULL)
    return;  /* libsoup's own refusal, before any handler */
  g_assert_nonnull (body);
  g_assert_true (g_utf8_validate (body, -1, NULL));
  node = owl_test_json_parse (body);
  g_assert_cmpstr (owl_test_json_get_string (node, "code"), ==, "malformed");
  g_assert_cmpstr (owl_test_json_get_string (node, "message"), ==, message);
}

/* A member already in the room, who must hear the next join and stay. */
static OwlTestClient *
join_bystander (OwlTestFixture *fixture)
{
  OwlTestClient *client = owl_test_client_connect (fixture, "/chat/lobby?name=ann");

  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 1);
  return client;
}

static void
assert_bystander_hears (OwlTestClient *bystander,
                        guint          index,
                        const char    *name)
{
  g_autoptr(JsonNode) node = owl_test_client_wait_json (bystander, index);

  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, "joined");
  g_assert_cmpstr (owl_test_json_get_string (node, "name"), ==, name);
  g_assert_cmpuint (bystander->n_closed, ==, 0);
}

static void
test_param (OwlTestFixture *fixture,
            gconstpointer   data)
{
  static const char *bad[] = { "/chat/%ff%fe", "/chat/%c3", "/chat/%ed%a0%80", "/chat/%c0%af" };
  OwlTestClient *bystander;

  chat_listen (fixture);
  bystander = join_bystander (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_refused (fixture, bad[i], NULL, "Route parameter 'room' is not valid UTF-8 text");
  assert_refused (fixture, "/chat/a%00b", NULL, NULL);

  /* Escaped UTF-8 is text like any other. */
  owl_test_client_connect (fixture, "/chat/lobby%20%c3%a9?name=bob");
  owl_test_client_connect (fixture, "/chat/lobby?name=%c3%a9ve");
  assert_bystander_hears (bystander, 0, "\xc3\xa9ve");
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 3);
}

static void
test_query (OwlTestFixture *fixture,
            gconstpointer   data)
{
  OwlTestClient *bystander;
  g_autofree char *long_name = NULL;
  g_autofree char *long_path = NULL;
  g_autofree char *expected = NULL;

  chat_listen (fixture);
  bystander = join_bystander (fixture);

  assert_refused (fixture, "/chat/lobby?name=%ff%fe", NULL, "Query parameter 'name' is not valid UTF-8 text");
  /* Not cut at the NUL: refused. */
  assert_refused (fixture, "/chat/lobby?q=%ff%00%c3", NULL, "Query parameter 'q' is not valid UTF-8 text");
  assert_refused (fixture, "/chat/lobby?a=1&name=x%00y", NULL, "Query parameter 'name' is not valid UTF-8 text");
  assert_refused (fixture, "/chat/lobby?name=%zz", NULL, NULL);
  /* A name that is itself bad is reflected escaped (libsoup normalises the
   * escape). */
  assert_refused (fixture, "/chat/lobby?%ff=1", NULL, "Query parameter '%FF' is not valid UTF-8 text");
  /* ... nor at any length. */
  long_name = g_strnfill (5000, 'n');
  long_path = g_strdup_printf ("/chat/lobby?%s=%%ff", long_name);
  expected = g_strdup_printf ("Query parameter '%.64s' is not valid UTF-8 text", long_name);
  assert_refused (fixture, long_path, NULL, expected);

  owl_test_client_connect (fixture, "/chat/lobby?name=bob+the+builder");
  assert_bystander_hears (bystander, 0, "bob the builder");
}

/* libsoup hands over header values with U+FFFD for invalid bytes: what a
 * handler reads and broadcasts is text. */
static void
test_header (OwlTestFixture *fixture,
             gconstpointer   data)
{
  OwlTestClient *bystander;
  g_autoptr(JsonNode) heard = NULL;
  OwlTestRaw *raw;

  chat_listen (fixture);
  bystander = join_bystander (fixture);

  raw = owl_test_raw_connect_full (fixture->port, "/chat/lobby?name=bob", "X-Agent: caf\xe9\r\n", 0, NULL);
  heard = owl_test_client_wait_json (bystander, 0);
  g_assert_cmpstr (owl_test_json_get_string (heard, "agent"), ==, "caf\xef\xbf\xbd");
  g_assert_cmpuint (bystander->n_closed, ==, 0);
  owl_test_raw_free (raw);

  owl_test_client_connect (fixture, "/chat/lobby?name=eve");
  assert_bystander_hears (bystander, 1, "eve");
}

/* What the application puts in a node unchecked goes out as U+FFFD. */
static void
on_bad_bytes (OwlConnection *connection,
              JsonNode      *message,
              gpointer       service)
{
  g_autoptr(JsonNode) reply = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", "file");
  json_object_set_string_member (object, "name", "r\xe9sum\xe9.txt");
  json_node_take_object (reply, object);
  g_assert_true (owl_connection_send (connection, reply, NULL));
  owl_socket_service_broadcast (service, "lobby", reply, connection);
}

static void
on_files_connection (OwlModule     *module,
                     OwlConnection *connection,
                     gpointer       service)
{
  owl_connection_join (connection, "lobby");
  g_signal_connect (connection, "message", G_CALLBACK (on_bad_bytes), service);
}

static void
test_send (OwlTestFixture *fixture,
           gconstpointer   data)
{
  OwlModule *files = owl_test_fixture_add_module (fixture, "files", "/files");
  OwlTestClient *sender, *member;
  g_autoptr(JsonNode) sent = NULL;
  g_autoptr(JsonNode) heard = NULL;
  const char *replaced = "r\xef\xbf\xbdsum\xef\xbf\xbd.txt";

  g_signal_connect (files, "connection", G_CALLBACK (on_files_connection), fixture->service);
  owl_test_fixture_listen (fixture);
  member = owl_test_client_connect (fixture, "/files");
  sender = owl_test_client_connect (fixture, "/files");
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);

  owl_test_client_send (sender, "{\"type\":\"list\"}");
  sent = owl_test_client_wait_json (sender, 0);
  heard = owl_test_client_wait_json (member, 0);
  g_assert_cmpstr (owl_test_json_get_string (sent, "name"), ==, replaced);
  g_assert_cmpstr (owl_test_json_get_string (heard, "name"), ==, replaced);

  /* Both stay: libsoup's client closes with 1007 on invalid UTF-8. */
  owl_test_client_send (sender, "{\"type\":\"again\"}");
  owl_test_client_wait_texts (member, 2);
  g_assert_cmpuint (sender->n_closed, ==, 0);
  g_assert_cmpuint (member->n_closed, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/text/param", test_param);
  OWL_TEST ("/owl/text/query", test_query);
  OWL_TEST ("/owl/text/header", test_header);
  OWL_TEST ("/owl/text/send", test_send);

  return g_test_run ();
}
