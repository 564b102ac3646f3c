/* owl-deflate.c: permessage-deflate (RFC 7692) over zlib
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Memory. A compressor costs (1 << (wbits + 2)) + (1 << (memLevel + 9)) bytes
 * plus ~6 KiB of state, a decompressor (1 << wbits) plus ~7 KiB (zconf.h): at
 * 15 bits and OWL_DEFLATE_MEM_LEVEL 4 that is 142 KiB + 39 KiB per connection.
 * Both streams are created on first use. A direction with no_context_takeover
 * frees its stream after every message, so an idle connection holds no zlib
 * memory for it; with context takeover the window is the point of the exercise
 * and the stream lives as long as the connection. A server that wants many idle
 * connections cheaply forces server_no_context_takeover and a smaller window.
 *
 * Window bits 8. zlib refuses an 8-bit window for a raw deflate stream. We
 * compress with 9 instead: zlib never emits a distance above
 * w_size - MIN_LOOKAHEAD (512 - 262 = 250), which a 256-byte window decodes, so
 * a peer held to server_max_window_bits=8 still reads us. For inflating, a
 * window larger than the peer's is always safe, so 9 is used there too.
 */

#include <string.h>
#include <zlib.h>

#include "owl-deflate-private.h"

/* The tail a sync flush ends with, removed by the sender and put back by the
 * receiver (RFC 7692 sections 7.2.1 and 7.2.2). */
static const guint8 sync_tail[4] = { 0x00, 0x00, 0xff, 0xff };

struct _OwlDeflate
{
  z_stream tx;              /* our compressor; valid while tx_live */
  z_stream rx;              /* our decompressor; valid while rx_live */
  gboolean tx_live;
  gboolean rx_live;
  int      tx_bits;         /* zlib windowBits, 9..15 */
  int      rx_bits;
  gboolean tx_reset;        /* no context takeover in that direction */
  gboolean rx_reset;
  gsize    memory;          /* bytes zlib holds through zalloc */
};

/* ---- negotiation ---------------------------------------------------------- */

