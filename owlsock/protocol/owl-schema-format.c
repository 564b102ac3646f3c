/* owl-schema-format.c: the formats `format` checks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each checker reads its string once, left to right, with no allocation
 * and no backtracking: linear in the string. What each accepts is the
 * grammar JSON Schema 2020-12 names for it (RFC 3339, RFC 5321, RFC 3986,
 * RFC 4122, RFC 2673, RFC 4291, RFC 1123), in ASCII: the internationalised
 * formats (idn-email, idn-hostname, iri) are not among them.
 */

#include <string.h>

#include "owl-schema-types-private.h"

/* @n ASCII digits at @s, as a number; -1 if they are not all digits. */
static int
read_digits (const char *s,
             guint       n)
{
  int value = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return -1;
      value = value * 10 + (s[i] - '0');
    }
  return value;
}

static int
days_in_month (int year,
               int month)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  gboolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

  return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 3339 full-date: YYYY-MM-DD, a day that exists. */
static gboolean
is_date (const char *s,
         gsize       len)
{
  int year, month, day;

  if (len != 10 || s[4] != '-' || s[7] != '-')
    return FALSE;
  year = read_digits (s, 4);
  month = read_digits (s + 5, 2);
  day = read_digits (s + 8, 2);
  return year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month (year, month);
}

/* RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM). A leap second
 * (:60) is 23:59:60 in UTC, whatever the offset. */
static gboolean
is_time (const char *s,
         gsize       len)
{
  int hour, minute, second, offset = 0, utc;
  gsize i = 8;

  if (len < 9 || s[2] != ':' || s[5] != ':')
    return FALSE;
  hour = read_digits (s, 2);
  minute = read_digits (s + 3, 2);
  second = read_digits (s + 6, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
    return FALSE;
  if (s[i] == '.')
    {
      gsize start = ++i;

      while (i < len && g_ascii_isdigit (s[i]))
        i++;
      if (i == start)
        return FALSE;
    }
  if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
    offset = 0;
  else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':')
    {
      int oh = read_digits (s + i + 1, 2), om = read_digits (s + i + 4, 2);

      if (oh < 0 || oh > 23 || om < 0 || om > 59)
        return FALSE;
      offset = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
    }
  else
    return FALSE;

  utc = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440;
  return second < 60 || utc == 23 * 60 + 59;
}

/* RFC 3339 date-time: full-date "T" full-time; T and Z in either case. */
static gboolean
is_date_time (const char *s,
              gsize       len)
{
  return len > 11 && (s[10] == 'T' || s[10] == 't') &&
         is_date (s, 10) && is_time (s + 11, len - 11);
}

/* RFC 1123 host name: dot-separated labels of 1 to 63 letters, digits and
 * hyphens, no hyphen first or last, 253 bytes at most. */
static gboolean
is_hostname (const char *s,
             gsize       len)
{
  gsize label = 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i <= len; i++)
    {
      if (i == len || s[i] == '.')
        {
          if (label == 0 || label > 63 || s[i - 1] == '-')
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (s[i]) || (s[i] == '-' && label > 0))
        label++;
      else
        return FALSE;
    }
  return TRUE;
}

/* Dotted decimal, four octets of 0 to 255, no leading zeros. */
static gboolean
is_ipv4 (const char *s,
         gsize       len)
{
  guint octets = 0;
  gsize i = 0;

  while (octets < 4)
    {
      gsize start = i;
      int value = 0;

      while (i < len && g_ascii_isdigit (s[i]) && i - start < 3)
        value = value * 10 + (s[i++] - '0');
      if (i == start || value > 255 || (s[start] == '0' && i - start > 1))
        return FALSE;
      if (++octets < 4 && (i >= len || s[i++] != '.'))
        return FALSE;
    }
  return i == len;
}

/* RFC 4291 text form: eight groups of 1 to 4 hex digits, one "::" for a
 * run of zero groups, the last two groups may be an IPv4 address; no zone,
 * no prefix length. */
static gboolean
is_ipv6 (const char *s,
         gsize       len)
{
  guint groups = 0;
  gboolean elided = FALSE;
  gsize i = 0;

  if (len >= 2 && s[0] == ':' && s[1] == ':')
    {
      elided = TRUE;
      i = 2;
    }
  else if (len >= 1 && s[0] == ':')
    return FALSE;
  while (i < len)
    {
      gsize start = i;

      while (i < len && g_ascii_isxdigit (s[i]) && i - start < 5)
        i++;
      if (i < len && s[i] == '.')
        return groups <= 6 && is_ipv4 (s + start, len - start) &&
               (groups + 2 == 8 || (elided && groups + 2 < 8));
      if (i == start || i - start > 4)
        return FALSE;
      groups++;
      if (i == len)
        break;
      if (s[i] != ':')
        return FALSE;
      i++;
      if (i < len && s[i] == ':')
        {
          if (elided)
            return FALSE;
          elided = TRUE;
          i++;
        }
      else if (i == len)
        return FALSE;
    }
  return elided ? groups < 8 : groups == 8;
}

