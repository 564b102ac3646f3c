/* fuzz-frame.c: libFuzzer target for the frame reader and permessage-deflate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: one mode byte, one split byte, then the bytes a peer sends.
 *
 *   mode & 3    0: no compression; 1: permessage-deflate with context takeover;
 *               2: without context takeover; 3: with takeover and 9-bit windows
 *   mode & 4    a client reader (unmasked frames) instead of a server reader
 *   mode & 128  also round-trip the stream through compress/decompress
 *
 * The stream is fed three ways: whole, split once at a point derived from the
 * split byte, and in pseudo-random chunks seeded by it. Besides the
 * sanitizers, the checks are: the three ways give the same callbacks and the
 * same result; text messages and close reasons are valid UTF-8; what the
 * reader buffers stays within max_message_size (its compressed margin
 * included) plus a control frame and a header.
 */

#include <stdint.h>
#include <string.h>

#include "owl-deflate-private.h"
#include "owl-frame-private.h"

#define MAX_MESSAGE (1 << 20)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  guint64 hash;
} Trace;

static void
mix (Trace        *t,
     guint64       tag,
     const guint8 *data,
     gsize         len)
{
  /* FNV-1a over the tag, the length and the bytes. */
  t->hash = (t->hash ^ tag) * G_GUINT64_CONSTANT (0x100000001b3);
  t->hash = (t->hash ^ len) * G_GUINT64_CONSTANT (0x100000001b3);
  for (gsize i = 0; i < len; i++)
    t->hash = (t->hash ^ data[i]) * G_GUINT64_CONSTANT (0x100000001b3);
}

static void
on_message (gpointer      user_data,
            gboolean      binary,
            const guint8 *data,
            gsize         len)
{
  if (data == NULL || len > MAX_MESSAGE)
    __builtin_trap ();
  if (!binary)
    {
      /* GLib refuses U+0000, which is valid UTF-8 (RFC 3629) and so valid
       * in a text message: compare with NULs replaced. */
      char *copy = g_malloc (len + 1);
      gboolean valid;

      for (gsize i = 0; i < len; i++)
        copy[i] = data[i] != 0 ? (char) data[i] : ' ';
      valid = g_utf8_validate_len (copy, len, NULL);
      g_free (copy);
      if (!valid)
        __builtin_trap ();
    }
  mix (user_data, binary ? 2 : 1, data, len);
}

static void
on_ping (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  if (len > OWL_FRAME_MAX_CONTROL)
    __builtin_trap ();
  mix (user_data, 9, data, len);
}

static void
on_pong (gpointer      user_data,
         const guint8 *data,
         gsize         len)
{
  if (len > OWL_FRAME_MAX_CONTROL)
    __builtin_trap ();
  mix (user_data, 10, data, len);
}

static void
on_close (gpointer    user_data,
          guint16     code,
          const char *reason)
{
  if (!g_utf8_validate (reason, -1, NULL) || strlen (reason) > OWL_FRAME_MAX_CLOSE_REASON)
    __builtin_trap ();
  if (code != 1005 && !owl_frame_close_code_is_valid (code))
    __builtin_trap ();
  mix (user_data, 8 + ((guint64) code << 8), (const guint8 *) reason, strlen (reason));
}

static const OwlFrameCallbacks callbacks = { on_message, on_ping, on_pong, on_close };

static void
params_for_mode (guint8            mode,
                 OwlDeflateParams *params)
{
  params->server_no_context_takeover = (mode & 3) == 2;
  params->client_no_context_takeover = (mode & 3) == 2;
  params->server_max_window_bits = (mode & 3) == 3 ? 9 : 15;
  params->client_max_window_bits = (mode & 3) == 3 ? 9 : 15;
}

