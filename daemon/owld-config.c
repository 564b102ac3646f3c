/* owld-config.c: owlsockd's configuration file, read and checked whole
 *
 * Everything a configuration names is built here (guards with their keys,
 * gates, schemas, modules with their limits), before anything runs: a file
 * with one error starts nothing, and every error is reported, each with its
 * file, line and key.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owld-config.h"

G_DEFINE_QUARK (owld-config-error-quark, owld_config_error)

typedef struct
{
  OwldConfig     *config;
  GKeyFile       *keyfile;
  OwldConfigText *text;
  GPtrArray      *errors;
  char           *dir;
} Loader;

#define ERR(l, group, key, ...) owld_config_text_error ((l)->text, (l)->errors, group, key, __VA_ARGS__)

static const char * const service_keys[] = {
  "listen", "tls-certificate", "tls-key", "metrics", "metrics-token-file", "exit-on-idle",
  "static-dir", "static-prefix", NULL
};
static const char * const module_keys[] = {
  "path", "guards", "gates", "origins", "message-schema", "query-schema", "params-schema",
  "behaviour", "room-param", "on-handler-vanish", "call-timeout", "stats-interval", NULL
};
/* Properties set through keys of their own, never by name. */
static const char * const hidden_properties[] = {
  "alias", "path", "guards", "gates", "message-schema", "query-schema", "params-schema",
  "metrics-token", "broker", "broker-prefix", "broker-heartbeat", "node-name", NULL
};

static void
guard_config_free (gpointer data)
{
  OwldGuardConfig *guard = data;

  g_free (guard->name);
  g_free (guard->alias);
  g_clear_object (&guard->guard);
  g_free (guard);
}

static void
gate_config_free (gpointer data)
{
  OwldGateConfig *gate = data;

  g_free (gate->name);
  g_free (gate->alias);
  g_clear_object (&gate->gate);
  g_free (gate);
}

static void
module_config_free (gpointer data)
{
  OwldModuleConfig *module = data;

  g_free (module->name);
  g_free (module->signature);
  g_free (module->room_param);
  g_clear_object (&module->module);
  g_clear_pointer (&module->bus_guards, g_ptr_array_unref);
  g_free (module);
}

void
owld_config_free (OwldConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_strfreev (config->listen);
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_free (config->static_dir);
  g_free (config->static_prefix);
  g_ptr_array_unref (config->service_names);
  g_array_unref (config->service_values);
  g_ptr_array_unref (config->module_default_names);
  g_array_unref (config->module_default_values);
  g_free (config->broker_signature);
  g_ptr_array_unref (config->guards);
  g_ptr_array_unref (config->gates);
  g_ptr_array_unref (config->modules);
  g_free (config);
}

/* Files and signatures ----------------------------------------------------------- */

/* A path in the file is relative to the file's folder. */
static char *
resolve_path (Loader     *l,
              const char *path)
{
  return g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (l->dir, path, NULL);
}

/* The file @key names, resolved; NULL (and an error) when it names none. */
static char *
file_path (Loader     *l,
           const char *group,
           const char *key)
{
  g_autofree char *value = g_key_file_get_string (l->keyfile, group, key, NULL);

  if (value == NULL || value[0] == '\0')
    {
      ERR (l, group, key, "a file name is required");
      return NULL;
    }
  return resolve_path (l, value);
}

/* Reports @error, met reading the file @key names. */
static void
file_error (Loader       *l,
            const char   *group,
            const char   *key,
            const GError *error)
{
  g_autofree char *value = g_key_file_get_string (l->keyfile, group, key, NULL);

  if (error->domain == G_FILE_ERROR)
    ERR (l, group, key, "cannot read \"%s\": %s", value, error->message);
  else
    ERR (l, group, key, "%s", error->message);
}

static char *
read_file (Loader     *l,
           const char *group,
           const char *key,
           gsize      *len)
{
  g_autofree char *path = file_path (l, group, key);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  if (path != NULL && !g_file_get_contents (path, &data, len, &error))
    file_error (l, group, key, error);
  return data;
}

