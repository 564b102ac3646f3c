/* owl-test-util.c: fixtures, clients and waits shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"
#include "owl-request-private.h"

#include <stdio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>

void
owl_test_init (int    *argc,
               char ***argv)
{
  g_test_init (argc, argv, NULL);
}

/* Logs */

static GString *captured_log;
static GPtrArray *expected_warnings;   /* char *: substrings */
static GArray *expected_seen;          /* gboolean per expected warning */

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  gsize start = captured_log->len;

  for (gsize i = 0; i < n_fields; i++)
    if (fields[i].length < 0)
      g_string_append_printf (captured_log, "%s=%s\n", fields[i].key, (const char *) fields[i].value);

  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    for (guint i = 0; i < expected_warnings->len; i++)
      if (strstr (captured_log->str + start, g_ptr_array_index (expected_warnings, i)) != NULL)
        {
          g_array_index (expected_seen, gboolean, i) = TRUE;
          return G_LOG_WRITER_HANDLED;
        }
  /* Debug and info lines go to the capture only: on stdout they would
   * break the TAP stream. */
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

void
owl_test_capture_logs (void)
{
  captured_log = g_string_new (NULL);
  expected_warnings = g_ptr_array_new_with_free_func (g_free);
  expected_seen = g_array_new (FALSE, TRUE, sizeof (gboolean));
  g_log_set_writer_func (capture_writer, NULL, NULL);
}

const char *
owl_test_get_log (void)
{
  return captured_log->str;
}

void
owl_test_expect_warning (const char *substring)
{
  g_ptr_array_add (expected_warnings, g_strdup (substring));
  g_array_set_size (expected_seen, expected_warnings->len);
}

void
owl_test_assert_expected_warnings (void)
{
  for (guint i = 0; i < expected_warnings->len; i++)
    if (!g_array_index (expected_seen, gboolean, i))
      g_error ("expected a warning with \"%s\", none came",
               (const char *) g_ptr_array_index (expected_warnings, i));
  g_ptr_array_set_size (expected_warnings, 0);
  g_array_set_size (expected_seen, 0);
}

/* Waits */

struct _OwlTestWatchdog
{
  GSource  *source;
  gboolean  fired;
};

static gboolean
watchdog_cb (gpointer user_data)
{
  OwlTestWatchdog *watchdog = user_data;

  watchdog->fired = TRUE;
  return G_SOURCE_REMOVE;
}

OwlTestWatchdog *
owl_test_watchdog_new (guint timeout_ms)
{
  OwlTestWatchdog *watchdog = g_new0 (OwlTestWatchdog, 1);

  watchdog->source = g_timeout_source_new (timeout_ms);
  g_source_set_callback (watchdog->source, watchdog_cb, watchdog, NULL);
  g_source_attach (watchdog->source, g_main_context_get_thread_default ());
  return watchdog;
}

gboolean
owl_test_watchdog_fired (OwlTestWatchdog *watchdog)
{
  return watchdog->fired;
}

void
owl_test_watchdog_free (OwlTestWatchdog *watchdog)
{
  g_source_destroy (watchdog->source);
  g_source_unref (watchdog->source);
  g_free (watchdog);
}

