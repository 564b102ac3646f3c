/* owl-uri.c: percent-decoding, for request paths, queries and what owlsock
 * reads from them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "owl-uri-private.h"

char *
owl_uri_decode (const char *s,
                gsize       len,
                gboolean    plus_is_space,
                gboolean   *valid)
{
  char *out = g_malloc (len + 1);
  gsize n = 0;
  gboolean nul = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '%')
        {
          int hi, lo;

          if (len - i < 3 || (hi = g_ascii_xdigit_value (s[i + 1])) < 0 ||
              (lo = g_ascii_xdigit_value (s[i + 2])) < 0)
            {
              g_free (out);
              return NULL;
            }
          out[n] = (char) (hi << 4 | lo);
          nul |= out[n] == '\0';
          n++;
          i += 2;
        }
      else
        {
          out[n] = plus_is_space && s[i] == '+' ? ' ' : s[i];
          nul |= out[n] == '\0';
          n++;
        }
    }
  out[n] = '\0';
  *valid = !nul && g_utf8_validate_len (out, n, NULL);
  return out;
}
