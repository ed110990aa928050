"""The service: the worker (app) and everything it needs: the
pipeline, detection, state, sinks, web pages, timers, config, settings.

The service never imports the tools."""
