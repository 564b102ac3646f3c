/* owl-broker.c: the broker a service's properties name
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reads OwlSocketService:broker and picks the implementation: the
 * in-process broker (owl-broker-local.c) or, when owlsock was built with
 * hiredis, the Redis one (owlsock/broker/). A URL it does not understand
 * is refused whole, never half-used.
 */

#include "config.h"

#include <string.h>

#include "owl-broker-private.h"
#include "owl-error.h"

#ifdef OWL_HAVE_REDIS
#include "owl-broker-redis-private.h"
#endif

#define EXPECTED "local, redis://HOST:PORT or redis+unix:///PATH"

/* Sets the error that refuses @url; NULL, for the callers to return. */
static gpointer
refuse (GError     **error,
        const char  *url,
        const char  *why)
{
  g_set_error (error, OWL_ERROR, OWL_ERROR_UNSUPPORTED, "The broker \"%s\" %s", url, why);
  return NULL;
}

/* redis://HOST:PORT: "HOST:PORT" ("[V6]:PORT" for an IPv6 address). */
static char *
tcp_address (GUri        *uri,
             const char  *url,
             GError     **error)
{
  const char *host = g_uri_get_host (uri);
  const char *path = g_uri_get_path (uri);

  if (host == NULL || host[0] == '\0' || g_uri_get_port (uri) <= 0)
    return refuse (error, url, "needs a host and a port: redis://HOST:PORT");
  if (path[0] != '\0' && !g_str_equal (path, "/"))
    return refuse (error, url, "selects a database (/DB): owlsock uses database 0 only");
  return g_strdup_printf (strchr (host, ':') ? "[%s]:%d" : "%s:%d", host, g_uri_get_port (uri));
}

/* redis+unix:///PATH: "/PATH". */
static char *
unix_address (GUri        *uri,
              const char  *url,
              GError     **error)
{
  const char *host = g_uri_get_host (uri);
  const char *path = g_uri_get_path (uri);

  if ((host != NULL && host[0] != '\0') || g_uri_get_port (uri) != -1 ||
      path[0] != '/' || path[1] == '\0')
    return refuse (error, url, "needs an absolute socket path: redis+unix:///PATH");
  return g_strdup (path);
}

/* The Redis address of @url ("HOST:PORT" or "/PATH"), or NULL with an
 * error that says what is wrong with it. */
static char *
redis_address (const char  *url,
               GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme;

  if (uri == NULL)
    return refuse (error, url, "is not a URL (" EXPECTED ")");
  scheme = g_uri_get_scheme (uri);
  if (g_uri_get_userinfo (uri) != NULL)
    return refuse (error, url, "carries credentials, which owlsock does not support");
  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    return refuse (error, url, "has a query or a fragment, which owlsock does not support");
  if (g_ascii_strcasecmp (scheme, "redis") == 0)
    return tcp_address (uri, url, error);
  if (g_ascii_strcasecmp (scheme, "redis+unix") == 0)
    return unix_address (uri, url, error);
  return refuse (error, url, "has an unsupported scheme (" EXPECTED ")");
}

OwlBroker *
owl_broker_new_for_service (const char    *url,
                            const char    *prefix,
                            guint          heartbeat_s,
                            const char    *node,
                            GMainContext  *context,
                            GError       **error)
{
  g_autofree char *address = NULL;
  OwlBroker *broker;

  g_return_val_if_fail (node != NULL, NULL);

  if (url == NULL || url[0] == '\0' || g_str_equal (url, "local"))
    {
      broker = owl_broker_new_local ();
      g_free (broker->node);
      broker->node = g_strdup (node);
      return broker;
    }
  address = redis_address (url, error);
  if (address == NULL)
    return NULL;
#ifdef OWL_HAVE_REDIS
  return owl_broker_new_redis (address, prefix, heartbeat_s, node, context);
#else
  return refuse (error, url, "needs Redis: owlsock was built without Redis support");
#endif
}
