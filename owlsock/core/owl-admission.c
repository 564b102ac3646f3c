/* owl-admission.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sys/resource.h>

#include "owl-admission-private.h"
#include "owl-envelope-private.h"
#include "owl-module-private.h"

/* Refusals ------------------------------------------------------------------- */

#define TOO_MANY_REQUESTS 429
#define UPGRADE_REQUIRED  426

static const OwlRefusalRow refusals[OWL_N_REFUSALS] = {
  [OWL_REFUSAL_NOT_FOUND] =
    { "not-found", SOUP_STATUS_NOT_FOUND, OWL_ERROR_NOT_FOUND, "No endpoint at this path" },
  [OWL_REFUSAL_NOT_TEXT] =
    { "not-text", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_MALFORMED, "A parameter is not valid UTF-8 text" },
  [OWL_REFUSAL_STOPPING] =
    { "stopping", SOUP_STATUS_SERVICE_UNAVAILABLE, OWL_ERROR_UNAVAILABLE, "The service is shutting down" },
  [OWL_REFUSAL_MAX_CONNECTIONS] =
    { "max-connections", SOUP_STATUS_SERVICE_UNAVAILABLE, OWL_ERROR_UNAVAILABLE, "Too many connections" },
  [OWL_REFUSAL_MAX_CONNECTIONS_PER_IP] =
    { "max-connections-per-ip", TOO_MANY_REQUESTS, OWL_ERROR_RATE_LIMITED,
      "Too many connections from this address" },
  [OWL_REFUSAL_ORIGIN] =
    { "origin", SOUP_STATUS_FORBIDDEN, OWL_ERROR_FORBIDDEN, "Origin not allowed" },
  [OWL_REFUSAL_NOT_WEBSOCKET] =
    { "not-websocket", UPGRADE_REQUIRED, OWL_ERROR_UNSUPPORTED, "This is a WebSocket endpoint" },
  [OWL_REFUSAL_BAD_HANDSHAKE] =
    { "bad-handshake", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_MALFORMED, "Bad WebSocket handshake" },
  [OWL_REFUSAL_AUTH] =
    { "auth", SOUP_STATUS_UNAUTHORIZED, OWL_ERROR_AUTH_FAILED, "Credentials required" },
  [OWL_REFUSAL_AUTH_TIMEOUT] =
    { "auth-timeout", SOUP_STATUS_SERVICE_UNAVAILABLE, OWL_ERROR_TIMEOUT, "Authentication took too long" },
  [OWL_REFUSAL_MAX_CONNECTIONS_PER_USER] =
    { "max-connections-per-user", TOO_MANY_REQUESTS, OWL_ERROR_RATE_LIMITED,
      "Too many connections for this user" },
  [OWL_REFUSAL_GATE] =
    { "gate", SOUP_STATUS_FORBIDDEN, OWL_ERROR_FORBIDDEN, "Not allowed" },
  [OWL_REFUSAL_SCHEMA] =
    { "schema", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_VALIDATION, "The request does not match the schema" },
  [OWL_REFUSAL_CLIENT_GONE] =
    { "client-gone", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_CLOSED, "The client went away" },
  [OWL_REFUSAL_RECOVER] =
    { "recover", SOUP_STATUS_BAD_REQUEST, OWL_ERROR_VALIDATION, "The recover parameter is not valid" },
};

const OwlRefusalRow *
owl_refusal_row (OwlRefusal refusal)
{
  return &refusals[refusal];
}

guint
owl_refusal_status_for (OwlRefusal    refusal,
                        const GError *error)
{
  if (error != NULL && error->domain == OWL_ERROR)
    switch (error->code)
      {
      case OWL_ERROR_FORBIDDEN:
        return SOUP_STATUS_FORBIDDEN;
      case OWL_ERROR_RATE_LIMITED:
        return TOO_MANY_REQUESTS;
      case OWL_ERROR_UNAVAILABLE:
      case OWL_ERROR_TIMEOUT:
        return SOUP_STATUS_SERVICE_UNAVAILABLE;
      case OWL_ERROR_INTERNAL:
        return SOUP_STATUS_INTERNAL_SERVER_ERROR;
      default:
        break;
      }
  return refusals[refusal].status;
}

void
owl_refusal_answer (SoupServerMessage *msg,
                    guint              status,
                    OwlError           code,
                    const char        *message)
{
  gsize len;
  char *body = owl_envelope_refusal_body (code, message, &len);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, len);
}

void
owl_refusal_answer_not_found (SoupServerMessage *msg)
{
  const OwlRefusalRow *row = &refusals[OWL_REFUSAL_NOT_FOUND];

  owl_refusal_answer (msg, row->status, row->code, row->message);
}

