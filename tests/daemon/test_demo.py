#!/usr/bin/python3
# test_demo.py: owlsockd as scripts/run-chat.sh starts it (data/owlsockd-demo.conf):
# the files of data/web at [service] static-dir, the room behaviour's "members" call,
# the stats behaviour's pushed statistics, and the checks of the new keys.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import subprocess
import sys
import urllib.error
import urllib.request

import daemontest
from daemontest import OWLSOCKD, SOURCE_ROOT, TOKEN_TOOL, DaemonTestCase, wait_for

SECRET = 'a-test-secret-of-at-least-32-bytes-long\n'


class DemoTest(DaemonTestCase):

    def start_demo(self):
        secret = self.write('secret', SECRET)
        demo = (SOURCE_ROOT / 'data' / 'owlsockd-demo.conf').read_text()
        demo = demo.replace('listen=127.0.0.1:8080', 'listen=127.0.0.1:0')
        demo = demo.replace('static-dir=web', f'static-dir={SOURCE_ROOT / "data" / "web"}')
        demo = demo.replace('secret-file=owlsockd-secret.example', f'secret-file={secret}')
        self.start(self.write_config(demo))
        self.secret = secret

    def token(self, sub, scope):
        return subprocess.run([TOKEN_TOOL, '--secret-file', self.secret, '--sub', sub, '--scope', scope,
                               '--ttl', '600'], capture_output=True, text=True, check=True).stdout.strip()

    def get(self, path, method='GET'):
        """(status, Content-Type, body) of an HTTP request, in a thread of urllib's own: the
        daemon is another process, so blocking here blocks nobody."""
        request = urllib.request.Request(f'http://127.0.0.1:{self.prop("Port")}{path}', method=method)
        try:
            with urllib.request.urlopen(request, timeout=daemontest.TIMEOUT) as answer:
                return answer.status, answer.headers['Content-Type'], answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers['Content-Type'], error.read()

    def test_demo_config_checks(self):
        result = subprocess.run([OWLSOCKD, '--check-config', str(SOURCE_ROOT / 'data' / 'owlsockd-demo.conf')],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_static_files_beside_the_endpoints(self):
        self.start_demo()
        status, kind, body = self.get('/client/owlsock-client.js')
        self.assertEqual((status, kind), (200, 'text/javascript; charset=utf-8'))
        self.assertIn(b'export class OwlsockClient', body)
        status, kind, body = self.get('/demo/chat.html')
        self.assertEqual((status, kind), (200, 'text/html; charset=utf-8'))
        self.assertEqual(self.get('/demo/demo.css')[:2], (200, 'text/css; charset=utf-8'))
        self.assertEqual(self.get('/client/package.json')[:2], (200, 'application/json'))
        for path in ('/nothing.html', '/%2e%2e/owlsockd.conf', '/../owlsockd-secret.example', '/client/'):
            status, kind, body = self.get(path)   # /client/: a folder without index.html, no listing
            self.assertEqual((status, kind), (404, 'application/json'), path)
            self.assertEqual(body, b'{"code":"not-found","message":"No file at this path"}')
        self.assertEqual(self.get('/demo/chat.html', method='POST')[0], 405)
        # The endpoints are still theirs.
        self.assertEqual(self.connect_refused('/ws/chat/lobby'), 401)
        ann = self.connect('/ws/chat/lobby?token=' + self.token('ann', 'chat'))
        ann.close()

    def test_members_and_stats(self):
        self.start_demo()
        ann = self.connect('/ws/chat/lobby?token=' + self.token('ann', 'chat admin'))
        bob = self.connect('/ws/chat/lobby?token=' + self.token('bob', 'chat'))
        self.connect('/ws/chat/lobby?token=' + self.token('bob', 'chat'))     # bob twice
        self.connect('/ws/chat/other?token=' + self.token('cid', 'chat'))
        bob.send({'type': 'call', 'id': '1', 'method': 'members', 'payload': []})
        self.assertEqual(bob.wait_frames(1), {'type': 'result', 'id': '1', 'payload': ['ann', 'bob']})

        self.assertEqual(self.connect_refused('/ws/stats?token=' + self.token('bob', 'chat')), 403)
        monitor = self.connect('/ws/stats?token=' + self.token('ann', 'chat admin'))
        first = monitor.wait_frames(1)
        self.assertEqual((first['type'], first['event']), ('event', 'stats'))
        self.assertEqual(first['payload']['connections-open'], 5)
        ann.send({'type': 'chat-message', 'content': 'hi'})
        wait_for(lambda: any(f['payload']['messages-in'] >= 2 for f in monitor.frames),
                 'a stats event counting the message')
        self.assertGreaterEqual(monitor.frames[-1]['payload']['rejected']['gate'], 1)

    def test_static_keys_are_checked(self):
        config = self.write_config('[service]\nlisten=127.0.0.1:0\nstatic-dir=missing\nstatic-prefix=demo/\n'
                                   '[module s]\npath=/ws/s\nbehaviour=echo\nstats-interval=2\n'
                                   '[module t]\npath=/ws/t\nbehaviour=stats\nstats-interval=0\n')
        result = subprocess.run([OWLSOCKD, '--check-config', config], capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn(':3: [service] static-dir: ', result.stderr)
        self.assertIn('is not a folder', result.stderr)
        self.assertIn(':4: [service] static-prefix: "demo/" is not a path', result.stderr)
        self.assertIn(':8: [module s] stats-interval: only for behaviour=stats', result.stderr)
        self.assertIn(':12: [module t] stats-interval: a number of seconds from 1 to 3600', result.stderr)


if __name__ == '__main__':
    sys.exit(daemontest.main())
