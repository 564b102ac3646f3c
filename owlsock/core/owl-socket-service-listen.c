/* owl-socket-service-listen.c: the service's own listener, or a server the
 * application gives it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "owl-envelope-private.h"
#include "owl-socket-service-private.h"

/* Listening ----------------------------------------------------------------- */

GInetAddress *
owl_socket_service_resolve_host (const char  *host,
                                 GError     **error)
{
  GInetAddress *address;
  GList *addresses;

  if (host == NULL || host[0] == '\0')
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);

  address = g_inet_address_new_from_string (host);
  if (address != NULL)
    return address;

  addresses = g_resolver_lookup_by_name (g_resolver_get_default (), host, NULL, error);
  if (addresses == NULL)
    return NULL;

  address = g_object_ref (addresses->data);
  g_resolver_free_addresses (addresses);
  return address;
}

/* A server holds a descriptor per connection: the soft limit (often 1024)
 * is raised to the hard one, as servers commonly do. */
static void
raise_descriptor_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* g_socket_bind() with SO_REUSEADDR, and SO_REUSEPORT when @reuse_port:
 * g_socket_bind() clears SO_REUSEPORT on TCP sockets, so that case binds
 * the descriptor itself, with the same error. */
static gboolean
bind_socket (GSocket         *socket,
             GSocketAddress  *address,
             gboolean         reuse_port,
             GError         **error)
{
  struct sockaddr_storage native;
  int fd = g_socket_get_fd (socket);
  int saved;

  if (!reuse_port)
    return g_socket_bind (socket, address, TRUE, error);
  if (!g_socket_set_option (socket, SOL_SOCKET, SO_REUSEADDR, 1, error) ||
      !g_socket_set_option (socket, SOL_SOCKET, SO_REUSEPORT, 1, error) ||
      !g_socket_address_to_native (address, &native, sizeof native, error))
    return FALSE;
  if (bind (fd, (struct sockaddr *) &native, g_socket_address_get_native_size (address)) == 0)
    return TRUE;
  saved = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Error binding to address: %s",
               g_strerror (saved));
  return FALSE;
}

/* Serves on @socket, bound and listening: the one path of listen() and
 * listen_socket(). */
static gboolean
serve_socket (OwlSocketService  *self,
              GSocket           *socket,
              GError           **error)
{
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(SoupServer) server = NULL;
  gboolean first = self->server == NULL;

  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return FALSE;
  if (!G_IS_INET_SOCKET_ADDRESS (bound))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "The socket is not bound to an IP address");
      return FALSE;
    }

  /* More addresses: more listeners for the one server. */
  server = first ? soup_server_new ("server-header", "owlsock ", NULL) : g_object_ref (self->server);
#ifdef HAVE_ACCEPT4
  g_ptr_array_add (self->listeners, owl_listener_new (socket, server, self->poller, self->context,
                                                      &self->listener_limits));
#else
  if (!soup_server_listen_socket (server, socket, 0, error))
    return FALSE;
#endif
  if (!first)
    return TRUE;

  owl_socket_service_use_server (self, server, TRUE);
  /* Only its presence matters to the upgrades: a connection's handle
   * travels with its remote address, whichever listener accepted it. */
  self->upgrades.listener = self->listeners->len > 0 ? self->listeners->pdata[0] : NULL;
  owl_metrics_attach (self->metrics, self->server);
  owl_socket_service_set_port (self, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  return TRUE;
}

/* An application's server (attach) is the application's to listen with. */
static gboolean
check_owned (OwlSocketService  *self,
             GError           **error)
{
  if (self->server != NULL && !self->owns_server)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS,
                           "The service serves in an application's server");
      return FALSE;
    }
  return TRUE;
}

/**
 * owl_socket_service_listen:
 * @self: a service
 * @host: (nullable): the address to listen on, such as `"127.0.0.1"`; %NULL
 *   for every IPv4 address
 * @port: the port; 0 for any free port (read it back with
 *   [method@Owlsock.SocketService.get_port])
 * @error: return location for an error
 *
 * Creates a `SoupServer` owned by the service and listens on @host and
 * @port, with the system's largest accept backlog. Call it again (or
 * [method@Owlsock.SocketService.listen_socket]) to listen on more
 * addresses: every one serves the same modules, and
 * [method@Owlsock.SocketService.get_port] is the first one's port.
 *
 * Returns: %TRUE on success; %FALSE with %OWL_ERROR_EXISTS if the service
 *   serves in an application's server ([method@Owlsock.SocketService.attach])
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_listen (OwlSocketService  *self,
                           const char        *host,
                           guint16            port,
                           GError           **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) socket = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_owned (self, error) || !owl_socket_service_apply_broker (self, error))
    return FALSE;

  raise_descriptor_limit ();

  address = owl_socket_service_resolve_host (host, error);
  if (address == NULL)
    return FALSE;

  socket_address = g_inet_socket_address_new (address, port);
  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;

  /* GLib's default backlog of 10 drops bursts of connects. */
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  if (!bind_socket (socket, socket_address, self->reuse_port, error) ||
      !g_socket_listen (socket, error))
    return FALSE;

  return serve_socket (self, socket, error);
}

