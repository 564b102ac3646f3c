/* test-protect-fd.c: the service's protective limits: running out of file
 * descriptors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test asserts the exact answer a refused client gets, and that a
 * well-behaved client of the same service is still served.
 */

#include "owl-test-protect.h"

#include <stdio.h>
#include <string.h>

/* Descriptors ---------------------------------------------------------------------- *
 *
 * The server runs in a helper process (owl-protect-server) whose descriptor
 * limit is small; this process talks to it over blocking sockets whose
 * timeouts are the watchdogs. */

#define FD_LIMIT 64

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  guint16           port;
  guint64           soft;
  guint64           hard;
} Server;

typedef struct
{
  char     *line;
  GError   *error;
  gboolean  done;
} LineRead;

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineRead *lr = user_data;

  lr->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result,
                                                   NULL, &lr->error);
  lr->done = TRUE;
}

static char *
server_read_line (Server *server)
{
  LineRead lr = { NULL, NULL, FALSE };

  g_data_input_stream_read_line_async (server->out, G_PRIORITY_DEFAULT, NULL, read_line_cb, &lr);
  OWL_TEST_WAIT_FOR (lr.done);
  g_assert_no_error (lr.error);
  g_assert_nonnull (lr.line);
  g_test_message ("server: %s", lr.line);
  return lr.line;
}

static void
server_start (Server *server,
              guint   soft,
              guint   hard)
{
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, "owl-protect-server", NULL);
  g_autofree char *soft_arg = g_strdup_printf ("%u", soft);
  g_autofree char *hard_arg = g_strdup_printf ("%u", hard);
  g_autofree char *nofile = NULL;
  g_autofree char *listening = NULL;
  g_autoptr(GError) error = NULL;
  guint port = 0;

  memset (server, 0, sizeof *server);
  server->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                      &error, path, soft_arg, hard_arg, NULL);
  g_assert_no_error (error);
  server->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));

  nofile = server_read_line (server);
  g_assert_cmpint (sscanf (nofile, "nofile %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                           &server->soft, &server->hard), ==, 2);
  listening = server_read_line (server);
  g_assert_cmpint (sscanf (listening, "listening on %u", &port), ==, 1);
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (port, <=, G_MAXUINT16);
  server->port = (guint16) port;
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* Its standard input ends: it exits, with status 0 unless it crashed. */
static void
server_stop (Server *server)
{
  gboolean done = FALSE;

  g_output_stream_close (g_subprocess_get_stdin_pipe (server->process), NULL, NULL);
  g_subprocess_wait_async (server->process, NULL, wait_cb, &done);
  OWL_TEST_WAIT_FOR (done);
  g_assert_true (g_subprocess_get_if_exited (server->process));
  g_assert_cmpint (g_subprocess_get_exit_status (server->process), ==, 0);
  g_clear_object (&server->out);
  g_clear_object (&server->process);
}

static GSocket *
fd_connect (guint16 port)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 10);
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);
  return socket;
}

static void
fd_close (gpointer data)
{
  GSocket *socket = data;

  g_socket_close (socket, NULL);
  g_object_unref (socket);
}

