/* common.c: options, listening, signals and the main loop of every C example
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* JSON frames ---------------------------------------------------------------- */

/**
 * example_frame_new:
 * @type: the frame's `type`
 *
 * Returns: (transfer full): a new object `{"type": TYPE}` to fill in
 */
JsonObject *
example_frame_new (const char *type)
{
  JsonObject *frame = json_object_new ();

  json_object_set_string_member (frame, "type", type);
  return frame;
}

/**
 * example_node_take:
 * @object: (transfer full): an object
 *
 * Returns: (transfer full): a node holding @object
 */
JsonNode *
example_node_take (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

/**
 * example_send_take:
 * @connection: a connection
 * @frame: (transfer full): the frame to send
 *
 * Sends @frame to @connection. A send fails only once the connection is
 * closing; then it is logged as a warning, so that a timer left running
 * after `closing` shows up on stderr.
 */
void
example_send_take (OwlConnection *connection,
                   JsonObject    *frame)
{
  g_autoptr(JsonNode) node = example_node_take (frame);
  g_autoptr(GError) error = NULL;

  if (!owl_connection_send (connection, node, &error))
    g_warning ("send to %s: %s", owl_connection_get_id (connection), error->message);
}

/**
 * example_broadcast_take:
 * @service: a service
 * @room: the room
 * @frame: (transfer full): the frame to send
 * @except: (nullable): a member left out (the sender)
 *
 * Sends @frame to every member of @room but @except; the JSON is framed once.
 */
void
example_broadcast_take (OwlSocketService *service,
                        const char       *room,
                        JsonObject       *frame,
                        OwlConnection    *except)
{
  g_autoptr(JsonNode) node = example_node_take (frame);

  owl_socket_service_broadcast (service, room, node, except);
}

/**
 * example_stats_json:
 * @service: a service
 *
 * Returns: (transfer full): owl_socket_service_dup_stats() as a JSON object
 */
JsonNode *
example_stats_json (OwlSocketService *service)
{
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (service);

  return json_gvariant_serialize (stats);
}

/**
 * example_add_jwt_secret:
 * @guard: a JWT guard
 * @secret_file: (nullable): `--secret-file`
 * @error: where to put the reason it failed
 *
 * Gives @guard its HS256 secret: @secret_file (read as owlsockd and
 * owlsock-token read it: one trailing newline dropped), or else
 * `OWLSOCK_JWT_SECRET`. The guard refuses a secret under 32 bytes: then so
 * does the example.
 *
 * Returns: %TRUE if the guard has its secret
 */
gboolean
example_add_jwt_secret (OwlJwtGuard  *guard,
                        const char   *secret_file,
                        GError      **error)
{
  const char *env = g_getenv ("OWLSOCK_JWT_SECRET");

  if (secret_file != NULL)
    return owl_jwt_guard_load_secret_file (guard, NULL, secret_file, error);
  if (env == NULL)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "Set OWLSOCK_JWT_SECRET or pass --secret-file");
      return FALSE;
    }
  return owl_jwt_guard_add_secret (guard, NULL, (const guint8 *) env, strlen (env), error);
}

/* Timers that end with the connection ------------------------------------------- */

typedef struct
{
  OwlConnection   *connection;  /* not a reference: the timer ends in its `closing` */
  ExampleTickFunc  func;
  gpointer         user_data;
  guint            source_id;
} Ticker;

static gboolean
ticker_fire (gpointer data)
{
  Ticker *ticker = data;

  ticker->func (ticker->connection, ticker->user_data);
  return G_SOURCE_CONTINUE;
}

static void
ticker_stop (OwlConnection *connection,
             guint          code,
             const char    *reason,
             gpointer       data)
{
  Ticker *ticker = data;

  g_clear_handle_id (&ticker->source_id, g_source_remove);
}

static void
ticker_free (gpointer  data,
             GClosure *closure)
{
  g_free (data);
}

/**
 * example_every:
 * @connection: a connection that is open
 * @interval_ms: the period
 * @func: called with @connection every @interval_ms
 * @user_data: data for @func
 *
 * Starts a timer for @connection, stopped in its `closing`: nothing runs
 * between the connection's change of state and `closing`, so @func never
 * meets a closing or closed connection.
 */
void
example_every (OwlConnection   *connection,
               guint            interval_ms,
               ExampleTickFunc  func,
               gpointer         user_data)
{
  Ticker *ticker = g_new0 (Ticker, 1);

  ticker->connection = connection;
  ticker->func = func;
  ticker->user_data = user_data;
  ticker->source_id = g_timeout_add (interval_ms, ticker_fire, ticker);
  /* The ticker is freed with the handler, when the connection is finalized. */
  g_signal_connect_data (connection, "closing", G_CALLBACK (ticker_stop), ticker,
                         ticker_free, 0);
}
