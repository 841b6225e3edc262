"""Analytics: overview figures, RFM scores, campaign funnels, attribution and lift."""
from crm_core.analytics.totals import BUCKETS, Kpis, kpis, revenue_over_time

__all__ = ["BUCKETS", "Kpis", "kpis", "revenue_over_time"]