/* What a section says, with the contents of the files it names: two equal
 * signatures build the same object. */
static char *
section_signature (Loader     *l,
                   const char *group)
{
  g_auto(GStrv) keys = g_key_file_get_keys (l->keyfile, group, NULL, NULL);
  g_autoptr(GString) text = g_string_new (group);

  for (guint i = 0; keys && keys[i]; i++)
    {
      g_autofree char *value = g_key_file_get_value (l->keyfile, group, keys[i], NULL);

      g_string_append_printf (text, "\n%s=%s", keys[i], value);
      if (g_str_has_suffix (keys[i], "-file") || g_str_has_suffix (keys[i], "-schema"))
        {
          g_autofree char *path = resolve_path (l, value);
          g_autofree char *data = NULL;
          gsize len = 0;

          if (g_file_get_contents (path, &data, &len, NULL))
            g_string_append_printf (text, "\n%s", data);
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
make_alias (const char *name,
            const char *signature)
{
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, signature, -1);

  return g_strdup_printf ("%s#%.12s", name, sum);
}

static gboolean
check_keys (Loader             *l,
            const char         *group,
            const char * const *allowed)
{
  g_auto(GStrv) keys = g_key_file_get_keys (l->keyfile, group, NULL, NULL);
  gboolean ok = TRUE;

  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (allowed, keys[i]))
      {
        ERR (l, group, keys[i], "unknown key");
        ok = FALSE;
      }
  return ok;
}

/* Properties by name ------------------------------------------------------------- */

/* @key as a writable property of @klass, parsed; FALSE (and an error) if it
 * is none. */
static gboolean
property_from_key (Loader       *l,
                   GObjectClass *klass,
                   const char   *group,
                   const char   *key,
                   GPtrArray    *names,
                   GArray       *values)
{
  GParamSpec *pspec = g_object_class_find_property (klass, key);
  GValue value = G_VALUE_INIT;
  g_autofree char *why = NULL;

  if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE) ||
      (pspec->flags & G_PARAM_CONSTRUCT_ONLY) || g_strv_contains (hidden_properties, key))
    {
      if (g_str_equal (key, "metrics-token"))
        ERR (l, group, key, "secrets are read from files: use metrics-token-file");
      else if (pspec != NULL && (g_str_has_prefix (key, "broker") || g_str_equal (key, "node-name")))
        ERR (l, group, key, "set in [broker] (type, address, prefix, heartbeat, node)");
      else
        ERR (l, group, key, "unknown key");
      return FALSE;
    }
  if (!owld_config_parse_value (pspec, l->keyfile, group, key, &value, &why))
    {
      ERR (l, group, key, "%s", why);
      g_value_unset (&value);
      return FALSE;
    }
  g_ptr_array_add (names, (gpointer) g_intern_string (pspec->name));
  g_array_append_val (values, value);
  return TRUE;
}

static void
clear_value (gpointer data)
{
  g_value_unset (data);
}

static GArray *
values_new (void)
{
  GArray *values = g_array_new (FALSE, TRUE, sizeof (GValue));

  g_array_set_clear_func (values, clear_value);
  return values;
}

/* [service] --------------------------------------------------------------------- */

/* "127.0.0.1:8080", "[::1]:0", "localhost:80": an IP address (or
 * localhost) and a port. */
gboolean
owld_config_parse_address (const char  *text,
                           char       **host,
                           guint16     *port)
{
  const char *colon = strrchr (text, ':');
  guint64 n;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, G_MAXUINT16, &n, NULL))
    return FALSE;
  if (text[0] == '[')
    {
      if (colon < text + 2 || colon[-1] != ']')
        return FALSE;
      *host = g_strndup (text + 1, colon - text - 2);
    }
  else
    *host = g_strndup (text, colon - text);
  *port = n;
  if (g_hostname_is_ip_address (*host) || g_str_equal (*host, "localhost"))
    return TRUE;
  g_clear_pointer (host, g_free);
  return FALSE;
}

