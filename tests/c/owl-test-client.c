/* owl-test-client.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-client.h"
#include "owl-test-util.h"

static const char *
state_nick (OwlSocketClientState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (OWL_TYPE_SOCKET_CLIENT_STATE);

  return g_enum_get_value (klass, state)->value_nick;
}

static void
on_notify_state (OwlSocketClient *client,
                 GParamSpec      *pspec,
                 OwlTestWatch    *watch)
{
  g_string_append_printf (watch->states, "%s;", state_nick (owl_socket_client_get_state (client)));
}

static void
on_state_changed (OwlSocketClient      *client,
                  OwlSocketClientState  old_state,
                  OwlSocketClientState  new_state,
                  OwlTestWatch         *watch)
{
  g_string_append_printf (watch->changes, "%s>%s;", state_nick (old_state), state_nick (new_state));
}

static void
on_message (OwlSocketClient *client,
            JsonNode        *message,
            OwlTestWatch    *watch)
{
  g_ptr_array_add (watch->messages, json_node_copy (message));
}

static void
on_event (OwlSocketClient *client,
          const char      *event,
          JsonNode        *payload,
          OwlTestWatch    *watch)
{
  g_autofree char *text = payload ? json_to_string (payload, FALSE) : g_strdup ("null");

  g_ptr_array_add (watch->events, g_strdup_printf ("%s=%s", event, text));
}

static void
on_closed (OwlSocketClient *client,
           guint            code,
           const char      *reason,
           OwlTestWatch    *watch)
{
  watch->n_closed++;
  watch->close_code = code;
  g_free (watch->close_reason);
  watch->close_reason = g_strdup (reason);
}

static void
on_error (OwlSocketClient *client,
          const GError    *error,
          OwlTestWatch    *watch)
{
  watch->n_errors++;
  g_clear_error (&watch->error);
  watch->error = g_error_copy (error);
}

OwlTestWatch *
owl_test_watch_new (const char *uri)
{
  OwlTestWatch *watch = g_new0 (OwlTestWatch, 1);

  watch->client = owl_socket_client_new (uri);
  g_object_set (watch->client, "reconnect-min-delay", 10, "reconnect-max-delay", 40, "ping-timeout", 0,
                "deflate", FALSE, NULL);
  watch->states = g_string_new (NULL);
  watch->changes = g_string_new (NULL);
  watch->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  watch->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (watch->client, "notify::state", G_CALLBACK (on_notify_state), watch);
  g_signal_connect (watch->client, "state-changed", G_CALLBACK (on_state_changed), watch);
  g_signal_connect (watch->client, "message", G_CALLBACK (on_message), watch);
  g_signal_connect (watch->client, "event", G_CALLBACK (on_event), watch);
  g_signal_connect (watch->client, "closed", G_CALLBACK (on_closed), watch);
  g_signal_connect (watch->client, "error", G_CALLBACK (on_error), watch);
  return watch;
}

void
owl_test_watch_free (OwlTestWatch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->client, watch);
  g_clear_object (&watch->client);
  g_string_free (watch->states, TRUE);
  g_string_free (watch->changes, TRUE);
  g_ptr_array_unref (watch->messages);
  g_ptr_array_unref (watch->events);
  g_free (watch->close_reason);
  g_clear_error (&watch->error);
  g_free (watch);
  owl_test_drain ();
}

void
owl_test_watch_wait_state_at (OwlTestWatch         *watch,
                              OwlSocketClientState  state,
                              const char           *file,
                              int                   line)
{
  OWL_TEST_WAIT_FOR_AT (owl_socket_client_get_state (watch->client) == state, OWL_TEST_TIMEOUT_MS, file, line);
}

void
owl_test_store_result (GObject      *source,
                       GAsyncResult *result,
                       gpointer      slot)
{
  *(GAsyncResult **) slot = g_object_ref (result);
}

GAsyncResult *
owl_test_wait_result_at (GAsyncResult **slot,
                         const char    *file,
                         int            line)
{
  OWL_TEST_WAIT_FOR_AT (*slot != NULL, OWL_TEST_TIMEOUT_MS, file, line);
  return *slot;
}
