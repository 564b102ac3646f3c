/* owl-protect-server.c: an echo service in its own process, for what a test
 * cannot do to itself: run out of file descriptors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: owl-protect-server SOFT HARD
 *
 * Sets RLIMIT_NOFILE to SOFT and HARD before the service exists, listens on
 * 127.0.0.1 on any free port with an echo module at /ws/echo, then prints
 *
 *   nofile SOFT' HARD'      (the limits once the service listens)
 *   listening on PORT
 *
 * and serves until its standard input ends or it gets SIGTERM; then it exits
 * with status 0.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib-unix.h>
#include <owlsock/owlsock.h>

static void
echo_message_cb (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       user_data)
{
  owl_connection_send (connection, message, NULL);
}

static void
echo_connection_cb (OwlModule     *module,
                    OwlConnection *connection,
                    gpointer       user_data)
{
  g_signal_connect (connection, "message", G_CALLBACK (echo_message_cb), NULL);
}

static gboolean
stdin_cb (gint         fd,
          GIOCondition condition,
          gpointer     user_data)
{
  GMainLoop *loop = user_data;
  char buf[256];
  gssize n = read (fd, buf, sizeof buf);

  if (n > 0)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
sigterm_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(OwlSocketService) service = NULL;
  g_autoptr(OwlModule) module = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit limit;

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s SOFT HARD\n", argv[0]);
      return 2;
    }

  limit.rlim_cur = (rlim_t) g_ascii_strtoull (argv[1], NULL, 10);
  limit.rlim_max = (rlim_t) g_ascii_strtoull (argv[2], NULL, 10);
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    {
      perror ("setrlimit");
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  service = owl_socket_service_new (NULL);
  module = owl_module_new ("echo", "/ws/echo");
  g_signal_connect (module, "connection", G_CALLBACK (echo_connection_cb), NULL);
  if (!owl_socket_service_add_module (service, module, &error) ||
      !owl_socket_service_listen (service, "127.0.0.1", 0, &error))
    {
      fprintf (stderr, "owl-protect-server: %s\n", error->message);
      return 1;
    }

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    {
      perror ("getrlimit");
      return 2;
    }
  printf ("nofile %llu %llu\n", (unsigned long long) limit.rlim_cur,
          (unsigned long long) limit.rlim_max);
  printf ("listening on %u\n", owl_socket_service_get_port (service));
  fflush (stdout);

  g_unix_fd_add (0, G_IO_IN | G_IO_HUP | G_IO_ERR, stdin_cb, loop);
  g_unix_signal_add (SIGTERM, sigterm_cb, loop);
  g_main_loop_run (loop);

  return 0;
}
