/* owl-test-util.h: fixtures, clients and waits shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <owlsock/owlsock.h>

G_BEGIN_DECLS

/* How long any wait may take before the test fails instead of hanging. */
#define OWL_TEST_TIMEOUT_MS 10000

/* What the server side saw on one accepted connection. */
typedef struct
{
  GPtrArray *messages;      /* JsonNode, from OwlConnection::message */
  GString   *events;        /* "message;" and "closed;" in the order they came */
  guint      n_closed;
  guint      close_code;
  char      *close_reason;
  guint      n_errors;
  gboolean   closed_on_other_thread;
} OwlTestRecord;

/* Which WebSocket code a test's connections run on: owlsock's own frame
 * layer (the service's own listener), or libsoup's (a SoupServer doing TLS
 * itself, given to owl_socket_service_attach(); owlsock cannot take such a
 * stream over). */
typedef enum
{
  OWL_TEST_TRANSPORT_OWLSOCK,
  OWL_TEST_TRANSPORT_OWLSOCK_TLS,
  OWL_TEST_TRANSPORT_SOUP,
} OwlTestTransport;

/* One service listening on 127.0.0.1, a client session, and every
 * connection the service accepted (full references, in accept order). */
typedef struct
{
  OwlSocketService *service;
  SoupSession      *session;
  guint16           port;
  GPtrArray        *accepted;  /* OwlConnection */
  GPtrArray        *clients;   /* OwlTestClient, freed at teardown */
  guint             n_stopped;
  gboolean          tls;       /* clients connect with wss:// */
  OwlTestTransport  transport; /* what owl_test_fixture_listen() sets up */
  SoupServer       *server;    /* the attached server, for OWL_TEST_TRANSPORT_SOUP */
} OwlTestFixture;

/* A libsoup WebSocket client and everything it received. */
typedef struct
{
  OwlTestFixture          *fixture;
  SoupWebsocketConnection *ws;
  SoupMessage             *msg;
  GError                  *connect_error;
  guint                    status;        /* HTTP status of the handshake */
  gboolean                 done;          /* the connect finished, either way */
  GPtrArray               *texts;         /* char *, each text frame */
  guint                    n_binary;
  guint                    n_closed;
  guint                    close_code;
  char                    *close_data;
  guint                    n_errors;
} OwlTestClient;

#define OWL_TEST(path, func) \
  g_test_add (path, OwlTestFixture, NULL, \
              owl_test_fixture_setup, func, owl_test_fixture_teardown)

/* One test body registered once per transport, as libsoup's websocket
 * tests do: @path/owlsock on the service's own listener, @path/owlsock-tls
 * on the same with TLS (the frame layer over a TLS stream), @path/soup on a
 * SoupServer with its own TLS given to attach(). The body calls
 * owl_test_fixture_listen() and connects raw clients with
 * owl_test_fixture_raw_connect(); the rest is the same. */
#define OWL_TEST_TRANSPORTS(path, func) \
  G_STMT_START { \
    g_test_add (path "/owlsock", OwlTestFixture, GINT_TO_POINTER (OWL_TEST_TRANSPORT_OWLSOCK), \
                owl_test_fixture_setup_transport, func, owl_test_fixture_teardown); \
    g_test_add (path "/owlsock-tls", OwlTestFixture, GINT_TO_POINTER (OWL_TEST_TRANSPORT_OWLSOCK_TLS), \
                owl_test_fixture_setup_transport, func, owl_test_fixture_teardown); \
    g_test_add (path "/soup", OwlTestFixture, GINT_TO_POINTER (OWL_TEST_TRANSPORT_SOUP), \
                owl_test_fixture_setup_transport, func, owl_test_fixture_teardown); \
  } G_STMT_END

void            owl_test_init                (int             *argc,
                                              char          ***argv);

/* Logs: once owl_test_capture_logs() ran (from main, before
 * owl_test_init), every structured log line of the process is also kept as
 * "KEY=value" lines (owl_test_get_log()), and a warning or critical that
 * holds an expected substring is swallowed instead of aborting the test.
 * owl_test_assert_expected_warnings() fails unless each came, then forgets
 * them. */
void            owl_test_capture_logs        (void);
const char     *owl_test_get_log             (void);
void            owl_test_expect_warning      (const char       *substring);
void            owl_test_assert_expected_warnings (void);

/* Waits iterate the thread-default main context until a condition holds;
 * a watchdog fails the test after the timeout instead of hanging. */
typedef struct _OwlTestWatchdog OwlTestWatchdog;
OwlTestWatchdog *owl_test_watchdog_new       (guint             timeout_ms);
gboolean        owl_test_watchdog_fired      (OwlTestWatchdog  *watchdog);
void            owl_test_watchdog_free       (OwlTestWatchdog  *watchdog);
void            owl_test_watchdog_fail       (const char       *what,
                                              const char       *file,
                                              int               line);

