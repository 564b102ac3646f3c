/* test-frame.c: the WebSocket frame writer and reader on good input, without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Frames are written as a client writes them (masked) and fed to a server
 * reader whole, one byte at a time and split at every offset; each way must
 * give the same callbacks and the same close code. The reader's violations are
 * in test-frame-violations.c, permessage-deflate in test-frame-deflate.c.
 */

#include <stdlib.h>
#include <string.h>

#include "owl-test-frames.h"

/* ---- writer --------------------------------------------------------------- */

static void
test_frame_write_header (void)
{
  static const guint8 mask[4] = { 1, 2, 3, 4 };
  static const struct { guint64 len; gsize size; guint8 bytes[10]; } cases[] = {
    { 0, 2, { 0x81, 0 } },
    { 125, 2, { 0x81, 125 } },
    { 126, 4, { 0x81, 126, 0, 126 } },
    { 65535, 4, { 0x81, 126, 0xff, 0xff } },
    { 65536, 10, { 0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0 } },
    { G_GUINT64_CONSTANT (0x7fffffffffffffff), 10, { 0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
  };
  guint8 out[OWL_FRAME_MAX_HEADER];
  gsize n;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      n = owl_frame_write_header (out, OWL_FRAME_TEXT, TRUE, FALSE, cases[i].len, NULL);
      g_assert_cmpmem (out, n, cases[i].bytes, cases[i].size);

      n = owl_frame_write_header (out, OWL_FRAME_TEXT, TRUE, FALSE, cases[i].len, mask);
      g_assert_cmpuint (n, ==, cases[i].size + 4);
      g_assert_cmphex (out[1], ==, cases[i].bytes[1] | 0x80);
      g_assert_cmpmem (out + cases[i].size, 4, mask, 4);
    }

  n = owl_frame_write_header (out, OWL_FRAME_CONTINUATION, FALSE, FALSE, 3, NULL);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmphex (out[0], ==, 0x00);
  owl_frame_write_header (out, OWL_FRAME_BINARY, TRUE, TRUE, 3, NULL);
  g_assert_cmphex (out[0], ==, 0xc2);
  owl_frame_write_header (out, OWL_FRAME_PONG, TRUE, FALSE, 3, NULL);
  g_assert_cmphex (out[0], ==, 0x8a);
}

static void
test_frame_build (void)
{
  g_autoptr(GBytes) frame = owl_frame_build (OWL_FRAME_TEXT, FALSE, (const guint8 *) "hello", 5);
  g_autoptr(GBytes) compressed = owl_frame_build (OWL_FRAME_BINARY, TRUE, (const guint8 *) "\0\1", 2);
  g_autoptr(GBytes) empty = owl_frame_build (OWL_FRAME_PING, FALSE, NULL, 0);
  g_autofree guint8 *big = g_malloc0 (70000);
  g_autoptr(GBytes) large = owl_frame_build (OWL_FRAME_BINARY, FALSE, big, 70000);
  gsize len;
  const guint8 *data;

  data = g_bytes_get_data (frame, &len);
  g_assert_cmpmem (data, len, "\x81\x05hello", 7);
  data = g_bytes_get_data (compressed, &len);
  g_assert_cmpmem (data, len, "\xc2\x02\0\1", 4);
  data = g_bytes_get_data (empty, &len);
  g_assert_cmpmem (data, len, "\x89\x00", 2);
  g_assert_cmpuint (g_bytes_get_size (large), ==, 70010);

  /* A server frame goes through a client reader unchanged. */
  {
    const Config client = { FALSE, 0, FALSE, { FALSE, FALSE, 15, 15 }, 0 };
    g_autoptr(GByteArray) wire = g_byte_array_new ();
    g_autoptr(GBytes) close = owl_frame_build_close (1000, "done");
    g_autoptr(GBytes) close_frame = owl_frame_build (OWL_FRAME_CLOSE, FALSE,
                                                     g_bytes_get_data (close, NULL),
                                                     g_bytes_get_size (close));

    g_byte_array_append (wire, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    g_byte_array_append (wire, g_bytes_get_data (empty, NULL), g_bytes_get_size (empty));
    g_byte_array_append (wire, g_bytes_get_data (close_frame, NULL), g_bytes_get_size (close_frame));
    check_wire (&client, wire, "text:hello\nping:\nclose:1000:done\n");
  }
}

static void
test_frame_build_close (void)
{
  g_autofree char *long_ascii = g_strnfill (200, 'a');
  g_autoptr(GString) accents = g_string_new (NULL);
  GBytes *b;

  b = owl_frame_build_close (1000, "bye");
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "\x03\xe8" "bye", 5);
  g_bytes_unref (b);

  b = owl_frame_build_close (4408, NULL);
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "\x11\x38", 2);
  g_bytes_unref (b);

  /* No code, or one that may not be sent: an empty payload. */
  for (guint i = 0; i < 6; i++)
    {
      static const guint16 codes[] = { 0, 1004, 1005, 1006, 1015, 5000 };

      b = owl_frame_build_close (codes[i], "ignored");
      g_assert_cmpuint (g_bytes_get_size (b), ==, 0);
      g_bytes_unref (b);
    }

  b = owl_frame_build_close (1001, long_ascii);
  g_assert_cmpuint (g_bytes_get_size (b), ==, 125);
  g_bytes_unref (b);

  /* 70 two-byte characters: 123 would split the 62nd, so 122 bytes. */
  for (guint i = 0; i < 70; i++)
    g_string_append (accents, "\xc3\xa9");
  b = owl_frame_build_close (1000, accents->str);
  g_assert_cmpuint (g_bytes_get_size (b), ==, 2 + 122);
  g_assert_true (g_utf8_validate_len ((const char *) g_bytes_get_data (b, NULL) + 2, 122, NULL));
  g_bytes_unref (b);

  /* Invalid UTF-8: cut before it. */
  b = owl_frame_build_close (1000, "ab\xff" "cd");
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "\x03\xe8" "ab", 4);
  g_bytes_unref (b);
}

