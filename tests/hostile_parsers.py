"""Parsers that misbehave, for the worker-isolation tests (loaded inside worker processes)."""

import os
import time

from ingest.types import Block


def hang(path, **_):
    time.sleep(3600)


def crash(path, **_):
    os.abort()


def hog(path, **_):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def fine(path, **_):
    return [Block(open(path, encoding="utf-8").read())]
