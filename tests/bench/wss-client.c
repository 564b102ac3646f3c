/* wss-client.c: wss:// client connections for wss-load (GnuTLS, epoll)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wss-client.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define READ_CHUNK (16 * 1024 + 64)   /* one TLS record's plaintext, and some */
#define MAX_RESPONSE (16 * 1024)      /* a longer upgrade response is refused */
#define MAX_EVENTS 256

const char *const wss_error_names[WSS_N_ERRORS] = {
  "connect", "tls", "handshake", "protocol", "eof", "io", "timeout"
};

struct _WssClient
{
  char                              *host;
  guint16                            port;
  char                              *path;
  struct sockaddr_in                 addr;
  gint64                             timeout_ns;
  gnutls_certificate_credentials_t   credentials;
  gnutls_priority_t                  priority;   /* parsed once */
  int                                epfd;
  const WssCallbacks                *callbacks;
  gpointer                           user_data;
  WssCounters                        counters;
  char                              *tls_desc;   /* of the first handshake */
  guint64                            rng;
};

static int notes;

#define WSS_CLIENT_ERROR (wss_client_error_quark ())
static G_DEFINE_QUARK (wss-client-error-quark, wss_client_error)

/* ---------------------------------------------------------------------- */
/* helpers                                                                  */

gint64
wss_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
wss_note (const char *format,
          ...)
{
  va_list args;

  /* A server that fails every connection must not flood the terminal. */
  if (++notes > 20)
    {
      if (notes == 21)
        fprintf (stderr, "wss-load: (further messages suppressed)\n");
      return;
    }
  va_start (args, format);
  fprintf (stderr, "wss-load: ");
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

static guint64
rng_next (WssClient *client)
{
  /* xorshift64*: masks and keys only need to differ, not to be secret */
  client->rng ^= client->rng >> 12;
  client->rng ^= client->rng << 25;
  client->rng ^= client->rng >> 27;
  return client->rng * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);
}

static void
buf_reserve (WssBuf *buf,
             gsize   extra)
{
  if (buf->len + extra <= buf->cap)
    return;
  buf->cap = MAX (buf->cap * 2, buf->len + extra);
  buf->data = g_realloc (buf->data, buf->cap);
}

/* Drops what was consumed, keeps the rest at the front. */
static void
buf_compact (WssBuf *buf)
{
  if (buf->off == 0)
    return;
  buf->len -= buf->off;
  memmove (buf->data, buf->data + buf->off, buf->len);
  buf->off = 0;
}

static char *
base64 (const guint8 *data,
        gsize         len,
        char         *out)
{
  int state = 0, save = 0;
  gsize n;

  n = g_base64_encode_step (data, len, FALSE, out, &state, &save);
  n += g_base64_encode_close (FALSE, out + n, &state, &save);
  out[n] = '\0';
  return out;
}

/* ---------------------------------------------------------------------- */
/* the client                                                               */

static gboolean
parse_url (WssClient   *client,
           const char  *url,
           GError     **error)
{
  const char *rest, *slash, *colon;

  if (!g_str_has_prefix (url, "wss://"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "only wss:// URLs: %s", url);
      return FALSE;
    }
  rest = url + 6;
  slash = strchr (rest, '/');
  colon = memchr (rest, ':', slash != NULL ? (gsize) (slash - rest) : strlen (rest));
  if (colon == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "the URL needs a port: %s", url);
      return FALSE;
    }
  client->host = g_strndup (rest, (gsize) (colon - rest));
  client->port = (guint16) atoi (colon + 1);
  client->path = g_strdup (slash != NULL ? slash : "/");
  client->addr.sin_family = AF_INET;
  client->addr.sin_port = htons (client->port);
  if (inet_pton (AF_INET, client->host, &client->addr.sin_addr) != 1 || client->port == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "the URL needs a numeric IPv4 host and a port: %s", url);
      return FALSE;
    }
  return TRUE;
}

