/* owl-listener.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libsoup 3.2's listener accepts one connection per main loop turn (about
 * 380 a second once 10k connections are open) and stops accepting for good
 * after one accept() error such as EMFILE. This one sits in the poller,
 * accepts until EAGAIN (bounded per turn), and on EMFILE/ENFILE pauses and
 * tries again later instead of giving up.
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "owl-fd-stream-private.h"
#include "owl-listener-private.h"

#define OWL_LISTENER_BATCH    512
#define OWL_LISTENER_BACKOFF  100  /* ms to wait when out of descriptors */

struct _OwlListener
{
  GSocket        *socket;
  SoupServer     *server;
  OwlPoller      *poller;
  GMainContext   *context;
  OwlPollerWatch *watch;
  gboolean        starved;   /* out of descriptors, warned once */
  GSource        *backoff;
  /* The listening address, when it is one address (not a wildcard): the
   * local address of every accepted connection, without a getsockname(). */
  GSocketAddress *local;
  const OwlListenerLimits *limits;
  /* Connections still in their HTTP request, with when they came: dropped
   * when the handshake timeout passes (slowloris). */
  GPtrArray      *pending;      /* OwlFdHandle */
  GArray         *pending_since;
  guint           tick_id;
};

/* The OwlFdHandle of a connection, on the remote address handed to libsoup
 * (which gives that same object back as the message's): for
 * owl_listener_hold(), without a string or a table entry per accept. */
static GQuark
peer_handle_quark (void)
{
  return g_quark_from_static_string ("owl-listener-handle");
}

/* g_tls_server_connection_new() leaves the database unset, and the GnuTLS
 * backend then loads the whole system trust store into every connection
 * (~3.8 MB and a parse of every CA each time). A server that asks for no
 * client certificate verifies nothing: setting the database to NULL
 * before initialisation skips that. */
static GIOStream *
new_tls_connection (GIOStream        *base,
                    GTlsCertificate  *certificate,
                    GError          **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();

  return g_initable_new (g_tls_backend_get_server_connection_type (backend), NULL, error,
                         "base-io-stream", base,
                         "certificate", certificate,
                         "database", NULL,
                         NULL);
}

/* libsoup only needs a pollable GIOStream and the two addresses: an
 * OwlFdStream costs none of GSocket's syscalls, and the frame layer takes
 * its descriptor back after a 101. */
static void
hand_over (OwlListener             *self,
           int                      fd,
           const struct sockaddr   *addr,
           socklen_t                addr_len)
{
  g_autoptr(GError) error = NULL;
  /* Under TLS the cap counts encrypted bytes (the TLS handshake too), and
   * a plain 431 cannot be sent: the connection is simply dropped. */
  g_autoptr(GIOStream) stream = owl_fd_stream_new (fd, self->limits->max_handshake_size,
                                                   self->limits->tls_certificate == NULL);
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GSocketAddress) remote = g_socket_address_new_from_native ((gpointer) addr, addr_len);
  g_autoptr(GSocketAddress) local = NULL;
  int one = 1;

  if (self->local != NULL)
    local = g_object_ref (self->local);
  else
    {
      struct sockaddr_storage local_addr;
      socklen_t local_len = sizeof local_addr;

      if (getsockname (fd, (struct sockaddr *) &local_addr, &local_len) == 0)
        local = g_socket_address_new_from_native (&local_addr, local_len);
    }
  /* libsoup 3.2 asserts on a missing local address despite its docs. */
  if (local == NULL || remote == NULL)
    {
      close (fd);
      return;
    }

  /* Messages are small and latency matters: no Nagle (a unix socket
   * simply refuses the option). */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  {
    OwlFdHandle *handle = owl_fd_stream_get_handle (OWL_FD_STREAM (stream));

    g_ptr_array_add (self->pending, owl_fd_handle_ref (handle));
    g_array_append_val (self->pending_since, now);
    g_object_set_qdata_full (G_OBJECT (remote), peer_handle_quark (), owl_fd_handle_ref (handle),
                             (GDestroyNotify) owl_fd_handle_unref);
  }

  /* wss: the TLS handshake runs on the first read, inside libsoup's I/O;
   * the certificate is read at each accept, so a reload applies to the
   * next connection and leaves open ones alone. */
  if (self->limits->tls_certificate != NULL)
    {
      GIOStream *tls = new_tls_connection (stream, self->limits->tls_certificate, &error);

      if (tls == NULL)
        {
          g_warning ("Cannot start TLS: %s", error->message);
          return;
        }
      g_object_unref (stream);
      stream = tls;
    }

  if (!soup_server_accept_iostream (self->server, stream, local, remote, &error))
    g_debug ("Could not accept a connection: %s", error->message);
}

/* Once a second: forget the connections that upgraded or ended, and drop
 * the ones still sending their request after the handshake timeout. */
