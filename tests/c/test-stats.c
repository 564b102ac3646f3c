/* test-stats.c: the statistics snapshot and the /metrics endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-util.h"
#include "owl-admission-private.h"
#include "owl-stats-private.h"

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
  g_assert_cmpuint (stat_count (stats, "closes", "4xxx"), ==, 1);

  /* The same through HTTP, in Prometheus' text format. */
  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/metrics", FALSE, &metrics), ==, 200);
  g_assert_true (strstr (metrics, "# TYPE owlsock_connections_accepted_total counter") != NULL);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_open"), ==, 0);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_accepted_total"), ==, 1);
  g_assert_cmpuint (metric_value (metrics, "owlsock_messages_total{direction=\"in\"}"), ==, 2);
  g_assert_cmpuint (metric_value (metrics, "owlsock_messages_total{direction=\"out\"}"), ==, 2);
  g_assert_cmpuint (metric_value (metrics, "owlsock_connections_rejected_total{reason=\"origin\"}"), ==, 1);
  g_assert_cmpuint (metric_value (metrics, "owlsock_closes_total{code=\"4xxx\"}"), ==, 1);
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

/* A new service lists every reason of the refusal table, each at 0, in
 * the snapshot and in the metrics: the set docs/check-stats-reasons.py
 * compares with README.md and the dup_stats reference. */
static void
test_stats_reasons (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (fixture->service);
  g_autoptr(GVariant) rejected = g_variant_lookup_value (stats, "rejected", G_VARIANT_TYPE ("a{st}"));
  g_autofree char *metrics = owl_socket_service_dup_metrics (fixture->service);

  g_assert_cmpuint (g_variant_n_children (rejected), ==, OWL_N_REFUSALS);
  for (guint i = 0; i < OWL_N_REFUSALS; i++)
    {
      const char *reason = owl_refusal_row (i)->reason;
      g_autofree char *sample = g_strdup_printf ("owlsock_connections_rejected_total{reason=\"%s\"}", reason);
      guint64 n = G_MAXUINT64;

      g_assert_true (g_variant_lookup (rejected, reason, "t", &n));
      g_assert_cmpuint (n, ==, 0);
      g_assert_cmpuint (metric_value (metrics, sample), ==, 0);
    }
}

/* Clients choose close codes: whatever they send, the label is one of a
 * fixed set, so they cannot make a series per code. */
static void
test_stats_close_buckets (void)
{
  g_autoptr(GHashTable) labels = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint code = 0; code <= G_MAXUINT16; code++)
    g_hash_table_add (labels, (gpointer) owl_stats_close_label (code));
  g_assert_cmpuint (g_hash_table_size (labels), ==, 16 + 2 + 3);

  g_assert_cmpstr (owl_stats_close_label (1000), ==, "1000");
  g_assert_cmpstr (owl_stats_close_label (1015), ==, "1015");
  g_assert_cmpstr (owl_stats_close_label (4001), ==, "4001");
  g_assert_cmpstr (owl_stats_close_label (4408), ==, "4408");
  g_assert_cmpstr (owl_stats_close_label (3000), ==, "3xxx");
  g_assert_cmpstr (owl_stats_close_label (4999), ==, "4xxx");
  g_assert_cmpstr (owl_stats_close_label (1016), ==, "other");
  g_assert_cmpstr (owl_stats_close_label (5000), ==, "other");
}

/* Many clients closing with as many codes make two series, not many. */
static void
test_stats_close_codes (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  g_autofree char *metrics = NULL;

  g_object_set (fixture->service, "metrics-path", "/metrics", NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  for (guint i = 0; i < 20; i++)
    {
      OwlTestClient *client = owl_test_client_connect (fixture, "/ws/echo");

      soup_websocket_connection_close (client->ws, (i % 2 ? 3000 : 4000) + 37 * i, NULL);
      owl_test_client_wait_closed (client);
      owl_test_client_free (client);
    }
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 0);

  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/metrics", FALSE, &metrics), ==, 200);
  g_assert_cmpuint (metric_value (metrics, "owlsock_closes_total{code=\"3xxx\"}"), ==, 10);
  g_assert_cmpuint (metric_value (metrics, "owlsock_closes_total{code=\"4xxx\"}"), ==, 10);
  g_assert_null (strstr (metrics, "code=\"40"));
}

