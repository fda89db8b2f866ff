"""The pieces the HTML reports are made of (`descent report`, `descent compare`): one style,
figures embedded as PNG data (no network, opens from disk), tables, percentages."""

import base64
import html
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DPI = 110
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.note { color: #555; }
"""


def figure(fig, alt):
    """An <img> of a matplotlib figure, as a PNG data URL; alt says what it shows (a reader
    without images, and the tests, find it by that)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table(header, rows):
    """An HTML table; header None for a two-column list of facts."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header) if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def percent(p, low=None, high=None):
    if not math.isfinite(p):
        return "-"
    return f"{100 * p:.1f} %" + (
        f" ({100 * low:.1f} to {100 * high:.1f})" if low is not None else ""
    )
