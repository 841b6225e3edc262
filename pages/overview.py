"""Overview: KPI tiles and revenue over time."""
import plotly.express as px
import polars as pl
import streamlit as st

from crm_core import analytics
from ui.auth import require_login
from ui.state import get_store
from ui.widgets import money, tile_money

require_login()

st.title("Overview")
store = get_store()
figures = analytics.kpis(store)

tiles = st.columns(4)
tiles[0].metric("Customers", f"{figures.customers:,}")
tiles[1].metric("Orders", f"{figures.orders:,}")
currency = figures.currencies[0] if len(figures.currencies) == 1 else ""
unit = f" ({currency})" if currency else ""
tiles[2].metric(f"Revenue{unit}", tile_money(figures.revenue),
                help=f"{money(figures.revenue, currency)}: the sum of order amounts, leaving out cancelled "
                     "and returned orders.")
tiles[3].metric(f"Average order value{unit}", tile_money(figures.avg_order_value),
                help="Revenue divided by the number of orders that bring revenue.")
if len(figures.currencies) > 1:
    st.warning(f"Orders are in several currencies ({', '.join(figures.currencies)}); "
               "revenue adds them up without conversion.")

if figures.orders == 0:
    st.info("No orders yet, so there is no revenue to chart. Add orders on the **Orders** page, "
            "or (admins) reload the demo data under **Settings**.", icon=":material/info:")
    st.stop()

st.subheader("Revenue over time")
bucket = st.segmented_control("Group by", list(analytics.BUCKETS), default="month", key="home-bucket") or "month"
series = analytics.revenue_over_time(store, bucket).with_columns(pl.col("revenue").cast(pl.Float64))
chart = px.bar(series, x="period", y="revenue", hover_data={"orders": True},
               labels={"period": bucket.capitalize(), "revenue": f"Revenue {currency}".strip(),
                       "orders": "Orders"})
chart.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=380)
st.plotly_chart(chart, width="stretch", key="home-revenue")
