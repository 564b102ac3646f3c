/* test-frame.c: the WebSocket frame codec and permessage-deflate, without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Frames are written as a client writes them (masked) and fed to a server
 * reader whole, one byte at a time and split at every offset; each way must
 * give the same callbacks and the same close code.
 */

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "owl-deflate-private.h"
#include "owl-frame-private.h"

static const guint8 test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- writing frames ------------------------------------------------------- */

/* One frame as a client sends it: masked. */
static void
put_frame (GByteArray *wire,
           guint8      opcode,
           gboolean    fin,
           gboolean    rsv1,
           const void *payload,
           gsize       len)
{
  guint8 header[OWL_FRAME_MAX_HEADER];
  gsize header_len = owl_frame_write_header (header, opcode, fin, rsv1, len, test_mask);
  guint start;

  g_byte_array_append (wire, header, header_len);
  start = wire->len;
  if (len > 0)
    g_byte_array_append (wire, payload, len);
  owl_frame_mask (wire->data + start, len, test_mask, 0);
}

/* A frame with a first byte the writer would not produce. */
static void
put_frame_b0 (GByteArray *wire,
              guint8      b0,
              const void *payload,
              gsize       len)
{
  guint start = wire->len;

  put_frame (wire, 0, FALSE, FALSE, payload, len);
  wire->data[start] = b0;
}

static void
put_text (GByteArray *wire,
          const char *text)
{
  put_frame (wire, OWL_FRAME_TEXT, TRUE, FALSE, text, strlen (text));
}

static void
put_bytes (GByteArray *wire,
           const char *bytes,
           gsize       len)
{
  g_byte_array_append (wire, (const guint8 *) bytes, len);
}

static void
put_close (GByteArray *wire,
           guint16     code,
           const char *reason)
{
  g_autoptr(GBytes) payload = owl_frame_build_close (code, reason);
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  put_frame (wire, OWL_FRAME_CLOSE, TRUE, FALSE, data, len);
}

/* A close frame with any code, valid or not. */
static void
put_close_raw (GByteArray *wire,
               guint16     code,
               const char *reason,
               gsize       reason_len)
{
  guint8 payload[125];

  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  memcpy (payload + 2, reason, reason_len);
  put_frame (wire, OWL_FRAME_CLOSE, TRUE, FALSE, payload, 2 + reason_len);
}

/* ---- running a reader ----------------------------------------------------- */

typedef struct
{
  gboolean          server;
  guint64           max_message_size;
  gboolean          deflate;
  OwlDeflateParams  params;
  gsize             max_buffered;       /* 0: not checked */
} Config;

typedef struct
{
  GString      *log;
  const guint8 *input;
  gsize         input_len;
  guint         copies;                 /* messages not delivered from the input */
} Run;

static void
log_data (GString      *log,
          const char   *kind,
          const guint8 *data,
          gsize         len,
          gboolean      as_text)
{
  g_string_append_printf (log, "%s:", kind);
  if (len > 48)
    g_string_append_printf (log, "[%" G_GSIZE_FORMAT " %08lx]", len,
                            crc32 (0, data, (uInt) len));
  else if (as_text)
    g_string_append_len (log, (const char *) data, len);
  else
    for (gsize i = 0; i < len; i++)
      g_string_append_printf (log, "%02x", data[i]);
  g_string_append_c (log, '\n');
}

static void
on_message (gpointer      user_data,
            gboolean      binary,
            const guint8 *data,
            gsize         len)
{
  Run *run = user_data;

  g_assert_nonnull (data);
  if (!binary)
    g_assert_true (g_utf8_validate_len ((const char *) data, len, NULL));
  if (!(data >= run->input && data + len <= run->input + run->input_len))
    run->copies++;
  log_data (run->log, binary ? "binary" : "text", data, len, !binary);
}

static void
on_ping (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  Run *run = user_data;

  log_data (run->log, "ping", data, len, TRUE);
}

static void
on_pong (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  Run *run = user_data;

  log_data (run->log, "pong", data, len, TRUE);
}

