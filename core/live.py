"""What a live view shows of a training (a ``core.jobs.Job``) at one epoch, drawn once.

Every page watching a job refreshes once a second; the job draws each epoch
once per weight style (``Job.frame``) and hands every later look the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.charts import line_spec
from core.weights import WeightStyle, array_png, weight_grid_image

# Wider than any column the grid is shown in: the page shows the picture as wide as its
# column (it caps the width there), as it shows the finished grid.
SHOWN_WIDTH = 4096


@dataclass(frozen=True)
class Frame:
    """A job's weight grid and loss curve at one epoch, in one weight style."""

    epoch: int
    units: int
    grid_png: bytes  # the weight grid, numbered, as large as the finished network's picture
    width: int  # pixels to show it at, at most: its column's width, as the finished grid
    loss_spec: dict | None  # the loss curve so far (a Vega-Lite spec); None before epoch 2


def draw_frame(snapshot, style: WeightStyle) -> Frame:
    """The grid of a ``core.jobs.Snapshot`` and its loss curve so far.

    The grid has the finished grid's layout, size and unit numbers
    (``weight_grid_image`` draws ``weight_grid_figure``'s layout without matplotlib), so
    nothing on the page moves when the training ends and the finished grid takes its place.
    """
    images = snapshot.images
    curve = snapshot.loss_curve
    spec = line_spec(curve, x_label="epoch", y_label="loss") if len(curve) > 1 else None
    return Frame(epoch=snapshot.epoch, units=len(images),
                 grid_png=array_png(weight_grid_image(images, style=style)),
                 width=SHOWN_WIDTH, loss_spec=spec)
