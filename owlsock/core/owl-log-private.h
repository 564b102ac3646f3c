/* owl-log-private.h: log lines about one connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Structured logging with the connection id as a field; formats nothing when
 * the default writer would drop the line. */
#define OWL_CONN_LOG(level, conn_id, ...)                                  \
  G_STMT_START {                                                           \
    if ((level) != G_LOG_LEVEL_DEBUG ||                                    \
        !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN)) \
      g_log_structured (G_LOG_DOMAIN, (level),                             \
                        "OWL_CONNECTION_ID", (conn_id),                    \
                        "MESSAGE", __VA_ARGS__);                           \
  } G_STMT_END

G_END_DECLS
