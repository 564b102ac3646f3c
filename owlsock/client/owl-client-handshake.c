/* owl-client-handshake.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <libsoup/soup.h>

#include "owl-client-handshake-private.h"
#include "owl-error.h"
#include "owl-json-private.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define READ_CHUNK 4096

typedef struct
{
  OwlHandshakeConfig  config;         /* its pointers are ours */
  char               *key;
  GSocketConnectable *connectable;
  GSocketClient      *socket_client;
  GIOStream          *stream;
  char               *request;
  GByteArray         *in;
  guint8             *buf;
  gsize               head_len;       /* 0 until the blank line came */
  SoupMessageHeaders *answer;
  guint               status;
  GCancellable       *cancellable;    /* ours: the caller's and the timer cancel it */
  GCancellable       *caller;
  gulong              caller_id;
  GSource            *timer;
  gboolean            timed_out;
} Handshake;

static void
handshake_free (Handshake *hs)
{
  if (hs->caller != NULL)
    g_cancellable_disconnect (hs->caller, hs->caller_id);
  g_clear_object (&hs->caller);
  if (hs->timer != NULL)
    {
      g_source_destroy (hs->timer);
      g_source_unref (hs->timer);
    }
  g_uri_unref (hs->config.uri);
  g_strfreev ((char **) hs->config.protocols);
  g_strfreev ((char **) hs->config.headers);
  g_free ((char *) hs->config.bearer);
  g_clear_object (&hs->config.tls_database);
  g_free (hs->key);
  g_clear_object (&hs->connectable);
  g_clear_object (&hs->socket_client);
  g_clear_object (&hs->stream);
  g_free (hs->request);
  g_byte_array_unref (hs->in);
  g_free (hs->buf);
  g_clear_pointer (&hs->answer, soup_message_headers_unref);
  g_clear_object (&hs->cancellable);
  g_free (hs);
}

void
owl_handshake_result_free (OwlHandshakeResult *result)
{
  if (result == NULL)
    return;
  g_clear_object (&result->stream);
  g_clear_pointer (&result->leftover, g_bytes_unref);
  g_free (result->protocol);
  g_free (result);
}

char *
owl_handshake_accept_key (const char *key)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guint8 *) key, strlen (key));
  g_checksum_update (sha1, (const guint8 *) WS_GUID, strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

/* Failing ------------------------------------------------------------------------ */

static void
fail (GTask  *task,
      GError *error)
{
  Handshake *hs = g_task_get_task_data (task);

  if (hs->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      error = g_error_new_literal (OWL_ERROR, OWL_ERROR_TIMEOUT, "The handshake took too long");
    }
  g_task_return_error (task, error);
}

static void
fail_literal (GTask      *task,
              OwlError    code,
              const char *message)
{
  fail (task, g_error_new_literal (OWL_ERROR, code, message));
}

/* A refusal: the body's {code, message} when it has them, else the status. */
static void
fail_refused (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);
  const char *body = (const char *) hs->in->data + hs->head_len;
  gsize len = hs->in->len - hs->head_len;
  g_autoptr(JsonNode) root = NULL;
  OwlError code = OWL_ERROR_FAILED;
  const char *message = NULL;
  OwlError parse_code;

  if (len > OWL_HANDSHAKE_MAX_BODY)
    len = OWL_HANDSHAKE_MAX_BODY;
  root = owl_json_parse (body, len, 8, &parse_code);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *object = json_node_get_object (root);

      if (!owl_error_code_from_string (owl_json_object_get_string (object, "code"), &code))
        code = OWL_ERROR_FAILED;
      message = owl_json_object_get_string (object, "message");
    }
  else if (hs->status == 401)
    code = OWL_ERROR_AUTH_FAILED;
  else if (hs->status == 403)
    code = OWL_ERROR_FORBIDDEN;
  else if (hs->status == 404)
    code = OWL_ERROR_NOT_FOUND;
  else if (hs->status == 429)
    code = OWL_ERROR_RATE_LIMITED;
  else if (hs->status == 503)
    code = OWL_ERROR_UNAVAILABLE;

  fail (task, g_error_new (OWL_ERROR, code, "The server refused the upgrade (HTTP %u): %s", hs->status,
                           message ? message : soup_status_get_phrase (hs->status)));
}

/* The answer ---------------------------------------------------------------------- */

static gboolean
offered (Handshake  *hs,
         const char *protocol)
{
  return hs->config.protocols != NULL && g_strv_contains (hs->config.protocols, protocol) &&
         !g_str_has_prefix (protocol, "owlsock.bearer.");
}