static void
load_listen (Loader     *l,
             const char *group)
{
  g_auto(GStrv) list = NULL;

  if (!g_key_file_has_key (l->keyfile, group, "listen", NULL))
    {
      l->config->listen = g_strsplit ("127.0.0.1:8080", ";", -1);
      return;
    }
  list = g_key_file_get_string_list (l->keyfile, group, "listen", NULL, NULL);
  for (guint i = 0; list && list[i]; i++)
    {
      g_autofree char *host = NULL;
      guint16 port;

      g_strstrip (list[i]);
      if (!owld_config_parse_address (list[i], &host, &port))
        ERR (l, group, "listen", "\"%s\" is not ADDRESS:PORT (127.0.0.1:8080, [::1]:0)", list[i]);
    }
  /* Empty: only the sockets systemd passes. */
  l->config->listen = list ? g_steal_pointer (&list) : g_new0 (char *, 1);
}

static void
load_metrics (Loader     *l,
              const char *group)
{
  g_autofree char *metrics = g_key_file_get_string (l->keyfile, group, "metrics", NULL);
  GValue value = G_VALUE_INIT;

  if (metrics == NULL || g_str_equal (metrics, "false"))
    return;
  if (!g_str_equal (metrics, "true") && metrics[0] != '/')
    {
      ERR (l, group, "metrics", "\"%s\" is not true, false or a path such as /metrics", metrics);
      return;
    }
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, metrics[0] == '/' ? metrics : "/metrics");
  g_ptr_array_add (l->config->service_names, (gpointer) g_intern_static_string ("metrics-path"));
  g_array_append_val (l->config->service_values, value);
}

static void
load_metrics_token (Loader     *l,
                    const char *group)
{
  g_autofree char *data = NULL;
  GValue value = G_VALUE_INIT;
  gsize len = 0;

  if (!g_key_file_has_key (l->keyfile, group, "metrics-token-file", NULL))
    return;
  data = read_file (l, group, "metrics-token-file", &len);
  if (data == NULL)
    return;
  g_strchomp (data);
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, data);
  g_ptr_array_add (l->config->service_names, (gpointer) g_intern_static_string ("metrics-token"));
  g_array_append_val (l->config->service_values, value);
}

/* static-dir (relative to the file) and static-prefix. */
static void
load_static (Loader     *l,
             const char *group)
{
  g_autofree char *dir = g_key_file_get_string (l->keyfile, group, "static-dir", NULL);
  g_autofree char *prefix = g_key_file_get_string (l->keyfile, group, "static-prefix", NULL);

  if (prefix != NULL && (prefix[0] != '/' || (prefix[1] != '\0' && g_str_has_suffix (prefix, "/"))))
    ERR (l, group, "static-prefix", "\"%s\" is not a path such as / or /demo (no trailing /)", prefix);
  l->config->static_prefix = g_strdup (prefix != NULL ? prefix : "/");
  if (dir == NULL || dir[0] == '\0')
    return;
  l->config->static_dir = resolve_path (l, dir);
  if (!g_file_test (l->config->static_dir, G_FILE_TEST_IS_DIR))
    ERR (l, group, "static-dir", "\"%s\" is not a folder", l->config->static_dir);
}

