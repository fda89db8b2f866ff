"""Landing-leg contact probes: a discrete signal when a probe tip, hanging below a footpad,
touches the terrain. The flight software cuts the engine on it."""

from numba import njit

from dynamics import quaternion, terrain, vector


@njit(cache=True)
def touching(tt, r_mcmf, q_body_to_mcmf, com_m, footpads_m, n_pads, probe_length_m):
    """True when any probe tip (probe_length_m below a footpad, body -z) is at the truth
    terrain tt (`dynamics.terrain.TruthTerrain`)."""
    site = tt.site
    com = vector.load(com_m, 0)
    reach = 0.0  # farthest tip from the centre of mass
    for i in range(n_pads):
        tip = (footpads_m[i, 0], footpads_m[i, 1], footpads_m[i, 2] - probe_length_m)
        reach = max(reach, vector.norm(vector.sub(tip, com)))
    if vector.norm(r_mcmf) - site.map_radius_m - site.highest_terrain_m > reach:
        return False  # above the highest terrain by more than the probes reach
    for i in range(n_pads):
        tip = (footpads_m[i, 0], footpads_m[i, 1], footpads_m[i, 2] - probe_length_m)
        p = vector.add(r_mcmf, quaternion.rotate(q_body_to_mcmf, vector.sub(tip, com)))
        if terrain.altitude(site, tt.tiles, tt.heights, p) <= 0.0:
            return True
    return False