void
owl_test_watchdog_fail (const char *what,
                        const char *file,
                        int         line)
{
  g_autofree char *msg = g_strdup_printf ("watchdog: timed out waiting for %s", what);

  g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

void
owl_test_drain (void)
{
  GMainContext *context = g_main_context_get_thread_default ();
  guint guard = 0;

  while (g_main_context_iteration (context, FALSE) && guard++ < 10000)
    ;
}

/* Server-side records */

static void
record_free (gpointer data)
{
  OwlTestRecord *record = data;

  g_ptr_array_unref (record->messages);
  g_string_free (record->events, TRUE);
  g_free (record->close_reason);
  g_free (record);
}

static void
record_message_cb (OwlConnection *connection,
                   JsonNode      *message,
                   OwlTestRecord *record)
{
  g_ptr_array_add (record->messages, json_node_copy (message));
  g_string_append (record->events, "message;");
}

static GThread *main_thread;

static void
record_closed_cb (OwlConnection *connection,
                  guint          code,
                  const char    *reason,
                  OwlTestRecord *record)
{
  record->n_closed++;
  g_string_append (record->events, "closed;");
  record->close_code = code;
  g_free (record->close_reason);
  record->close_reason = g_strdup (reason);
  if (g_thread_self () != main_thread)
    record->closed_on_other_thread = TRUE;
}

static void
record_error_cb (OwlConnection *connection,
                 GError        *error,
                 OwlTestRecord *record)
{
  g_test_message ("connection %s: error: %s",
                  owl_connection_get_id (connection), error->message);
  record->n_errors++;
}

static OwlTestRecord *
record_attach (OwlConnection *connection)
{
  OwlTestRecord *record = g_new0 (OwlTestRecord, 1);

  record->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  record->events = g_string_new (NULL);
  g_object_set_data_full (G_OBJECT (connection), "owl-test-record", record, record_free);
  g_signal_connect (connection, "message", G_CALLBACK (record_message_cb), record);
  g_signal_connect (connection, "closed", G_CALLBACK (record_closed_cb), record);
  g_signal_connect (connection, "error", G_CALLBACK (record_error_cb), record);
  return record;
}

OwlTestRecord *
owl_test_record_get (OwlConnection *connection)
{
  OwlTestRecord *record = g_object_get_data (G_OBJECT (connection), "owl-test-record");

  g_assert_nonnull (record);
  return record;
}

void
owl_test_record_wait_closed_at (OwlConnection *connection,
                                const char    *file,
                                int            line)
{
  OwlTestRecord *record = owl_test_record_get (connection);

  OWL_TEST_WAIT_FOR_AT (record->n_closed > 0, OWL_TEST_TIMEOUT_MS, file, line);
}

void
owl_test_record_wait_messages_at (OwlConnection *connection,
                                  guint          n,
                                  const char    *file,
                                  int            line)
{
  OwlTestRecord *record = owl_test_record_get (connection);

  OWL_TEST_WAIT_FOR_AT (record->messages->len >= n, OWL_TEST_TIMEOUT_MS, file, line);
}

/* Fixture */

static void
stopped_cb (OwlSocketService *service,
            OwlTestFixture   *fixture)
{
  fixture->n_stopped++;
}

void
owl_test_fixture_setup (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  if (main_thread == NULL)
    main_thread = g_thread_self ();

  fixture->service = owl_socket_service_new (NULL);
  g_assert_nonnull (fixture->service);
  g_signal_connect (fixture->service, "stopped", G_CALLBACK (stopped_cb), fixture);
  fixture->session = soup_session_new_with_options ("max-conns", 4096,
                                                    "max-conns-per-host", 4096,
                                                    NULL);
  fixture->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->clients = g_ptr_array_new ();
}

void
owl_test_fixture_setup_transport (OwlTestFixture *fixture,
                                  gconstpointer   data)
{
  owl_test_fixture_setup (fixture, NULL);
  fixture->transport = GPOINTER_TO_INT (data);
}

void
owl_test_fixture_teardown (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  for (guint i = 0; i < fixture->clients->len; i++)
    owl_test_client_wait_done (g_ptr_array_index (fixture->clients, i));
  while (fixture->clients->len > 0)
    owl_test_client_free (g_ptr_array_index (fixture->clients, fixture->clients->len - 1));
  g_ptr_array_unref (fixture->clients);
  owl_test_drain ();

  g_signal_handlers_disconnect_by_data (fixture->service, fixture);
  g_clear_pointer (&fixture->accepted, g_ptr_array_unref);
  g_clear_object (&fixture->service);
  if (fixture->server != NULL)
    soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
  owl_test_drain ();
  g_clear_object (&fixture->session);
}

static void
track_connection_cb (OwlModule      *module,
                     OwlConnection  *connection,
                     OwlTestFixture *fixture)
{
  g_assert_true (OWL_IS_CONNECTION (connection));
  record_attach (connection);
  g_ptr_array_add (fixture->accepted, g_object_ref (connection));
}

void
owl_test_track_module (OwlTestFixture *fixture,
                       OwlModule      *module)
{
  g_signal_connect (module, "connection", G_CALLBACK (track_connection_cb), fixture);
}

/* Adds @module (transfer full), set up as the caller wants it. */
static OwlModule *
add_prepared_module (OwlTestFixture *fixture,
                     OwlModule      *module_owned)
{
  g_autoptr(OwlModule) module = module_owned;
  g_autoptr(GError) error = NULL;
  gboolean added;

  owl_test_track_module (fixture, module);
  added = owl_socket_service_add_module (fixture->service, module, &error);
  g_assert_no_error (error);
  g_assert_true (added);
  /* The service holds the module now. */
  return module;
}

OwlModule *
owl_test_fixture_add_module (OwlTestFixture *fixture,
                             const char     *alias,
                             const char     *path)
{
  return add_prepared_module (fixture, owl_module_new (alias, path));
}

static void
echo_message_cb (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean sent = owl_connection_send (connection, message, &error);

  g_assert_no_error (error);
  g_assert_true (sent);
}

static void
echo_on_connection (OwlModule     *module,
                             OwlConnection *connection,
                             gpointer       user_data)
{
  g_signal_connect (connection, "message", G_CALLBACK (echo_message_cb), NULL);
}

OwlModule *
owl_test_fixture_add_echo_module_with (OwlTestFixture *fixture,
                                       const char     *alias,
                                       const char     *path,
                                       const char     *first_property,
                                       ...)
{
  OwlModule *module = owl_module_new (alias, path);
  va_list args;

  /* Before the module is added: guards and gates are checked then. */
  va_start (args, first_property);
  g_object_set_valist (G_OBJECT (module), first_property, args);
  va_end (args);
  g_signal_connect (module, "connection", G_CALLBACK (echo_on_connection), NULL);
  return add_prepared_module (fixture, module);
}

OwlModule *
owl_test_fixture_add_echo_module (OwlTestFixture *fixture,
                                  const char     *alias,
                                  const char     *path)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, alias, path);

  g_signal_connect (module, "connection", G_CALLBACK (echo_on_connection), NULL);
  return module;
}

