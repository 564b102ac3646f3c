/* owl-close.h: the close codes owlsock sends and reports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Named once, here, for the frame layer, the connection and applications
 * alike (RFC 6455 section 7.4, and owlsock's own in 4000-4999).
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

/**
 * OWL_CLOSE_NORMAL:
 *
 * Close code 1000: a normal close.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_NORMAL 1000
/**
 * OWL_CLOSE_GOING_AWAY:
 *
 * Close code 1001: the service stops, the module was removed, or the
 * connection was idle too long.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_GOING_AWAY 1001
/**
 * OWL_CLOSE_PROTOCOL_ERROR:
 *
 * Close code 1002: the peer broke the WebSocket protocol (an unmasked
 * client frame, a reserved bit, a bad length...).
 *
 * Since: 0.1
 */
#define OWL_CLOSE_PROTOCOL_ERROR 1002
/**
 * OWL_CLOSE_NO_STATUS:
 *
 * Close code 1005, reported by [signal@Owlsock.Connection::closed] when the
 * peer's close frame carried no code. It is never sent.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_NO_STATUS 1005
/**
 * OWL_CLOSE_ABNORMAL:
 *
 * Close code 1006, reported by [signal@Owlsock.Connection::closed] when the
 * TCP connection ended without a close frame. It is never sent.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_ABNORMAL 1006
/**
 * OWL_CLOSE_INVALID_DATA:
 *
 * Close code 1007: a text message (or a close reason) was not valid UTF-8.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_INVALID_DATA 1007
/**
 * OWL_CLOSE_POLICY:
 *
 * Close code 1008: a policy was violated.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_POLICY 1008
/**
 * OWL_CLOSE_TOO_BIG:
 *
 * Close code 1009: a message was over the size limit.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_TOO_BIG 1009
/**
 * OWL_CLOSE_INTERNAL:
 *
 * Close code 1011: an internal error.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_INTERNAL 1011
/**
 * OWL_CLOSE_TRY_AGAIN_LATER:
 *
 * Close code 1013: the peer does not read; its queued outgoing bytes
 * passed the limit.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_TRY_AGAIN_LATER 1013
/**
 * OWL_CLOSE_AUTH_EXPIRED:
 *
 * Close code 4001: the connection's token expired and the client did not
 * refresh it.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_AUTH_EXPIRED 4001
/**
 * OWL_CLOSE_PONG_TIMEOUT:
 *
 * Close code 4408: no pong came within the pong timeout.
 *
 * Since: 0.1
 */
#define OWL_CLOSE_PONG_TIMEOUT 4408