static gboolean
is_uuid (const char *s,
         gsize       len)
{
  if (len != 36)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* RFC 3986: every byte of [@s, @end) is unreserved, a sub-delim, part of a
 * percent-encoded octet or in @extra. */
static gboolean
uri_chars (const char *s,
           const char *end,
           const char *extra)
{
  for (const char *p = s; p < end; p++)
    {
      if (*p == '%')
        {
          if (end - p < 3 || !g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]))
            return FALSE;
          p += 2;
        }
      else if (!g_ascii_isalnum (*p) && strchr ("-._~!$&'()*+,;=", *p) == NULL &&
               strchr (extra, *p) == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
uri_port (const char *s,
          const char *end)
{
  for (const char *p = s; p < end; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/* [userinfo "@"] host [":" port]; host is an IP literal in brackets
 * (IPv6 or IPvFuture) or a reg-name, which IPv4 addresses are too. */
static gboolean
uri_authority (const char *s,
               const char *end)
{
  const char *at = memchr (s, '@', end - s);
  const char *host = at != NULL ? at + 1 : s;
  const char *colon;

  if (at != NULL && !uri_chars (s, at, ":"))
    return FALSE;
  if (host < end && *host == '[')
    {
      const char *close = memchr (host, ']', end - host);

      if (close == NULL || (close + 1 < end && close[1] != ':'))
        return FALSE;
      if (close + 1 < end && !uri_port (close + 2, end))
        return FALSE;
      if (host[1] == 'v' || host[1] == 'V')
        return close - host > 4 && memchr (host, '.', close - host) != NULL &&
               uri_chars (host + 2, close, ":");
      return is_ipv6 (host + 1, close - host - 1);
    }
  colon = memchr (host, ':', end - host);
  return uri_chars (host, colon != NULL ? colon : end, "") &&
         (colon == NULL || uri_port (colon + 1, end));
}

/* RFC 3986 URI (absolute, with a scheme): scheme ":" hier-part
 * ["?" query] ["#" fragment]. */
static gboolean
is_uri (const char *s,
        const char *end)
{
  const char *p = s, *hash, *query;

  if (p == end || !g_ascii_isalpha (*p))
    return FALSE;
  while (p < end && (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.'))
    p++;
  if (p == end || *p++ != ':')
    return FALSE;
  if ((hash = memchr (p, '#', end - p)) != NULL)
    {
      if (!uri_chars (hash + 1, end, ":@/?"))
        return FALSE;
      end = hash;
    }
  if ((query = memchr (p, '?', end - p)) != NULL)
    {
      if (!uri_chars (query + 1, end, ":@/?"))
        return FALSE;
      end = query;
    }
  if (end - p >= 2 && p[0] == '/' && p[1] == '/')
    {
      const char *slash = memchr (p + 2, '/', end - p - 2);

      if (!uri_authority (p + 2, slash != NULL ? slash : end))
        return FALSE;
      p = slash != NULL ? slash : end;
    }
  return uri_chars (p, end, ":@/");
}

static gboolean
is_uri_len (const char *s,
            gsize       len)
{
  return is_uri (s, s + len);
}

/* RFC 5321 dot-atom: atext runs separated by single dots. */
static gboolean
is_dot_atom (const char *s,
             const char *end)
{
  gboolean after_dot = TRUE;

  for (const char *p = s; p < end; p++)
    {
      if (*p == '.')
        {
          if (after_dot)
            return FALSE;
          after_dot = TRUE;
        }
      else if (g_ascii_isalnum (*p) || strchr ("!#$%&'*+-/=?^_`{|}~", *p) != NULL)
        after_dot = FALSE;
      else
        return FALSE;
    }
  return !after_dot;
}

/* RFC 5321 Quoted-string: printable ASCII between quotes, "\" escaping. */
static gboolean
is_quoted (const char *s,
           const char *end)
{
  if (end - s < 2 || s[0] != '"' || end[-1] != '"')
    return FALSE;
  for (const char *p = s + 1; p < end - 1; p++)
    {
      if (*p == '\\' && p + 1 < end - 1 && p[1] >= 32 && p[1] <= 126)
        p++;
      else if (*p < 32 || *p > 126 || *p == '"' || *p == '\\')
        return FALSE;
    }
  return TRUE;
}

/* RFC 5321 Mailbox: local-part "@" (host name | address literal). */
static gboolean
is_email (const char *s,
          gsize       len)
{
  const char *end = s + len;
  const char *at = NULL, *domain;

  for (const char *p = s; p < end; p++)
    if (*p == '@')
      at = p;
  if (at == NULL || !(is_dot_atom (s, at) || is_quoted (s, at)))
    return FALSE;
  domain = at + 1;
  if (domain < end && *domain == '[' && end[-1] == ']')
    {
      if (end - domain > 6 && g_ascii_strncasecmp (domain + 1, "IPv6:", 5) == 0)
        return is_ipv6 (domain + 6, end - domain - 7);
      return is_ipv4 (domain + 1, end - domain - 2);
    }
  return is_hostname (domain, end - domain);
}

static const Format formats[] = {
  { "date-time", is_date_time },
  { "date",      is_date },
  { "time",      is_time },
  { "email",     is_email },
  { "uri",       is_uri_len },
  { "uuid",      is_uuid },
  { "ipv4",      is_ipv4 },
  { "ipv6",      is_ipv6 },
  { "hostname",  is_hostname },
};

/* NULL for a format owlsock does not check. */
const Format *
owl_schema_find_format (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_str_equal (name, formats[i].name))
      return &formats[i];
  return NULL;
}
