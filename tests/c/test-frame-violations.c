/* test-frame-violations.c: the WebSocket frame reader on bad input, without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Protocol violations, UTF-8, limits, freeing and pausing the reader inside
 * its callbacks: each fed whole, one byte at a time and split at every offset.
 */

#include <stdlib.h>
#include <string.h>

#include "owl-test-frames.h"

/* ---- reader: violations --------------------------------------------------- */

static void
test_frame_unmasked (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  put_bytes (wire, "\x81\x02hi", 4);
  check_wire (&server_config, wire, "fail:1002\n");
  g_assert_cmpuint (fail_code_after (&server_config, wire, 2), ==, 1002);

  /* Unmasked in the middle of a fragmented message. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
  put_bytes (wire, "\x80\x01" "b", 3);
  check_wire (&server_config, wire, "fail:1002\n");
}

static void
test_frame_bad_rsv (void)
{
  Config deflate = server_config;
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  deflate.deflate = TRUE;

  /* RSV1 without permessage-deflate; RSV2; RSV3; all three. */
  for (guint i = 0; i < 4; i++)
    {
      static const guint8 b0[] = { 0xc1, 0xa1, 0x91, 0xf1 };

      g_byte_array_set_size (wire, 0);
      put_frame_b0 (wire, b0[i], "x", 1);
      check_wire (&server_config, wire, "fail:1002\n");
      g_assert_cmpuint (fail_code_after (&server_config, wire, 2), ==, 1002);
      if (i > 0)
        check_wire (&deflate, wire, "fail:1002\n");
    }

  /* With deflate: RSV1 on a continuation frame, on control frames. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
  put_frame_b0 (wire, 0xc0, "b", 1);
  check_wire (&deflate, wire, "fail:1002\n");

  for (guint op = OWL_FRAME_CLOSE; op <= OWL_FRAME_PONG; op++)
    {
      g_byte_array_set_size (wire, 0);
      put_frame_b0 (wire, 0xc0 | op, "", 0);
      check_wire (&deflate, wire, "fail:1002\n");
    }
}

static void
test_frame_bad_opcode (void)
{
  static const guint8 opcodes[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (opcodes); i++)
    {
      g_byte_array_set_size (wire, 0);
      put_frame_b0 (wire, 0x80 | opcodes[i], "xy", 2);
      check_wire (&server_config, wire, "fail:1002\n");
      g_assert_cmpuint (fail_code_after (&server_config, wire, 2), ==, 1002);

      /* Also in the middle of a message, after good frames. */
      g_byte_array_set_size (wire, 0);
      put_text (wire, "ok");
      put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
      put_frame_b0 (wire, opcodes[i], "", 0);
      check_wire (&server_config, wire, "text:ok\nfail:1002\n");
    }
}

static void
test_frame_control_rules (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autofree char *max = g_strnfill (125, 'p');
  g_autofree char *over = g_strnfill (126, 'p');
  g_autofree char *expected = g_strdup_printf ("ping:[125 %08lx]\n",
                                               crc32 (0, (const guint8 *) max, 125));

  /* Fragmented control frames. */
  for (guint op = OWL_FRAME_CLOSE; op <= OWL_FRAME_PONG; op++)
    {
      g_byte_array_set_size (wire, 0);
      put_frame (wire, op, FALSE, FALSE, "", 0);
      check_wire (&server_config, wire, "fail:1002\n");
    }

  /* Up to 125 bytes. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, max, 125);
  check_wire (&server_config, wire, expected);

  for (guint op = OWL_FRAME_CLOSE; op <= OWL_FRAME_PONG; op++)
    {
      g_byte_array_set_size (wire, 0);
      put_frame (wire, op, TRUE, FALSE, over, 126);
      check_wire (&server_config, wire, "fail:1002\n");
      g_assert_cmpuint (fail_code_after (&server_config, wire, 2), ==, 1002);
    }

  /* A close payload of one byte. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_CLOSE, TRUE, FALSE, "\x03", 1);
  check_wire (&server_config, wire, "fail:1002\n");
  g_assert_cmpuint (fail_code_after (&server_config, wire, 2), ==, 1002);
}

static void
test_frame_sequence (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  /* A continuation with nothing to continue. */
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "x", 1);
  check_wire (&server_config, wire, "fail:1002\n");

  /* ... also right after a finished fragmented message. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "b", 1);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "c", 1);
  check_wire (&server_config, wire, "text:ab\nfail:1002\n");

  /* A new data frame while a message is open. */
  for (guint op = OWL_FRAME_TEXT; op <= OWL_FRAME_BINARY; op++)
    {
      g_byte_array_set_size (wire, 0);
      put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
      put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "", 0);
      put_frame (wire, op, TRUE, FALSE, "b", 1);
      check_wire (&server_config, wire, "ping:\nfail:1002\n");
    }
}

