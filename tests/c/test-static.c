/* test-static.c: owl_socket_service_serve_static(): files from a folder
 * beside the WebSocket endpoints, and nothing outside it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "owl-test-util.h"

#define SECRET "do-not-serve-this"

typedef struct
{
  char *top;      /* a temporary folder: files/ is served, secret.txt is not */
  char *files;
} Tree;

static void
write_file (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
tree_make (Tree *tree)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *link = NULL;
  g_autofree char *inner = NULL;
  g_autofree char *target = NULL;

  tree->top = g_dir_make_tmp ("owl-static-XXXXXX", &error);
  g_assert_no_error (error);
  tree->files = g_build_filename (tree->top, "files", NULL);
  sub = g_build_filename (tree->files, "sub", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  write_file (tree->top, "secret.txt", SECRET);
  write_file (tree->files, "index.html", "<p>index</p>");
  write_file (tree->files, "app.js", "export const x = 1;");
  write_file (tree->files, "style.css", "p {}");
  write_file (tree->files, "data.json", "{}");
  write_file (tree->files, "image.png", "\x89PNG");
  write_file (tree->files, "notes.bin", "?");
  write_file (tree->files, ".hidden", SECRET);
  write_file (sub, "page.html", "<p>sub</p>");

  /* A link out of the folder, and one that stays inside. */
  target = g_build_filename (tree->top, "secret.txt", NULL);
  link = g_build_filename (tree->files, "out.txt", NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);
  inner = g_build_filename (tree->files, "in.js", NULL);
  g_assert_cmpint (symlink ("app.js", inner), ==, 0);
  g_free (link);
  link = g_build_filename (tree->files, "up", NULL);
  g_assert_cmpint (symlink ("..", link), ==, 0);
}

static void
tree_remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        tree_remove_dir (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static void
tree_free (Tree *tree)
{
  tree_remove_dir (tree->top);
  g_free (tree->top);
  g_free (tree->files);
}

/* Raw HTTP, so that nothing normalises the path on the way: a thread
 * writes @request and reads the whole answer while the main context
 * serves it. */
typedef struct
{
  guint16   port;
  char     *request;
  GString  *answer;
  gboolean  done;
} RawHttp;

static gpointer
raw_http_thread (gpointer data)
{
  RawHttp *raw = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  char buffer[4096];
  gssize n;

  g_socket_client_set_timeout (client, 10);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", raw->port, NULL, NULL);
  if (connection != NULL &&
      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                 raw->request, strlen (raw->request), NULL, NULL, NULL))
    while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                     buffer, sizeof buffer, NULL, NULL)) > 0)
      g_string_append_len (raw->answer, buffer, n);
  g_atomic_int_set (&raw->done, TRUE);
  return NULL;
}

/* The whole answer to "METHOD TARGET HTTP/1.1" (the connection closed). */
static char *
raw_http (guint16     port,
          const char *method,
          const char *target)
{
  RawHttp raw = { port, NULL, g_string_new (NULL), FALSE };
  GThread *thread;

  raw.request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                 "Content-Length: 0\r\n\r\n", method, target);
  thread = g_thread_new ("raw-http", raw_http_thread, &raw);
  OWL_TEST_WAIT_FOR (g_atomic_int_get (&raw.done));
  g_thread_join (thread);
  g_free (raw.request);
  return g_string_free (raw.answer, FALSE);
}

static guint
status_of (const char *answer)
{
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 "));
  return (guint) g_ascii_strtoull (answer + 9, NULL, 10);
}

static void
assert_header (const char *answer,
               const char *line)
{
  g_autofree char *head = g_strndup (answer, strstr (answer, "\r\n\r\n") - answer);

  if (strstr (head, line) == NULL)
    g_error ("'%s' not in:\n%s", line, head);
}

static const char *
body_of (const char *answer)
{
  const char *end = strstr (answer, "\r\n\r\n");

  g_assert_nonnull (end);
  return end + 4;
}

static void
listen_with_files (OwlTestFixture *fixture,
                   Tree           *tree,
                   const char     *prefix)
{
  g_autoptr(GError) error = NULL;

  tree_make (tree);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_assert_true (owl_socket_service_serve_static (fixture->service, prefix, tree->files, &error));
  g_assert_no_error (error);
  owl_test_fixture_listen (fixture);
}

static void
assert_served (guint16     port,
               const char *target,
               const char *type,
               const char *body)
{
  g_autofree char *answer = raw_http (port, "GET", target);

  g_assert_cmpuint (status_of (answer), ==, 200);
  assert_header (answer, type);
  assert_header (answer, "X-Content-Type-Options: nosniff");
  g_assert_cmpstr (body_of (answer), ==, body);
}

/* Each extension gets its Content-Type; a folder answers with its
 * index.html; a link that stays inside is followed. */
