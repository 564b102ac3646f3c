/* common.c: options, listening, signals and the main loop of every C example
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

/**
 * example_main:
 * @service: a service with its modules added
 * @argc: the program's argc
 * @argv: the program's argv
 *
 * Parses `--host` (default 127.0.0.1), `--port` (default 8080, 0 for any
 * free port) and, for `wss://`, `--tls-cert FILE` with `--tls-key FILE`
 * (PEM; both or neither), listens, prints `listening on PORT` and runs the
 * main loop until SIGINT or SIGTERM has stopped the service.
 *
 * Returns: the program's exit status
 */
int
example_main (OwlSocketService *service,
              int               argc,
              char            **argv)
{
  return example_main_full (service, NULL, NULL, NULL, argc, argv);
}

/**
 * example_main_full:
 * @service: a service
 * @extra_entries: (nullable): the example's own options, beside `--host`,
 *   `--port`, `--tls-cert` and `--tls-key`
 * @setup: (nullable): called after parsing, before listening
 * @user_data: data for @setup
 * @argc: the program's argc
 * @argv: the program's argv
 *
 * Like example_main(), for an example with options of its own; @setup may
 * add the modules that need their values, or refuse to start.
 *
 * Returns: the program's exit status
 */
int
example_main_full (OwlSocketService   *service,
                   const GOptionEntry *extra_entries,
                   ExampleSetupFunc    setup,
                   gpointer            user_data,
                   int                 argc,
                   char              **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  int port = 8080;
  const GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &host,
      "Address to listen on (default 127.0.0.1)", "HOST" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port,
      "Port to listen on; 0 picks a free one (default 8080)", "PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
      "Serve wss:// with this PEM certificate (chain); needs --tls-key", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key,
      "The PEM private key of --tls-cert", "FILE" },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "With --tls-cert and --tls-key the service speaks wss:// only (TLS on every\n"
    "connection); without them, ws://.");
  if (extra_entries != NULL)
    g_option_context_add_main_entries (context, extra_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return EXIT_FAILURE;
    }
  if (port < 0 || port > G_MAXUINT16)
    {
      g_printerr ("%s: --port must be between 0 and 65535\n", g_get_prgname ());
      return EXIT_FAILURE;
    }
  if ((tls_cert == NULL) != (tls_key == NULL))
    {
      g_printerr ("%s: --tls-cert and --tls-key go together: give both or neither\n",
                  g_get_prgname ());
      return EXIT_FAILURE;
    }
  if (tls_cert != NULL &&
      !owl_socket_service_load_tls_files (service, tls_cert, tls_key, &error))
    {
      g_printerr ("%s: cannot load the TLS certificate %s with the key %s: %s\n",
                  g_get_prgname (), tls_cert, tls_key, error->message);
      return EXIT_FAILURE;
    }
  if (setup != NULL && !setup (service, user_data, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return EXIT_FAILURE;
    }

  if (!owl_socket_service_listen (service, host != NULL ? host : "127.0.0.1",
                                  (guint16) port, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return EXIT_FAILURE;
    }

  /* Scripts and tests wait for this line to know the port. */
  g_print ("listening on %u\n", owl_socket_service_get_port (service));
  fflush (stdout);
  /* Until SIGINT or SIGTERM: every connection gets the shutdown notice
   * and 1001, and it returns once they all closed. */
  owl_socket_service_run (service, NULL, NULL);
  return EXIT_SUCCESS;
}
