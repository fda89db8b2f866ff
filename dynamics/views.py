"""Records and array views for compiled code: single records, records at an address, and
array views that skip reference counting.

Compiled code counts references to an array that owns memory each time the array crosses a
function call: an atomic increment and decrement, a third of a closed-loop run's time when
every step hands the harmonic tables, the thruster table and a few work arrays to callees
(measured with perf, benchmarks/README.md). The run loop therefore works on `unowned` views
of its inputs: same data, no owner, nothing to count. Such a view is valid only while the
array it views is alive: the loop takes them from its arguments, which outlive the call.
"""

import ctypes

import numpy as np
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def pointer(typingctx, address):
    """A void pointer from an address [int64], for `numba.carray`."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@njit(cache=True, inline="always")
def unowned(a):
    """A view of a C-contiguous array's data that owns nothing (see the module docstring)."""
    return carray(pointer(a.ctypes.data), a.shape, a.dtype)


def record(dtype, **fields):
    """A single record (np.void) of dtype with the given fields set."""
    r = np.zeros(1, dtype)[0]
    for name, value in fields.items():
        r[name] = value
    return r


def array_at(address, dtype, count):
    """The `count` elements of `dtype` at an address (of memory kept alive elsewhere), as a
    writable array: how Python called back from compiled code reads and writes its arrays."""
    if count == 0:
        return np.zeros(0, dtype)
    buffer = (ctypes.c_char * (dtype.itemsize * int(count))).from_address(int(address))
    return np.frombuffer(buffer, dtype)


def record_at(address, dtype):
    """The record of `dtype` at an address (of memory kept alive elsewhere), as a writable
    view (`array_at`)."""
    return array_at(address, dtype, 1)[0]
