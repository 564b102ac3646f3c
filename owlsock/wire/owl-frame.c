/* owl-frame.c: the WebSocket frame codec (RFC 6455)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The reader is the hot path of every incoming message, so it is built around
 * the common case: a small masked frame that arrived whole in one read. Its
 * header is parsed straight from the input, its payload unmasked in place
 * eight bytes at a time, validated as UTF-8 with an ASCII fast path, and
 * handed to the `message` callback from the input buffer: no copy and no
 * allocation. Everything else (headers split across reads, fragmented
 * messages, compressed messages) goes through the same small state machine
 * with one reusable reassembly buffer.
 *
 * Limits are checked against the lengths frame headers announce, before any
 * payload is read: a message that would pass max_message_size fails with 1009
 * as soon as the header of the frame that passes it is complete.
 */

#include <string.h>

#include "owl-close.h"
#include "owl-frame-private.h"

typedef enum
{
  STATE_HEADER,
  STATE_PAYLOAD,
  STATE_CLOSED,
  STATE_FAILED,
} State;

/* Where an incomplete UTF-8 sequence stands: continuation bytes still needed
 * and the range the next one must fall in. */
typedef struct
{
  guint8 need;
  guint8 lo;
  guint8 hi;
} Utf8State;

/* A reassembly or inflation buffer that grew past this is freed after its
 * message instead of being kept for the next one. */
#define KEEP_BUFFER (16 * 1024)

struct _OwlFrameReader
{
  OwlFrameCallbacks callbacks;
  gpointer          user_data;
  OwlDeflate       *deflate;
  gboolean          server;
  guint64           limit;              /* on a whole (inflated) message */
  guint64           compressed_limit;   /* on a compressed message */

  State             state;

  /* A header that arrived in pieces. */
  guint8            header[OWL_FRAME_MAX_HEADER];
  guint8            header_len;
  guint8            header_need;

  /* The frame being read. */
  guint8            opcode;
  gboolean          fin;
  gboolean          masked;
  guint8            mask[4];
  guint64           frame_len;
  guint64           frame_done;

  /* A control frame's payload that arrived in pieces; allocated on first
   * need (rare), since every idle connection has a reader. */
  guint8           *control;

  /* The data message in progress. */
  gboolean          in_message;
  gboolean          binary;
  gboolean          compressed;
  guint64           message_len;        /* announced by its frames so far */
  Utf8State         utf8;
  GByteArray       *message;            /* reassembly, created on first need */
  GByteArray       *inflated;           /* inflation output, likewise */

  guint16           error_code;
  const char       *error_reason;

  /* A transport may drop the connection, and free the reader, from inside a
   * callback: the free then waits for feed to return. */
  gboolean          in_feed;
  gboolean          free_pending;

  /* A callback asked to stop at the end of the current frame: what the
   * feed had not parsed yet waits here, copied, for resume. */
  gboolean          pause_requested;
  GByteArray       *backlog;
};

/* A non-NULL pointer for empty payloads (memcpy and friends want one). */
static const guint8 empty_payload[1] = { 0 };

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Validates @len bytes continuing from @st, so a message can be checked one
 * fragment at a time and fail at its first bad byte. The accepted forms are
 * those of Unicode table 3-7, which excludes overlong forms, the surrogates
 * U+D800-DFFF and anything above U+10FFFF (RFC 3629 section 4). */
static gboolean
utf8_feed (Utf8State    *st,
           const guint8 *p,
           gsize         len)
{
  const guint8 *end = p + len;
  guint need = st->need;
  guint8 lo = st->lo;
  guint8 hi = st->hi;

  while (p < end)
    {
      guint8 c;

      if (need == 0)
        {
          /* JSON is mostly ASCII: skip it eight bytes at a time. */
          while (end - p >= 8)
            {
              guint64 w;

              memcpy (&w, p, 8);
              if (w & G_GUINT64_CONSTANT (0x8080808080808080))
                break;
              p += 8;
            }
          while (p < end && *p < 0x80)
            p++;
          if (p == end)
            break;

          c = *p++;
          if (c < 0xC2)
            return FALSE;             /* a continuation byte, or C0/C1 (overlong) */
          else if (c < 0xE0)
            {
              need = 1;
              lo = 0x80;
              hi = 0xBF;
            }
          else if (c < 0xF0)
            {
              need = 2;
              lo = c == 0xE0 ? 0xA0 : 0x80;   /* E0 80-9F: overlong */
              hi = c == 0xED ? 0x9F : 0xBF;   /* ED A0-BF: surrogates */
            }
          else if (c < 0xF5)
            {
              need = 3;
              lo = c == 0xF0 ? 0x90 : 0x80;   /* F0 80-8F: overlong */
              hi = c == 0xF4 ? 0x8F : 0xBF;   /* F4 90-BF: above U+10FFFF */
            }
          else
            return FALSE;
        }
      else
        {
          c = *p++;
          if (c < lo || c > hi)
            return FALSE;
          need--;
          lo = 0x80;
          hi = 0xBF;
        }
    }

  st->need = need;
  st->lo = lo;
  st->hi = hi;
  return TRUE;
}

