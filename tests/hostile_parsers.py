"""Parsers that misbehave, for the worker-isolation tests (loaded inside worker processes)."""

import os
import time

from ingest.types import Block


def hang(path, **_):
    time.sleep(3600)


def crash(path, **_):
    os.abort()


def hog(path, **_):
    """Reserves memory until the worker's address-space limit says no (numpy.empty does not touch
    the pages, so hitting the limit takes milliseconds even on a loaded machine)."""
    import numpy

    hoard = []
    while True:
        hoard.append(numpy.empty(256 * 2**20, dtype=numpy.uint8))


def fine(path, **_):
    return [Block(open(path, encoding="utf-8").read())]