static void
load_service (Loader     *l,
              const char *group)
{
  g_auto(GStrv) keys = g_key_file_get_keys (l->keyfile, group, NULL, NULL);
  GObjectClass *klass = g_type_class_ref (OWL_TYPE_SOCKET_SERVICE);
  g_autoptr(GError) error = NULL;

  load_listen (l, group);
  load_metrics (l, group);
  load_metrics_token (l, group);
  l->config->tls_certificate = g_key_file_get_string (l->keyfile, group, "tls-certificate", NULL);
  l->config->tls_key = g_key_file_get_string (l->keyfile, group, "tls-key", NULL);
  if ((l->config->tls_certificate == NULL) != (l->config->tls_key == NULL))
    ERR (l, group, l->config->tls_key ? "tls-key" : "tls-certificate",
         "tls-certificate and tls-key go together");
  if (l->config->tls_certificate && l->config->tls_key)
    {
      g_autofree char *cert = resolve_path (l, l->config->tls_certificate);
      g_autofree char *key = resolve_path (l, l->config->tls_key);
      g_autoptr(GTlsCertificate) tls = g_tls_certificate_new_from_files (cert, key, &error);

      if (tls == NULL)
        ERR (l, group, "tls-certificate", "%s", error->message);
      g_free (l->config->tls_certificate);
      g_free (l->config->tls_key);
      l->config->tls_certificate = g_steal_pointer (&cert);
      l->config->tls_key = g_steal_pointer (&key);
    }
  load_static (l, group);
  if (g_key_file_has_key (l->keyfile, group, "exit-on-idle", NULL))
    {
      gint v = g_key_file_get_integer (l->keyfile, group, "exit-on-idle", &error);

      if (error != NULL || v < 0)
        ERR (l, group, "exit-on-idle", "a number of seconds (0: never) is required");
      l->config->exit_on_idle = MAX (v, 0);
    }
  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (service_keys, keys[i]))
      property_from_key (l, klass, group, keys[i], l->config->service_names, l->config->service_values);
  g_type_class_unref (klass);
}

/* [guard NAME] ------------------------------------------------------------------ */

static OwlGuard *
load_jwt_guard (Loader     *l,
                const char *group)
{
  static const char * const keys[] = {
    "type", "secret-file", "public-key-file", "issuer", "audience", "leeway", NULL
  };
  g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;
  gboolean secret = g_key_file_has_key (l->keyfile, group, "secret-file", NULL);
  gboolean public = g_key_file_has_key (l->keyfile, group, "public-key-file", NULL);

  check_keys (l, group, keys);
  if (secret == public)
    {
      ERR (l, group, "type", "a jwt guard needs secret-file or public-key-file (one of them)");
      return NULL;
    }
  if (secret)
    {
      g_autofree char *path = file_path (l, group, "secret-file");

      if (path == NULL)
        return NULL;
      /* Read as owlsock-token reads it: one trailing newline dropped. */
      if (!owl_jwt_guard_load_secret_file (OWL_JWT_GUARD (guard), NULL, path, &error))
        file_error (l, group, "secret-file", error);
    }
  else
    {
      g_autofree char *value = g_key_file_get_string (l->keyfile, group, "public-key-file", NULL);
      g_autofree char *path = resolve_path (l, value);

      if (!owl_jwt_guard_load_public_key_file (OWL_JWT_GUARD (guard), NULL, path, &error))
        ERR (l, group, "public-key-file", "%s", error->message);
    }
  for (guint i = 3; keys[i] != NULL; i++)
    if (g_key_file_has_key (l->keyfile, group, keys[i], NULL))
      {
        g_autoptr(GPtrArray) names = g_ptr_array_new ();
        g_autoptr(GArray) values = values_new ();

        if (property_from_key (l, G_OBJECT_GET_CLASS (guard), group, keys[i], names, values))
          g_object_set_property (G_OBJECT (guard), names->pdata[0], &g_array_index (values, GValue, 0));
      }
  return error ? NULL : g_steal_pointer (&guard);
}

static void
load_guard (Loader     *l,
            const char *group,
            const char *name)
{
  static const char * const bus_keys[] = { "type", NULL };
  g_autofree char *type = g_key_file_get_string (l->keyfile, group, "type", NULL);
  g_autofree char *signature = section_signature (l, group);
  OwldGuardConfig *guard = g_new0 (OwldGuardConfig, 1);

  guard->name = g_strdup (name);
  guard->alias = make_alias (name, signature);
  g_ptr_array_add (l->config->guards, guard);
  if (g_strcmp0 (type, "jwt") == 0)
    guard->guard = load_jwt_guard (l, group);
  else if (g_strcmp0 (type, "bus") == 0)
    {
      guard->bus = TRUE;
      check_keys (l, group, bus_keys);
    }
  else if (type == NULL)
    ERR (l, group, NULL, "a guard needs a type (jwt or bus)");
  else
    ERR (l, group, "type", "unknown guard type \"%s\" (jwt or bus)", type);
}

