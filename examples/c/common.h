/* common.h: what every C example shares
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

int example_main (OwlSocketService *service,
                  int               argc,
                  char            **argv);
