# owlserve.py: what the test servers under tests/python share
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse


def serve(service, description=None):
    """Listens where --host and --port say (127.0.0.1, a free port), prints 'listening on
    PORT' for owltest.Server, and runs until SIGTERM or SIGINT has stopped the service
    gracefully (SocketService.run)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args()

    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)