static void
fd_send_all (GSocket    *socket,
             const void *data,
             gsize       len)
{
  gsize done = 0;

  g_socket_set_timeout (socket, 10);
  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data + done, len - done, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

static void
fd_read_exact (GSocket *socket,
               void    *buf,
               gsize    len)
{
  gsize done = 0;

  g_socket_set_timeout (socket, 10);
  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (char *) buf + done, len - done, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

/* Reads the response head into @head, within @timeout s of silence. FALSE
 * with @timed_out when nothing came, FALSE alone when the connection ended. */
static gboolean
fd_read_head (GSocket  *socket,
              GString  *head,
              guint     timeout,
              gboolean *timed_out)
{
  *timed_out = FALSE;
  g_socket_set_timeout (socket, timeout);
  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      g_autoptr(GError) error = NULL;
      char c;
      gssize n = g_socket_receive (socket, &c, 1, NULL, &error);

      if (n == 1)
        {
          g_string_append_c (head, c);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        *timed_out = TRUE;
      else
        g_test_message ("connection ended: %s", error ? error->message : "EOF");
      return FALSE;
    }
  return TRUE;
}

static guint
head_status (GString *head)
{
  guint status = 0;

  if (sscanf (head->str, "HTTP/1.1 %u", &status) != 1)
    return 0;
  return status;
}

static void
fd_send_upgrade (GSocket *socket,
                 guint16  port)
{
  g_autofree char *request = upgrade_request (port, "/ws/echo", NULL, TRUE);

  fd_send_all (socket, request, strlen (request));
}

/* A round trip of a small text frame. */
static void
fd_assert_echo (GSocket    *socket,
                const char *text)
{
  g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, text, strlen (text));
  guint8 header[2];
  char payload[125];
  gsize len = strlen (text);

  g_assert_cmpuint (len, <, 126);
  fd_send_all (socket, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  fd_read_exact (socket, header, 2);
  g_assert_cmpuint (header[0], ==, 0x81);
  g_assert_cmpuint (header[1], ==, len);
  fd_read_exact (socket, payload, len);
  g_assert_cmpmem (payload, len, text, len);
}

/* A new client is upgraded and echoes. */
static void
fd_assert_served (guint16 port)
{
  GSocket *socket = fd_connect (port);
  g_autoptr(GString) head = g_string_new (NULL);
  gboolean timed_out;

  fd_send_upgrade (socket, port);
  g_assert_true (fd_read_head (socket, head, 10, &timed_out));
  g_assert_cmpuint (head_status (head), ==, 101);
  fd_assert_echo (socket, "{\"type\":\"served\"}");
  fd_close (socket);
}

/* listen() raises the soft descriptor limit to the hard one. */
static void
test_fd_rlimit_raised (void)
{
  Server server;

  server_start (&server, FD_LIMIT / 2, FD_LIMIT);
  g_assert_cmpuint (server.hard, ==, FD_LIMIT);
  g_assert_cmpuint (server.soft, ==, FD_LIMIT);
  fd_assert_served (server.port);
  server_stop (&server);
}

/* A server limited to 64 descriptors is given connections until it stops
 * accepting; those it has are served meanwhile. Once they close, the one
 * that waited in the backlog is accepted and served, and so is a new one:
 * the listener did not give up on EMFILE. */
static void
test_fd_exhaustion (void)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (fd_close);
  g_autoptr(GString) pending_head = g_string_new (NULL);
  GSocket *pending = NULL;
  gboolean limit_reached = FALSE;
  Server server;

  server_start (&server, FD_LIMIT, FD_LIMIT);
  g_assert_cmpuint (server.soft, ==, FD_LIMIT);

  for (guint i = 0; i < 2 * FD_LIMIT && !limit_reached; i++)
    {
      GSocket *socket = fd_connect (server.port);
      g_autoptr(GString) head = g_string_new (NULL);
      gboolean timed_out;

      fd_send_upgrade (socket, server.port);
      if (fd_read_head (socket, head, 1, &timed_out) && head_status (head) == 101)
        {
          g_ptr_array_add (open, socket);
          continue;
        }

      limit_reached = TRUE;
      if (timed_out && head->len == 0)
        {
          g_test_message ("connection %u waits in the backlog", i);
          pending = socket;
        }
      else
        {
          g_test_message ("connection %u: \"%s\"%s", i, head->str,
                          timed_out ? " (then nothing)" : " (then the end)");
          fd_close (socket);
        }
    }
  g_test_message ("%u connections open when the server stopped accepting", open->len);
  g_assert_true (limit_reached);
  g_assert_cmpuint (open->len, >=, 8);
  g_assert_cmpuint (open->len, <, FD_LIMIT);

  /* Those it has are served. */
  fd_assert_echo (g_ptr_array_index (open, 0), "{\"type\":\"full\"}");
  fd_assert_echo (g_ptr_array_index (open, open->len - 1), "{\"type\":\"full\"}");

  g_ptr_array_set_size (open, 0);
  if (pending != NULL)
    {
      gboolean timed_out;

      g_assert_true (fd_read_head (pending, pending_head, 10, &timed_out));
      g_assert_cmpuint (head_status (pending_head), ==, 101);
      fd_assert_echo (pending, "{\"type\":\"waited\"}");
      fd_close (pending);
    }
  fd_assert_served (server.port);
  fd_assert_served (server.port);
  server_stop (&server);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  g_test_add_func ("/owl/protect/fd/rlimit-raised", test_fd_rlimit_raised);
  g_test_add_func ("/owl/protect/fd/exhaustion", test_fd_exhaustion);

  return g_test_run ();
}
