/* owl-frame-private.h: the WebSocket frame codec (RFC 6455)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A pure codec: bytes in, callbacks out; frames out as bytes. No I/O, no
 * GObject, no main context. One reader per connection, used from one thread.
 */

#pragma once

#include <glib.h>

#include "owl-deflate-private.h"

G_BEGIN_DECLS

/* Opcodes (RFC 6455 section 5.2). */
#define OWL_FRAME_CONTINUATION 0x0
#define OWL_FRAME_TEXT         0x1
#define OWL_FRAME_BINARY       0x2
#define OWL_FRAME_CLOSE        0x8
#define OWL_FRAME_PING         0x9
#define OWL_FRAME_PONG         0xA

/* The most a frame header can take: 2 + 8 (64-bit length) + 4 (mask key). */
#define OWL_FRAME_MAX_HEADER 14
/* A control frame's payload (RFC 6455 section 5.5). */
#define OWL_FRAME_MAX_CONTROL 125
/* A close reason: 125 minus the 2-byte code (RFC 6455 section 5.5.1). */
#define OWL_FRAME_MAX_CLOSE_REASON 123

typedef struct _OwlFrameReader OwlFrameReader;

typedef struct
{
  /* TRUE: incoming frames must be masked (else 1002); FALSE: they must not. */
  gboolean    server;
  /* The whole message after reassembly and after inflation; over it: 1009.
   * 0 means no limit but GByteArray's own: 4 GiB - 1. */
  guint64     max_message_size;
  /* Nullable, borrowed (must outlive the reader): permessage-deflate was
   * negotiated, RSV1 is allowed on the first frame of a data message. */
  OwlDeflate *deflate;
} OwlFrameReaderConfig;

typedef struct
{
  /* A whole data message: reassembled, inflated, and for text valid UTF-8.
   * @data is valid during the call only (it may point into the buffer given
   * to feed). */
  void (*message) (gpointer      user_data,
                   gboolean      binary,
                   const guint8 *data,
                   gsize         len);
  void (*ping)    (gpointer      user_data,
                   const guint8 *data,
                   gsize         len);
  void (*pong)    (gpointer      user_data,
                   const guint8 *data,
                   gsize         len);
  /* The peer's close frame: @code is 1005 when it carried none; @reason is
   * valid UTF-8, NUL-terminated, possibly "". Nothing is read after it. */
  void (*close)   (gpointer      user_data,
                   guint16       code,
                   const char   *reason);
} OwlFrameCallbacks;

/* Any callback may be NULL. Callbacks run from inside owl_frame_reader_feed()
 * and must not feed the reader again. They may free it (a transport that drops
 * the connection from a callback): the free is deferred until feed returns,
 * no callback runs after it, and the reader's OwlDeflate is not used again,
 * so it may be freed at the same time. */
OwlFrameReader *owl_frame_reader_new          (const OwlFrameReaderConfig *config,
                                               const OwlFrameCallbacks    *callbacks,
                                               gpointer                    user_data);
void            owl_frame_reader_free         (OwlFrameReader             *reader);

/* Consumes all of @data, keeping partial frames and messages internally and
 * calling the callbacks as frames complete. Must not be called while a
 * backlog waits (see owl_frame_reader_pause()).
 *
 * @data is modified: masked payloads are unmasked in place, so that a message
 * that arrived whole in one frame is handed to `message` straight from @data,
 * without a copy. The caller must not expect @data's contents afterwards.
 *
 * Returns FALSE on a protocol violation, with *@close_code the code to close
 * with (1002 protocol error, 1007 invalid UTF-8 in a text message or a close
 * reason, 1009 message too big) and *@reason a short static string. After a
 * close frame or an error, input is ignored: feed returns TRUE after a close
 * frame and FALSE (with the same code and reason) after an error.
 * @close_code and @reason may be NULL. */
gboolean        owl_frame_reader_feed         (OwlFrameReader             *reader,
                                               guint8                     *data,
                                               gsize                       len,
                                               guint16                    *close_code,
                                               const char                **reason);

/* From inside a callback: stop parsing once the current frame is done.
 * The rest of the input given to feed (or resume) is copied into a backlog,
 * which resume parses later. A transport bounds the work one connection
 * does per main loop turn with it. Outside a feed it does nothing. */
void            owl_frame_reader_pause        (OwlFrameReader             *reader);
gboolean        owl_frame_reader_has_backlog  (OwlFrameReader             *reader);
/* Parses the backlog, as feed would have; it may pause again. */
gboolean        owl_frame_reader_resume       (OwlFrameReader             *reader,
                                               guint16                    *close_code,
                                               const char                **reason);

/* Bytes held: a partial frame header or control frame, the data of a
 * partial message and a backlog. 0 between messages. For memory
 * accounting. */
gsize           owl_frame_reader_get_buffered (OwlFrameReader             *reader);

/* TRUE for the close codes a peer may send (RFC 6455 section 7.4): 1000-1003,
 * 1007-1014 and 3000-4999. */
gboolean        owl_frame_close_code_is_valid (guint16                     code);

/* Writes a frame header into @out and returns its length (2 to 14). The
 * shortest length encoding is used. @mask (4 bytes) may be NULL: unmasked,
 * as a server sends. The caller masks the payload with owl_frame_mask(). */
gsize           owl_frame_write_header        (guint8                      out[OWL_FRAME_MAX_HEADER],
                                               guint8                      opcode,
                                               gboolean                    fin,
                                               gboolean                    rsv1,
                                               guint64                     payload_len,
                                               const guint8               *mask);

/* One whole unmasked frame with FIN set: header and payload in one block.
 * @rsv1 marks a payload from owl_deflate_compress(). */
GBytes         *owl_frame_build               (guint8                      opcode,
                                               gboolean                    rsv1,
                                               const guint8               *payload,
                                               gsize                       len);

/* The payload of a close frame (not the frame: pass it to owl_frame_build()
 * with OWL_FRAME_CLOSE): the 2-byte code and @reason cut to its longest valid
 * UTF-8 prefix of at most 123 bytes, on a character boundary. @code 0 (or
 * 1005, "no code") gives an empty payload; so does a code that may not be
 * sent (RFC 6455 section 7.4.1: 1004, 1005, 1006, 1015, or outside the ranges
 * of owl_frame_close_code_is_valid()), since a reason needs a code. @reason
 * may be NULL. */
GBytes         *owl_frame_build_close         (guint16                     code,
                                               const char                 *reason);

/* Whether @len bytes are UTF-8 as a text frame must be (Unicode table
 * 3-7: no overlong forms, surrogates nor code points above U+10FFFF, as
 * g_utf8_validate() with a length), ASCII skipped eight bytes at a time. */
gboolean        owl_frame_utf8_valid          (const guint8               *p,
                                               gsize                       len);

/* XORs @data with @mask in place, @offset being the position of data[0] in
 * the payload (only offset % 4 matters). Masking and unmasking are the same. */
void            owl_frame_mask                (guint8                     *data,
                                               gsize                       len,
                                               const guint8                mask[4],
                                               gsize                       offset);

G_END_DECLS
