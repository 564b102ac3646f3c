/* owl-fd-stream-private.h: a pollable GIOStream over a connected socket descriptor
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What owlsock's listener hands SoupServer: libsoup only needs pollable
 * streams, and a GSocket (or GUnixInputStream, which probes each descriptor
 * with a throwaway epoll set) costs several syscalls and objects per
 * connection. After a 101 the frame layer takes the descriptor back.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define OWL_TYPE_FD_STREAM (owl_fd_stream_get_type ())
G_DECLARE_FINAL_TYPE (OwlFdStream, owl_fd_stream, OWL, FD_STREAM, GIOStream)

/* Takes ownership of @fd, a non-blocking connected socket. Once more than
 * @max_read bytes were read (0: no cap), the connection is shut down
 * (libsoup buffers headers without a bound), after a plain HTTP 431 when
 * @answer_431 (not under TLS, where plain text would break the stream). */
GIOStream *owl_fd_stream_new       (int        fd,
                                    gsize      max_read,
                                    gboolean   answer_431);
/* After a 101 on a stream owlsock cannot take over (TLS): the handshake
 * bounds no longer apply to the OwlFdStream found under @stolen, if any. */
void         owl_fd_stream_mark_upgraded (GIOStream *stolen);
/* The descriptor of the OwlFdStream under a TLS connection under @stolen,
 * still owned by it (-1 if there is none). */
int          owl_fd_stream_peek_tls_fd   (GIOStream *stolen);

/* A small handle on the stream's descriptor that does not keep the stream
 * (and libsoup's objects around it) alive: for the handshake timeout. */
typedef struct _OwlFdHandle OwlFdHandle;

OwlFdHandle *owl_fd_stream_get_handle (OwlFdStream *self);
OwlFdHandle *owl_fd_handle_ref        (OwlFdHandle *handle);
void         owl_fd_handle_unref      (OwlFdHandle *handle);
/* Whether the descriptor was taken back or closed. */
gboolean     owl_fd_handle_is_done    (OwlFdHandle *handle);
/* Shuts the connection down (libsoup then sees it end and lets it go). */
void         owl_fd_handle_abort      (OwlFdHandle *handle);
/* The whole request was read and the service waits on a guard: the
 * handshake timer lets go (the service bounds that wait itself). */
void         owl_fd_handle_hold       (OwlFdHandle *handle);
gboolean     owl_fd_handle_is_held    (OwlFdHandle *handle);
gboolean     owl_fd_handle_peer_gone  (OwlFdHandle *handle);
/* The descriptor behind @stream's input, if @stream is (a filter over) an
 * OwlFdStream's; the stream no longer closes it. -1 otherwise. */
int        owl_fd_stream_steal_fd  (GInputStream *input);

G_END_DECLS
