/* test-frame-deflate.c: permessage-deflate, negotiation and compression, without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The extension's parameters, round trips, memory, bombs and compressed
 * messages through the frame reader.
 */

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "owl-test-frames.h"

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
