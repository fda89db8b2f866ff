"""The filter's model of a range to the terrain along a beam, over its onboard map. Honest
about the map: the prediction, its slope and its variance are the map's over where the
lander may be, not at the estimate alone.

Statistical linearisation, as SITAN's terrain-aided navigation (Hostetler & Andreas 1983,
IEEE TAC 28(3)): where the foot may be (the position covariance, slid along the line of sight
onto level ground) the model fits the plane of the map's heights and predicts the distance to
that plane. For a range along d from a sensor at lever arm a from the centre of mass (normal
n): d rho / d r = -n / (n.d), d rho / d theta = (n_body x (rho b + a)) / (n.d). So
ranging over sloped terrain gives horizontal information, but only the slope the map holds
over the whole region the lander may be in. The variance adds, over (n.d)^2, the map's own
height error (the craters it leaves out, as the terrain's statistics expect:
`dynamics.craters.relief_statistics`) and the relief the plane leaves: what the region's
samples show of it there (a large crater in the region shows: the statistics are an average
over the site, their tails are local), and what the statistics expect the samples to miss
(the craters between them). Each counts times 2 L / ds: samples every ds along the ground
inside a correlation length L share their error, and carry the information of independent
ones every 2 L. The relief's L is its whole correlation length, a bound
(shorter ones measured overconfident over the nominal terrain). The caller adds its sensor's
own noise to the row's variance.
"""

import math

from numba import njit

from dynamics import frames, quaternion, terrain, vector
from sensors import bus


@njit(cache=True)
def map_plane(pose, onboard_map, hit, d, foot_speed_mps, period_s):
    """(n, offset [m], variance [m^2]): the unit normal (MCMF) of the map's plane over where
    the line of sight d (MCMF) may meet the map at `hit`, the height of that plane over the
    map at `hit`, and the vertical variance of the map's error and of the relief the plane
    leaves, counted for their correlation along the foot's track (it moves at foot_speed_mps,
    sampled every period_s)."""
    m = onboard_map
    x, y, _ = frames.track_coordinates(m.site, hit)
    down, left, up = frames.local_track_axes(m.site, hit)
    # the foot moves with the lander's position error, slid along d back onto a level
    # surface (J = I - d up' / (up.d))
    slide = 1.0 / vector.dot(up, d)
    a_down = bus.gradient_to_mci(
        pose, vector.sub(down, vector.scale(up, vector.dot(d, down) * slide))
    )
    a_left = bus.gradient_to_mci(
        pose, vector.sub(left, vector.scale(up, vector.dot(d, left) * slide))
    )
    cov = pose.position_cov_mci_m2
    c_xx = _quadratic(cov, a_down, a_down)
    c_xy = _quadratic(cov, a_down, a_left)
    c_yy = _quadratic(cov, a_left, a_left)
    mean, hx, hy, local = terrain.plane_over_region(m.tiles, m.heights, x, y, c_xx, c_xy, c_yy)
    # what the plane leaves: what the region's samples show of it, here, and what the
    # statistics expect they miss, for a region of its largest 1-sigma extent
    extent = math.sqrt(0.5 * (c_xx + c_yy) + math.sqrt(0.25 * (c_xx - c_yy) ** 2 + c_xy * c_xy))
    residual = local + terrain.unseen_relief(m, extent)
    n = vector.unit(vector.sub(up, vector.add(vector.scale(down, hx), vector.scale(left, hy))))
    h_hit, _, _ = terrain.height_and_gradient(m.tiles, m.heights, x, y)
    moved = foot_speed_mps * period_s + 1e-9
    variance = (
        max(1.0, 2.0 * m.error_correlation_m / moved) * m.height_error_m**2
        + max(1.0, 2.0 * m.relief_correlation_m / moved) * residual
    )
    return n, mean - h_hit, variance


@njit(cache=True)
def ray_range(pose, onboard_map, beam, march, measured, out, row):
    """Fill row `row` of a model record with the range [m] along the beam (its position and
    direction, body axes) marched over the map (march: reach [m], smallest step [m]), measured
    as y over a sample period (measured: y, period [s]), and the map's share of its variance;
    returns (usable, predicted range [m], cos of the incidence, the map plane's unit normal,
    MCMF). Not usable (the row left alone) when the beam meets no map or only grazes it."""
    position_body, b = beam
    reach_m, step_m = march
    y, period_s = measured
    m = onboard_map
    origin = bus.sensor_position_mcmf(pose, position_body)
    d = bus.body_to_mcmf(pose, b)
    rho = terrain.ray_cast(m.site, m.tiles, m.heights, origin, d, reach_m, step_m)
    if rho <= 0.0:
        return False, 0.0, 0.0, d
    hit = vector.add(origin, vector.scale(d, rho))
    # the foot moves with the lander and the turning beam, along the ground
    up = vector.unit(hit)
    w = bus.body_to_mcmf(pose, vector.load(pose.w_body_radps, 0))
    v_beam = vector.add(vector.load(pose.v_mcmf_mps, 0), vector.scale(vector.cross(w, d), rho))
    v_foot = vector.sub(v_beam, vector.scale(d, vector.dot(up, v_beam) / vector.dot(up, d)))
    n, offset, variance = map_plane(pose, m, hit, d, vector.norm(v_foot), period_s)
    nd = vector.dot(n, d)
    if nd > -1e-3:  # grazing or from below: no usable geometry
        return False, 0.0, 0.0, n
    rho += offset * vector.dot(n, up) / nd  # to the region's mean surface
    q = pose.q_body_to_mcmf
    n_body = quaternion.rotate_inverse((q[0], q[1], q[2], q[3]), n)
    arm = vector.sub(position_body, vector.load(pose.com_body_m, 0))
    j_theta = vector.scale(vector.cross(n_body, vector.add(vector.scale(b, rho), arm)), 1.0 / nd)
    j_r = bus.gradient_to_mci(pose, vector.scale(n, -1.0 / nd))
    out.innovation[row] = y - rho
    for i in range(3):
        out.j_position[row, i] = j_r[i]
        out.j_velocity[row, i] = 0.0
        out.j_attitude[row, i] = j_theta[i]
    clear_row(out, row)
    out.noise_cov[row, row] = variance / (nd * nd)
    for i in range(3):
        out.ground_offset_mcmf_m[row, i] = origin[i] - pose.r_mcmf_m[i] + d[i] * y
    return True, rho, -nd, n


@njit(cache=True)
def clear_row(out, row):
    """Zero a row's noise covariances with every other row (its variance set after)."""
    for i in range(out.noise_cov.shape[1]):
        out.noise_cov[row, i] = 0.0
        out.noise_cov[i, row] = 0.0


@njit(cache=True)
def _quadratic(matrix, a, b):
    """a' M b for a 3 x 3 matrix."""
    acc = 0.0
    for i in range(3):
        for j in range(3):
            acc += a[i] * matrix[i, j] * b[j]
    return acc
