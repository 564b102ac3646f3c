/* test-limits.c: the frame layer under abuse: protocol violations, message
 * size and JSON depth (backpressure and drain: test-backpressure.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every test ends with a well-behaved client on the same service whose echo
 * comes back: one bad peer must never cost the others anything. The echo
 * test runs over both transports
 * (OWL_TEST_TRANSPORTS): owlsock's frame layer and libsoup's WebSocket code
 * under a SoupServer with its own TLS.
 */

#include "owl-test-checks.h"

#include <string.h>

#define KIB 1024

/* A JSON object of exactly @size bytes: {"type":"pad","pad":"xxx..."}. */
static char *
padded_json (gsize size)
{
  const char *head = "{\"type\":\"pad\",\"pad\":\"";
  const char *tail = "\"}";
  gsize fixed = strlen (head) + strlen (tail);
  GString *s;

  g_assert_cmpuint (size, >=, fixed);
  s = g_string_sized_new (size + 1);
  g_string_append (s, head);
  for (gsize i = fixed; i < size; i++)
    g_string_append_c (s, (char) ('a' + i % 26));
  g_string_append (s, tail);
  g_assert_cmpuint (s->len, ==, size);
  return g_string_free (s, FALSE);
}

/* Echo ----------------------------------------------------------------------- */

/* The plain case, on both transports: a ping gets its pong, a message comes
 * back, nothing is queued or dropped, a client's close is answered with
 * its code, and a server's close carries the code the server chose. */
static void
test_echo (OwlTestFixture *fixture,
           gconstpointer   data)
{
  const char *text = "{\"type\":\"raw\",\"n\":1}";
  g_autofree char *reason = NULL;
  OwlTestRaw *raw;
  OwlConnection *conn;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  g_assert_true (owl_test_raw_send_frame (raw, 0x89, TRUE, "hi", 2));
  {
    g_autoptr(OwlTestFrame) pong = owl_test_raw_read_frame (raw);

    g_assert_nonnull (pong);
    g_assert_cmpuint (pong->opcode, ==, 0xA);
    g_assert_cmpmem (g_bytes_get_data (pong->payload, NULL), g_bytes_get_size (pong->payload), "hi", 2);
  }
  g_assert_true (owl_test_raw_send_text (raw, text));
  {
    g_autoptr(OwlTestFrame) echo = owl_test_raw_read_frame (raw);

    g_assert_nonnull (echo);
    g_assert_cmpuint (echo->opcode, ==, 0x1);
    g_assert_false (echo->masked);
    g_assert_cmpmem (g_bytes_get_data (echo->payload, NULL), g_bytes_get_size (echo->payload),
                     text, strlen (text));
  }
  g_assert_cmpuint (owl_connection_get_buffered_amount (conn), ==, 0);
  g_assert_cmpuint (owl_connection_get_dropped_messages (conn), ==, 0);

  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_NORMAL, "bye"));
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, OWL_CLOSE_NORMAL);
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_NORMAL);
  g_assert_cmpstr (owl_test_record_get (conn)->close_reason, ==, "bye");
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 1);
  owl_test_raw_free (raw);

  /* The server closes with a code of its own (one libsoup would not send
   * by itself); `closed` reports it whatever the client answers. */
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 0);
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  owl_connection_close (conn, 1012, "restarting");
  g_assert_cmpint (owl_test_raw_read_close (raw, &reason, NULL), ==, 1012);
  g_assert_cmpstr (reason, ==, "restarting");
  g_assert_true (owl_test_raw_send_close (raw, OWL_CLOSE_NORMAL, NULL));
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, 1012);
  g_assert_cmpstr (owl_test_record_get (conn)->close_reason, ==, "restarting");
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* Protocol violations ------------------------------------------------------ */

typedef struct
{
  guint8      first_byte;   /* FIN | RSV | opcode */
  gboolean    unmasked;
  const char *payload;
  gsize       len;
  guint       repeat;       /* payload made of @repeat 'x' instead */
} FrameSpec;

typedef struct
{
  const char *path;         /* test path */
  guint16     code;         /* the close code the server must send */
  gboolean    deflate;      /* on a module that negotiated permessage-deflate */
  const char *raw;          /* bytes sent as they are, instead of frames */
  gsize       raw_len;
  guint       n_frames;
  FrameSpec   frames[3];
} Violation;

