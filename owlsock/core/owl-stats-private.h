/* owl-stats-private.h: the service's counters, as a snapshot and as
 * Prometheus text
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every label value comes from a fixed set: rejection reasons are static
 * strings of owlsock's, and close codes, which clients choose, are put in
 * buckets (owl_stats_close_label()), so no client can grow the number of
 * series.
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "owl-channel-private.h"

G_BEGIN_DECLS

typedef struct _OwlStats OwlStats;

/* What only the service knows at the time of a snapshot. */
typedef struct
{
  guint     connections_open;
  guint64   dropped_open;    /* dropped by connections still open */
  JsonNode *broker;          /* the broker's object (add_stats), or NULL */
} OwlStatsLive;

OwlStats   *owl_stats_new             (void);
void        owl_stats_free            (OwlStats           *stats);

/* Messages and bytes in and out: the channels of every connection count
 * there (not owned). */
OwlCounters *owl_stats_get_counters   (OwlStats           *stats);
void        owl_stats_count_accepted  (OwlStats           *stats);
/* @reason: the reason of a row of owl-admission's refusals (a static
 * string); the snapshot lists every row's from the start. */
void        owl_stats_count_rejected  (OwlStats           *stats,
                                       const char         *reason);
void        owl_stats_count_closed    (OwlStats           *stats,
                                       guint               code,
                                       guint64             dropped);

/* "1000" to "1015" and owlsock's "4001" and "4408" as they are; other
 * codes a client may send as "3xxx" (3000-3999, registered), "4xxx"
 * (4000-4999, private use) or "other". */
const char *owl_stats_close_label     (guint               code);

/* `a{sv}`, floating: see owl_socket_service_dup_stats(). */
GVariant   *owl_stats_snapshot        (OwlStats           *stats,
                                       const OwlStatsLive *live);
char       *owl_stats_to_prometheus   (OwlStats           *stats,
                                       const OwlStatsLive *live);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlStats, owl_stats_free)

G_END_DECLS