/* [gate NAME] ------------------------------------------------------------------- */

static void
load_gate (Loader     *l,
           const char *group,
           const char *name)
{
  static const char * const keys[] = { "scopes", "route-param", "claim", NULL };
  g_auto(GStrv) scopes = g_key_file_get_string_list (l->keyfile, group, "scopes", NULL, NULL);
  g_autofree char *param = g_key_file_get_string (l->keyfile, group, "route-param", NULL);
  g_autofree char *claim = g_key_file_get_string (l->keyfile, group, "claim", NULL);
  g_autofree char *signature = section_signature (l, group);
  OwldGateConfig *gate = g_new0 (OwldGateConfig, 1);

  gate->name = g_strdup (name);
  gate->alias = make_alias (name, signature);
  g_ptr_array_add (l->config->gates, gate);
  check_keys (l, group, keys);
  if ((scopes != NULL) == (param != NULL))
    ERR (l, group, NULL, "a gate needs scopes or route-param (one of them)");
  else if (scopes != NULL)
    gate->gate = owl_scope_gate_new ((const char * const *) scopes);
  else if (param[0] == '\0' || param[0] == ':')
    ERR (l, group, "route-param", "a param name without \":\" is required");
  else
    gate->gate = owl_param_gate_new (param, claim);
  if (claim != NULL && param == NULL)
    ERR (l, group, "claim", "claim goes with route-param");
}

/* [module NAME] ------------------------------------------------------------------ */

static OwldGateConfig *
find_gate (OwldConfig *config,
           const char *name)
{
  for (guint i = 0; i < config->gates->len; i++)
    {
      OwldGateConfig *gate = config->gates->pdata[i];

      if (g_str_equal (gate->name, name))
        return gate;
    }
  return NULL;
}

