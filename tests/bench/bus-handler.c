/* bus-handler.c: the handler side of run-bus.sh, a benchmark of owlsockd's bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   bus-handler --address ADDR --xml data/org.owlmeans.Owlsock1.xml \
 *               [--echo MODULE] [--publish MODULE --room ROOM] [--batch]
 *
 * Registers as the handler of the given modules (behaviour=bus) of the
 * owlsockd on the bus at ADDR. A message on the echo module is sent back to
 * its connection with `Send`; a message on the publish module goes to ROOM
 * with `Broadcast`. Both calls are made without waiting for their reply, as
 * an application relaying traffic would; the daemon keeps their order.
 * With --batch it registers with the "batch" option: it gets what one
 * main-loop turn of owlsockd read in one `Messages` call, and echoes it in
 * one `SendMany`. Prints "ready" once both registrations are answered.
 */

#include <stdio.h>

#include <gio/gio.h>

#define OWLSOCK_NAME "org.owlmeans.Owlsock1"
#define OWLSOCK_PATH "/org/owlmeans/Owlsock1"
#define OWLSOCK_IFACE "org.owlmeans.Owlsock1"
#define HANDLER_PATH "/bench/Handler"

typedef struct
{
  GDBusConnection *bus;
  char            *echo;      /* module alias, or NULL */
  char            *publish;   /* module alias, or NULL */
  char            *room;
  gboolean         batch;     /* Messages and SendMany instead of Message and Send */
  GHashTable      *modules;   /* connection id -> module alias (borrowed) */
  guint            pending;   /* registrations not answered yet */
  GMainLoop       *loop;
} Handler;

static void
call_owlsock (Handler    *self,
              const char *method,
              GVariant   *args)
{
  /* No callback: the message says no reply is expected. */
  g_dbus_connection_call (self->bus, OWLSOCK_NAME, OWLSOCK_PATH, OWLSOCK_IFACE, method, args,
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL, NULL);
}

static void
on_method (GDBusConnection       *bus,
           const char            *sender,
           const char            *path,
           const char            *iface,
           const char            *method,
           GVariant              *args,
           GDBusMethodInvocation *invocation,
           gpointer               user_data)
{
  Handler *self = user_data;

  if (g_str_equal (method, "Opened"))
    {
      const char *id, *module = NULL;
      g_autoptr(GVariant) info = NULL;

      g_variant_get (args, "(&s@a{sv})", &id, &info);
      g_variant_lookup (info, "module", "&s", &module);
      if (g_strcmp0 (module, self->echo) == 0)
        g_hash_table_insert (self->modules, g_strdup (id), self->echo);
      else if (g_strcmp0 (module, self->publish) == 0)
        g_hash_table_insert (self->modules, g_strdup (id), self->publish);
    }
  else if (g_str_equal (method, "Messages"))
    {
      g_autoptr(GVariant) messages = g_variant_get_child_value (args, 0);
      GVariantBuilder echoes;
      gboolean any = FALSE;
      GVariantIter iter;
      const char *id, *json;

      /* Registered with "batch": what one turn read, echoed in one SendMany. */
      g_variant_builder_init (&echoes, G_VARIANT_TYPE ("a(ss)"));
      g_variant_iter_init (&iter, messages);
      while (g_variant_iter_next (&iter, "(&s&s)", &id, &json))
        {
          const char *module = g_hash_table_lookup (self->modules, id);

          if (module != NULL && module == self->echo)
            {
              g_variant_builder_add (&echoes, "(ss)", id, json);
              any = TRUE;
            }
          else if (module != NULL && module == self->publish)
            call_owlsock (self, "Broadcast", g_variant_new ("(ss@a{sv})", self->room, json,
                                                            g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)));
        }
      if (any)
        call_owlsock (self, "SendMany", g_variant_new ("(a(ss)@a{sv})", &echoes,
                                                       g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)));
      else
        g_variant_builder_clear (&echoes);
    }
  else if (g_str_equal (method, "Message"))
    {
      const char *id, *json, *module;

      g_variant_get (args, "(&s&s)", &id, &json);
      module = g_hash_table_lookup (self->modules, id);
      if (module != NULL && module == self->echo)
        call_owlsock (self, "Send", g_variant_new ("(ss@a{sv})", id, json,
                                                   g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)));
      else if (module != NULL && module == self->publish)
        call_owlsock (self, "Broadcast", g_variant_new ("(ss@a{sv})", self->room, json,
                                                        g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)));
    }
  else if (g_str_equal (method, "Closed"))
    {
      const char *id;

      g_variant_get (args, "(&sq&s)", &id, NULL, NULL);
      g_hash_table_remove (self->modules, id);
    }
  else
    {
      g_dbus_method_invocation_return_dbus_error (invocation, "org.owlmeans.Owlsock1.Error.NotFound",
                                                  "Not in this benchmark");
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Handler *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    g_error ("RegisterHandler: %s", error->message);
  if (--self->pending == 0)
    {
      g_print ("ready\n");
      fflush (stdout);
    }
}