/* RFC 7230 section 3.2.6 tchar, which RFC 6455 section 9.1 uses for tokens. */
static inline gboolean
is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static inline void
skip_ows (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

static gsize
read_token (const char **p)
{
  const char *start = *p;

  while (is_tchar (**p))
    (*p)++;
  return *p - start;
}

/* "8".."15" without leading zeros (RFC 7692 section 7.1.2.1). */
static guint
parse_window_bits (const char *v,
                   gsize       len)
{
  if (len == 1 && v[0] >= '8' && v[0] <= '9')
    return v[0] - '0';
  if (len == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
    return 10 + v[1] - '0';
  return 0;
}

typedef struct
{
  gboolean deflate;           /* the extension is permessage-deflate */
  gboolean invalid;           /* an unknown, repeated or bad parameter */
  gboolean server_nct;
  gboolean client_nct;
  guint    server_bits;       /* 0: not named */
  gboolean client_bits_named;
  guint    client_bits;       /* 0: named without a value */
} Offer;

static void
offer_param (Offer      *offer,
             const char *name,
             gsize       name_len,
             gboolean    has_value,
             const char *value,
             gsize       value_len)
{
#define IS(s) (name_len == strlen (s) && g_ascii_strncasecmp (name, s, name_len) == 0)
  /* RFC 7692 section 7: an offer with an unknown parameter, a repeated one or
   * an invalid value must be declined. */
  if (IS ("server_no_context_takeover"))
    {
      if (has_value || offer->server_nct)
        offer->invalid = TRUE;
      offer->server_nct = TRUE;
    }
  else if (IS ("client_no_context_takeover"))
    {
      if (has_value || offer->client_nct)
        offer->invalid = TRUE;
      offer->client_nct = TRUE;
    }
  else if (IS ("server_max_window_bits"))
    {
      /* Section 7.1.2.1: in an offer it must have a value. */
      if (!has_value || offer->server_bits != 0)
        offer->invalid = TRUE;
      else if ((offer->server_bits = parse_window_bits (value, value_len)) == 0)
        offer->invalid = TRUE;
    }
  else if (IS ("client_max_window_bits"))
    {
      /* Section 7.1.2.2: a value is optional. */
      if (offer->client_bits_named)
        offer->invalid = TRUE;
      offer->client_bits_named = TRUE;
      if (has_value && (offer->client_bits = parse_window_bits (value, value_len)) == 0)
        offer->invalid = TRUE;
    }
  else
    offer->invalid = TRUE;
#undef IS
}

/* Reads one extension-param value after '=': a token, or a quoted-string whose
 * unescaped content must itself be a token (RFC 6455 section 9.1). Only short
 * values can be valid here, so longer ones are reported as a 3-byte prefix,
 * which no parameter accepts. Returns FALSE on a syntax error. */
static gboolean
read_value (const char **p,
            char         buf[4],
            gsize       *len,
            gboolean    *token_ok)
{
  *len = 0;
  *token_ok = TRUE;

  if (**p != '"')
    {
      const char *start = *p;
      gsize n = read_token (p);

      if (n == 0)
        return FALSE;
      *len = MIN (n, 3);
      memcpy (buf, start, *len);
      return TRUE;
    }

  (*p)++;
  for (;;)
    {
      char c = **p;

      if (c == '\0')
        return FALSE;
      (*p)++;
      if (c == '"')
        break;
      if (c == '\\')
        {
          c = **p;
          if (c == '\0')
            return FALSE;
          (*p)++;
        }
      if (!is_tchar (c))
        *token_ok = FALSE;
      if (*len < 3)
        buf[(*len)++] = c;
    }
  if (*len == 0)
    *token_ok = FALSE;
  return TRUE;
}

static char *
build_response (const OwlDeflateParams *params,
                gboolean                say_server_bits,
                gboolean                say_client_bits)
{
  GString *s = g_string_new ("permessage-deflate");

  if (params->server_no_context_takeover)
    g_string_append (s, "; server_no_context_takeover");
  if (params->client_no_context_takeover)
    g_string_append (s, "; client_no_context_takeover");
  if (say_server_bits)
    g_string_append_printf (s, "; server_max_window_bits=%u", params->server_max_window_bits);
  if (say_client_bits)
    g_string_append_printf (s, "; client_max_window_bits=%u", params->client_max_window_bits);
  return g_string_free (s, FALSE);
}

/* Reads one "; name[=value]" of an offer into @offer. Returns FALSE on a
 * syntax error. */
static gboolean
read_offer_param (const char **p,
                  Offer       *offer)
{
  const char *param;
  gsize param_len;
  gboolean has_value = FALSE;
  gboolean token_ok = TRUE;
  char value[4];
  gsize value_len = 0;

  if (**p != ';')
    return FALSE;
  (*p)++;
  skip_ows (p);
  param = *p;
  param_len = read_token (p);
  if (param_len == 0)
    return FALSE;
  skip_ows (p);
  if (**p == '=')
    {
      (*p)++;
      skip_ows (p);
      if (!read_value (p, value, &value_len, &token_ok))
        return FALSE;
      has_value = TRUE;
    }
  if (!token_ok)
    offer->invalid = TRUE;
  else
    offer_param (offer, param, param_len, has_value, value, value_len);
  return TRUE;
}

/* Reads one offer, its name and its parameters, up to and past the ',' that
 * ends it (or to the end of the value). Returns FALSE on a syntax error. */
static gboolean
read_offer (const char **p,
            Offer       *offer)
{
  const char *name = *p;
  gsize name_len = read_token (p);

  if (name_len == 0)
    return FALSE;
  offer->deflate = name_len == strlen ("permessage-deflate") &&
                   g_ascii_strncasecmp (name, "permessage-deflate", name_len) == 0;

  for (;;)
    {
      skip_ows (p);
      if (**p == '\0')
        return TRUE;
      if (**p == ',')
        {
          (*p)++;
          return TRUE;
        }
      if (!read_offer_param (p, offer))
        return FALSE;
    }
}

/* Fills @chosen with the first valid permessage-deflate offer of @p. FALSE
 * when there is none, or the value does not follow the grammar. */
static gboolean
choose_offer (const char *p,
              Offer      *chosen)
{
  gboolean found = FALSE;

  /* The whole value is parsed before anything is chosen: if it does not follow
   * the grammar we cannot trust where one offer ends and the next begins. */
  for (;;)
    {
      Offer offer = { 0 };

      skip_ows (&p);
      if (*p == ',')
        {
          /* RFC 7230 section 7: empty list elements are allowed. */
          p++;
          continue;
        }
      if (*p == '\0')
        break;

      if (!read_offer (&p, &offer))
        return FALSE;
      if (!found && offer.deflate && !offer.invalid)
        {
          *chosen = offer;
          found = TRUE;
        }
    }
  return found;
}

/* The parameters we answer @chosen with, within our policy. */
static void
choose_params (const Offer      *chosen,
               gboolean          force_server_no_context_takeover,
               guint             policy_max_window_bits,
               OwlDeflateParams *out)
{
  guint policy = policy_max_window_bits == 0 ? 15 : CLAMP (policy_max_window_bits, 8, 15);

  /* Section 7.1.1.1: an offered server_no_context_takeover must be echoed; the
   * server may add it on its own. Section 7.1.1.2: an offered
   * client_no_context_takeover may be echoed; echoing it lets us drop the
   * decompressor between messages, so we do. */
  out->server_no_context_takeover = chosen->server_nct || force_server_no_context_takeover;
  out->client_no_context_takeover = chosen->client_nct;

  /* Section 7.1.2.1: answer with the offered value or a smaller one; the
   * server may name a window even when the offer did not. */
  out->server_max_window_bits = MIN (chosen->server_bits != 0 ? chosen->server_bits : 15, policy);

  /* Section 7.1.2.2: only when the offer named client_max_window_bits may the
   * response name it, with the offered value or a smaller one. */
  if (chosen->client_bits_named)
    out->client_max_window_bits = MIN (chosen->client_bits != 0 ? chosen->client_bits : 15, policy);
  else
    out->client_max_window_bits = 15;
}

gboolean
owl_deflate_negotiate (const char        *offer_header,
                       gboolean           force_server_no_context_takeover,
                       guint              policy_max_window_bits,
                       OwlDeflateParams  *params,
                       char             **response)
{
  Offer chosen = { 0 };
  OwlDeflateParams out;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (response != NULL, FALSE);

  if (offer_header == NULL || !choose_offer (offer_header, &chosen))
    return FALSE;

  choose_params (&chosen, force_server_no_context_takeover, policy_max_window_bits, &out);
  *params = out;
  *response = build_response (&out,
                              chosen.server_bits != 0 || out.server_max_window_bits < 15,
                              chosen.client_bits_named &&
                              (chosen.client_bits != 0 || out.client_max_window_bits < 15));
  return TRUE;
}

/* ---- streams ------------------------------------------------------------- */

/* zlib allocations carry their size in front so that each object knows what
 * it holds; 16 bytes keep zlib's own alignment. */
#define ZHEAD 16

static voidpf
owl_zalloc (voidpf opaque,
            uInt   items,
            uInt   size)
{
  OwlDeflate *self = opaque;
  gsize n = (gsize) items * size;
  guint8 *block = g_try_malloc (n + ZHEAD);

  if (block == NULL)
    return Z_NULL;
  memcpy (block, &n, sizeof n);
  self->memory += n;
  return block + ZHEAD;
}

static void
owl_zfree (voidpf opaque,
           voidpf address)
{
  OwlDeflate *self = opaque;
  guint8 *block = (guint8 *) address - ZHEAD;
  gsize n;

  memcpy (&n, block, sizeof n);
  self->memory -= n;
  g_free (block);
}

static void
stream_prepare (OwlDeflate *self,
                z_stream   *strm)
{
  memset (strm, 0, sizeof *strm);
  strm->zalloc = owl_zalloc;
  strm->zfree = owl_zfree;
  strm->opaque = self;
}

static void
tx_end (OwlDeflate *self)
{
  if (self->tx_live)
    deflateEnd (&self->tx);
  self->tx_live = FALSE;
}

static void
rx_end (OwlDeflate *self)
{
  if (self->rx_live)
    inflateEnd (&self->rx);
  self->rx_live = FALSE;
}

OwlDeflate *
owl_deflate_new (const OwlDeflateParams *params,
                 gboolean                server)
{
  OwlDeflate *self;
  guint tx_bits, rx_bits;

  g_return_val_if_fail (params != NULL, NULL);

  self = g_new0 (OwlDeflate, 1);
  tx_bits = server ? params->server_max_window_bits : params->client_max_window_bits;
  rx_bits = server ? params->client_max_window_bits : params->server_max_window_bits;
  self->tx_bits = CLAMP (tx_bits == 0 ? 15 : tx_bits, 9, 15);
  self->rx_bits = CLAMP (rx_bits == 0 ? 15 : rx_bits, 9, 15);
  self->tx_reset = server ? params->server_no_context_takeover : params->client_no_context_takeover;
  self->rx_reset = server ? params->client_no_context_takeover : params->server_no_context_takeover;
  return self;
}

void
owl_deflate_free (OwlDeflate *self)
{
  if (self == NULL)
    return;
  tx_end (self);
  rx_end (self);
  g_free (self);
}

gboolean
owl_deflate_compresses_alone (OwlDeflate *self,
                              guint      *window_bits)
{
  *window_bits = self->tx_bits;
  return self->tx_reset;
}

gsize
owl_deflate_get_memory (OwlDeflate *self)
{
  return self->memory;
}

gsize
owl_deflate_memory_bound (const OwlDeflateParams *params)
{
  guint s = CLAMP (params->server_max_window_bits == 0 ? 15 : params->server_max_window_bits, 9, 15);
  guint c = CLAMP (params->client_max_window_bits == 0 ? 15 : params->client_max_window_bits, 9, 15);

  /* The state structs: deflate_state is ~5.8 KiB, inflate_state ~7 KiB with
   * zlib 1.2.13 on 64-bit; 8 KiB each leaves room for other builds. */
  return ((gsize) 1 << (s + 2)) + ((gsize) 1 << (OWL_DEFLATE_MEM_LEVEL + 9)) + 8192 +
         ((gsize) 1 << c) + 8192;
}

GBytes *
owl_deflate_compress (OwlDeflate   *self,
                      const guint8 *data,
                      gsize         len)
{
  z_stream *strm = &self->tx;
  /* NULL for an empty message is fine, but no arithmetic on it. */
  const guint8 *in = data != NULL ? data : sync_tail;
  gsize in_left = len;
  guint8 *out;
  gsize cap, produced = 0;

  if (!self->tx_live)
    {
      stream_prepare (self, strm);
      if (deflateInit2 (strm, OWL_DEFLATE_LEVEL, Z_DEFLATED, -self->tx_bits,
                        OWL_DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        g_error ("owlsock: out of memory for a deflate stream");
      self->tx_live = TRUE;
    }

  /* deflateBound covers the data; the sync flush adds an empty stored block
   * (at most 5 bytes after the pending bits). */
  cap = deflateBound (strm, (uLong) MIN (len, G_MAXUINT32)) + 16;
  out = g_malloc (cap);

  for (;;)
    {
      uInt in_chunk, out_chunk;
      int flush;
      int ret;

      /* avail_in and avail_out are 32-bit: feed huge messages in pieces. */
      in_chunk = (uInt) MIN (in_left, (gsize) 1 << 30);
      out_chunk = (uInt) MIN (cap - produced, (gsize) 1 << 30);
      strm->next_in = (Bytef *) in;
      strm->avail_in = in_chunk;
      strm->next_out = out + produced;
      strm->avail_out = out_chunk;
      flush = in_chunk == in_left ? Z_SYNC_FLUSH : Z_NO_FLUSH;

      ret = deflate (strm, flush);
      g_assert (ret != Z_STREAM_ERROR);

      in += in_chunk - strm->avail_in;
      in_left -= in_chunk - strm->avail_in;
      produced += out_chunk - strm->avail_out;

      /* With Z_SYNC_FLUSH, room left over means everything was flushed. */
      if (flush == Z_SYNC_FLUSH && in_left == 0 && strm->avail_out != 0)
        break;
      if (produced == cap)
        {
          cap *= 2;
          out = g_realloc (out, cap);
        }
    }

  if (produced == 0)
    {
      /* An empty message right after another one, with context takeover:
       * nothing is pending and zlib writes no second flush marker. A lone 00
       * (the start of a stored block that the receiver's appended tail
       * completes) is the empty message of RFC 7692 section 7.2.3.6. */
      out[0] = 0x00;
      produced = 1;
    }
  else
    {
      g_assert (produced >= 4 && memcmp (out + produced - 4, sync_tail, 4) == 0);
      produced -= 4;
    }

  if (self->tx_reset)
    tx_end (self);

  return g_bytes_new_take (out, produced);
}

typedef enum
{
  PIECE_OK,
  PIECE_END,        /* a block with BFINAL set ended the DEFLATE stream */
  PIECE_CORRUPT,
  PIECE_TOO_BIG,
} PieceResult;

/* Runs the decompressor over one input piece, appending to @out after @start
 * up to @limit bytes in all. @hint guesses the output size. */
static PieceResult
inflate_piece (OwlDeflate   *self,
               const guint8 *data,
               gsize         len,
               GByteArray   *out,
               guint         start,
               gsize         limit,
               gsize         hint)
{
  z_stream *strm = &self->rx;

  while (len > 0)
    {
      uInt in_chunk = (uInt) MIN (len, (gsize) 1 << 30);

      strm->next_in = (Bytef *) data;
      strm->avail_in = in_chunk;

      for (;;)
        {
          gsize produced = out->len - start;
          gsize room;
          uInt before;
          int ret;

          if (produced == limit)
            {
              /* At the limit: one more byte of output means too big. The
               * probe byte never reaches @out, so @out never passes the
               * limit, however much the input would expand to. */
              guint8 probe;

              strm->next_out = &probe;
              strm->avail_out = 1;
              ret = inflate (strm, Z_SYNC_FLUSH);
              if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR)
                return PIECE_CORRUPT;
              if (strm->avail_out == 0)
                return PIECE_TOO_BIG;
              if (ret == Z_STREAM_END)
                return PIECE_END;
              if (strm->avail_in == 0)
                break;
              continue;
            }

          /* Grow geometrically from the guess, never past the limit. */
          room = MIN (limit - produced, MAX (MAX (hint, produced), (gsize) 256));
          room = MIN (room, (gsize) 1 << 30);
          g_byte_array_set_size (out, out->len + (guint) room);
          strm->next_out = out->data + start + produced;
          strm->avail_out = before = (uInt) room;

          ret = inflate (strm, Z_SYNC_FLUSH);
          g_byte_array_set_size (out, out->len - strm->avail_out);

          if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR)
            return PIECE_CORRUPT;
          if (ret == Z_STREAM_END)
            return PIECE_END;
          /* Room left over and no input left: this input has given all the
           * output it can. */
          if (strm->avail_in == 0 && strm->avail_out != 0)
            break;
          /* Input and room but no progress: a stuck stream; do not spin. */
          if (ret == Z_BUF_ERROR && strm->avail_out == before)
            return PIECE_CORRUPT;
        }

      data += in_chunk;
      len -= in_chunk;
    }

  return PIECE_OK;
}

/* A block with BFINAL set ended the DEFLATE stream; the next message starts a
 * new one. With context takeover the peer may still refer to the data before,
 * so the window is carried over as the new stream's dictionary. */
static void
rx_restart (OwlDeflate *self)
{
  g_autofree guint8 *window = NULL;
  uInt window_len = 0;

  if (self->rx_reset)
    {
      rx_end (self);
      return;
    }

  window = g_malloc ((gsize) 1 << self->rx_bits);
  if (inflateGetDictionary (&self->rx, window, &window_len) != Z_OK ||
      inflateReset (&self->rx) != Z_OK ||
      (window_len > 0 && inflateSetDictionary (&self->rx, window, window_len) != Z_OK))
    rx_end (self);
}

gboolean
owl_deflate_decompress (OwlDeflate   *self,
                        const guint8 *data,
                        gsize         len,
                        gsize         max_size,
                        GByteArray   *out,
                        gboolean     *too_big)
{
  guint start = out->len;
  gsize limit = G_MAXUINT - start;
  PieceResult res;

  *too_big = FALSE;
  if (max_size != 0)
    limit = MIN (limit, max_size);

  if (!self->rx_live)
    {
      stream_prepare (self, &self->rx);
      if (inflateInit2 (&self->rx, -self->rx_bits) != Z_OK)
        g_error ("owlsock: out of memory for an inflate stream");
      self->rx_live = TRUE;
    }

  /* Compressed JSON grows 3 to 7 times: start from 4 and double. */
  res = inflate_piece (self, data, len, out, start, limit, MIN (len, G_MAXSIZE / 4) * 4);
  if (res == PIECE_OK)
    res = inflate_piece (self, sync_tail, sizeof sync_tail, out, start, limit, 0);

  /* With the tail appended a message must end on a block boundary (zlib
   * says so with bit 128 of data_type): one that stops inside a block, an
   * empty payload for one, would leave the stream mid-block for the next
   * message. */
  if (res == PIECE_OK && (self->rx.data_type & 128) == 0)
    res = PIECE_CORRUPT;

  switch (res)
    {
    case PIECE_OK:
      if (self->rx_reset)
        rx_end (self);
      return TRUE;
    case PIECE_END:
      /* RFC 7692 section 7.2.3.3 allows a final block; what follows it in the
       * payload (our tail, or padding) is not part of the stream. */
      rx_restart (self);
      return TRUE;
    case PIECE_TOO_BIG:
      *too_big = TRUE;
      rx_end (self);
      return FALSE;
    case PIECE_CORRUPT:
    default:
      rx_end (self);
      return FALSE;
    }
}