static void
load_schema (Loader           *l,
             OwldModuleConfig *m,
             const char       *group,
             const char       *key)
{
  g_autofree char *data = NULL;
  g_autoptr(OwlSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (!g_key_file_has_key (l->keyfile, group, key, NULL))
    return;
  data = read_file (l, group, key, &len);
  if (data == NULL)
    return;
  schema = owl_schema_new_from_string (data, &error);
  if (schema == NULL)
    ERR (l, group, key, "%s", error->message);
  else
    g_object_set (m->module, key, schema, NULL);
}

/* The aliases of the guards (or gates) the module names, each being a
 * section of the file; appended to @signature. */
static char **
resolve_guards (Loader           *l,
                OwldModuleConfig *m,
                const char       *group,
                gboolean          gates,
                GString          *signature)
{
  const char *key = gates ? "gates" : "guards";
  g_auto(GStrv) names = g_key_file_get_string_list (l->keyfile, group, key, NULL, NULL);
  g_autoptr(GStrvBuilder) aliases = g_strv_builder_new ();

  for (guint i = 0; names && names[i]; i++)
    {
      OwldGuardConfig *guard = gates ? NULL : owld_config_find_guard (l->config, names[i]);
      OwldGateConfig *gate = gates ? find_gate (l->config, names[i]) : NULL;
      g_autofree char *alias = NULL;

      if (guard == NULL && gate == NULL)
        {
          ERR (l, group, key, "unknown %s \"%s\"", gates ? "gate" : "guard", names[i]);
          continue;
        }
      alias = g_strdup (gate ? gate->alias : guard->alias);
      if (guard != NULL && guard->bus)
        {
          if (m->behaviour != OWLD_BEHAVIOUR_BUS)
            ERR (l, group, key, "the bus guard \"%s\" needs behaviour=bus", names[i]);
          g_free (alias);
          alias = g_strconcat (guard->alias, "@", m->name, NULL);
          g_ptr_array_add (m->bus_guards, g_strdup (alias));
        }
      g_string_append_printf (signature, "\n%s", alias);
      g_strv_builder_add (aliases, alias);
    }
  return g_strv_builder_end (aliases);
}

static void
load_behaviour (Loader           *l,
                OwldModuleConfig *m,
                const char       *group,
                const char       *path)
{
  g_autofree char *behaviour = g_key_file_get_string (l->keyfile, group, "behaviour", NULL);
  g_autofree char *vanish = g_key_file_get_string (l->keyfile, group, "on-handler-vanish", NULL);
  g_autofree char *room = g_key_file_get_string (l->keyfile, group, "room-param", NULL);
  g_autofree char *needle = NULL;
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (behaviour, "echo") == 0)
    m->behaviour = OWLD_BEHAVIOUR_ECHO;
  else if (g_strcmp0 (behaviour, "room") == 0)
    m->behaviour = OWLD_BEHAVIOUR_ROOM;
  else if (g_strcmp0 (behaviour, "bus") == 0)
    m->behaviour = OWLD_BEHAVIOUR_BUS;
  else if (g_strcmp0 (behaviour, "stats") == 0)
    m->behaviour = OWLD_BEHAVIOUR_STATS;
  else if (behaviour == NULL)
    ERR (l, group, NULL, "a module needs a behaviour (echo, room, bus or stats)");
  else
    ERR (l, group, "behaviour", "unknown behaviour \"%s\" (echo, room, bus or stats)", behaviour);

  m->room_param = g_strdup (room ? room : "room");
  needle = g_strconcat ("/:", m->room_param, NULL);
  if (room != NULL && m->behaviour != OWLD_BEHAVIOUR_ROOM)
    ERR (l, group, "room-param", "only for behaviour=room");
  else if (m->behaviour == OWLD_BEHAVIOUR_ROOM && path != NULL &&
           !(g_str_has_suffix (path, needle) || strstr (path, needle) != NULL))
    ERR (l, group, room ? "room-param" : "path", "the path has no param :%s", m->room_param);

  if (vanish != NULL && m->behaviour != OWLD_BEHAVIOUR_BUS)
    ERR (l, group, "on-handler-vanish", "only for behaviour=bus");
  else if (vanish != NULL && !g_str_equal (vanish, "close") && !g_str_equal (vanish, "keep"))
    ERR (l, group, "on-handler-vanish", "\"%s\" is not close or keep", vanish);
  m->vanish = g_strcmp0 (vanish, "keep") == 0 ? OWLD_VANISH_KEEP : OWLD_VANISH_CLOSE;

  m->stats_interval_ms = 1000;
  if (g_key_file_has_key (l->keyfile, group, "stats-interval", NULL))
    {
      gint seconds = g_key_file_get_integer (l->keyfile, group, "stats-interval", &error);

      if (m->behaviour != OWLD_BEHAVIOUR_STATS)
        ERR (l, group, "stats-interval", "only for behaviour=stats");
      else if (error != NULL || seconds <= 0 || seconds > 3600)
        ERR (l, group, "stats-interval", "a number of seconds from 1 to 3600 is required");
      else
        m->stats_interval_ms = seconds * 1000;
      g_clear_error (&error);
    }

  m->call_timeout_ms = 30000;
  if (g_key_file_has_key (l->keyfile, group, "call-timeout", NULL))
    {
      gint seconds = g_key_file_get_integer (l->keyfile, group, "call-timeout", &error);

      if (error != NULL || seconds <= 0 || seconds > 3600)
        ERR (l, group, "call-timeout", "a number of seconds from 1 to 3600 is required");
      else
        m->call_timeout_ms = seconds * 1000;
    }
}