/* Wait until an expression holds. The _AT form names the caller's location
 * when the watchdog fires. */
#define OWL_TEST_WAIT_FOR_AT(expr, timeout_ms, file, line) \
  G_STMT_START { \
    OwlTestWatchdog *owl_wd_ = owl_test_watchdog_new (timeout_ms); \
    while (!(expr)) \
      { \
        if (owl_test_watchdog_fired (owl_wd_)) \
          owl_test_watchdog_fail (#expr, file, line); \
        g_main_context_iteration (g_main_context_get_thread_default (), TRUE); \
      } \
    owl_test_watchdog_free (owl_wd_); \
  } G_STMT_END
#define OWL_TEST_WAIT_FOR_MS(expr, timeout_ms) \
  OWL_TEST_WAIT_FOR_AT (expr, timeout_ms, __FILE__, __LINE__)
#define OWL_TEST_WAIT_FOR(expr) OWL_TEST_WAIT_FOR_MS (expr, OWL_TEST_TIMEOUT_MS)

/* Dispatch whatever is ready now, without blocking. */
void            owl_test_drain               (void);

/* Fixture */
void            owl_test_fixture_setup       (OwlTestFixture  *fixture,
                                              gconstpointer    data);
/* The same, @data being an OwlTestTransport (GINT_TO_POINTER). */
void            owl_test_fixture_setup_transport (OwlTestFixture *fixture,
                                                  gconstpointer   data);
void            owl_test_fixture_teardown    (OwlTestFixture  *fixture,
                                              gconstpointer    data);
OwlModule      *owl_test_fixture_add_module  (OwlTestFixture  *fixture,
                                              const char      *alias,
                                              const char      *path);
OwlModule      *owl_test_fixture_add_echo_module (OwlTestFixture *fixture,
                                                  const char     *alias,
                                                  const char     *path);
/* An echo module with these properties set (a NULL-terminated list). */
OwlModule      *owl_test_fixture_add_echo_module_with (OwlTestFixture *fixture,
                                                       const char     *alias,
                                                       const char     *path,
                                                       const char     *first_property,
                                                       ...) G_GNUC_NULL_TERMINATED;
/* Listens on 127.0.0.1, port 0, as the fixture's transport says: the
 * service's own listener (plain, or TLS after owl_test_fixture_use_tls()),
 * or owl_test_fixture_listen_attached_tls(). */
void            owl_test_fixture_listen      (OwlTestFixture  *fixture);
/* The service does not listen itself: it is attached to a SoupServer the
 * fixture makes, which speaks TLS with the test certificate; the fixture's
 * clients connect with wss:// and accept it. */
void            owl_test_fixture_listen_attached_tls (OwlTestFixture *fixture);
/* Before listening: the service speaks TLS with a test certificate, and
 * the fixture's clients connect with wss:// and accept it. */
void            owl_test_fixture_use_tls     (OwlTestFixture  *fixture);
OwlConnection  *owl_test_fixture_wait_accepted_at (OwlTestFixture *fixture,
                                                   guint           index,
                                                   const char     *file,
                                                   int             line);
#define owl_test_fixture_wait_accepted(fixture, index) \
  owl_test_fixture_wait_accepted_at (fixture, index, __FILE__, __LINE__)
void            owl_test_track_module        (OwlTestFixture  *fixture,
                                              OwlModule       *module);

/* Server-side record of a connection (created when it was accepted). */
OwlTestRecord  *owl_test_record_get          (OwlConnection   *connection);
void            owl_test_record_wait_closed_at (OwlConnection *connection,
                                                const char     *file,
                                                int             line);
#define owl_test_record_wait_closed(connection) \
  owl_test_record_wait_closed_at (connection, __FILE__, __LINE__)
void            owl_test_record_wait_messages_at (OwlConnection *connection,
                                                  guint           n,
                                                  const char     *file,
                                                  int             line);
#define owl_test_record_wait_messages(connection, n) \
  owl_test_record_wait_messages_at (connection, n, __FILE__, __LINE__)

/* libsoup client; the fixture owns every client and frees it at teardown */
OwlTestClient  *owl_test_client_connect_msg  (OwlTestFixture  *fixture,
                                              SoupMessage     *msg,
                                              const char      *origin);
OwlTestClient  *owl_test_client_connect_protocols (OwlTestFixture *fixture,
                                                   SoupMessage    *msg,
                                                   const char     *origin,
                                                   char          **protocols);
OwlTestClient  *owl_test_client_connect_begin (OwlTestFixture *fixture,
                                               guint16         port,
                                               const char     *path,
                                               const char     *origin);
OwlTestClient  *owl_test_client_connect      (OwlTestFixture  *fixture,
                                              const char      *path);
guint           owl_test_client_try_connect  (OwlTestFixture  *fixture,
                                              guint16          port,
                                              const char      *path);
void            owl_test_client_wait_done_at (OwlTestClient *client,
                                              const char     *file,
                                              int             line);
#define owl_test_client_wait_done(client) \
  owl_test_client_wait_done_at (client, __FILE__, __LINE__)
void            owl_test_client_send         (OwlTestClient   *client,
                                              const char      *text);
void            owl_test_client_send_printf  (OwlTestClient   *client,
                                              const char      *format,
                                              ...) G_GNUC_PRINTF (2, 3);
void            owl_test_client_wait_texts_at (OwlTestClient *client,
                                               guint           n,
                                               const char     *file,
                                               int             line);
#define owl_test_client_wait_texts(client, n) \
  owl_test_client_wait_texts_at (client, n, __FILE__, __LINE__)
JsonNode       *owl_test_client_wait_json_at (OwlTestClient *client,
                                              guint           index,
                                              const char     *file,
                                              int             line);
#define owl_test_client_wait_json(client, index) \
  owl_test_client_wait_json_at (client, index, __FILE__, __LINE__)
void            owl_test_client_wait_closed_at (OwlTestClient *client,
                                                const char     *file,
                                                int             line);
#define owl_test_client_wait_closed(client) \
  owl_test_client_wait_closed_at (client, __FILE__, __LINE__)
void            owl_test_client_free         (OwlTestClient   *client);

/* HTTP without a WebSocket client: status of a GET, with or without the
 * upgrade headers; body_out gets the response body. */
guint           owl_test_http_send           (SoupSession     *session,
                                              SoupMessage     *msg,
                                              gboolean         upgrade,
                                              char           **body_out);
guint           owl_test_http_get            (SoupSession     *session,
                                              guint16          port,
                                              const char      *path,
                                              gboolean         upgrade,
                                              char           **body_out);

/* Raw TCP client that does the upgrade by hand. Returns the stream with
 * the handshake consumed; status_out gets the HTTP status. */
GIOStream      *owl_test_raw_upgrade         (guint16          port,
                                              const char      *path,
                                              guint           *status_out);

/* JSON */
JsonNode       *owl_test_json_parse          (const char      *text);
char           *owl_test_json_to_string      (JsonNode        *node);
const char     *owl_test_json_get_string     (JsonNode        *node,
                                              const char      *member);
gint64          owl_test_json_get_int        (JsonNode        *node,
                                              const char      *member);
gboolean        owl_test_json_get_bool       (JsonNode        *node,
                                              const char      *member);
gboolean        owl_test_json_has            (JsonNode        *node,
                                              const char      *member);
void            owl_test_assert_json_equal   (JsonNode        *node,
                                              const char      *expected);
void            owl_test_assert_member_json  (JsonNode        *node,
                                              const char      *member,
                                              const char      *expected);
/* type matches; id too unless NULL */
void            owl_test_assert_frame        (JsonNode        *node,
                                              const char      *type,
                                              const char      *id);
void            owl_test_assert_error_frame  (JsonNode        *node,
                                              const char      *id,
                                              const char      *code,
                                              const char      *payload_prefix);

/* Raw WebSocket client: the handshake by hand, then frames built and read
 * byte by byte, for what a well-behaved client never sends. Every wait runs
 * the thread-default main context (where the service lives) under a
 * watchdog. */
typedef struct _OwlTestRaw OwlTestRaw;

typedef struct
{
  gboolean  fin;
  guint8    rsv;        /* the RSV bits as they sit in the first byte: 0x70 mask */
  guint8    opcode;
  gboolean  masked;
  GBytes   *payload;
} OwlTestFrame;

/* Connects to 127.0.0.1:@port and sends the upgrade request for @path with
 * @extra_headers (each line ending in "\r\n"; may be NULL) appended.
 * @rcvbuf > 0 sets SO_RCVBUF on the socket before it connects. The response
 * head is read up to its blank line and no further; status_out gets its
 * status. Returns NULL only if connecting failed (which fails the test). */
OwlTestRaw     *owl_test_raw_connect_full    (guint16          port,
                                              const char      *path,
                                              const char      *extra_headers,
                                              int              rcvbuf,
                                              guint           *status_out);
/* The same, over TLS when @tls (any certificate is accepted). */
OwlTestRaw     *owl_test_raw_connect_with    (guint16          port,
                                              const char      *path,
                                              const char      *extra_headers,
                                              int              rcvbuf,
                                              gboolean         tls,
                                              guint           *status_out);
/* The same, asserting a 101. */
OwlTestRaw     *owl_test_raw_connect         (guint16          port,
                                              const char      *path);
/* To the fixture's port, over TLS when its clients use wss://, with
 * @rcvbuf as in owl_test_raw_connect_full(); asserts a 101. */
OwlTestRaw     *owl_test_fixture_raw_connect (OwlTestFixture  *fixture,
                                              const char      *path,
                                              int              rcvbuf);
void            owl_test_raw_free            (OwlTestRaw      *raw);
/* The HTTP response head of the handshake, "\r\n\r\n" included. */
const char     *owl_test_raw_get_response    (OwlTestRaw      *raw);
GSocket        *owl_test_raw_get_socket      (OwlTestRaw      *raw);

/* A whole frame: @first_byte is FIN | RSV | opcode as on the wire, the
 * length uses the shortest encoding, and @mask TRUE masks the payload with
 * a fixed key, as a client must. */
GBytes         *owl_test_frame_build         (guint8           first_byte,
                                              gboolean         mask,
                                              const void      *payload,
                                              gsize            len);
/* Writes everything (the main context runs meanwhile). FALSE, with @error
 * set, when the peer is gone; the watchdog fails the test if the write
 * stalls. */
gboolean        owl_test_raw_write           (OwlTestRaw      *raw,
                                              const void      *data,
                                              gsize            len,
                                              GError         **error);
gboolean        owl_test_raw_send_frame      (OwlTestRaw      *raw,
                                              guint8           first_byte,
                                              gboolean         mask,
                                              const void      *payload,
                                              gsize            len);
/* Masked text frame with FIN. */
gboolean        owl_test_raw_send_text       (OwlTestRaw      *raw,
                                              const char      *text);
/* Masked close frame with @code and @reason (code 0: empty payload). */
gboolean        owl_test_raw_send_close      (OwlTestRaw      *raw,
                                              guint16          code,
                                              const char      *reason);

/* The next frame the server sent, or NULL when the connection ended first
 * (EOF or a reset; owl_test_raw_is_eof() tells which is which no more). */
OwlTestFrame   *owl_test_raw_read_frame_at   (OwlTestRaw      *raw,
                                              const char      *file,
                                              int              line);
#define owl_test_raw_read_frame(raw) \
  owl_test_raw_read_frame_at (raw, __FILE__, __LINE__)
void            owl_test_frame_free          (OwlTestFrame    *frame);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlTestFrame, owl_test_frame_free)
/* Reads until a close frame: its code (1005 for an empty one), its reason
 * in reason_out (may be NULL), every ping seen counted in n_pings (may be
 * NULL; pings are not answered). -1: the connection ended without one. */