static inline void
utf8_reset (Utf8State *st)
{
  st->need = 0;
}

gboolean
owl_frame_utf8_valid (const guint8 *p,
                      gsize         len)
{
  Utf8State st = { 0, 0, 0 };

  return utf8_feed (&st, p, len) && st.need == 0;
}

/* ---- masking -------------------------------------------------------------- */

void
owl_frame_mask (guint8       *data,
                gsize         len,
                const guint8  mask[4],
                gsize         offset)
{
  guint8 m8[8];
  guint64 m;
  gsize i = 0;

  /* The key rotated to @offset and doubled into a 64-bit word; memcpy keeps
   * the loads legal at any alignment and compiles to plain moves. */
  for (guint k = 0; k < 8; k++)
    m8[k] = mask[(offset + k) & 3];
  memcpy (&m, m8, 8);

  for (; i + 8 <= len; i += 8)
    {
      guint64 w;

      memcpy (&w, data + i, 8);
      w ^= m;
      memcpy (data + i, &w, 8);
    }
  /* i is a multiple of 8 here, so m8[i & 7] is the key byte for data[i]. */
  for (; i < len; i++)
    data[i] ^= m8[i & 7];
}

/* ---- reader --------------------------------------------------------------- */

OwlFrameReader *
owl_frame_reader_new (const OwlFrameReaderConfig *config,
                      const OwlFrameCallbacks    *callbacks,
                      gpointer                    user_data)
{
  OwlFrameReader *r;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  r = g_new0 (OwlFrameReader, 1);
  r->callbacks = *callbacks;
  r->user_data = user_data;
  r->deflate = config->deflate;
  r->server = config->server;

  /* Buffers are GByteArrays, whose length is a guint: "no limit" is theirs. */
  r->limit = config->max_message_size == 0 ? G_MAXUINT : MIN (config->max_message_size, G_MAXUINT);
  /* The compressed form of a message at the limit may be a little larger than
   * the limit when it does not compress (stored blocks cost 5 bytes per 64 KiB,
   * zlib's deflateBound); this margin covers that and bounds the rest. */
  r->compressed_limit = MIN (r->limit + (r->limit >> 10) + 64, G_MAXUINT);

  r->state = STATE_HEADER;
  r->header_need = 2;
  return r;
}

void
owl_frame_reader_free (OwlFrameReader *r)
{
  if (r == NULL)
    return;
  if (r->in_feed)
    {
      r->free_pending = TRUE;
      return;
    }
  g_clear_pointer (&r->message, g_byte_array_unref);
  g_clear_pointer (&r->inflated, g_byte_array_unref);
  g_clear_pointer (&r->backlog, g_byte_array_unref);
  g_free (r->control);
  g_free (r);
}

gsize
owl_frame_reader_get_buffered (OwlFrameReader *r)
{
  gsize n = r->header_len;

  if (r->state == STATE_PAYLOAD && r->opcode >= OWL_FRAME_CLOSE)
    n += r->frame_done;
  if (r->message != NULL)
    n += r->message->len;
  if (r->backlog != NULL)
    n += r->backlog->len;
  return n;
}

static void
release_buffers (OwlFrameReader *r)
{
  g_clear_pointer (&r->message, g_byte_array_unref);
  g_clear_pointer (&r->inflated, g_byte_array_unref);
  r->header_len = 0;
}

static gboolean
fail (OwlFrameReader *r,
      guint16         code,
      const char     *reason)
{
  r->state = STATE_FAILED;
  r->error_code = code;
  r->error_reason = reason;
  release_buffers (r);
  return FALSE;
}

