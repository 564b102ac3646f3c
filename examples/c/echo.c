/* echo.c: answers every message with the same JSON, plus two RPC methods
 *
 *   build/examples/echo --port 8080
 *   ws://127.0.0.1:8080/ws/echo
 *   (every C example: --tls-cert cert.pem --tls-key key.pem serves wss:// instead)
 *
 *   -> {"type":"hello"}                                       <- {"type":"hello"}
 *   -> {"type":"event","event":"tick","payload":1}           <- the same event
 *   -> {"type":"call","id":"1","method":"echo","payload":[1,"a"]}
 *   <- {"type":"result","id":"1","payload":[1,"a"]}
 *   -> {"type":"call","id":"2","method":"sum","payload":[1,2]}  (answered 10 ms later)
 *   <- {"type":"result","id":"2","payload":3}
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "common.h"

static void
on_message (OwlConnection *connection,
            JsonNode      *message,
            gpointer       user_data)
{
  g_autoptr(GError) error = NULL;

  /* Fails only when the peer is already going away. */
  if (!owl_connection_send (connection, message, &error))
    g_debug ("echo to %s: %s", owl_connection_get_id (connection), error->message);
}

/* Every event comes back as an event; connect to "event::NAME" for one name. */
static void
on_event (OwlConnection *connection,
          const char    *event,
          JsonNode      *payload,
          gpointer       user_data)
{
  owl_connection_notify_event (connection, event, payload, NULL);
}

/* Returning TRUE takes the call; an untaken call gets an `unknown-method` error. */
static gboolean
on_call_echo (OwlConnection *connection,
              OwlCall       *call,
              gpointer       user_data)
{
  owl_call_return_value (call, owl_call_get_params (call));
  return TRUE;
}

/* The sum of the numbers in @params, or %NULL if one of them is not a number. */
static JsonNode *
sum_numbers (JsonNode *params)
{
  JsonArray *numbers;
  gboolean integral = TRUE;
  gint64 isum = 0;
  double dsum = 0;
  JsonNode *sum;

  if (!JSON_NODE_HOLDS_ARRAY (params))
    return NULL;
  numbers = json_node_get_array (params);
  for (guint i = 0; i < json_array_get_length (numbers); i++)
    {
      JsonNode *n = json_array_get_element (numbers, i);
      GType type = json_node_get_value_type (n);

      if (type == G_TYPE_INT64)
        isum += json_node_get_int (n);
      else if (type == G_TYPE_DOUBLE)
        integral = FALSE;
      else
        return NULL;
      dsum += json_node_get_double (n);
    }

  sum = json_node_new (JSON_NODE_VALUE);
  if (integral)
    json_node_set_int (sum, isum);
  else
    json_node_set_double (sum, dsum);
  return sum;
}

static gboolean
answer_later (gpointer data)
{
  OwlCall *call = data;

  owl_call_return_value (call, g_object_get_data (G_OBJECT (call), "sum"));
  return G_SOURCE_REMOVE;
}

/* Answers after a 10 ms timeout, to show that a call may be answered later:
 * keep a reference to it until then. */
static gboolean
on_call_sum (OwlConnection *connection,
             OwlCall       *call,
             gpointer       user_data)
{
  JsonNode *sum = sum_numbers (owl_call_get_params (call));

  if (sum == NULL)
    {
      owl_call_return_error_literal (call, OWL_ERROR_INVALID_ARGUMENT, "sum takes numbers");
      return TRUE;
    }

  g_object_set_data_full (G_OBJECT (call), "sum", sum, (GDestroyNotify) json_node_unref);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 10, answer_later, g_object_ref (call), g_object_unref);
  return TRUE;
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  g_signal_connect (connection, "message", G_CALLBACK (on_message), NULL);
  g_signal_connect (connection, "event", G_CALLBACK (on_event), NULL);
  g_signal_connect (connection, "call::echo", G_CALLBACK (on_call_echo), NULL);
  g_signal_connect (connection, "call::sum", G_CALLBACK (on_call_sum), NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  g_autoptr(OwlModule) echo = owl_module_new ("echo", "/ws/echo");
  g_autoptr(GError) error = NULL;

  g_signal_connect (echo, "connection", G_CALLBACK (on_connection), NULL);
  if (!owl_socket_service_add_module (service, echo, &error))
    {
      g_printerr ("echo: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return example_main (service, argc, argv);
}
