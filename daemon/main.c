/* main.c: owlsockd, a WebSocket hub that any process on the bus can drive
 *
 *   owlsockd --config FILE [--session | --system | --address ADDRESS]
 *   owlsockd --check-config FILE
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "owld-bus.h"

typedef struct
{
  GMainLoop       *loop;
  OwldDaemon      *daemon;
  GDBusConnection *connection;
  gboolean         owned;
  int              status;
} Run;

static int
check_config (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwldConfig) config = owld_config_load (path, &error);

  if (config == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_print ("%s: OK\n", path);
  return 0;
}

static GDBusConnection *
connect_bus (gboolean    session,
             gboolean    system,
             const char *address,
             GError    **error)
{
  if (address != NULL)
    return g_dbus_connection_new_for_address_sync (address,
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, error);
  if (system)
    return g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  /* Started by the bus (activation): the bus that started us. */
  if (!session && g_getenv ("DBUS_STARTER_ADDRESS") != NULL)
    return g_bus_get_sync (G_BUS_TYPE_STARTER, NULL, error);
  return g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
}

static gboolean
on_stop_signal (gpointer user_data)
{
  Run *run = user_data;

  owld_daemon_stop (run->daemon);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hup (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!owld_daemon_reload (run->daemon, &error))
    owld_log (G_LOG_LEVEL_WARNING, NULL, "reload refused, the running configuration stays: %s",
              error->message);
  return G_SOURCE_CONTINUE;
}

static void
on_stopped (OwldDaemon *daemon,
            gpointer    user_data)
{
  Run *run = user_data;

  g_main_loop_quit (run->loop);
}

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  Run *run = user_data;

  run->owned = TRUE;
  owld_log (G_LOG_LEVEL_INFO, NULL, "owns %s", name);
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  Run *run = user_data;

  if (!run->owned)
    g_printerr ("owlsockd: cannot own the bus name %s (another owlsockd runs?)\n", name);
  else
    owld_log (G_LOG_LEVEL_WARNING, NULL, "lost the bus name %s", name);
  run->status = 1;
  owld_daemon_stop (run->daemon);
}

static int
run_daemon (const char *path,
            gboolean    session,
            gboolean    system,
            const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwldDaemon) daemon = owld_daemon_new (path);
  g_autoptr(GDBusConnection) connection = connect_bus (session, system, address, &error);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(OwldBus) bus = NULL;
  Run run = { loop, daemon, connection, FALSE, 0 };
  guint owner_id, sources[4];

  if (connection == NULL)
    {
      g_printerr ("owlsockd: no bus: %s\n", error->message);
      return 1;
    }
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  if ((bus = owld_bus_new (daemon, connection, &error)) == NULL || !owld_daemon_start (daemon, &error))
    {
      g_printerr ("owlsockd: %s\n", error->message);
      return 1;
    }
  owld_bus_update (bus);
  g_signal_connect (daemon, "stopped", G_CALLBACK (on_stopped), &run);
  g_signal_connect_swapped (daemon, "idle", G_CALLBACK (owld_daemon_stop), daemon);
  g_signal_connect_swapped (connection, "closed", G_CALLBACK (owld_daemon_stop), daemon);
  sources[0] = g_unix_signal_add (SIGTERM, on_stop_signal, &run);
  sources[1] = g_unix_signal_add (SIGINT, on_stop_signal, &run);
  sources[2] = g_unix_signal_add (SIGHUP, on_hup, &run);
  sources[3] = 0;
  owner_id = g_bus_own_name_on_connection (connection, OWLD_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                           on_name_acquired, on_name_lost, &run, NULL);
  g_main_loop_run (loop);
  g_bus_unown_name (owner_id);
  for (guint i = 0; sources[i] != 0; i++)
    g_source_remove (sources[i]);
  g_signal_handlers_disconnect_by_data (connection, daemon);
  g_clear_pointer (&bus, owld_bus_free);
  g_dbus_connection_flush_sync (connection, NULL, NULL);
  return run.status;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *config = NULL;
  g_autofree char *check = NULL;
  g_autofree char *address = NULL;
  gboolean session = FALSE, system = FALSE, version = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Serve what FILE configures", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_FILENAME, &check, "Check FILE, print every error, and exit", "FILE" },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, "On the session bus (the default, or the bus that started it)", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &system, "On the system bus", NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "On the bus at ADDRESS", "ADDRESS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  g_option_context_set_summary (context, "A WebSocket hub that any process on the bus can drive.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("owlsockd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("owlsockd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (check != NULL)
    return check_config (check);
  if (config == NULL || (session + system + (address != NULL)) > 1)
    {
      g_printerr ("owlsockd: give --config FILE (and at most one of --session, --system, --address)\n");
      return 2;
    }
  return run_daemon (config, session, system, address);
}
