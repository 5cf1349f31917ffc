"""On call (issue 16): what happens after a notification. Alert groups become episodes that
people acknowledge and resolve within their priority's deadline; missed deadlines are
recorded once for the escalation to act on.

Sits above config, state, access and alerting; the web layer and the app use it.
"""