/* Empties a buffer for the next message; one that a big message grew is
 * freed rather than kept for the life of the connection. */
static void
buffer_reset (GByteArray **buf)
{
  if (*buf == NULL)
    return;
  if ((*buf)->len > KEEP_BUFFER)
    g_clear_pointer (buf, g_byte_array_unref);
  else
    g_byte_array_set_size (*buf, 0);
}

gboolean
owl_frame_close_code_is_valid (guint16 code)
{
  /* RFC 6455 section 7.4.1 and the IANA registry: 1004 is reserved, 1005,
   * 1006 and 1015 must never be sent, 1016-2999 are unassigned or reserved
   * for future revisions; 3000-4999 belong to libraries and applications. */
  return (code >= 1000 && code <= 1003) ||
         (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

/* The header's size once its second byte is known. */
static inline guint
header_size (guint8 b1)
{
  guint len7 = b1 & 0x7f;

  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

/* Everything the first two bytes can tell, checked before the rest of the
 * header arrives. */
static gboolean
check_start (OwlFrameReader *r,
             guint8          b0,
             guint8          b1)
{
  guint opcode = b0 & 0x0f;
  gboolean fin = (b0 & 0x80) != 0;
  gboolean rsv1 = (b0 & 0x40) != 0;
  gboolean masked = (b1 & 0x80) != 0;
  guint len7 = b1 & 0x7f;

  /* RFC 6455 section 5.2: RSV2 and RSV3 mean nothing without an extension
   * that defines them, and we negotiate none. */
  if (b0 & 0x30)
    return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "reserved bit set");

  /* Section 5.3: a client masks every frame, a server none (section 5.1). */
  if (masked != r->server)
    return fail (r, OWL_CLOSE_PROTOCOL_ERROR, r->server ? "unmasked frame" : "masked frame");

  switch (opcode)
    {
    case OWL_FRAME_CONTINUATION:
      /* Section 5.4: a continuation continues something. RFC 7692 section 6:
       * RSV1 marks a compressed message on its first frame only. */
      if (!r->in_message)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "continuation without a message");
      if (rsv1)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "RSV1 on a continuation frame");
      return TRUE;

    case OWL_FRAME_TEXT:
    case OWL_FRAME_BINARY:
      /* Section 5.4: fragments of one message are not interleaved with
       * another's. */
      if (r->in_message)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
      if (rsv1 && r->deflate == NULL)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "RSV1 without permessage-deflate");
      return TRUE;

    case OWL_FRAME_CLOSE:
    case OWL_FRAME_PING:
    case OWL_FRAME_PONG:
      /* Section 5.5: control frames are never fragmented, carry at most 125
       * bytes, and may come between the fragments of a data message. RFC
       * 7692 section 6.1: permessage-deflate leaves them uncompressed. */
      if (!fin)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (len7 > OWL_FRAME_MAX_CONTROL)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "control frame too long");
      if (rsv1)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "RSV1 on a control frame");
      /* Section 5.5.1: a close body starts with a 2-byte code. */
      if (opcode == OWL_FRAME_CLOSE && len7 == 1)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "close frame of 1 byte");
      return TRUE;

    default:
      /* Section 5.2: 3-7 and 0xB-0xF are reserved. */
      return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "unknown opcode");
    }
}

static gboolean on_payload (OwlFrameReader *r,
                            const guint8   *chunk,
                            gsize           n);

