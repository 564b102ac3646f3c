/* owld-config-broker.c: the [broker] group of owlsockd's configuration
 *
 * Which broker the service uses (OwlSocketService:broker and its
 * companions) and the history and presence every module gets unless its
 * own group says otherwise. The module properties are checked against
 * OwlModule's own when it has them, else against the ranges of the spec
 * they come from, so a file is judged the same either way.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owld-config.h"

#define GROUP "broker"

static const char * const broker_keys[] = {
  "type", "address", "prefix", "heartbeat", "node", "presence", "history-size", "history-ttl", NULL
};
/* [broker] key -> OwlSocketService property */
static const char * const service_keys[][2] = {
  { "prefix", "broker-prefix" },
  { "heartbeat", "broker-heartbeat" },
  { "node", "node-name" },
};
/* OwlModule properties: every module's default */
static const char * const module_keys[] = { "presence", "history-size", "history-ttl", NULL };

typedef struct
{
  OwldConfig     *config;
  GKeyFile       *keyfile;
  OwldConfigText *text;
  GPtrArray      *errors;
} Loader;

#define ERR(l, key, ...) owld_config_text_error ((l)->text, (l)->errors, GROUP, key, __VA_ARGS__)

/* OwlModule's property @name, or one with the spec's type and range. */
static GParamSpec *
module_pspec (const char *name)
{
  static GParamSpec *fallback[G_N_ELEMENTS (module_keys) - 1];
  static gsize made = 0;
  GObjectClass *klass = g_type_class_ref (OWL_TYPE_MODULE);
  GParamSpec *pspec = g_object_class_find_property (klass, name);

  g_type_class_unref (klass);
  if (pspec != NULL)
    return pspec;
  if (g_once_init_enter (&made))
    {
      fallback[0] = g_param_spec_ref_sink (g_param_spec_boolean ("presence", NULL, NULL, FALSE,
                                                                 G_PARAM_READWRITE));
      fallback[1] = g_param_spec_ref_sink (g_param_spec_uint ("history-size", NULL, NULL, 0, 100000, 0,
                                                              G_PARAM_READWRITE));
      fallback[2] = g_param_spec_ref_sink (g_param_spec_uint ("history-ttl", NULL, NULL, 1, G_MAXUINT, 300,
                                                              G_PARAM_READWRITE));
      g_once_init_leave (&made, 1);
    }
  for (guint i = 0; module_keys[i] != NULL; i++)
    if (g_str_equal (module_keys[i], name))
      return fallback[i];
  g_return_val_if_reached (NULL);
}

/* @key parsed as @pspec's type and range, appended to @names and @values
 * under the property's name. */
static void
add_value (Loader     *l,
           const char *key,
           GParamSpec *pspec,
           GPtrArray  *names,
           GArray     *values)
{
  GValue value = G_VALUE_INIT;
  g_autofree char *why = NULL;

  if (!owld_config_parse_value (pspec, l->keyfile, GROUP, key, &value, &why))
    {
      ERR (l, key, "%s", why);
      g_value_unset (&value);
      return;
    }
  if (G_VALUE_HOLDS_STRING (&value) && g_strcmp0 (g_value_get_string (&value), "") == 0)
    {
      ERR (l, key, "a value is required");
      g_value_unset (&value);
      return;
    }
  g_ptr_array_add (names, (gpointer) g_intern_string (pspec->name));
  g_array_append_val (values, value);
}

/* "HOST:PORT" ("[V6]:PORT") or "/PATH" as the broker URL, or NULL. */
static char *
redis_url (const char *address)
{
  const char *colon = strrchr (address, ':');
  guint64 port;

  if (address[0] == '/')
    return g_strconcat ("redis+unix://", address, NULL);
  if (colon == NULL || colon == address || strpbrk (address, "/@?# \t") != NULL ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT16, &port, NULL) ||
      (address[0] == '[' && colon[-1] != ']'))
    return NULL;
  return g_strconcat ("redis://", address, NULL);
}