void
owl_test_fixture_listen (OwlTestFixture *fixture)
{
  g_autoptr(GError) error = NULL;
  gboolean listening;

  if (fixture->transport == OWL_TEST_TRANSPORT_SOUP)
    {
      owl_test_fixture_listen_attached_tls (fixture);
      return;
    }
  if (fixture->transport == OWL_TEST_TRANSPORT_OWLSOCK_TLS)
    owl_test_fixture_use_tls (fixture);

  listening = owl_socket_service_listen (fixture->service, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  g_assert_true (listening);
  fixture->port = owl_socket_service_get_port (fixture->service);
  g_assert_cmpuint (fixture->port, !=, 0);
}

OwlConnection *
owl_test_fixture_wait_accepted_at (OwlTestFixture *fixture,
                                   guint           index,
                                   const char     *file,
                                   int             line)
{
  OWL_TEST_WAIT_FOR_AT (fixture->accepted->len > index, OWL_TEST_TIMEOUT_MS, file, line);
  return g_ptr_array_index (fixture->accepted, index);
}

/* libsoup client */

static void
client_message_cb (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   OwlTestClient           *client)
{
  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    {
      gsize len;
      const char *data = g_bytes_get_data (message, &len);

      g_ptr_array_add (client->texts, g_strndup (data, len));
    }
  else
    client->n_binary++;
}

static void
client_closed_cb (SoupWebsocketConnection *ws,
                  OwlTestClient           *client)
{
  client->n_closed++;
  client->close_code = soup_websocket_connection_get_close_code (ws);
  g_free (client->close_data);
  client->close_data = g_strdup (soup_websocket_connection_get_close_data (ws));
}

static void
client_error_cb (SoupWebsocketConnection *ws,
                 GError                  *error,
                 OwlTestClient           *client)
{
  g_test_message ("client error: %s", error->message);
  client->n_errors++;
}

static void
client_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  OwlTestClient *client = user_data;

  client->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                      &client->connect_error);
  client->status = soup_message_get_status (client->msg);
  client->done = TRUE;
  if (client->ws == NULL)
    return;
  g_signal_connect (client->ws, "message", G_CALLBACK (client_message_cb), client);
  g_signal_connect (client->ws, "closed", G_CALLBACK (client_closed_cb), client);
  g_signal_connect (client->ws, "error", G_CALLBACK (client_error_cb), client);
}

/* GTlsConnection::accept-certificate and SoupMessage::accept-certificate
 * alike: the tests' self-signed certificate is trusted. */
static gboolean
accept_any_certificate (GObject              *connection_or_message,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;
}

OwlTestClient *
owl_test_client_connect_protocols (OwlTestFixture *fixture,
                                   SoupMessage    *msg,
                                   const char     *origin,
                                   char          **protocols)
{
  OwlTestClient *client = g_new0 (OwlTestClient, 1);

  client->fixture = fixture;
  client->texts = g_ptr_array_new_with_free_func (g_free);
  client->msg = g_object_ref (msg);
  if (fixture->tls)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
  g_ptr_array_add (fixture->clients, client);
  soup_session_websocket_connect_async (fixture->session, client->msg, origin, protocols,
                                        G_PRIORITY_DEFAULT, NULL,
                                        client_connected_cb, client);
  return client;
}

/* The fixture's clients connect with wss:// and accept the test
 * certificate by hand (accept_any_certificate()), so they need no trust
 * store: GIO's TLS loads the system's for every client connection that has
 * one, on the main thread, which stalls the service for a second under
 * AddressSanitizer. */
static void
trust_test_certificate (OwlTestFixture *fixture)
{
  soup_session_set_tls_database (fixture->session, NULL);
  fixture->tls = TRUE;
}

void
owl_test_fixture_use_tls (OwlTestFixture *fixture)
{
  g_autoptr(GTlsCertificate) certificate = owl_test_make_certificate ();

  owl_socket_service_set_tls_certificate (fixture->service, certificate);
  trust_test_certificate (fixture);
}

