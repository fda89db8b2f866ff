"""Image navigation with the real pipeline in the loop (`descent run SCENARIO --images`): the
high-fidelity mode of issue 14, one run, Python at the camera's rate.

The scenario's image-navigation channel keeps its rate, latency, gate and fix covariance,
but its sample entry point is replaced by a C callback into `ImagePipeline.sample`: at each
image time the compiled run loop calls it with the true pose, and it
- takes the picture: the truth terrain rendered from the camera's true pose
  (`sensors.camera_render`: lunar-Lambert shading under the site's Sun, cast shadows, the
  albedo pattern, motion blur from the body rate over the exposure, shot and read noise),
  when the camera is inside its altitude and off-nadir window (its operating envelope; the
  Sun, blur and texture limits are the pipeline's to find);
- matches it (`gnc.navigation.image_matching`) against the onboard map rendered under the
  same Sun, projected with the flight software's estimated pose at the image time (what it
  reports in the interface's telemetry, which the loop keeps in the batch's work storage);
- hands the fix to the loop as the channel's sample: the camera's track coordinates, with
  the 1 sigma the kind's error model gives (`image_navigation.fix_sigma_m`: the calibrated
  model when the scenario is the one `descent calibrate-trn` wrote), or no fix;
- saves the frame with the fix overlaid, and a row of the fix log.

Images are rendered at `pixels` across (default 256, the calibration's default: a scenario
calibrated at the same size has a model in metres that matches these fixes). A run takes
about 0.1-0.3 s of Python per image.
"""

import csv
import ctypes
import math
import sys

import numpy as np

from dynamics import frames, quaternion, terrain
from dynamics.views import record_at
from gnc.navigation import image_matching
from sensors import bus, camera_render, image_navigation, random_stream

ENTRY = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 5)
FIX_LOG = "fixes.csv"
FIX_LOG_FIELDS = (
    "t_s",
    "altitude_m",
    "reason",
    "fix_error_downrange_m",
    "fix_error_crossrange_m",
    "fix_sigma_m",
    "estimate_error_downrange_m",
    "estimate_error_crossrange_m",
    "frame",
)


def _matrix(q):
    """Rotation matrix of a quaternion (columns: the rotated unit axes)."""
    q = tuple(float(c) for c in q)
    return np.column_stack([quaternion.rotate(q, e) for e in np.eye(3)])


def camera_axes_body(boresight_body):
    """The camera's (column, row, boresight) axes in body axes: rows along the body's y axis
    made perpendicular to the boresight (its x axis when the boresight is along y)."""
    b = np.asarray(boresight_body, float)
    reference = (0.0, 1.0, 0.0) if abs(b[1]) < 0.9 * np.linalg.norm(b) else (1.0, 0.0, 0.0)
    return camera_render.camera_axes(b, reference)


