"""The image a lander's descent camera takes of the truth terrain: the rendering half of image
navigation from real images (issue 14; `gnc.navigation.image_matching` matches it).

A pinhole camera of square field of view and n x n pixels, axes (columns, rows, boresight)
given in the Moon-fixed frame. Each pixel's ray is cast on the terrain by the rangefinder's
code (`dynamics.terrain.ray_cast`); the ground it meets has the radiance factor of McEwen's
lunar-Lambert law (McEwen 1991, Icarus 92, 298-311),

    r = A [2 L mu0 / (mu0 + mu) + (1 - L) mu0],

mu0 and mu the cosines of the incidence and emission angles at the local surface normal
(L = 1 is the Lommel-Seeliger law, L = 0 Lambert's), and r = 0 where the Sun is below the
local horizon or a ray from the ground toward it meets the terrain (a cast shadow); a pixel
that meets no ground sees black sky. The albedo A varies over the ground by +-variation in a
fixed pattern (value noise on an ALBEDO_CELL_M lattice of track coordinates, two octaves:
the regolith's brightness patches the matcher may use where relief gives little). Motion
blur: the image is the mean of sub-frames taken with the camera turned by its rotation rate
over the exposure. Sensor noise (`expose`): shot noise and read noise in electrons.
"""

import math

import numpy as np
from numba import njit

from dynamics import frames, quaternion, terrain, vector

ALBEDO_CELL_M = 20.0  # lattice of the albedo pattern (and half of it for the second octave)
ALBEDO_VARIATION = 0.1  # the bundled scenes' pattern amplitude: +-10 % (mare brightness patches)
# the bundled camera's detector: a radiance factor of 1 fills a 20,000-electron well (a
# mid-size CMOS pixel), 30 electrons of read noise
FULL_WELL_E, READ_NOISE_E = 20_000.0, 30.0


def camera_axes(boresight, row_reference):
    """3 x 3 matrix whose columns are the camera's (column, row, boresight) unit axes, in the
    frame of the two given vectors: rows run along row_reference made perpendicular to the
    boresight, columns complete a right-handed set."""
    z = np.asarray(boresight, float) / np.linalg.norm(boresight)
    y = np.asarray(row_reference, float) - z * np.dot(row_reference, z)
    y /= np.linalg.norm(y)
    return np.column_stack([np.cross(y, z), y, z])


@njit(cache=True)
def pixel_direction(axes, tan_half_fov, n, row, column):
    """Unit direction (the axes' frame) of the ray through the centre of pixel (row, column)."""
    u = (2.0 * (column + 0.5) / n - 1.0) * tan_half_fov
    v = (2.0 * (row + 0.5) / n - 1.0) * tan_half_fov
    d = (
        axes[0, 0] * u + axes[0, 1] * v + axes[0, 2],
        axes[1, 0] * u + axes[1, 1] * v + axes[1, 2],
        axes[2, 0] * u + axes[2, 1] * v + axes[2, 2],
    )
    return vector.unit(d)


@njit(cache=True, inline="always")
def image_position(axes, tan_half_fov, n, ray):
    """(column, row) [pixels] where a ray from the camera (in the frame of the axes' columns)
    meets the image, the inverse of `pixel_direction`; NaN for a ray behind the camera."""
    z = ray[0] * axes[0, 2] + ray[1] * axes[1, 2] + ray[2] * axes[2, 2]
    if z <= 0.0:
        return math.nan, math.nan
    u = (ray[0] * axes[0, 0] + ray[1] * axes[1, 0] + ray[2] * axes[2, 0]) / z
    v = (ray[0] * axes[0, 1] + ray[1] * axes[1, 1] + ray[2] * axes[2, 1]) / z
    return (u / tan_half_fov + 1.0) * n / 2.0 - 0.5, (v / tan_half_fov + 1.0) * n / 2.0 - 0.5


@njit(cache=True)
def lunar_lambert(albedo, lunar_l, mu0, mu):
    """Radiance factor of McEwen's lunar-Lambert law (0 when unlit or unseen)."""
    if mu0 <= 0.0 or mu <= 0.0:
        return 0.0
    return albedo * (2.0 * lunar_l * mu0 / (mu0 + mu) + (1.0 - lunar_l) * mu0)


@njit(cache=True)
def _lattice(ix, iy):
    """A fixed pseudo-random value in [-1, 1] per lattice node."""
    s = math.sin(ix * 12.9898 + iy * 78.233) * 43758.5453
    return 2.0 * (s - math.floor(s)) - 1.0


@njit(cache=True)
def _value_noise(x, y, cell):
    """Bilinear value noise in [-1, 1] on a lattice of the given cell [m]."""
    u, v = x / cell, y / cell
    i, j = math.floor(u), math.floor(v)
    fu, fv = u - i, v - j
    return (1.0 - fu) * ((1.0 - fv) * _lattice(i, j) + fv * _lattice(i, j + 1)) + fu * (
        (1.0 - fv) * _lattice(i + 1, j) + fv * _lattice(i + 1, j + 1)
    )


@njit(cache=True)
def albedo_at(site, albedo, variation, point_mcmf):
    """The ground's albedo at a point: albedo (1 + variation x noise), the noise two octaves
    of value noise over the track coordinates, within [-1, 1]."""
    x, y, _ = frames.track_coordinates(site, point_mcmf)
    noise = (
        2.0 * _value_noise(x, y, ALBEDO_CELL_M) + _value_noise(x, y, 0.5 * ALBEDO_CELL_M)
    ) / 3.0
    return albedo * (1.0 + variation * noise)