WssClient *
wss_client_new (const char          *url,
                const char          *priority,
                double               timeout_s,
                const WssCallbacks  *callbacks,
                gpointer             user_data,
                GError             **error)
{
  WssClient *client = g_new0 (WssClient, 1);

  client->timeout_ns = (gint64) (timeout_s * 1e9);
  client->callbacks = callbacks;
  client->user_data = user_data;
  client->epfd = -1;
  client->rng = (guint64) wss_now_ns () ^ ((guint64) getpid () << 32) ^
                G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  if (!parse_url (client, url, error))
    {
      wss_client_free (client);
      return NULL;
    }
  /* NULL @priority: GnuTLS's defaults (the system's), TLS 1.3 included;
   * no trust store, and no verification function: nothing is verified. */
  if (gnutls_certificate_allocate_credentials (&client->credentials) < 0)
    {
      g_set_error (error, WSS_CLIENT_ERROR, 0, "GnuTLS cannot start");
      wss_client_free (client);
      return NULL;
    }
  if (gnutls_priority_init2 (&client->priority, priority, NULL, 0) < 0)
    {
      g_set_error (error, WSS_CLIENT_ERROR, 0, "bad GnuTLS priority string: %s", priority);
      wss_client_free (client);
      return NULL;
    }
  client->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (client->epfd < 0)
    {
      g_set_error (error, WSS_CLIENT_ERROR, 0, "epoll_create1: %s", g_strerror (errno));
      wss_client_free (client);
      return NULL;
    }
  return client;
}

void
wss_client_free (WssClient *client)
{
  if (client->epfd >= 0)
    close (client->epfd);
  if (client->priority != NULL)
    gnutls_priority_deinit (client->priority);
  if (client->credentials != NULL)
    gnutls_certificate_free_credentials (client->credentials);
  gnutls_free (client->tls_desc);
  g_free (client->host);
  g_free (client->path);
  g_free (client);
}

const WssCounters *
wss_client_get_counters (WssClient *client)
{
  return &client->counters;
}

const char *
wss_client_get_tls_desc (WssClient *client)
{
  return client->tls_desc != NULL ? client->tls_desc : "";
}

gint64
wss_client_get_timeout (WssClient *client)
{
  return client->timeout_ns;
}

/* ---------------------------------------------------------------------- */
/* a connection: life and death                                             */