/* Takes a complete header (check_start having passed on its first bytes). */
static gboolean
start_frame (OwlFrameReader *r,
             const guint8   *h)
{
  guint len7 = h[1] & 0x7f;
  guint64 len;
  guint pos;

  if (len7 == 126)
    {
      len = ((guint64) h[2] << 8) | h[3];
      pos = 4;
      /* Section 5.2: "the minimal number of bytes MUST be used to encode the
       * length". We hold senders to it and refuse the alternative spellings:
       * accepting them buys nothing and gives a fuzzer or a smuggler more
       * ways to say the same thing. */
      if (len < 126)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "non-minimal length");
    }
  else if (len7 == 127)
    {
      len = 0;
      for (guint i = 2; i < 10; i++)
        len = (len << 8) | h[i];
      pos = 10;
      /* Section 5.2: the most significant bit MUST be 0. */
      if (len >> 63)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "length with the top bit set");
      if (len <= 0xffff)
        return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "non-minimal length");
    }
  else
    {
      len = len7;
      pos = 2;
    }

  r->opcode = h[0] & 0x0f;
  r->fin = (h[0] & 0x80) != 0;
  r->masked = (h[1] & 0x80) != 0;
  if (r->masked)
    memcpy (r->mask, h + pos, 4);
  r->frame_len = len;
  r->frame_done = 0;

  if (r->opcode < OWL_FRAME_CLOSE)
    {
      guint64 limit;

      if (r->opcode != OWL_FRAME_CONTINUATION)
        {
          r->in_message = TRUE;
          r->binary = r->opcode == OWL_FRAME_BINARY;
          r->compressed = (h[0] & 0x40) != 0;
          r->message_len = 0;
          utf8_reset (&r->utf8);
        }

      /* The running total, from lengths announced before their payload: a
       * fragmented message fails on the header of the fragment that passes
       * the limit, and nothing past the limit is ever buffered. A compressed
       * message is bounded here on its compressed size and again, after
       * inflation, on the whole. message_len <= limit holds throughout. */
      limit = r->compressed ? r->compressed_limit : r->limit;
      if (len > limit - r->message_len)
        return fail (r, OWL_CLOSE_TOO_BIG, "message too big");
      r->message_len += len;
    }

  r->state = STATE_PAYLOAD;
  if (len == 0)
    return on_payload (r, empty_payload, 0);
  return TRUE;
}

static gboolean
deliver (OwlFrameReader *r,
         const guint8   *data,
         gsize           len)
{
  r->in_message = FALSE;

  if (r->compressed)
    {
      gboolean too_big = FALSE;

      if (r->inflated == NULL)
        r->inflated = g_byte_array_new ();
      if (!owl_deflate_decompress (r->deflate, data, len, r->limit, r->inflated, &too_big))
        return too_big ? fail (r, OWL_CLOSE_TOO_BIG, "message too big")
                       : fail (r, OWL_CLOSE_PROTOCOL_ERROR, "corrupt compressed data");
      /* RFC 7692 section 6.1: text is validated after decompression. */
      if (!r->binary && !owl_frame_utf8_valid (r->inflated->data, r->inflated->len))
        return fail (r, OWL_CLOSE_INVALID_DATA, "invalid UTF-8");
      data = r->inflated->len > 0 ? r->inflated->data : empty_payload;
      len = r->inflated->len;
    }
  else if (!r->binary && r->utf8.need != 0)
    return fail (r, OWL_CLOSE_INVALID_DATA, "invalid UTF-8");   /* a sequence cut off at the end */

  if (r->callbacks.message != NULL)
    r->callbacks.message (r->user_data, r->binary, data, len);

  buffer_reset (&r->message);
  buffer_reset (&r->inflated);
  return TRUE;
}

static gboolean
control_frame (OwlFrameReader *r,
               const guint8   *data,
               gsize           len)
{
  switch (r->opcode)
    {
    case OWL_FRAME_PING:
      if (r->callbacks.ping != NULL)
        r->callbacks.ping (r->user_data, data, len);
      return TRUE;

    case OWL_FRAME_PONG:
      if (r->callbacks.pong != NULL)
        r->callbacks.pong (r->user_data, data, len);
      return TRUE;

    case OWL_FRAME_CLOSE:
    default:
      {
        char reason[OWL_FRAME_MAX_CLOSE_REASON + 1];
        guint16 code = 1005;   /* section 7.1.5: no status code present */

        reason[0] = '\0';
        if (len >= 2)
          {
            code = (guint16) ((data[0] << 8) | data[1]);
            if (!owl_frame_close_code_is_valid (code))
              return fail (r, OWL_CLOSE_PROTOCOL_ERROR, "invalid close code");
            /* Section 5.5.1: the reason is UTF-8, and section 8.1 makes an
             * invalid one fail the connection (with 1007, section 7.4.1). */
            if (!owl_frame_utf8_valid (data + 2, len - 2))
              return fail (r, OWL_CLOSE_INVALID_DATA, "invalid UTF-8 in close reason");
            memcpy (reason, data + 2, len - 2);
            reason[len - 2] = '\0';
          }

        /* Section 5.5.1: nothing more is read after a close frame. */
        r->state = STATE_CLOSED;
        r->in_message = FALSE;
        release_buffers (r);
        if (r->callbacks.close != NULL)
          r->callbacks.close (r->user_data, code, reason);
        return TRUE;
      }
    }
}

