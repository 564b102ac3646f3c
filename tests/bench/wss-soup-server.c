/* wss-soup-server.c: plain libsoup 3 over TLS, the baseline of the wss benchmark
 *
 *   /echo  every message is sent back (text stays text, binary stays binary)
 *
 *   build/tests/bench/wss-soup-server PORT CERT KEY
 *   build/tests/bench/wss-soup-server --port PORT --tls-cert CERT --tls-key KEY
 *
 * Listens on 127.0.0.1 only, prints `listening on PORT` and stops on SIGTERM
 * or SIGINT. The listener is made as the harness's soup_raw makes it (its own
 * socket with a SOMAXCONN backlog), so the only difference to soup_raw is TLS.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>

typedef struct
{
  int   port;
  char *cert_file;
  char *key_file;
} Options;

static void
on_message (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            gpointer                 user_data)
{
  soup_websocket_connection_send_message (ws, (SoupWebsocketDataType) type, message);
}

static void
on_closed (SoupWebsocketConnection *ws,
           gpointer                 user_data)
{
  g_object_unref (ws);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  /* As soup_raw: benchmark messages may exceed libsoup's 128 KiB default. */
  soup_websocket_connection_set_max_incoming_payload_size (ws, 64 * 1024 * 1024);
  /* libsoup drops its reference when the handler returns; ours goes in "closed". */
  g_object_ref (ws);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), NULL);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), NULL);
}

static gboolean
on_unix_signal (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
raise_nofile_limit (void)
{
  struct rlimit limit;

  /* 1000 held connections and more: the soft limit of 1024 is too low. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        g_printerr ("wss-soup-server: cannot raise RLIMIT_NOFILE: %s\n", g_strerror (errno));
    }
}

static gboolean
parse_options (Options  *options,
               int       argc,
               char    **argv,
               GError  **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("[PORT [CERT KEY]]");
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &options->port,
      "Port to listen on, on 127.0.0.1; 0 picks a free one", "PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &options->cert_file,
      "PEM certificate (chain)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &options->key_file,
      "Its PEM private key", "FILE" },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_set_summary (context,
    "Plain libsoup 3 over TLS: /echo sends every message back.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;

  if (argc > 4)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "too many arguments");
      return FALSE;
    }
  if (argc > 1)
    options->port = atoi (argv[1]);
  if (argc > 3)
    {
      g_free (options->cert_file);
      g_free (options->key_file);
      options->cert_file = g_strdup (argv[2]);
      options->key_file = g_strdup (argv[3]);
    }
  if (options->port < 0 || options->port > G_MAXUINT16)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "the port must be between 0 and 65535");
      return FALSE;
    }
  if (options->cert_file == NULL || options->key_file == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "needs a certificate and its key (CERT KEY or --tls-cert and --tls-key)");
      return FALSE;
    }
  return TRUE;
}

/* Like soup_raw: a socket of our own, because GLib's listen backlog of 10
 * turns connection bursts into SYN retransmits. */
static GSocket *
listen_socket_new (int      port,
                   GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, (guint16) port);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  if (!g_socket_bind (socket, socket_address, TRUE, error) ||
      !g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static guint16
socket_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (socket, NULL);

  if (address == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

int
main (int   argc,
      char *argv[])
{
  Options options = { 0, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GMainLoop) loop = NULL;

  if (!parse_options (&options, argc, argv, &error))
    {
      g_printerr ("wss-soup-server: %s\n", error->message);
      return EXIT_FAILURE;
    }
  raise_nofile_limit ();
  signal (SIGPIPE, SIG_IGN);

  certificate = g_tls_certificate_new_from_files (options.cert_file, options.key_file, &error);
  if (certificate == NULL)
    {
      g_printerr ("wss-soup-server: cannot load %s with %s: %s\n",
                  options.cert_file, options.key_file, error->message);
      return EXIT_FAILURE;
    }

  server = soup_server_new ("server-header", NULL,
                            "tls-certificate", certificate,
                            NULL);
  soup_server_add_websocket_handler (server, "/echo", NULL, NULL, on_websocket, NULL, NULL);

  socket = listen_socket_new (options.port, &error);
  if (socket == NULL ||
      !soup_server_listen_socket (server, socket, SOUP_SERVER_LISTEN_HTTPS, &error))
    {
      g_printerr ("wss-soup-server: cannot listen on 127.0.0.1:%d: %s\n",
                  options.port, error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_unix_signal, loop);
  g_unix_signal_add (SIGINT, on_unix_signal, loop);

  g_print ("listening on %u\n", socket_port (socket));
  fflush (stdout);
  g_main_loop_run (loop);

  soup_server_disconnect (server);
  g_free (options.cert_file);
  g_free (options.key_file);
  return EXIT_SUCCESS;
}
