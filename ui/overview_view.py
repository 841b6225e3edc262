"""Drawing the overview: KPI tiles with deltas, the two time charts, the map, top customers, recent activity."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from crm_core.analytics import geo
from crm_core.analytics.dashboard import Dashboard
from crm_core.analytics.overview import Kpi
from ui.charts import plot_frame, show_chart
from ui.overview_controls import MAP_METRICS
from ui.text import chart_text, plain_md
from crm_core.segments.preview import today
from ui.widgets import money, tile_money

# No tiles are fetched (the app works offline): a transparent background and the outlines themselves.
_MAP_VIEW = {"countries": ({"lat": 28, "lon": 10}, 0.95), "us-states": ({"lat": 38, "lon": -96}, 2.6)}


def _value(kpi: Kpi, value) -> str:
    if value is None:
        return "—"
    if kpi.kind == "rate":
        return f"{value * 100:.1f}%"
    if kpi.kind == "money":
        return tile_money(value)
    return f"{value:,}"


def _delta(kpi: Kpi) -> str | None:
    change = kpi.change
    if change is None:
        return None
    if kpi.kind == "rate":
        return f"{change:+.1f} pp"
    amount = ("+" if change >= 0 else "-") + tile_money(abs(change)) if kpi.kind == "money" else f"{change:+,}"
    return f"{amount} ({kpi.change_pct:+.1f}%)" if kpi.change_pct is not None else amount


def kpi_tiles(board: Dashboard, compare: bool) -> None:
    """Two rows of five tiles; with comparison, each shows the change against the previous period."""
    currency = board.currencies[0] if len(board.currencies) == 1 else ""
    for row in (board.kpis[:5], board.kpis[5:]):
        for column, kpi in zip(st.columns(5), row):
            label = f"{kpi.label} ({currency})" if kpi.kind == "money" and currency else kpi.label
            before = f" Previous period: {_value(kpi, kpi.previous)}." if compare else ""
            exact = f" Exactly {money(kpi.current, currency)}." if kpi.kind == "money" and kpi.current else ""
            delta = _delta(kpi) if compare else None
            flat = compare and kpi.change == 0
            column.metric(label, _value(kpi, kpi.current), delta="no change" if flat else delta,
                          delta_color="off" if flat else "normal", delta_arrow="off" if flat else "auto",
                          help=kpi.help + exact + before, border=True)
    if len(board.currencies) > 1:
        st.warning(f"Orders in this range are in several currencies ({plain_md(', '.join(board.currencies))}); revenue adds "
                   "them up without conversion.", icon=":material/currency_exchange:")


def _bucket_note(board: Dashboard) -> str:
    notes = ["weeks start on Monday"] if board.bucket == "week" else []
    if board.revenue.height and board.period.end >= today():
        notes.append(f"the last {board.bucket} is still going on")
    return f" ({'; '.join(notes)})" if notes else ""


def revenue_chart(board: Dashboard) -> None:
    """Revenue bars with the order count as a line on its own axis."""
    data, unit = plot_frame(board.revenue), " ".join(board.currencies[:1])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=data["period"], y=data["revenue"], name=f"Revenue {unit}".strip(),
                hovertemplate="%{x|%Y-%m-%d}<br>Revenue %{y:,.2f}<extra></extra>")
    fig.add_scatter(x=data["period"], y=data["orders"], name="Orders", mode="lines+markers", secondary_y=True,
                    hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} orders<extra></extra>")
    fig.update_yaxes(title_text=f"Revenue {unit}".strip(), secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="Orders", secondary_y=True, rangemode="tozero", showgrid=False, tickformat=",d",
                     tickmode="auto")
    show_chart(fig, board.revenue, "Revenue and orders", "home-revenue",
               caption=f"One bar per {board.bucket}{_bucket_note(board)}. Cancelled and returned orders bring no "
                       "revenue but count as orders.")


def buyers_chart(board: Dashboard) -> None:
    """Buyers per bucket, stacked: new (first order ever) and returning."""
    data = board.buyers
    fig = go.Figure()
    fig.add_bar(x=data["period"], y=data["new"], name="New",
                hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} first-time buyers<extra></extra>")
    fig.add_bar(x=data["period"], y=data["returning"], name="Returning",
                hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} returning buyers<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title="Customers who ordered")
    show_chart(fig, data, "New vs returning customers", "home-buyers",
               caption=f"Customers who ordered in each {board.bucket}{_bucket_note(board)}: new ones placed their "
                       "first order ever in it.")


def status_chart(board: Dashboard) -> None:
    """Orders per status in the range (cancelled and returned ones bring no revenue)."""
    data = board.statuses
    if data.is_empty():
        return
    shown = plot_frame(data)
    fig = go.Figure(go.Bar(x=shown["orders"], y=shown["status"], orientation="h", customdata=shown["amount"],
                           hovertemplate="%{y}: %{x:,} orders<br>amount %{customdata:,.2f}<extra></extra>"))
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="Orders")
    show_chart(fig, data, "Orders by status", "home-statuses", height=80 + 34 * data.height,
               caption="Cancelled and returned orders count here but bring no revenue.")


def places_view(board: Dashboard, metric: str) -> None:
    """A map of the chosen figure per country (or US state); bars where there are no outlines."""
    places = board.places
    table, label = plot_frame(places.table), MAP_METRICS[metric]
    where = "state" if places.level == "state" else "country"
    title = f"{label} by {where}" + (f" ({places.country})" if places.country else "")
    if table.is_empty():
        st.info("No customers in this range yet.", icon=":material/public:")
        return
    if places.outlines:
        mapped = table.filter(pl.col("outline").is_not_null())
        shapes = geo.outlines(places.outlines)
        center, zoom = _MAP_VIEW[places.outlines]
        fig = go.Figure(go.Choroplethmap(
            geojson=shapes, locations=mapped["outline"], z=mapped[metric], featureidkey="id",
            marker_line_width=0.6, colorbar={"title": {"text": label}},
            customdata=[(chart_text(r[0]), *r[1:]) for r in mapped.select("location", "customers", "buyers", "orders",
                                                                          "revenue").rows()],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]:,} customers · %{customdata[2]:,} buyers"
                          "<br>%{customdata[3]:,} orders · revenue %{customdata[4]:,.2f}<extra></extra>"))
        style = {"version": 8, "sources": {"outlines": {"type": "geojson", "data": shapes}}, "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "rgba(0,0,0,0)"}},
            {"id": "land", "type": "fill", "source": "outlines", "paint": {"fill-color": "rgba(128,128,128,0.12)"}},
            {"id": "borders", "type": "line", "source": "outlines",
             "paint": {"line-color": "rgba(128,128,128,0.45)", "line-width": 0.5}}]}
        fig.update_layout(map={"style": style, "center": center, "zoom": zoom})
    else:
        top = table.sort(metric, descending=True).head(25)
        fig = go.Figure(go.Bar(x=top[metric], y=[chart_text(v) for v in top["location"]], orientation="h",
                               hovertemplate="%{y}: %{x:,}<extra></extra>"))
        fig.update_layout(yaxis={"autorange": "reversed", "dtick": 1}, xaxis_title=label)
    note = "Customers: everyone known on the range's last day; buyers, orders and revenue: in the range."
    if not places.outlines and places.country:
        note += f" There are no state outlines for {plain_md(places.country)}, so its states are shown as bars."
    elif not places.outlines:
        note += " States of every country together, as bars (pick one country for a map of US states)."
    elif not places.unmapped.is_empty():
        missing = ", ".join(f"{plain_md(r['location'])} ({r['customers']:,})" for r in places.unmapped.head(8).iter_rows(named=True))
        note += f" Not on the map (no outline matches the name): {missing}."
    data = places.table if places.outlines else places.table.drop("outline")
    height = 430 if places.outlines else 90 + 24 * min(table.height, 25)
    show_chart(fig, data, title, f"home-map-{places.level}", height=height, caption=note)


def top_customers_view(board: Dashboard) -> None:
    """The ten customers with the most revenue in the range."""
    if board.top_customers.is_empty():
        st.caption("Nobody ordered in this range.")
        return
    shown = board.top_customers.select("name", "revenue", "orders", "country", "last_order_at", "email")
    st.dataframe(shown, hide_index=True, width="stretch", placeholder="—", column_config={
        "name": "Customer", "email": "E-mail", "country": "Country", "orders": "Orders",
        "revenue": st.column_config.NumberColumn("Revenue", format="%,.2f"),
        "last_order_at": st.column_config.DatetimeColumn("Last order", format="YYYY-MM-DD")})


def recent_view(board: Dashboard) -> None:
    """The latest campaigns and segments side by side."""
    left, right = st.columns(2)
    with left:
        st.markdown("**Recent campaigns**")
        if board.recent_campaigns.is_empty():
            st.caption("No campaigns yet: create one on the **Campaigns** page.")
        else:
            shown = board.recent_campaigns.select("name", "status", "latest_at", "recipients", "sent", "delivered",
                                                  "channel")
            st.dataframe(shown, hide_index=True, width="stretch", placeholder="—",
                         column_config={
                "name": "Campaign", "channel": "Channel", "status": "Status",
                "latest_at": st.column_config.DatetimeColumn("Launched / planned", format="YYYY-MM-DD HH:mm"),
                "recipients": "Recipients", "sent": "Sent", "delivered": "Delivered"})
    with right:
        st.markdown("**Recent segments**")
        if board.recent_segments.is_empty():
            st.caption("No saved segments yet: build one on the **Segments** page.")
        else:
            st.dataframe(board.recent_segments.drop("id"), hide_index=True, width="stretch", placeholder="—",
                         column_config={
                "name": "Segment", "customers": st.column_config.NumberColumn("Customers", format="%,d"),
                "updated_at": st.column_config.DatetimeColumn("Changed", format="YYYY-MM-DD HH:mm")})