/* Takes @n unmasked payload bytes of the current frame. */
static gboolean
on_payload (OwlFrameReader *r,
            const guint8   *chunk,
            gsize           n)
{
  gboolean whole = r->frame_done == 0 && n == r->frame_len;

  r->frame_done += n;

  if (r->opcode >= OWL_FRAME_CLOSE)
    {
      if (whole)
        {
          r->state = STATE_HEADER;
          return control_frame (r, chunk, n);
        }
      if (r->control == NULL)
        r->control = g_malloc (OWL_FRAME_MAX_CONTROL);
      memcpy (r->control + r->frame_done - n, chunk, n);
      if (r->frame_done < r->frame_len)
        return TRUE;
      r->state = STATE_HEADER;
      return control_frame (r, r->control, (gsize) r->frame_len);
    }

  /* Uncompressed text is validated as it arrives, so a bad byte fails the
   * message at once, whether or not the rest of it ever comes. */
  if (!r->compressed && !r->binary && !utf8_feed (&r->utf8, chunk, n))
    return fail (r, OWL_CLOSE_INVALID_DATA, "invalid UTF-8");

  /* The common case: a message in one frame that arrived in one piece goes
   * to the callback from the caller's buffer. */
  if (whole && r->fin && r->opcode != OWL_FRAME_CONTINUATION)
    {
      r->state = STATE_HEADER;
      return deliver (r, chunk, n);
    }

  if (n > 0)
    {
      if (r->message == NULL)
        r->message = g_byte_array_new ();
      /* message_len bounds the total below G_MAXUINT. */
      g_byte_array_append (r->message, chunk, (guint) n);
    }

  if (r->frame_done < r->frame_len)
    return TRUE;
  r->state = STATE_HEADER;
  if (!r->fin)
    return TRUE;
  if (r->message == NULL || r->message->len == 0)
    return deliver (r, empty_payload, 0);
  return deliver (r, r->message->data, r->message->len);
}

/* Collects a header that did not arrive in one piece. */
static gboolean
read_header_slowly (OwlFrameReader  *r,
                    guint8         **pp,
                    guint8          *end)
{
  while (*pp < end && r->header_len < r->header_need)
    {
      r->header[r->header_len++] = *(*pp)++;
      if (r->header_len == 2)
        {
          if (!check_start (r, r->header[0], r->header[1]))
            return FALSE;
          r->header_need = header_size (r->header[1]);
        }
    }

  if (r->header_len < r->header_need)
    return TRUE;

  r->header_len = 0;
  r->header_need = 2;
  return start_frame (r, r->header);
}

/* Parses from @data until it is used up, a callback pauses or frees the
 * reader, or the stream ends; returns how much was parsed. */
static gsize
parse (OwlFrameReader *r,
       guint8         *data,
       gsize           len)
{
  guint8 *p = data;
  guint8 *end = len > 0 ? data + len : data;
  gboolean ok = TRUE;

  /* After a callback freed the reader nothing more is parsed, so the
   * borrowed OwlDeflate, which its owner frees too, is not touched again. */
  while (ok && p < end && r->state <= STATE_PAYLOAD && !r->free_pending && !r->pause_requested)
    {
      if (r->state == STATE_HEADER)
        {
          gsize avail = end - p;

          if (r->header_len == 0 && avail >= 2 && avail >= header_size (p[1]))
            {
              guint size = header_size (p[1]);

              ok = check_start (r, p[0], p[1]) && start_frame (r, p);
              p += size;
            }
          else
            ok = read_header_slowly (r, &p, end);
        }
      else
        {
          guint64 left = r->frame_len - r->frame_done;
          gsize n = (gsize) MIN ((guint64) (end - p), left);

          if (r->masked)
            owl_frame_mask (p, n, r->mask, (gsize) (r->frame_done & 3));
          ok = on_payload (r, p, n);
          p += n;
        }
    }
  return p - data;
}

/* Runs @data through parse() and keeps what a pause left over. @data may be
 * the old backlog's bytes: the new backlog is a new array. */
