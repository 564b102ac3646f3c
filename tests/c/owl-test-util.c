/* owl-test-util.c: fixtures, clients and waits shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"
#include "owl-test-util-private.h"
#include "owl-request-private.h"

#include <stdio.h>
#include <glib/gstdio.h>
#include <string.h>

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
gboolean
owl_test_accept_any_certificate (GObject              *connection_or_message,
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
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (owl_test_accept_any_certificate), NULL);
  g_ptr_array_add (fixture->clients, client);
  soup_session_websocket_connect_async (fixture->session, client->msg, origin, protocols,
                                        G_PRIORITY_DEFAULT, NULL,
                                        client_connected_cb, client);
  return client;
}

/* The fixture's clients connect with wss:// and accept the test
 * certificate by hand (owl_test_accept_any_certificate()), so they need no trust
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
