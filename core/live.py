"""What a live view shows of a training (a ``core.jobs.Job``) at one epoch, drawn once.

Every page watching a job refreshes once a second; the job draws each epoch
once per weight style (``Job.frame``) and hands every later look the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.charts import line_spec
from core.weights import WeightStyle, array_png, weight_grid_mosaic


@dataclass(frozen=True)
class Frame:
    """A job's weight grid and loss curve at one epoch, in one weight style."""

    epoch: int
    units: int
    grid_png: bytes  # the weight grid, coloured in the style it was drawn for, at half size
    width: int  # pixels to show it at: twice its own, each weight a 4 x 4 block
    loss_spec: dict | None  # the loss curve so far (a Vega-Lite spec); None before epoch 2


def draw_frame(snapshot, style: WeightStyle) -> Frame:
    """The grid at 2 x 2 pixels per weight (a quarter of the pixels to colour and compress,
    shown twice as large with sharp edges), and the loss curve, of a ``core.jobs.Snapshot``."""
    images = snapshot.images
    mosaic = weight_grid_mosaic(images, style=style, zoom=2, gap=1)
    curve = snapshot.loss_curve
    spec = line_spec(curve, x_label="epoch", y_label="loss") if len(curve) > 1 else None
    return Frame(epoch=snapshot.epoch, units=len(images), grid_png=array_png(mosaic),
                 width=2 * mosaic.shape[1], loss_spec=spec)