/* The checks of RFC 6455 section 4.1 on a 101. */
static gboolean
check_answer (Handshake           *hs,
              OwlHandshakeResult  *result,
              GError             **error)
{
  SoupMessageHeaders *h = hs->answer;
  const char *accept = soup_message_headers_get_one (h, "Sec-WebSocket-Accept");
  const char *protocol = soup_message_headers_get_one (h, "Sec-WebSocket-Protocol");
  const char *extensions = soup_message_headers_get_one (h, "Sec-WebSocket-Extensions");
  g_autofree char *expected = owl_handshake_accept_key (hs->key);
  const char *bad = NULL;

  if (!soup_message_headers_header_equals (h, "Upgrade", "websocket"))
    bad = "no Upgrade: websocket";
  else if (!soup_message_headers_header_contains (h, "Connection", "upgrade"))
    bad = "no Connection: upgrade";
  else if (accept == NULL || !g_str_equal (accept, expected))
    bad = "a wrong Sec-WebSocket-Accept";
  else if (protocol != NULL && !offered (hs, protocol))
    bad = "a subprotocol that was not offered";
  else if (extensions != NULL && *extensions != '\0')
    {
      g_autofree char *response = NULL;

      if (!hs->config.deflate ||
          !owl_deflate_negotiate (extensions, FALSE, 15, &result->deflate_params, &response))
        bad = "an extension that was not offered";
      else
        result->deflate = TRUE;
    }
  if (bad != NULL)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_MALFORMED, "The server's handshake answer has %s", bad);
      return FALSE;
    }
  result->protocol = g_strdup (protocol);
  return TRUE;
}

static void
succeed (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);
  g_autoptr(OwlHandshakeResult) result = g_new0 (OwlHandshakeResult, 1);
  g_autoptr(GError) error = NULL;

  result->status = hs->status;
  if (!check_answer (hs, result, &error))
    {
      fail (task, g_steal_pointer (&error));
      return;
    }
  result->stream = g_steal_pointer (&hs->stream);
  if (hs->in->len > hs->head_len)
    result->leftover = g_bytes_new (hs->in->data + hs->head_len, hs->in->len - hs->head_len);
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) owl_handshake_result_free);
}

static gssize
find_blank_line (const guint8 *data,
                 gsize         len)
{
  for (gsize i = 3; i < len; i++)
    if (data[i - 3] == '\r' && data[i - 2] == '\n' && data[i - 1] == '\r' && data[i] == '\n')
      return i + 1;
  return -1;
}

/* TRUE when the head (and a refusal's body) is all here: the task is
 * answered. FALSE: read more. */
static gboolean
consider_input (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);
  goffset length;

  if (hs->head_len == 0)
    {
      gssize end = find_blank_line (hs->in->data, MIN (hs->in->len, OWL_HANDSHAKE_MAX_HEAD));

      if (end < 0)
        {
          if (hs->in->len < OWL_HANDSHAKE_MAX_HEAD)
            return FALSE;
          fail_literal (task, OWL_ERROR_MALFORMED, "The server's handshake answer is too long");
          return TRUE;
        }
      hs->head_len = end;
      hs->answer = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
      if (!soup_headers_parse_response ((const char *) hs->in->data, end, hs->answer, NULL, &hs->status, NULL))
        {
          fail_literal (task, OWL_ERROR_MALFORMED, "The server's handshake answer is not HTTP");
          return TRUE;
        }
    }
  if (hs->status == SOUP_STATUS_SWITCHING_PROTOCOLS)
    {
      succeed (task);
      return TRUE;
    }
  length = soup_message_headers_get_content_length (hs->answer);
  if (length > 0 && hs->in->len - hs->head_len < (gsize) MIN (length, OWL_HANDSHAKE_MAX_BODY))
    return FALSE;
  fail_refused (task);
  return TRUE;
}

static void read_more (GTask *task);

static void
on_read (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  g_autoptr(GTask) task = data;
  Handshake *hs = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (n < 0)
    fail (task, error);
  else if (n == 0 && hs->head_len > 0)
    fail_refused (task);  /* a body shorter than announced */
  else if (n == 0)
    fail_literal (task, OWL_ERROR_CLOSED, "The server closed the connection during the handshake");
  else
    {
      g_byte_array_append (hs->in, hs->buf, n);
      if (!consider_input (task))
        read_more (g_steal_pointer (&task));
    }
}

static void
read_more (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);

  g_input_stream_read_async (g_io_stream_get_input_stream (hs->stream), hs->buf, READ_CHUNK,
                             G_PRIORITY_DEFAULT, hs->cancellable, on_read, task);
}

/* The request ---------------------------------------------------------------------- */