static void
load_type (Loader *l)
{
  g_autofree char *type = g_key_file_get_string (l->keyfile, GROUP, "type", NULL);
  g_autofree char *address = g_key_file_get_string (l->keyfile, GROUP, "address", NULL);
  g_autofree char *url = NULL;
  GValue value = G_VALUE_INIT;

  if (type == NULL || g_str_equal (type, "local"))
    {
      if (address != NULL)
        ERR (l, "address", "only for type=redis");
      return;
    }
  if (!g_str_equal (type, "redis"))
    {
      ERR (l, "type", "\"%s\" is not local or redis", type);
      return;
    }
  if (address == NULL)
    {
      ERR (l, "type", "type=redis needs an address (HOST:PORT or /PATH/TO/SOCKET)");
      return;
    }
  url = redis_url (address);
  if (url == NULL)
    {
      ERR (l, "address", "\"%s\" is not HOST:PORT or /PATH/TO/SOCKET", address);
      return;
    }
  g_value_init (&value, G_TYPE_STRING);
  g_value_take_string (&value, g_steal_pointer (&url));
  g_ptr_array_add (l->config->service_names, (gpointer) g_intern_static_string ("broker"));
  g_array_append_val (l->config->service_values, value);
}

/* [broker]: the service's broker properties go with the [service] ones;
 * the module defaults are kept for owld_config_broker_apply_module(). */
void
owld_config_load_broker (OwldConfig     *config,
                         GKeyFile       *keyfile,
                         OwldConfigText *text,
                         GPtrArray      *errors)
{
  Loader l = { config, keyfile, text, errors };
  g_auto(GStrv) keys = g_key_file_get_keys (keyfile, GROUP, NULL, NULL);
  GObjectClass *klass = g_type_class_ref (OWL_TYPE_SOCKET_SERVICE);
  g_autoptr(GString) signature = g_string_new (GROUP);

  for (guint i = 0; keys && keys[i]; i++)
    {
      g_autofree char *value = g_key_file_get_value (keyfile, GROUP, keys[i], NULL);

      if (!g_strv_contains (module_keys, keys[i]))
        g_string_append_printf (signature, "\n%s=%s", keys[i], value);
      if (!g_strv_contains (broker_keys, keys[i]))
        ERR (&l, keys[i], "unknown key");
    }
  load_type (&l);
  for (guint i = 0; i < G_N_ELEMENTS (service_keys); i++)
    if (g_key_file_has_key (keyfile, GROUP, service_keys[i][0], NULL))
      add_value (&l, service_keys[i][0], g_object_class_find_property (klass, service_keys[i][1]),
                 config->service_names, config->service_values);
  for (guint i = 0; module_keys[i] != NULL; i++)
    if (g_key_file_has_key (keyfile, GROUP, module_keys[i], NULL))
      add_value (&l, module_keys[i], module_pspec (module_keys[i]),
                 config->module_default_names, config->module_default_values);
  g_free (config->broker_signature);
  config->broker_signature = g_string_free (g_steal_pointer (&signature), FALSE);
  g_type_class_unref (klass);
}

/* Sets the [broker] defaults the module's @group does not set itself (and
 * that this OwlModule has), and records them in its @signature: a reload
 * that changes them replaces the module. */
void
owld_config_broker_apply_module (OwldConfig *config,
                                 GKeyFile   *keyfile,
                                 const char *group,
                                 OwlModule  *module,
                                 GString    *signature)
{
  for (guint i = 0; i < config->module_default_names->len; i++)
    {
      const char *name = config->module_default_names->pdata[i];
      const GValue *value = &g_array_index (config->module_default_values, GValue, i);
      g_autofree char *contents = NULL;

      if (g_key_file_has_key (keyfile, group, name, NULL))
        continue;
      contents = g_strdup_value_contents (value);
      g_string_append_printf (signature, "\n[broker] %s=%s", name, contents);
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (module), name) != NULL)
        g_object_set_property (G_OBJECT (module), name, value);
    }
}
