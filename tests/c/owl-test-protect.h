/* owl-test-protect.h: a raw TCP peer of the service in this process, and
 * the round trips and refused upgrades the protect tests assert
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-test-util.h"

G_BEGIN_DECLS

/* Peer: a raw TCP client of the service in this process ------------------------
 *
 * Non-blocking: it reads whatever the server sends, as it comes, while the
 * test writes, and notes when the server ends the connection. */

typedef struct
{
  GSocket  *socket;
  GSource  *read_source;
  GString  *received;
  gboolean  eof;            /* the server ended the connection: FIN or reset */
  gboolean  reset;
  gboolean  write_failed;
  gint64    opened_at;      /* monotonic, µs */
  gint64    ended_at;
  /* A slowloris: @drip goes out one byte per tick of @drip_source. */
  char     *drip;
  gsize     drip_pos;
  GSource  *drip_source;
} Peer;

/* A libsoup client on @path whose message comes back unchanged. */
void
assert_echo_works (OwlTestFixture *fixture,
                   const char     *path);

/* A round trip on a client that is already connected: @index is the number
 * of texts it received so far. */
void
assert_client_echoes (OwlTestClient *client,
                      guint          index);

/* The upgrade request for @path, with @extra_headers (each line ending in
 * "\r\n"; may be NULL); @terminate FALSE leaves off the blank line. */
char *
upgrade_request (guint16     port,
                 const char *path,
                 const char *extra_headers,
                 gboolean    terminate);

Peer *
peer_open (guint16 port);

void
peer_free (Peer *peer);

const char *
peer_head_end (Peer *peer);

/* The status of the response head, 0 while there is none. */
guint
peer_status (Peer *peer);

/* Writes @data until it is all written, the server ended the connection, a
 * write failed or (with @stop_at_head) a response head arrived; the main
 * context runs while the socket pushes back. Returns the bytes written. */
gsize
peer_write (Peer       *peer,
            const void *data,
            gsize       len,
            gboolean    stop_at_head);

void
peer_wait_response (Peer *peer);

/* One upgrade request on a fresh TCP connection: the status of the answer
 * (0 when the connection ended without one), its body in @body_out. The
 * connection is closed afterwards. */
guint
try_upgrade (OwlTestFixture  *fixture,
             const char      *path,
             const char      *extra_headers,
             char           **body_out);

/* The upgrade is refused with @status and the JSON body {"code": @code,
 * "message": "..."}; no connection is accepted. */
void
protect_assert_refused (OwlTestFixture *fixture,
                       const char     *path,
                       const char     *extra_headers,
                       guint           status,
                       const char     *code);

/* Masked text frames, all in one write: the server reads them at once, so
 * no token comes back in between. */
void
send_batch (OwlTestRaw        *raw,
            const char *const *texts,
            guint              n);

G_END_DECLS
