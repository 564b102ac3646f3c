/* bench-server.c: the endpoints of the benchmark harness (shared/bench)
 *
 *   /echo  every message is sent back
 *   /sub   joins the room "bench"
 *   /pub   every message is broadcast to the room "bench"
 *   /auth-echo     /echo behind a JWT guard (OWLSOCK_BENCH_JWT_SECRET set)
 *   /checked-echo  /echo with a message schema (OWLSOCK_BENCH_SCHEMA_FILE set)
 *   /hsub, /hpub   /sub and /pub on the room "bench-history", which keeps
 *                  1000 publications (history-size)
 *   /psub          joins the room "bench-presence", a module with presence
 *
 *   OWLSOCK_BENCH_BROKER=redis://127.0.0.1:6379   rooms shared through Redis
 *   (tests/bench/run-fanout-redis.sh)
 *
 *   build/examples/bench-server --port PORT    (stops on SIGTERM)
 *   build/examples/bench-server --port PORT --tls-cert cert.pem --tls-key key.pem   (wss://)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include <string.h>

#include "common.h"

#define BENCH_ROOM "bench"
#define HISTORY_ROOM "bench-history"
#define PRESENCE_ROOM "bench-presence"

static void
on_echo_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       user_data)
{
  owl_connection_send (connection, message, NULL);
}

static void
on_pub_message (OwlConnection *connection,
                JsonNode      *message,
                gpointer       service)
{
  owl_socket_service_broadcast (service, BENCH_ROOM, message, NULL);
}

static void
on_hpub_message (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       service)
{
  owl_socket_service_broadcast (service, HISTORY_ROOM, message, NULL);
}

static void
on_echo (OwlModule     *module,
         OwlConnection *connection,
         gpointer       service)
{
  g_signal_connect (connection, "message", G_CALLBACK (on_echo_message), NULL);
}

static void
on_sub (OwlModule     *module,
        OwlConnection *connection,
        gpointer       service)
{
  owl_connection_join (connection, BENCH_ROOM);
}

static void
on_hsub (OwlModule     *module,
         OwlConnection *connection,
         gpointer       service)
{
  owl_connection_join (connection, HISTORY_ROOM);
}

static void
on_psub (OwlModule     *module,
         OwlConnection *connection,
         gpointer       service)
{
  owl_connection_join (connection, PRESENCE_ROOM);
}

static void
on_hpub (OwlModule     *module,
         OwlConnection *connection,
         gpointer       service)
{
  g_signal_connect (connection, "message", G_CALLBACK (on_hpub_message), service);
}

static void
on_pub (OwlModule     *module,
        OwlConnection *connection,
        gpointer       service)
{
  g_signal_connect (connection, "message", G_CALLBACK (on_pub_message), service);
}

static gboolean
add_module (OwlSocketService  *service,
            const char        *path,
            GCallback          on_connection,
            GError           **error)
{
  g_autoptr(OwlModule) module = owl_module_new (path + 1, path);

  /* /auth-echo: /echo behind the JWT guard, to measure what checking a
   * token costs (the token travels in ?token=). */
  if (g_str_equal (path, "/auth-echo"))
    {
      const char *guards[] = { "jwt", NULL };

      g_object_set (module, "guards", guards, NULL);
    }
  if (g_str_equal (path, "/hsub") || g_str_equal (path, "/hpub"))
    g_object_set (module, "history-size", 1000, NULL);
  if (g_str_equal (path, "/psub"))
    g_object_set (module, "presence", TRUE, NULL);

  g_signal_connect (module, "connection", on_connection, service);
  return owl_socket_service_add_module (service, module, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  g_autoptr(GError) error = NULL;

  /* The load generator is one address opening 10,000 connections, each
   * sending as fast as it can: the defaults for the open internet would
   * (rightly) refuse it. The limiter stays on, with a rate it never meets. */
  g_object_set (service,
                "max-connections", 100000,
                "max-connections-per-ip", 100000,
                "rate-limit", 1e9,
                NULL);
  if (g_getenv ("OWLSOCK_BENCH_BROKER") != NULL && *g_getenv ("OWLSOCK_BENCH_BROKER") != '\0')
    g_object_set (service, "broker", g_getenv ("OWLSOCK_BENCH_BROKER"), NULL);

  /* With OWLSOCK_BENCH_JWT_SECRET set, /auth-echo is /echo behind an
   * HS256 JWT guard. */
  if (g_getenv ("OWLSOCK_BENCH_JWT_SECRET") != NULL)
    {
      const char *secret = g_getenv ("OWLSOCK_BENCH_JWT_SECRET");
      g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();

      g_object_set (service, "max-connections-per-user", 100000, NULL);
      if (!owl_jwt_guard_add_secret (OWL_JWT_GUARD (guard), NULL, (const guint8 *) secret,
                                     strlen (secret), &error) ||
          !owl_socket_service_add_guard (service, "jwt", guard, &error) ||
          !add_module (service, "/auth-echo", G_CALLBACK (on_echo), &error))
        {
          g_printerr ("bench-server: %s\n", error->message);
          return EXIT_FAILURE;
        }
    }

  /* With OWLSOCK_BENCH_SCHEMA_FILE set, /checked-echo is /echo whose
   * messages are checked against that schema (tests/bench/stall.py). */
  if (g_getenv ("OWLSOCK_BENCH_SCHEMA_FILE") != NULL)
    {
      g_autofree char *text = NULL;
      g_autoptr(OwlSchema) schema = NULL;
      g_autoptr(OwlModule) module = owl_module_new ("checked-echo", "/checked-echo");

      if (!g_file_get_contents (g_getenv ("OWLSOCK_BENCH_SCHEMA_FILE"), &text, NULL, &error) ||
          (schema = owl_schema_new_from_string (text, &error)) == NULL)
        {
          g_printerr ("bench-server: %s\n", error->message);
          return EXIT_FAILURE;
        }
      g_object_set (module, "message-schema", schema, NULL);
      g_signal_connect (module, "connection", G_CALLBACK (on_echo), service);
      if (!owl_socket_service_add_module (service, module, &error))
        {
          g_printerr ("bench-server: %s\n", error->message);
          return EXIT_FAILURE;
        }
    }

  if (!add_module (service, "/echo", G_CALLBACK (on_echo), &error) ||
      !add_module (service, "/sub", G_CALLBACK (on_sub), &error) ||
      !add_module (service, "/pub", G_CALLBACK (on_pub), &error) ||
      !add_module (service, "/hsub", G_CALLBACK (on_hsub), &error) ||
      !add_module (service, "/hpub", G_CALLBACK (on_hpub), &error) ||
      !add_module (service, "/psub", G_CALLBACK (on_psub), &error))
    {
      g_printerr ("bench-server: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return example_main (service, argc, argv);
}