static void
on_close (gpointer    user_data,
          guint16     code,
          const char *reason)
{
  Run *run = user_data;

  g_assert_true (g_utf8_validate (reason, -1, NULL));
  g_string_append_printf (run->log, "close:%u:%s\n", code, reason);
}

static const OwlFrameCallbacks test_callbacks = { on_message, on_ping, on_pong, on_close };

/* Feeds @wire cut at @cuts (increasing offsets) to a fresh reader and returns
 * the log, ending with "fail:CODE" after a violation. Each piece is fed from
 * its own copy, as a socket read would give it. */
static char *
run_pieces (const Config *config,
            const guint8 *wire,
            gsize         len,
            const gsize  *cuts,
            guint         n_cuts,
            guint        *copies)
{
  OwlFrameReaderConfig rc = { config->server, config->max_message_size, NULL };
  Run run = { g_string_new (NULL), NULL, 0, 0 };
  OwlDeflate *deflate = NULL;
  OwlFrameReader *reader;
  gboolean failed = FALSE;
  guint16 first_code = 0;
  const char *first_reason = NULL;
  gsize from = 0;

  if (config->deflate)
    deflate = rc.deflate = owl_deflate_new (&config->params, config->server);
  reader = owl_frame_reader_new (&rc, &test_callbacks, &run);

  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize to = i < n_cuts ? cuts[i] : len;
      guint8 *piece = g_memdup2 (wire + from, to - from);
      guint16 code = 0;
      const char *reason = NULL;
      gboolean ok;

      run.input = piece;
      run.input_len = to - from;
      ok = owl_frame_reader_feed (reader, piece, to - from, &code, &reason);
      g_free (piece);

      if (failed)
        {
          /* After an error input is ignored and the error repeated. */
          g_assert_false (ok);
          g_assert_cmpuint (code, ==, first_code);
          g_assert_true (reason == first_reason);
        }
      else if (!ok)
        {
          failed = TRUE;
          first_code = code;
          first_reason = reason;
          g_assert_nonnull (reason);
          g_string_append_printf (run.log, "fail:%u\n", code);
          g_assert_cmpuint (owl_frame_reader_get_buffered (reader), ==, 0);
        }
      if (config->max_buffered != 0)
        g_assert_cmpuint (owl_frame_reader_get_buffered (reader), <=, config->max_buffered);
      from = to;
    }

  owl_frame_reader_free (reader);
  owl_deflate_free (deflate);
  if (copies != NULL)
    *copies = run.copies;
  return g_string_free (run.log, FALSE);
}

static char *
run_whole (const Config *config,
           GByteArray   *wire)
{
  return run_pieces (config, wire->data, wire->len, NULL, 0, NULL);
}

/* Feeds only the first @prefix bytes: did the reader fail already? */
static guint16
fail_code_after (const Config *config,
                 GByteArray   *wire,
                 gsize         prefix)
{
  g_autofree char *log = run_pieces (config, wire->data, prefix, NULL, 0, NULL);
  const char *fail = strstr (log, "fail:");

  return fail != NULL ? (guint16) atoi (fail + 5) : 0;
}

/* Whole, one byte at a time, in 7-byte pieces, and split at every offset
 * (twice at every pair of offsets when short): all give @expected. */
