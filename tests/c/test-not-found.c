/* test-not-found.c: every 404 of the service's own server says the same,
 * and the refusals of a module's schemas read as English
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <glib/gstdio.h>

#include "owl-test-util.h"

#define NOT_FOUND_BODY "{\"code\":\"not-found\",\"message\":\"No endpoint at this path\"}"

/* GET @path, as a WebSocket upgrade when @upgrade: the status; the body and
 * the Content-Type go to the out parameters. */
static guint
get (OwlTestFixture *fixture,
     const char     *path,
     gboolean        upgrade,
     char          **body_out,
     char          **type_out)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  guint status = owl_test_http_send (fixture->session, msg, upgrade, body_out);

  *type_out = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL));
  return status;
}

/* @path answers 404 with the one JSON body, to a plain GET and to an
 * upgrade alike. */
static void
assert_not_found (OwlTestFixture *fixture,
                  const char     *path)
{
  for (guint upgrade = 0; upgrade < 2; upgrade++)
    {
      g_autofree char *body = NULL;
      g_autofree char *type = NULL;

      g_test_message ("GET %s%s", path, upgrade ? " (upgrade)" : "");
      g_assert_cmpuint (get (fixture, path, upgrade, &body, &type), ==, SOUP_STATUS_NOT_FOUND);
      g_assert_cmpstr (type, ==, "application/json");
      g_assert_cmpstr (body, ==, NOT_FOUND_BODY);
    }
}

static guint64
rejected (OwlTestFixture *fixture,
          const char     *reason)
{
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (fixture->service);
  g_autoptr(GVariant) counts = g_variant_lookup_value (stats, "rejected", G_VARIANT_TYPE ("a{st}"));
  guint64 n = G_MAXUINT64;

  g_assert_true (g_variant_lookup (counts, reason, "t", &n));
  return n;
}

/* Outside every module's prefix (libsoup's own 404 had no body), below a
 * module's prefix, and below the metrics path: the same 404. Only the
 * paths a module was asked about count as refusals. */
static void
test_not_found_same_body (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  const char *outside[] = { "/", "/nothing", "/ws/nothing", "/metrics/x" };
  const char *below[] = { "/ws/game", "/ws/game/1/extra" };
  OwlTestClient *client;

  g_object_set (fixture->service, "metrics-path", "/metrics", NULL);
  owl_test_fixture_add_echo_module (fixture, "game", "/ws/game/:id");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (outside); i++)
    assert_not_found (fixture, outside[i]);
  g_assert_cmpuint (rejected (fixture, "not-found"), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (below); i++)
    assert_not_found (fixture, below[i]);
  g_assert_cmpuint (rejected (fixture, "not-found"), ==, 2 * G_N_ELEMENTS (below));

  /* The module's own path still upgrades and echoes. */
  client = owl_test_client_connect (fixture, "/ws/game/1");
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  owl_test_client_send (client, "{\"type\":\"still-here\"}");
  owl_test_client_wait_texts (client, 1);
}

/* A module whose prefix is "/" takes every path; once it is removed, the
 * paths it had answer the JSON 404 again. */
static void
test_not_found_root_module (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  OwlModule *root;

  root = owl_test_fixture_add_echo_module (fixture, "rooms", "/:room");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/lobby"), ==, 101);
  assert_not_found (fixture, "/lobby/extra");

  g_assert_true (owl_socket_service_remove_module (fixture->service, root));
  assert_not_found (fixture, "/lobby");
  assert_not_found (fixture, "/");
}

/* "/" has one owner at a time: files served at "/" answer there (and their
 * own 404 is JSON too); once they are no longer served, the one 404 comes
 * back; and a module on "/" added after the files, then the files stopped,
 * keeps its paths (the files' handler going must not take the module's). */
static void
test_not_found_root_files (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  g_autofree char *dir = g_dir_make_tmp ("owlsock-root-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "hello.txt", NULL);
  g_autofree char *body = NULL;
  g_autofree char *type = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (file, "hello", -1, NULL));
  owl_test_fixture_listen (fixture);

  g_assert_true (owl_socket_service_serve_static (fixture->service, "/", dir, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (get (fixture, "/hello.txt", FALSE, &body, &type), ==, SOUP_STATUS_OK);
  g_assert_cmpstr (body, ==, "hello");

  g_assert_true (owl_socket_service_serve_static (fixture->service, "/", NULL, &error));
  assert_not_found (fixture, "/hello.txt");

  g_assert_true (owl_socket_service_serve_static (fixture->service, "/", dir, &error));
  owl_test_fixture_add_echo_module (fixture, "rooms", "/:room");
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/lobby"), ==, 101);
  g_assert_true (owl_socket_service_serve_static (fixture->service, "/", NULL, &error));
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/lobby"), ==, 101);

  g_unlink (file);
  g_rmdir (dir);
}

/* "The params do not match", "The query does not match": the refusal's
 * message as a client reads it, and a valid client gets in after. */
static void
test_schema_refusal_grammar (OwlTestFixture *fixture,
                             gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) params = owl_schema_new_from_string (
    "{\"properties\":{\"id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}}}", &error);
  g_autoptr(OwlSchema) query = owl_schema_new_from_string ("{\"required\":[\"room\"]}", &error);
  struct { const char *path; const char *message; } cases[] = {
    { "/ws/game/abc?room=a", "The params do not match the schema: " },
    { "/ws/game/42", "The query does not match the schema: " },
  };

  g_assert_no_error (error);
  owl_test_fixture_add_echo_module_with (fixture, "game", "/ws/game/:id",
                                         "params-schema", params, "query-schema", query, NULL);
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *body = NULL;
      g_autofree char *type = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_assert_cmpuint (get (fixture, cases[i].path, TRUE, &body, &type), ==, SOUP_STATUS_BAD_REQUEST);
      node = owl_test_json_parse (body);
      g_assert_cmpstr (owl_test_json_get_string (node, "code"), ==, "validation");
      g_assert_true (g_str_has_prefix (owl_test_json_get_string (node, "message"), cases[i].message));
    }
  g_assert_cmpuint (owl_test_client_try_connect (fixture, fixture->port, "/ws/game/42?room=a"), ==, 101);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/not-found/same-body", test_not_found_same_body);
  OWL_TEST ("/owl/not-found/root-module", test_not_found_root_module);
  OWL_TEST ("/owl/not-found/root-files", test_not_found_root_files);
  OWL_TEST ("/owl/not-found/schema-grammar", test_schema_refusal_grammar);

  return g_test_run ();
}
