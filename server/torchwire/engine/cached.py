"""`cached_property` without Python 3.11's lock.

Up to Python 3.11, `functools.cached_property` computes under one lock per property, shared by
every instance of the class: while the server's background builds a package class's `root`
(a construction of 100 ms), an analysis of the open file waits for it before it can build any
class of its own. Python 3.12 dropped that lock; this is 3.12's behaviour on every version
(two threads that compute the same value at once both compute it; the last one kept).
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 12):
    from functools import cached_property
else:

    class cached_property:  # a drop-in for functools' own
        def __init__(self, func) -> None:
            self.func = func
            self.attrname: str | None = None
            self.__doc__ = func.__doc__
            self.__module__ = func.__module__

        def __set_name__(self, owner, name: str) -> None:
            self.attrname = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.attrname] = self.func(instance)
            return value


__all__ = ["cached_property"]
