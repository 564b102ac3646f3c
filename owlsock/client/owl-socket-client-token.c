/* owl-socket-client-token.c: the token the client sends, set once or given by a function
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "owl-socket-client-private.h"

/**
 * owl_socket_client_set_token:
 * @self: a client
 * @token: (nullable): the token, or %NULL for none
 *
 * The token sent on every connection when no token function is set
 * (see [method@Owlsock.SocketClient.set_token_func]). It travels as
 * [property@Owlsock.SocketClient:token-as-protocol] says, and never in a
 * log line.
 *
 * Since: 0.1
 */
void
owl_socket_client_set_token (OwlSocketClient *self,
                             const char      *token)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  g_free (self->token);
  self->token = g_strdup (token);
}

/**
 * owl_socket_client_set_token_func:
 * @self: a client
 * @func: (nullable) (scope notified) (closure user_data) (destroy destroy): asked for a token
 * @user_data: data for @func
 * @destroy: frees @user_data
 *
 * Sets the function asked for a token before every connection attempt and
 * when the server sends the `system` event `auth-expiring`. It answers
 * with [method@Owlsock.SocketClient.provide_token], now or later (within
 * [property@Owlsock.SocketClient:handshake-timeout] for a connection).
 * The refreshed token goes to the server in an `auth` frame; after a close
 * with 4001 the client reconnects with the new token, or ends when the
 * answer is %NULL.
 *
 * Since: 0.1
 */
void
owl_socket_client_set_token_func (OwlSocketClient          *self,
                                  OwlSocketClientTokenFunc  func,
                                  gpointer                  user_data,
                                  GDestroyNotify            destroy)
{
  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  if (self->token_destroy != NULL)
    self->token_destroy (self->token_data);
  self->token_func = func;
  self->token_data = user_data;
  self->token_destroy = destroy;
}

static void
send_refresh (OwlSocketClient *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) frame = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "auth");
  json_builder_set_member_name (builder, "stage");
  json_builder_add_string_value (builder, "authenticate");
  json_builder_set_member_name (builder, "payload");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, self->token);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  frame = json_builder_get_root (builder);
  owl_socket_client_send (self, frame, NULL);
}

/**
 * owl_socket_client_provide_token:
 * @self: a client
 * @token: (nullable): the token, or %NULL when there is none
 *
 * The answer of the token function: the attempt waiting for it goes on
 * (%NULL: without a token; after a close with 4001, the client ends), or
 * the connection refreshes its identity with an `auth` frame. Outside
 * those, the token is kept for the next connection.
 *
 * Since: 0.1
 */
void
owl_socket_client_provide_token (OwlSocketClient *self,
                                 const char      *token)
{
  TokenPurpose purpose;

  g_return_if_fail (OWL_IS_SOCKET_CLIENT (self));

  owl_socket_client_set_token (self, token);
  purpose = self->token_purpose;
  self->token_purpose = TOKEN_FOR_NOTHING;
  if (purpose == TOKEN_FOR_CONNECT)
    owl_socket_client_token_arrived (self);
  else if (purpose == TOKEN_FOR_REFRESH && token != NULL && self->state == OWL_SOCKET_CLIENT_CONNECTED)
    send_refresh (self);
}