static void
listener_tick (gpointer user_data,
               gint64   now)
{
  OwlListener *self = user_data;
  gint64 timeout = (gint64) self->limits->handshake_timeout * G_USEC_PER_SEC;

  for (guint i = 0; i < self->pending->len;)
    {
      OwlFdHandle *handle = g_ptr_array_index (self->pending, i);
      gint64 since = g_array_index (self->pending_since, gint64, i);

      if (!owl_fd_handle_is_done (handle) && !owl_fd_handle_is_held (handle) && now - since < timeout)
        {
          i++;
          continue;
        }
      /* Only a connection still in its request is cut: one that upgraded
       * or ended is simply forgotten (a TLS connection keeps its
       * descriptor in the stream after the 101, and is live), and a held
       * one is the service's to bound. Aborting does not close the
       * descriptor (libsoup holds the stream); libsoup sees the connection
       * end and closes it. */
      if (!owl_fd_handle_is_done (handle) && !owl_fd_handle_is_held (handle))
        owl_fd_handle_abort (handle);
      g_ptr_array_remove_index_fast (self->pending, i);
      g_array_remove_index_fast (self->pending_since, i);
    }
}

static gboolean
resume_cb (gpointer data)
{
  OwlListener *self = data;

  g_clear_pointer (&self->backoff, g_source_unref);
  owl_poller_set_events (self->poller, self->watch, OWL_POLL_IN);
  return G_SOURCE_REMOVE;
}

static void
on_listener_ready (gpointer user_data,
                   guint    events)
{
  OwlListener *self = user_data;
  int lfd = g_socket_get_fd (self->socket);

  for (guint i = 0; i < OWL_LISTENER_BATCH; i++)
    {
      struct sockaddr_storage addr;
      socklen_t addr_len = sizeof addr;
      int fd = accept4 (lfd, (struct sockaddr *) &addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd >= 0)
        {
          self->starved = FALSE;
          hand_over (self, fd, (struct sockaddr *) &addr, addr_len);
          continue;
        }

      switch (errno)
        {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
          continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          /* Level-triggered: without a pause this would spin. */
          if (!self->starved)
            g_warning ("Out of descriptors or memory accepting connections; retrying every %d ms",
                       OWL_LISTENER_BACKOFF);
          self->starved = TRUE;
          owl_poller_set_events (self->poller, self->watch, 0);
          self->backoff = g_timeout_source_new (OWL_LISTENER_BACKOFF);
          g_source_set_callback (self->backoff, resume_cb, self, NULL);
          g_source_attach (self->backoff, self->context);
          return;
        default:
          return;  /* EAGAIN, or an error of this one connection */
        }
    }
}

OwlListener *
owl_listener_new (GSocket                 *socket,
                  SoupServer              *server,
                  OwlPoller               *poller,
                  GMainContext            *context,
                  const OwlListenerLimits *limits)
{
  OwlListener *self = g_new0 (OwlListener, 1);

  self->socket = g_object_ref (socket);
  self->server = g_object_ref (server);
  self->poller = poller;
  self->context = context;
  self->limits = limits;
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) owl_fd_handle_unref);
  self->pending_since = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->tick_id = owl_poller_add_tick (poller, listener_tick, self);
  self->local = g_socket_get_local_address (socket, NULL);
  if (self->local != NULL &&
      (!G_IS_INET_SOCKET_ADDRESS (self->local) ||
       g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (self->local)))))
    g_clear_object (&self->local);
  g_socket_set_blocking (socket, FALSE);
  self->watch = owl_poller_add (poller, g_socket_get_fd (socket), OWL_POLL_IN, on_listener_ready, self);

  return self;
}

GSocket *
owl_listener_get_socket (OwlListener *self)
{
  return self->socket;
}

void
owl_listener_free (OwlListener *self)
{
  if (self == NULL)
    return;

  if (self->backoff != NULL)
    {
      g_source_destroy (self->backoff);
      g_source_unref (self->backoff);
    }
  owl_poller_remove (self->poller, self->watch);
  owl_poller_remove_tick (self->poller, self->tick_id);
  g_ptr_array_unref (self->pending);
  g_array_unref (self->pending_since);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->server);
  g_clear_object (&self->local);
  g_free (self);
}

/* The request from @remote is complete and a guard is deciding about it:
 * stop its handshake timer, since the wait is the server's, not the
 * client's. Returns (transfer full) the connection's handle, so the caller
 * can see the client hang up meanwhile, or NULL. */
OwlFdHandle *
owl_listener_hold (OwlListener    *self,
                   GSocketAddress *remote)
{
  OwlFdHandle *handle = g_object_get_qdata (G_OBJECT (remote), peer_handle_quark ());

  if (handle == NULL)
    return NULL;
  owl_fd_handle_hold (handle);
  return owl_fd_handle_ref (handle);
}