static guint
get_metrics (OwlTestFixture *fixture,
             guint16         port,
             const char     *path,
             const char     *authorization)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new_from_uri ("GET", parsed);
  g_autofree char *body = NULL;
  guint status;

  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
  status = owl_test_http_send (fixture->session, msg, FALSE, &body);
  if (status == 200)
    g_assert_nonnull (strstr (body, "owlsock_connections_open "));
  else
    g_assert_null (strstr (body ? body : "", "owlsock_"));
  return status;
}

/* Only the exact path: libsoup hands the handler everything below it. */
static void
test_metrics_exact_path (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  static const char *others[] = { "/metrics/", "/metrics/x", "/metrics%2f", "/metrics%2F", "/metricsx" };

  g_object_set (fixture->service, "metrics-path", "/metrics", NULL);
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 200);
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    g_assert_cmpuint (get_metrics (fixture, fixture->port, others[i], NULL), ==, 404);
}

static void
test_metrics_token (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_object_set (fixture->service, "metrics-path", "/metrics", "metrics-token", "s3cret-t0ken", NULL);
  owl_test_fixture_listen (fixture);

  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 401);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", "Bearer nope"), ==, 401);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", "Bearer s3cret-t0ke"), ==, 401);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", "Bearer s3cret-t0ken!"), ==, 401);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", "Basic s3cret-t0ken"), ==, 401);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", "Bearer s3cret-t0ken"), ==, 200);
}

/* The client here is 127.0.0.1: a list without it refuses, one with it (or
 * "*") lets in, and an entry that does not parse matches nothing. */
static void
test_metrics_allow (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  const char *elsewhere[] = { "10.0.0.0/8", "::1", NULL };
  const char *here[] = { "10.0.0.0/8", "127.0.0.0/8", NULL };
  const char *any[] = { "*", NULL };
  const char *bad[] = { "127.0.0.1/99", NULL };

  g_object_set (fixture->service, "metrics-path", "/metrics", NULL);
  owl_test_fixture_listen (fixture);

  /* By default, loopback only on the service's server: allowed here. */
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 200);
  g_object_set (fixture->service, "metrics-allow", elsewhere, NULL);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 403);
  g_object_set (fixture->service, "metrics-allow", here, NULL);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 200);
  g_object_set (fixture->service, "metrics-allow", any, NULL);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 200);
  owl_test_expect_warning ("'127.0.0.1/99' is not an address or a CIDR range");
  g_object_set (fixture->service, "metrics-allow", bad, NULL);
  owl_test_assert_expected_warnings ();
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 403);
}

/* A listener of its own: the public one no longer shows the metrics. */
static void
test_metrics_listener (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  guint16 port;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  g_assert_true (owl_socket_service_listen_metrics (fixture->service, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = owl_socket_service_get_metrics_port (fixture->service);
  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpuint (port, !=, fixture->port);

  g_assert_cmpuint (get_metrics (fixture, port, "/metrics", NULL), ==, 200);
  g_assert_cmpuint (get_metrics (fixture, fixture->port, "/metrics", NULL), ==, 404);
  g_assert_false (owl_socket_service_listen_metrics (fixture->service, "127.0.0.1", 0, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);

  /* The WebSocket side is unchanged. */
  owl_test_client_connect (fixture, "/ws/echo");
}

int
main (int   argc,
      char *argv[])
{
  owl_test_capture_logs ();
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/stats/count", test_stats_count);
  OWL_TEST ("/owl/stats/no-endpoint", test_stats_no_endpoint);
  OWL_TEST ("/owl/stats/reasons", test_stats_reasons);
  g_test_add_func ("/owl/stats/close-buckets", test_stats_close_buckets);
  OWL_TEST ("/owl/stats/close-codes", test_stats_close_codes);
  OWL_TEST ("/owl/stats/metrics/exact-path", test_metrics_exact_path);
  OWL_TEST ("/owl/stats/metrics/token", test_metrics_token);
  OWL_TEST ("/owl/stats/metrics/allow", test_metrics_allow);
  OWL_TEST ("/owl/stats/metrics/listener", test_metrics_listener);

  return g_test_run ();
}