static void
test_frame_close (void)
{
  static const guint16 good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014, 3000, 3999, 4000, 4408, 4999 };
  static const guint16 bad[] = { 0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999,
                                 5000, 65535 };
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autofree char *reason = g_strnfill (123, 'r');
  g_autofree char *expected = g_strdup_printf ("close:1000:%s\n", reason);

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *want = g_strdup_printf ("close:%u:why\n", good[i]);

      g_byte_array_set_size (wire, 0);
      put_close_raw (wire, good[i], "why", 3);
      check_wire (&server_config, wire, want);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_byte_array_set_size (wire, 0);
      put_close_raw (wire, bad[i], "", 0);
      check_wire (&server_config, wire, "fail:1002\n");
    }

  /* No code: 1005, empty reason. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_CLOSE, TRUE, FALSE, "", 0);
  check_wire (&server_config, wire, "close:1005:\n");

  /* The longest reason. */
  g_byte_array_set_size (wire, 0);
  put_close_raw (wire, 1000, reason, 123);
  check_wire (&server_config, wire, expected);

  /* Nothing after a close frame is read, not even garbage; it interrupts a
   * fragmented message. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "a", 1);
  put_close (wire, 1001, "going");
  put_text (wire, "late");
  put_bytes (wire, "\xff\xff\xff", 3);
  check_wire (&server_config, wire, "close:1001:going\n");
}

static void
test_frame_close_reason_utf8 (void)
{
  static const char *bad[] = { "\xff", "ok\xc3", "\xed\xa0\x80", "\xc0\xaf" };
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_byte_array_set_size (wire, 0);
      put_close_raw (wire, 1000, bad[i], strlen (bad[i]));
      check_wire (&server_config, wire, "fail:1007\n");
    }

  g_byte_array_set_size (wire, 0);
  put_close_raw (wire, 1000, "d\xc3\xa9j\xc3\xa0 vu \xf0\x9f\xa6\x89", 14);
  check_wire (&server_config, wire, "close:1000:d\xc3\xa9j\xc3\xa0 vu \xf0\x9f\xa6\x89\n");
}

static const char *utf8_bad[] = {
  "\x80", "a\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41", "\xc3\x28",
  "\xe0\x80\x80", "\xe0\x9f\xbf", "\xe2\x82", "\xe2\x28\xa1", "\xe2\x82\x28",
  "\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80",
  "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf4\x8f\xbf",
  "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "abc\xc3",
  "\xef\xbf\xbf\xf0\x9f",
};

static const char *utf8_good[] = {
  "", "plain ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
  "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xe2\x82\xac 10, \xf0\x9d\x84\x9e",
  "\xef\xbb\xbf\x42OM",
};

static void
test_frame_utf8 (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (utf8_bad); i++)
    {
      g_byte_array_set_size (wire, 0);
      put_text (wire, utf8_bad[i]);
      check_wire (&server_config, wire, "fail:1007\n");

      /* Binary messages are not text. */
      g_byte_array_set_size (wire, 0);
      put_frame (wire, OWL_FRAME_BINARY, TRUE, FALSE, utf8_bad[i], strlen (utf8_bad[i]));
      g_free (run_whole (&server_config, wire));
    }

  for (guint i = 0; i < G_N_ELEMENTS (utf8_good); i++)
    {
      g_autofree char *expected = g_strdup_printf ("text:%s\n", utf8_good[i]);

      g_byte_array_set_size (wire, 0);
      put_text (wire, utf8_good[i]);
      check_wire (&server_config, wire, expected);
    }
}

