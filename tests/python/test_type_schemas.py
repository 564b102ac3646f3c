#!/usr/bin/python3
# test_type_schemas.py: per-type message schemas set from Python (a dict) or GJS (an object),
# seen by a real websockets client
#
#   test_type_schemas.py --runtime python   serves with test_type_schemas_server.py
#   test_type_schemas.py --runtime gjs      serves with tests/gjs/test-type-schemas-server.js
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import shutil
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import owltest

HERE = Path(__file__).resolve().parent


class TypeSchemaTests(owltest.ServerTestCase):

    def server_argv(self):
        if owltest.RUNTIME == 'gjs':
            program = [shutil.which('gjs') or 'gjs',
                       str(HERE.parent / 'gjs' / 'test-type-schemas-server.js')]
        else:
            program = [owltest.PYTHON, str(HERE / 'test_type_schemas_server.py')]
        return program + ['--host', '127.0.0.1', '--port', '0']

    async def expect_validation(self, client, message, **details):
        await client.send(message)
        error = await client.expect('error', code='validation', recoverable=True)
        self.assertEqual(error['details'], details)

    async def test_each_type_is_checked_by_its_own_schema(self):
        client = await self.connect('/ws/typed')
        bystander = await self.connect('/ws/typed')
        await self.expect_validation(client, {'type': 'subscribe'},
                                     type='subscribe', pointer='', keyword='required')
        await self.expect_validation(client, {'type': 'subscribe', 'room': 'much-too-long'},
                                     type='subscribe', pointer='/room', keyword='maxLength')
        await self.expect_validation(client, {'type': 'publish', 'room': 5, 'text': 'hi'},
                                     type='publish', pointer='/room', keyword='type')
        for good in ({'type': 'subscribe', 'room': 'lobby'},
                     {'type': 'publish', 'room': 'lobby', 'text': 'hi'},
                     {'type': 'other', 'anything': [1, 2]}):
            await client.send(good)
            self.assertEqual(await client.recv(), good)
        await bystander.send({'type': 'publish', 'room': 'a', 'text': 'b'})
        self.assertEqual(await bystander.recv(), {'type': 'publish', 'room': 'a', 'text': 'b'})

    async def test_strict_types_refuse_a_type_without_schema(self):
        client = await self.connect('/ws/strict')
        await self.expect_validation(client, {'type': 'other'}, pointer='/type', keyword='enum')
        await self.expect_validation(client, {'room': 'a'}, pointer='', keyword='required')
        await client.send({'type': 'subscribe', 'room': 'a'})
        self.assertEqual(await client.recv(), {'type': 'subscribe', 'room': 'a'})


if __name__ == '__main__':
    sys.exit(owltest.main())
