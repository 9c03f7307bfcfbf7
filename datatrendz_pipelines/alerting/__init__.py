"""KPI and data anomaly rules, the alert history table and the notification channels.

Plain modules, no Dagster: `rules` finds anomalies in the warehouse, `store` records them in
`meta.alerts` (one row per rule x entity x day, never notified twice), `notify` sends them to a
Slack-compatible webhook, e-mail and the run log, and `dispatch` chains record -> send -> mark.
"""
