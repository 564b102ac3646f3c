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
  GSource        *backoff;
};

static void
hand_over (OwlListener *self,
           int          fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  int one = 1;

  /* Messages are small and latency matters: no Nagle (a unix socket
   * simply refuses the option). */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  socket = g_socket_new_from_fd (fd, &error);
  if (socket == NULL)
    {
      close (fd);
      return;
    }

  connection = g_socket_connection_factory_create_connection (socket);
  /* The frame layer finds the socket of a stolen stream by this tag. */
  g_object_set_data_full (G_OBJECT (g_io_stream_get_input_stream (G_IO_STREAM (connection))),
                          "owl-socket", g_object_ref (socket), g_object_unref);

  local = g_socket_get_local_address (socket, NULL);
  remote = g_socket_get_remote_address (socket, NULL);
  if (!soup_server_accept_iostream (self->server, G_IO_STREAM (connection), local, remote, &error))
    g_debug ("Could not accept a connection: %s", error->message);
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
      int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd >= 0)
        {
          hand_over (self, fd);
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
          g_warning ("Out of descriptors or memory accepting connections; retrying in %d ms",
                     OWL_LISTENER_BACKOFF);
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
owl_listener_new (GSocket      *socket,
                  SoupServer   *server,
                  OwlPoller    *poller,
                  GMainContext *context)
{
  OwlListener *self = g_new0 (OwlListener, 1);

  self->socket = g_object_ref (socket);
  self->server = g_object_ref (server);
  self->poller = poller;
  self->context = context;
  g_socket_set_blocking (socket, FALSE);
  self->watch = owl_poller_add (poller, g_socket_get_fd (socket), OWL_POLL_IN, on_listener_ready, self);

  return self;
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
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->server);
  g_free (self);
}
