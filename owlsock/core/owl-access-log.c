/* owl-access-log.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-access-log-private.h"
#include "owl-connection-private.h"
#include "owl-request.h"

/* What both lines carry. */
typedef struct
{
  const char *id;
  const char *module;
  const char *peer;
  const char *user;     /* "-" without an OwlAuth */
} Who;

static void
who_init (Who           *who,
          OwlConnection *connection)
{
  OwlAuth *auth = owl_connection_get_auth (connection);
  const char *peer = owl_request_get_remote_host (owl_connection_get_request (connection));

  who->id = owl_connection_get_id (connection);
  who->module = owl_module_get_alias (owl_connection_get_module (connection));
  who->peer = peer != NULL ? peer : "-";
  who->user = auth != NULL ? owl_auth_get_user_id (auth) : "-";
}

/* Logs @message with @who's fields and @extra's. */
static void
emit (const Who       *who,
      const char      *event,
      const char      *message,
      const GLogField *extra,
      gsize            n_extra)
{
  GLogField fields[16] = {
    { "MESSAGE", message, -1 },
    { "PRIORITY", "5", -1 },    /* G_LOG_LEVEL_MESSAGE: notice */
    { "GLIB_DOMAIN", OWL_ACCESS_LOG_DOMAIN, -1 },
    { "OWL_EVENT", event, -1 },
    { "OWL_CONNECTION_ID", who->id, -1 },
    { "OWL_MODULE", who->module, -1 },
    { "OWL_PEER", who->peer, -1 },
    { "OWL_USER", who->user, -1 },
  };
  gsize n = 8;

  g_assert (n + n_extra <= G_N_ELEMENTS (fields));
  for (gsize i = 0; i < n_extra; i++)
    fields[n++] = extra[i];
  g_log_structured_array (G_LOG_LEVEL_MESSAGE, fields, n);
}

void
owl_access_log_opened (OwlConnection *connection)
{
  g_autofree char *message = NULL;
  Who who;

  who_init (&who, connection);
  message = g_strdup_printf ("open %s module=%s peer=%s user=%s", who.id, who.module, who.peer, who.user);
  emit (&who, "open", message, NULL, 0);
}

void
owl_access_log_closed (OwlConnection *connection,
                       guint          code,
                       gint64         duration_us)
{
  const OwlCounters *traffic = owl_channel_get_traffic (owl_connection_get_channel (connection));
  char duration[24], close_code[8], messages_in[24], bytes_in[24], messages_out[24], bytes_out[24];
  const GLogField extra[] = {
    { "OWL_DURATION_MS", duration, -1 },
    { "OWL_CLOSE_CODE", close_code, -1 },
    { "OWL_MESSAGES_IN", messages_in, -1 },
    { "OWL_BYTES_IN", bytes_in, -1 },
    { "OWL_MESSAGES_OUT", messages_out, -1 },
    { "OWL_BYTES_OUT", bytes_out, -1 },
  };
  g_autofree char *message = NULL;
  Who who;

  who_init (&who, connection);
  g_snprintf (duration, sizeof duration, "%" G_GINT64_FORMAT, duration_us / 1000);
  g_snprintf (close_code, sizeof close_code, "%u", code);
  g_snprintf (messages_in, sizeof messages_in, "%" G_GUINT64_FORMAT, traffic->messages_in);
  g_snprintf (bytes_in, sizeof bytes_in, "%" G_GUINT64_FORMAT, traffic->bytes_in);
  g_snprintf (messages_out, sizeof messages_out, "%" G_GUINT64_FORMAT, traffic->messages_out);
  g_snprintf (bytes_out, sizeof bytes_out, "%" G_GUINT64_FORMAT, traffic->bytes_out);
  message = g_strdup_printf ("close %s module=%s peer=%s user=%s duration=%sms code=%s in=%s/%sB out=%s/%sB",
                             who.id, who.module, who.peer, who.user, duration, close_code,
                             messages_in, bytes_in, messages_out, bytes_out);
  emit (&who, "close", message, extra, G_N_ELEMENTS (extra));
}
