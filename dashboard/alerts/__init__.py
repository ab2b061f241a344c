"""Alerts: rules with hysteresis, their state machine, silences and acknowledgements, the
SQLite file that remembers them, notifications, and the backtest (README, "Alerts")."""
