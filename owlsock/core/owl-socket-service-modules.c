/* owl-socket-service-modules.c: the service's endpoints, guards and gates
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-module-private.h"
#include "owl-socket-service-private.h"

/* Every request on one of the service's paths. */
static void
server_callback (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  OwlSocketService *self = user_data;

  owl_upgrades_handle (&self->upgrades, msg);
}

/* "/" on the service's own server while no module's prefix is "/": a path
 * nothing serves gets the same JSON 404 as one below a module's prefix
 * (libsoup's own has no body). Not counted: no module was asked. */
static void
not_found_callback (SoupServer        *server,
                    SoupServerMessage *msg,
                    const char        *path,
                    GHashTable        *query,
                    gpointer           user_data)
{
  owl_refusal_answer_not_found (msg);
}

void
owl_socket_service_init_modules (OwlSocketService *self)
{
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->router = owl_router_new ();
}

/* Modules outlive a dropped service detached. */
void
owl_socket_service_clear_modules (OwlSocketService *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->modules == NULL)
    return;
  g_hash_table_iter_init (&iter, self->modules);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      owl_router_remove (self->router, owl_module_get_route (value));
      owl_module_set_service (value, NULL);
    }
  g_hash_table_remove_all (self->modules);
}

static void
register_prefix (OwlSocketService *self,
                 const char       *prefix)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->prefixes, prefix));

  g_hash_table_insert (self->prefixes, g_strdup (prefix), GUINT_TO_POINTER (n + 1));
  if (n == 0 && self->server != NULL)
    soup_server_add_handler (self->server, prefix, server_callback, self, NULL);
  if (n == 0 && g_str_equal (prefix, "/"))
    self->holds_root = self->server != NULL;
}

static void
unregister_prefix (OwlSocketService *self,
                   const char       *prefix)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->prefixes, prefix));

  if (n > 1)
    {
      g_hash_table_insert (self->prefixes, g_strdup (prefix), GUINT_TO_POINTER (n - 1));
      return;
    }

  g_hash_table_remove (self->prefixes, prefix);
  if (self->server == NULL)
    return;
  if (g_str_equal (prefix, "/"))
    owl_socket_service_update_root (self);
  else
    soup_server_remove_handler (self->server, prefix);
}

/* "/" has one owner at a time, in this order: a module whose prefix is "/",
 * files served at "/", the JSON 404 (on a server of the service's own), or
 * nobody (on an attached server: its other handlers stay; "/" is removed
 * only if owlsock held it). Called whenever one of them comes or goes:
 * libsoup keeps one handler per path, the last added. */
void
owl_socket_service_update_root (OwlSocketService *self)
{
  if (self->server == NULL)
    return;
  if (g_hash_table_contains (self->prefixes, "/"))
    soup_server_add_handler (self->server, "/", server_callback, self, NULL);
  else if (self->files != NULL && g_str_equal (owl_static_get_prefix (self->files), "/"))
    owl_static_attach (self->files, self->server);
  else if (self->owns_server)
    soup_server_add_handler (self->server, "/", not_found_callback, self, NULL);
  else
    {
      if (self->holds_root)
        soup_server_remove_handler (self->server, "/");
      self->holds_root = FALSE;
      return;
    }
  self->holds_root = TRUE;
}

void
owl_socket_service_use_server (OwlSocketService *self,
                               SoupServer       *server,
                               gboolean          owned)
{
  GHashTableIter iter;
  gpointer key;

  self->server = g_object_ref (server);
  self->owns_server = owned;

  g_hash_table_iter_init (&iter, self->prefixes);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    soup_server_add_handler (self->server, key, server_callback, self, NULL);
  if (self->files != NULL && !g_str_equal (owl_static_get_prefix (self->files), "/"))
    owl_static_attach (self->files, self->server);
  owl_socket_service_update_root (self);
}

