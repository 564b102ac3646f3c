/* owl-stats.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gio/gio.h>

#include "owl-admission-private.h"
#include "owl-close.h"
#include "owl-stats-private.h"

struct _OwlStats
{
  guint64     accepted;
  OwlCounters *counters;   /* messages and bytes, counted by the channels */
  guint64     dropped;     /* by connections that closed */
  GHashTable *rejected;    /* reason (static string) -> count */
  GHashTable *closes;      /* close label (static string) -> count */
};

OwlStats *
owl_stats_new (void)
{
  OwlStats *stats = g_new0 (OwlStats, 1);

  stats->counters = owl_counters_new ();
  stats->rejected = g_hash_table_new (g_str_hash, g_str_equal);
  /* Every reason from the start, at 0: the snapshot and the metrics show
   * the whole table of refusals, not only those that happened. */
  for (guint i = 0; i < OWL_N_REFUSALS; i++)
    g_hash_table_insert (stats->rejected, (gpointer) owl_refusal_row (i)->reason, GSIZE_TO_POINTER (0));
  stats->closes = g_hash_table_new (g_str_hash, g_str_equal);
  return stats;
}

void
owl_stats_free (OwlStats *stats)
{
  if (stats == NULL)
    return;
  owl_counters_unref (stats->counters);
  g_hash_table_unref (stats->rejected);
  g_hash_table_unref (stats->closes);
  g_free (stats);
}

OwlCounters *
owl_stats_get_counters (OwlStats *stats)
{
  return stats->counters;
}

void
owl_stats_count_accepted (OwlStats *stats)
{
  stats->accepted++;
}

static void
bump (GHashTable *table,
      const char *key)
{
  guint64 n = GPOINTER_TO_SIZE (g_hash_table_lookup (table, key));

  g_hash_table_insert (table, (gpointer) key, GSIZE_TO_POINTER (n + 1));
}

void
owl_stats_count_rejected (OwlStats   *stats,
                          const char *reason)
{
  bump (stats->rejected, reason);
}

void
owl_stats_count_closed (OwlStats *stats,
                        guint     code,
                        guint64   dropped)
{
  bump (stats->closes, owl_stats_close_label (code));
  stats->dropped += dropped;
}

const char *
owl_stats_close_label (guint code)
{
  static const char * const standard[] = {
    "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007",
    "1008", "1009", "1010", "1011", "1012", "1013", "1014", "1015",
  };

  if (code >= 1000 && code <= 1015)
    return standard[code - 1000];
  if (code == OWL_CLOSE_AUTH_EXPIRED)
    return "4001";
  if (code == OWL_CLOSE_PONG_TIMEOUT)
    return "4408";
  if (code >= 3000 && code <= 3999)
    return "3xxx";
  if (code >= 4000 && code <= 4999)
    return "4xxx";
  return "other";
}

static GVariant *
counts_variant (GHashTable *table)
{
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer key, value;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{st}"));
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_variant_builder_add (&builder, "{st}", (const char *) key, (guint64) GPOINTER_TO_SIZE (value));
  return g_variant_builder_end (&builder);
}

GVariant *
owl_stats_snapshot (OwlStats           *stats,
                    const OwlStatsLive *live)
{
  GVariantBuilder builder;
  GVariant *broker;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "connections-open", g_variant_new_uint32 (live->connections_open));
  g_variant_builder_add (&builder, "{sv}", "connections-accepted", g_variant_new_uint64 (stats->accepted));
  g_variant_builder_add (&builder, "{sv}", "messages-in", g_variant_new_uint64 (stats->counters->messages_in));
  g_variant_builder_add (&builder, "{sv}", "messages-out", g_variant_new_uint64 (stats->counters->messages_out));
  g_variant_builder_add (&builder, "{sv}", "bytes-in", g_variant_new_uint64 (stats->counters->bytes_in));
  g_variant_builder_add (&builder, "{sv}", "bytes-out", g_variant_new_uint64 (stats->counters->bytes_out));
  g_variant_builder_add (&builder, "{sv}", "dropped-messages",
                         g_variant_new_uint64 (stats->dropped + live->dropped_open));
  g_variant_builder_add (&builder, "{sv}", "rejected", counts_variant (stats->rejected));
  g_variant_builder_add (&builder, "{sv}", "closes", counts_variant (stats->closes));
  broker = live->broker ? json_gvariant_deserialize (live->broker, "a{sv}", NULL) : NULL;
  if (broker != NULL)
    g_variant_builder_add (&builder, "{sv}", "broker", broker);
  return g_variant_builder_end (&builder);
}

