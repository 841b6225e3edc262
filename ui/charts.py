"""Every chart the same way: one theme that follows Streamlit's light/dark, hover details, PNG from the
chart's camera button, and its data as a formula-safe CSV download under it."""
from __future__ import annotations

import re
from datetime import datetime

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from crm_core.export import frame_csv_bytes
from ui.text import plain_md

HEIGHT = 360
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def slug(text: str) -> str:
    """A file-name-safe version of a chart title: 'Revenue by month' -> 'revenue-by-month'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def plot_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with DECIMAL columns as floats, for drawing only (downloads keep the exact values)."""
    return frame.with_columns(pl.col(name).cast(pl.Float64) for name, dtype in frame.schema.items()
                              if isinstance(dtype, pl.Decimal))


def chart_config(title: str) -> dict:
    """Plotly settings for every chart: the toolbar always shown, its camera button saving a PNG."""
    return {"displaylogo": False, "displayModeBar": True,
            "toImageButtonOptions": {"format": "png", "filename": slug(title), "scale": 2},
            "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def show_chart(fig: go.Figure, data: pl.DataFrame, title: str, key: str, height: int = HEIGHT,
               caption: str | None = None) -> None:
    """Draw a Plotly figure in the house style, then a 'Download data (CSV)' button for `data`."""
    # the legend under the plot: above it, it ran into the toolbar on half-width charts
    fig.update_layout(height=height, margin=MARGIN, hoverlabel={"namelength": -1},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.28, "x": 0})
    st.plotly_chart(fig, width="stretch", theme="streamlit", key=key, config=chart_config(title))
    left, right = st.columns([3, 1], vertical_alignment="center")
    if caption:
        left.caption(caption)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    right.download_button("CSV", data=lambda: frame_csv_bytes(data), file_name=f"{slug(title)}-{stamp}.csv",
                          mime="text/csv", key=f"{key}-csv", icon=":material/download:", on_click="ignore",
                          help=f"The numbers behind “{plain_md(title)}”. The camera button on the chart saves it as a PNG.",
                          width="stretch")