/* Characters cut across fragment boundaries at every byte. */
static void
test_frame_utf8_fragments (void)
{
  const char *text = "a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9d\x84\x9e" "d";
  gsize len = strlen (text);
  g_autofree char *expected = g_strdup_printf ("text:%s\n", text);
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  for (gsize i = 0; i <= len; i++)
    for (gsize j = i; j <= len; j++)
      {
        g_byte_array_set_size (wire, 0);
        put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, text, i);
        put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, text + i, j - i);
        put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, text + j, len - j);
        if (i % 3 == 0 && j % 3 == 0)
          check_wire (&server_config, wire, expected);
        else
          {
            g_autofree char *log = run_whole (&server_config, wire);

            g_assert_cmpstr (log, ==, expected);
          }
      }

  /* A sequence left open by the last fragment. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "ok\xe2", 3);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "\x82", 1);
  check_wire (&server_config, wire, "fail:1007\n");
}

/* Invalid UTF-8 fails the message when it arrives, not when the message ends. */
static void
test_frame_utf8_fail_fast (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autofree char *big = g_strnfill (1000, 'x');
  gsize first_end;

  /* The first fragment is bad; the rest never comes. */
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "ok\xff", 3);
  first_end = wire->len;
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "more", 4);
  g_assert_cmpuint (fail_code_after (&server_config, wire, first_end), ==, 1007);
  check_wire (&server_config, wire, "fail:1007\n");

  /* One frame of 1000 bytes with a bad byte at 10: fails after 20 bytes. */
  g_byte_array_set_size (wire, 0);
  big[10] = '\xc0';
  put_frame (wire, OWL_FRAME_TEXT, TRUE, FALSE, big, 1000);
  g_assert_cmpuint (fail_code_after (&server_config, wire, 8 + 20), ==, 1007);
  g_assert_cmpuint (fail_code_after (&server_config, wire, 8 + 10), ==, 0);
  check_wire (&server_config, wire, "fail:1007\n");

  /* A surrogate announced by its first two bytes is refused at the second. */
  g_byte_array_set_size (wire, 0);
  big[10] = '\xed';
  big[11] = '\xa0';
  put_frame (wire, OWL_FRAME_TEXT, TRUE, FALSE, big, 1000);
  g_assert_cmpuint (fail_code_after (&server_config, wire, 8 + 11), ==, 0);
  g_assert_cmpuint (fail_code_after (&server_config, wire, 8 + 12), ==, 1007);
}

