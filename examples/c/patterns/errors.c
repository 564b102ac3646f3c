/* errors.c: error handling, /ws/errors
 *
 *   -> {"type":"call","id":"1","method":"lookup","payload":["owl"]}
 *   <- {"type":"result","id":"1","payload":"a bird that hunts at night"}
 *   -> {"type":"call","id":"2","method":"lookup","payload":["dragon"]}
 *   <- {"type":"error","id":"2","payload":"NotFoundError|||No entry for 'dragon'",
 *       "code":"not-found","recoverable":true}           (ask for another key)
 *   -> {"type":"call","id":"3","method":"lookup","payload":[42]}
 *   <- {"type":"error","id":"3",...,"code":"invalid-argument","recoverable":false}
 *   -> {"type":"call","id":"4","method":"crash","payload":[]}
 *   <- {"type":"error","id":"4","payload":"InternalError|||Internal error",
 *       "code":"internal","recoverable":false}           (the details stay in the log)
 *
 * A known failure is an OWL_ERROR with the code that fits: the client gets
 * the code, the message and the code's `recoverable` flag (the README's
 * table of error codes). Any other error (another domain: a file, a
 * database) reaches the client as `internal` with nothing of its text,
 * so an unexpected failure cannot leak a path or a query; log it instead.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>

#include "patterns.h"

static const char *const entries[] = {
  "owl", "a bird that hunts at night",
  "sock", "what keeps a foot warm",
  NULL
};

static gboolean
on_call_lookup (OwlConnection *connection,
                OwlCall       *call,
                gpointer       user_data)
{
  JsonNode *params = owl_call_get_params (call);
  JsonNode *key = NULL;
  g_autoptr(JsonNode) value = NULL;
  g_autofree char *message = NULL;

  if (params != NULL && JSON_NODE_HOLDS_ARRAY (params) &&
      json_array_get_length (json_node_get_array (params)) == 1)
    key = json_array_get_element (json_node_get_array (params), 0);
  if (key == NULL || json_node_get_value_type (key) != G_TYPE_STRING)
    {
      /* Not recoverable: the same call fails the same way again. */
      owl_call_return_error_literal (call, OWL_ERROR_INVALID_ARGUMENT, "lookup takes one string");
      return TRUE;
    }
  for (guint i = 0; entries[i] != NULL; i += 2)
    if (g_str_equal (entries[i], json_node_get_string (key)))
      {
        value = json_node_init_string (json_node_alloc (), entries[i + 1]);
        owl_call_return_value (call, value);
        return TRUE;
      }
  /* Recoverable: the client may carry on and ask for another key. */
  message = g_strdup_printf ("No entry for '%s'", json_node_get_string (key));
  owl_call_return_error_literal (call, OWL_ERROR_NOT_FOUND, message);
  return TRUE;
}

static gboolean
on_call_crash (OwlConnection *connection,
               OwlCall       *call,
               gpointer       user_data)
{
  g_autoptr(GError) error = NULL;

  /* Something the handler did not expect, such as a missing file. */
  g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
               "/etc/patterns/secret.conf: %s", g_strerror (ENOENT));
  g_message ("crash: %s", error->message);   /* for the operator ... */
  owl_call_return_error (call, error);       /* ... the client gets `internal` only */
  return TRUE;
}

static void
on_connection_errors (OwlModule     *module,
                      OwlConnection *connection,
                      gpointer       user_data)
{
  g_signal_connect (connection, "call::lookup", G_CALLBACK (on_call_lookup), NULL);
  g_signal_connect (connection, "call::crash", G_CALLBACK (on_call_crash), NULL);
}

gboolean
patterns_add_errors (OwlSocketService       *service,
                     const PatternsOptions  *options,
                     GError                **error)
{
  g_autoptr(OwlModule) module = owl_module_new ("errors", "/ws/errors");

  g_signal_connect (module, "connection", G_CALLBACK (on_connection_errors), NULL);
  return owl_socket_service_add_module (service, module, error);
}
