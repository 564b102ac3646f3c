/* owl-metrics-private.h: the Prometheus endpoint and who may read it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Served on the service's own server, or on a listener of its own (another
 * address or port, so the public one never shows it). Only the exact path
 * answers (libsoup's handlers match prefixes); a request from an address
 * outside the allow-list gets 403, one without the token 401.
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _OwlMetrics OwlMetrics;

/* The text to serve, newly allocated. */
typedef char *(*OwlMetricsTextFunc) (gpointer user_data);

OwlMetrics *owl_metrics_new        (OwlMetricsTextFunc   func,
                                    gpointer             user_data);
void        owl_metrics_free       (OwlMetrics          *self);

/* NULL: not served. */
void        owl_metrics_set_path   (OwlMetrics          *self,
                                    const char          *path);
const char *owl_metrics_get_path   (OwlMetrics          *self);
/* NULL: no token asked. */
void        owl_metrics_set_token  (OwlMetrics          *self,
                                    const char          *token);
/* Addresses and CIDR ranges ("127.0.0.1", "10.0.0.0/8", "::1", "*" for
 * any). NULL: loopback only on the service's server, anyone on a metrics
 * listener. An entry that does not parse matches nothing (and is warned
 * about once): access fails closed. */
void        owl_metrics_set_allow  (OwlMetrics          *self,
                                    const char * const  *allow);
const char * const *owl_metrics_get_allow (OwlMetrics   *self);

/* The service's own server, or NULL when it has none. Ignored while the
 * endpoint has a listener of its own. */
void        owl_metrics_attach     (OwlMetrics          *self,
                                    SoupServer          *server);
gboolean    owl_metrics_listen     (OwlMetrics          *self,
                                    GSocketAddress      *address,
                                    GError             **error);
guint16     owl_metrics_get_port   (OwlMetrics          *self);

G_END_DECLS