void
owl_test_fixture_listen_attached_tls (OwlTestFixture *fixture)
{
  g_autoptr(GTlsCertificate) certificate = owl_test_make_certificate ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (fixture->server);
  fixture->server = soup_server_new ("tls-certificate", certificate, NULL);

  /* A socket of our own, for its port: libsoup 3.2's
   * soup_server_get_uris() leaks. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  fixture->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_assert_cmpuint (fixture->port, !=, 0);

  g_assert_true (soup_server_listen_socket (fixture->server, socket, SOUP_SERVER_LISTEN_HTTPS, &error));
  g_assert_no_error (error);
  g_assert_true (owl_socket_service_attach (fixture->service, fixture->server, &error));
  g_assert_no_error (error);
  trust_test_certificate (fixture);
}

OwlTestClient *
owl_test_client_connect_msg (OwlTestFixture *fixture,
                             SoupMessage    *msg,
                             const char     *origin)
{
  return owl_test_client_connect_protocols (fixture, msg, origin, NULL);
}

OwlTestClient *
owl_test_client_connect_begin (OwlTestFixture *fixture,
                               guint16         port,
                               const char     *path,
                               const char     *origin)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u%s", fixture->tls ? "wss" : "ws", port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

  g_assert_nonnull (msg);
  return owl_test_client_connect_msg (fixture, msg, origin);
}

void
owl_test_client_wait_done_at (OwlTestClient *client,
                              const char    *file,
                              int            line)
{
  OWL_TEST_WAIT_FOR_AT (client->done, OWL_TEST_TIMEOUT_MS, file, line);
}

OwlTestClient *
owl_test_client_connect (OwlTestFixture *fixture,
                         const char     *path)
{
  OwlTestClient *client = owl_test_client_connect_begin (fixture, fixture->port, path, NULL);

  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);
  g_assert_nonnull (client->ws);
  return client;
}

guint
owl_test_client_try_connect (OwlTestFixture *fixture,
                             guint16         port,
                             const char     *path)
{
  OwlTestClient *client = owl_test_client_connect_begin (fixture, port, path, NULL);

  owl_test_client_wait_done (client);
  if (client->ws != NULL)
    return SOUP_STATUS_SWITCHING_PROTOCOLS;
  g_assert_nonnull (client->connect_error);
  return client->status;
}

void
owl_test_client_send (OwlTestClient *client,
                      const char    *text)
{
  g_assert_nonnull (client->ws);
  soup_websocket_connection_send_text (client->ws, text);
}

void
owl_test_client_send_printf (OwlTestClient *client,
                             const char    *format,
                             ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  owl_test_client_send (client, text);
}

void
owl_test_client_wait_texts_at (OwlTestClient *client,
                               guint          n,
                               const char    *file,
                               int            line)
{
  OWL_TEST_WAIT_FOR_AT (client->texts->len >= n, OWL_TEST_TIMEOUT_MS, file, line);
}

JsonNode *
owl_test_client_wait_json_at (OwlTestClient *client,
                              guint          index,
                              const char    *file,
                              int            line)
{
  owl_test_client_wait_texts_at (client, index + 1, file, line);
  return owl_test_json_parse (g_ptr_array_index (client->texts, index));
}

void
owl_test_client_wait_closed_at (OwlTestClient *client,
                                const char    *file,
                                int            line)
{
  OWL_TEST_WAIT_FOR_AT (client->n_closed > 0, OWL_TEST_TIMEOUT_MS, file, line);
}

void
owl_test_client_free (OwlTestClient *client)
{
  if (client->fixture != NULL)
    g_ptr_array_remove (client->fixture->clients, client);
  if (client->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (client->ws, client);
      if (soup_websocket_connection_get_state (client->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (client->ws);
    }
  g_clear_object (&client->msg);
  g_clear_error (&client->connect_error);
  g_ptr_array_unref (client->texts);
  g_free (client->close_data);
  g_free (client);
}

/* Plain HTTP */

typedef struct
{
  GBytes   *body;
  GError   *error;
  gboolean  done;
} HttpResult;

static void
http_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  HttpResult *res = user_data;

  res->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &res->error);
  res->done = TRUE;
}

guint
owl_test_http_send (SoupSession  *session,
                    SoupMessage  *msg,
                    gboolean      upgrade,
                    char        **body_out)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  HttpResult res = { NULL, NULL, FALSE };

  if (upgrade)
    {
      soup_message_headers_replace (headers, "Upgrade", "websocket");
      soup_message_headers_replace (headers, "Connection", "Upgrade");
      soup_message_headers_replace (headers, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
      soup_message_headers_replace (headers, "Sec-WebSocket-Version", "13");
    }
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL,
                                    http_done_cb, &res);
  OWL_TEST_WAIT_FOR (res.done);
  g_assert_no_error (res.error);
  if (body_out != NULL)
    {
      gsize len;
      const char *data = g_bytes_get_data (res.body, &len);

      *body_out = g_strndup (data, len);
    }
  g_bytes_unref (res.body);
  return soup_message_get_status (msg);
}

guint
owl_test_http_get (SoupSession  *session,
                   guint16       port,
                   const char   *path,
                   gboolean      upgrade,
                   char        **body_out)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

  return owl_test_http_send (session, msg, upgrade, body_out);
}

/* Raw TCP client */

