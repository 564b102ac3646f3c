#!/usr/bin/python3
# stall.py: how long can one client's costly messages make another wait?
#
#   tests/bench/stall.py [--server build/examples/bench-server] [--rounds 3]
#
# Starts bench-server with /checked-echo behind the schema below. A
# bystander on /echo sends a message, waits for the echo, and sends the
# next, the whole time; an attacker sends a burst to /checked-echo:
#
#   pattern  30 messages {"w": "aaaaaaaaaaaaaaaaaaaaaaaaa!"} against
#            "^(\w+\s?)*$" (backtracking bait)
#   anyof    30 messages 22 levels deep against nested anyOf over a
#            recursive $ref (work doubling at each level)
#   burst    5000 small valid messages sent in one go
#
# and prints the bystander's round trips while no attack runs (p50, max)
# and the worst one during each attack, with how long the attack took to be
# answered. A benchmark, not a test: numbers depend on the machine.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time

import websockets

SCHEMA = {
    "$defs": {"t": {"anyOf": [
        {"type": "array", "items": {"$ref": "#/$defs/t"}, "minItems": 2},
        {"type": "array", "items": {"$ref": "#/$defs/t"}}]}},
    "properties": {
        "w": {"type": "string", "pattern": "^(\\w+\\s?)*$"},
        "tree": {"$ref": "#/$defs/t"},
    },
}


def attack_messages(kind):
    if kind == 'pattern':
        return [json.dumps({"w": "a" * 25 + "!"})] * 30
    if kind == 'anyof':
        return ['{"tree":' + '[' * 22 + '1' + ']' * 22 + '}'] * 30
    return [json.dumps({"w": f"word {i}"}) for i in range(5000)]


class Bystander:
    def __init__(self, url):
        self.url = url
        self.samples = []   # (time sent, round trip in s)
        self.running = True

    async def run(self):
        async with websockets.connect(self.url, max_queue=None) as ws:
            n = 0
            while self.running:
                sent = time.monotonic()
                await ws.send(json.dumps({"type": "echo", "n": n}))
                await asyncio.wait_for(ws.recv(), 60)
                self.samples.append((sent, time.monotonic() - sent))
                n += 1

    def worst_between(self, start, end):
        # A round trip that was under way during [start, end] counts.
        rtts = [rtt for sent, rtt in self.samples if sent <= end and sent + rtt >= start]
        return max(rtts) if rtts else float('nan')


async def attack(url, kind):
    messages = attack_messages(kind)
    async with websockets.connect(url, max_queue=None, max_size=None) as ws:
        start = time.monotonic()
        for text in messages:
            await ws.send(text)
        for _ in messages:
            await asyncio.wait_for(ws.recv(), 120)
        return start, time.monotonic()


async def attack_elsewhere(port, kind):
    """The attacker runs in a process of its own, so that its sending and
    reading never delay the bystander's client; time.monotonic() is the
    system's monotonic clock, the same in both processes."""
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, '--attack', kind,
                                                '--port', str(port), stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    start, end = json.loads(out)
    return start, end


async def one_round(port):
    bystander = Bystander(f'ws://127.0.0.1:{port}/echo')
    task = asyncio.ensure_future(bystander.run())
    await asyncio.sleep(1.0)                       # the quiet baseline
    quiet = [rtt for _, rtt in bystander.samples]
    results = {'quiet_p50_ms': statistics.median(quiet) * 1e3, 'quiet_max_ms': max(quiet) * 1e3}
    for kind in ('pattern', 'anyof', 'burst'):
        start, end = await attack_elsewhere(port, kind)
        results[f'{kind}_worst_ms'] = bystander.worst_between(start, end) * 1e3
        results[f'{kind}_took_ms'] = (end - start) * 1e3
        await asyncio.sleep(0.3)
    bystander.running = False
    await asyncio.wait_for(task, 60)
    return results


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--server', default='build/examples/bench-server')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--attack', help=argparse.SUPPRESS)
    parser.add_argument('--port', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.attack:
        print(json.dumps(await attack(f'ws://127.0.0.1:{args.port}/checked-echo', args.attack)))
        return 0

    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as schema:
        json.dump(SCHEMA, schema)
    env = dict(os.environ, OWLSOCK_BENCH_SCHEMA_FILE=schema.name)
    proc = await asyncio.create_subprocess_exec(args.server, '--port', '0', env=env,
                                                stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        port = int(re.search(rb'listening on (\d+)', line).group(1))
        rounds = [await one_round(port) for _ in range(args.rounds)]
    finally:
        proc.terminate()
        await proc.wait()
        os.unlink(schema.name)

    print(f'{"":28}' + ''.join(f'round {i + 1:<4}' for i in range(len(rounds))) + 'median')
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        print(f'{key:28}' + ''.join(f'{v:<10.1f}' for v in values) + f'{statistics.median(values):.1f}')


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