static gboolean
feed_and_keep (OwlFrameReader  *r,
               guint8          *data,
               gsize            len,
               guint16         *close_code,
               const char     **reason)
{
  gsize done;
  gboolean result;

  g_return_val_if_fail (!r->in_feed, FALSE);
  r->in_feed = TRUE;
  r->pause_requested = FALSE;

  done = parse (r, data, len);
  if (r->pause_requested && done < len && r->state <= STATE_PAYLOAD && !r->free_pending)
    {
      r->backlog = g_byte_array_sized_new (len - done);
      g_byte_array_append (r->backlog, data + done, len - done);
    }
  r->pause_requested = FALSE;

  result = r->state != STATE_FAILED;
  if (!result)
    {
      if (close_code != NULL)
        *close_code = r->error_code;
      if (reason != NULL)
        *reason = r->error_reason;
    }

  r->in_feed = FALSE;
  if (r->free_pending)
    owl_frame_reader_free (r);
  return result;
}

gboolean
owl_frame_reader_feed (OwlFrameReader  *r,
                       guint8          *data,
                       gsize            len,
                       guint16         *close_code,
                       const char     **reason)
{
  g_return_val_if_fail (r->backlog == NULL, FALSE);

  return feed_and_keep (r, data, len, close_code, reason);
}

void
owl_frame_reader_pause (OwlFrameReader *r)
{
  if (r->in_feed)
    r->pause_requested = TRUE;
}

gboolean
owl_frame_reader_has_backlog (OwlFrameReader *r)
{
  return r->backlog != NULL;
}

gboolean
owl_frame_reader_resume (OwlFrameReader  *r,
                         guint16         *close_code,
                         const char     **reason)
{
  g_autoptr(GByteArray) backlog = g_steal_pointer (&r->backlog);

  if (backlog == NULL)
    return r->state != STATE_FAILED;
  return feed_and_keep (r, backlog->data, backlog->len, close_code, reason);
}

/* ---- writer --------------------------------------------------------------- */

gsize
owl_frame_write_header (guint8        out[OWL_FRAME_MAX_HEADER],
                        guint8        opcode,
                        gboolean      fin,
                        gboolean      rsv1,
                        guint64       payload_len,
                        const guint8 *mask)
{
  gsize n;

  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f);
  if (payload_len < 126)
    {
      out[1] = (guint8) payload_len;
      n = 2;
    }
  else if (payload_len <= 0xffff)
    {
      out[1] = 126;
      out[2] = (guint8) (payload_len >> 8);
      out[3] = (guint8) payload_len;
      n = 4;
    }
  else
    {
      out[1] = 127;
      for (guint i = 0; i < 8; i++)
        out[2 + i] = (guint8) (payload_len >> (56 - 8 * i));
      n = 10;
    }

  if (mask != NULL)
    {
      out[1] |= 0x80;
      memcpy (out + n, mask, 4);
      n += 4;
    }
  return n;
}

GBytes *
owl_frame_build (guint8        opcode,
                 gboolean      rsv1,
                 const guint8 *payload,
                 gsize         len)
{
  guint8 header[OWL_FRAME_MAX_HEADER];
  gsize header_len = owl_frame_write_header (header, opcode, TRUE, rsv1, len, NULL);
  guint8 *frame = g_malloc (header_len + len);

  memcpy (frame, header, header_len);
  if (len > 0)
    memcpy (frame + header_len, payload, len);
  return g_bytes_new_take (frame, header_len + len);
}

GBytes *
owl_frame_build_close (guint16     code,
                       const char *reason)
{
  guint8 payload[2 + OWL_FRAME_MAX_CLOSE_REASON];
  const char *valid_end = NULL;
  gsize len;

  if (!owl_frame_close_code_is_valid (code))
    return g_bytes_new (NULL, 0);

  payload[0] = (guint8) (code >> 8);
  payload[1] = (guint8) code;

  len = reason != NULL ? strlen (reason) : 0;
  /* The longest valid prefix, then back to a character boundary at 123. */
  if (len > 0 && !g_utf8_validate_len (reason, len, &valid_end))
    len = valid_end - reason;
  if (len > OWL_FRAME_MAX_CLOSE_REASON)
    {
      len = OWL_FRAME_MAX_CLOSE_REASON;
      while (len > 0 && ((guchar) reason[len] & 0xC0) == 0x80)
        len--;
    }
  if (len > 0)
    memcpy (payload + 2, reason, len);
  return g_bytes_new (payload, 2 + len);
}