static void
load_module_properties (Loader           *l,
                        OwldModuleConfig *m,
                        const char       *group)
{
  g_auto(GStrv) keys = g_key_file_get_keys (l->keyfile, group, NULL, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GArray) values = values_new ();

  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (module_keys, keys[i]))
      property_from_key (l, G_OBJECT_GET_CLASS (m->module), group, keys[i], names, values);
  for (guint i = 0; i < names->len; i++)
    g_object_set_property (G_OBJECT (m->module), names->pdata[i], &g_array_index (values, GValue, i));
  if (g_key_file_has_key (l->keyfile, group, "origins", NULL))
    {
      g_auto(GStrv) origins = g_key_file_get_string_list (l->keyfile, group, "origins", NULL, NULL);

      g_object_set (m->module, "allowed-origins", origins, NULL);
    }
  load_schema (l, m, group, "message-schema");
  load_schema (l, m, group, "query-schema");
  load_schema (l, m, group, "params-schema");
}

static void
load_module (Loader     *l,
             const char *group,
             const char *name)
{
  g_autofree char *path = g_key_file_get_string (l->keyfile, group, "path", NULL);
  g_autofree char *own = section_signature (l, group);
  g_autoptr(GString) signature = g_string_new (own);
  g_auto(GStrv) guards = NULL;
  g_auto(GStrv) gates = NULL;
  OwldModuleConfig *m = g_new0 (OwldModuleConfig, 1);

  m->name = g_strdup (name);
  m->bus_guards = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (l->config->modules, m);
  if (path == NULL || path[0] != '/')
    ERR (l, group, path ? "path" : NULL, "a module needs a path starting with \"/\"");
  m->module = owl_module_new (name, path && path[0] == '/' ? path : "/");
  load_behaviour (l, m, group, path);
  guards = resolve_guards (l, m, group, FALSE, signature);
  gates = resolve_guards (l, m, group, TRUE, signature);
  g_object_set (m->module, "guards", guards, "gates", gates, NULL);
  load_module_properties (l, m, group);
  owld_config_broker_apply_module (l->config, l->keyfile, group, m->module, signature);
  m->signature = g_string_free (g_steal_pointer (&signature), FALSE);
}

/* The file ------------------------------------------------------------------------ */

static void
load_group (Loader     *l,
            const char *group,
            gboolean    modules)
{
  if (g_str_equal (group, "service"))
    {
      if (!modules)
        load_service (l, group);
    }
  else if (g_str_equal (group, "broker"))
    {
      if (!modules)
        owld_config_load_broker (l->config, l->keyfile, l->text, l->errors);
    }
  else if (g_str_has_prefix (group, "guard ") && group[6] != '\0')
    {
      if (!modules)
        load_guard (l, group, group + 6);
    }
  else if (g_str_has_prefix (group, "gate ") && group[5] != '\0')
    {
      if (!modules)
        load_gate (l, group, group + 5);
    }
  else if (g_str_has_prefix (group, "module ") && group[7] != '\0')
    {
      if (modules)
        load_module (l, group, group + 7);
    }
  else if (!modules)
    ERR (l, group, NULL, "unknown group (service, broker, guard NAME, gate NAME or module NAME)");
}

/* The paths as the service will see them (a bad pattern, two modules on
 * one path), on a service of its own that never listens: a reload must not
 * find out halfway. */
static void
check_paths (Loader *l)
{
  g_autoptr(OwlSocketService) scratch = owl_socket_service_new (NULL);

  for (guint i = 0; i < l->config->modules->len; i++)
    {
      OwldModuleConfig *m = l->config->modules->pdata[i];
      g_autofree char *group = g_strconcat ("module ", m->name, NULL);
      g_autoptr(OwlModule) probe = owl_module_new (m->name, owl_module_get_path (m->module));
      g_autoptr(GError) error = NULL;

      if (!owl_socket_service_add_module (scratch, probe, &error))
        ERR (l, group, "path", "%s", error->message);
    }
}