static void
register_for (Handler    *self,
              const char *module)
{
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
  if (self->batch)
    g_variant_builder_add (&options, "{sv}", "batch", g_variant_new_boolean (TRUE));
  self->pending++;
  g_dbus_connection_call (self->bus, OWLSOCK_NAME, OWLSOCK_PATH, OWLSOCK_IFACE, "RegisterHandler",
                          g_variant_new ("(soa{sv})", module, HANDLER_PATH, &options),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_registered, self);
}

static void
on_closed (GDBusConnection *bus,
           gboolean         remote_peer_vanished,
           GError          *error,
           gpointer         user_data)
{
  g_main_loop_quit (((Handler *) user_data)->loop);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *address = NULL, *xml_path = NULL, *xml = NULL;
  Handler self = { 0, };
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "The bus owlsockd is on", "ADDR" },
    { "xml", 0, 0, G_OPTION_ARG_FILENAME, &xml_path, "data/org.owlmeans.Owlsock1.xml", "FILE" },
    { "echo", 0, 0, G_OPTION_ARG_STRING, &self.echo, "Echo this module's messages", "MODULE" },
    { "publish", 0, 0, G_OPTION_ARG_STRING, &self.publish, "Broadcast this module's messages", "MODULE" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &self.room, "The room to broadcast to", "ROOM" },
    { "batch", 0, 0, G_OPTION_ARG_NONE, &self.batch, "Register with \"batch\"; echo with SendMany", NULL },
    { NULL },
  };
  GDBusInterfaceVTable vtable = { on_method, NULL, NULL, { 0 } };
  g_autoptr(GOptionContext) context = g_option_context_new ("- owlsockd bus benchmark handler");
  g_autoptr(GDBusNodeInfo) node = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || address == NULL || xml_path == NULL ||
      (self.echo == NULL && self.publish == NULL) || (self.publish != NULL && self.room == NULL))
    {
      g_printerr ("usage: bus-handler --address ADDR --xml FILE [--echo MODULE] [--publish MODULE --room ROOM] [--batch]\n");
      return 2;
    }
  if (!g_file_get_contents (xml_path, &xml, NULL, &error) ||
      (node = g_dbus_node_info_new_for_xml (xml, &error)) == NULL)
    g_error ("%s: %s", xml_path, error->message);

  self.bus = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, &error);
  if (self.bus == NULL)
    g_error ("%s: %s", address, error->message);
  self.modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (self.bus, "closed", G_CALLBACK (on_closed), &self);

  if (g_dbus_connection_register_object (self.bus, HANDLER_PATH,
                                         g_dbus_node_info_lookup_interface (node, "org.owlmeans.Owlsock1.Handler"),
                                         &vtable, &self, NULL, &error) == 0)
    g_error ("register: %s", error->message);
  if (self.echo != NULL)
    register_for (&self, self.echo);
  if (self.publish != NULL)
    register_for (&self, self.publish);

  g_main_loop_run (self.loop);
  g_hash_table_unref (self.modules);
  g_main_loop_unref (self.loop);
  g_object_unref (self.bus);
  return 0;
}
