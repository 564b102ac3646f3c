/* owl-access-log-private.h: one log line per connection opened and closed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * With OwlSocketService:access-log, each connection the service accepts
 * gets a structured line at G_LOG_LEVEL_MESSAGE in the log domain
 * "owlsock-access" when it opens and one when it closes. The fields name
 * the connection, its module, the client's address and the user of its
 * OwlAuth; the close line adds the duration, the close code and the
 * messages and bytes each way. Never the request's path or query, headers
 * or token: a token is a credential.
 */

#pragma once

#include "owl-connection.h"

G_BEGIN_DECLS

#define OWL_ACCESS_LOG_DOMAIN "owlsock-access"

void owl_access_log_opened (OwlConnection *connection);
/* @duration_us: since the connection opened. */
void owl_access_log_closed (OwlConnection *connection,
                            guint          code,
                            gint64         duration_us);

G_END_DECLS