static void
load_groups (Loader *l)
{
  g_auto(GStrv) groups = g_key_file_get_groups (l->keyfile, NULL);

  if (!g_key_file_has_group (l->keyfile, "service"))
    load_listen (l, "service");
  /* Guards and gates first: modules name them. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; groups[i] != NULL; i++)
      load_group (l, groups[i], pass == 1);
  if (l->config->modules->len == 0)
    ERR (l, NULL, NULL, "no [module NAME] group: nothing to serve");
  else if (l->errors->len == 0)
    check_paths (l);
}

/* Reads and checks @path whole; %NULL with every problem in the error's
 * message, one per line ("FILE:LINE: [GROUP] KEY: what"). */
OwldConfig *
owld_config_load (const char  *path,
                  GError     **error)
{
  g_autoptr(OwldConfig) config = g_new0 (OwldConfig, 1);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(OwldConfigText) text = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  Loader l = { config, keyfile, NULL, errors, dir };

  config->path = g_strdup (path);
  config->service_names = g_ptr_array_new ();
  config->service_values = values_new ();
  config->module_default_names = g_ptr_array_new ();
  config->module_default_values = values_new ();
  config->guards = g_ptr_array_new_with_free_func (guard_config_free);
  config->gates = g_ptr_array_new_with_free_func (gate_config_free);
  config->modules = g_ptr_array_new_with_free_func (module_config_free);
  if (!g_file_get_contents (path, &data, NULL, &local))
    g_ptr_array_add (errors, g_strdup_printf ("%s: %s", path, local->message));
  else
    {
      l.text = text = owld_config_text_new (path, data, errors);
      if (errors->len == 0 && !g_key_file_load_from_data (keyfile, data, -1, G_KEY_FILE_NONE, &local))
        g_ptr_array_add (errors, g_strdup_printf ("%s: %s", path, local->message));
      if (errors->len == 0)
        load_groups (&l);
    }
  if (errors->len > 0)
    {
      g_autofree char *all = NULL;

      g_ptr_array_add (errors, NULL);
      all = g_strjoinv ("\n", (char **) errors->pdata);
      g_set_error_literal (error, OWLD_CONFIG_ERROR, OWLD_CONFIG_ERROR_INVALID, all);
      return NULL;
    }
  return g_steal_pointer (&config);
}

OwldModuleConfig *
owld_config_find_module (OwldConfig *config,
                         const char *name)
{
  for (guint i = 0; i < config->modules->len; i++)
    {
      OwldModuleConfig *module = config->modules->pdata[i];

      if (g_str_equal (module->name, name))
        return module;
    }
  return NULL;
}

OwldGuardConfig *
owld_config_find_guard (OwldConfig *config,
                        const char *name)
{
  for (guint i = 0; i < config->guards->len; i++)
    {
      OwldGuardConfig *guard = config->guards->pdata[i];

      if (g_str_equal (guard->name, name))
        return guard;
    }
  return NULL;
}

/* The service-wide limits and settings, on a running service too (reload):
 * a key @before had and @config has not goes back to its default. */
void
owld_config_apply_service (OwldConfig       *config,
                           OwldConfig       *before,
                           OwlSocketService *service)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (service);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; before != NULL && i < before->service_names->len; i++)
    {
      const char *name = before->service_names->pdata[i];

      if (!g_ptr_array_find (config->service_names, name, NULL))
        g_object_set_property (G_OBJECT (service), name,
                               g_param_spec_get_default_value (g_object_class_find_property (klass, name)));
    }
  for (guint i = 0; i < config->service_names->len; i++)
    g_object_set_property (G_OBJECT (service), config->service_names->pdata[i],
                           &g_array_index (config->service_values, GValue, i));

  if (before != NULL && before->static_dir != NULL && config->static_dir == NULL)
    owl_socket_service_serve_static (service, before->static_prefix, NULL, NULL);
  if (config->static_dir != NULL &&
      !owl_socket_service_serve_static (service, config->static_prefix, config->static_dir, &error))
    g_warning ("static-dir: %s", error->message);
}
