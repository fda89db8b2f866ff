"""Random streams for compiled code: one small state array per stream, no Python objects.

A run draws its sensor noise from several independent streams; campaigns fly many runs in one
compiled call, so a stream must be plain data that compiled code can index (a NumPy
Generator cannot be put in an array). Each stream is a xoshiro256++ generator (Blackman &
Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 2021) whose 256-bit state
is seeded from a `numpy.random.SeedSequence`; normal deviates come from the 256-layer
ziggurat of Marsaglia & Tsang ("The ziggurat method for generating random variables", J.
Stat. Softw. 2000), with the layer index and the value taken from separate bits of one draw
(as NumPy does) to avoid the correlation Leong et al. (2005) found in the original.
"""

import math
import zlib

import numpy as np
from numba import njit

STATE_WORDS = 4  # uint64 words of state per stream

_ONE = np.uint64(1)
_LAYER_MASK = np.uint64(0xFF)
_U8, _U11, _U12, _U17, _U23, _U45 = (np.uint64(k) for k in (8, 11, 12, 17, 23, 45))
_U64 = np.uint64(64)
_TO_UNIT = 1.0 / 2.0**53  # 53-bit integer to a double in [0, 1)

# Ziggurat of 256 layers of equal area for exp(-x^2 / 2) (Marsaglia & Tsang 2000, table set-up
# of their zigset with 52-bit integers): R is the start of the tail, V each layer's area.
_LAYERS = 256
_R = 3.6541528853610088
_V = 4.92867323399e-3
_M = 2.0**52


def _ziggurat_tables():
    """(k, w, f): acceptance bounds, 52-bit-integer-to-x scales and density at each edge."""
    k = np.zeros(_LAYERS, np.uint64)
    w = np.zeros(_LAYERS)
    f = np.zeros(_LAYERS)
    x = _R
    q = _V / math.exp(-0.5 * x * x)
    k[0] = np.uint64(x / q * _M)
    w[0] = q / _M
    w[-1] = x / _M
    f[0] = 1.0
    f[-1] = math.exp(-0.5 * x * x)
    outer = x
    for i in range(_LAYERS - 2, 0, -1):
        x = math.sqrt(-2.0 * math.log(_V / x + math.exp(-0.5 * x * x)))
        k[i + 1] = np.uint64(x / outer * _M)
        outer = x
        f[i] = math.exp(-0.5 * x * x)
        w[i] = x / _M
    return k, w, f


_K, _W, _F = _ziggurat_tables()


def stream_seed(run_seed, name):
    """The SeedSequence of a run's stream called `name` ("imu", "sensors.<channel>",
    "faults.<fault>", "navigation_initial_error"): the child of the run's SeedSequence keyed
    by a stable hash of the name, so adding or removing a channel or a fault leaves every
    other stream as it was."""
    return np.random.SeedSequence(
        run_seed.entropy, spawn_key=(*run_seed.spawn_key, zlib.crc32(name.encode()))
    )


def seeded_states(seed_sequences):
    """(n, STATE_WORDS) uint64 states, one per SeedSequence."""
    states = np.array([s.generate_state(STATE_WORDS, np.uint64) for s in seed_sequences])
    states[~states.any(axis=1), 0] = 1  # xoshiro's one forbidden state (all zero)
    return states


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (_U64 - k))


@njit(cache=True, inline="always")
def next_uint64(s):
    """Next 64 random bits of stream s (advances it)."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s0 + s3, _U23) + s0
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _U45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@njit(cache=True)
def uniform(s):
    """Uniform deviate in [0, 1)."""
    return float(np.int64(next_uint64(s) >> _U11)) * _TO_UNIT


@njit(cache=True, inline="always")
def standard_normal(s):
    """Standard normal deviate."""
    while True:
        r = next_uint64(s)
        layer = int(r & _LAYER_MASK)
        negative = (r >> _U8) & _ONE
        magnitude = r >> _U12  # 52 bits
        x = float(np.int64(magnitude)) * _W[layer]  # exact: below 2^52
        if negative:
            x = -x
        if magnitude < _K[layer]:
            return x  # inside the layer's rectangle: the common case
        if layer == 0:  # the tail beyond R (Marsaglia 1964)
            while True:
                xt = -math.log1p(-uniform(s)) / _R
                yt = -math.log1p(-uniform(s))
                if yt + yt > xt * xt:
                    return -(_R + xt) if negative else _R + xt
        # the wedge between the rectangle and the curve
        if _F[layer] + uniform(s) * (_F[layer - 1] - _F[layer]) < math.exp(-0.5 * x * x):
            return x
