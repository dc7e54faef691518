"""The notifier (`yiwang notify`): follows alerts and tells people by rules (docs/notifications.md).

run        the process: pool, metrics endpoint, LISTEN for new alerts, the loop of sweeps
lifecycle  clearing alerts whose cause ended (domain/alert_lifecycle.py) and escalating unacknowledged ones
planner    matching new and escalated alerts against the rules into deliveries (domain/notifications.py)
messages   what a message says, in e-mail and in the 企业微信 and 钉钉 group robots' JSON
channels   sending: SMTP, webhooks; a failure is one exception type with the reason
metrics    its counters and health
"""