/* Feeds @stream in pieces ending at @cuts; returns the trace's hash. */
static guint64
run (guint8        mode,
     const guint8 *stream,
     gsize         len,
     const gsize  *cuts,
     guint         n_cuts)
{
  OwlDeflateParams params;
  OwlFrameReaderConfig config = { !(mode & 4), MAX_MESSAGE, NULL };
  OwlFrameReader *reader;
  guint8 *copy = g_malloc (len + 1);   /* never NULL, even for len 0 */
  Trace trace = { G_GUINT64_CONSTANT (0xcbf29ce484222325) };
  gboolean ok = TRUE;
  guint16 code = 0;
  const char *reason = NULL;
  gsize from = 0;
  gsize bound = MAX_MESSAGE + (MAX_MESSAGE >> 10) + 64 + OWL_FRAME_MAX_CONTROL + OWL_FRAME_MAX_HEADER;

  memcpy (copy, stream, len);
  params_for_mode (mode, &params);
  if (mode & 3)
    config.deflate = owl_deflate_new (&params, config.server);
  reader = owl_frame_reader_new (&config, &callbacks, &trace);

  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize to = i < n_cuts ? cuts[i] : len;
      gboolean piece_ok;

      piece_ok = owl_frame_reader_feed (reader, copy + from, to - from, &code, &reason);
      if (!ok && piece_ok)
        __builtin_trap ();          /* an error is final */
      ok = piece_ok;
      if (!ok && reason == NULL)
        __builtin_trap ();
      if (owl_frame_reader_get_buffered (reader) > bound)
        __builtin_trap ();
      from = to;
    }

  mix (&trace, ok ? 100 : 200 + (guint64) code, NULL, 0);
  owl_frame_reader_free (reader);
  owl_deflate_free (config.deflate);
  g_free (copy);
  return trace.hash;
}

static void
roundtrip (guint8        mode,
           const guint8 *data,
           gsize         len)
{
  OwlDeflateParams params;
  OwlDeflate *server, *client;
  GByteArray *out = g_byte_array_new ();

  params_for_mode (mode == 0 ? 1 : mode, &params);
  server = owl_deflate_new (&params, TRUE);
  client = owl_deflate_new (&params, FALSE);

  /* Twice, so that context takeover has something to refer back to. */
  for (guint i = 0; i < 2; i++)
    {
      GBytes *packed = owl_deflate_compress (server, data, len);
      gboolean too_big = FALSE;

      g_byte_array_set_size (out, 0);
      if (!owl_deflate_decompress (client, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed),
                                   0, out, &too_big))
        __builtin_trap ();
      if (out->len != len || (len > 0 && memcmp (out->data, data, len) != 0))
        __builtin_trap ();

      /* The first message again into a fresh decompressor, limited one byte
       * short: too big, and never more than the limit in @out. (A limit of
       * 0 means none, hence len > 1.) */
      if (i == 0 && len > 1)
        {
          OwlDeflate *fresh = owl_deflate_new (&params, FALSE);

          g_byte_array_set_size (out, 0);
          if (owl_deflate_decompress (fresh, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed),
                                      len - 1, out, &too_big) ||
              !too_big || out->len > len - 1)
            __builtin_trap ();
          owl_deflate_free (fresh);
        }
      g_bytes_unref (packed);
    }

  owl_deflate_free (server);
  owl_deflate_free (client);
  g_byte_array_unref (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 mode, split;
  const guint8 *stream;
  gsize len, cut, cuts[64];
  guint n_cuts = 0;
  guint32 x;
  guint64 whole;

  if (size < 2)
    return 0;
  mode = data[0];
  split = data[1];
  stream = data + 2;
  len = size - 2;

  whole = run (mode, stream, len, NULL, 0);

  /* One split at a point derived from the input. */
  cut = len > 0 ? (split * 257u) % (len + 1) : 0;
  if (run (mode, stream, len, &cut, 1) != whole)
    __builtin_trap ();

  /* Many small pieces, sizes from a tiny PRNG. */
  x = split * 2654435761u + 1;
  for (gsize at = 0; n_cuts < G_N_ELEMENTS (cuts); )
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      at += 1 + x % 23;
      if (at >= len)
        break;
      cuts[n_cuts++] = at;
    }
  if (run (mode, stream, len, cuts, n_cuts) != whole)
    __builtin_trap ();

  if (mode & 128)
    roundtrip (mode & 3, stream, len);

  return 0;
}