static void
test_frame_lengths_bad (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  Config limited = server_config;

  /* 126 announcing 125. */
  put_bytes (wire, "\x81\xfe\x00\x7d" "\x00\x00\x00\x00", 8);
  g_assert_cmpuint (fail_code_after (&server_config, wire, wire->len), ==, 1002);
  check_wire (&server_config, wire, "fail:1002\n");

  /* 127 announcing 65535, and 0. */
  g_byte_array_set_size (wire, 0);
  put_bytes (wire, "\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff" "\x00\x00\x00\x00", 14);
  check_wire (&server_config, wire, "fail:1002\n");
  g_byte_array_set_size (wire, 0);
  put_bytes (wire, "\x82\xff\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00\x00\x00", 14);
  check_wire (&server_config, wire, "fail:1002\n");

  /* The top bit of a 64-bit length. */
  g_byte_array_set_size (wire, 0);
  put_bytes (wire, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" "\x00\x00\x00\x00", 14);
  check_wire (&server_config, wire, "fail:1002\n");

  /* A well-formed huge length is only too big, and known to be as soon as
   * the header is complete. */
  g_byte_array_set_size (wire, 0);
  put_bytes (wire, "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00" "\x00\x00\x00\x00", 14);
  limited.max_message_size = 1 << 20;
  check_wire (&limited, wire, "fail:1009\n");
  /* Without a limit: past what a buffer can hold. */
  g_byte_array_set_size (wire, 0);
  put_bytes (wire, "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" "\x00\x00\x00\x00", 14);
  check_wire (&server_config, wire, "fail:1009\n");
}

static void
test_frame_limit (void)
{
  Config limited = server_config;
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autofree char *hundred = g_strnfill (100, 'm');
  g_autofree char *expected = g_strdup_printf ("text:[100 %08lx]\n",
                                               crc32 (0, (const guint8 *) hundred, 100));
  gsize third;

  limited.max_message_size = 100;
  limited.max_buffered = 100 + OWL_FRAME_MAX_CONTROL + OWL_FRAME_MAX_HEADER;

  put_text (wire, hundred);
  check_wire (&limited, wire, expected);

  /* One byte over: fails on the header alone. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, TRUE, FALSE, hundred, 100);
  g_byte_array_append (wire, (const guint8 *) "x", 1);
  wire->data[1] = 0x80 | 101;
  g_assert_cmpuint (fail_code_after (&limited, wire, 6), ==, 1009);
  check_wire (&limited, wire, "fail:1009\n");

  /* Fragmented: 40 + 40 + 40 fails on the third header, before its payload. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_BINARY, FALSE, FALSE, hundred, 40);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "", 0);
  put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, hundred, 40);
  third = wire->len;
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, hundred, 40);
  g_assert_cmpuint (fail_code_after (&limited, wire, third), ==, 0);
  g_assert_cmpuint (fail_code_after (&limited, wire, third + 6), ==, 1009);
  check_wire (&limited, wire, "ping:\nfail:1009\n");

  /* Control frames do not count; 50 + 50 is exactly the limit. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, hundred, 50);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, hundred, 100);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, hundred, 50);
  {
    g_autofree char *want = g_strdup_printf ("ping:[100 %08lx]\n%s",
                                             crc32 (0, (const guint8 *) hundred, 100), expected);

    check_wire (&limited, wire, want);
  }
}

/* Many fragments: what the reader holds stays within the limit. */
static void
test_frame_buffered (void)
{
  OwlFrameReaderConfig rc = { TRUE, 4096, NULL };
  Run run = { g_string_new (NULL), NULL, 0, 0 };
  OwlFrameReader *reader = owl_frame_reader_new (&rc, &test_callbacks, &run);
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  guint16 code = 0;
  const char *reason = NULL;
  gsize fed = 0;

  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 0);

  /* A partial header. */
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "0123456789", 10);
  g_assert_true (owl_frame_reader_feed (reader, wire->data, 3, &code, &reason));
  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 3);
  g_assert_true (owl_frame_reader_feed (reader, wire->data + 3, wire->len - 3, &code, &reason));
  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 10);

  /* Fragments of 10 until the limit is passed. */
  for (guint i = 0; ; i++)
    {
      gboolean ok;

      g_byte_array_set_size (wire, 0);
      put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, "0123456789", 10);
      ok = owl_frame_reader_feed (reader, wire->data, wire->len, &code, &reason);
      fed += 10;
      g_assert_cmpuint (owl_frame_reader_get_buffered (reader), <=, 4096);
      if (!ok)
        break;
      g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 10 + fed);
      g_assert_cmpuint (i, <, 1000);
    }
  g_assert_cmpuint (code, ==, 1009);
  g_assert_cmpuint (fed, ==, 4090);
  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 0);

  owl_frame_reader_free (reader);
  g_string_free (run.log, TRUE);

  /* A partial control frame is held too, and released when complete. */
  run.log = g_string_new (NULL);
  reader = owl_frame_reader_new (&rc, &test_callbacks, &run);
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "0123456789", 10);
  g_assert_true (owl_frame_reader_feed (reader, wire->data, 10, &code, &reason));
  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 4);
  g_assert_true (owl_frame_reader_feed (reader, wire->data + 10, wire->len - 10, &code, &reason));
  g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 0);
  g_assert_cmpstr (run.log->str, ==, "ping:0123456789\n");
  owl_frame_reader_free (reader);
  g_string_free (run.log, TRUE);
}

/* A transport may drop the connection, freeing the reader and its deflate
 * object, from inside any callback; nothing is delivered after that. */
typedef struct
{
  OwlFrameReader *reader;
  OwlDeflate     *deflate;
  GString        *log;
} Dropper;

