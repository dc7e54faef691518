"""Energy's routers, one per path prefix: /energy (indicators, rankings, series, quality, anomalies), /factors,
/quotas."""
