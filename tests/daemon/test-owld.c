/* test-owld.c: owlsockd's library driven directly, without a bus: what a
 * reload keeps and what it replaces
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "owld-daemon.h"

/* The daemon links the shared library, so the C tests' helpers (over the
 * internal static one) are not for here: a wait of its own, with its
 * watchdog. */
static gboolean
fire (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

#define WAIT_FOR(expr) \
  G_STMT_START { \
    gboolean fired_ = FALSE; \
    guint watchdog_ = g_timeout_add (10000, fire, &fired_); \
    while (!(expr)) \
      { \
        if (fired_) \
          g_error ("timed out waiting for %s", #expr); \
        g_main_context_iteration (NULL, TRUE); \
      } \
    if (!fired_) \
      g_source_remove (watchdog_); \
  } G_STMT_END

#define SECRET_A "a-secret-of-at-least-thirty-two-bytes-A"
#define SECRET_B "a-secret-of-at-least-thirty-two-bytes-B"

typedef struct
{
  char *dir;
  char *path;
} Files;

static void
files_setup (Files *files)
{
  g_autoptr(GError) error = NULL;

  files->dir = g_dir_make_tmp ("owld-test-XXXXXX", &error);
  g_assert_no_error (error);
  files->path = g_build_filename (files->dir, "owlsockd.conf", NULL);
}

static void
files_write (Files      *files,
             const char *name,
             const char *text)
{
  g_autofree char *path = g_build_filename (files->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

static void
files_teardown (Files *files)
{
  const char *names[] = { "owlsockd.conf", "a.secret", "b.secret", NULL };

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (files->dir, names[i], NULL);

      g_remove (path);
    }
  g_rmdir (files->dir);
  g_free (files->dir);
  g_free (files->path);
}

static const char *
config_text (const char *secret_file)
{
  static char text[1024];

  g_snprintf (text, sizeof text,
              "[service]\nlisten=127.0.0.1:0\n"
              "[guard users]\ntype=jwt\nsecret-file=%s\n"
              "[module open]\npath=/ws/open\nbehaviour=echo\n"
              "[module chat]\npath=/ws/chat/:room\nbehaviour=room\nguards=users\n",
              secret_file);
  return text;
}

/* A module's signature changes with its guard's file, not with another
 * module's. */
static void
test_signatures (void)
{
  Files files;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwldConfig) first = NULL;
  g_autoptr(OwldConfig) second = NULL;

  files_setup (&files);
  files_write (&files, "a.secret", SECRET_A);
  files_write (&files, "owlsockd.conf", config_text ("a.secret"));
  first = owld_config_load (files.path, &error);
  g_assert_no_error (error);
  files_write (&files, "a.secret", SECRET_B);
  second = owld_config_load (files.path, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (owld_config_find_module (first, "open")->signature, ==,
                   owld_config_find_module (second, "open")->signature);
  g_assert_cmpstr (owld_config_find_module (first, "chat")->signature, !=,
                   owld_config_find_module (second, "chat")->signature);
  g_assert_cmpstr (owld_config_find_guard (first, "users")->alias, !=,
                   owld_config_find_guard (second, "users")->alias);
  files_teardown (&files);
}

/* In process: a reload keeps the module object (and its connections) of
 * an unchanged section and replaces the one whose guard changed. */
static void
test_reload_keeps_unchanged_modules (void)
{
  Files files;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwldDaemon) daemon = NULL;
  OwlSocketService *service;
  OwlModule *open_before, *chat_before;
  g_autofree char *old_alias = NULL;
  gboolean stopped = FALSE;

  files_setup (&files);
  files_write (&files, "a.secret", SECRET_A);
  files_write (&files, "b.secret", SECRET_B);
  files_write (&files, "owlsockd.conf", config_text ("a.secret"));
  daemon = owld_daemon_new (files.path);
  g_assert_true (owld_daemon_start (daemon, &error));
  g_assert_no_error (error);
  service = owld_daemon_get_service (daemon);
  g_assert_cmpuint (owl_socket_service_get_port (service), >, 0);
  open_before = owl_socket_service_lookup_module (service, "open");
  chat_before = owl_socket_service_lookup_module (service, "chat");
  old_alias = g_strdup (owld_config_find_guard (owld_daemon_get_config (daemon), "users")->alias);
  g_assert_nonnull (owl_socket_service_lookup_guard (service, old_alias));

  files_write (&files, "owlsockd.conf", config_text ("b.secret"));
  g_assert_true (owld_daemon_reload (daemon, &error));
  g_assert_no_error (error);
  /* The changed guard is a new alias; the old one is gone, not kept. */
  g_assert_null (owl_socket_service_lookup_guard (service, old_alias));
  g_assert_nonnull (owl_socket_service_lookup_guard (service, owld_config_find_guard (owld_daemon_get_config (daemon), "users")->alias));
  g_assert_true (owl_socket_service_lookup_module (service, "open") == open_before);
  g_assert_true (owl_socket_service_lookup_module (service, "chat") != chat_before);
  g_assert_nonnull (owl_socket_service_lookup_module (service, "chat"));

  files_write (&files, "owlsockd.conf", "[module open]\npath=/ws/open\nbehaviour=nothing\n");
  g_assert_false (owld_daemon_reload (daemon, &error));
  g_assert_error (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID);
  g_assert_true (owl_socket_service_lookup_module (service, "open") == open_before);

  g_signal_connect_swapped (daemon, "stopped", G_CALLBACK (fire), &stopped);
  owld_daemon_stop (daemon);
  WAIT_FOR (stopped);
  files_teardown (&files);
}

/* A configuration of one echo module and these [service] keys. */
static OwldConfig *
load_service_keys (Files       *files,
                   const char  *keys,
                   GError     **error)
{
  g_autofree char *text = g_strdup_printf ("[service]\n%s[module open]\npath=/ws/open\nbehaviour=echo\n", keys);

  files_write (files, "owlsockd.conf", text);
  return owld_config_load (files->path, error);
}

static gboolean
access_log_after (OwldConfig       *config,
                  OwldConfig       *before,
                  OwlSocketService *service)
{
  gboolean value = FALSE;

  owld_config_apply_service (config, before, service);
  g_object_get (service, "access-log", &value, NULL);
  return value;
}

/* access-log in [service] switches the service's access log; a reload
 * without the key switches it back off; a value other than true or false
 * is refused. */
static void
test_access_log_key (void)
{
  Files files;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwldConfig) on = NULL;
  g_autoptr(OwldConfig) off = NULL;
  g_autoptr(OwldConfig) bad = NULL;
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);

  files_setup (&files);
  on = load_service_keys (&files, "listen=127.0.0.1:0\naccess-log=true\n", &error);
  g_assert_no_error (error);
  g_assert_true (access_log_after (on, NULL, service));
  off = load_service_keys (&files, "listen=127.0.0.1:0\n", &error);
  g_assert_no_error (error);
  g_assert_false (access_log_after (off, on, service));

  bad = load_service_keys (&files, "access-log=yes\n", &error);
  g_assert_null (bad);
  g_assert_error (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "access-log"));
  files_teardown (&files);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/owld/config/signatures", test_signatures);
  g_test_add_func ("/owld/daemon/reload-keeps-unchanged-modules", test_reload_keeps_unchanged_modules);
  g_test_add_func ("/owld/config/access-log", test_access_log_key);
  return g_test_run ();
}
