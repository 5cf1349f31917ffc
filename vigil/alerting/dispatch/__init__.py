"""Routing and grouping of alerts (Alertmanager's dispatcher)."""

from vigil.alerting.dispatch.dispatcher import Dispatcher
from vigil.alerting.dispatch.route import Route, build_routes

__all__ = ["Dispatcher", "Route", "build_routes"]