gint            owl_test_raw_read_close_at   (OwlTestRaw      *raw,
                                              char           **reason_out,
                                              guint           *n_pings,
                                              const char      *file,
                                              int              line);
#define owl_test_raw_read_close(raw, reason_out, n_pings) \
  owl_test_raw_read_close_at (raw, reason_out, n_pings, __FILE__, __LINE__)
/* TRUE once the server ended the TCP connection: a read returned 0 bytes
 * or failed (reset). Reads and drops anything that still arrives. */
gboolean        owl_test_raw_wait_eof_at     (OwlTestRaw      *raw,
                                              const char      *file,
                                              int              line);
#define owl_test_raw_wait_eof(raw) \
  owl_test_raw_wait_eof_at (raw, __FILE__, __LINE__)
gboolean        owl_test_raw_is_eof          (OwlTestRaw      *raw);
/* Writes without running the main context: the server sees nothing of it
 * before the caller's next step (a reset, say). For small writes only: a
 * full socket buffer would block. */
void            owl_test_raw_write_now       (OwlTestRaw      *raw,
                                              const void      *data,
                                              gsize            len);
/* Ends the TCP connection with a reset (SO_LINGER 0, then close), as a
 * client that crashes or a middlebox does. Only free @raw afterwards. */
void            owl_test_raw_reset           (OwlTestRaw      *raw);

/* Memory of this process from /proc/self/status, in KiB: "VmRSS" or
 * "VmHWM" (the peak). owl_test_reset_peak_rss() restarts VmHWM from the
 * current RSS (FALSE where the kernel does not allow it). */
gsize           owl_test_get_rss_kib         (const char      *field);
gboolean        owl_test_reset_peak_rss      (void);

/* Runs the main context for @ms milliseconds: for asserting that something
 * does NOT happen over a period, never for waiting on something. */
void            owl_test_run_for             (guint            ms);

/* An OwlRequest for @path with one header (nullable), from 127.0.0.1. */
OwlRequest     *owl_test_request_new         (const char      *path,
                                              const char      *header,
                                              const char      *value);

/* A self-signed certificate (with its key) for 127.0.0.1, made once per
 * process with openssl. */
GTlsCertificate *owl_test_make_certificate   (void);

G_END_DECLS
