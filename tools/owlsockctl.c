/* owlsockctl.c: a command-line client of owlsockd's bus API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One command per method of org.owlmeans.Owlsock1 (data/org.owlmeans.Owlsock1.xml),
 * through plain g_dbus_connection_call_sync(): a call activates owlsockd
 * when it is not running. Answers go to stdout, one item a line, so that
 * scripts can read them; complaints go to stderr as "owlsockctl: ...".
 * Exit status: 0 done, 1 the bus or owlsockd refused, 2 a usage error
 * (unknown command or option, missing argument, a JSON argument that is not
 * a JSON object: those are refused before anything is sent).
 */

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define BUS_NAME    "org.owlmeans.Owlsock1"
#define OBJECT_PATH "/org/owlmeans/Owlsock1"
#define INTERFACE   "org.owlmeans.Owlsock1"

enum
{
  EXIT_OK = 0,
  EXIT_REFUSED = 1,
  EXIT_USAGE = 2,
};

typedef struct
{
  GDBusConnection *bus;
  char            *bus_label;   /* "session bus", "system bus", "bus at ADDR" */
} Ctl;

typedef struct _Command Command;
struct _Command
{
  const char         *name;
  const char         *parameters;   /* after the name in --help */
  const char         *summary;
  guint               min_args;
  guint               max_args;
  const GOptionEntry *entries;
  guint               json_arg;     /* 1 + the index of a JSON argument, or 0 */
  int               (*run) (Ctl      *ctl,
                            char    **args,
                            GError  **error);
};

/* Options of the commands that have some. */
static char *opt_module;
static char *opt_user;
static char *opt_room;
static char *opt_exclude;

static void G_GNUC_PRINTF (1, 2)
complain (const char *format,
          ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("owlsockctl: %s\n", message);
}

/* Output */

static void print_value (GVariant *value);

static void
print_strv (GVariant *value)
{
  gsize n = g_variant_n_children (value);

  for (gsize i = 0; i < n; i++)
    {
      const char *item;

      g_variant_get_child (value, i, "&s", &item);
      g_print ("%s%s", i ? ", " : "", item);
    }
}

static void
print_string_dict (GVariant *value)
{
  GVariantIter iter;
  const char *key, *item;
  gboolean first = TRUE;

  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &item))
    {
      g_print ("%s%s=%s", first ? "" : ", ", key, item);
      first = FALSE;
    }
}

