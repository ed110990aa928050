"""The tools: the offline commands around the service (simulate,
replay, backtest, reports, channels, topics, alerts tail).

The service never imports the tools."""