#define P(s) (s), (sizeof (s) - 1)

static const Violation violations[] = {
  { "/owl/limits/violation/unmasked", 1002, FALSE, NULL, 0,
    1, { { 0x81, TRUE, P ("{\"type\":\"x\"}"), 0 } } },
  { "/owl/limits/violation/rsv2", 1002, FALSE, NULL, 0,
    1, { { 0x80 | 0x20 | 0x1, FALSE, P ("{}"), 0 } } },
  { "/owl/limits/violation/rsv3", 1002, FALSE, NULL, 0,
    1, { { 0x80 | 0x10 | 0x1, FALSE, P ("{}"), 0 } } },
  { "/owl/limits/violation/rsv1-without-deflate", 1002, FALSE, NULL, 0,
    1, { { 0x80 | 0x40 | 0x1, FALSE, P ("{}"), 0 } } },
  { "/owl/limits/violation/rsv1-on-continuation", 1002, TRUE, NULL, 0,
    2, { { 0x01, FALSE, P ("{\"type\""), 0 },
         { 0x80 | 0x40 | 0x0, FALSE, P (":\"x\"}"), 0 } } },
  { "/owl/limits/violation/rsv1-on-ping", 1002, TRUE, NULL, 0,
    1, { { 0x80 | 0x40 | 0x9, FALSE, P ("hi"), 0 } } },
  { "/owl/limits/violation/opcode-3", 1002, FALSE, NULL, 0,
    1, { { 0x83, FALSE, P ("{}"), 0 } } },
  { "/owl/limits/violation/opcode-0xb", 1002, FALSE, NULL, 0,
    1, { { 0x8b, FALSE, P (""), 0 } } },
  { "/owl/limits/violation/fragmented-ping", 1002, FALSE, NULL, 0,
    1, { { 0x09, FALSE, P ("hi"), 0 } } },
  { "/owl/limits/violation/ping-126-bytes", 1002, FALSE, NULL, 0,
    1, { { 0x89, FALSE, NULL, 0, 126 } } },
  { "/owl/limits/violation/pong-126-bytes", 1002, FALSE, NULL, 0,
    1, { { 0x8a, FALSE, NULL, 0, 126 } } },
  { "/owl/limits/violation/continuation-without-start", 1002, FALSE, NULL, 0,
    1, { { 0x80, FALSE, P ("{}"), 0 } } },
  { "/owl/limits/violation/text-inside-fragmented", 1002, FALSE, NULL, 0,
    2, { { 0x01, FALSE, P ("{\"type\""), 0 },
         { 0x81, FALSE, P ("{\"type\":\"x\"}"), 0 } } },
  { "/owl/limits/violation/binary-inside-fragmented", 1002, FALSE, NULL, 0,
    2, { { 0x01, FALSE, P ("{\"type\""), 0 },
         { 0x02, FALSE, P ("ab"), 0 } } },
  { "/owl/limits/violation/close-1-byte", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x03"), 0 } } },
  { "/owl/limits/violation/close-code-1005", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x03\xed"), 0 } } },
  { "/owl/limits/violation/close-code-1006", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x03\xee"), 0 } } },
  { "/owl/limits/violation/close-code-999", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x03\xe7"), 0 } } },
  { "/owl/limits/violation/close-code-2000", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x07\xd0"), 0 } } },
  { "/owl/limits/violation/close-code-5000", 1002, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x13\x88"), 0 } } },
  { "/owl/limits/violation/invalid-utf8-text", 1007, FALSE, NULL, 0,
    1, { { 0x81, FALSE, P ("{\"type\":\"\xff\xfe\"}"), 0 } } },
  { "/owl/limits/violation/overlong-utf8-text", 1007, FALSE, NULL, 0,
    1, { { 0x81, FALSE, P ("{\"type\":\"\xc0\xaf\"}"), 0 } } },
  { "/owl/limits/violation/surrogate-utf8-text", 1007, FALSE, NULL, 0,
    1, { { 0x81, FALSE, P ("{\"type\":\"\xed\xa0\x80\"}"), 0 } } },
  { "/owl/limits/violation/truncated-utf8-at-end", 1007, FALSE, NULL, 0,
    1, { { 0x81, FALSE, P ("{\"type\":\"x\"}\xe2\x82"), 0 } } },
  { "/owl/limits/violation/invalid-utf8-across-fragments", 1007, FALSE, NULL, 0,
    2, { { 0x01, FALSE, P ("{\"type\":\"\xe2\x82"), 0 },
         { 0x80, FALSE, P ("\x41\"}"), 0 } } },
  { "/owl/limits/violation/invalid-utf8-close-reason", 1007, FALSE, NULL, 0,
    1, { { 0x88, FALSE, P ("\x03\xe8" "bye\xff"), 0 } } },
  /* Text "hello" with its length spelled in 16 bits; mask key 0. */
  { "/owl/limits/violation/non-minimal-length-16", 1002, FALSE,
    P ("\x81\xfe\x00\x05\x00\x00\x00\x00hello"), 0, { { 0 } } },
  { "/owl/limits/violation/non-minimal-length-64", 1002, FALSE,
    P ("\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00hello"), 0, { { 0 } } },
  { "/owl/limits/violation/length-top-bit", 1002, FALSE,
    P ("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00hello"), 0, { { 0 } } },
};

#undef P

static const char *deflate_offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

static void
test_violation (OwlTestFixture *fixture,
                gconstpointer   data)
{
  const Violation *v = data;
  OwlTestRaw *raw;
  OwlConnection *conn;
  OwlTestRecord *record;
  g_autofree char *reason = NULL;
  guint status = 0;
  gint code;

  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "deflate", v->deflate, NULL);
  owl_test_fixture_listen (fixture);

  raw = owl_test_raw_connect_full (fixture->port, "/ws/echo",
                                   v->deflate ? deflate_offer : NULL, 0, &status);
  g_assert_cmpuint (status, ==, 101);
  if (v->deflate)
    g_assert_nonnull (strstr (owl_test_raw_get_response (raw), "permessage-deflate"));
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  if (v->raw != NULL)
    g_assert_true (owl_test_raw_write (raw, v->raw, v->raw_len, NULL));
  for (guint i = 0; i < v->n_frames; i++)
    {
      const FrameSpec *f = &v->frames[i];
      g_autofree char *filler = f->repeat > 0 ? g_strnfill (f->repeat, 'x') : NULL;

      g_assert_true (owl_test_raw_send_frame (raw, f->first_byte, !f->unmasked,
                                              filler ? filler : f->payload,
                                              filler ? f->repeat : f->len));
    }

  code = owl_test_raw_read_close (raw, &reason, NULL);
  g_test_message ("server closed with %d \"%s\"", code, reason ? reason : "");
  g_assert_cmpint (code, ==, v->code);
  /* Then the TCP connection ends: the server does not wait for our close. */
  g_assert_true (owl_test_raw_wait_eof (raw));

  owl_test_record_wait_closed (conn);
  record = owl_test_record_get (conn);
  g_assert_cmpuint (record->close_code, ==, v->code);
  g_assert_cmpuint (record->messages->len, ==, 0);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 0);
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* What looks odd but is allowed: none of it closes the connection. */
static void
test_allowed_oddities (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  OwlTestRaw *raw;
  OwlConnection *conn;
  g_autoptr(OwlTestFrame) frame = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *reason = NULL;
  const char *euro = "{\"type\":\"\xe2\x82\xac\"}";
  gsize len;
  const char *text;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  /* A character cut in two by a fragment boundary, a ping and an
   * unsolicited pong between the fragments, and an empty last fragment. */
  g_assert_true (owl_test_raw_send_frame (raw, 0x01, TRUE, euro, 10));
  g_assert_true (owl_test_raw_send_frame (raw, 0x89, TRUE, "mid", 3));
  g_assert_true (owl_test_raw_send_frame (raw, 0x8a, TRUE, "unasked", 7));
  g_assert_true (owl_test_raw_send_frame (raw, 0x00, TRUE, euro + 10, strlen (euro) - 10));
  g_assert_true (owl_test_raw_send_frame (raw, 0x80, TRUE, "", 0));

  frame = owl_test_raw_read_frame (raw);
  g_assert_nonnull (frame);
  g_assert_cmpuint (frame->opcode, ==, 0xA);
  g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                   "mid", 3);
  g_clear_pointer (&frame, owl_test_frame_free);

  frame = owl_test_raw_read_frame (raw);
  g_assert_nonnull (frame);
  g_assert_cmpuint (frame->opcode, ==, 0x1);
  g_assert_true (frame->fin);
  g_assert_false (frame->masked);
  g_assert_cmpuint (frame->rsv, ==, 0);
  text = g_bytes_get_data (frame->payload, &len);
  g_assert_cmpmem (text, len, euro, strlen (euro));

  owl_test_record_wait_messages (conn, 1);
  node = json_node_ref (g_ptr_array_index (owl_test_record_get (conn)->messages, 0));
  g_assert_cmpstr (owl_test_json_get_string (node, "type"), ==, "\xe2\x82\xac");

  /* A close code from the application range, with a reason, is echoed. */
  g_assert_true (owl_test_raw_send_close (raw, 3000, "done here"));
  g_assert_cmpint (owl_test_raw_read_close (raw, &reason, NULL), ==, 3000);
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, 3000);
  g_assert_cmpstr (owl_test_record_get (conn)->close_reason, ==, "done here");
  owl_test_raw_free (raw);

  /* An empty close frame is answered by an empty one. */
  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_true (owl_test_raw_send_close (raw, 0, NULL));
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, 1005);
  g_assert_true (owl_test_raw_wait_eof (raw));
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, 1005);
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* Message size -------------------------------------------------------------- */

#define SMALL_LIMIT (64 * KIB)

static void
setup_small_limit (OwlTestFixture *fixture)
{
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_add_echo_module_with (fixture, "small", "/ws/small",
                        "max-message-size", (gint64) SMALL_LIMIT, NULL);
  owl_test_fixture_listen (fixture);
}

/* A message of exactly the limit comes back; one byte more, in one frame,
 * is refused with 1009. The other module keeps the service's 1 MiB. */
static void
test_size_one_frame (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  g_autofree char *at_limit = padded_json (SMALL_LIMIT);
  g_autofree char *over = padded_json (SMALL_LIMIT + 1);
  OwlTestRaw *raw;
  OwlConnection *conn;
  g_autoptr(OwlTestFrame) frame = NULL;
  g_autoptr(GBytes) big = NULL;
  OwlTestClient *client;
  gint code;

  setup_small_limit (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/small");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  g_assert_true (owl_test_raw_send_text (raw, at_limit));
  frame = owl_test_raw_read_frame (raw);
  g_assert_nonnull (frame);
  g_assert_cmpuint (frame->opcode, ==, 0x1);
  g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                   at_limit, SMALL_LIMIT);

  /* The header alone announces too much: refused before its payload. */
  big = owl_test_frame_build (0x81, TRUE, over, SMALL_LIMIT + 1);
  g_assert_true (owl_test_raw_write (raw, g_bytes_get_data (big, NULL), 14, NULL));
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_TOO_BIG);
  owl_test_raw_wait_eof (raw);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_TOO_BIG);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 1);
  owl_test_raw_free (raw);

  /* Whole frame in one write this time. */
  raw = owl_test_raw_connect (fixture->port, "/ws/small");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  owl_test_raw_write (raw, g_bytes_get_data (big, NULL), g_bytes_get_size (big), NULL);
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_TOO_BIG);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_TOO_BIG);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 0);
  owl_test_raw_free (raw);

  /* The module without an override takes the same message. */
  client = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_client_send (client, over);
  owl_test_client_wait_texts (client, 1);
  g_assert_cmpstr (g_ptr_array_index (client->texts, 0), ==, over);
  owl_test_assert_echo_works (fixture, "/ws/small");
}

