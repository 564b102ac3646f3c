/* patterns.c: every pattern of @owlmeans/server-socket's README, one module each
 *
 *   head -c 32 /dev/urandom | base64 > secret.txt
 *   build/examples/patterns --secret-file secret.txt --port 8080
 *     (or the secret in OWLSOCK_JWT_SECRET; the monitor needs it)
 *
 *   ws://127.0.0.1:8080/ws/stream             data stream        stream.c
 *   ws://127.0.0.1:8080/ws/game/SESSION?player=NAME  game session   game.c
 *   ws://127.0.0.1:8080/ws/monitor            monitoring (admin) monitor.c
 *   ws://127.0.0.1:8080/ws/connection         connection management  connection.c
 *   ws://127.0.0.1:8080/ws/errors             error handling     errors.c
 *
 * Each file starts with the messages its module takes and sends. The same
 * service in Python and GJS: examples/python/patterns.py, examples/gjs/patterns.js.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "patterns.h"

OwlModule *
patterns_module_new (const char         *alias,
                     const char         *path,
                     const char * const *type_schemas,
                     GError            **error)
{
  g_autoptr(OwlModule) module = owl_module_new (alias, path);

  for (guint i = 0; type_schemas != NULL && type_schemas[i] != NULL; i += 2)
    {
      g_autoptr(OwlSchema) schema = owl_schema_new_from_string (type_schemas[i + 1], error);

      if (schema == NULL)
        return NULL;
      owl_module_set_type_schema (module, type_schemas[i], schema);
    }
  /* A type without a schema is refused as well (`validation`, /type enum). */
  if (type_schemas != NULL)
    g_object_set (module, "strict-types", TRUE, NULL);
  return g_steal_pointer (&module);
}

static gboolean
setup (OwlSocketService  *service,
       gpointer           user_data,
       GError           **error)
{
  const PatternsOptions *options = user_data;

  if (options->stream_interval < 1 || options->stats_interval < 1)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "--stream-interval and --stats-interval must be at least 1");
      return FALSE;
    }
  return patterns_add_stream (service, options, error) &&
         patterns_add_game (service, options, error) &&
         patterns_add_monitor (service, options, error) &&
         patterns_add_connection (service, options, error) &&
         patterns_add_errors (service, options, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  PatternsOptions options = { NULL, 1000, 30000 };
  const GOptionEntry entries[] = {
    { "secret-file", 0, 0, G_OPTION_ARG_FILENAME, &options.secret_file,
      "The monitor's HS256 secret (default: $OWLSOCK_JWT_SECRET); at least 32 bytes", "FILE" },
    { "stream-interval", 0, 0, G_OPTION_ARG_INT, &options.stream_interval,
      "Milliseconds between two data updates of the stream (default 1000)", "MS" },
    { "stats-interval", 0, 0, G_OPTION_ARG_INT, &options.stats_interval,
      "Milliseconds between two server-stats of /ws/connection (default 30000)", "MS" },
    G_OPTION_ENTRY_NULL
  };
  int status;

  status = example_main_full (service, entries, setup, &options, argc, argv);
  g_free (options.secret_file);
  return status;
}