/* Slots ----------------------------------------------------------------------- */

struct _OwlAdmission
{
  guint       n_slots;    /* open connections and upgrades under way */
  GHashTable *per_ip;     /* host -> slots */
  GHashTable *per_user;   /* user id -> slots */
  gint        max_connections;
  gint        max_per_ip;
  gint        max_per_user;
};

OwlAdmission *
owl_admission_new (void)
{
  OwlAdmission *self = g_new0 (OwlAdmission, 1);

  self->per_ip = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->per_user = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
owl_admission_free (OwlAdmission *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->per_ip);
  g_hash_table_unref (self->per_user);
  g_free (self);
}

void
owl_admission_set_limits (OwlAdmission *self,
                          gint          max_connections,
                          gint          max_per_ip,
                          gint          max_per_user)
{
  self->max_connections = max_connections;
  self->max_per_ip = max_per_ip;
  self->max_per_user = max_per_user;
}

static guint
count_in (GHashTable *table,
          const char *key)
{
  return key ? GPOINTER_TO_UINT (g_hash_table_lookup (table, key)) : 0;
}

/* Returns the table's own copy of @key while it counts something (an
 * insert keeps the first copy): what OwlSlots points at. */
static const char *
adjust (GHashTable *table,
        const char *key,
        gint        delta)
{
  guint n = count_in (table, key) + delta;
  gpointer stored = NULL;

  if (n == 0)
    {
      g_hash_table_remove (table, key);
      return NULL;
    }
  g_hash_table_insert (table, g_strdup (key), GUINT_TO_POINTER (n));
  g_hash_table_lookup_extended (table, key, &stored, NULL);
  return stored;
}

/* The host of a slot taken for an unknown address. */
static const char no_host[] = "";

/* The descriptor limit, raised to its hard value by listen(): connections
 * beyond it could not even be accepted, so keep room for the rest of the
 * process. */
static guint
effective_max (OwlAdmission *self)
{
  struct rlimit rl;
  guint max = self->max_connections;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 64)
    max = MIN (max, rl.rlim_cur - 32);
  return max;
}

gboolean
owl_admission_take (OwlAdmission *self,
                    const char   *host,
                    OwlSlots     *slots,
                    OwlRefusal   *refusal)
{
  if (self->n_slots >= effective_max (self))
    {
      *refusal = OWL_REFUSAL_MAX_CONNECTIONS;
      return FALSE;
    }
  if (count_in (self->per_ip, host) >= (guint) self->max_per_ip)
    {
      *refusal = OWL_REFUSAL_MAX_CONNECTIONS_PER_IP;
      return FALSE;
    }

  self->n_slots++;
  slots->host = host ? adjust (self->per_ip, host, +1) : no_host;
  return TRUE;
}

gboolean
owl_admission_take_user (OwlAdmission *self,
                         const char   *user,
                         OwlSlots     *slots)
{
  if (count_in (self->per_user, user) >= (guint) self->max_per_user)
    return FALSE;
  slots->user = adjust (self->per_user, user, +1);
  return TRUE;
}

void
owl_admission_release (OwlAdmission *self,
                       OwlSlots     *slots)
{
  if (slots->host != NULL)
    self->n_slots--;
  if (slots->host != NULL && slots->host != no_host)
    adjust (self->per_ip, slots->host, -1);
  if (slots->user != NULL)
    adjust (self->per_user, slots->user, -1);
  *slots = (OwlSlots) { NULL, NULL };
}

guint
owl_admission_count_user (OwlAdmission *self,
                          const char   *user)
{
  return count_in (self->per_user, user);
}

gboolean
owl_admission_origin_allowed (SoupServerMessage  *msg,
                              OwlModule          *module,
                              const char * const *fallback)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  const char *host = soup_message_headers_get_one (headers, "Host");
  const char *const *allowed = (const char *const *) owl_module_get_allowed_origins (module);

  if (origin == NULL)
    return TRUE;

  if (host != NULL)
    {
      const char *scheme = g_uri_get_scheme (soup_server_message_get_uri (msg));
      g_autofree char *same = g_strdup_printf ("%s://%s", g_strcmp0 (scheme, "https") == 0 ? "https" : "http", host);

      if (g_ascii_strcasecmp (origin, same) == 0)
        return TRUE;
    }

  if (allowed == NULL)
    allowed = fallback;
  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
    if (g_str_equal (allowed[i], "*") || g_ascii_strcasecmp (allowed[i], origin) == 0)
      return TRUE;

  return FALSE;
}
