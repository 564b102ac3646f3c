/* owlsock-client.c: an interactive OwlSocketClient session
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   owlsock-client URL [--token-file F] [--token-as-protocol] [--protocol P]...
 *                      [--header 'Name: value']... [--insecure] [--no-reconnect]
 *
 * Every line read from stdin is sent as one text frame, but
 *   call METHOD ARGS...   a `call` (each ARG is JSON if it parses, else a
 *                         string); its answer prints as `= RESULT` or
 *                         `! CODE: MESSAGE`
 *   quit                  closes with 1000 (so does the end of stdin).
 * Every message received prints on stdout as `< JSON`, events as
 * `< event NAME PAYLOAD`; states and close codes go to stderr as `* ...`.
 * --insecure accepts any certificate of a wss:// server (a test server's
 * self-signed one); without it certificates are checked.
 */

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <owlsock/owlsock.h>

typedef struct
{
  OwlSocketClient  *client;
  GMainLoop        *loop;
  GIOChannel       *input;
  guint             input_watch;
  guint             pending_calls;
  gboolean          input_done;
  int               status;
} Session;

static void
print_json (const char *prefix,
            JsonNode   *node)
{
  g_autofree char *text = node ? json_to_string (node, FALSE) : g_strdup ("null");

  printf ("%s%s\n", prefix, text);
  fflush (stdout);
}

static void
on_message (OwlSocketClient *client,
            JsonNode        *message,
            Session         *session)
{
  print_json ("< ", message);
}

static void
on_event (OwlSocketClient *client,
          const char      *event,
          JsonNode        *payload,
          Session         *session)
{
  g_autofree char *prefix = g_strdup_printf ("< event %s ", event);

  print_json (prefix, payload);
}

static void maybe_finish (Session *session);

static void
on_state (OwlSocketClient *client,
          GParamSpec      *pspec,
          Session         *session)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (OWL_TYPE_SOCKET_CLIENT_STATE);
  OwlSocketClientState state = owl_socket_client_get_state (client);

  fprintf (stderr, "* %s\n", g_enum_get_value (klass, state)->value_nick);
  if (state == OWL_SOCKET_CLIENT_CLOSED)
    g_main_loop_quit (session->loop);
  else if (state == OWL_SOCKET_CLIENT_CONNECTED)
    maybe_finish (session);
}

static void
on_closed (OwlSocketClient *client,
           guint            code,
           const char      *reason,
           Session         *session)
{
  fprintf (stderr, "* closed %u %s\n", code, reason);
}

static void
on_error (OwlSocketClient *client,
          const GError    *error,
          Session         *session)
{
  fprintf (stderr, "* error: %s\n", error->message);
  session->status = 1;
}

static gboolean
on_accept_any (OwlSocketClient      *client,
               GTlsCertificate      *certificate,
               GTlsCertificateFlags  errors,
               Session              *session)
{
  fprintf (stderr, "* accepting the server's certificate (--insecure)\n");
  return TRUE;
}

/* Calls ------------------------------------------------------------------------------- */

/* stdin ended and every call was answered: close once connected (what
 * was typed while connecting goes out first). */
static void
maybe_finish (Session *session)
{
  if (session->input_done && session->pending_calls == 0 &&
      owl_socket_client_get_state (session->client) == OWL_SOCKET_CLIENT_CONNECTED)
    owl_socket_client_close (session->client, OWL_CLOSE_NORMAL, "bye");
}

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Session *session = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = owl_socket_client_call_finish (OWL_SOCKET_CLIENT (source), result, &error);

  if (answer != NULL)
    print_json ("= ", answer);
  else
    {
      printf ("! %s: %s\n", error->domain == OWL_ERROR ? owl_error_code_to_string (error->code) : "error",
              error->message);
      fflush (stdout);
    }
  session->pending_calls--;
  maybe_finish (session);
}

