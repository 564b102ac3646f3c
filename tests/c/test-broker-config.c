/* test-broker-config.c: the broker properties of OwlSocketService, the
 * URLs listen() refuses, and the broker in the statistics
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "owl-test-checks.h"
#include "owl-test-util.h"
#include "owl-socket-service-private.h"
#include "owl-stats-private.h"

/* The defaults of the spec; NULL and "" restore them; a notify only when a
 * value changes. */
static void
test_defaults (OwlTestFixture *fixture,
               gconstpointer   data)
{
  g_autofree char *broker = NULL, *prefix = NULL, *node = NULL;
  g_autofree char *expected = g_strdup_printf ("%s-%d", g_get_host_name (), (int) getpid ());
  guint heartbeat = 0, n_notify = 0;
  gboolean reuse = TRUE;

  g_object_get (fixture->service, "broker", &broker, "broker-prefix", &prefix, "broker-heartbeat", &heartbeat,
                "node-name", &node, "reuse-port", &reuse, NULL);
  g_assert_null (broker);
  g_assert_cmpstr (prefix, ==, "owlsock");
  g_assert_cmpuint (heartbeat, ==, 5);
  g_assert_cmpstr (node, ==, expected);
  g_assert_false (reuse);

  g_signal_connect (fixture->service, "notify", G_CALLBACK (owl_test_count_notify), &n_notify);
  g_object_set (fixture->service, "broker-prefix", "app", "node-name", "n1", "broker-heartbeat", 2, NULL);
  g_assert_cmpuint (n_notify, ==, 3);
  g_object_set (fixture->service, "broker-prefix", "app", "node-name", "n1", "broker-heartbeat", 2, NULL);
  g_assert_cmpuint (n_notify, ==, 3);
  g_object_set (fixture->service, "broker-prefix", "", "node-name", NULL, NULL);
  g_clear_pointer (&prefix, g_free);
  g_clear_pointer (&node, g_free);
  g_object_get (fixture->service, "broker-prefix", &prefix, "node-name", &node, NULL);
  g_assert_cmpstr (prefix, ==, "owlsock");
  g_assert_cmpstr (node, ==, expected);
  g_assert_cmpuint (n_notify, ==, 5);
}

static const char * const bad_urls[] = {
  "http://127.0.0.1:6379",          /* another scheme */
  "redis://127.0.0.1",              /* no port */
  "redis://:6379",                  /* no host */
  "redis://127.0.0.1:6379/2",       /* a database */
  "redis://user:secret@127.0.0.1:6379",
  "redis://127.0.0.1:6379?db=1",
  "redis+unix://host/run/redis.sock",
  "redis+unix://",
  "not a url",
  "redis://[::1:6379",
};

/* Each bad URL: listen fails with `unsupported` and a message naming it,
 * nothing listens; then "local" listens and serves. */
static void
test_bad_urls (OwlTestFixture *fixture,
               gconstpointer   data)
{
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("broker %s", bad_urls[i]);
      g_object_set (fixture->service, "broker", bad_urls[i], NULL);
      g_assert_false (owl_socket_service_listen (fixture->service, "127.0.0.1", 0, &error));
      g_assert_error (error, OWL_ERROR, OWL_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, bad_urls[i]));
      g_assert_cmpuint (owl_socket_service_get_port (fixture->service), ==, 0);
      g_assert_null (owl_socket_service_get_server (fixture->service));
    }
  g_object_set (fixture->service, "broker", "local", NULL);
  owl_test_fixture_listen (fixture);
  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* listen_socket() and attach() build the broker too. */