static void
test_frame_close_codes_valid (void)
{
  for (guint code = 0; code < 65536; code++)
    {
      gboolean expect = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                        (code >= 3000 && code <= 4999);

      g_assert_cmpint (owl_frame_close_code_is_valid (code), ==, expect);
    }
}

static void
test_frame_mask (void)
{
  static const guint8 mask[4] = { 0xa1, 0x5c, 0x03, 0xfe };
  guint8 buf[64], ref[64];

  for (gsize start = 0; start < 8; start++)
    for (gsize len = 0; len + start <= sizeof buf; len++)
      for (gsize offset = 0; offset < 6; offset++)
        {
          for (gsize i = 0; i < sizeof buf; i++)
            buf[i] = ref[i] = (guint8) (i * 7 + 3);
          for (gsize i = 0; i < len; i++)
            ref[start + i] ^= mask[(offset + i) & 3];
          owl_frame_mask (buf + start, len, mask, offset);
          g_assert_cmpmem (buf, sizeof buf, ref, sizeof ref);
        }
}

/* ---- reader: good input --------------------------------------------------- */

static void
test_frame_lengths (void)
{
  static const gsize sizes[] = { 0, 1, 5, 125, 126, 127, 300, 65535, 65536, 100000 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GByteArray) wire = g_byte_array_new ();
      g_autofree char *text = g_malloc (sizes[i] + 1);
      g_autofree guint8 *bin = g_malloc (sizes[i] + 1);
      g_autoptr(GString) expected = g_string_new (NULL);

      for (gsize j = 0; j < sizes[i]; j++)
        {
          text[j] = 'a' + j % 26;
          bin[j] = (guint8) (j * 31);
        }
      text[sizes[i]] = '\0';
      put_text (wire, text);
      put_frame (wire, OWL_FRAME_BINARY, TRUE, FALSE, bin, sizes[i]);
      log_data (expected, "text", (const guint8 *) text, sizes[i], TRUE);
      log_data (expected, "binary", bin, sizes[i], FALSE);
      check_wire (&server_config, wire, expected->str);
    }
}

/* A message that arrived whole is handed over from the input buffer. */
static void
test_frame_zero_copy (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autofree char *log = NULL;
  guint copies = 99;

  for (guint i = 0; i < 100; i++)
    put_text (wire, "{\"type\":\"echo\",\"payload\":\"0123456789abcdef0123456789\"}");
  put_frame (wire, OWL_FRAME_BINARY, TRUE, FALSE, "\x00\x01\x02", 3);
  log = run_pieces (&server_config, wire->data, wire->len, NULL, 0, &copies);
  g_assert_cmpuint (copies, ==, 0);
  g_assert_nonnull (strstr (log, "binary:000102\n"));

  /* Split inside a header: still no copy. Inside a payload: only that
   * message is copied. */
  {
    gsize cut = wire->len / 2;

    g_clear_pointer (&log, g_free);
    log = run_pieces (&server_config, wire->data, wire->len, &cut, 1, &copies);
    g_assert_cmpuint (copies, ==, 0);
    cut += 20;

    g_clear_pointer (&log, g_free);
    log = run_pieces (&server_config, wire->data, wire->len, &cut, 1, &copies);
    g_assert_cmpuint (copies, ==, 1);
  }
}