SCENE_DTYPE = np.dtype(
    [
        ("sun_mcmf", np.float64, (3,)),  # unit vector toward the Sun
        ("albedo", np.float64),  # the ground's mean albedo
        ("albedo_variation", np.float64),  # its pattern's amplitude, a fraction
        ("lunar_l", np.float64),  # the lunar-Lambert law's L
        ("reach_m", np.float64),  # farthest ground a ray looks for
        ("step_m", np.float64),  # the ray march's smallest step (below the finest feature)
    ],
    align=True,
)


def scene(sun_mcmf, albedo, albedo_variation, lunar_l, reach_m=30e3, step_m=5.0):
    """A SCENE_DTYPE record: the lighting and ground the camera sees."""
    record = np.zeros(1, SCENE_DTYPE)[0]
    record["sun_mcmf"] = sun_mcmf
    record["albedo"], record["albedo_variation"] = albedo, albedo_variation
    record["lunar_l"], record["reach_m"], record["step_m"] = lunar_l, reach_m, step_m
    return record


@njit(cache=True)
def radiance(site, tiles, heights, scene, origin, d):
    """Radiance factor seen along unit ray d from origin (Moon-fixed): the lunar-Lambert
    reflectance of the ground it meets, 0 in shadow, 0 for sky."""
    rho = terrain.ray_cast(site, tiles, heights, origin, d, scene.reach_m, scene.step_m)
    if rho <= 0.0:
        return 0.0
    ground = vector.add(origin, vector.scale(d, rho))
    normal = terrain.surface_normal(site, tiles, heights, ground)
    mu = -vector.dot(normal, d)
    if mu <= 0.0:
        return 0.0
    mu0 = sunlit_cosine(site, tiles, heights, scene, ground, normal)
    if mu0 <= 0.0:
        return 0.0
    albedo = albedo_at(site, scene.albedo, scene.albedo_variation, ground)
    return lunar_lambert(albedo, scene.lunar_l, mu0, mu)


@njit(cache=True)
def sunlit_cosine(site, tiles, heights, scene, ground, normal):
    """Cosine of the Sun's incidence at a ground point of the given unit normal, or 0 when
    the Sun is below its local horizon or a ray toward it meets the terrain (cast shadow)."""
    sun = vector.load(scene.sun_mcmf, 0)
    mu0 = vector.dot(normal, sun)
    if mu0 <= 0.0:
        return 0.0
    lifted = vector.add(ground, vector.scale(normal, 0.05))  # off the surface it starts on
    if terrain.ray_cast(site, tiles, heights, lifted, sun, scene.reach_m, scene.step_m) > 0.0:
        return 0.0
    return mu0


@njit(cache=True)
def render(surface, scene, camera, motion, out):
    """Fill out (n x n) with the radiance factor each pixel sees of the terrain (surface: site,
    tiles, heights) in a scene, from a camera (origin, Moon-fixed; axes, columns: its column,
    row and boresight directions; tan of half its field of view) in motion (rotation, sub
    frames): turning by the rotation vector [rad] (Moon-fixed) over the exposure, the mean of
    sub_frames renders over that turn."""
    site, tiles, heights = surface
    origin, axes, tan_half_fov = camera
    rotation, sub_frames = motion
    n = out.shape[0]
    out[:, :] = 0.0
    turned = np.empty((3, 3))
    for k in range(sub_frames):
        f = (k + 0.5) / sub_frames - 0.5 if sub_frames > 1 else 0.0
        turn = quaternion.from_rotation_vector(vector.scale(rotation, f))
        for c in range(3):
            column = quaternion.rotate(turn, (axes[0, c], axes[1, c], axes[2, c]))
            for r in range(3):
                turned[r, c] = column[r]
        for row in range(n):
            for col in range(n):
                d = pixel_direction(turned, tan_half_fov, n, row, col)
                out[row, col] += radiance(site, tiles, heights, scene, origin, d) / sub_frames


def expose(image, full_well_e, read_noise_e, rng):
    """Digital numbers in [0, 1] of a radiance-factor image exposed so that a radiance factor
    of 1 fills the full well: Poisson shot noise on the electrons, Gaussian read noise, clipped
    to the well."""
    electrons = rng.poisson(np.clip(image, 0.0, None) * full_well_e).astype(float)
    electrons += rng.normal(0.0, read_noise_e, image.shape)
    return np.clip(electrons / full_well_e, 0.0, 1.0)


def take_picture(terrain_truth, scene, origin, axes, rotation, tan_half_fov, pixels, rng):
    """The exposed image (digital numbers, `expose` with the bundled detector) a camera takes
    at origin with axes, turning by `rotation` [rad] (Moon-fixed) over the exposure: one
    sub-frame per pixel of smear at the pixels' angular size, at least 1 and at most 9."""
    blur_px = float(np.linalg.norm(rotation)) * pixels / (2.0 * math.atan(tan_half_fov))
    image = np.zeros((pixels, pixels))
    t = terrain_truth
    camera = (tuple(origin), axes, tan_half_fov)
    render(t, scene, camera, (tuple(rotation), max(1, min(9, math.ceil(blur_px)))), image)
    return expose(image, FULL_WELL_E, READ_NOISE_E, rng)