/* "call METHOD ARGS...": each ARG is JSON when it parses as JSON, else a string. */
static void
send_call (Session    *session,
           const char *line)
{
  g_auto(GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr(JsonArray) args = json_array_new ();
  g_autoptr(JsonNode) params = json_node_new (JSON_NODE_ARRAY);
  const char *method = NULL;

  for (guint i = 1; words[i] != NULL; i++)
    {
      g_autoptr(JsonNode) value = NULL;

      if (words[i][0] == '\0')
        continue;
      if (method == NULL)
        {
          method = words[i];
          continue;
        }
      value = json_from_string (words[i], NULL);
      if (value == NULL)
        {
          value = json_node_new (JSON_NODE_VALUE);
          json_node_set_string (value, words[i]);
        }
      json_array_add_element (args, g_steal_pointer (&value));
    }
  if (method == NULL)
    {
      fprintf (stderr, "* usage: call METHOD ARGS...\n");
      return;
    }
  json_node_set_array (params, args);
  session->pending_calls++;
  owl_socket_client_call_async (session->client, method, params, 0, NULL, on_call_done, session);
}

/* Input -------------------------------------------------------------------------------- */

static void
stop_input (Session *session)
{
  session->input_done = TRUE;
  if (session->input_watch != 0)
    g_source_remove (session->input_watch);
  session->input_watch = 0;
  maybe_finish (session);
}

static void
handle_line (Session    *session,
             const char *line)
{
  g_autoptr(GError) error = NULL;

  if (line[0] == '\0')
    return;
  if (g_str_equal (line, "quit"))
    {
      stop_input (session);
      return;
    }
  if (g_str_has_prefix (line, "call ") || g_str_equal (line, "call"))
    {
      send_call (session, line);
      return;
    }
  if (!owl_socket_client_send_text (session->client, line, &error))
    fprintf (stderr, "* not sent: %s\n", error->message);
}

/* stdin through a GIOChannel: line by line, from the main loop. */
static gboolean
on_input (GIOChannel   *channel,
          GIOCondition  condition,
          gpointer      data)
{
  Session *session = data;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  GIOStatus status;

  do
    {
      g_clear_pointer (&line, g_free);
      status = g_io_channel_read_line (channel, &line, NULL, NULL, &error);
      if (status == G_IO_STATUS_NORMAL)
        handle_line (session, g_strchomp (line));
    }
  while (status == G_IO_STATUS_NORMAL && !session->input_done &&
         (g_io_channel_get_buffer_condition (channel) & G_IO_IN));

  if (session->input_done)
    return G_SOURCE_REMOVE;
  if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR)
    {
      if (error != NULL)
        fprintf (stderr, "* stdin: %s\n", error->message);
      session->input_watch = 0;
      stop_input (session);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* main ---------------------------------------------------------------------------------- */

static gboolean
read_token (OwlSocketClient *client,
            const char      *path)
{
  g_autofree char *token = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &token, NULL, &error))
    {
      fprintf (stderr, "owlsock-client: %s\n", error->message);
      return FALSE;
    }
  owl_socket_client_set_token (client, g_strstrip (token));
  return TRUE;
}

static gboolean
add_headers (OwlSocketClient *client,
             char           **headers)
{
  for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (headers[i], ":", 2);

      if (parts[0] == NULL || parts[1] == NULL || strpbrk (headers[i], "\r\n") != NULL)
        {
          fprintf (stderr, "owlsock-client: a header is 'Name: value', not '%s'\n", headers[i]);
          return FALSE;
        }
      owl_socket_client_add_header (client, g_strstrip (parts[0]), g_strstrip (parts[1]));
    }
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *token_file = NULL;
  g_auto(GStrv) protocols = NULL;
  g_auto(GStrv) headers = NULL;
  gboolean insecure = FALSE, token_as_protocol = FALSE, no_reconnect = FALSE;
  const GOptionEntry entries[] = {
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "Read the token from FILE", "FILE" },
    { "token-as-protocol", 0, 0, G_OPTION_ARG_NONE, &token_as_protocol,
      "Send the token as the owlsock.bearer. subprotocol entry", NULL },
    { "protocol", 0, 0, G_OPTION_ARG_STRING_ARRAY, &protocols, "Offer this subprotocol", "P" },
    { "header", 0, 0, G_OPTION_ARG_STRING_ARRAY, &headers, "Add this header to the upgrade", "'NAME: VALUE'" },
    { "insecure", 0, 0, G_OPTION_ARG_NONE, &insecure, "Accept any wss:// certificate", NULL },
    { "no-reconnect", 0, 0, G_OPTION_ARG_NONE, &no_reconnect, "End when the connection ends", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("URL - an interactive owlsock session");
  g_autoptr(GError) error = NULL;
  Session session = { 0, };

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "owlsock-client: %s\n", error ? error->message : "give one ws:// or wss:// URL");
      return 2;
    }

  session.client = owl_socket_client_new (argv[1]);
  if (owl_socket_client_get_uri (session.client) == NULL)
    return 2;
  session.loop = g_main_loop_new (NULL, FALSE);
  session.input = g_io_channel_unix_new (0);
  g_io_channel_set_encoding (session.input, NULL, NULL);

  g_object_set (session.client, "token-as-protocol", token_as_protocol, "reconnect", !no_reconnect, NULL);
  owl_socket_client_set_protocols (session.client, (const char * const *) protocols);
  if ((token_file != NULL && !read_token (session.client, token_file)) || !add_headers (session.client, headers))
    return 2;
  if (insecure)
    g_signal_connect (session.client, "accept-certificate", G_CALLBACK (on_accept_any), &session);
  g_signal_connect (session.client, "message", G_CALLBACK (on_message), &session);
  g_signal_connect (session.client, "event", G_CALLBACK (on_event), &session);
  g_signal_connect (session.client, "notify::state", G_CALLBACK (on_state), &session);
  g_signal_connect (session.client, "closed", G_CALLBACK (on_closed), &session);
  g_signal_connect (session.client, "error", G_CALLBACK (on_error), &session);

  owl_socket_client_open (session.client);
  session.input_watch = g_io_add_watch (session.input, G_IO_IN | G_IO_HUP | G_IO_ERR, on_input, &session);
  g_main_loop_run (session.loop);

  if (session.input_watch != 0)
    g_source_remove (session.input_watch);
  g_io_channel_unref (session.input);
  g_clear_object (&session.client);
  g_main_loop_unref (session.loop);
  return session.status;
}