/* A service-wide limit applies to modules without an override, and a
 * module's own limit wins, up or down. */
static void
test_size_service_default (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  g_autofree char *message = padded_json (2000);
  g_autoptr(OwlTestFrame) frame = NULL;
  OwlTestRaw *raw;
  OwlConnection *conn;

  g_object_set (fixture->service, "max-message-size", (gint64) 1024, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_add_echo_module_with (fixture, "roomy", "/ws/roomy", "max-message-size", (gint64) 4096, NULL);
  owl_test_fixture_listen (fixture);

  raw = owl_test_raw_connect (fixture->port, "/ws/roomy");
  owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_true (owl_test_raw_send_text (raw, message));
  frame = owl_test_raw_read_frame (raw);
  g_assert_nonnull (frame);
  g_assert_cmpuint (g_bytes_get_size (frame->payload), ==, 2000);
  owl_test_raw_free (raw);

  raw = owl_test_raw_connect (fixture->port, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_true (owl_test_raw_send_text (raw, message));
  g_assert_cmpint (owl_test_raw_read_close (raw, NULL, NULL), ==, OWL_CLOSE_TOO_BIG);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_TOO_BIG);
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* @n fragments of @size bytes forming one JSON text message. */
static gboolean
send_fragmented (OwlTestRaw *raw,
                 guint       n,
                 gsize       size,
                 char      **message_out)
{
  g_autofree char *message = padded_json (n * size);

  for (guint i = 0; i < n; i++)
    {
      guint8 first = (i == 0 ? 0x1 : 0x0) | (i == n - 1 ? 0x80 : 0);

      if (!owl_test_raw_send_frame (raw, first, TRUE, message + i * size, size))
        return FALSE;
    }
  if (message_out != NULL)
    *message_out = g_steal_pointer (&message);
  return TRUE;
}

/* 60 fragments of 1 KiB are one message under the limit and come back
 * whole; 100 of them pass it and are refused with 1009. */
static void
test_size_fragments (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  g_autofree char *message = NULL;
  g_autoptr(OwlTestFrame) frame = NULL;
  OwlTestRaw *raw;
  OwlConnection *conn;
  gint code;

  setup_small_limit (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/small");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  g_assert_true (send_fragmented (raw, 60, KIB, &message));
  frame = owl_test_raw_read_frame (raw);
  g_assert_nonnull (frame);
  g_assert_true (frame->fin);
  g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                   message, 60 * KIB);

  /* The server may hang up before the last fragments are written. */
  send_fragmented (raw, 100, KIB, NULL);
  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_assert_cmpint (code, ==, OWL_CLOSE_TOO_BIG);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_TOO_BIG);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 1);
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/small");
}