typedef struct
{
  GInputStream *input;
  GString      *head;
  char          byte;
  GError       *error;
  gboolean      done;
} RawRead;

static void raw_read_next (RawRead *rr);

static void
raw_read_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RawRead *rr = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &rr->error);

  if (n <= 0)
    {
      rr->done = TRUE;
      return;
    }
  g_string_append_c (rr->head, rr->byte);
  if (g_str_has_suffix (rr->head->str, "\r\n\r\n"))
    rr->done = TRUE;
  else
    raw_read_next (rr);
}

/* One byte at a time, so nothing after the response head is consumed. */
static void
raw_read_next (RawRead *rr)
{
  g_input_stream_read_async (rr->input, &rr->byte, 1, G_PRIORITY_DEFAULT, NULL,
                             raw_read_cb, rr);
}

GIOStream *
owl_test_raw_upgrade (guint16     port,
                      const char *path,
                      guint      *status_out)
{
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  RawRead rr = { NULL, NULL, 0, NULL, FALSE };
  guint status = 0;

  /* The kernel completes the TCP handshake from the listen backlog, so a
   * blocking connect does not need the server's main context. */
  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "\r\n", path, port);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  rr.input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  rr.head = g_string_new (NULL);
  raw_read_next (&rr);
  OWL_TEST_WAIT_FOR (rr.done);
  g_assert_no_error (rr.error);
  if (sscanf (rr.head->str, "HTTP/1.1 %u", &status) != 1)
    status = 0;
  g_string_free (rr.head, TRUE);
  *status_out = status;
  return G_IO_STREAM (g_steal_pointer (&connection));
}

/* Raw WebSocket client */

#define RAW_CHUNK (64 * 1024)

struct _OwlTestRaw
{
  GSocketConnection *connection;
  GIOStream         *tls;        /* over @connection, for wss */
  GInputStream      *input;
  GOutputStream     *output;
  GByteArray        *buffer;     /* read, not yet parsed */
  guint8            *chunk;      /* one read's worth */
  char              *response;
  gboolean           eof;
};

typedef struct
{
  gssize    n;
  gboolean  ok;
  GError   *error;
  gboolean  done;
} RawIo;

static void
raw_write_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  RawIo *io = user_data;

  io->ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &io->error);
  io->done = TRUE;
}

gboolean
owl_test_raw_write (OwlTestRaw  *raw,
                    const void  *data,
                    gsize        len,
                    GError     **error)
{
  RawIo io = { 0, FALSE, NULL, FALSE };

  g_output_stream_write_all_async (raw->output, data, len, G_PRIORITY_DEFAULT, NULL,
                                   raw_write_cb, &io);
  OWL_TEST_WAIT_FOR (io.done);
  if (!io.ok)
    {
      g_test_message ("raw client: write failed: %s", io.error ? io.error->message : "?");
      g_propagate_error (error, io.error);
    }
  return io.ok;
}

static void
raw_handshake_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RawIo *io = user_data;

  io->ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &io->error);
  io->done = TRUE;
}

/* wss: the TLS handshake runs on the main context, where the server is. */
static void
raw_start_tls (OwlTestRaw *raw)
{
  g_autoptr(GError) error = NULL;
  RawIo io = { 0, FALSE, NULL, FALSE };

  /* No database: see trust_test_certificate(). */
  raw->tls = g_initable_new (g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()),
                             NULL, &error,
                             "base-io-stream", raw->connection,
                             "database", NULL,
                             NULL);
  g_assert_no_error (error);
  g_signal_connect (raw->tls, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (raw->tls), G_PRIORITY_DEFAULT, NULL,
                                    raw_handshake_cb, &io);
  OWL_TEST_WAIT_FOR (io.done);
  g_assert_no_error (io.error);
  raw->input = g_io_stream_get_input_stream (raw->tls);
  raw->output = g_io_stream_get_output_stream (raw->tls);
}

OwlTestRaw *
owl_test_raw_connect_full (guint16     port,
                           const char *path,
                           const char *extra_headers,
                           int         rcvbuf,
                           guint      *status_out)
{
  return owl_test_raw_connect_with (port, path, extra_headers, rcvbuf, FALSE, status_out);
}