static void
set_events (WssConn *c,
            guint32  events)
{
  struct epoll_event ev = { .events = events, .data.ptr = c };

  if (events == c->events)
    return;
  if (epoll_ctl (c->client->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    wss_note ("epoll_ctl: %s", g_strerror (errno));
  c->events = events;
}

static void
update_events (WssConn *c)
{
  if (c->state == WSS_CONNECTING)
    set_events (c, EPOLLOUT);
  else if (c->state == WSS_TLS)
    set_events (c, gnutls_record_get_direction (c->session) ? EPOLLOUT : EPOLLIN);
  else
    set_events (c, EPOLLIN | (c->want_write ? EPOLLOUT : 0));
}

static gboolean
is_pending (WssState state)
{
  return state == WSS_CONNECTING || state == WSS_TLS || state == WSS_UPGRADE;
}

/* Ends a connection; @clean: after a close handshake, so TLS says goodbye.
 * The slot is free (and may be started again) when this returns. */
void
wss_conn_finish (WssConn  *c,
                 gboolean  clean,
                 gint64    now)
{
  WssClient *client = c->client;

  if (c->state == WSS_FREE)
    return;
  if (is_pending (c->state))
    client->counters.pending--;
  else
    client->counters.open--;

  if (c->session != NULL)
    {
      /* One try at close_notify, as a polite client does; it does not wait. */
      if (clean)
        gnutls_bye (c->session, GNUTLS_SHUT_WR);
      gnutls_deinit (c->session);
      c->session = NULL;
    }
  close (c->fd);   /* also leaves the epoll set */
  c->fd = -1;
  c->state = WSS_FREE;
  c->in.len = c->in.off = 0;
  c->out.len = c->out.off = 0;
  c->deadline = 0;
  client->callbacks->ended (c, clean, now, client->user_data);
}

void
wss_conn_fail (WssConn    *c,
               WssError    kind,
               const char *what,
               gint64      now)
{
  c->client->counters.err[kind]++;
  wss_note ("%s error (state %d): %s", wss_error_names[kind], c->state, what);
  wss_conn_finish (c, FALSE, now);
}

/* Frees the slot's buffers; the connection must be finished. */
void
wss_conn_clear (WssConn *c)
{
  g_clear_pointer (&c->in.data, g_free);
  g_clear_pointer (&c->out.data, g_free);
  c->in.cap = c->out.cap = 0;
}

/* Sends what is queued. GnuTLS keeps a record it could not send whole and
 * finishes it on the next call, whatever buffer that call names, returning
 * the size of the original: so each call starts at the offset not yet
 * acknowledged, and appending meanwhile is safe. Returns FALSE when the
 * connection is gone. */
gboolean
wss_conn_flush (WssConn *c,
                gint64   now)
{
  while (c->out.off < c->out.len)
    {
      ssize_t n = gnutls_record_send (c->session, c->out.data + c->out.off,
                                      c->out.len - c->out.off);

      if (n > 0)
        {
          c->out.off += (gsize) n;
          c->client->counters.bytes_out += (guint64) n;
        }
      else if (n == GNUTLS_E_INTERRUPTED)
        continue;
      else if (n == GNUTLS_E_AGAIN)
        {
          c->want_write = TRUE;
          update_events (c);
          return TRUE;
        }
      else if (c->close_after_flush)
        {
          /* the server may hang up right after its close frame */
          wss_conn_finish (c, TRUE, now);
          return FALSE;
        }
      else
        {
          wss_conn_fail (c, WSS_ERR_IO, gnutls_strerror ((int) n), now);
          return FALSE;
        }
    }
  c->out.len = c->out.off = 0;
  c->want_write = FALSE;
  if (c->close_after_flush)
    {
      wss_conn_finish (c, TRUE, now);
      return FALSE;
    }
  update_events (c);
  return TRUE;
}

/* Appends one masked client frame (FIN set) to the output. */
static void
queue_frame (WssConn      *c,
             guint8        opcode,
             const guint8 *payload,
             gsize         len)
{
  guint8 header[14];
  gsize h = 0, i;
  guint32 key = (guint32) rng_next (c->client);
  guint8 *mask, *out;

  header[h++] = 0x80 | opcode;
  if (len < 126)
    header[h++] = 0x80 | (guint8) len;
  else if (len <= G_MAXUINT16)
    {
      header[h++] = 0x80 | 126;
      header[h++] = (guint8) (len >> 8);
      header[h++] = (guint8) len;
    }
  else
    {
      header[h++] = 0x80 | 127;
      for (i = 0; i < 8; i++)
        header[h++] = (guint8) ((guint64) len >> (56 - 8 * i));
    }
  mask = header + h;
  memcpy (mask, &key, 4);
  h += 4;

  buf_reserve (&c->out, h + len);
  out = c->out.data + c->out.len;
  memcpy (out, header, h);
  for (i = 0; i < len; i++)
    out[h + i] = payload[i] ^ mask[i & 3];
  c->out.len += h + len;
}

void
wss_conn_queue_text (WssConn      *c,
                     const guint8 *payload,
                     gsize         len)
{
  queue_frame (c, 0x1, payload, len);
}

/* Queues a close frame; the connection ends when the server's comes back
 * (or at the deadline). Call wss_conn_flush() after. */
void
wss_conn_close (WssConn *c,
                guint16  code,
                gint64   now)
{
  guint8 payload[2] = { (guint8) (code >> 8), (guint8) code };

  queue_frame (c, 0x8, payload, sizeof payload);
  c->close_sent = TRUE;
  c->state = WSS_CLOSING;
  c->deadline = now + c->client->timeout_ns;
}

static void
queue_upgrade (WssConn *c)
{
  WssClient *client = c->client;
  guint8 nonce[16], digest[20];
  char key[32];
  g_autofree char *concat = NULL;
  g_autofree char *request = NULL;
  gsize n;

  for (n = 0; n < sizeof nonce; n += 8)
    {
      guint64 r = rng_next (client);

      memcpy (nonce + n, &r, 8);
    }
  base64 (nonce, sizeof nonce, key);
  concat = g_strconcat (key, WS_GUID, NULL);
  gnutls_hash_fast (GNUTLS_DIG_SHA1, concat, strlen (concat), digest);
  base64 (digest, sizeof digest, c->accept);

  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: %s:%u\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "\r\n",
                             client->path, client->host, client->port, key);
  n = strlen (request);
  buf_reserve (&c->out, n);
  memcpy (c->out.data + c->out.len, request, n);
  c->out.len += n;
}

static void
tls_handshake (WssConn *c,
               gint64   now)
{
  int r;

  do
    r = gnutls_handshake (c->session);
  while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal (r));

  if (r == GNUTLS_E_AGAIN)
    {
      update_events (c);
      return;
    }
  if (r < 0)
    {
      wss_conn_fail (c, WSS_ERR_TLS, gnutls_strerror (r), now);
      return;
    }
  if (c->client->tls_desc == NULL)
    c->client->tls_desc = gnutls_session_get_desc (c->session);
  c->state = WSS_UPGRADE;
  queue_upgrade (c);
  wss_conn_flush (c, now);
}

