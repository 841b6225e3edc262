"""Analytics: overview figures, RFM scores, campaign funnels, attribution and lift."""