OwlTestRaw *
owl_test_raw_connect_with (guint16     port,
                           const char *path,
                           const char *extra_headers,
                           int         rcvbuf,
                           gboolean    tls,
                           guint      *status_out)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  RawRead rr = { NULL, NULL, 0, NULL, FALSE };
  OwlTestRaw *raw;
  guint status = 0;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  if (rcvbuf > 0)
    {
      /* Before connect, so the window the client announces is small too. */
      g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, rcvbuf, &error);
      g_assert_no_error (error);
    }
  address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  /* The kernel completes the TCP handshake from the listen backlog. */
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);

  raw = g_new0 (OwlTestRaw, 1);
  raw->connection = g_socket_connection_factory_create_connection (socket);
  raw->input = g_io_stream_get_input_stream (G_IO_STREAM (raw->connection));
  raw->output = g_io_stream_get_output_stream (G_IO_STREAM (raw->connection));
  raw->buffer = g_byte_array_new ();
  raw->chunk = g_malloc (RAW_CHUNK);
  if (tls)
    raw_start_tls (raw);

  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "%s"
                             "\r\n", path, port, extra_headers ? extra_headers : "");
  owl_test_raw_write (raw, request, strlen (request), &error);
  g_assert_no_error (error);

  rr.input = raw->input;
  rr.head = g_string_new (NULL);
  raw_read_next (&rr);
  OWL_TEST_WAIT_FOR (rr.done);
  g_assert_no_error (rr.error);
  if (sscanf (rr.head->str, "HTTP/1.1 %u", &status) != 1)
    status = 0;
  raw->response = g_string_free (rr.head, FALSE);
  if (status_out != NULL)
    *status_out = status;
  return raw;
}

OwlTestRaw *
owl_test_raw_connect (guint16     port,
                      const char *path)
{
  guint status = 0;
  OwlTestRaw *raw = owl_test_raw_connect_full (port, path, NULL, 0, &status);

  g_assert_cmpuint (status, ==, 101);
  return raw;
}

OwlTestRaw *
owl_test_fixture_raw_connect (OwlTestFixture *fixture,
                              const char     *path,
                              int             rcvbuf)
{
  guint status = 0;
  OwlTestRaw *raw = owl_test_raw_connect_with (fixture->port, path, NULL, rcvbuf, fixture->tls, &status);

  g_assert_cmpuint (status, ==, 101);
  return raw;
}

void
owl_test_raw_free (OwlTestRaw *raw)
{
  if (raw == NULL)
    return;
  if (raw->tls != NULL)
    {
      /* No close_notify exchange: the server may be gone already. */
      g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (raw->tls), FALSE);
      g_io_stream_close (raw->tls, NULL, NULL);
      g_object_unref (raw->tls);
    }
  g_io_stream_close (G_IO_STREAM (raw->connection), NULL, NULL);
  g_object_unref (raw->connection);
  g_byte_array_unref (raw->buffer);
  g_free (raw->chunk);
  g_free (raw->response);
  g_free (raw);
}

const char *
owl_test_raw_get_response (OwlTestRaw *raw)
{
  return raw->response;
}

GSocket *
owl_test_raw_get_socket (OwlTestRaw *raw)
{
  return g_socket_connection_get_socket (raw->connection);
}

void
owl_test_raw_write_now (OwlTestRaw *raw,
                        const void *data,
                        gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (raw->output, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

void
owl_test_raw_reset (OwlTestRaw *raw)
{
  struct linger hard = { 1, 0 };
  int fd = g_socket_get_fd (owl_test_raw_get_socket (raw));

  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), ==, 0);
  /* close(), not shutdown(): with a zero linger it sends the reset. */
  g_socket_close (owl_test_raw_get_socket (raw), NULL);
}

gboolean
owl_test_raw_is_eof (OwlTestRaw *raw)
{
  return raw->eof;
}

GBytes *
owl_test_frame_build (guint8      first_byte,
                      gboolean    mask,
                      const void *payload,
                      gsize       len)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 header[14];
  gsize n = 0;
  guint8 *frame;

  header[n++] = first_byte;
  if (len < 126)
    header[n++] = (mask ? 0x80 : 0) | (guint8) len;
  else if (len <= 0xffff)
    {
      header[n++] = (mask ? 0x80 : 0) | 126;
      header[n++] = (guint8) (len >> 8);
      header[n++] = (guint8) len;
    }
  else
    {
      header[n++] = (mask ? 0x80 : 0) | 127;
      for (guint i = 0; i < 8; i++)
        header[n++] = (guint8) ((guint64) len >> (56 - 8 * i));
    }
  if (mask)
    {
      memcpy (header + n, key, 4);
      n += 4;
    }

  frame = g_malloc (n + len);
  memcpy (frame, header, n);
  if (len > 0)
    memcpy (frame + n, payload, len);
  if (mask)
    for (gsize i = 0; i < len; i++)
      frame[n + i] ^= key[i & 3];
  return g_bytes_new_take (frame, n + len);
}

gboolean
owl_test_raw_send_frame (OwlTestRaw *raw,
                         guint8      first_byte,
                         gboolean    mask,
                         const void *payload,
                         gsize       len)
{
  g_autoptr(GBytes) frame = owl_test_frame_build (first_byte, mask, payload, len);
  gsize size;
  const void *data = g_bytes_get_data (frame, &size);

  return owl_test_raw_write (raw, data, size, NULL);
}

gboolean
owl_test_raw_send_text (OwlTestRaw *raw,
                        const char *text)
{
  return owl_test_raw_send_frame (raw, 0x81, TRUE, text, strlen (text));
}