static char *
build_request (Handshake *hs)
{
  GUri *uri = hs->config.uri;
  GString *s = g_string_new ("GET ");
  const char *path = g_uri_get_path (uri);
  int port = g_uri_get_port (uri);
  gboolean tls = g_ascii_strcasecmp (g_uri_get_scheme (uri), "wss") == 0;
  const char *host = g_uri_get_host (uri);
  gboolean v6 = strchr (host, ':') != NULL;

  g_string_append (s, path[0] != '\0' ? path : "/");
  if (g_uri_get_query (uri) != NULL)
    g_string_append_printf (s, "?%s", g_uri_get_query (uri));
  g_string_append_printf (s, " HTTP/1.1\r\nHost: %s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
  if (port > 0 && port != (tls ? 443 : 80))
    g_string_append_printf (s, ":%d", port);
  g_string_append_printf (s, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", hs->key);
  if (hs->config.protocols != NULL && hs->config.protocols[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", (char **) hs->config.protocols);

      g_string_append_printf (s, "Sec-WebSocket-Protocol: %s\r\n", list);
    }
  if (hs->config.deflate)
    g_string_append (s, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  if (hs->config.bearer != NULL)
    g_string_append_printf (s, "Authorization: Bearer %s\r\n", hs->config.bearer);
  for (guint i = 0; hs->config.headers != NULL && hs->config.headers[i] != NULL; i++)
    g_string_append_printf (s, "%s\r\n", hs->config.headers[i]);
  g_string_append (s, "\r\n");
  return g_string_free (s, FALSE);
}

static void
on_written (GObject      *source,
            GAsyncResult *res,
            gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    fail (task, error);
  else
    read_more (g_steal_pointer (&task));
}

static void
send_request (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);

  hs->request = build_request (hs);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (hs->stream), hs->request,
                                   strlen (hs->request), G_PRIORITY_DEFAULT, hs->cancellable,
                                   on_written, task);
}

/* Connecting ------------------------------------------------------------------------ */

static gboolean
on_accept_certificate (GTlsConnection       *connection,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              data)
{
  Handshake *hs = data;

  return hs->config.accept != NULL && hs->config.accept (certificate, errors, hs->config.accept_data);
}

static void
on_tls (GObject      *source,
        GAsyncResult *res,
        gpointer      data)
{
  g_autoptr(GTask) task = data;
  Handshake *hs = g_task_get_task_data (task);
  GError *error = NULL;

  g_signal_handlers_disconnect_by_data (source, hs);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), res, &error))
    fail (task, error);
  else
    send_request (g_steal_pointer (&task));
}

static void
on_connected (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  g_autoptr(GTask) task = data;
  Handshake *hs = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(GSocketConnection) connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);
  GIOStream *tls;

  if (connection == NULL)
    {
      fail (task, error);
      return;
    }
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (g_ascii_strcasecmp (g_uri_get_scheme (hs->config.uri), "wss") != 0)
    {
      hs->stream = G_IO_STREAM (g_steal_pointer (&connection));
      send_request (g_steal_pointer (&task));
      return;
    }

  tls = g_tls_client_connection_new (G_IO_STREAM (connection), hs->connectable, &error);
  if (tls == NULL)
    {
      fail (task, error);
      return;
    }
  hs->stream = tls;
  if (hs->config.tls_database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), hs->config.tls_database);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), hs);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, hs->cancellable,
                                    on_tls, g_steal_pointer (&task));
}

static gboolean
timeout_cb (gpointer data)
{
  Handshake *hs = data;

  hs->timed_out = TRUE;
  g_cancellable_cancel (hs->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled (GCancellable *caller,
                  GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

static Handshake *
handshake_new (const OwlHandshakeConfig *config,
               GCancellable             *cancellable)
{
  Handshake *hs = g_new0 (Handshake, 1);
  guint8 nonce[16];

  hs->config = *config;
  hs->config.uri = g_uri_ref (config->uri);
  hs->config.protocols = (const char * const *) g_strdupv ((char **) config->protocols);
  hs->config.headers = (const char * const *) g_strdupv ((char **) config->headers);
  hs->config.bearer = g_strdup (config->bearer);
  hs->config.tls_database = config->tls_database ? g_object_ref (config->tls_database) : NULL;
  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = g_random_int_range (0, 256);
  hs->key = g_base64_encode (nonce, sizeof nonce);
  hs->in = g_byte_array_new ();
  hs->buf = g_malloc (READ_CHUNK);
  hs->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      hs->caller = g_object_ref (cancellable);
      hs->caller_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled),
                                             hs->cancellable, NULL);
    }
  return hs;
}

void
owl_handshake_async (const OwlHandshakeConfig *config,
                     GCancellable             *cancellable,
                     GAsyncReadyCallback       callback,
                     gpointer                  user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Handshake *hs = handshake_new (config, cancellable);
  gboolean tls = g_ascii_strcasecmp (g_uri_get_scheme (config->uri), "wss") == 0;
  int port = g_uri_get_port (config->uri);

  g_task_set_source_tag (task, owl_handshake_async);
  g_task_set_task_data (task, hs, (GDestroyNotify) handshake_free);
  /* A GTask's result is checked against its cancellable: ours decides. */
  g_task_set_check_cancellable (task, FALSE);
  if (config->timeout_ms > 0)
    {
      hs->timer = g_timeout_source_new (config->timeout_ms);
      g_source_set_callback (hs->timer, timeout_cb, hs, NULL);
      g_source_attach (hs->timer, g_main_context_get_thread_default ());
    }

  hs->connectable = g_network_address_new (g_uri_get_host (config->uri),
                                           port > 0 ? port : (tls ? 443 : 80));
  hs->socket_client = g_socket_client_new ();
  g_socket_client_connect_async (hs->socket_client, hs->connectable, hs->cancellable, on_connected,
                                 g_steal_pointer (&task));
}

OwlHandshakeResult *
owl_handshake_finish (GAsyncResult  *result,
                      guint         *status,
                      GError       **error)
{
  Handshake *hs = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  if (status != NULL)
    *status = hs->status;
  return g_task_propagate_pointer (G_TASK (result), error);
}
