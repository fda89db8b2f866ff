"""A campaign's tables: one row per run (`runs_table`: its dispersed values, outcome, why it
failed, the figures of `sims.run.figures`, its events) and its traces, from an executed
batch; and how parts written by batches are joined into one table.
"""

import numpy as np
import pyarrow as pa

from dynamics import touchdown
from sims.analysis import failure_class
from sims.campaigns import dispersions
from sims.run import batch, figures, results

EVENT_TYPE = pa.struct(
    [
        ("t_s", pa.float64()),
        ("kind", pa.string()),
        ("subject", pa.string()),  # the sensor channel, fault or phase it is about
        ("value", pa.float64()),  # its figure (NIS, measurement, altitude, ...; flight_log)
    ]
)
EVENT_VALUES = (
    "nis",
    "measurement",
    "altitude_est_m",
    "altitude_m",
    "propellant_est_kg",
    "offline_s",
    "safe_fraction",
    "divert_m",
)


def event_rows(events):
    """A run's events (`batch.describe_events`) as rows of EVENT_TYPE."""
    return [
        {
            "t_s": e.get("t_s"),
            "kind": e["event"],
            "subject": e.get("sensor") or e.get("fault") or e.get("phase") or e.get("choice"),
            "value": next((e[k] for k in EVENT_VALUES if k in e), None),
        }
        for e in events
    ]


def runs_table(b, indices, campaign_seed, used):
    """Arrow table of an executed batch, one row per run: its index (`run`), seed, the
    dispersed values the model used (used[k]) and whether each fault occurred, outcome, the
    limit it broke (`cause`) and why it failed (`failure_class`), touchdown state and point
    (null without a touchdown), propellant, navigation errors (null in open loop), events (a
    list of structs) and wall time. Every value of a run that raised inside the model is
    null but its outcome ('diverged') and cause."""
    sc, s = b.scenario, b.summary
    n = len(b)
    raised = np.zeros(n, bool)
    raised[list(b.errors)] = True
    code = np.where(raised, touchdown.DIVERGED, s["outcome"])
    flown = ~raised
    touched = flown & ~np.isin(code, (touchdown.TIMEOUT, touchdown.DIVERGED))
    closed = flown & b.per_run.run["closed_loop"]
    m0 = np.array([m.pdi_mass_kg for m in b.models])
    dry = b.per_run.mass["dry_mass_kg"]
    n_gear = b.per_run.run["n_gear_points"]

    columns = {
        "run": pa.array(indices, pa.int64()),
        "campaign_seed": pa.array([campaign_seed] * n, pa.int64()),
    }
    for path in used[0] if used else ():
        first = used[0][path]
        if isinstance(first, tuple):
            for i in range(len(first)):
                columns[f"{path}[{i}]"] = pa.array([u[path][i] for u in used], pa.float64())
        else:
            columns[path] = pa.array([u[path] for u in used], pa.float64())
    occurred = [dispersions.occurrences(b, k) for k in range(n)]
    described = [batch.describe_events(b, k) if flown[k] else [] for k in range(n)]
    causes, classes = zip(
        *(
            failure_class.of_run(sc, s[k], n_gear[k], closed[k], described[k], b.errors.get(k))
            for k in range(n)
        ),
        strict=True,
    )
    for path in occurred[0]:
        columns[path] = pa.array([o[path] for o in occurred], pa.bool_())
    contacts = [
        results.contact_name(b.models[k], int(s["contact_point"][k])) if touched[k] else None
        for k in range(n)
    ]
    columns.update(
        outcome=pa.array([touchdown.OUTCOMES[c] for c in code]),
        cause=pa.array(list(causes)),
        failure_class=pa.array(list(classes), pa.string()),
        contact=pa.array(contacts, pa.string()),
    )
    for figure in figures.FIGURES:  # the figures summary.json holds too
        x = np.asarray(figure.value(s, m0, dry), float)
        there = figures.present(figure, flown, touched, closed, x)
        columns[figure.column] = pa.array(x, mask=~there)
    columns.update(
        events=pa.array([event_rows(d) for d in described], pa.list_(EVENT_TYPE)),
        wall_time_s=pa.array(b.run_seconds, pa.float64()),
    )
    return pa.table(columns)


def traces_table(b, indices, keep):
    """Arrow table of the 1-Hz traces of the kept runs of an executed batch, with their index
    (`run`)."""
    tables = []
    for k, index in enumerate(indices):
        if keep[k] and k not in b.errors:
            trace = results.trace_table(b.trace[k, : b.summary[k]["n_trace"]])
            tables.append(trace.append_column("run", pa.array([index] * trace.num_rows)))
    return concat(tables)


def conform(table, schema):
    """The table with the schema's columns, in its order and types (missing ones null)."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.table(columns, schema=schema)


def concat(tables):
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