gboolean
owl_test_raw_send_close (OwlTestRaw *raw,
                         guint16     code,
                         const char *reason)
{
  guint8 payload[125];
  gsize len = 0;

  if (code != 0)
    {
      gsize reason_len = reason ? strlen (reason) : 0;

      g_assert_cmpuint (reason_len, <=, 123);
      payload[0] = (guint8) (code >> 8);
      payload[1] = (guint8) code;
      if (reason_len > 0)
        memcpy (payload + 2, reason, reason_len);
      len = 2 + reason_len;
    }
  return owl_test_raw_send_frame (raw, 0x88, TRUE, payload, len);
}

static void
raw_read_some_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RawIo *io = user_data;

  io->n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &io->error);
  io->done = TRUE;
}

/* One read into the buffer. FALSE at EOF or on an error (a reset). */
static gboolean
raw_fill (OwlTestRaw *raw,
          guint       timeout_ms,
          const char *file,
          int         line)
{
  RawIo io = { 0, FALSE, NULL, FALSE };

  if (raw->eof)
    return FALSE;
  g_input_stream_read_async (raw->input, raw->chunk, RAW_CHUNK, G_PRIORITY_DEFAULT, NULL,
                             raw_read_some_cb, &io);
  OWL_TEST_WAIT_FOR_AT (io.done, timeout_ms, file, line);
  if (io.n <= 0)
    {
      if (io.error != NULL)
        g_test_message ("raw client: read failed: %s", io.error->message);
      g_clear_error (&io.error);
      raw->eof = TRUE;
      return FALSE;
    }
  g_byte_array_append (raw->buffer, raw->chunk, (guint) io.n);
  return TRUE;
}

/* A whole frame from the buffer, or NULL if it is not all there yet. */
static OwlTestFrame *
raw_parse (OwlTestRaw *raw)
{
  const guint8 *d = raw->buffer->data;
  gsize have = raw->buffer->len;
  gsize header_len;
  guint len7;
  guint64 len;
  OwlTestFrame *frame;
  guint8 *payload;

  if (have < 2)
    return NULL;
  len7 = d[1] & 0x7f;
  header_len = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((d[1] & 0x80) ? 4 : 0);
  if (have < header_len)
    return NULL;
  if (len7 == 126)
    len = ((guint64) d[2] << 8) | d[3];
  else if (len7 == 127)
    {
      len = 0;
      for (guint i = 2; i < 10; i++)
        len = (len << 8) | d[i];
    }
  else
    len = len7;
  if (have - header_len < len)
    return NULL;

  frame = g_new0 (OwlTestFrame, 1);
  frame->fin = (d[0] & 0x80) != 0;
  frame->rsv = d[0] & 0x70;
  frame->opcode = d[0] & 0x0f;
  frame->masked = (d[1] & 0x80) != 0;
  payload = g_memdup2 (d + header_len, (gsize) len);
  if (frame->masked)
    {
      const guint8 *key = d + header_len - 4;

      for (gsize i = 0; i < len; i++)
        payload[i] ^= key[i & 3];
    }
  frame->payload = g_bytes_new_take (payload, (gsize) len);
  g_byte_array_remove_range (raw->buffer, 0, (guint) (header_len + len));
  return frame;
}

OwlTestFrame *
owl_test_raw_read_frame_at (OwlTestRaw *raw,
                            const char *file,
                            int         line)
{
  for (;;)
    {
      OwlTestFrame *frame = raw_parse (raw);

      if (frame != NULL)
        return frame;
      if (!raw_fill (raw, OWL_TEST_TIMEOUT_MS, file, line))
        {
          if (raw->buffer->len > 0)
            g_test_message ("raw client: %u bytes of an incomplete frame at the end",
                            raw->buffer->len);
          return NULL;
        }
    }
}

void
owl_test_frame_free (OwlTestFrame *frame)
{
  if (frame == NULL)
    return;
  g_bytes_unref (frame->payload);
  g_free (frame);
}

gint
owl_test_raw_read_close_at (OwlTestRaw  *raw,
                            char       **reason_out,
                            guint       *n_pings,
                            const char  *file,
                            int          line)
{
  for (;;)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame_at (raw, file, line);
      gsize len;
      const guint8 *data;

      if (frame == NULL)
        return -1;
      data = g_bytes_get_data (frame->payload, &len);
      if (frame->opcode == 0x9)
        {
          if (n_pings != NULL)
            (*n_pings)++;
          continue;
        }
      if (frame->opcode != 0x8)
        {
          g_test_message ("raw client: skipped a frame of opcode %u, %" G_GSIZE_FORMAT " bytes",
                          frame->opcode, len);
          continue;
        }
      if (reason_out != NULL)
        *reason_out = len > 2 ? g_strndup ((const char *) data + 2, len - 2) : g_strdup ("");
      if (len < 2)
        return 1005;
      return (data[0] << 8) | data[1];
    }
}