static void
dropper_free (Dropper *d)
{
  g_clear_pointer (&d->reader, owl_frame_reader_free);
  g_clear_pointer (&d->deflate, owl_deflate_free);
}

static void
drop_on_message (gpointer      user_data,
                 gboolean      binary,
                 const guint8 *data,
                 gsize         len)
{
  Dropper *d = user_data;

  g_string_append_len (d->log, (const char *) data, len);
  g_string_append_c (d->log, ';');
  if (len == 4 && memcmp (data, "stop", 4) == 0)
    dropper_free (d);
}

static void
drop_on_ping (gpointer      user_data,
              const guint8 *data,
              gsize         len)
{
  Dropper *d = user_data;

  g_string_append (d->log, "ping;");
  dropper_free (d);
}

static void
drop_on_close (gpointer    user_data,
               guint16     code,
               const char *reason)
{
  Dropper *d = user_data;

  g_string_append_printf (d->log, "close %u;", code);
  dropper_free (d);
}

static void
test_frame_free_in_callback (void)
{
  const OwlFrameCallbacks callbacks = { drop_on_message, drop_on_ping, NULL, drop_on_close };
  OwlDeflateParams params = { FALSE, FALSE, 15, 15 };

  for (guint variant = 0; variant < 3; variant++)
    {
      g_autoptr(GByteArray) wire = g_byte_array_new ();
      OwlDeflate *client = owl_deflate_new (&params, FALSE);
      OwlFrameReaderConfig rc = { TRUE, 0, NULL };
      Dropper d = { NULL, owl_deflate_new (&params, TRUE), g_string_new (NULL) };
      static const char *expected[] = { "a;stop;", "a;ping;", "a;close 1000;" };
      GBytes *packed;

      rc.deflate = d.deflate;
      d.reader = owl_frame_reader_new (&rc, &callbacks, &d);

      put_text (wire, "a");
      if (variant == 0)
        {
          packed = owl_deflate_compress (client, (const guint8 *) "stop", 4);
          put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
          g_bytes_unref (packed);
        }
      else if (variant == 1)
        put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "", 0);
      else
        put_close (wire, 1000, "");
      /* Never delivered: the reader is gone. */
      packed = owl_deflate_compress (client, (const guint8 *) "later", 5);
      put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
      g_bytes_unref (packed);
      put_text (wire, "b");

      g_assert_true (owl_frame_reader_feed (d.reader, wire->data, wire->len, NULL, NULL));
      g_assert_null (d.reader);
      g_assert_cmpstr (d.log->str, ==, expected[variant]);

      g_string_free (d.log, TRUE);
      owl_deflate_free (client);
    }
}

/* A reader whose message callback pauses on every message whose text
 * starts with "p". */
typedef struct
{
  OwlFrameReader *reader;
  GString        *log;
} Pauser;

static void
pause_on_message (gpointer      user_data,
                  gboolean      binary,
                  const guint8 *data,
                  gsize         len)
{
  Pauser *p = user_data;

  g_string_append_len (p->log, (const char *) data, len);
  g_string_append_c (p->log, ';');
  if (len > 0 && data[0] == 'p')
    owl_frame_reader_pause (p->reader);
}

static void
pause_on_close (gpointer    user_data,
                guint16     code,
                const char *reason)
{
  Pauser *p = user_data;

  g_string_append_printf (p->log, "close %u;", code);
}

/* A pause stops after the current frame; the rest of the input is kept,
 * whole frames and partial ones alike, and resume goes on from there. */