class ImagePipeline:
    """The camera and the matching pipeline of one run, called by the compiled loop through
    `entry` (see the module): b the prepared batch of one run (its navigation state is read
    at each image), channel_name its image-navigation channel, frames_folder where the frames
    and the fix log go, pixels the frames' size, seed the run's (the images' noise is its
    stream "images.<channel>")."""

    def __init__(self, b, channel_name, frames_folder, pixels, seed):
        model = b.models[0]
        self.b, self.truth, self.map = b, model.terrain, model.onboard_map
        self.index = [c.name for c in model.channels].index(channel_name)
        spec = b.scenario.sensors.channels[channel_name]
        self.pixels = pixels
        self.tan_half = math.tan(spec.field_of_view / 2)
        self.ifov = spec.field_of_view / pixels
        self.axes_body = camera_axes_body(spec.boresight)
        site = self.truth.site
        albedo = float(site["albedo"])
        sun = tuple(site["sun_mcmf"])
        self.scene = camera_render.scene(sun, albedo, camera_render.ALBEDO_VARIATION, 1.0)
        self.map_scene = camera_render.scene(sun, albedo, 0.0, 1.0)
        self.rng = np.random.default_rng(
            random_stream.stream_seed(np.random.SeedSequence(seed), f"images.{channel_name}")
        )
        self.folder = frames_folder
        self.log = []
        self.fixes = 0
        self.error = None
        self.bar = None  # on a terminal: frames taken, the altitude, the fixes so far
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit="frame", file=sys.stderr)
        self.entry = ENTRY(self.sample)
        b.per_run.channels[0, self.index]["sample_entry"] = ctypes.cast(
            self.entry, ctypes.c_void_p
        ).value

    def sample(self, spec_address, pose_address, surface_address, state_address, out_address):
        """The channel's sample entry point (C callback): never raises into the compiled loop;
        an error is kept in self.error, and the run's image is then no fix."""
        out = record_at(out_address, bus.SAMPLE_DTYPE)
        out["valid"], out["m"] = False, 2
        out["y"][:2] = np.nan
        if self.error is not None:
            return
        try:
            self._take_and_match(
                record_at(spec_address, image_navigation.SPEC_DTYPE),
                record_at(pose_address, bus.POSE_DTYPE),
                out,
            )
        except Exception as exc:  # kept, raised by `raise_error` after the run
            self.error = exc

    def raise_error(self):
        if self.error is not None:
            raise self.error

    def _take_and_match(self, spec, pose, out):
        site, t_s = self.truth.site, float(pose["t_s"])
        lever = np.asarray(spec["position_body_m"]) - pose["com_body_m"]
        rotation = _matrix(pose["q_body_to_mcmf"])
        origin = pose["r_mcmf_m"] + rotation @ lever
        axes = rotation @ self.axes_body
        truth = self.truth
        altitude = terrain.altitude(site, truth.tiles, truth.heights, tuple(origin))
        cos_off = -axes[:, 2] @ (origin / np.linalg.norm(origin))
        if not spec["min_altitude_m"] <= altitude <= spec["max_altitude_m"]:
            return
        if cos_off < spec["min_cos_off_nadir"] or cos_off <= 0.0:
            return
        turn = rotation @ pose["w_body_radps"] * spec["exposure_s"]
        image = camera_render.take_picture(
            truth, self.scene, origin, axes, turn, self.tan_half, self.pixels, self.rng
        )
        estimate = self.b.io["telemetry"]
        omega = float(pose["rotation_rate_radps"])
        r_est = np.array(frames.mci_to_mcmf(tuple(estimate["r_mci_m"]), t_s, omega))
        q_est = quaternion.multiply(
            frames.mci_to_mcmf_quaternion(t_s, omega), tuple(estimate["q_body_to_mci"])
        )
        rotation_est = _matrix(q_est)
        origin_est = r_est + rotation_est @ lever
        axes_est = rotation_est @ self.axes_body
        altitude_est = terrain.altitude(
            self.map.site, self.map.tiles, self.map.heights, tuple(origin_est)
        )
        cell = image_matching.grid_cell_m(self.map, altitude_est, self.ifov)
        fix, reason = image_matching.match(
            self.map,
            self.map_scene,
            image,
            origin_est,
            axes_est,
            self.tan_half,
            cell,
            image_matching.LIMITS,
        )
        true_xy = np.array(frames.track_coordinates(site, tuple(origin))[:2])
        estimated_xy = np.array(frames.track_coordinates(site, tuple(origin_est))[:2])
        row = {
            "t_s": t_s,
            "altitude_m": altitude,
            "reason": reason or "",
            "estimate_error_downrange_m": estimated_xy[0] - true_xy[0],
            "estimate_error_crossrange_m": estimated_xy[1] - true_xy[1],
            "frame": f"frame_{len(self.log):04d}.png",
        }
        # the ground the estimated boresight meets (0: none): the fix's slant range, the frame's
        # reference point
        slant = terrain.ray_cast(
            self.map.site,
            self.map.tiles,
            self.map.heights,
            tuple(origin_est),
            tuple(axes_est[:, 2]),
            1e6,
            5.0,
        )
        fix_xy = None
        if fix is not None:
            cos_off_est = -axes_est[:, 2] @ (origin_est / np.linalg.norm(origin_est))
            # the flight software's sigma: from its own pose's slant range and angle
            sigma = image_navigation.fix_sigma_m(spec, max(slant, altitude_est), cos_off_est)
            fix_xy = np.array(fix[:2])
            out["valid"] = True
            for i in range(2):
                out["y"][i], out["sigma"][i] = fix_xy[i], sigma
                out["noise"][i] = fix_xy[i] - true_xy[i]
            row |= {
                "fix_error_downrange_m": fix_xy[0] - true_xy[0],
                "fix_error_crossrange_m": fix_xy[1] - true_xy[1],
                "fix_sigma_m": sigma,
            }
        self.log.append(row)
        self._save_frame(
            row, image, (origin, axes), (origin_est, axes_est), slant, (fix_xy, estimated_xy)
        )
        self.fixes += fix_xy is not None
        if self.bar is not None:
            self.bar.set_postfix(altitude=f"{altitude:.0f} m", fixes=self.fixes, refresh=False)
            self.bar.update()

    def _save_frame(self, row, image, pose, estimated_pose, slant, fix):
        """The image with three marks on the ground point the estimate puts at the image's
        centre (slant [m] along its boresight): where the estimate sees it (+, the centre),
        where it truly is in the image (o), and where the fix puts it (x); the gaps are the
        errors, in pixels. The poses are (camera origin, camera axes), the true and the
        estimated; fix: (the fix's track position or None, the estimate's)."""
        origin, axes = pose
        origin_est, axes_est = estimated_pose
        fix_xy, estimated_xy = fix
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        figure, ax = pyplot.subplots(figsize=(5, 5.4), dpi=100)
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=max(float(image.max()), 1e-6))
        centre = (self.pixels - 1) / 2
        ax.plot(centre, centre, "+", color="yellow", ms=14, label="estimate")
        if slant > 0.0:
            ground = origin_est + slant * axes_est[:, 2]
            marks = [("o", "cyan", "truth", origin)]
            if fix_xy is not None:
                down, left, _ = (
                    np.array(a) for a in frames.local_track_axes(self.map.site, tuple(origin_est))
                )
                moved = fix_xy - estimated_xy
                marks.append(("x", "red", "fix", origin_est + moved[0] * down + moved[1] * left))
            for marker, colour, label, camera in marks:
                col, row_px = camera_render.image_position(
                    axes if label == "truth" else axes_est,
                    self.tan_half,
                    self.pixels,
                    tuple(ground - camera),
                )
                if not math.isnan(col):
                    ax.plot(col, row_px, marker, color=colour, ms=10, mfc="none", label=label)
        ax.set_axis_off()
        ax.legend(loc="lower right", fontsize=8)
        if fix_xy is None:
            verdict = f"no fix: {row['reason']}"
        else:
            error = math.hypot(row["fix_error_downrange_m"], row["fix_error_crossrange_m"])
            verdict = f"fix error {error:.1f} m (1 sigma {row['fix_sigma_m']:.1f} m/axis)"
        estimate = math.hypot(row["estimate_error_downrange_m"], row["estimate_error_crossrange_m"])
        ax.set_title(
            f"t {row['t_s']:.1f} s, {row['altitude_m']:.0f} m up, estimate {estimate:.1f} m off\n"
            + verdict,
            fontsize=9,
        )
        figure.savefig(self.folder / row["frame"], bbox_inches="tight")
        pyplot.close(figure)

    def close(self):
        """The progress bar closed, the fix log (one row per image) written beside the
        frames."""
        if self.bar is not None:
            self.bar.close()
        self._write_log()

    def _write_log(self):
        """The fix log (one row per image) as CSV beside the frames."""
        with open(self.folder / FIX_LOG, "w", newline="") as f:
            writer = csv.DictWriter(f, FIX_LOG_FIELDS)
            writer.writeheader()
            writer.writerows(self.log)


def run(sc, seed, folder, pixels=256):
    """Fly the scenario once with the pipeline in the loop for its first image-navigation
    channel, writing frames and the fix log into folder; returns (`RunResult`, fix log)."""
    from sims import api
    from sims.images import trn_calibration

    name, _ = trn_calibration.camera_of(sc)
    b = api.prepare(sc, seed)
    folder.mkdir(parents=True, exist_ok=True)
    pipeline = ImagePipeline(b, name, folder, pixels, seed)
    api.execute(b)
    pipeline.close()
    pipeline.raise_error()
    return api.result_of(b), pipeline.log
