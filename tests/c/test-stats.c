/* test-stats.c: the statistics snapshot and the /metrics endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-util.h"

static guint64
stat_u64 (GVariant   *stats,
          const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (stats, key, NULL);

  g_assert_nonnull (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  return g_variant_get_uint64 (value);
}

static guint64
stat_count (GVariant   *stats,
            const char *dict,
            const char *key)
{
  g_autoptr(GVariant) counts = g_variant_lookup_value (stats, dict, G_VARIANT_TYPE ("a{st}"));
  guint64 n = 0;

  g_assert_nonnull (counts);
  g_variant_lookup (counts, key, "t", &n);
  return n;
}

/* The value of one sample line `name{labels} value` of the metrics text. */
static guint64
metric_value (const char *text,
              const char *sample)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], sample) && lines[i][strlen (sample)] == ' ')
        return g_ascii_strtoull (lines[i] + strlen (sample) + 1, NULL, 10);
    }
  g_test_message ("metrics:\n%s", text);
  g_assert_not_reached ();
  return 0;
}

/* Every event the statistics count, once each, then the same numbers in
 * the snapshot and through /metrics. */
static void
test_stats_count (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *metrics = NULL;
  OwlTestClient *client;
  OwlTestClient *foreign;
  OwlConnection *conn;

  g_object_set (fixture->service, "metrics-path", "/metrics", NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  owl_test_client_send (client, "{\"type\":\"x\",\"n\":1}");
  owl_test_client_send (client, "{\"type\":\"x\",\"n\":2}");
  owl_test_client_wait_texts (client, 2);

  /* Refused: a path the module's pattern does not match (under its prefix,
   * so owlsock answers it, not libsoup) and a foreign origin. */
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/ws/echo/extra", TRUE, NULL), ==, 404);
  foreign = owl_test_client_connect_begin (fixture, fixture->port, "/ws/echo", "http://evil.example");
  owl_test_client_wait_done (foreign);
  g_assert_nonnull (foreign->connect_error);

  soup_websocket_connection_close (client->ws, 4000, "bye");
  owl_test_record_wait_closed (conn);

  stats = owl_socket_service_dup_stats (fixture->service);
  printed = g_variant_print (stats, TRUE);
  g_test_message ("stats: %s", printed);
  g_assert_cmpuint (stat_u64 (stats, "connections-open"), ==, 0);
  g_assert_cmpuint (stat_u64 (stats, "connections-accepted"), ==, 1);
  g_assert_cmpuint (stat_u64 (stats, "messages-in"), ==, 2);
  g_assert_cmpuint (stat_u64 (stats, "messages-out"), ==, 2);
  g_assert_cmpuint (stat_u64 (stats, "bytes-in"), ==, 2 * strlen ("{\"type\":\"x\",\"n\":1}"));
  g_assert_cmpuint (stat_u64 (stats, "bytes-out"), ==, 2 * strlen ("{\"type\":\"x\",\"n\":1}"));
  g_assert_cmpuint (stat_u64 (stats, "dropped-messages"), ==, 0);
  g_assert_cmpuint (stat_count (stats, "rejected", "not-found"), ==, 1);
  g_assert_cmpuint (stat_count (stats, "rejected", "origin"), ==, 1);
  g_assert_cmpuint (stat_count (stats, "closes", "4000"), ==, 1);

  /* The same through HTTP, in Prometheus' text format. */
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/metrics", FALSE, &metrics), ==, 200);
  g_assert_true (strstr (metrics, "# TYPE owlsock_connections_accepted_total counter") != NULL);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_open"), ==, 0);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_accepted_total"), ==, 1);
  g_assert_cmpuint (metric_value (metrics, "owlsock_messages_total{direction=\"in\"}"), ==, 2);
  g_assert_cmpuint (metric_value (metrics, "owlsock_messages_total{direction=\"out\"}"), ==, 2);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_rejected_total{reason=\"origin\"}"), ==, 1);
  g_assert_cmpuint (metric_value (metrics, "owlsock_closes_total{code=\"4000\"}"), ==, 1);
  g_assert_cmpuint (metric_value (metrics, "owlsock_dropped_messages_total"), ==, 0);
}

/* Without metrics-path, the service serves no /metrics. */
static void
test_stats_no_endpoint (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/metrics", FALSE, NULL), ==, 404);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/stats/count", test_stats_count);
  OWL_TEST ("/owl/stats/no-endpoint", test_stats_no_endpoint);

  return g_test_run ();
}
