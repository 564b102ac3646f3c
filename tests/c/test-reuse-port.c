/* test-reuse-port.c: OwlSocketService:reuse-port, two services on one port
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-checks.h"
#include "owl-test-util.h"

/* The module greets each connection with the name of its service, so a
 * client knows which one took it. */
static void
greet (OwlModule     *module,
       OwlConnection *connection,
       gpointer       user_data)
{
  g_autofree char *text = g_strdup_printf ("{\"type\":\"hello\",\"from\":\"%s\"}", (const char *) user_data);

  g_assert_true (owl_connection_send_text (connection, text, NULL));
}

/* A second service greeting on /ws/hello, listening on @port. */
static OwlSocketService *
second_service (guint16   port,
                gboolean  reuse,
                GError  **error)
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new ("second");
  g_autoptr(OwlModule) module = owl_module_new ("hello", "/ws/hello");

  g_signal_connect (module, "connection", G_CALLBACK (greet), (gpointer) "second");
  g_assert_true (owl_socket_service_add_module (service, module, NULL));
  g_object_set (service, "reuse-port", reuse, NULL);
  if (!owl_socket_service_listen (service, "127.0.0.1", port, error))
    return NULL;
  return g_steal_pointer (&service);
}

/* Both with reuse-port: the second listens on the first one's port, and
 * the kernel hands connections to both (clients connect until each has
 * served one: 64 tries, a chance of 2^-63 that one never gets any). */
static void
test_shared_port (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(OwlSocketService) second = NULL;
  g_autoptr(GError) error = NULL;
  guint first_n = 0, second_n = 0;
  OwlModule *module = owl_test_fixture_add_module (fixture, "hello", "/ws/hello");

  g_signal_connect (module, "connection", G_CALLBACK (greet), (gpointer) "first");
  g_object_set (fixture->service, "reuse-port", TRUE, NULL);
  owl_test_fixture_listen (fixture);
  second = second_service (fixture->port, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (owl_socket_service_get_port (second), ==, fixture->port);

  for (guint i = 0; i < 64 && (first_n == 0 || second_n == 0); i++)
    {
      OwlTestClient *client = owl_test_client_connect (fixture, "/ws/hello");
      g_autoptr(JsonNode) hello = NULL;
      const char *from;

      owl_test_client_wait_texts (client, 1);
      hello = owl_test_json_parse (client->texts->pdata[0]);
      from = owl_test_json_get_string (hello, "from");
      if (g_str_equal (from, "first"))
        first_n++;
      else if (g_str_equal (from, "second"))
        second_n++;
      else
        g_assert_not_reached ();
    }
  g_assert_cmpuint (first_n, >, 0);
  g_assert_cmpuint (second_n, >, 0);
}

/* Without reuse-port on either side, the second listen fails with
 * address-in-use and the first one keeps serving. */
static void
test_refused_without (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  const gboolean first_reuse[] = { FALSE, TRUE, FALSE };
  const gboolean second_reuse[] = { FALSE, FALSE, TRUE };

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  g_object_set (fixture->service, "reuse-port", first_reuse[GPOINTER_TO_UINT (data)], NULL);
  owl_test_fixture_listen (fixture);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OwlSocketService) second = second_service (fixture->port, second_reuse[GPOINTER_TO_UINT (data)],
                                                         &error);

    g_assert_null (second);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  }
  owl_test_assert_echo_works (fixture, "/ws/echo");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/reuse-port/shared", test_shared_port);
  g_test_add ("/owl/reuse-port/refused/neither", OwlTestFixture, GUINT_TO_POINTER (0),
              owl_test_fixture_setup, test_refused_without, owl_test_fixture_teardown);
  g_test_add ("/owl/reuse-port/refused/first-only", OwlTestFixture, GUINT_TO_POINTER (1),
              owl_test_fixture_setup, test_refused_without, owl_test_fixture_teardown);
  g_test_add ("/owl/reuse-port/refused/second-only", OwlTestFixture, GUINT_TO_POINTER (2),
              owl_test_fixture_setup, test_refused_without, owl_test_fixture_teardown);

  return g_test_run ();
}