static void
test_static_types (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  char *answer = NULL;
  Tree tree;

  listen_with_files (fixture, &tree, "/demo");
  assert_served (fixture->port, "/demo/index.html", "Content-Type: text/html; charset=utf-8", "<p>index</p>");
  assert_served (fixture->port, "/demo/", "Content-Type: text/html; charset=utf-8", "<p>index</p>");
  assert_served (fixture->port, "/demo", "Content-Type: text/html; charset=utf-8", "<p>index</p>");
  assert_served (fixture->port, "/demo/app.js", "Content-Type: text/javascript; charset=utf-8",
                 "export const x = 1;");
  assert_served (fixture->port, "/demo/in.js", "Content-Type: text/javascript; charset=utf-8",
                 "export const x = 1;");
  assert_served (fixture->port, "/demo/style.css", "Content-Type: text/css; charset=utf-8", "p {}");
  assert_served (fixture->port, "/demo/data.json", "Content-Type: application/json", "{}");
  assert_served (fixture->port, "/demo/image.png", "Content-Type: image/png", "\x89PNG");
  assert_served (fixture->port, "/demo/notes.bin", "Content-Type: application/octet-stream", "?");
  assert_served (fixture->port, "/demo/sub/page.html", "Content-Type: text/html; charset=utf-8",
                 "<p>sub</p>");
  /* Beside the prefix, and above it: not the files. */
  g_free (answer);
  answer = raw_http (fixture->port, "GET", "/demox/app.js");
  g_assert_cmpuint (status_of (answer), ==, 404);
  g_free (answer);
  answer = raw_http (fixture->port, "GET", "/demo/../secret.txt");
  g_assert_cmpuint (status_of (answer), ==, 404);
  g_assert_null (strstr (answer, SECRET));
  g_free (answer);
  tree_free (&tree);
}

static void
assert_not_found (guint16     port,
                  const char *target)
{
  g_autofree char *answer = raw_http (port, "GET", target);
  g_autoptr(JsonNode) body = NULL;

  g_test_message ("GET %s -> %.*s", target, (int) strcspn (answer, "\r"), answer);
  g_assert_null (strstr (answer, SECRET));
  /* libsoup refuses some escapes itself (NUL, and "/" after ".."), with 400. */
  if ((strstr (target, "%00") != NULL || strcasestr (target, "%2f") != NULL) &&
      status_of (answer) == 400)
    return;
  g_assert_cmpuint (status_of (answer), ==, 404);
  assert_header (answer, "Content-Type: application/json");
  body = owl_test_json_parse (body_of (answer));
  g_assert_cmpstr (owl_test_json_get_string (body, "code"), ==, "not-found");
  g_assert_cmpstr (owl_test_json_get_string (body, "message"), ==, "No file at this path");
}

/* Nothing outside the folder, no listing, no hidden file (the files at
 * "/", so that every path reaches them); the WebSocket endpoint beside
 * them keeps working. */
static void
test_static_outside (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  static const char *targets[] = {
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
    "/out.txt", "/up/secret.txt", "/.hidden", "/%2ehidden",
    "/app.js%00.png", "/sub", "//app.js", "/missing.html", "/sub/.",
  };
  Tree tree;

  listen_with_files (fixture, &tree, "/");
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    assert_not_found (fixture->port, targets[i]);
  owl_test_client_connect (fixture, "/ws/echo");
  tree_free (&tree);
}

/* GET only: other methods get 405 with Allow; a WebSocket path still
 * upgrades when the files sit at "/". */
static void
test_static_methods (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  static const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };
  Tree tree;

  listen_with_files (fixture, &tree, "/");
  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autofree char *answer = raw_http (fixture->port, methods[i], "/app.js");

      g_assert_cmpuint (status_of (answer), ==, 405);
      assert_header (answer, "Allow: GET");
    }
  assert_served (fixture->port, "/app.js", "Content-Type: text/javascript; charset=utf-8",
                 "export const x = 1;");
  assert_served (fixture->port, "/", "Content-Type: text/html; charset=utf-8", "<p>index</p>");
  assert_not_found (fixture->port, "/%2e%2e/secret.txt");
  owl_test_client_connect (fixture, "/ws/echo");
  tree_free (&tree);
}

/* Bad prefixes and folders are refused; NULL stops serving. */
static void
test_static_arguments (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  Tree tree;

  listen_with_files (fixture, &tree, "/demo");
  g_assert_false (owl_socket_service_serve_static (fixture->service, "demo", tree.files, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (owl_socket_service_serve_static (fixture->service, "/demo/", tree.files, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (owl_socket_service_serve_static (fixture->service, "/ws/echo", tree.files, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (owl_socket_service_serve_static (fixture->service, "/x", "/nonexistent/folder", &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The failures left the files served. */
  assert_served (fixture->port, "/demo/app.js", "Content-Type: text/javascript; charset=utf-8",
                 "export const x = 1;");
  g_assert_true (owl_socket_service_serve_static (fixture->service, "/demo", NULL, &error));
  g_assert_no_error (error);
  answer = raw_http (fixture->port, "GET", "/demo/app.js");
  g_assert_cmpuint (status_of (answer), ==, 404);
  tree_free (&tree);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/static/types", test_static_types);
  OWL_TEST ("/owl/static/outside", test_static_outside);
  OWL_TEST ("/owl/static/methods", test_static_methods);
  OWL_TEST ("/owl/static/arguments", test_static_arguments);

  return g_test_run ();
}