/* A client that goes on sending fragments of one message, 64 MiB in all in
 * 64 KiB fragments: the server refuses it with 1009 and never holds more
 * than the limit. The server is this process, so its peak RSS tells. */
static void
test_size_memory (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autofree char *fragment = g_strnfill (64 * KIB, 'x');
  g_autoptr(GBytes) first = owl_test_frame_build (0x01, TRUE, fragment, 64 * KIB);
  g_autoptr(GBytes) middle = owl_test_frame_build (0x00, TRUE, fragment, 64 * KIB);
  OwlTestRaw *raw;
  OwlConnection *conn;
  gsize rss_before, peak_after;
  gboolean peak_reset;
  guint sent = 0;
  gint code;

  setup_small_limit (fixture);
  raw = owl_test_raw_connect (fixture->port, "/ws/small");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  owl_test_drain ();
  peak_reset = owl_test_reset_peak_rss ();
  rss_before = owl_test_get_rss_kib ("VmRSS");

  for (sent = 0; sent < 1024; sent++)
    {
      GBytes *frame = sent == 0 ? first : middle;

      if (!owl_test_raw_write (raw, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), NULL))
        break;
    }
  g_test_message ("wrote %u of 1024 fragments before the server hung up", sent);

  code = owl_test_raw_read_close (raw, NULL, NULL);
  g_test_message ("close code read: %d", code);
  /* A close frame that came before the reset may be lost with it. */
  if (code != -1)
    g_assert_cmpint (code, ==, OWL_CLOSE_TOO_BIG);
  owl_test_record_wait_closed (conn);
  g_assert_cmpuint (owl_test_record_get (conn)->close_code, ==, OWL_CLOSE_TOO_BIG);

  peak_after = owl_test_get_rss_kib (peak_reset ? "VmHWM" : "VmRSS");
  g_test_message ("RSS before %" G_GSIZE_FORMAT " KiB, %s after %" G_GSIZE_FORMAT " KiB",
                  rss_before, peak_reset ? "peak" : "RSS", peak_after);
  g_assert_cmpuint (peak_after, <, rss_before + 16 * KIB);
  owl_test_raw_free (raw);

  owl_test_assert_echo_works (fixture, "/ws/small");
}