/**
 * owl_socket_service_listen_socket:
 * @self: a service
 * @socket: a TCP socket, bound and listening already
 * @error: return location for an error
 *
 * Creates a `SoupServer` owned by the service and accepts connections on
 * @socket, as [method@Owlsock.SocketService.listen] does on the socket it
 * makes. This is how a service adopts a socket it inherited, such as one
 * passed by systemd's socket activation (`LISTEN_FDS`): clients that
 * connect before the service runs wait in the socket's backlog.
 *
 * The service keeps a reference on @socket and closes it when it stops.
 * It may be called again, and mixed with
 * [method@Owlsock.SocketService.listen]: every socket serves the same
 * modules; [method@Owlsock.SocketService.get_port] is the first one's port.
 *
 * Returns: %TRUE on success; %FALSE with %OWL_ERROR_EXISTS if the service
 *   serves in an application's server, %OWL_ERROR_INVALID_ARGUMENT if
 *   @socket is not a bound TCP socket
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_listen_socket (OwlSocketService  *self,
                                  GSocket           *socket,
                                  GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET (socket), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_owned (self, error))
    return FALSE;

  if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_STREAM ||
      (g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV4 &&
       g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV6))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "The socket is not a TCP socket");
      return FALSE;
    }

  for (guint i = 0; i < self->listeners->len; i++)
    if (owl_listener_get_socket (self->listeners->pdata[i]) == socket)
      {
        g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS, "The service listens on this socket already");
        return FALSE;
      }

  if (!owl_socket_service_apply_broker (self, error))
    return FALSE;
  raise_descriptor_limit ();
  return serve_socket (self, socket, error);
}

/**
 * owl_socket_service_get_port:
 * @self: a service
 *
 * Gets the port the service listens on.
 *
 * Returns: the port the service listens on, or 0
 *
 * Since: 0.1
 */
guint16
owl_socket_service_get_port (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), 0);

  return self->port;
}

/**
 * owl_socket_service_attach:
 * @self: a service
 * @server: a server the application runs
 * @error: return location for an error
 *
 * Serves the service's modules inside @server, as `update(api)` in
 * <code>&#64;owlmeans/server-socket</code>.
 * For each module, the service handles the path made of the pattern's
 * literal segments before its first param (`/ws/chat` for
 * `/ws/chat/:room`); the application's handlers keep every other path.
 *
 * Returns: %TRUE on success; %FALSE with %OWL_ERROR_EXISTS if the service
 *   already has a server
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_attach (OwlSocketService  *self,
                           SoupServer        *server,
                           GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (SOUP_IS_SERVER (server), FALSE);

  if (self->server != NULL)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS, "The service already has a server");
      return FALSE;
    }
  if (!owl_socket_service_apply_broker (self, error))
    return FALSE;

  owl_socket_service_use_server (self, server, FALSE);
  return TRUE;
}

/**
 * owl_socket_service_get_server:
 * @self: a service
 *
 * Gets the `SoupServer` the service serves in, its own or the application's.
 *
 * Returns: (transfer none) (nullable): the server the service runs in
 *
 * Since: 0.1
 */
SoupServer *
owl_socket_service_get_server (OwlSocketService *self)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);

  return self->server;
}


/**
 * owl_socket_service_serve_static:
 * @self: a service
 * @prefix: the URL path the files appear under, such as `"/"` or
 *   `"/demo"` (starts with `/`, no trailing `/` but for `"/"`); a path
 *   that no module uses
 * @directory: (nullable) (type filename): the folder to serve; %NULL
 *   stops serving files
 * @error: return location for an error
 *
 * Serves the regular files of @directory on the service's server (the one
 * of [method@Owlsock.SocketService.listen] or
 * [method@Owlsock.SocketService.attach], once there is one) below
 * the prefix: `GET /demo/chat.html` reads `DIRECTORY/chat.html`, and a
 * folder's `index.html` answers for the folder. One folder at a time: a
 * second call replaces the first.
 *
 * Only `GET` is answered (405 otherwise). There is no listing, and
 * nothing outside @directory can be reached: a path with a `.` or `..`
 * segment (escaped or not), a name starting with a dot, an escaped `/`
 * or NUL, or a symbolic link whose target lies outside the folder is
 * answered 404 with the JSON body of the service's other 404s,
 * `{"code":"not-found","message":"No file at this path"}`. The
 * `Content-Type` follows the extension (`.html`, `.js`, `.css`,
 * `.json`, `.png`, `.svg`, `.txt`; others are
 * `application/octet-stream`), with `X-Content-Type-Options: nosniff`.
 *
 * Fails with %OWL_ERROR_INVALID_ARGUMENT for a bad @prefix, with
 * %OWL_ERROR_EXISTS when a module serves @prefix, and with
 * %OWL_ERROR_NOT_FOUND when @directory is not a folder.
 *
 * Returns: %TRUE if the files are served (or no longer served)
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_serve_static (OwlSocketService  *self,
                                 const char        *prefix,
                                 const char        *directory,
                                 GError           **error)
{
  OwlStatic *files = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (prefix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (prefix[0] != '/' || (prefix[1] != '\0' && g_str_has_suffix (prefix, "/")))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "A static prefix starts with '/' and does not end with one");
      return FALSE;
    }
  if (directory != NULL && g_hash_table_contains (self->prefixes, prefix))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS, "A module serves '%s'", prefix);
      return FALSE;
    }
  if (directory != NULL && (files = owl_static_new (prefix, directory, error)) == NULL)
    return FALSE;

  g_clear_pointer (&self->files, owl_static_free);
  self->files = files;
  if (files != NULL && self->server != NULL && !g_str_equal (prefix, "/"))
    owl_static_attach (files, self->server);
  owl_socket_service_update_root (self);   /* the old files or the new may have had "/" */
  return TRUE;
}
