/* wss-client.h: wss:// client connections for wss-load (GnuTLS, epoll)
 *
 * Non-blocking TCP connect, TLS handshake (GnuTLS defaults, TLS 1.3
 * allowed, the certificate not verified, no resumption), the HTTP upgrade
 * with its Sec-WebSocket-Accept checked, and a minimal RFC 6455 client:
 * masked frames out; frames in with 7/16/64-bit lengths, fragments, pings
 * (answered with pongs) and close frames (answered). The driver owns the
 * WssConn slots and decides what to send; it hears back through callbacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>

typedef enum
{
  WSS_FREE,
  WSS_CONNECTING,   /* TCP connect() in progress */
  WSS_TLS,          /* TLS handshake */
  WSS_UPGRADE,      /* upgrade request sent, waiting for 101 */
  WSS_OPEN,
  WSS_CLOSING,      /* a close frame was sent */
} WssState;

typedef enum
{
  WSS_ERR_CONNECT,
  WSS_ERR_TLS,
  WSS_ERR_HANDSHAKE,   /* not 101, wrong accept key, an extension not asked for */
  WSS_ERR_PROTOCOL,
  WSS_ERR_EOF,         /* closed without a close frame */
  WSS_ERR_IO,
  WSS_ERR_TIMEOUT,
  WSS_N_ERRORS
} WssError;

extern const char *const wss_error_names[WSS_N_ERRORS];

typedef struct
{
  guint8 *data;
  gsize   len;   /* bytes held */
  gsize   off;   /* consumed (input) or sent (output) */
  gsize   cap;
} WssBuf;

typedef struct _WssClient WssClient;

typedef struct
{
  WssClient        *client;
  int               fd;
  WssState          state;
  gnutls_session_t  session;
  guint32           events;            /* as registered with epoll */
  gboolean          want_write;
  gint64            t_connect;         /* ns: connect() */
  gint64            deadline;          /* ns; 0: none; the driver may set it */
  WssBuf            in, out;
  char              accept[32];        /* the Sec-WebSocket-Accept we expect */
  gboolean          in_message;        /* inside a fragmented data message */
  gboolean          close_sent;
  gboolean          closed_by_peer;    /* the server's close frame came first */
  gboolean          close_after_flush;

  /* the driver's */
  gint64            t_sent;
  gint64            retry_at;
  gboolean          waiting;
} WssConn;

typedef struct
{
  guint64 err[WSS_N_ERRORS];
  guint64 closed_by_server, pings;
  guint64 bytes_in, bytes_out;   /* TLS plaintext, handshakes included */
  int     pending;               /* connecting, TLS or upgrade */
  int     open, open_max;        /* open or closing */
} WssCounters;

typedef struct
{
  /* 101 with the right key; @now: when it was read */
  void (*opened)  (WssConn *conn, gint64 now, gpointer user_data);
  /* a whole data message (text or binary) */
  void (*message) (WssConn *conn, gint64 now, gpointer user_data);
  /* the connection is gone; @clean: after a close handshake */
  void (*ended)   (WssConn *conn, gboolean clean, gint64 now, gpointer user_data);
} WssCallbacks;

WssClient         *wss_client_new          (const char          *url,
                                            const char          *priority,
                                            double               timeout_s,
                                            const WssCallbacks  *callbacks,
                                            gpointer             user_data,
                                            GError             **error);
void               wss_client_free         (WssClient           *client);
const WssCounters *wss_client_get_counters (WssClient           *client);
const char        *wss_client_get_tls_desc (WssClient           *client);
gint64             wss_client_get_timeout  (WssClient           *client);
void               wss_client_poll         (WssClient           *client,
                                            int                  timeout_ms);

void               wss_conn_start          (WssClient           *client,
                                            WssConn             *conn,
                                            gint64               now);
void               wss_conn_queue_text     (WssConn             *conn,
                                            const guint8        *payload,
                                            gsize                len);
void               wss_conn_close          (WssConn             *conn,
                                            guint16              code,
                                            gint64               now);
gboolean           wss_conn_flush          (WssConn             *conn,
                                            gint64               now);
void               wss_conn_fail           (WssConn             *conn,
                                            WssError             kind,
                                            const char          *what,
                                            gint64               now);
void               wss_conn_finish         (WssConn             *conn,
                                            gboolean             clean,
                                            gint64               now);
void               wss_conn_clear          (WssConn             *conn);

gint64             wss_now_ns              (void);
void               wss_note                (const char          *format,
                                            ...) G_GNUC_PRINTF (1, 2);
