"""The figures a GNC review reads in `descent report` and `descent compare`, each from the
campaign's tables: the site's terrain (hillshade, slope), the trajectories (ground tracks,
altitude against downrange), the touchdown state against its limit box, and the navigation
over time (errors against the filter's own 3 sigma, NEES against its chi-square band).
Each function returns HTML (`sims.analysis.html_page.figure`), or a sentence saying why it cannot.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LightSource

from dynamics import terrain_section
from sims.analysis import campaign_statistics
from sims.analysis.html_page import figure
from sims.run import consistency

AXES = (  # the recorder's error and sigma signals (`sims.run.recorder`), per panel
    ("position", "m", ("east_m", "north_m", "up_m")),
    ("velocity", "m/s", ("v_east_mps", "v_north_mps", "v_up_mps")),
    ("attitude", "rad", ("att_x_rad", "att_y_rad", "att_z_rad")),
)
RECORD_HINT = (
    "descent mc SCENARIO ... --record 'nav.*' --record-runs all (or a [record] section) records "
    "them"
)


LEAST_SHARE_ALIVE = 0.2  # time bins with fewer of the runs than this are not drawn


def on_grid(frame):
    """The samples of many runs on one time grid: t [s] rounded to the runs' sampling period
    (a run's last sample, at its end, falls in the nearest bin), only the bins that hold at
    least LEAST_SHARE_ALIVE of the runs (and 3) so that a mean or an envelope is of many."""
    period = float(frame.groupby("run").t_s.diff().median())
    if not period > 0.0:
        return frame.assign(t=frame.t_s)
    t = (frame.t_s / period).round() * period
    grid = frame.assign(t=t.round(6))
    alive = grid.groupby("t").run.nunique()
    enough = alive[alive >= max(3, LEAST_SHARE_ALIVE * frame.run.nunique())].index
    return grid[grid.t.isin(enough)]


def site_grid(sc, reach):
    """(heights [m] as (downrange, crossrange), extent, spacing [m]) of the finest tile that
    covers +-reach around the target, or None."""
    _, tiles, heights = terrain_section.truth_terrain(sc.site, sc.terrain)
    for t in tiles[::-1]:
        x0, y0, d = t["downrange_min_m"], t["crossrange_min_m"], t["spacing_m"]
        nx, ny = int(t["n_downrange"]), int(t["n_crossrange"])
        if x0 <= -reach and y0 <= -reach and x0 + (nx - 1) * d >= reach:
            grid = heights[t["offset"] : t["offset"] + nx * ny].reshape(nx, ny)
            return grid, (x0, x0 + (nx - 1) * d, y0, y0 + (ny - 1) * d), d
    return None


def hillshade(ax, sc, reach):
    """The terrain around the target under the points: hillshade, height in colour."""
    found = site_grid(sc, reach)
    if found is None:
        return
    grid, extent, d = found
    shade = LightSource(azdeg=315, altdeg=35).shade(
        grid.T, cmap=plt.get_cmap("gist_earth"), vert_exag=3.0, dx=d, dy=d, blend_mode="soft"
    )
    ax.imshow(shade, origin="lower", extent=extent, interpolation="bilinear")


def outcomes(ax, frame, x, y, colour="tab:blue", failed="tab:red", label="", hollow=False):
    """Points of the runs in frame at columns (x, y): landed as dots (hollow: open circles),
    failed as crosses."""
    landed = frame.outcome == campaign_statistics.LANDED
    ax.scatter(
        frame[x][landed],
        frame[y][landed],
        s=10 if hollow else 6,
        facecolors="none" if hollow else colour,
        edgecolors=colour,
        lw=0.6,
        label=f"{label}landed",
        rasterized=True,
    )
    ax.scatter(
        frame[x][~landed], frame[y][~landed], s=20, c=failed, marker="x", label=f"{label}failed"
    )


def site_axes(ax, reach, title):
    """Axes of a map of the site: +-reach around the target, marked, in track coordinates."""
    ax.plot(0, 0, "y*", ms=14, mec="k", label="target")
    ax.set(
        xlim=(-reach, reach),
        ylim=(-reach, reach),
        xlabel="downrange from the target [m]",
        ylabel="crossrange (left) from the target [m]",
        title=title,
    )
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)


def slope_map(sc, runs, reach):
    """The terrain's slope around the target [deg] with a colour bar, the slope limit as a
    contour, and the touchdown points (failures marked): the tip-overs of a site show here,
    not on a hillshade."""
    found = site_grid(sc, reach)
    if found is None:
        return "<p class='note'>no terrain tile covers the touchdown points</p>"
    grid, extent, d = found
    gx, gy = np.gradient(grid, d)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    limit = math.degrees(sc.touchdown_limits.slope)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(
        slope.T, origin="lower", extent=extent, cmap="magma_r", vmin=0.0, vmax=2 * limit
    )
    fig.colorbar(image, ax=ax, label="terrain slope [deg]", shrink=0.85)
    x = np.linspace(extent[0], extent[1], grid.shape[0])
    y = np.linspace(extent[2], extent[3], grid.shape[1])
    ax.contour(x, y, slope.T, levels=[limit], colors="c", linewidths=0.8)
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    outcomes(ax, touched, "touchdown_downrange_m", "touchdown_crossrange_m", failed="lime")
    ax.plot([], [], "c-", lw=0.8, label=f"slope limit {limit:.0f} deg")
    site_axes(ax, reach, "Terrain slope under the touchdown points")
    return figure(fig, "slope map")


def touchdown_scatter(sc, runs):
    """Descent rate against horizontal speed at contact, with the limit box (and the hard
    one); points beyond the axes are counted, not drawn."""
    touched = runs.dropna(subset=["descent_rate_mps"])
    if touched.empty:
        return ""
    limits = sc.touchdown_limits
    top_h, top_v = 3.0 * limits.horizontal_speed_hard, 3.0 * limits.vertical_speed_hard
    inside = (touched.horizontal_speed_mps <= top_h) & (touched.descent_rate_mps.abs() <= top_v)
    shown = touched[inside]
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    outcomes(ax, shown, "horizontal_speed_mps", "descent_rate_mps")
    for h, v, style, label in (
        (limits.horizontal_speed, limits.vertical_speed, "-", "limits"),
        (limits.horizontal_speed_hard, limits.vertical_speed_hard, "--", "hard-landing limits"),
    ):
        ax.plot([0, h, h], [v, v, 0], "k" + style, lw=1.0, label=label)
    beyond = int((~inside).sum())
    ax.set(
        xlim=(0, top_h),
        ylim=(min(0.0, shown.descent_rate_mps.min() if len(shown) else 0.0), top_v),
        xlabel="horizontal speed at contact [m/s]",
        ylabel="descent rate at contact [m/s]",
        title="Touchdown state against the limit box"
        + (f" ({beyond} runs beyond the axes)" if beyond else ""),
    )
    ax.legend(fontsize=8)
    return figure(fig, "descent rate against horizontal speed")


def ground_tracks(traces, runs):
    """Ground tracks (crossrange against downrange) and altitude against downrange of the
    traced runs, failures in red."""
    if traces.empty or "downrange_m" not in traces:
        return ""
    failed = set(runs.run[runs.outcome != campaign_statistics.LANDED]) if "run" in runs else set()
    fig, (top, side) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    for run, t in traces.groupby("run"):
        colour, width = ("tab:red", 1.0) if run in failed else ("tab:blue", 0.5)
        top.plot(t.downrange_m, t.crossrange_m, color=colour, lw=width, alpha=0.7)
        side.plot(t.downrange_m, t.altitude_m, color=colour, lw=width, alpha=0.7)
        if run in failed:
            top.plot(t.downrange_m.iloc[-1], t.crossrange_m.iloc[-1], "rx")
            side.plot(t.downrange_m.iloc[-1], t.altitude_m.iloc[-1], "rx")
    for ax in (top, side):
        ax.plot(0, 0, "y*", ms=12, mec="k")
        ax.plot([], [], color="tab:blue", label="landed")
        ax.plot([], [], color="tab:red", label="failed (x: where it ended)")
    top.set(ylabel="crossrange (left) [m]", title="Ground tracks of the traced runs")
    side.set(
        xlabel="downrange from the target [m]",
        ylabel="altitude above the terrain [m]",
        yscale="symlog",
        title="Altitude against downrange",
    )
    top.legend(fontsize=8)
    fig.tight_layout()
    return figure(fig, "ground tracks")


def estimation_errors(recordings, chosen):
    """Each axis's estimation error against the filter's own +-3 sigma over time: the 5-95 %
    envelope of the errors and the median 3 sigma over the recorded runs, and the error and
    3 sigma of each chosen run."""
    wanted = [f"nav.error_{a}" for _, _, axes in AXES for a in axes]
    if recordings is None or not set(wanted) <= set(recordings):
        return f"<p class='note'>No errors and sigmas recorded: {RECORD_HINT}.</p>"
    grid = on_grid(recordings)
    fig, panels = plt.subplots(3, 3, figsize=(12, 9), sharex=True)
    for row, (block, unit, axes) in zip(panels, AXES, strict=True):
        for ax, axis in zip(row, axes, strict=True):
            error, sigma = f"nav.error_{axis}", f"nav.sigma_{axis}"
            by_time = grid.groupby("t")
            low, high = by_time[error].quantile(0.05), by_time[error].quantile(0.95)
            three = 3.0 * by_time[sigma].median()
            ax.fill_between(low.index, low, high, color="0.75", label="errors, 5-95 %")
            ax.plot(three.index, three, "k--", lw=0.8, label="+-3 sigma (median)")
            ax.plot(three.index, -three, "k--", lw=0.8)
            for run in chosen:
                r = recordings[recordings.run == run].assign(t=lambda f: f.t_s)
                (line,) = ax.plot(r.t, r[error], lw=0.8, label=f"run {run}")
                ax.plot(r.t, 3 * r[sigma], color=line.get_color(), lw=0.5, ls=":")
                ax.plot(r.t, -3 * r[sigma], color=line.get_color(), lw=0.5, ls=":")
            ax.set(title=f"{block}, {axis.rsplit('_', 1)[0].replace('v_', '')}", ylabel=unit)
    for ax in panels[-1]:
        ax.set_xlabel("time from PDI [s]")
    panels[0][0].legend(fontsize=7)
    fig.suptitle(
        f"Estimation error (estimate - truth) against the filter's own 3 sigma, "
        f"{recordings.run.nunique()} recorded runs"
    )
    fig.tight_layout()
    return figure(fig, "estimation error against 3 sigma")


def nees_over_time(frame, columns, source):
    """Mean NEES of each block over the runs alive at each time, against the 95 % band of a
    consistent filter for that many runs (chi-square, 3 degrees of freedom each)."""
    if frame is None or frame.empty or not set(columns) <= set(frame):
        return ""
    grid = on_grid(frame)
    fig, ax = plt.subplots(figsize=(11, 4))
    by_time = grid.groupby("t")
    counts = by_time[columns[0]].count()
    low, high = (
        np.array(b) for b in zip(*(consistency.band(max(n, 1)) for n in counts), strict=True)
    )
    ax.fill_between(counts.index, low, high, color="0.85", label="95 % band, consistent filter")
    for block, column in zip(consistency.BLOCKS, columns, strict=True):
        ax.plot(by_time[column].mean().index, by_time[column].mean(), lw=1.0, label=block)
    ax.set(
        xlabel="time from PDI [s]",
        ylabel="mean NEES",
        yscale="log",
        title=f"NEES over time, mean over the {grid.run.nunique()} runs {source}",
    )
    ax.legend(fontsize=8)
    return figure(fig, "NEES over time")