gboolean
owl_test_raw_wait_eof_at (OwlTestRaw *raw,
                          const char *file,
                          int         line)
{
  gint64 deadline = g_get_monotonic_time () + OWL_TEST_TIMEOUT_MS * (gint64) 1000;

  while (raw_fill (raw, OWL_TEST_TIMEOUT_MS, file, line))
    {
      g_byte_array_set_size (raw->buffer, 0);
      if (g_get_monotonic_time () > deadline)
        owl_test_watchdog_fail ("the server to end the TCP connection", file, line);
    }
  g_byte_array_set_size (raw->buffer, 0);
  return raw->eof;
}

/* Memory */

gsize
owl_test_get_rss_kib (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *p;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  p = strstr (status, key);
  g_assert_nonnull (p);
  return (gsize) g_ascii_strtoull (p + strlen (key), NULL, 10);
}

gboolean
owl_test_reset_peak_rss (void)
{
  /* "5" resets the peak RSS (VmHWM) to the current RSS; Linux 4.0 on.
   * Written in place: g_file_set_contents() would rename over it. */
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  gboolean ok;

  if (f == NULL)
    return FALSE;
  ok = fputs ("5", f) >= 0;
  return fclose (f) == 0 && ok;
}

/* Periods */

void
owl_test_run_for (guint ms)
{
  OwlTestWatchdog *timer = owl_test_watchdog_new (ms);

  while (!owl_test_watchdog_fired (timer))
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  owl_test_watchdog_free (timer);
}

/* JSON */

JsonNode *
owl_test_json_parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_test_message ("not JSON: %s", text);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

char *
owl_test_json_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static JsonObject *
json_object_of (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

gboolean
owl_test_json_has (JsonNode   *node,
                   const char *member)
{
  return json_object_has_member (json_object_of (node), member);
}

static JsonNode *
json_member (JsonNode   *node,
             const char *member)
{
  JsonNode *value = json_object_get_member (json_object_of (node), member);

  if (value == NULL)
    {
      g_autofree char *text = owl_test_json_to_string (node);

      g_test_message ("member '%s' missing in %s", member, text);
    }
  g_assert_nonnull (value);
  return value;
}

const char *
owl_test_json_get_string (JsonNode   *node,
                          const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_STRING);
  return json_node_get_string (value);
}

gint64
owl_test_json_get_int (JsonNode   *node,
                       const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_true (JSON_NODE_HOLDS_VALUE (value));
  return json_node_get_int (value);
}

gboolean
owl_test_json_get_bool (JsonNode   *node,
                        const char *member)
{
  JsonNode *value = json_member (node, member);

  g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (value);
}

void
owl_test_assert_json_equal (JsonNode   *node,
                            const char *expected)
{
  g_autoptr(JsonNode) want = owl_test_json_parse (expected);
  g_autofree char *got = owl_test_json_to_string (node);
  g_autofree char *want_text = owl_test_json_to_string (want);

  if (!json_node_equal (node, want))
    g_assert_cmpstr (got, ==, want_text);
}

void
owl_test_assert_error_frame (JsonNode   *node,
                             const char *id,
                             const char *code,
                             const char *payload_prefix)
{
  g_autofree char *text = owl_test_json_to_string (node);

  g_test_message ("error frame: %s", text);
  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, "error");
  if (id != NULL)
    g_assert_cmpstr (owl_test_json_get_string (node, "id"), ==, id);
  g_assert_cmpstr (owl_test_json_get_string (node, "code"), ==, code);
  g_assert_true (g_str_has_prefix (owl_test_json_get_string (node, "payload"), payload_prefix));
  g_assert_true (owl_test_json_get_bool (node, "recoverable"));
}

void
owl_test_assert_member_json (JsonNode   *node,
                             const char *member,
                             const char *expected)
{
  owl_test_assert_json_equal (json_member (node, member), expected);
}

void
owl_test_assert_frame (JsonNode   *node,
                       const char *type,
                       const char *id)
{
  g_autofree char *text = owl_test_json_to_string (node);

  g_test_message ("frame: %s", text);
  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, type);
  if (id != NULL)
    g_assert_cmpstr (owl_test_json_get_string (node, "id"), ==, id);
}

/* TLS */

GTlsCertificate *
owl_test_make_certificate (void)
{
  static GTlsCertificate *certificate;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  int status = 0;

  if (certificate != NULL)
    return g_object_ref (certificate);

  dir = g_dir_make_tmp ("owlsock-test-XXXXXX", &error);
  g_assert_no_error (error);
  cert = g_build_filename (dir, "cert.pem", NULL);
  key = g_build_filename (dir, "key.pem", NULL);
  {
    const char *argv[] = {
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
      "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert, NULL
    };

    g_spawn_sync (NULL, (char **) argv, NULL,
                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
  return g_object_ref (certificate);
}

OwlRequest *
owl_test_request_new (const char *path,
                      const char *header,
                      const char *value)
{
  return owl_request_new_bare (path, header, value, "127.0.0.1");
}
