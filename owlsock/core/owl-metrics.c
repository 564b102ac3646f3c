/* owl-metrics.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <gnutls/gnutls.h>

#include "owl-admission-private.h"
#include "owl-metrics-private.h"

struct _OwlMetrics
{
  OwlMetricsTextFunc func;
  gpointer           user_data;
  char              *path;
  char              *token;
  GStrv              allow;
  GPtrArray         *masks;       /* GInetAddressMask, from @allow */
  gboolean           any;         /* "*" is on the list */
  SoupServer        *attached;    /* the service's own server (not owned) */
  SoupServer        *own;         /* a listener of its own */
  guint16            port;
};

OwlMetrics *
owl_metrics_new (OwlMetricsTextFunc func,
                 gpointer           user_data)
{
  OwlMetrics *self = g_new0 (OwlMetrics, 1);

  self->func = func;
  self->user_data = user_data;
  self->masks = g_ptr_array_new_with_free_func (g_object_unref);
  return self;
}

/* The server the endpoint answers on now. */
static SoupServer *
serving (OwlMetrics *self)
{
  return self->own != NULL ? self->own : self->attached;
}

static void callback (SoupServer        *server,
                      SoupServerMessage *msg,
                      const char        *path,
                      GHashTable        *query,
                      gpointer           user_data);

static void
unregister (OwlMetrics *self)
{
  if (serving (self) != NULL && self->path != NULL)
    soup_server_remove_handler (serving (self), self->path);
}

static void
reregister (OwlMetrics *self)
{
  if (serving (self) != NULL && self->path != NULL)
    soup_server_add_handler (serving (self), self->path, callback, self, NULL);
}

void
owl_metrics_free (OwlMetrics *self)
{
  if (self == NULL)
    return;
  unregister (self);
  if (self->own != NULL)
    {
      soup_server_disconnect (self->own);
      g_object_unref (self->own);
    }
  g_free (self->path);
  g_free (self->token);
  g_strfreev (self->allow);
  g_ptr_array_unref (self->masks);
  g_free (self);
}

void
owl_metrics_set_path (OwlMetrics *self,
                      const char *path)
{
  unregister (self);
  g_free (self->path);
  self->path = g_strdup (path);
  reregister (self);
}

const char *
owl_metrics_get_path (OwlMetrics *self)
{
  return self->path;
}

void
owl_metrics_set_token (OwlMetrics *self,
                       const char *token)
{
  g_free (self->token);
  self->token = token != NULL && token[0] != '\0' ? g_strdup (token) : NULL;
}

static GInetAddressMask *
parse_entry (const char *entry)
{
  g_autoptr(GError) error = NULL;
  GInetAddressMask *mask = g_inet_address_mask_new_from_string (entry, &error);

  if (mask == NULL)
    g_warning ("metrics-allow: '%s' is not an address or a CIDR range; it matches nothing", entry);
  return mask;
}

void
owl_metrics_set_allow (OwlMetrics         *self,
                       const char * const *allow)
{
  g_strfreev (self->allow);
  self->allow = g_strdupv ((char **) allow);
  g_ptr_array_set_size (self->masks, 0);
  self->any = FALSE;

  for (guint i = 0; allow != NULL && allow[i] != NULL; i++)
    {
      GInetAddressMask *mask;

      if (g_str_equal (allow[i], "*"))
        self->any = TRUE;
      else if ((mask = parse_entry (allow[i])) != NULL)
        g_ptr_array_add (self->masks, mask);
    }
}

const char * const *
owl_metrics_get_allow (OwlMetrics *self)
{
  return (const char * const *) self->allow;
}

void
owl_metrics_attach (OwlMetrics *self,
                    SoupServer *server)
{
  if (self->own == NULL)
    unregister (self);
  self->attached = server;
  if (self->own == NULL)
    reregister (self);
}

gboolean
owl_metrics_listen (OwlMetrics      *self,
                    GSocketAddress  *address,
                    GError         **error)
{
  g_autoptr(SoupServer) server = soup_server_new ("server-header", "owlsock ", NULL);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;

  /* Our own socket: libsoup 3.2's soup_server_get_uris() leaks the local
   * address it asks for. */
  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL ||
      !g_socket_bind (socket, address, TRUE, error) ||
      !g_socket_listen (socket, error) ||
      (bound = g_socket_get_local_address (socket, error)) == NULL ||
      !soup_server_listen_socket (server, socket, 0, error))
    return FALSE;
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  unregister (self);
  self->own = g_steal_pointer (&server);
  reregister (self);
  return TRUE;
}

guint16
owl_metrics_get_port (OwlMetrics *self)
{
  return self->port;
}

static gboolean
is_allowed (OwlMetrics        *self,
            SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  GInetAddress *address;

  if (self->allow == NULL)
    {
      if (self->own != NULL)
        return TRUE;
      /* The public listener: the machine itself only, until told otherwise. */
      return G_IS_INET_SOCKET_ADDRESS (remote) &&
             g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
    }
  if (self->any)
    return TRUE;
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return FALSE;

  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  for (guint i = 0; i < self->masks->len; i++)
    {
      GInetAddressMask *mask = g_ptr_array_index (self->masks, i);

      if (g_inet_address_get_family (address) == g_inet_address_mask_get_family (mask) &&
          g_inet_address_mask_matches (mask, address))
        return TRUE;
    }
  return FALSE;
}

/* Constant time in the token's length: the comparison tells nothing. */
static gboolean
has_token (OwlMetrics        *self,
           SoupServerMessage *msg)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");
  gsize len = strlen (self->token);

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0)
    return FALSE;
  value += 7;
  return strlen (value) == len && gnutls_memcmp (value, self->token, len) == 0;
}

static void
answer (SoupServerMessage *msg,
        guint              status,
        const char        *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
callback (SoupServer        *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  OwlMetrics *self = user_data;
  char *text;

  /* libsoup hands this handler every path below it too. */
  if (!g_str_equal (path, self->path))
    {
      owl_refusal_answer_not_found (msg);
      return;
    }
  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      answer (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method not allowed\n");
      return;
    }
  if (!is_allowed (self, msg))
    {
      answer (msg, SOUP_STATUS_FORBIDDEN, "Forbidden\n");
      return;
    }
  if (self->token != NULL && !has_token (self, msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      answer (msg, SOUP_STATUS_UNAUTHORIZED, "Unauthorized\n");
      return;
    }

  text = self->func (self->user_data);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE, text, strlen (text));
}