static void
test_frame_fragmented (void)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "Hel", 3);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "p1", 2);
  put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, "lo ", 3);
  put_frame (wire, OWL_FRAME_PONG, TRUE, FALSE, "", 0);
  put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, "", 0);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "world", 5);
  put_text (wire, "next");
  check_wire (&server_config, wire, "ping:p1\npong:\ntext:Hello world\ntext:next\n");

  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_BINARY, FALSE, FALSE, "\x01", 1);
  put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, "\x00", 1);
  put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "", 0);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "\xff", 1);
  put_close (wire, 1000, "bye");
  check_wire (&server_config, wire, "ping:\nbinary:0100ff\nclose:1000:bye\n");

  /* All fragments empty. */
  g_byte_array_set_size (wire, 0);
  put_frame (wire, OWL_FRAME_TEXT, FALSE, FALSE, "", 0);
  put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, "", 0);
  check_wire (&server_config, wire, "text:\n");
}

/* A client reader: unmasked frames. */
static void
test_frame_client (void)
{
  const Config client = { FALSE, 0, FALSE, { FALSE, FALSE, 15, 15 }, 0 };
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  put_bytes (wire, "\x81\x02hi\x01\x01x\x80\x01y\x89\x00", 12);
  check_wire (&client, wire, "text:hi\ntext:xy\nping:\n");

  /* Masked frames are refused from a server. */
  g_byte_array_set_size (wire, 0);
  put_text (wire, "hi");
  check_wire (&client, wire, "fail:1002\n");
}

static void
on_count (gpointer      user_data,
          gboolean      binary,
          const guint8 *data,
          gsize         len)
{
  (*(guint64 *) user_data) += len;
}

/* Run with -m perf: messages per second through the reader. */
static void
test_frame_perf (void)
{
  const OwlFrameCallbacks callbacks = { on_count, NULL, NULL, NULL };
  OwlFrameReaderConfig rc = { TRUE, 1 << 20, NULL };
  const char *message = "{\"type\":\"call\",\"id\":\"17\",\"method\":\"echo\",\"payload\":[\"hi\"]}";
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autoptr(GByteArray) copy = g_byte_array_new ();
  guint64 total = 0;
  OwlFrameReader *reader = owl_frame_reader_new (&rc, &callbacks, &total);
  guint per_read = 64, rounds = 20000;
  gdouble elapsed;

  for (guint i = 0; i < per_read; i++)
    put_text (wire, message);
  g_byte_array_set_size (copy, wire->len);

  g_test_timer_start ();
  for (guint i = 0; i < rounds; i++)
    {
      /* A socket read fills a fresh buffer each time. */
      memcpy (copy->data, wire->data, wire->len);
      g_assert_true (owl_frame_reader_feed (reader, copy->data, copy->len, NULL, NULL));
    }
  elapsed = g_test_timer_elapsed ();
  g_assert_cmpuint (total, ==, (guint64) strlen (message) * per_read * rounds);
  g_test_maximized_result (per_read * rounds / elapsed, "%.0f messages/s (%zu bytes each)",
                           per_read * rounds / elapsed, strlen (message));
  owl_frame_reader_free (reader);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/frame/write-header", test_frame_write_header);
  g_test_add_func ("/owl/frame/build", test_frame_build);
  g_test_add_func ("/owl/frame/build-close", test_frame_build_close);
  g_test_add_func ("/owl/frame/close-codes-valid", test_frame_close_codes_valid);
  g_test_add_func ("/owl/frame/mask", test_frame_mask);
  g_test_add_func ("/owl/frame/lengths", test_frame_lengths);
  g_test_add_func ("/owl/frame/zero-copy", test_frame_zero_copy);
  g_test_add_func ("/owl/frame/fragmented", test_frame_fragmented);
  g_test_add_func ("/owl/frame/client", test_frame_client);
  if (g_test_perf ())
    g_test_add_func ("/owl/frame/perf", test_frame_perf);

  return g_test_run ();
}