/* JSON depth ----------------------------------------------------------------- */

static char *
nested (const char *open,
        const char *close,
        guint       depth,
        const char *inner)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (s, open);
  g_string_append (s, inner);
  for (guint i = 0; i < depth; i++)
    g_string_append (s, close);
  return g_string_free (s, FALSE);
}

static void
assert_too_deep (OwlTestClient *client,
                 guint          index)
{
  g_autoptr(JsonNode) node = owl_test_client_wait_json (client, index);

  owl_test_assert_error_frame (node, NULL, "too-deep", "");
}

/* 100,000 levels (under the size limit) are answered with a `too-deep`
 * error frame; the connection stays open and usable. */
static void
test_deep_nesting (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autofree char *arrays = nested ("[", "]", 100000, "");
  g_autofree char *unclosed = g_strnfill (100000, '[');
  g_autofree char *objects = NULL;
  OwlTestClient *client;
  OwlConnection *conn;
  g_autoptr(JsonNode) echo = NULL;

  {
    g_autofree char *inner = nested ("{\"a\":", "}", 99999, "1");

    objects = g_strdup_printf ("{\"type\":\"deep\",\"a\":%s}", inner);
  }

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  owl_test_client_send (client, arrays);
  assert_too_deep (client, 0);
  owl_test_client_send (client, unclosed);
  assert_too_deep (client, 1);
  owl_test_client_send (client, objects);
  assert_too_deep (client, 2);

  owl_test_client_send (client, "{\"type\":\"after\"}");
  echo = owl_test_client_wait_json (client, 3);
  owl_test_assert_json_equal (echo, "{\"type\":\"after\"}");
  g_assert_cmpint (owl_connection_get_state (conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (owl_test_record_get (conn)->messages->len, ==, 1);
  g_assert_cmpuint (client->n_closed, ==, 0);

  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* The module's max-json-depth is the deepest accepted nesting, the
 * top-level object counting as 1. */
static void
test_depth_boundary (OwlTestFixture *fixture,
                     gconstpointer   data)
{
  OwlTestClient *client;
  g_autoptr(JsonNode) echo = NULL;
  const char *depth3 = "{\"type\":\"x\",\"a\":[[1]]}";
  const char *depth4 = "{\"type\":\"x\",\"a\":[[[1]]]}";

  owl_test_fixture_add_echo_module_with (fixture, "shallow", "/ws/shallow", "max-json-depth", 3, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect (fixture, "/ws/shallow");
  owl_test_client_send (client, depth3);
  echo = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (echo, depth3);
  owl_test_client_send (client, depth4);
  assert_too_deep (client, 1);

  /* The service default (64) applies elsewhere. */
  client = owl_test_client_connect (fixture, "/ws/echo");
  owl_test_client_send (client, depth4);
  g_clear_pointer (&echo, json_node_unref);
  echo = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (echo, depth4);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (violations); i++)
    g_test_add (violations[i].path, OwlTestFixture, &violations[i],
                owl_test_fixture_setup, test_violation, owl_test_fixture_teardown);
  OWL_TEST ("/owl/limits/allowed-oddities", test_allowed_oddities);
  OWL_TEST ("/owl/limits/size/one-frame", test_size_one_frame);
  OWL_TEST ("/owl/limits/size/service-default", test_size_service_default);
  OWL_TEST ("/owl/limits/size/fragments", test_size_fragments);
  OWL_TEST ("/owl/limits/size/memory-bounded", test_size_memory);
  OWL_TEST ("/owl/limits/depth/100000-levels", test_deep_nesting);
  OWL_TEST ("/owl/limits/depth/boundary", test_depth_boundary);
  OWL_TEST_TRANSPORTS ("/owl/limits/echo", test_echo);

  return g_test_run ();
}