static void
metric (GString    *out,
        const char *name,
        const char *type,
        const char *help)
{
  g_string_append_printf (out, "# HELP owlsock_%s %s\n# TYPE owlsock_%s %s\n", name, help, name, type);
}

static void
metric_counts (GString    *out,
               const char *name,
               const char *label,
               GHashTable *table)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (out, "owlsock_%s{%s=\"%s\"} %" G_GUINT64_FORMAT "\n",
                            name, label, (const char *) key, (guint64) GPOINTER_TO_SIZE (value));
}

static void
metric_pair (GString    *out,
             const char *name,
             guint64     in,
             guint64     out_count)
{
  g_string_append_printf (out, "owlsock_%s{direction=\"in\"} %" G_GUINT64_FORMAT "\n", name, in);
  g_string_append_printf (out, "owlsock_%s{direction=\"out\"} %" G_GUINT64_FORMAT "\n", name, out_count);
}

/* The broker's members that are numbers (or booleans), by name; others
 * are not shown. */
static const struct
{
  const char *member;
  const char *name;
  const char *type;
  const char *help;
} broker_metrics[] = {
  { "connected", "broker_connected", "gauge", "1 while the broker reaches Redis." },
  { "rooms", "broker_rooms", "gauge", "Rooms the broker subscribes to." },
  { "published", "broker_published_total", "counter", "Publications sent to other nodes." },
  { "received", "broker_received_total", "counter", "Publications received from other nodes." },
  { "failed", "broker_failed_total", "counter", "Cross-node deliveries that could not be made." },
  { "reconnects", "broker_reconnects_total", "counter", "Reconnections to Redis." },
};

static void
metric_broker (GString  *out,
               JsonNode *broker)
{
  JsonObject *object = json_node_get_object (broker);
  const char *type = json_object_get_string_member_with_default (object, "type", "unknown");

  metric (out, "broker_info", "gauge", "The broker in use, by type.");
  g_string_append_printf (out, "owlsock_broker_info{type=\"%s\"} 1\n",
                          g_str_equal (type, "redis") ? "redis" : g_str_equal (type, "local") ? "local" : "other");
  for (guint i = 0; i < G_N_ELEMENTS (broker_metrics); i++)
    {
      JsonNode *value = json_object_get_member (object, broker_metrics[i].member);

      if (value == NULL || !JSON_NODE_HOLDS_VALUE (value))
        continue;
      metric (out, broker_metrics[i].name, broker_metrics[i].type, broker_metrics[i].help);
      g_string_append_printf (out, "owlsock_%s %" G_GINT64_FORMAT "\n", broker_metrics[i].name,
                              json_node_get_value_type (value) == G_TYPE_BOOLEAN
                              ? (gint64) json_node_get_boolean (value) : json_node_get_int (value));
    }
}

char *
owl_stats_to_prometheus (OwlStats           *stats,
                         const OwlStatsLive *live)
{
  GString *out = g_string_new (NULL);

  metric (out, "connections_open", "gauge", "Open WebSocket connections.");
  g_string_append_printf (out, "owlsock_connections_open %u\n", live->connections_open);
  metric (out, "connections_accepted_total", "counter", "Accepted WebSocket connections.");
  g_string_append_printf (out, "owlsock_connections_accepted_total %" G_GUINT64_FORMAT "\n", stats->accepted);
  metric (out, "connections_rejected_total", "counter", "Refused upgrades, by reason.");
  metric_counts (out, "connections_rejected_total", "reason", stats->rejected);
  metric (out, "messages_total", "counter", "Messages, by direction.");
  metric_pair (out, "messages_total", stats->counters->messages_in, stats->counters->messages_out);
  metric (out, "bytes_total", "counter", "Message bytes, by direction.");
  metric_pair (out, "bytes_total", stats->counters->bytes_in, stats->counters->bytes_out);
  metric (out, "closes_total", "counter",
          "Closed connections, by close code (3xxx, 4xxx and other for codes clients choose).");
  metric_counts (out, "closes_total", "code", stats->closes);
  metric (out, "dropped_messages_total", "counter", "Messages dropped under backpressure.");
  g_string_append_printf (out, "owlsock_dropped_messages_total %" G_GUINT64_FORMAT "\n",
                          stats->dropped + live->dropped_open);
  if (live->broker != NULL)
    metric_broker (out, live->broker);
  return g_string_free (out, FALSE);
}