static void
check_wire (const Config *config,
            GByteArray   *wire,
            const char   *expected)
{
  gsize len = wire->len;
  g_autofree gsize *cuts = g_new (gsize, MAX (len, 2));
  char *log;

  log = run_whole (config, wire);
  g_assert_cmpstr (log, ==, expected);
  g_free (log);

  for (gsize i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  log = run_pieces (config, wire->data, len, cuts, len > 0 ? (guint) len - 1 : 0, NULL);
  g_assert_cmpstr (log, ==, expected);
  g_free (log);

  for (gsize i = 0; (i + 1) * 7 < len; i++)
    cuts[i] = (i + 1) * 7;
  log = run_pieces (config, wire->data, len, cuts, len > 0 ? (guint) ((len - 1) / 7) : 0, NULL);
  g_assert_cmpstr (log, ==, expected);
  g_free (log);

  if (len > 600)
    {
      /* Around the headers and a few inside: every offset costs O(len^2). */
      static const gsize near[] = { 1, 2, 3, 4, 5, 6, 8, 10, 11, 13, 14, 15, 16, 100, 1000, 65537 };

      for (guint i = 0; i < G_N_ELEMENTS (near); i++)
        if (near[i] < len)
          {
            log = run_pieces (config, wire->data, len, &near[i], 1, NULL);
            g_assert_cmpstr (log, ==, expected);
            g_free (log);
          }
      return;
    }

  for (gsize i = 1; i < len; i++)
    {
      log = run_pieces (config, wire->data, len, &i, 1, NULL);
      g_assert_cmpstr (log, ==, expected);
      g_free (log);
    }

  if (len <= 80)
    for (gsize i = 1; i < len; i++)
      for (gsize j = i + 1; j < len; j++)
        {
          gsize two[2] = { i, j };

          log = run_pieces (config, wire->data, len, two, 2, NULL);
          g_assert_cmpstr (log, ==, expected);
          g_free (log);
        }
}

static const Config server_config = { TRUE, 0, FALSE, { FALSE, FALSE, 15, 15 }, 0 };

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

/* ---- permessage-deflate: negotiation -------------------------------------- */

static void
test_deflate_negotiate (void)
{
  static const struct {
    const char *offer;
    gboolean    force;
    guint       policy;
    const char *response;       /* NULL: declined */
    guint       server_bits, client_bits;
    gboolean    server_nct, client_nct;
  } cases[] = {
    { "permessage-deflate", FALSE, 15, "permessage-deflate", 15, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits", FALSE, 15, "permessage-deflate", 15, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits", TRUE, 10,
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10",
      10, 10, TRUE, FALSE },
    { "permessage-deflate", TRUE, 12,
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12", 12, 15, TRUE, FALSE },
    { "permessage-deflate; server_max_window_bits=12", FALSE, 15,
      "permessage-deflate; server_max_window_bits=12", 12, 15, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=12", FALSE, 10,
      "permessage-deflate; server_max_window_bits=10", 10, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits=9; server_no_context_takeover; client_no_context_takeover",
      FALSE, 15,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9",
      15, 9, TRUE, TRUE },
    { "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", FALSE, 15,
      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", 8, 8, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=\"10\"", FALSE, 15,
      "permessage-deflate; server_max_window_bits=10", 10, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits=\"1\\1\"", FALSE, 15,
      "permessage-deflate; client_max_window_bits=11", 15, 11, FALSE, FALSE },
    { "  Permessage-Deflate ;\tclient_max_window_bits = 11 ", FALSE, 15,
      "permessage-deflate; client_max_window_bits=11", 15, 11, FALSE, FALSE },
    /* Policy 0 means 15; out of range is clamped. */
    { "permessage-deflate; client_max_window_bits", FALSE, 0, "permessage-deflate", 15, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits", FALSE, 99, "permessage-deflate", 15, 15, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits", FALSE, 3,
      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", 8, 8, FALSE, FALSE },
    /* Several offers: the first acceptable one wins. */
    { "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits", FALSE, 15,
      "permessage-deflate", 15, 15, FALSE, FALSE },
    { "x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover, permessage-deflate", FALSE, 15,
      "permessage-deflate; server_no_context_takeover", 15, 15, TRUE, FALSE },
    { "permessage-deflate; client_no_context_takeover; client_no_context_takeover, permessage-deflate; "
      "client_no_context_takeover", FALSE, 15,
      "permessage-deflate; client_no_context_takeover", 15, 15, FALSE, TRUE },
    { ", ,permessage-deflate ,", FALSE, 15, "permessage-deflate", 15, 15, FALSE, FALSE },
    { "foo; bar=\"a,b\", permessage-deflate", FALSE, 15, "permessage-deflate", 15, 15, FALSE, FALSE },
    /* Declined: no offer of ours, bad values, repeats, unknown parameters. */
    { "", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "foo, bar; baz=1", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=16", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=7", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=08", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=150", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=abc", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits=0", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits=\"\"", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits=\"1 1\"", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; client_no_context_takeover; client_no_context_takeover", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; client_max_window_bits; client_max_window_bits=10", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_no_context_takeover=1", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; mux", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    /* Not the header grammar: nothing at all. */
    { "permessage-deflate; =", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate;; server_no_context_takeover", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate; server_max_window_bits=\"10", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate server_no_context_takeover", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "permessage-deflate, permessage-deflate; x=", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
    { "\"permessage-deflate\"", FALSE, 15, NULL, 0, 0, FALSE, FALSE },
  };
  OwlDeflateParams params;
  char *response = NULL;

  g_assert_false (owl_deflate_negotiate (NULL, FALSE, 15, &params, &response));
  g_assert_null (response);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean ok;

      g_test_message ("offer: %s", cases[i].offer);
      memset (&params, 0, sizeof params);
      response = NULL;
      ok = owl_deflate_negotiate (cases[i].offer, cases[i].force, cases[i].policy, &params, &response);
      if (cases[i].response == NULL)
        {
          g_assert_false (ok);
          g_assert_null (response);
          continue;
        }
      g_assert_true (ok);
      g_assert_cmpstr (response, ==, cases[i].response);
      g_assert_cmpuint (params.server_max_window_bits, ==, cases[i].server_bits);
      g_assert_cmpuint (params.client_max_window_bits, ==, cases[i].client_bits);
      g_assert_cmpint (params.server_no_context_takeover, ==, cases[i].server_nct);
      g_assert_cmpint (params.client_no_context_takeover, ==, cases[i].client_nct);
      g_free (response);
    }
}

/* ---- permessage-deflate: compression -------------------------------------- */

static GBytes *
json_text (guint n)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s{\"type\":\"event\",\"event\":\"tick\",\"payload\":{\"id\":%u,\"user\":\"u%u\"}}",
                            i > 0 ? "," : "", i, (i * 7919) % 1000);
  g_string_append_c (s, ']');
  return g_string_free_to_bytes (s);
}

static void
check_roundtrip (OwlDeflate   *from,
                 OwlDeflate   *to,
                 const guint8 *data,
                 gsize         len,
                 gsize        *compressed_len)
{
  g_autoptr(GBytes) packed = owl_deflate_compress (from, data, len);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gboolean too_big = TRUE;

  g_byte_array_append (out, (const guint8 *) "pre", 3);
  g_assert_true (owl_deflate_decompress (to, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed),
                                         0, out, &too_big));
  g_assert_false (too_big);
  g_assert_cmpmem (out->data, 3, "pre", 3);
  g_assert_cmpmem (out->data + 3, out->len - 3, data, len);
  if (compressed_len != NULL)
    *compressed_len = g_bytes_get_size (packed);
}

static void
test_deflate_roundtrip (void)
{
  g_autoptr(GBytes) json = json_text (2000);
  g_autofree guint8 *noise = g_malloc (300000);
  guint32 x = 12345;

  for (gsize i = 0; i < 300000; i++)
    {
      x = x * 1103515245 + 12345;
      noise[i] = x >> 24;
    }

  for (guint takeover = 0; takeover < 2; takeover++)
    for (guint bits = 9; bits <= 15; bits += 3)
      {
        OwlDeflateParams params = { !takeover, !takeover, bits, bits };
        OwlDeflate *server = owl_deflate_new (&params, TRUE);
        OwlDeflate *client = owl_deflate_new (&params, FALSE);
        const char *msg = "{\"type\":\"call\",\"id\":\"1\",\"method\":\"echo\",\"payload\":[\"hello hello\"]}";
        gsize first = 0, second = 0;

        check_roundtrip (server, client, (const guint8 *) "", 0, NULL);
        check_roundtrip (client, server, (const guint8 *) "", 0, NULL);
        check_roundtrip (server, client, (const guint8 *) msg, strlen (msg), &first);
        check_roundtrip (server, client, (const guint8 *) msg, strlen (msg), &second);
        /* Empty right after a message: zlib has no new flush to write. */
        check_roundtrip (server, client, (const guint8 *) "", 0, NULL);
        check_roundtrip (server, client, (const guint8 *) "", 0, NULL);
        /* With context takeover the repeat refers back to the first. */
        if (takeover)
          g_assert_cmpuint (second, <, first / 2);
        else
          g_assert_cmpuint (second, ==, first);

        check_roundtrip (client, server, g_bytes_get_data (json, NULL), g_bytes_get_size (json), &first);
        g_assert_cmpuint (first, <, g_bytes_get_size (json) / 4);
        check_roundtrip (server, client, g_bytes_get_data (json, NULL), g_bytes_get_size (json), NULL);
        check_roundtrip (client, server, noise, 300000, NULL);
        check_roundtrip (server, client, noise, 1, NULL);
        for (guint i = 0; i < 50; i++)
          check_roundtrip (i % 2 ? server : client, i % 2 ? client : server,
                           (const guint8 *) msg, strlen (msg) - i, NULL);

        /* No context takeover: nothing held between messages. */
        if (!takeover)
          {
            g_assert_cmpuint (owl_deflate_get_memory (server), ==, 0);
            g_assert_cmpuint (owl_deflate_get_memory (client), ==, 0);
          }
        else
          {
            g_assert_cmpuint (owl_deflate_get_memory (server), >, 0);
            g_assert_cmpuint (owl_deflate_get_memory (server), <=, owl_deflate_memory_bound (&params));
          }
        g_test_message ("bits %u takeover %u: bound %" G_GSIZE_FORMAT ", held %" G_GSIZE_FORMAT,
                        bits, takeover, owl_deflate_memory_bound (&params),
                        owl_deflate_get_memory (server));

        owl_deflate_free (server);
        owl_deflate_free (client);
      }
}

/* Peak memory stays within the documented bound. */
static void
test_deflate_memory (void)
{
  g_autoptr(GBytes) json = json_text (3000);

  for (guint bits = 8; bits <= 15; bits++)
    {
      OwlDeflateParams params = { FALSE, FALSE, bits, bits };
      OwlDeflate *server = owl_deflate_new (&params, TRUE);
      OwlDeflate *client = owl_deflate_new (&params, FALSE);

      g_assert_cmpuint (owl_deflate_get_memory (server), ==, 0);
      check_roundtrip (server, client, g_bytes_get_data (json, NULL), g_bytes_get_size (json), NULL);
      check_roundtrip (client, server, g_bytes_get_data (json, NULL), g_bytes_get_size (json), NULL);
      g_assert_cmpuint (owl_deflate_get_memory (server), <=, owl_deflate_memory_bound (&params));
      /* Both streams live: close to the bound, not far under it. */
      g_assert_cmpuint (owl_deflate_get_memory (server), >=, owl_deflate_memory_bound (&params) - 8192);
      g_test_message ("window %u bits: %" G_GSIZE_FORMAT " bytes held, bound %" G_GSIZE_FORMAT,
                      bits, owl_deflate_get_memory (server), owl_deflate_memory_bound (&params));
      owl_deflate_free (server);
      owl_deflate_free (client);
    }
}

/* Our 8-bit window is really 9 bits, whose output a true 256-byte window
 * decodes: inflated a few bytes at a time, every match has to come from
 * zlib's 256-byte window rather than from the output buffer. */
static void
test_deflate_window8 (void)
{
  OwlDeflateParams params = { FALSE, FALSE, 8, 8 };
  OwlDeflate *server = owl_deflate_new (&params, TRUE);
  g_autoptr(GBytes) json = json_text (500);
  gsize len = g_bytes_get_size (json);
  g_autoptr(GBytes) packed = owl_deflate_compress (server, g_bytes_get_data (json, NULL), len);
  g_autoptr(GByteArray) input = g_byte_array_new ();
  g_autofree guint8 *out = g_malloc (len + 16);
  gsize produced = 0;
  z_stream strm;
  int ret = Z_OK;

  g_byte_array_append (input, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
  g_byte_array_append (input, (const guint8 *) "\x00\x00\xff\xff", 4);

  memset (&strm, 0, sizeof strm);
  g_assert_cmpint (inflateInit2 (&strm, -8), ==, Z_OK);
  strm.next_in = input->data;
  strm.avail_in = input->len;
  while (produced < len + 16)
    {
      strm.next_out = out + produced;
      strm.avail_out = MIN (7, len + 16 - produced);
      ret = inflate (&strm, Z_SYNC_FLUSH);
      g_assert_cmpint (ret, !=, Z_DATA_ERROR);
      produced = strm.next_out - out;
      if (ret == Z_BUF_ERROR || (strm.avail_in == 0 && strm.avail_out != 0))
        break;
    }
  g_assert_cmpmem (out, produced, g_bytes_get_data (json, NULL), len);
  inflateEnd (&strm);
  owl_deflate_free (server);
}

/* A peer may end a message with a final block (RFC 7692 section 7.2.3.3); the
 * next message may still refer to it. */
static void
test_deflate_bfinal (void)
{
  OwlDeflateParams params = { FALSE, FALSE, 15, 15 };
  OwlDeflate *server = owl_deflate_new (&params, TRUE);
  const char *first = "the quick brown fox jumps over the lazy dog, the quick brown fox";
  const char *second = "the quick brown fox jumps over the lazy dog again";
  guint8 packed[256];
  gsize packed_len;
  z_stream strm;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gboolean too_big;

  /* First: a raw stream finished with Z_FINISH, plus a padding byte. */
  memset (&strm, 0, sizeof strm);
  g_assert_cmpint (deflateInit2 (&strm, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
  strm.next_in = (Bytef *) first;
  strm.avail_in = strlen (first);
  strm.next_out = packed;
  strm.avail_out = sizeof packed - 1;
  g_assert_cmpint (deflate (&strm, Z_FINISH), ==, Z_STREAM_END);
  packed_len = sizeof packed - 1 - strm.avail_out;
  packed[packed_len++] = 0x00;
  deflateEnd (&strm);
  g_assert_true (owl_deflate_decompress (server, packed, packed_len, 0, out, &too_big));
  g_assert_cmpmem (out->data, out->len, first, strlen (first));

  /* Second: a new stream primed with the first as its dictionary. */
  memset (&strm, 0, sizeof strm);
  g_assert_cmpint (deflateInit2 (&strm, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
  g_assert_cmpint (deflateSetDictionary (&strm, (const Bytef *) first, strlen (first)), ==, Z_OK);
  strm.next_in = (Bytef *) second;
  strm.avail_in = strlen (second);
  strm.next_out = packed;
  strm.avail_out = sizeof packed;
  g_assert_cmpint (deflate (&strm, Z_SYNC_FLUSH), ==, Z_OK);
  packed_len = sizeof packed - strm.avail_out - 4;
  deflateEnd (&strm);
  g_byte_array_set_size (out, 0);
  g_assert_true (owl_deflate_decompress (server, packed, packed_len, 0, out, &too_big));
  g_assert_cmpmem (out->data, out->len, second, strlen (second));

  owl_deflate_free (server);
}

static void
test_deflate_corrupt (void)
{
  OwlDeflateParams params = { FALSE, FALSE, 15, 15 };
  OwlDeflate *server = owl_deflate_new (&params, TRUE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gboolean too_big = TRUE;

  /* Block type 3 does not exist. */
  g_assert_false (owl_deflate_decompress (server, (const guint8 *) "\xff\xff\xff", 3, 0, out, &too_big));
  g_assert_false (too_big);
  g_assert_cmpuint (owl_deflate_get_memory (server), ==, 0);
  /* Empty, or cut inside a block: the tail does not end a block. */
  g_assert_false (owl_deflate_decompress (server, (const guint8 *) "", 0, 0, out, &too_big));
  g_assert_false (too_big);
  g_assert_false (owl_deflate_decompress (server, (const guint8 *) "\xf2\x48\xcd", 3, 0, out, &too_big));
  g_assert_false (too_big);
  /* A lone 00 is the empty message. */
  g_byte_array_set_size (out, 0);
  g_assert_true (owl_deflate_decompress (server, (const guint8 *) "", 1, 0, out, &too_big));
  g_assert_cmpuint (out->len, ==, 0);
  /* A distance before the start of the stream. */
  g_assert_false (owl_deflate_decompress (server, (const guint8 *) "\x42\x62\x02\x00", 4, 0, out, &too_big));
  g_assert_false (too_big);
  owl_deflate_free (server);
}

/* 64 MiB of zeros in about 64 KiB: refused at the limit, and nothing past the
 * limit is ever allocated for it. */
static void
test_deflate_bomb (void)
{
  const gsize bomb_size = 64 << 20, limit = 1 << 20;
  OwlDeflateParams params = { TRUE, TRUE, 15, 15 };
  OwlDeflate *client = owl_deflate_new (&params, FALSE);
  OwlDeflate *server = owl_deflate_new (&params, TRUE);
  guint8 *zeros = g_malloc0 (bomb_size);
  g_autoptr(GBytes) bomb = owl_deflate_compress (client, zeros, bomb_size);
  g_autoptr(GBytes) exact = owl_deflate_compress (client, zeros, limit);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  Config config = server_config;
  gboolean too_big = FALSE;

  g_free (zeros);
  g_test_message ("64 MiB of zeros: %" G_GSIZE_FORMAT " bytes", g_bytes_get_size (bomb));
  g_assert_cmpuint (g_bytes_get_size (bomb), <, 128 * 1024);

  g_assert_false (owl_deflate_decompress (server, g_bytes_get_data (bomb, NULL), g_bytes_get_size (bomb),
                                          limit, out, &too_big));
  g_assert_true (too_big);
  g_assert_cmpuint (out->len, <=, limit);
  g_assert_cmpuint (owl_deflate_get_memory (server), ==, 0);

  /* Exactly at the limit is fine; one byte under it is not. */
  g_byte_array_set_size (out, 0);
  g_assert_true (owl_deflate_decompress (server, g_bytes_get_data (exact, NULL), g_bytes_get_size (exact),
                                         limit, out, &too_big));
  g_assert_cmpuint (out->len, ==, limit);
  g_byte_array_set_size (out, 0);
  g_assert_false (owl_deflate_decompress (server, g_bytes_get_data (exact, NULL), g_bytes_get_size (exact),
                                          limit - 1, out, &too_big));
  g_assert_true (too_big);
  g_assert_cmpuint (out->len, ==, limit - 1);

  /* Through the reader, whole and in fragments. */
  config.deflate = TRUE;
  config.params = params;
  config.max_message_size = limit;
  config.max_buffered = g_bytes_get_size (bomb) + OWL_FRAME_MAX_HEADER;
  put_frame (wire, OWL_FRAME_BINARY, TRUE, TRUE, g_bytes_get_data (bomb, NULL), g_bytes_get_size (bomb));
  g_free (run_whole (&config, wire));
  check_wire (&config, wire, "fail:1009\n");

  g_byte_array_set_size (wire, 0);
  for (gsize off = 0, size = g_bytes_get_size (bomb); off < size; off += 1000)
    put_frame (wire, off == 0 ? OWL_FRAME_TEXT : OWL_FRAME_CONTINUATION, off + 1000 >= size, off == 0,
               (const guint8 *) g_bytes_get_data (bomb, NULL) + off, MIN (1000, size - off));
  check_wire (&config, wire, "fail:1009\n");

  owl_deflate_free (client);
  owl_deflate_free (server);
}

/* Compressed messages through the frame reader. */
static void
test_deflate_reader (void)
{
  for (guint takeover = 0; takeover < 2; takeover++)
    {
      OwlDeflateParams params = { !takeover, !takeover, 15, 15 };
      OwlDeflate *client = owl_deflate_new (&params, FALSE);
      Config config = server_config;
      g_autoptr(GByteArray) wire = g_byte_array_new ();
      g_autoptr(GBytes) json = json_text (100);
      g_autoptr(GString) expected = g_string_new (NULL);
      const char *texts[] = { "hello", "hello", "", "\xc3\xa9t\xc3\xa9" };
      GBytes *packed;
      gsize size;
      const guint8 *data;

      config.deflate = TRUE;
      config.params = params;

      for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
        {
          packed = owl_deflate_compress (client, (const guint8 *) texts[i], strlen (texts[i]));
          put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
          g_bytes_unref (packed);
          g_string_append_printf (expected, "text:%s\n", texts[i]);
        }
      /* An uncompressed message in between. */
      put_text (wire, "plain");
      g_string_append (expected, "text:plain\n");

      /* A compressed message in three fragments, a ping among them. */
      packed = owl_deflate_compress (client, g_bytes_get_data (json, NULL), g_bytes_get_size (json));
      data = g_bytes_get_data (packed, &size);
      put_frame (wire, OWL_FRAME_TEXT, FALSE, TRUE, data, size / 3);
      put_frame (wire, OWL_FRAME_PING, TRUE, FALSE, "", 0);
      put_frame (wire, OWL_FRAME_CONTINUATION, FALSE, FALSE, data + size / 3, size / 3);
      put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, data + 2 * (size / 3), size - 2 * (size / 3));
      g_bytes_unref (packed);
      g_string_append (expected, "ping:\n");
      log_data (expected, "text", g_bytes_get_data (json, NULL), g_bytes_get_size (json), TRUE);

      packed = owl_deflate_compress (client, (const guint8 *) "\x00\x01", 2);
      put_frame (wire, OWL_FRAME_BINARY, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
      g_bytes_unref (packed);
      g_string_append (expected, "binary:0001\n");

      check_wire (&config, wire, expected->str);

      /* Invalid UTF-8 inside compressed text: 1007, also in a later message
       * of the same stream. */
      owl_deflate_free (client);
      client = owl_deflate_new (&params, FALSE);
      g_byte_array_set_size (wire, 0);
      packed = owl_deflate_compress (client, (const guint8 *) "fine \xe2\x82\xac", 8);
      put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
      g_bytes_unref (packed);
      packed = owl_deflate_compress (client, (const guint8 *) "ok\xed\xa0\x80", 5);
      put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
      g_bytes_unref (packed);
      check_wire (&config, wire, "text:fine \xe2\x82\xac\nfail:1007\n");

      /* Corrupt data: 1002. */
      g_byte_array_set_size (wire, 0);
      put_frame (wire, OWL_FRAME_TEXT, TRUE, TRUE, "\xff\xff\xff", 3);
      check_wire (&config, wire, "fail:1002\n");

      /* The compressed size is bounded too, on the header. */
      config.max_message_size = 1000;
      g_byte_array_set_size (wire, 0);
      {
        g_autofree guint8 *junk = g_malloc0 (1100);

        put_frame (wire, OWL_FRAME_TEXT, FALSE, TRUE, junk, 1000);
        put_frame (wire, OWL_FRAME_CONTINUATION, TRUE, FALSE, junk, 100);
        g_assert_cmpuint (fail_code_after (&config, wire, 1008 + 8), ==, 1009);
      }

      owl_deflate_free (client);
    }
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
  if (g_test_perf ())
    g_test_add_func ("/owl/frame/perf", test_frame_perf);
  g_test_add_func ("/owl/deflate/negotiate", test_deflate_negotiate);
  g_test_add_func ("/owl/deflate/roundtrip", test_deflate_roundtrip);
  g_test_add_func ("/owl/deflate/memory", test_deflate_memory);
  g_test_add_func ("/owl/deflate/window8", test_deflate_window8);
  g_test_add_func ("/owl/deflate/bfinal", test_deflate_bfinal);
  g_test_add_func ("/owl/deflate/corrupt", test_deflate_corrupt);
  g_test_add_func ("/owl/deflate/bomb", test_deflate_bomb);
  g_test_add_func ("/owl/deflate/reader", test_deflate_reader);

  return g_test_run ();
}
