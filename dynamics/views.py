"""Array views for the compiled loop that skip reference counting.

Compiled code counts references to an array that owns memory each time the array crosses a
function call: an atomic increment and decrement, a third of a closed-loop run's time when
every step hands the harmonic tables, the thruster table and a few work arrays to callees
(measured with perf, benchmarks/README.md). The run loop therefore works on `unowned` views
of its inputs: same data, no owner, nothing to count. Such a view is valid only while the
array it views is alive: the loop takes them from its arguments, which outlive the call.
"""

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
