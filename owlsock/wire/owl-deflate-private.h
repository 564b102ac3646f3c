/* owl-deflate-private.h: permessage-deflate (RFC 7692) over zlib
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Negotiation on the server side, and one compressor plus one decompressor per
 * connection. Pure code: no I/O, no GObject, one thread at a time per object.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* zlib's compression level for outgoing messages (zlib's default). */
#define OWL_DEFLATE_LEVEL 6

/* zlib's memLevel for our compressor: a 2048-entry hash table and a 1024-symbol
 * literal buffer, 8 KiB in all instead of memLevel 8's 128 KiB. On JSON it costs
 * nothing on small messages and ~3% of ratio on a 570 KB array (14.9% of the
 * input instead of 14.5%). */
#define OWL_DEFLATE_MEM_LEVEL 4

typedef struct
{
  gboolean server_no_context_takeover;
  gboolean client_no_context_takeover;
  /* 8..15. zlib cannot compress a raw stream with an 8-bit window: a side
   * that compresses with 8 uses 9 internally (see owl-deflate.c). */
  guint    server_max_window_bits;
  guint    client_max_window_bits;
} OwlDeflateParams;

/* Server-side negotiation (RFC 7692 sections 5 and 7). Parses the client's
 * Sec-WebSocket-Extensions value (several offers separated by commas; params
 * with or without values; quoted values), and takes the first permessage-deflate
 * offer it can accept. An offer with an unknown, repeated or invalid parameter
 * is declined and the next one considered; a value that does not parse as the
 * header grammar at all declines everything.
 *
 * Our policy narrows what the offer asked for: server_max_window_bits is at most
 * @policy_max_window_bits (0 means 15; clamped to 8..15), so is
 * client_max_window_bits when the client allowed us to name it, and
 * @force_server_no_context_takeover adds server_no_context_takeover.
 *
 * On success fills @params (what both sides will use) and @response (the header
 * value to answer with, free with g_free()) and returns TRUE. Returns FALSE, with
 * the outputs untouched, when nothing is acceptable: the connection then goes on
 * without compression. @offer_header may be NULL. */
gboolean    owl_deflate_negotiate    (const char             *offer_header,
                                      gboolean                force_server_no_context_takeover,
                                      guint                   policy_max_window_bits,
                                      OwlDeflateParams       *params,
                                      char                  **response);

typedef struct _OwlDeflate OwlDeflate;

/* @server: TRUE when we are the server (we compress with the server_* params and
 * inflate with the client_* ones). zlib streams are created on first use. */
OwlDeflate *owl_deflate_new          (const OwlDeflateParams *params,
                                      gboolean                server);
void        owl_deflate_free         (OwlDeflate             *self);
/* Whether each message we send is compressed alone (no context takeover on
 * our side: the same message always gives the same bytes), and with which
 * window (9..15). */
gboolean    owl_deflate_compresses_alone (OwlDeflate         *self,
                                          guint              *window_bits);

/* Compresses one whole message; the trailing 00 00 ff ff of the sync flush is
 * stripped (RFC 7692 section 7.2.1). With no_context_takeover on our side the
 * compressor is freed after the message, otherwise it keeps its window. The
 * result is the payload of a frame with RSV1 set. Never NULL. */
GBytes     *owl_deflate_compress     (OwlDeflate             *self,
                                      const guint8           *data,
                                      gsize                   len);

/* Inflates one whole message payload (00 00 ff ff is appended internally,
 * RFC 7692 section 7.2.2), appending the result to @out. At most @max_size bytes
 * are appended (0: no limit other than GByteArray's 4 GiB): a message that would
 * inflate past that stops at once and returns FALSE with *too_big = TRUE, having
 * appended no more than @max_size. Corrupt data returns FALSE with
 * *too_big = FALSE: the frame layer closes with 1002 for it (RFC 7692 section 8
 * only says "fail the connection"; the data is not invalid text, it is a broken
 * protocol layer). After a failure the decompressor is reset and @out holds
 * whatever was appended; the connection is expected to end. */
gboolean    owl_deflate_decompress   (OwlDeflate             *self,
                                      const guint8           *data,
                                      gsize                   len,
                                      gsize                   max_size,
                                      GByteArray             *out,
                                      gboolean               *too_big);

/* Bytes zlib holds for this object right now (both directions); 0 when idle
 * with no_context_takeover both ways. */
gsize       owl_deflate_get_memory   (OwlDeflate             *self);

/* The most zlib memory one server-side connection can hold with @params:
 * compressor (1 << (wbits + 2)) + (1 << (OWL_DEFLATE_MEM_LEVEL + 9)) + its state,
 * decompressor (1 << wbits) + its ~7 KiB state, wbits raised to 9 where it is 8. */
gsize       owl_deflate_memory_bound (const OwlDeflateParams *params);

G_END_DECLS