static void
test_frame_pause (void)
{
  const OwlFrameCallbacks callbacks = { pause_on_message, NULL, NULL, pause_on_close };
  OwlFrameReaderConfig rc = { TRUE, 0, NULL };
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  Pauser p = { NULL, g_string_new (NULL) };
  gsize split;

  p.reader = owl_frame_reader_new (&rc, &callbacks, &p);
  put_text (wire, "p1");
  put_text (wire, "a");
  put_text (wire, "p2");
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "fr", 2);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "ag", 2);
  split = wire->len;
  put_text (wire, "tail");
  put_close (wire, 1000, "");

  /* The input ends in the middle of "tail": the partial frame is kept too. */
  g_assert_true (owl_frame_reader_feed (p.reader, wire->data, split + 3, NULL, NULL));
  g_assert_cmpstr (p.log->str, ==, "p1;");
  g_assert_true (owl_frame_reader_has_backlog (p.reader));
  g_assert_cmpuint (owl_frame_reader_get_buffered (p.reader), ==, split + 3 - 8);  /* all but "p1" */

  g_assert_true (owl_frame_reader_resume (p.reader, NULL, NULL));
  g_assert_cmpstr (p.log->str, ==, "p1;a;p2;");
  g_assert_true (owl_frame_reader_resume (p.reader, NULL, NULL));
  g_assert_cmpstr (p.log->str, ==, "p1;a;p2;frag;");
  g_assert_false (owl_frame_reader_has_backlog (p.reader));
  /* Resuming with nothing kept does nothing. */
  g_assert_true (owl_frame_reader_resume (p.reader, NULL, NULL));

  g_assert_true (owl_frame_reader_feed (p.reader, wire->data + split + 3, wire->len - split - 3, NULL, NULL));
  g_assert_cmpstr (p.log->str, ==, "p1;a;p2;frag;tail;close 1000;");
  g_assert_cmpuint (owl_frame_reader_get_buffered (p.reader), ==, 0);

  /* Outside a feed, a pause means nothing. */
  owl_frame_reader_pause (p.reader);
  g_assert_false (owl_frame_reader_has_backlog (p.reader));

  owl_frame_reader_free (p.reader);
  g_string_free (p.log, TRUE);
}

/* A protocol error in the backlog is reported by resume, as feed would. */
static void
test_frame_pause_error (void)
{
  const OwlFrameCallbacks callbacks = { pause_on_message, NULL, NULL, pause_on_close };
  OwlFrameReaderConfig rc = { TRUE, 0, NULL };
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  Pauser p = { NULL, g_string_new (NULL) };
  guint16 code = 0;
  const char *reason = NULL;

  p.reader = owl_frame_reader_new (&rc, &callbacks, &p);
  put_text (wire, "p");
  put_bytes (wire, "\xff\x80\x00\x00\x00\x00", 6);   /* FIN + RSV bits + opcode 15 */

  g_assert_true (owl_frame_reader_feed (p.reader, wire->data, wire->len, NULL, NULL));
  g_assert_true (owl_frame_reader_has_backlog (p.reader));
  g_assert_false (owl_frame_reader_resume (p.reader, &code, &reason));
  g_assert_cmpuint (code, ==, 1002);
  g_assert_nonnull (reason);
  g_assert_false (owl_frame_reader_has_backlog (p.reader));

  owl_frame_reader_free (p.reader);
  g_string_free (p.log, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/frame/unmasked", test_frame_unmasked);
  g_test_add_func ("/owl/frame/bad-rsv", test_frame_bad_rsv);
  g_test_add_func ("/owl/frame/bad-opcode", test_frame_bad_opcode);
  g_test_add_func ("/owl/frame/control-rules", test_frame_control_rules);
  g_test_add_func ("/owl/frame/sequence", test_frame_sequence);
  g_test_add_func ("/owl/frame/close", test_frame_close);
  g_test_add_func ("/owl/frame/close-reason-utf8", test_frame_close_reason_utf8);
  g_test_add_func ("/owl/frame/utf8", test_frame_utf8);
  g_test_add_func ("/owl/frame/utf8-fragments", test_frame_utf8_fragments);
  g_test_add_func ("/owl/frame/utf8-fail-fast", test_frame_utf8_fail_fast);
  g_test_add_func ("/owl/frame/lengths-bad", test_frame_lengths_bad);
  g_test_add_func ("/owl/frame/limit", test_frame_limit);
  g_test_add_func ("/owl/frame/buffered", test_frame_buffered);
  g_test_add_func ("/owl/frame/free-in-callback", test_frame_free_in_callback);
  g_test_add_func ("/owl/frame/pause", test_frame_pause);
  g_test_add_func ("/owl/frame/pause-error", test_frame_pause_error);

  return g_test_run ();
}
