/* owl-test-frames.h: writing frames and running a frame reader, for the frame tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shared by test-frame.c, test-frame-violations.c and test-frame-deflate.c:
 * frames are written as a client writes them (masked) and fed to a reader
 * whole, one byte at a time and split at every offset. Static inline, so each
 * test program has its own copy and the helpers keep their short names.
 */

#pragma once

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "owl-deflate-private.h"
#include "owl-frame-private.h"

static const guint8 test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- writing frames ------------------------------------------------------- */

/* One frame as a client sends it: masked. */
static inline void
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
static inline void
put_frame_b0 (GByteArray *wire,
              guint8      b0,
              const void *payload,
              gsize       len)
{
  guint start = wire->len;

  put_frame (wire, 0, FALSE, FALSE, payload, len);
  wire->data[start] = b0;
}

static inline void
put_text (GByteArray *wire,
          const char *text)
{
  put_frame (wire, OWL_FRAME_TEXT, TRUE, FALSE, text, strlen (text));
}

static inline void
put_bytes (GByteArray *wire,
           const char *bytes,
           gsize       len)
{
  g_byte_array_append (wire, (const guint8 *) bytes, len);
}

static inline void
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
static inline void
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

static inline void
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

static inline void
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

static inline void
on_ping (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  Run *run = user_data;

  log_data (run->log, "ping", data, len, TRUE);
}

static inline void
on_pong (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  Run *run = user_data;

  log_data (run->log, "pong", data, len, TRUE);
}

static inline void
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
static inline char *
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

static inline char *
run_whole (const Config *config,
           GByteArray   *wire)
{
  return run_pieces (config, wire->data, wire->len, NULL, 0, NULL);
}

/* Feeds only the first @prefix bytes: did the reader fail already? */
static inline guint16
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
static inline void
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