/* Starts connecting on a free slot; failures are reported through "ended". */
void
wss_conn_start (WssClient *client,
                WssConn   *c,
                gint64     now)
{
  struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
  int one = 1;
  int r;

  g_return_if_fail (c->state == WSS_FREE);
  c->client = client;
  c->in_message = c->close_sent = c->closed_by_peer = c->close_after_flush = FALSE;
  c->want_write = FALSE;
  c->t_connect = now;
  c->deadline = now + client->timeout_ns;
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    {
      client->counters.err[WSS_ERR_CONNECT]++;
      wss_note ("socket: %s", g_strerror (errno));
      client->callbacks->ended (c, FALSE, now, client->user_data);
      return;
    }
  c->state = WSS_CONNECTING;
  client->counters.pending++;
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  gnutls_init (&c->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
  gnutls_priority_set (c->session, client->priority);
  gnutls_credentials_set (c->session, GNUTLS_CRD_CERTIFICATE, client->credentials);
  gnutls_transport_set_int (c->session, c->fd);

  c->events = EPOLLOUT;
  if (epoll_ctl (client->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
    {
      wss_conn_fail (c, WSS_ERR_IO, g_strerror (errno), now);
      return;
    }
  r = connect (c->fd, (struct sockaddr *) &client->addr, sizeof client->addr);
  if (r != 0 && errno != EINPROGRESS)
    {
      wss_conn_fail (c, WSS_ERR_CONNECT, g_strerror (errno), now);
      return;
    }
  if (r == 0)
    {
      c->state = WSS_TLS;
      tls_handshake (c, now);
    }
}

/* ---------------------------------------------------------------------- */
/* a connection: reading                                                    */

static gboolean
header_is (const char *line,
           gsize       len,
           const char *name,
           const char *value)
{
  gsize n = strlen (name);
  const char *v;
  const char *end = line + len;

  if (len <= n || g_ascii_strncasecmp (line, name, n) != 0 || line[n] != ':')
    return FALSE;
  if (value == NULL)
    return TRUE;
  for (v = line + n + 1; v < end && (*v == ' ' || *v == '\t'); v++)
    ;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  return (gsize) (end - v) == strlen (value) && memcmp (v, value, strlen (value)) == 0;
}

static void
on_upgraded (WssConn *c,
             gint64   now)
{
  WssCounters *counters = &c->client->counters;

  counters->pending--;
  counters->open++;
  counters->open_max = MAX (counters->open_max, counters->open);
  c->state = WSS_OPEN;
  c->deadline = 0;
  c->client->callbacks->opened (c, now, c->client->user_data);
}

/* Returns FALSE while the response is incomplete, or when the connection
 * is gone. */
static gboolean
parse_upgrade (WssConn *c,
               gint64   now)
{
  const char *text = (const char *) c->in.data;
  const char *end = g_strstr_len (text, (gssize) c->in.len, "\r\n\r\n");
  const char *line, *next;
  gboolean accepted = FALSE;

  if (end == NULL)
    {
      if (c->in.len > MAX_RESPONSE)
        wss_conn_fail (c, WSS_ERR_HANDSHAKE, "upgrade response too long", now);
      return FALSE;
    }
  if (c->in.len < 13 || memcmp (text, "HTTP/1.1 101 ", 13) != 0)
    {
      g_autofree char *status = g_strndup (text, MIN ((gsize) 40, strcspn (text, "\r")));

      wss_conn_fail (c, WSS_ERR_HANDSHAKE, status, now);
      return FALSE;
    }
  for (line = strstr (text, "\r\n") + 2; line < end; line = next + 2)
    {
      next = strstr (line, "\r\n");
      if (header_is (line, (gsize) (next - line), "Sec-WebSocket-Accept", c->accept))
        accepted = TRUE;
      /* none was offered, so none may be used (RSV bits would follow) */
      if (header_is (line, (gsize) (next - line), "Sec-WebSocket-Extensions", NULL))
        {
          wss_conn_fail (c, WSS_ERR_HANDSHAKE, "an extension nobody asked for", now);
          return FALSE;
        }
    }
  if (!accepted)
    {
      wss_conn_fail (c, WSS_ERR_HANDSHAKE, "missing or wrong Sec-WebSocket-Accept", now);
      return FALSE;
    }
  c->in.off = (gsize) (end + 4 - text);
  on_upgraded (c, now);
  return TRUE;
}

/* Acts on one frame; returns FALSE if the connection is gone. */
static gboolean
handle_frame (WssConn      *c,
              guint8        opcode,
              gboolean      fin,
              const guint8 *payload,
              gsize         len,
              gint64        now)
{
  WssClient *client = c->client;

  switch (opcode)
    {
    case 0x0:  /* continuation */
    case 0x1:  /* text */
    case 0x2:  /* binary */
      if ((opcode == 0x0) != c->in_message)
        {
          wss_conn_fail (c, WSS_ERR_PROTOCOL, "unexpected continuation or data frame", now);
          return FALSE;
        }
      c->in_message = !fin;
      if (fin && !c->close_sent)
        client->callbacks->message (c, now, client->user_data);
      return TRUE;
    case 0x8:  /* close */
      if (!c->close_sent)
        {
          guint16 code = len >= 2 ? (guint16) (payload[0] << 8 | payload[1]) : 1000;

          client->counters.closed_by_server++;
          c->closed_by_peer = TRUE;
          wss_conn_close (c, code, now);
        }
      c->close_after_flush = TRUE;
      return TRUE;
    case 0x9:  /* ping */
      client->counters.pings++;
      if (!c->close_sent)
        queue_frame (c, 0xA, payload, len);
      return TRUE;
    case 0xA:  /* pong */
      return TRUE;
    default:
      wss_conn_fail (c, WSS_ERR_PROTOCOL, "unknown opcode", now);
      return FALSE;
    }
}

/* One frame at c->in.off; returns its length, 0 if incomplete, -1 if the
 * connection is gone. */
static gssize
parse_frame (WssConn *c,
             gint64   now)
{
  const guint8 *p = c->in.data + c->in.off;
  gsize avail = c->in.len - c->in.off;
  gsize h = 2, i;
  guint64 len;
  guint8 opcode;
  gboolean fin;

  if (avail < 2)
    return 0;
  fin = (p[0] & 0x80) != 0;
  opcode = p[0] & 0x0f;
  if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0)
    {
      wss_conn_fail (c, WSS_ERR_PROTOCOL, "RSV bits or a masked server frame", now);
      return -1;
    }
  len = p[1] & 0x7f;
  if (len == 126)
    {
      if (avail < 4)
        return 0;
      len = (guint64) p[2] << 8 | p[3];
      h = 4;
    }
  else if (len == 127)
    {
      if (avail < 10)
        return 0;
      for (len = 0, i = 0; i < 8; i++)
        len = len << 8 | p[2 + i];
      h = 10;
      if (len >> 40)
        {
          wss_conn_fail (c, WSS_ERR_PROTOCOL, "frame longer than 1 TiB", now);
          return -1;
        }
    }
  if ((opcode & 0x8) && (!fin || len > 125))
    {
      wss_conn_fail (c, WSS_ERR_PROTOCOL, "fragmented or long control frame", now);
      return -1;
    }
  if (avail < h + len)
    return 0;
  if (!handle_frame (c, opcode, fin, p + h, (gsize) len, now))
    return -1;
  return (gssize) (h + len);
}

/* Parses what arrived; returns FALSE if the connection is gone. */
static gboolean
parse_input (WssConn *c,
             gint64   now)
{
  if (c->state == WSS_UPGRADE && !parse_upgrade (c, now))
    return c->state != WSS_FREE;
  while (!c->close_after_flush)   /* nothing after a close frame counts */
    {
      gssize used = parse_frame (c, now);

      if (used < 0)
        return FALSE;
      if (used == 0)
        break;
      c->in.off += (gsize) used;
    }
  buf_compact (&c->in);
  /* replies of the whole read go out together */
  if (c->out.len > c->out.off || c->close_after_flush)
    return wss_conn_flush (c, now);
  return TRUE;
}

/* Reads until GnuTLS would block: it may hold decrypted data the socket no
 * longer shows, so level-triggered readiness alone is not enough. */
static void
conn_read (WssConn *c,
           gint64   now)
{
  for (;;)
    {
      ssize_t n;

      buf_reserve (&c->in, READ_CHUNK);
      n = gnutls_record_recv (c->session, c->in.data + c->in.len, c->in.cap - c->in.len);
      if (n == GNUTLS_E_AGAIN)
        return;
      if (n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
        {
          if (c->close_after_flush)
            wss_conn_finish (c, TRUE, now);  /* the server hung up first: fine */
          else
            wss_conn_fail (c, WSS_ERR_EOF, "closed without a close frame", now);
          return;
        }
      if (n < 0)
        {
          if (!gnutls_error_is_fatal ((int) n))
            continue;
          wss_conn_fail (c, WSS_ERR_IO, gnutls_strerror ((int) n), now);
          return;
        }
      c->in.len += (gsize) n;
      c->client->counters.bytes_in += (guint64) n;
      if (!parse_input (c, now))
        return;
    }
}

static void
conn_event (WssConn *c,
            guint32  events,
            gint64   now)
{
  switch (c->state)
    {
    case WSS_FREE:
      return;   /* ended earlier in this batch */
    case WSS_CONNECTING:
      {
        int error = 0;
        socklen_t len = sizeof error;

        if (getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
          error = errno;
        if (error != 0)
          {
            wss_conn_fail (c, WSS_ERR_CONNECT, g_strerror (error), now);
            return;
          }
        c->state = WSS_TLS;
      }
      G_GNUC_FALLTHROUGH;
    case WSS_TLS:
      tls_handshake (c, now);
      return;
    case WSS_UPGRADE:
    case WSS_OPEN:
    case WSS_CLOSING:
    default:
      if ((events & EPOLLOUT) && !wss_conn_flush (c, now))
        return;
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read (c, now);
      return;
    }
}

/* Waits up to @timeout_ms for events and handles them. */
void
wss_client_poll (WssClient *client,
                 int        timeout_ms)
{
  struct epoll_event events[MAX_EVENTS];
  gint64 now;
  int n, i;

  n = epoll_wait (client->epfd, events, MAX_EVENTS, timeout_ms);
  if (n < 0)
    {
      if (errno != EINTR)
        wss_note ("epoll_wait: %s", g_strerror (errno));
      return;
    }
  now = wss_now_ns ();
  for (i = 0; i < n; i++)
    conn_event (events[i].data.ptr, events[i].events, now);
}