/* A value as a person reads it: text bare, lists and maps comma-separated. */
static void
print_value (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);
      print_value (inner);
    }
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    g_print ("%s", g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    print_strv (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a{ss}")))
    print_string_dict (value);
  else
    {
      g_autofree char *text = g_variant_print (value, FALSE);
      g_print ("%s", text);
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* An a{sv} as "key: value" lines; @first (NULL-terminated) names the keys
 * that come first, in that order, the others follow sorted. */
static void
print_dict (GVariant           *dict,
            const char * const *first)
{
  g_autoptr(GVariantDict) entries = g_variant_dict_new (dict);
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  GVariantIter iter;
  const char *key;

  for (guint i = 0; first[i]; i++)
    if (g_variant_dict_contains (entries, first[i]))
      g_ptr_array_add (keys, (gpointer) first[i]);
  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    if (!g_strv_contains (first, key))
      g_ptr_array_add (others, (gpointer) key);
  g_ptr_array_sort (others, compare_strings);
  g_ptr_array_extend (keys, others, NULL, NULL);

  for (guint i = 0; i < keys->len; i++)
    {
      g_autoptr(GVariant) value = g_variant_dict_lookup_value (entries,
                                                               keys->pdata[i],
                                                               NULL);
      g_print ("%s: ", (const char *) keys->pdata[i]);
      print_value (value);
      g_print ("\n");
    }
}

static void
print_lines (GVariant *strv)
{
  gsize n = g_variant_n_children (strv);

  for (gsize i = 0; i < n; i++)
    {
      const char *item;

      g_variant_get_child (strv, i, "&s", &item);
      g_print ("%s\n", item);
    }
}

/* The bus */

static GDBusConnection *
connect_bus (const char  *address,
             gboolean     system,
             char       **label,
             GError     **error)
{
  if (address)
    {
      *label = g_strdup_printf ("bus at %s", address);
      return g_dbus_connection_new_for_address_sync (address,
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, error);
    }
  *label = g_strdup (system ? "system bus" : "session bus");
  return g_bus_get_sync (system ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION, NULL, error);
}

static GVariant *
ctl_call (Ctl                *ctl,
          const char         *method,
          GVariant           *parameters,
          const GVariantType *reply_type,
          GError            **error)
{
  return g_dbus_connection_call_sync (ctl->bus, BUS_NAME, OBJECT_PATH, INTERFACE,
                                      method, parameters, reply_type,
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

static GVariant *
ctl_get_all (Ctl     *ctl,
             GError **error)
{
  return g_dbus_connection_call_sync (ctl->bus, BUS_NAME, OBJECT_PATH,
                                      "org.freedesktop.DBus.Properties", "GetAll",
                                      g_variant_new ("(s)", INTERFACE),
                                      G_VARIANT_TYPE ("(a{sv})"),
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

/* A failed call: owlsockd's message as it wrote it (without the D-Bus error
 * name), or a sentence saying what is wrong when there is no owlsockd. */
static void
report_bus_error (Ctl    *ctl,
                  GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  g_dbus_error_strip_remote_error (error);
  if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
      g_strcmp0 (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
    complain ("owlsockd is not running on the %s and could not be started there (%s)",
              ctl->bus_label, error->message);
  else
    complain ("%s", error->message);
}

/* Arguments */

/* JSON arguments are refused here, before the bus, with json-glib's
 * message: owlsockd wants an object. */
static gboolean
check_json (const char  *text,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, -1, &local_error))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "invalid JSON: %s", local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "invalid JSON: a message is a JSON object, {...}");
      return FALSE;
    }
  return TRUE;
}

static void
add_option (GVariantBuilder *options,
            const char      *key,
            const char      *value)
{
  if (value != NULL)
    g_variant_builder_add (options, "{sv}", key, g_variant_new_string (value));
}

/* Commands: each returns an exit status; with EXIT_REFUSED it sets @error.
 * Their arguments are counted and their JSON checked before. */

static int
called (GVariant *reply)
{
  if (reply == NULL)
    return EXIT_REFUSED;
  g_variant_unref (reply);
  return EXIT_OK;
}

static int
print_strv_reply (GVariant *reply)
{
  g_autoptr(GVariant) strv = NULL;

  if (reply == NULL)
    return EXIT_REFUSED;
  strv = g_variant_get_child_value (reply, 0);
  print_lines (strv);
  g_variant_unref (reply);
  return EXIT_OK;
}

static int
print_dict_reply (GVariant           *reply,
                  const char * const *first)
{
  g_autoptr(GVariant) dict = NULL;

  if (reply == NULL)
    return EXIT_REFUSED;
  dict = g_variant_get_child_value (reply, 0);
  print_dict (dict, first);
  g_variant_unref (reply);
  return EXIT_OK;
}

static int
cmd_list (Ctl     *ctl,
          char   **args,
          GError **error)
{
  g_auto(GVariantBuilder) filter = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  add_option (&filter, "module", opt_module);
  add_option (&filter, "user", opt_user);
  add_option (&filter, "room", opt_room);
  return print_strv_reply (ctl_call (ctl, "ListConnections",
                                     g_variant_new ("(a{sv})", &filter),
                                     G_VARIANT_TYPE ("(as)"), error));
}

static int
cmd_describe (Ctl     *ctl,
              char   **args,
              GError **error)
{
  static const char * const first[] = {
    "module", "path", "params", "query", "peer", "user", "entity", "scopes",
    "expires-at", "rooms", "state", "buffered", "dropped", NULL
  };

  return print_dict_reply (ctl_call (ctl, "DescribeConnection",
                                     g_variant_new ("(s)", args[0]),
                                     G_VARIANT_TYPE ("(a{sv})"), error),
                           first);
}

static int
cmd_send (Ctl     *ctl,
          char   **args,
          GError **error)
{
  return called (ctl_call (ctl, "Send",
                           g_variant_new ("(ssa{sv})", args[0], args[1], NULL),
                           NULL, error));
}

static int
cmd_broadcast (Ctl     *ctl,
               char   **args,
               GError **error)
{
  g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  add_option (&options, "exclude", opt_exclude);
  return called (ctl_call (ctl, "Broadcast",
                           g_variant_new ("(ssa{sv})", args[0], args[1], &options),
                           NULL, error));
}

static int
cmd_close (Ctl     *ctl,
           char   **args,
           GError **error)
{
  guint64 code = 1000;

  /* The range of the wire's type only: which codes an application may send
   * is owlsockd's to say. */
  if (args[1] != NULL &&
      !g_ascii_string_to_unsigned (args[1], 10, 0, G_MAXUINT16, &code, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "invalid close code “%s”: a number, 1000 or 3000-4999", args[1]);
      return EXIT_USAGE;
    }
  return called (ctl_call (ctl, "Close",
                           g_variant_new ("(sqs)", args[0], (guint16) code,
                                          args[1] && args[2] ? args[2] : ""),
                           NULL, error));
}

static int
cmd_join (Ctl     *ctl,
          char   **args,
          GError **error)
{
  return called (ctl_call (ctl, "Join", g_variant_new ("(ss)", args[0], args[1]),
                           NULL, error));
}

static int
cmd_leave (Ctl     *ctl,
           char   **args,
           GError **error)
{
  return called (ctl_call (ctl, "Leave", g_variant_new ("(ss)", args[0], args[1]),
                           NULL, error));
}

static int
cmd_rooms (Ctl     *ctl,
           char   **args,
           GError **error)
{
  return print_strv_reply (ctl_call (ctl, "ListRooms", NULL,
                                     G_VARIANT_TYPE ("(as)"), error));
}

static int
cmd_members (Ctl     *ctl,
             char   **args,
             GError **error)
{
  return print_strv_reply (ctl_call (ctl, "RoomMembers", g_variant_new ("(s)", args[0]),
                                     G_VARIANT_TYPE ("(as)"), error));
}

static int
cmd_stats (Ctl     *ctl,
           char   **args,
           GError **error)
{
  static const char * const first[] = { NULL };

  return print_dict_reply (ctl_call (ctl, "GetStatistics", NULL,
                                     G_VARIANT_TYPE ("(a{sv})"), error),
                           first);
}

static int
cmd_reload (Ctl     *ctl,
            char   **args,
            GError **error)
{
  return called (ctl_call (ctl, "Reload", NULL, NULL, error));
}

static int
cmd_info (Ctl     *ctl,
          char   **args,
          GError **error)
{
  static const char * const first[] = {
    "Version", "Addresses", "Port", "Connections", "Modules", NULL
  };

  return print_dict_reply (ctl_get_all (ctl, error), first);
}

static const GOptionEntry list_entries[] = {
  { "module", 0, 0, G_OPTION_ARG_STRING, &opt_module, "Only connections of module M", "M" },
  { "user", 0, 0, G_OPTION_ARG_STRING, &opt_user, "Only connections of user U", "U" },
  { "room", 0, 0, G_OPTION_ARG_STRING, &opt_room, "Only members of room R", "R" },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry broadcast_entries[] = {
  { "exclude", 0, 0, G_OPTION_ARG_STRING, &opt_exclude, "Leave connection ID out", "ID" },
  G_OPTION_ENTRY_NULL
};

static const Command commands[] = {
  { "list", "", "Lists the ids of open connections (all filters must match)",
    0, 0, list_entries, 0, cmd_list },
  { "describe", "ID", "Describes one connection: module, user, rooms, ...",
    1, 1, NULL, 0, cmd_describe },
  { "send", "ID JSON", "Sends a JSON object to one connection",
    2, 2, NULL, 2, cmd_send },
  { "broadcast", "ROOM JSON", "Sends a JSON object to every member of a room",
    2, 2, broadcast_entries, 2, cmd_broadcast },
  { "close", "ID [CODE [REASON]]", "Closes one connection (code 1000 unless given)",
    1, 3, NULL, 0, cmd_close },
  { "join", "ID ROOM", "Adds a connection to a room",
    2, 2, NULL, 0, cmd_join },
  { "leave", "ID ROOM", "Takes a connection out of a room",
    2, 2, NULL, 0, cmd_leave },
  { "rooms", "", "Lists the rooms",
    0, 0, NULL, 0, cmd_rooms },
  { "members", "ROOM", "Lists the ids of a room's members",
    1, 1, NULL, 0, cmd_members },
  { "stats", "", "Prints the service's statistics",
    0, 0, NULL, 0, cmd_stats },
  { "reload", "", "Makes owlsockd read its configuration again",
    0, 0, NULL, 0, cmd_reload },
  { "info", "", "Prints owlsockd's properties: version, addresses, ...",
    0, 0, NULL, 0, cmd_info },
};

static const Command *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static char *
commands_help (void)
{
  GString *help = g_string_new ("Commands:\n");

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *usage = g_strdup_printf ("%s %s", commands[i].name,
                                                commands[i].parameters);
      g_string_append_printf (help, "  %-24s %s\n", usage, commands[i].summary);
    }
  g_string_append (help,
                   "\n“owlsockctl COMMAND --help” shows a command's options.\n"
                   "Exit status: 0 done, 1 the bus or owlsockd refused, 2 a usage error.");
  return g_string_free (help, FALSE);
}

/* Parses the command's own options and arguments (@argv[0] is its name),
 * then runs it on the chosen bus. */
static int
run_command (const Command *command,
             int            argc,
             char         **argv,
             const char    *address,
             gboolean       system)
{
  g_autofree char *parameters = g_strdup_printf ("%s %s", command->name,
                                                 command->parameters);
  g_autoptr(GOptionContext) context = g_option_context_new (parameters);
  g_autoptr(GError) error = NULL;
  Ctl ctl = { NULL, NULL };
  guint n_args;
  int status;

  g_option_context_set_summary (context, command->summary);
  if (command->entries != NULL)
    g_option_context_add_main_entries (context, command->entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      complain ("%s: %s", command->name, error->message);
      return EXIT_USAGE;
    }
  n_args = argc - 1;
  if (n_args < command->min_args || n_args > command->max_args)
    {
      complain ("usage: owlsockctl %s; see owlsockctl %s --help",
                parameters, command->name);
      return EXIT_USAGE;
    }
  if (command->json_arg != 0 && !check_json (argv[command->json_arg], &error))
    {
      complain ("%s", error->message);
      return EXIT_USAGE;
    }

  ctl.bus = connect_bus (address, system, &ctl.bus_label, &error);
  if (ctl.bus == NULL)
    {
      complain ("cannot connect to the %s: %s", ctl.bus_label, error->message);
      g_free (ctl.bus_label);
      return EXIT_REFUSED;
    }
  status = command->run (&ctl, argv + 1, &error);
  if (status == EXIT_USAGE)
    complain ("%s", error->message);
  else if (status == EXIT_REFUSED)
    report_bus_error (&ctl, error);
  g_object_unref (ctl.bus);
  g_free (ctl.bus_label);
  return status;
}

int
main (int    argc,
      char **argv)
{
  gboolean session = FALSE;
  gboolean system = FALSE;
  g_autofree char *address = NULL;
  g_autofree char *description = commands_help ();
  const GOptionEntry entries[] = {
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      "Use the session bus (the default)", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &system, "Use the system bus", NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address,
      "Use the bus at this D-Bus address", "ADDR" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("COMMAND [ARGUMENTS…]");
  g_autoptr(GError) error = NULL;
  const Command *command;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  /* Options up to the command are owlsockctl's, the rest the command's. */
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, "Drives owlsockd, the owlsock WebSocket hub, "
                                         "over D-Bus (org.owlmeans.Owlsock1).");
  g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      complain ("%s", error->message);
      return EXIT_USAGE;
    }
  if (session + system + (address != NULL) > 1)
    {
      complain ("--session, --system and --address choose one bus; give one of them");
      return EXIT_USAGE;
    }
  if (argc < 2)
    {
      complain ("no command given; see owlsockctl --help");
      return EXIT_USAGE;
    }
  command = find_command (argv[1]);
  if (command == NULL)
    {
      complain ("unknown command “%s”; see owlsockctl --help", argv[1]);
      return EXIT_USAGE;
    }
  return run_command (command, argc - 1, argv + 1, address, system);
}