/**
 * owl_socket_service_add_module:
 * @self: a service
 * @module: a module
 * @error: return location for an error
 *
 * Adds @module. Fails with %OWL_ERROR_INVALID_ARGUMENT for a bad path
 * pattern, and with %OWL_ERROR_EXISTS if the service has a module with the
 * same alias or a pattern that matches the same paths, or @module belongs to
 * a service already.
 *
 * Returns: %TRUE if the module was added
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_module (OwlSocketService  *self,
                               OwlModule         *module,
                               GError           **error)
{
  OwlModule *other = NULL;
  OwlRoute *route;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (OWL_IS_MODULE (module), FALSE);

  route = owl_module_get_route (module);
  if (route == NULL)
    {
      if (error != NULL)
        *error = g_error_copy (owl_module_get_route_error (module));
      return FALSE;
    }

  if (owl_module_get_service (module) != NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "Module '%s' already belongs to a service", owl_module_get_alias (module));
      return FALSE;
    }

  if (g_hash_table_contains (self->modules, owl_module_get_alias (module)))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "A module with alias '%s' exists", owl_module_get_alias (module));
      return FALSE;
    }

  if (!owl_auth_chain_check_aliases (self->chain, owl_module_get_alias (module),
                                     owl_module_get_guards (module), owl_module_get_gates (module), error))
    return FALSE;

  if (!owl_router_add (self->router, route, module, (gpointer *) &other))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS,
                   "Module '%s' already serves '%s'",
                   owl_module_get_alias (other), owl_module_get_path (module));
      return FALSE;
    }

  g_hash_table_insert (self->modules, (gpointer) owl_module_get_alias (module), g_object_ref (module));
  owl_module_set_service (module, self);
  register_prefix (self, owl_route_get_prefix (route));

  return TRUE;
}

/**
 * owl_socket_service_add_guard:
 * @self: a service
 * @alias: the name modules use for the guard in [property@Owlsock.Module:guards]
 * @guard: a guard
 * @error: return location for an error
 *
 * Registers @guard under @alias. Add guards before the modules that name
 * them.
 *
 * Returns: %TRUE if the guard was added, %FALSE if @alias is taken
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_guard (OwlSocketService  *self,
                              const char        *alias,
                              OwlGuard          *guard,
                              GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);
  g_return_val_if_fail (OWL_IS_GUARD (guard), FALSE);

  return owl_auth_chain_add_guard (self->chain, alias, guard, error);
}

/**
 * owl_socket_service_add_gate:
 * @self: a service
 * @alias: the name modules use for the gate in [property@Owlsock.Module:gates]
 * @gate: a gate
 * @error: return location for an error
 *
 * Registers @gate under @alias. Add gates before the modules that name them.
 *
 * Returns: %TRUE if the gate was added, %FALSE if @alias is taken
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_add_gate (OwlSocketService  *self,
                             const char        *alias,
                             OwlGate           *gate,
                             GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);
  g_return_val_if_fail (OWL_IS_GATE (gate), FALSE);

  return owl_auth_chain_add_gate (self->chain, alias, gate, error);
}

/**
 * owl_socket_service_remove_guard:
 * @self: a service
 * @alias: a guard alias
 *
 * Unregisters the guard with @alias, as a reload does when a guard's
 * configuration changed. A module that still names it no longer matches it:
 * a request only that guard would take is refused with 401. An
 * authentication already under way with it finishes.
 *
 * Returns: %TRUE if a guard had @alias
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_remove_guard (OwlSocketService *self,
                                 const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);

  return owl_auth_chain_remove_guard (self->chain, alias);
}

/**
 * owl_socket_service_remove_gate:
 * @self: a service
 * @alias: a gate alias
 *
 * Unregisters the gate with @alias. A module that still names it refuses
 * every upgrade and token refresh with 403 (`forbidden`) until it is
 * replaced: removing a gate never opens what it guarded.
 *
 * Returns: %TRUE if a gate had @alias
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_remove_gate (OwlSocketService *self,
                                const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);

  return owl_auth_chain_remove_gate (self->chain, alias);
}

/**
 * owl_socket_service_lookup_guard:
 * @self: a service
 * @alias: a guard alias
 *
 * Finds a guard of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the guard with @alias
 *
 * Since: 0.1
 */
OwlGuard *
owl_socket_service_lookup_guard (OwlSocketService *self,
                                 const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return owl_auth_chain_lookup_guard (self->chain, alias);
}

/**
 * owl_socket_service_lookup_gate:
 * @self: a service
 * @alias: a gate alias
 *
 * Finds a gate of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the gate with @alias
 *
 * Since: 0.1
 */
OwlGate *
owl_socket_service_lookup_gate (OwlSocketService *self,
                                const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return owl_auth_chain_lookup_gate (self->chain, alias);
}

/**
 * owl_socket_service_remove_module:
 * @self: a service
 * @module: a module of the service
 *
 * Removes @module; its connections are closed with 1001.
 *
 * Returns: %TRUE if @module was a module of the service
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_remove_module (OwlSocketService *self,
                                  OwlModule        *module)
{
  g_autoptr(OwlModule) hold = NULL;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (OWL_IS_MODULE (module), FALSE);

  if (owl_module_get_service (module) != self)
    return FALSE;

  hold = g_object_ref (module);
  owl_module_set_service (module, NULL);
  owl_router_remove (self->router, owl_module_get_route (module));
  g_hash_table_remove (self->modules, owl_module_get_alias (module));
  unregister_prefix (self, owl_route_get_prefix (owl_module_get_route (module)));

  owl_socket_service_close_module (self, module);

  return TRUE;
}

/**
 * owl_socket_service_lookup_module:
 * @self: a service
 * @alias: a module alias
 *
 * Finds a module of the service by its alias.
 *
 * Returns: (transfer none) (nullable): the module with @alias
 *
 * Since: 0.1
 */
OwlModule *
owl_socket_service_lookup_module (OwlSocketService *self,
                                  const char       *alias)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  return g_hash_table_lookup (self->modules, alias);
}

