#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A minimal QMP client for the legacy application scenarios.

usage: qmp.py SOCKET COMMAND [JSON-ARGUMENTS] [--wait-event NAME]

Connects to QEMU's QMP socket, negotiates capabilities, runs one command
and prints its reply as JSON; with --wait-event, then waits (10 s at most)
for that event and prints it.  Exits 1 on an error reply or a missing
event.
"""
import json
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    wait = None
    if '--wait-event' in args:
        i = args.index('--wait-event')
        wait = args[i + 1]
        del args[i:i + 2]
    path, command = args[0], args[1]
    arguments = json.loads(args[2]) if len(args) > 2 else None

    sock = socket.socket(socket.AF_UNIX)
    for _ in range(100):
        try:
            sock.connect(path)
            break
        except OSError:
            time.sleep(0.1)
    stream = sock.makefile('rw')

    def send(cmd, arg=None):
        msg = {'execute': cmd}
        if arg is not None:
            msg['arguments'] = arg
        stream.write(json.dumps(msg) + '\n')
        stream.flush()
        while True:
            reply = json.loads(stream.readline())
            if 'event' in reply:
                events.append(reply)
                continue
            return reply

    events = []
    json.loads(stream.readline())           # the greeting
    send('qmp_capabilities')
    reply = send(command, arguments)
    print(json.dumps(reply))
    if 'error' in reply:
        return 1
    if wait:
        sock.settimeout(10)
        try:
            while not any(e['event'] == wait for e in events):
                events.append(json.loads(stream.readline()))
        except (OSError, ValueError):
            return 1
        print(json.dumps([e for e in events if e['event'] == wait][0]))
    return 0


sys.exit(main())