static void
test_other_entries (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_socket_bind (socket, address, TRUE, NULL));
  g_assert_true (g_socket_listen (socket, NULL));
  g_object_set (fixture->service, "broker", "redis://127.0.0.1:6379/1", NULL);
  g_assert_false (owl_socket_service_listen_socket (fixture->service, socket, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (owl_socket_service_attach (fixture->service, server, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_UNSUPPORTED);
  g_assert_null (owl_socket_service_get_server (fixture->service));
}

/* Without hiredis, a good Redis URL (a trailing "/" is no database, the
 * scheme is case-insensitive) is refused with a message that says why;
 * with it, the service builds the Redis broker (its statistics say). */
static void
test_redis_support (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  static const char * const urls[] = {
    "redis://127.0.0.1:1", "redis://[::1]:1", "redis://localhost:1/", "REDIS://127.0.0.1:1",
    "redis+unix:///nonexistent/redis.sock",
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
      g_autoptr(GError) error = NULL;
      gboolean ok;

      g_object_set (service, "broker", urls[i], NULL);
      ok = owl_socket_service_listen (service, "127.0.0.1", 0, &error);
#ifdef OWL_HAVE_REDIS
      {
        g_autoptr(GVariant) stats = owl_socket_service_dup_stats (service);
        g_autoptr(GVariant) broker = g_variant_lookup_value (stats, "broker", G_VARIANT_TYPE_VARDICT);
        const char *type = NULL;

        g_assert_no_error (error);
        g_assert_true (ok);
        g_assert_true (g_variant_lookup (broker, "type", "&s", &type));
        g_assert_cmpstr (type, ==, "redis");
      }
#else
      g_assert_false (ok);
      g_assert_error (error, OWL_ERROR, OWL_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "owlsock was built without Redis support"));
#endif
    }
}

/* The node name reaches the broker at listen. */
static void
test_node_name (OwlTestFixture *fixture,
                gconstpointer   data)
{
  g_object_set (fixture->service, "node-name", "node-a", NULL);
  g_assert_cmpstr (fixture->service->broker->node, !=, "node-a");
  owl_test_fixture_listen (fixture);
  g_assert_cmpstr (fixture->service->broker->node, ==, "node-a");
}

/* A broker change while a room has a member is refused at the next
 * listen, and the room keeps working; once the room is empty it applies. */
static void
test_change_with_members (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  OwlTestClient *client;
  OwlConnection *conn;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  owl_connection_join (conn, "lobby");

  g_object_set (fixture->service, "node-name", "renamed", NULL);
  g_assert_false (owl_socket_service_listen (fixture->service, "127.0.0.1", 0, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "lobby"));
  owl_socket_service_broadcast_text (fixture->service, "lobby", "{\"type\":\"news\"}", NULL);
  owl_test_client_wait_texts (client, 1);
  g_assert_nonnull (strstr (client->texts->pdata[0], "news"));

  owl_connection_leave (conn, "lobby");
  g_clear_error (&error);
  g_assert_true (owl_socket_service_listen (fixture->service, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fixture->service->broker->node, ==, "renamed");
}

/* The broker's object in dup_stats() and the metrics. */
static void
test_stats (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (fixture->service);
  g_autoptr(GVariant) broker = g_variant_lookup_value (stats, "broker", G_VARIANT_TYPE_VARDICT);
  g_autofree char *metrics = owl_socket_service_dup_metrics (fixture->service);
  const char *type = NULL;

  g_assert_nonnull (broker);
  g_assert_true (g_variant_lookup (broker, "type", "&s", &type));
  g_assert_cmpstr (type, ==, "local");
  g_assert_nonnull (strstr (metrics, "\nowlsock_broker_info{type=\"local\"} 1\n"));
}

/* A broker's counters (as the Redis broker adds them) become
 * owlsock_broker_* samples; members that are not numbers, or unknown,
 * do not; a type owlsock does not know is "other". */
static void
test_metrics_mapping (void)
{
  g_autoptr(OwlStats) stats = owl_stats_new ();
  g_autoptr(JsonNode) broker = owl_test_json_parse ("{\"type\":\"weird\\\"}\",\"connected\":true,"
                                                    "\"published\":3,\"received\":4,\"failed\":5,"
                                                    "\"reconnects\":6,\"rooms\":7,\"secret\":8,"
                                                    "\"failed-text\":\"x\"}");
  OwlStatsLive live = { 0, 0, broker };
  g_autofree char *text = owl_stats_to_prometheus (stats, &live);
  g_autoptr(GVariant) snapshot = g_variant_ref_sink (owl_stats_snapshot (stats, &live));
  g_autoptr(GVariant) dict = g_variant_lookup_value (snapshot, "broker", G_VARIANT_TYPE_VARDICT);
  gint64 failed = 0;

  g_assert_nonnull (strstr (text, "\nowlsock_broker_info{type=\"other\"} 1\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_connected 1\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_published_total 3\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_received_total 4\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_failed_total 5\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_reconnects_total 6\n"));
  g_assert_nonnull (strstr (text, "\nowlsock_broker_rooms 7\n"));
  g_assert_null (strstr (text, "secret"));
  g_assert_null (strstr (text, "weird"));
  g_assert_true (g_variant_lookup (dict, "failed", "x", &failed));
  g_assert_cmpint (failed, ==, 5);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/broker-config/defaults", test_defaults);
  OWL_TEST ("/owl/broker-config/bad-urls", test_bad_urls);
  OWL_TEST ("/owl/broker-config/other-entries", test_other_entries);
  OWL_TEST ("/owl/broker-config/redis-support", test_redis_support);
  OWL_TEST ("/owl/broker-config/node-name", test_node_name);
  OWL_TEST ("/owl/broker-config/change-with-members", test_change_with_members);
  OWL_TEST ("/owl/broker-config/stats", test_stats);
  g_test_add_func ("/owl/broker-config/metrics-mapping", test_metrics_mapping);

  return g_test_run ();
}
